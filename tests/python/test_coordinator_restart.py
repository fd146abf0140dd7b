"""Coordinator restarts on the same SQLite database: after SIGKILL every job is still there;
queued jobs run; an attempt that its workers report on reconnection keeps RUNNING; one that
nobody reports goes back to QUEUED."""
import sqlite3

from coordinator_harness import Coordinator, FakeWorker, minimal_spec


def restart(old: Coordinator, *workers: FakeWorker) -> Coordinator:
    """SIGKILL, then drop the workers' streams (closing them first would mark them lost)."""
    old.kill()
    for worker in workers:
        worker.close()
    return Coordinator(old.binary, old.workdir, old.pb, db=old.db).start()


def test_jobs_survive_sigkill(coordinator_binary, bertfleet_pb, tmp_path):
    jobs = bertfleet_pb.jobs
    coordinator = Coordinator(coordinator_binary, tmp_path, bertfleet_pb).start()
    queued = coordinator.submit(minimal_spec(priority=2))
    cancelled = coordinator.submit(minimal_spec())
    coordinator.jobs.CancelJob(jobs.CancelJobRequest(job_id=cancelled.id), timeout=10)
    coordinator = restart(coordinator)
    try:
        listed = {j.id: j for j in coordinator.jobs.ListJobs(jobs.ListJobsRequest(), timeout=10).jobs}
        assert listed[queued.id].state == jobs.JOB_STATE_QUEUED and listed[queued.id].priority == 2
        assert listed[cancelled.id].state == jobs.JOB_STATE_CANCELLED
        late = list(coordinator.jobs.WatchJob(jobs.WatchJobRequest(job_id=cancelled.id), timeout=10))
        assert [e.state for e in late] == [jobs.JOB_STATE_QUEUED, jobs.JOB_STATE_CANCELLED]
        worker = FakeWorker(coordinator, worker_id="w")
        worker.registered()
        assert worker.next_of("assignment").job_id == queued.id  # queued jobs run after a restart
        worker.close()
        with sqlite3.connect(coordinator.db) as db:
            assert db.execute("PRAGMA user_version").fetchone()[0] == 6
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        coordinator.stop()


def run_job_then_restart(coordinator_binary, bertfleet_pb, tmp_path, worker_id):
    """A job RUNNING on one fake worker, then the coordinator restarted (SIGKILL) on its database."""
    coordinator = Coordinator(coordinator_binary, tmp_path, bertfleet_pb).start()
    worker = FakeWorker(coordinator, worker_id=worker_id)
    worker.registered()
    job = coordinator.submit(minimal_spec())
    a = worker.next_of("assignment")
    worker.started(a)
    coordinator.wait_state(job.id, bertfleet_pb.jobs.JOB_STATE_RUNNING)
    return restart(coordinator, worker), job, a


def test_reported_attempt_keeps_running(coordinator_binary, bertfleet_pb, tmp_path):
    jobs = bertfleet_pb.jobs
    coordinator, job, a = run_job_then_restart(coordinator_binary, bertfleet_pb, tmp_path, "keeper")
    try:
        assert coordinator.get(job.id).state == jobs.JOB_STATE_RUNNING
        back = FakeWorker(coordinator, worker_id="keeper", running=[(job.id, a.attempt, 0)])
        back.registered()
        back.heartbeats()
        back.no_message(2.0)  # past the recovery grace (lease 1.5 s): no cancel, no reassignment
        assert coordinator.get(job.id).state == jobs.JOB_STATE_RUNNING
        back.finished(a)
        done = coordinator.wait_state(job.id, jobs.JOB_STATE_SUCCEEDED)
        assert done.attempt == 1
        back.close()
    finally:
        coordinator.stop()


def test_unreported_attempt_is_queued_again(coordinator_binary, bertfleet_pb, tmp_path):
    jobs = bertfleet_pb.jobs
    coordinator, job, a = run_job_then_restart(coordinator_binary, bertfleet_pb, tmp_path, "gone")
    try:
        requeued = coordinator.wait_state(job.id, jobs.JOB_STATE_QUEUED, timeout=6)
        assert "coordinator restarted" in requeued.message
        fresh = FakeWorker(coordinator, worker_id="fresh")
        fresh.registered()
        second = fresh.next_of("assignment")
        assert (second.job_id, second.attempt) == (job.id, 2)
        with sqlite3.connect(coordinator.db) as db:
            rows = db.execute("SELECT attempt, outcome FROM attempts WHERE job_id=? ORDER BY attempt",
                              (job.id,)).fetchall()
        assert rows == [(1, "REQUEUED"), (2, "")]
        fresh.close()
    finally:
        coordinator.stop()


def test_stale_assignment_from_a_reconnecting_worker_is_cancelled(coordinator, bertfleet_pb):
    worker = FakeWorker(coordinator, worker_id="stale", running=[("job-unknown", 3, 0)])
    worker.registered()
    cancel = worker.next_of("cancel")
    assert (cancel.job_id, cancel.attempt) == ("job-unknown", 3)
    assert "not running on this coordinator" in cancel.reason
    worker.close()
