"""WorkerService with simulated workers (real gRPC streams from Python): protocol checks, the
job lifecycle, FIFO/priority order, gang scheduling with backfill, lost workers, cancellation
and rendezvous."""
import threading
import time

import grpc
import pytest

from coordinator_harness import Coordinator, FakeWorker, minimal_spec


def test_old_protocol_version_is_refused_naming_both(coordinator, bertfleet_pb):
    worker = FakeWorker(coordinator, worker_id="old", protocol=bertfleet_pb.workers.PROTOCOL_VERSION_UNSPECIFIED)
    assert worker.next(5) is None
    assert worker.error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "PROTOCOL_VERSION_UNSPECIFIED" in worker.error.details()
    assert "PROTOCOL_VERSION_1" in worker.error.details()
    worker.close()
    listed = coordinator.jobs.ListWorkers(bertfleet_pb.jobs.ListWorkersRequest())
    assert len(listed.workers) == 0


def test_job_lifecycle_with_one_worker(coordinator, bertfleet_pb, workers):
    jobs, pb = bertfleet_pb.jobs, bertfleet_pb.workers
    worker = workers(worker_id="w1")
    job = coordinator.submit(minimal_spec(data="mrpc"))
    a = worker.next_of("assignment")
    assert (a.job_id, a.attempt, a.rank, a.world_size) == (job.id, 1, 0, 1)
    assert a.output_dir == str(coordinator.workdir / "checkpoints" / job.id)
    assert a.data_root == str(coordinator.data_root) and "data: mrpc" in a.spec_yaml
    assert coordinator.get(job.id).state == jobs.JOB_STATE_SCHEDULED
    busy = coordinator.jobs.ListWorkers(jobs.ListWorkersRequest()).workers
    assert [(w.id, w.state, w.job_id) for w in busy] == [("w1", jobs.Worker.STATE_BUSY, job.id)]

    watched, subscribed = [], threading.Event()

    def watch():
        for event in coordinator.jobs.WatchJob(jobs.WatchJobRequest(job_id=job.id), timeout=20):
            watched.append(event)
            subscribed.set()
    watcher = threading.Thread(target=watch)
    watcher.start()
    # Progress is live-only (not in the history): the watch must be subscribed before it is sent.
    assert subscribed.wait(10)
    worker.started(a, total_steps=230)
    running = coordinator.wait_state(job.id, jobs.JOB_STATE_RUNNING)
    assert running.total_steps == 230 and running.started_at.seconds > 0
    worker.send(progress=pb.ProgressReport(job_id=job.id, attempt=1, rank=0,
                                           progress=jobs.StepProgress(global_step=10, total_steps=230)))
    metrics = jobs.EpochMetrics(epoch=1, global_step=230, train_loss=0.5, eval_loss=0.4,
                                eval_accuracy=0.8, eval_f1=0.85, evaluated=True)
    worker.send(epoch=pb.EpochReport(job_id=job.id, attempt=1, metrics=metrics))
    worker.send(epoch=pb.EpochReport(job_id=job.id, attempt=1, metrics=metrics))  # repeated report
    worker.finished(a, final_metrics=metrics, model_dir=a.output_dir)
    done = coordinator.wait_state(job.id, jobs.JOB_STATE_SUCCEEDED)
    watcher.join(10)
    assert not watcher.is_alive()
    assert len(done.epochs) == 1 and done.epochs[0].eval_f1 == pytest.approx(0.85)
    assert done.final_metrics.eval_accuracy == pytest.approx(0.8) and done.global_step == 230
    kinds = [e.WhichOneof("event") for e in watched]
    states = [e.state for e in watched if e.WhichOneof("event") == "state"]
    assert states == [jobs.JOB_STATE_QUEUED, jobs.JOB_STATE_SCHEDULED, jobs.JOB_STATE_RUNNING,
                      jobs.JOB_STATE_SUCCEEDED]
    assert kinds.count("epoch") == 1 and kinds.count("progress") == 1
    # A late watcher gets the stored history: state changes and the epoch, not step progress.
    late = list(coordinator.jobs.WatchJob(jobs.WatchJobRequest(job_id=job.id), timeout=10))
    assert [e.WhichOneof("event") for e in late] == ["state", "state", "state", "epoch", "state"]
    idle = coordinator.jobs.ListWorkers(jobs.ListWorkersRequest()).workers
    assert idle[0].state == jobs.Worker.STATE_IDLE


