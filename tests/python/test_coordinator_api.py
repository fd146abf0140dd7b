"""JobService without workers: submit/get/list/cancel/watch on queued jobs, validation errors,
health and reflection, against a real bertfleet-coordinator on a free localhost port."""
import threading

import grpc
import pytest

from coordinator_harness import minimal_spec


def code_of(call):
    with pytest.raises(grpc.RpcError) as error:
        call()
    return error.value.code(), error.value.details()


def test_submit_get_list_cancel_queued(coordinator, bertfleet_pb):
    jobs = bertfleet_pb.jobs
    first = coordinator.submit(minimal_spec(world_size=2, priority=3))
    second = coordinator.submit(minimal_spec())
    assert first.state == jobs.JOB_STATE_QUEUED and first.id != second.id
    assert (first.world_size, first.priority, first.device) == (2, 3, "cpu")
    assert first.output_dir == str(coordinator.workdir / "checkpoints" / first.id)
    assert "world_size: 2" in first.spec_yaml and first.attempt == 0 and first.created_at.seconds > 0

    got = coordinator.get(first.id)
    assert got.id == first.id and got.state == jobs.JOB_STATE_QUEUED

    listed = coordinator.jobs.ListJobs(jobs.ListJobsRequest(), timeout=10)
    assert [j.id for j in listed.jobs] == [second.id, first.id]  # newest first
    page = coordinator.jobs.ListJobs(jobs.ListJobsRequest(page_size=1), timeout=10)
    assert [j.id for j in page.jobs] == [second.id] and page.next_page_token
    rest = coordinator.jobs.ListJobs(jobs.ListJobsRequest(page_size=1, page_token=page.next_page_token))
    assert [j.id for j in rest.jobs] == [first.id] and not rest.next_page_token

    cancelled = coordinator.jobs.CancelJob(jobs.CancelJobRequest(job_id=first.id), timeout=10)
    assert cancelled.state == jobs.JOB_STATE_CANCELLED and cancelled.finished_at.seconds > 0
    code, details = code_of(lambda: coordinator.jobs.CancelJob(jobs.CancelJobRequest(job_id=first.id)))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "already ended (JOB_STATE_CANCELLED)" in details

    queued = coordinator.jobs.ListJobs(jobs.ListJobsRequest(states=[jobs.JOB_STATE_QUEUED]))
    assert [j.id for j in queued.jobs] == [second.id]


