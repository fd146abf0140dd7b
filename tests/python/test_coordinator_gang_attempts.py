"""Gang attempts with simulated workers (real coordinator, real gRPC streams): only rank 0's epoch
reports count, once per epoch; a lost or failed rank ends the attempt on every rank, clears its
rendezvous, records the cause, and restarts the job from its latest checkpoint on a fresh gang
until `max_restarts` is used up."""
import sqlite3

import grpc
import pytest

from coordinator_harness import minimal_spec


def epoch(pb, assignment, number, accuracy):
    metrics = pb.jobs.EpochMetrics(epoch=number, global_step=4 * number, train_loss=0.5, eval_accuracy=accuracy,
                                   evaluated=True)
    return pb.workers.EpochReport(job_id=assignment.job_id, attempt=assignment.attempt, metrics=metrics)


def epoch_rows(coordinator, job_id):
    with sqlite3.connect(coordinator.db) as db:
        return db.execute("SELECT epoch, attempt, eval_accuracy FROM epoch_metrics WHERE job_id=? ORDER BY epoch",
                          (job_id,)).fetchall()


def test_only_rank0_epoch_reports_count_once_per_epoch(coordinator, bertfleet_pb, workers):
    jobs = bertfleet_pb.jobs
    r0, r1 = workers(worker_id="r0"), workers(worker_id="r1")
    job = coordinator.submit(minimal_spec(world_size=2))
    a0, a1 = r0.next_of("assignment"), r1.next_of("assignment")
    assert (a0.rank, a1.rank, a0.world_size) == (0, 1, 2)
    r0.started(a0)
    r1.started(a1)
    coordinator.wait_state(job.id, jobs.JOB_STATE_RUNNING)
    r1.send(epoch=epoch(bertfleet_pb, a1, 1, 0.125))  # not rank 0: ignored
    r0.send(epoch=epoch(bertfleet_pb, a0, 1, 0.75))
    r0.send(epoch=epoch(bertfleet_pb, a0, 1, 0.5))    # a repeated report: ignored
    r0.send(epoch=epoch(bertfleet_pb, a0, 2, 0.875))
    r1.finished(a1)
    r0.finished(a0)
    done = coordinator.wait_state(job.id, jobs.JOB_STATE_SUCCEEDED)
    assert [(m.epoch, m.eval_accuracy) for m in done.epochs] == [(1, 0.75), (2, 0.875)]
    assert epoch_rows(coordinator, job.id) == [(1, 1, 0.75), (2, 1, 0.875)]
    assert [(a.attempt, a.outcome) for a in done.attempts] == [(1, "SUCCEEDED")] and done.restarts == 0