def test_priority_then_fifo(coordinator, bertfleet_pb, workers):
    worker = workers(worker_id="only")
    blocker = coordinator.submit(minimal_spec())
    first = worker.next_of("assignment")
    assert first.job_id == blocker.id
    low_a = coordinator.submit(minimal_spec(priority=0))
    low_b = coordinator.submit(minimal_spec(priority=0))
    high = coordinator.submit(minimal_spec(priority=5))
    order = []
    current = first
    for _ in range(3):
        worker.finished(current)
        current = worker.next_of("assignment")
        order.append(current.job_id)
    assert order == [high.id, low_a.id, low_b.id]


def test_gang_scheduling_with_backfill(coordinator, bertfleet_pb, workers):
    jobs = bertfleet_pb.jobs
    w1, w2 = workers(worker_id="a"), workers(worker_id="b")
    big = coordinator.submit(minimal_spec(world_size=3, priority=10))
    w1.no_message(0.3)  # 3 ranks needed, 2 idle: no partial allocation
    small = coordinator.submit(minimal_spec(world_size=1))
    backfilled = w1.next_of("assignment")  # the smaller job behind it runs meanwhile
    assert backfilled.job_id == small.id
    w2.no_message(0.3)
    w3 = workers(worker_id="c")
    w3.no_message(0.3)  # two idle workers still cannot hold the 3-rank job
    assert coordinator.get(big.id).state == jobs.JOB_STATE_QUEUED
    w1.finished(backfilled)
    gang = [w.next_of("assignment") for w in (w1, w2, w3)]
    assert {g.job_id for g in gang} == {big.id} and sorted(g.rank for g in gang) == [0, 1, 2]
    assert all(g.world_size == 3 for g in gang)
    assert list(coordinator.get(big.id).worker_ids) == ["a", "b", "c"]


def test_device_must_match(coordinator, bertfleet_pb, workers):
    cpu = workers(worker_id="cpu-1", device="cpu")
    job = coordinator.submit(minimal_spec(device="cuda"))
    cpu.no_message(0.3)
    gpu = workers(worker_id="gpu-1", device="cuda")
    assert gpu.next_of("assignment").job_id == job.id


def test_lost_worker_fails_the_attempt_and_other_ranks_are_cancelled(coordinator, bertfleet_pb, workers):
    jobs = bertfleet_pb.jobs
    w1, w2 = workers(worker_id="r0"), workers(worker_id="r1")
    job = coordinator.submit(minimal_spec(world_size=2, max_restarts=0))  # restarts: test_coordinator_gang_attempts
    a1, a2 = w1.next_of("assignment"), w2.next_of("assignment")
    w1.started(a1)
    w2.started(a2)
    coordinator.wait_state(job.id, jobs.JOB_STATE_RUNNING)
    w2.close()  # stream broken
    failed = coordinator.wait_state(job.id, jobs.JOB_STATE_FAILED)
    assert "worker r1 (rank 1) lost" in failed.message
    cancel = w1.next_of("cancel")
    assert cancel.job_id == job.id and cancel.attempt == 1
    listed = {w.id: w.state for w in coordinator.jobs.ListWorkers(jobs.ListWorkersRequest()).workers}
    assert listed["r1"] == jobs.Worker.STATE_LOST


def test_missed_heartbeats_expire_the_lease(coordinator, bertfleet_pb):
    jobs = bertfleet_pb.jobs
    silent = FakeWorker(coordinator, worker_id="silent")
    registered = silent.registered()
    assert registered.lease_ms == 1500 and registered.heartbeat_interval_ms == 300
    job = coordinator.submit(minimal_spec(max_restarts=0))
    silent.next_of("assignment")
    failed = coordinator.wait_state(job.id, jobs.JOB_STATE_FAILED, timeout=6)
    assert "lease" in failed.message and "silent" in failed.message
    assert silent.next(5) is None and silent.error.code() == grpc.StatusCode.UNAVAILABLE
    silent.close()


