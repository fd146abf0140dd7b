"""Elastic jobs end to end (issue 23): a real coordinator, two real worker agents, a tiny BERT in
fp32 with dropout on. A job with `world_size: 2, min_world_size: 1` that loses a worker mid-epoch
finishes on the one left, with the weights of a job that never lost one (within 1e-5) (the worker left trains
both ranks' slices, each with its own dropout stream); when the lost worker comes back the job
grows back to two at its next checkpoint, again without changing the result. Each resize is an
event, a Prometheus series, and a line in `bertfleet status`."""
import re
import signal
import sqlite3
import threading

import grpc
import numpy as np
import pytest
from safetensors.numpy import load_file

from test_observability import http_get, logged_metrics_address
from worker_fleet import AgentFleet, tiny_job, wait_for

WORKERS = ("w1", "w2")
# 1600 rows / (8 x 2 ranks) = 100 steps per epoch; a checkpoint every 15 steps (last 2 kept).
SPEC = tiny_job(train=1600, epochs=2, save="steps", world_size=2, min_world_size=1, save_steps=15,
                save_total_limit=2)


@pytest.fixture(scope="module")
def fleet(coordinator_binary, worker_binary, cli_binary, bertfleet_pb, tmp_path_factory, tiny_model_dir,
          shared_data):
    instance = AgentFleet(coordinator_binary, worker_binary, cli_binary, bertfleet_pb,
                          tmp_path_factory.mktemp("elastic"), tiny_model_dir, shared_data, workers=WORKERS,
                          coordinator_config="metrics_listen: 127.0.0.1:0\n")
    yield instance
    instance.stop()


# A checkpoint at each epoch's end only: the job grows where the checkpoint and the epoch's
# report come together (the checkpoint is reported first).
EPOCH_SPEC = tiny_job(train=1600, epochs=2, save="epoch", world_size=2, min_world_size=1)


@pytest.fixture(scope="module")
def reference(fleet):
    """The same job on two workers, never interrupted."""
    return fleet.wait_state(fleet.submit(SPEC, "uninterrupted"), "SUCCEEDED", timeout=240)


@pytest.fixture(scope="module")
def epoch_reference(fleet):
    return fleet.wait_state(fleet.submit(EPOCH_SPEC, "uninterrupted-epochs"), "SUCCEEDED", timeout=240)


def checkpoint_step(path):
    return int(re.search(r"checkpoint-(\d+)$", path).group(1))


def watch(fleet, job_id, events):
    """Collects the job's events (the stream ends when the job does) in a thread."""
    def run():
        try:
            events.extend(fleet.coordinator.jobs.WatchJob(fleet.pb.jobs.WatchJobRequest(job_id=job_id), timeout=400))
        except grpc.RpcError:
            pass  # the test's assertions on `events` say what was missing
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def kill_one_mid_epoch(fleet, job_id, low, high):
    """SIGKILLs rank 0's agent (it serves the group's store and writes the checkpoints) once the
    job has a checkpoint in (low, high); returns (victim, survivor)."""
    wait_for(lambda: low < checkpoint_step(fleet.job(job_id).latest_checkpoint or "checkpoint-0") < high, 180,
             f"a checkpoint between steps {low} and {high}")
    victim, survivor = fleet.job(job_id).worker_ids
    fleet.signal_agent(victim, signal.SIGKILL)
    return victim, survivor


# The same slices and dropout masks; only the order in which fp32 gradients of the ranks are
# summed differs (one process accumulates them into its buffer, two add them in the all-reduce):
# 1e-5, tighter than the 1e-4 of the data-parallel equivalence test (test_data_parallel_training).
TOLERANCE = 1e-5


def assert_same_model(done, reference):
    assert done.final_metrics.eval_accuracy == reference.final_metrics.eval_accuracy
    assert done.final_metrics.eval_loss == pytest.approx(reference.final_metrics.eval_loss, abs=TOLERANCE)
    assert [m.eval_accuracy for m in done.epochs] == [m.eval_accuracy for m in reference.epochs]
    assert [m.train_loss for m in done.epochs] == pytest.approx([m.train_loss for m in reference.epochs],
                                                                abs=TOLERANCE)
    expected = load_file(f"{reference.output_dir}/model.safetensors")
    actual = load_file(f"{done.output_dir}/model.safetensors")
    assert expected.keys() == actual.keys()
    for name, tensor in expected.items():
        np.testing.assert_allclose(actual[name], tensor, rtol=0, atol=TOLERANCE, err_msg=name)
    # Not vacuous: training moved the weights far beyond that tolerance.
    initial = load_file(fleet_tiny_model(done))
    assert max(float(abs(expected[n] - initial[n]).max()) for n in initial if n in expected) > 1e-3


def fleet_tiny_model(done):
    # The coordinator's data root holds the tiny model the jobs start from: <checkpoints>/../data/tiny.
    return re.sub(r"/checkpoints/.*$", "/data/tiny/model.safetensors", done.output_dir)


def resizes(events):
    return [(e.resize.from_world_size, e.resize.to_world_size) for e in events if e.WhichOneof("event") == "resize"]