def test_lost_rank_restarts_the_gang_from_the_latest_checkpoint_until_restarts_run_out(
        coordinator, bertfleet_pb, workers):
    jobs, pb = bertfleet_pb.jobs, bertfleet_pb.workers
    a, b, c = workers(worker_id="a"), workers(worker_id="b"), workers(worker_id="c")
    job = coordinator.submit(minimal_spec(world_size=2, max_restarts=1))
    assert job.max_restarts == 1
    first0, first1 = a.next_of("assignment"), b.next_of("assignment")
    assert first0.resume_from == "" and first1.resume_from == ""
    a.started(first0)
    b.started(first1)
    coordinator.wait_state(job.id, jobs.JOB_STATE_RUNNING)
    rendezvous = pb.PublishRendezvousRequest(job_id=job.id, attempt=1, payload=b"127.0.0.1:1")
    a.stub.PublishRendezvous(rendezvous, timeout=5)
    checkpoint = str(coordinator.workdir / "checkpoints" / job.id / "checkpoint-6")
    b.send(checkpoint=pb.CheckpointSaved(job_id=job.id, attempt=1, global_step=9, path="elsewhere"))  # rank 1: no
    a.send(checkpoint=pb.CheckpointSaved(job_id=job.id, attempt=1, global_step=6, path=checkpoint))
    a.send(epoch=epoch(bertfleet_pb, first0, 1, 0.75))
    coordinator.wait_epochs(job.id, 1)  # before b's stream breaks: a's and b's streams are not ordered

    b.close()  # rank 1's stream breaks: the attempt ends on every rank
    cancel = a.next_of("cancel")
    assert (cancel.job_id, cancel.attempt) == (job.id, 1) and "worker b (rank 1) was lost" in cancel.reason
    queued = coordinator.wait_state(job.id, jobs.JOB_STATE_QUEUED)
    assert queued.restarts == 1 and queued.latest_checkpoint == checkpoint
    assert queued.message.startswith(f"restart 1 of 1 from {checkpoint} after: worker b (rank 1) lost"), queued.message
    with pytest.raises(grpc.RpcError) as cleared:  # the attempt's rendezvous is gone with it
        a.stub.GetRendezvous(pb.GetRendezvousRequest(job_id=job.id, attempt=1, rank=1, timeout_ms=0), timeout=5)
    assert cleared.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    # A fresh gang needs two idle workers: c, and a once it confirmed the cancel.
    c.no_message(0.3)
    a.finished(first0, success=False, cancelled=True, message="cancelled")
    second0, second1 = a.next_of("assignment"), c.next_of("assignment")
    assert (second0.attempt, second0.rank, second1.rank) == (2, 0, 1)
    assert second0.resume_from == "last" and second1.resume_from == "last"
    a.started(second0)
    c.started(second1)
    a.send(epoch=epoch(bertfleet_pb, second0, 1, 0.5))  # epoch 1 again after resuming inside it: ignored
    a.send(epoch=epoch(bertfleet_pb, second0, 2, 0.875))
    coordinator.wait_epochs(job.id, 2)  # rank 0's stream; c's failure comes on another

    c.finished(second1, success=False, message="Connection closed by peer (rank 0)")
    failed = coordinator.wait_state(job.id, jobs.JOB_STATE_FAILED)
    assert failed.message == ("rank 1 (worker c) failed: Connection closed by peer (rank 0) "
                              "(no restarts left: max_restarts 1)")
    assert a.next_of("cancel").attempt == 2
    assert [(m.epoch, m.eval_accuracy) for m in failed.epochs] == [(1, 0.75), (2, 0.875)]
    assert epoch_rows(coordinator, job.id) == [(1, 1, 0.75), (2, 2, 0.875)]
    attempts = [(t.attempt, list(t.worker_ids), t.outcome, t.resumed_from) for t in failed.attempts]
    assert attempts == [(1, ["a", "b"], "FAILED", ""), (2, ["a", "c"], "FAILED", checkpoint)]
    assert "worker b (rank 1) lost" in failed.attempts[0].message
    with sqlite3.connect(coordinator.db) as db:
        stored = db.execute("SELECT attempt, outcome, message, resumed_from FROM attempts WHERE job_id=? "
                            "ORDER BY attempt", (job.id,)).fetchall()
        restarts, latest = db.execute("SELECT restarts, latest_checkpoint FROM jobs WHERE id=?", (job.id,)).fetchone()
    assert [(r[0], r[1], r[3]) for r in stored] == [(1, "FAILED", ""), (2, "FAILED", checkpoint)]
    assert stored[1][2] == "rank 1 (worker c) failed: Connection closed by peer (rank 0)"
    assert (restarts, latest) == (1, checkpoint)


def test_restart_state_survives_a_coordinator_restart(coordinator, bertfleet_pb, workers):
    x = workers(worker_id="x")
    job = coordinator.submit(minimal_spec(max_restarts=2))
    first = x.next_of("assignment")
    x.finished(first, success=False, message="killed by signal 9")
    second = x.next_of("assignment")
    assert second.attempt == 2
    coordinator.kill()
    coordinator.start()
    again = coordinator.get(job.id)
    assert (again.restarts, again.max_restarts) == (1, 2)
    assert [(t.attempt, t.outcome) for t in again.attempts] == [(1, "FAILED"), (2, "")]
    assert again.attempts[0].message == "rank 0 (worker x) failed: killed by signal 9"
