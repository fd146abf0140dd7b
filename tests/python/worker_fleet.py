"""Real processes for the end-to-end tests: a bertfleet-coordinator (coordinator_harness), real
`bertfleet-worker --coordinator` agents that can be started, killed (-9), stopped (SIGTERM) and
restarted by name, and the `bertfleet` CLI. Jobs train a tiny BERT on real MRPC rows copied into
the coordinator's data root. Used by the data-parallel and worker-failure tests and by
tests/chaos."""
import json
import pathlib
import shutil
import signal
import sqlite3
import subprocess
import time

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


def tiny_job(model="tiny", train=64, epochs=2, eval="epoch", save="epoch", **extra):
    """A job spec for the tiny model; `extra` adds keys (world_size=2, save_steps=4, ...)."""
    text = TINY_JOB.format(model=model, train=train, epochs=epochs, eval=eval, save=save)
    return text + "".join(f"{key}: {value}\n" for key, value in extra.items())


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


class AgentFleet:
    """Coordinator + named worker agents + the CLI, in `workdir`."""

    AGENT_OPTIONS = {"device": "cpu", "threads": 1, "reconnect-max-ms": 1000, "progress-steps": 5,
                     # Data-parallel: rank 0's store on loopback; short waits so failures show fast.
                     "advertise-host": "127.0.0.1", "rendezvous-timeout-ms": 30000,
                     "collective-timeout-seconds": 20}

    def __init__(self, coordinator_binary, worker_binary, cli_binary, pb, workdir, tiny_model_dir, shared_data,
                 workers=("w1", "w2"), lease_ms=3000, coordinator_config="", **agent_options):
        """`coordinator_config`: more lines for the coordinator's YAML config."""
        self.worker_binary, self.cli_binary, self.pb = worker_binary, cli_binary, pb
        self.workdir = pathlib.Path(workdir)
        self.agent_options = {**self.AGENT_OPTIONS, **agent_options}
        self.coordinator = Coordinator(coordinator_binary, workdir, pb, lease_ms=lease_ms, heartbeat_ms=300,
                                       extra_config=coordinator_config)
        data = self.coordinator.data_root
        # Copies, not symlinks: a link out of the data root is refused like "..".
        (data / "mrpc").mkdir()
        for split in ("train", "validation", "test"):
            shutil.copy(shared_data / "mrpc" / f"{split}.tsv", data / "mrpc")
        shutil.copytree(tiny_model_dir, data / "tiny")
        self.coordinator.start()
        # Restarts must come back on the same address: the agents know only that one.
        config = self.coordinator.config
        config.write_text(config.read_text().replace("listen: 127.0.0.1:0", f"listen: {self.coordinator.address}"))
        self.agents = {}
        for name in workers:
            self.start_agent(name)
        wait_for(lambda: self.idle_workers() == set(workers), 30, f"agents {workers} to register")

    # --- agents ---
    def start_agent(self, name, **overrides):
        """Starts agent `name`; `overrides` replace AGENT_OPTIONS (rendezvous_timeout_ms=2000, ...)."""
        options = {**self.agent_options, **{key.replace("_", "-"): value for key, value in overrides.items()}}
        flags = [item for key, value in options.items() for item in (f"--{key}", str(value))]
        log = open(self.workdir / f"agent-{name}.log", "ab")
        self.agents[name] = subprocess.Popen(
            [str(self.worker_binary), "--coordinator", self.coordinator.address, "--worker-id", name, *flags],
            stdout=log, stderr=log, env=self.coordinator.client_env(self.coordinator.worker_token))
        return self.agents[name]

    def signal_agent(self, name, signal_number=signal.SIGKILL, wait=10):
        agent = self.agents[name]
        agent.send_signal(signal_number)
        agent.wait(timeout=wait)

    def training_processes(self):
        """{agent name: [run-assignment child pids]}"""
        return {name: children_of(agent.pid) for name, agent in self.agents.items() if agent.poll() is None}

    # --- coordinator and CLI ---
    def restart_coordinator(self, pause=0.5):
        self.coordinator.kill()
        time.sleep(pause)
        self.coordinator.start()

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

    def epoch_rows(self, job_id):
        """(epoch, global_step) of every stored epoch result of the job, as SQLite has them."""
        with sqlite3.connect(self.coordinator.db) as db:
            return db.execute("SELECT epoch, global_step FROM epoch_metrics WHERE job_id = ? ORDER BY epoch, attempt",
                              (job_id,)).fetchall()

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