def scrape(fleet, job_id):
    address = logged_metrics_address(fleet.coordinator.log)
    _, _, text = http_get(f"http://{address}/metrics")
    def value(series):
        match = re.search(r"^" + re.escape(series) + r" (\S+)$", text, re.M)
        return float(match.group(1)) if match else None
    return {"world_size": value(f'bertfleet_job_world_size{{job="{job_id}"}}'),
            "requested": value(f'bertfleet_job_requested_world_size{{job="{job_id}"}}'),
            "shrink": value('bertfleet_job_resizes_total{direction="shrink"}'),
            "grow": value('bertfleet_job_resizes_total{direction="grow"}')}


def test_a_job_that_loses_a_worker_finishes_on_the_other_with_the_same_weights(fleet, reference):
    assert [len(a.worker_ids) for a in reference.attempts] == [2]
    before = scrape(fleet, "none")
    job_id = fleet.submit(SPEC, "shrinks")
    events = []
    watcher = watch(fleet, job_id, events)
    victim, survivor = kill_one_mid_epoch(fleet, job_id, 100, 185)  # inside epoch 2

    # Running again, on the survivor alone: status and Prometheus say 1 of 2.
    shrunk = wait_for(lambda: (lambda j: j if j.state == fleet.pb.jobs.JOB_STATE_RUNNING and j.attempt == 2 else None)(
        fleet.job(job_id)), 120, "the job running again")
    assert list(shrunk.worker_ids) == [survivor] and shrunk.current_world_size == 1 and shrunk.world_size == 2
    status = fleet.cli("status", job_id).stdout
    assert "1 of 2 x cpu (elastic, min 1)" in status, status
    assert re.search(rf"{job_id}\s+RUNNING\s+\d+\s+1/2\s", fleet.cli("jobs").stdout)
    metrics = scrape(fleet, job_id)
    assert (metrics["world_size"], metrics["requested"]) == (1, 2), metrics
    assert metrics["shrink"] == before["shrink"] + 1, (before, metrics)

    done = fleet.wait_state(job_id, "SUCCEEDED", timeout=300)
    watcher.join(30)
    assert [(a.outcome, len(a.worker_ids)) for a in done.attempts] == [("FAILED", 2), ("SUCCEEDED", 1)], fleet.logs()
    assert f"worker {victim} (rank 0) lost" in done.attempts[0].message
    assert 100 < checkpoint_step(done.attempts[1].resumed_from) < 200  # resumed inside epoch 2
    assert done.restarts == 1
    assert fleet.epoch_rows(job_id) == [(1, 100), (2, 200)]  # every epoch once
    assert resizes(events) == [(2, 1)]
    resize = next(e.resize for e in events if e.WhichOneof("event") == "resize")
    assert resize.world_size == 2 and resize.min_world_size == 1 and f"worker {victim}" in resize.reason
    assert resize.global_step == checkpoint_step(done.attempts[1].resumed_from)
    assert_same_model(done, reference)
    fleet.start_agent(victim)
    wait_for(lambda: fleet.idle_workers() == set(WORKERS), 60, "both workers idle again")


def test_a_shrunk_job_grows_back_when_the_worker_returns_and_keeps_the_math(fleet, epoch_reference):
    job_id = fleet.submit(EPOCH_SPEC, "grows")
    events = []
    watcher = watch(fleet, job_id, events)
    # Mid-epoch 1, before any checkpoint: the job restarts from the beginning on one worker.
    wait_for(lambda: 5 <= fleet.job(job_id).global_step < 60, 180, "steps 5 to 60 on two workers")
    victim, survivor = fleet.job(job_id).worker_ids
    fleet.signal_agent(victim, signal.SIGKILL)
    wait_for(lambda: fleet.job(job_id).current_world_size == 1 and fleet.job(job_id).state ==
             fleet.pb.jobs.JOB_STATE_RUNNING, 120, "the job running on one worker")
    fleet.start_agent(victim)  # comes back: the job grows at its next checkpoint, the end of epoch 1
    wait_for(lambda: fleet.job(job_id).current_world_size == 2, 180, "the job back on two workers")
    assert scrape(fleet, job_id)["world_size"] == 2

    done = fleet.wait_state(job_id, "SUCCEEDED", timeout=300)
    watcher.join(30)
    outcomes = [(a.outcome, len(a.worker_ids)) for a in done.attempts]
    assert outcomes == [("FAILED", 2), ("RESIZED", 1), ("SUCCEEDED", 2)], (outcomes, fleet.logs())
    assert "growing from 1 worker to 2 at" in done.attempts[1].message and done.attempts[1].resumed_from == ""
    assert done.restarts == 1  # growing is no failure
    assert 100 <= checkpoint_step(done.attempts[2].resumed_from) < 200
    assert resizes(events) == [(2, 1), (1, 2)]
    # Epoch 1 was reported by the attempt that stopped to grow, after its checkpoint: kept, once.
    assert fleet.epoch_rows(job_id) == [(1, 100), (2, 200)]
    with sqlite3.connect(fleet.coordinator.db) as db:
        attempts = db.execute("SELECT epoch, attempt FROM epoch_metrics WHERE job_id = ? ORDER BY epoch",
                              (job_id,)).fetchall()
    assert attempts == [(1, 2), (2, 3)], attempts
    assert_same_model(done, epoch_reference)
