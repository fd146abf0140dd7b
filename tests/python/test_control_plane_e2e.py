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

from coordinator_harness import Coordinator

TINY_JOB = """
model: {model}
data: mrpc
max_seq_length: 64
max_train_samples: {train}
max_eval_samples: 32
per_device_train_batch_size: 8
per_device_eval_batch_size: 16
num_train_epochs: {epochs}
learning_rate: 1.0e-3
eval_strategy: {eval}
save_strategy: {save}
threads: 1
seed: 3
"""


def tiny_job(model="tiny", train=64, epochs=2, eval="epoch", save="epoch"):
    return TINY_JOB.format(model=model, train=train, epochs=epochs, eval=eval, save=save)


# Long enough to cancel or crash while it runs (all 3668 rows, many epochs, no evaluation).
LONG_JOB = tiny_job(train=-1, epochs=50, eval="no", save="no")

STATE = {"QUEUED": 1, "SCHEDULED": 2, "RUNNING": 3, "SUCCEEDED": 4, "FAILED": 5, "CANCELLED": 6}


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.05)


def children_of(pid):
    """PIDs of the live (not zombie) processes whose parent is `pid`."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def alive(pid):
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] != "Z"


class Fleet:
    """Coordinator (from coordinator_harness) + real worker agents + the CLI."""

    def __init__(self, coordinator_binary, worker_binary, cli_binary, pb, workdir, tiny_model_dir, shared_data):
        self.worker_binary, self.cli_binary, self.pb = worker_binary, cli_binary, pb
        self.workdir = workdir
        self.coordinator = Coordinator(coordinator_binary, workdir, pb, lease_ms=3000, heartbeat_ms=300)
        data = self.coordinator.data_root
        # Copies, not symlinks: a link out of the data root is refused like "..".
        (data / "mrpc").mkdir()
        for split in ("train", "validation", "test"):
            shutil.copy(shared_data / "mrpc" / f"{split}.tsv", data / "mrpc")
        shutil.copytree(tiny_model_dir, data / "tiny")
        corrupt = data / "corrupt"
        shutil.copytree(tiny_model_dir, corrupt)
        size = (corrupt / "model.safetensors").stat().st_size
        with open(corrupt / "model.safetensors", "r+b") as f:  # header intact, tensors cut off
            f.truncate(size // 2)
        self.coordinator.start()
        # Restarts must come back on the same address: the agents know only that one.
        config = self.coordinator.config
        config.write_text(config.read_text().replace("listen: 127.0.0.1:0", f"listen: {self.coordinator.address}"))
        self.agents = {}
        for name in ("w1", "w2"):
            log = open(workdir / f"agent-{name}.log", "ab")
            self.agents[name] = subprocess.Popen(
                [str(worker_binary), "--coordinator", self.coordinator.address, "--device", "cpu", "--threads", "1",
                 "--worker-id", name, "--reconnect-max-ms", "1000", "--progress-steps", "5"],
                stdout=log, stderr=log, env=self.coordinator.client_env(self.coordinator.worker_token))
        wait_for(lambda: self.idle_workers() == {"w1", "w2"}, 30, "both agents to register")

    def cli(self, *args, timeout=120):
        return subprocess.run([str(self.cli_binary), "--coordinator", self.coordinator.address, *args],
                              capture_output=True, text=True, timeout=timeout, env=self.coordinator.client_env())

    def submit(self, spec_text, name):
        path = self.workdir / f"{name}.yaml"
        path.write_text(spec_text)
        result = self.cli("--json", "submit", str(path))
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)["id"]

    def job(self, job_id):
        return self.coordinator.get(job_id)

    def wait_state(self, job_id, state, timeout=60):
        return self.coordinator.wait_state(job_id, self.pb.jobs.JobState.Value("JOB_STATE_" + state), timeout)

    def workers(self):
        return self.coordinator.jobs.ListWorkers(self.pb.jobs.ListWorkersRequest(), timeout=10).workers

    def idle_workers(self):
        return {w.id for w in self.workers() if w.state == self.pb.jobs.Worker.STATE_IDLE}

    def training_processes(self):
        """{agent name: [run-assignment child pids]}"""
        return {name: children_of(agent.pid) for name, agent in self.agents.items()}

    def logs(self):
        text = f"--- coordinator ---\n{self.coordinator.log.read_text(errors='replace')[-4000:]}\n"
        for name in self.agents:
            text += f"--- {name} ---\n{(self.workdir / f'agent-{name}.log').read_text(errors='replace')[-4000:]}\n"
        return text

    def stop(self):
        for agent in self.agents.values():
            if agent.poll() is None:
                agent.terminate()
        for agent in self.agents.values():
            try:
                agent.wait(timeout=10)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait()
        self.coordinator.stop()


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
    result = fleet.cli("submit", str(write(fleet, "corrupt.yaml", tiny_job(model="corrupt"))), "--watch")
    assert result.returncode == 1 and "FAILED" in result.stdout, result.stdout + result.stderr
    job_id = result.stdout.split()[1]
    job = fleet.job(job_id)
    assert job.state == fleet.pb.jobs.JOB_STATE_FAILED
    assert "failed: " in job.message and "model.safetensors" in job.message, job.message

    # A segfault of the training process: the job fails naming the signal; the agent lives on.
    crashing = fleet.submit(LONG_JOB, "segv")
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


def test_data_parallel_assignments_are_refused_clearly(fleet):
    job_id = fleet.submit(tiny_job(epochs=1) + "world_size: 2\n", "two-ranks")
    job = fleet.wait_state(job_id, "FAILED", timeout=30)
    assert set(job.worker_ids) == {"w1", "w2"}
    assert "world_size > 1 needs the data-parallel communicator (issue 5)" in job.message, job.message
    wait_for(lambda: fleet.idle_workers() == {"w1", "w2"}, 5, "both workers idle")


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