def test_invalid_specs_are_rejected_with_the_parser_message(coordinator, bertfleet_pb):
    submit = lambda text: coordinator.submit(text)  # noqa: E731
    code, details = code_of(lambda: submit(minimal_spec(learning_rate=-1)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith("<submitted spec>: learning_rate: ") and "-1" in details
    code, details = code_of(lambda: submit(minimal_spec(learning_rat=0.1)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and 'did you mean "learning_rate"' in details
    code, details = code_of(lambda: submit("model: [unclosed"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "<submitted spec>" in details
    # A misspelt metric used to be accepted and to keep the worst checkpoint (loss, compared as
    # if greater were better).
    code, details = code_of(lambda: submit(minimal_spec(metric_for_best_model="acuracy")))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith('<submitted spec>: metric_for_best_model: task mrpc reports no metric "acuracy" '
                              '(did you mean "accuracy"?)'), details
    listed = coordinator.jobs.ListJobs(bertfleet_pb.jobs.ListJobsRequest())
    assert len(listed.jobs) == 0


def test_data_and_model_paths_must_stay_inside_the_data_root(coordinator):
    root = coordinator.data_root
    for key, value in [("data", "/etc"), ("data", "../outside"), ("data", "mrpc/../../x"),
                       ("model", "/opt/models/bert"), ("model", "../models/bert")]:
        code, details = code_of(lambda: coordinator.submit(minimal_spec(**{key: value})))
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (key, value)
        assert details.startswith(f"<submitted spec>: {key}: {value}"), details
    assert coordinator.submit(minimal_spec(data="mrpc")).id
    assert coordinator.submit(minimal_spec(data=str(root / "mrpc"), model="models/tiny")).id


def test_unknown_job_is_not_found(coordinator, bertfleet_pb):
    jobs = bertfleet_pb.jobs
    for call in (lambda: coordinator.jobs.GetJob(jobs.GetJobRequest(job_id="job-nope")),
                 lambda: coordinator.jobs.CancelJob(jobs.CancelJobRequest(job_id="job-nope")),
                 lambda: list(coordinator.jobs.WatchJob(jobs.WatchJobRequest(job_id="job-nope")))):
        code, details = code_of(call)
        assert code == grpc.StatusCode.NOT_FOUND and "job-nope" in details


def test_watch_gets_history_then_live_events_and_ends(coordinator, bertfleet_pb):
    jobs = bertfleet_pb.jobs
    job = coordinator.submit(minimal_spec())
    events, first_event = [], threading.Event()

    def watch():
        for event in coordinator.jobs.WatchJob(jobs.WatchJobRequest(job_id=job.id), timeout=20):
            events.append(event)
            first_event.set()
    watcher = threading.Thread(target=watch)
    watcher.start()
    assert first_event.wait(10)
    coordinator.jobs.CancelJob(jobs.CancelJobRequest(job_id=job.id), timeout=10)
    watcher.join(10)
    assert not watcher.is_alive(), "watch did not end after the final state"
    assert [e.state for e in events] == [jobs.JOB_STATE_QUEUED, jobs.JOB_STATE_CANCELLED]
    assert events[-1].job.state == jobs.JOB_STATE_CANCELLED

    # A late watcher gets the same history and the stream ends at once.
    late = list(coordinator.jobs.WatchJob(jobs.WatchJobRequest(job_id=job.id), timeout=10))
    assert [e.state for e in late] == [jobs.JOB_STATE_QUEUED, jobs.JOB_STATE_CANCELLED]


def test_health_is_serving(coordinator, bertfleet_pb):
    health = bertfleet_pb.health_grpc.HealthStub(coordinator.channel)
    for service in ("", "bertfleet.v1.JobService", "bertfleet.v1.SweepService"):
        reply = health.Check(bertfleet_pb.health.HealthCheckRequest(service=service), timeout=10)
        assert reply.status == bertfleet_pb.health.HealthCheckResponse.SERVING, service


def test_reflection_lists_the_services(coordinator, bertfleet_pb):
    pb = bertfleet_pb.reflection
    stub = bertfleet_pb.reflection_grpc.ServerReflectionStub(coordinator.channel)
    replies = list(stub.ServerReflectionInfo(iter([pb.ServerReflectionRequest(list_services="")]), timeout=10))
    names = {s.name for s in replies[0].list_services_response.service}
    assert {"bertfleet.v1.JobService", "bertfleet.v1.WorkerService", "bertfleet.v1.SweepService",
            "grpc.health.v1.Health"} <= names
    for service in ("bertfleet.v1.JobService", "bertfleet.v1.SweepService"):
        replies = list(stub.ServerReflectionInfo(
            iter([pb.ServerReflectionRequest(file_containing_symbol=service)]), timeout=10))
        assert replies[0].file_descriptor_response.file_descriptor_proto  # descriptors are served


def test_a_retried_submit_with_its_request_id_returns_the_first_job(coordinator, bertfleet_pb):
    jobs = bertfleet_pb.jobs
    request = jobs.SubmitJobRequest(spec_yaml=minimal_spec(), request_id="3f1c0de2a9b84c51")
    first = coordinator.jobs.SubmitJob(request, timeout=10).job
    again = coordinator.jobs.SubmitJob(request, timeout=10).job
    assert again.id == first.id and again.request_id == "3f1c0de2a9b84c51"
    code, details = code_of(lambda: coordinator.jobs.SubmitJob(
        jobs.SubmitJobRequest(spec_yaml=minimal_spec(priority=3), request_id="3f1c0de2a9b84c51"), timeout=10))
    assert code == grpc.StatusCode.ALREADY_EXISTS and first.id in details
    code, details = code_of(lambda: coordinator.jobs.SubmitJob(
        jobs.SubmitJobRequest(spec_yaml=minimal_spec(), request_id="x" * 129), timeout=10))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "request_id: at most 128 characters" in details
    unnamed = [coordinator.submit(minimal_spec()).id for _ in range(2)]
    assert unnamed[0] != unnamed[1]  # without a request id every submit is a new job
    listed = coordinator.jobs.ListJobs(jobs.ListJobsRequest(), timeout=10).jobs
    assert sorted(j.id for j in listed) == sorted([first.id, *unnamed])


def test_a_retried_create_sweep_with_its_request_id_returns_the_first_sweep(coordinator, bertfleet_pb):
    sweeps = bertfleet_pb.sweeps
    request = sweeps.CreateSweepRequest(spec_yaml=minimal_spec(), seeds=[1, 2], request_id="9d2e5f1a")
    first = coordinator.sweeps.CreateSweep(request, timeout=10)
    again = coordinator.sweeps.CreateSweep(request, timeout=10)
    assert again.id == first.id and [p.job_id for p in again.points] == [p.job_id for p in first.points]
    assert len(coordinator.jobs.ListJobs(bertfleet_pb.jobs.ListJobsRequest(), timeout=10).jobs) == 2
    code, details = code_of(lambda: coordinator.sweeps.CreateSweep(
        sweeps.CreateSweepRequest(spec_yaml=minimal_spec(), seeds=[1, 3], request_id="9d2e5f1a"), timeout=10))
    assert code == grpc.StatusCode.ALREADY_EXISTS and first.id in details
    # The jobs are ordinary jobs that name their sweep.
    job = coordinator.get(first.points[1].job_id)
    assert job.sweep_id == first.id and job.state == bertfleet_pb.jobs.JOB_STATE_QUEUED
    assert "seed: 2" in job.spec_yaml