def test_rank_failure_fails_the_job(coordinator, bertfleet_pb, workers):
    w = workers(worker_id="x")
    job = coordinator.submit(minimal_spec(max_restarts=0))
    a = w.next_of("assignment")
    w.finished(a, success=False, message="CUDA out of memory")
    failed = coordinator.wait_state(job.id, bertfleet_pb.jobs.JOB_STATE_FAILED)
    assert failed.message == "rank 0 (worker x) failed: CUDA out of memory"


def test_cancel_running_job_confirmed_by_every_rank(coordinator, bertfleet_pb, workers):
    jobs = bertfleet_pb.jobs
    w1, w2 = workers(worker_id="c0"), workers(worker_id="c1")
    job = coordinator.submit(minimal_spec(world_size=2))
    assignments = [w1.next_of("assignment"), w2.next_of("assignment")]
    for w, a in zip((w1, w2), assignments):
        w.started(a)
    coordinator.wait_state(job.id, jobs.JOB_STATE_RUNNING)

    def confirm():
        for w, a in zip((w1, w2), assignments):
            assert w.next_of("cancel").job_id == job.id
            w.finished(a, success=False, cancelled=True)
    confirmer = threading.Thread(target=confirm)
    confirmer.start()
    start = time.monotonic()
    cancelled = coordinator.jobs.CancelJob(jobs.CancelJobRequest(job_id=job.id), timeout=10)
    confirmer.join(5)
    assert cancelled.state == jobs.JOB_STATE_CANCELLED and time.monotonic() - start < 3
    assert cancelled.message == "cancelled by user"


def test_cancel_without_confirmation_ends_after_the_timeout(coordinator_binary, bertfleet_pb, tmp_path):
    coordinator = Coordinator(coordinator_binary, tmp_path, bertfleet_pb,
                              extra_config="cancel_timeout_ms: 1000\n").start()
    try:
        worker = FakeWorker(coordinator, worker_id="deaf")
        worker.registered()
        worker.heartbeats()
        job = coordinator.submit(minimal_spec())
        worker.next_of("assignment")
        start = time.monotonic()
        jobs = bertfleet_pb.jobs
        cancelled = coordinator.jobs.CancelJob(jobs.CancelJobRequest(job_id=job.id), timeout=10)
        elapsed = time.monotonic() - start
        assert cancelled.state == jobs.JOB_STATE_CANCELLED and 0.9 < elapsed < 3
        assert "not confirmed within 1000 ms by deaf" in cancelled.message
        assert worker.next_of("cancel").reason == "cancelled by user"
        # The worker stays busy until it confirms, so it gets no new work meanwhile.
        coordinator.submit(minimal_spec())
        worker.no_message(0.3)
        worker.close()
    finally:
        coordinator.stop()


def test_rendezvous(coordinator, bertfleet_pb):
    pb = bertfleet_pb.workers
    stub = bertfleet_pb.workers_grpc.WorkerServiceStub(coordinator.channel_for(coordinator.worker_token))
    with pytest.raises(grpc.RpcError) as error:
        stub.GetRendezvous(pb.GetRendezvousRequest(job_id="j", attempt=1, rank=1, timeout_ms=200), timeout=5)
    assert error.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED and "rank 0" in error.value.details()
    waiting = stub.GetRendezvous.future(pb.GetRendezvousRequest(job_id="j", attempt=1, rank=1, timeout_ms=5000))
    time.sleep(0.2)
    stub.PublishRendezvous(pb.PublishRendezvousRequest(job_id="j", attempt=1, payload=b"127.0.0.1:29500"))
    assert waiting.result(timeout=5).payload == b"127.0.0.1:29500"
    later = stub.GetRendezvous(pb.GetRendezvousRequest(job_id="j", attempt=1, rank=2, timeout_ms=0), timeout=5)
    assert later.payload == b"127.0.0.1:29500"
