"""The control plane end to end with real processes on localhost: a bertfleet-coordinator, two
`bertfleet-worker --coordinator` agents training a tiny BERT on real MRPC rows in child processes,
and the `bertfleet` CLI (plus an independent Python gRPC client). Covers submit/watch/status, the
SQLite store, cancellation, training crashes and a coordinator SIGKILL + restart."""
import json
import os
import pathlib
import shutil
import signal
import sqlite3
import subprocess
import time

import pytest

from worker_fleet import STATE, AgentFleet, alive, tiny_job, wait_for

# Long enough to cancel or crash while it runs (all 3668 rows, many epochs, no evaluation).
LONG_JOB = tiny_job(train=-1, epochs=50, eval="no", save="no")


class Fleet(AgentFleet):
    """Two agents (w1, w2), plus a model whose weights file is cut in half (`model: corrupt`)."""

    def __init__(self, coordinator_binary, worker_binary, cli_binary, pb, workdir, tiny_model_dir, shared_data):
        super().__init__(coordinator_binary, worker_binary, cli_binary, pb, workdir, tiny_model_dir, shared_data,
                         workers=("w1", "w2"))
        corrupt = self.coordinator.data_root / "corrupt"
        shutil.copytree(tiny_model_dir, corrupt)
        size = (corrupt / "model.safetensors").stat().st_size
        with open(corrupt / "model.safetensors", "r+b") as f:  # header intact, tensors cut off
            f.truncate(size // 2)


@pytest.fixture(scope="module")
def fleet(coordinator_binary, worker_binary, cli_binary, bertfleet_pb, tmp_path_factory, tiny_model_dir,
          shared_data):
    instance = Fleet(coordinator_binary, worker_binary, cli_binary, bertfleet_pb,
                     tmp_path_factory.mktemp("fleet"), tiny_model_dir, shared_data)
    yield instance
    instance.stop()


def test_submit_watch_status_and_store(fleet):
    path = fleet.workdir / "tiny.yaml"
    path.write_text(tiny_job())
    result = fleet.cli("submit", str(path), "--watch")
    assert result.returncode == 0, result.stderr + fleet.logs()
    out = result.stdout
    job_id = out.split()[1]  # "submitted <id> (QUEUED)"
    positions = [out.find(f"  {job_id}  {state}") for state in ("QUEUED", "SCHEDULED", "RUNNING", "SUCCEEDED")]
    assert -1 not in positions and positions == sorted(positions), out
    assert f"{job_id}  epoch 1  train_loss" in out and f"{job_id}  epoch 2  train_loss" in out
    table = out[out.index("Epoch"):].splitlines()
    assert [row.split()[0] for row in table[1:3]] == ["1", "2"]
    assert [row.split()[1] for row in table[1:3]] == ["8", "16"]  # 64 rows / batch 8 = 8 steps per epoch

    # A later watch replays the history and exits 0 for a SUCCEEDED job.
    replay = fleet.cli("watch", job_id)
    assert replay.returncode == 0 and f"{job_id}  SUCCEEDED" in replay.stdout, replay.stderr

    status = json.loads(fleet.cli("--json", "status", job_id).stdout)
    assert status["state"] == "JOB_STATE_SUCCEEDED" and status["global_step"] == "16"
    assert [e["epoch"] for e in status["epochs"]] == ["1", "2"]
    for epoch in status["epochs"]:
        assert epoch["evaluated"] and 0.0 <= epoch["eval_accuracy"] <= 1.0 and epoch["train_loss"] > 0
    final = status["final_metrics"]
    assert final["evaluated"] and 0.0 <= final["eval_accuracy"] <= 1.0
    model_dir = pathlib.Path(status["output_dir"])
    assert (model_dir / "model.safetensors").exists() and (model_dir / "checkpoint-16").is_dir()
    text = fleet.cli("status", job_id).stdout
    assert "SUCCEEDED" in text and "Validation Loss" in text

    with sqlite3.connect(fleet.coordinator.db) as db:
        state, = db.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
        rows = db.execute("SELECT epoch, global_step, train_loss, eval_accuracy, evaluated FROM epoch_metrics "
                          "WHERE job_id = ? ORDER BY epoch", (job_id,)).fetchall()
    assert state == STATE["SUCCEEDED"]
    assert [(r[0], r[1], r[4]) for r in rows] == [(1, 8, 1), (2, 16, 1)]
    assert [r[2] for r in rows] == pytest.approx([e["train_loss"] for e in status["epochs"]])
    assert [r[3] for r in rows] == pytest.approx([e["eval_accuracy"] for e in status["epochs"]])


def test_python_client_submits_and_watches(fleet):
    jobs = fleet.pb.jobs
    job = fleet.coordinator.submit(tiny_job(epochs=1))
    events = list(fleet.coordinator.jobs.WatchJob(jobs.WatchJobRequest(job_id=job.id), timeout=120))
    states = [e.state for e in events if e.WhichOneof("event") == "state"]
    assert states[0] == jobs.JOB_STATE_QUEUED and states[-1] == jobs.JOB_STATE_SUCCEEDED, fleet.logs()
    assert jobs.JOB_STATE_RUNNING in states
    epochs = [e.epoch for e in events if e.WhichOneof("event") == "epoch"]
    assert [m.epoch for m in epochs] == [1] and epochs[0].evaluated and epochs[0].global_step == 8
    progress = [e.progress for e in events if e.WhichOneof("event") == "progress"]
    assert progress and progress[-1].global_step == 8 and progress[-1].total_steps == 8
    assert events[-1].job.final_metrics.evaluated


def test_cancel_stops_both_workers_within_5s_and_they_take_the_next_jobs(fleet):
    first, second = fleet.submit(LONG_JOB, "long-1"), fleet.submit(LONG_JOB, "long-2")
    for job_id in (first, second):
        fleet.wait_state(job_id, "RUNNING", timeout=60)
        wait_for(lambda: fleet.job(job_id).global_step > 0, 60, f"{job_id} to make progress")
    children = fleet.training_processes()
    assert sorted(len(pids) for pids in children.values()) == [1, 1], children
    assert {w for j in (first, second) for w in fleet.job(j).worker_ids} == {"w1", "w2"}
    # One training process is hung (stopped): its agent must escalate from SIGTERM to SIGKILL.
    os.kill(children["w1"][0], signal.SIGSTOP)

    start = time.monotonic()
    cancels = [subprocess.Popen([str(fleet.cli_binary), "--coordinator", fleet.coordinator.address, "cancel", job_id],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=fleet.coordinator.client_env())
               for job_id in (first, second)]
    for cancel in cancels:
        out, err = cancel.communicate(timeout=10)
        assert cancel.returncode == 0 and "CANCELLED" in out, out + err
    for job_id in (first, second):
        job = fleet.wait_state(job_id, "CANCELLED", timeout=5)
        assert "not confirmed" not in job.message, job.message  # every worker confirmed the stop
    for pids in children.values():
        wait_for(lambda: not any(alive(pid) for pid in pids), 1, "the training processes to exit")
    assert time.monotonic() - start < 5.0
    wait_for(lambda: fleet.idle_workers() == {"w1", "w2"}, 5, "both workers idle")

    next_jobs = [fleet.submit(tiny_job(epochs=1), f"after-cancel-{i}") for i in range(2)]
    ran_on = set()
    for job_id in next_jobs:
        ran_on.update(fleet.wait_state(job_id, "SUCCEEDED", timeout=60).worker_ids)
    assert ran_on == {"w1", "w2"}


def test_training_crash_fails_the_job_and_the_agent_takes_the_next(fleet):
    # A model file that cannot be loaded: the engine's error becomes the job's message.
    # max_restarts 0: fail at the first failure (restarts: test_worker_failures.py).
    corrupt = tiny_job(model="corrupt") + "max_restarts: 0\n"
    result = fleet.cli("submit", str(write(fleet, "corrupt.yaml", corrupt)), "--watch")
    assert result.returncode == 1 and "FAILED" in result.stdout, result.stdout + result.stderr
    job_id = result.stdout.split()[1]
    job = fleet.job(job_id)
    assert job.state == fleet.pb.jobs.JOB_STATE_FAILED
    assert "failed: " in job.message and "model.safetensors" in job.message, job.message

    # A segfault of the training process: the job fails naming the signal; the agent lives on.
    crashing = fleet.submit(LONG_JOB + "max_restarts: 0\n", "segv")
    fleet.wait_state(crashing, "RUNNING", timeout=60)
    wait_for(lambda: fleet.job(crashing).global_step > 0, 60, "progress")
    worker = fleet.job(crashing).worker_ids[0]
    pid, = wait_for(lambda: fleet.training_processes()[worker], 5, "the training process")
    os.kill(pid, signal.SIGSEGV)
    job = fleet.wait_state(crashing, "FAILED", timeout=10)
    assert "killed by signal 11" in job.message, job.message
    assert all(agent.poll() is None for agent in fleet.agents.values())

    after = [fleet.submit(tiny_job(epochs=1), f"after-crash-{i}") for i in range(2)]
    ran_on = set()
    for job_id in after:
        ran_on.update(fleet.wait_state(job_id, "SUCCEEDED", timeout=60).worker_ids)
    assert worker in ran_on


def write(fleet, name, text):
    path = fleet.workdir / name
    path.write_text(text)
    return path


def test_coordinator_sigkill_and_restart_keeps_everything_and_runs_queued_jobs(fleet):
    jobs = fleet.pb.jobs
    fleet.wait_state(fleet.submit(tiny_job(epochs=1), "before-restart"), "SUCCEEDED")
    before = {j.id: j for j in fleet.coordinator.jobs.ListJobs(jobs.ListJobsRequest(page_size=500)).jobs}
    finished = {i: j for i, j in before.items() if j.state in (jobs.JOB_STATE_SUCCEEDED, jobs.JOB_STATE_FAILED,
                                                               jobs.JOB_STATE_CANCELLED)}
    assert len(finished) == len(before) >= 1

    # Both workers busy (a few seconds each), two more jobs queued behind them.
    running = [fleet.submit(tiny_job(train=400, epochs=1), f"busy-{i}") for i in range(2)]
    for job_id in running:
        fleet.wait_state(job_id, "RUNNING", timeout=60)
    queued = [fleet.submit(tiny_job(epochs=1), f"queued-{i}") for i in range(2)]
    assert [fleet.job(j).state for j in queued] == [jobs.JOB_STATE_QUEUED] * 2

    fleet.coordinator.kill()
    time.sleep(0.5)
    fleet.coordinator.start()

    after = {j.id: j for j in fleet.coordinator.jobs.ListJobs(jobs.ListJobsRequest(page_size=500)).jobs}
    assert set(after) == set(before) | set(running) | set(queued)
    for job_id, job in finished.items():
        again = after[job_id]
        assert (again.state, again.message, list(again.epochs)) == (job.state, job.message, list(job.epochs))
        assert again.final_metrics == job.final_metrics

    # The agents reconnect on their own; the interrupted attempts and the queued jobs all finish.
    for job_id in running + queued:
        job = fleet.wait_state(job_id, "SUCCEEDED", timeout=90)
        assert len(job.epochs) == 1 and job.final_metrics.evaluated, job
    wait_for(lambda: fleet.idle_workers() == {"w1", "w2"}, 10, "both workers registered and idle")
    assert all(agent.poll() is None for agent in fleet.agents.values())
    with sqlite3.connect(fleet.coordinator.db) as db:
        stored = dict(db.execute("SELECT id, state FROM jobs").fetchall())
        epochs = db.execute("SELECT COUNT(*) FROM epoch_metrics WHERE job_id IN (?, ?, ?, ?)",
                            (*running, *queued)).fetchone()[0]
    assert all(stored[j] == STATE["SUCCEEDED"] for j in running + queued) and epochs >= 4
