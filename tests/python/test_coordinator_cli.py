"""The `bertfleet` CLI against a real coordinator: human and --json output, exit codes."""
import json
import os
import subprocess
import threading

from coordinator_harness import FakeWorker, minimal_spec


def run(cli_binary, coordinator, *args, env_address=False):
    env = coordinator.client_env()
    env.pop("BERTFLEET_COORDINATOR", None)
    if env_address:
        env["BERTFLEET_COORDINATOR"] = coordinator.address
        command = [str(cli_binary), *args]
    else:
        command = [str(cli_binary), "--coordinator", coordinator.address, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, env=env)


def test_submit_jobs_status_cancel(cli_binary, coordinator, tmp_path):
    spec = tmp_path / "job.yaml"
    spec.write_text(minimal_spec(priority=4))
    submitted = run(cli_binary, coordinator, "submit", str(spec), "--json")
    assert submitted.returncode == 0, submitted.stderr
    job = json.loads(submitted.stdout)
    assert job["state"] == "JOB_STATE_QUEUED" and job["priority"] == "4"

    plain = run(cli_binary, coordinator, "submit", str(spec), env_address=True)
    assert plain.returncode == 0 and plain.stdout.startswith("submitted job-") and "(QUEUED)" in plain.stdout

    table = run(cli_binary, coordinator, "jobs")
    lines = table.stdout.splitlines()
    assert table.returncode == 0 and lines[0].split()[:3] == ["ID", "STATE", "PRIORITY"]
    assert len(lines) == 3 and job["id"] in lines[2] and "QUEUED" in lines[2]
    listed = json.loads(run(cli_binary, coordinator, "jobs", "--json").stdout)
    assert len(listed["jobs"]) == 2

    status = run(cli_binary, coordinator, "status", job["id"])
    assert status.returncode == 0 and "state:" in status.stdout and "QUEUED" in status.stdout
    cancelled = run(cli_binary, coordinator, "cancel", job["id"])
    assert cancelled.returncode == 0 and f"{job['id']} CANCELLED" in cancelled.stdout
    again = run(cli_binary, coordinator, "cancel", job["id"])
    assert again.returncode == 1 and again.stderr.startswith("bertfleet: FAILED_PRECONDITION: ")
    assert len(again.stderr.strip().splitlines()) == 1

    watched = run(cli_binary, coordinator, "watch", job["id"])
    assert watched.returncode != 0 and "CANCELLED" in watched.stdout


def test_errors_are_one_line_with_the_grpc_status(cli_binary, coordinator, tmp_path):
    missing = run(cli_binary, coordinator, "status", "job-missing")
    assert missing.returncode == 1 and missing.stderr == "bertfleet: NOT_FOUND: no job job-missing\n"
    bad = tmp_path / "bad.yaml"
    bad.write_text(minimal_spec(learning_rate=-1))
    invalid = run(cli_binary, coordinator, "submit", str(bad))
    assert invalid.returncode == 1
    assert invalid.stderr.startswith("bertfleet: INVALID_ARGUMENT: <submitted spec>: learning_rate:")
    unreachable = subprocess.run([str(cli_binary), "--coordinator", "127.0.0.1:1", "jobs"],
                                 capture_output=True, text=True, timeout=30)
    assert unreachable.returncode == 1 and unreachable.stderr.startswith("bertfleet: UNAVAILABLE: ")
    usage = subprocess.run([str(cli_binary), "frobnicate"], capture_output=True, text=True, timeout=30)
    assert usage.returncode == 2 and "unknown command" in usage.stderr


def test_submit_watch_succeeds_and_prints_the_epoch_table(cli_binary, coordinator, bertfleet_pb, tmp_path):
    jobs, pb = bertfleet_pb.jobs, bertfleet_pb.workers
    worker = FakeWorker(coordinator, worker_id="cli-w")
    worker.registered()
    worker.heartbeats()

    def train():
        a = worker.next_of("assignment", timeout=10)
        worker.started(a, total_steps=20)
        for epoch in (1, 2):
            worker.send(epoch=pb.EpochReport(job_id=a.job_id, attempt=a.attempt, metrics=jobs.EpochMetrics(
                epoch=epoch, global_step=10 * epoch, train_loss=0.6 / epoch, eval_loss=0.5,
                eval_accuracy=0.75, eval_f1=0.8, evaluated=True)))
        worker.finished(a)
    trainer = threading.Thread(target=train)
    trainer.start()
    spec = tmp_path / "job.yaml"
    spec.write_text(minimal_spec())
    result = run(cli_binary, coordinator, "submit", str(spec), "--watch")
    trainer.join(10)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "RUNNING" in out and "SUCCEEDED" in out and "epoch 2" in out
    table = out[out.index("Epoch"):].splitlines()
    assert table[0].split()[:2] == ["Epoch", "Step"] and table[1].split()[:3] == ["1", "10", "0.600000"]
    assert table[2].split()[:2] == ["2", "20"]

    workers = run(cli_binary, coordinator, "workers")
    assert workers.returncode == 0 and "cli-w" in workers.stdout and "IDLE" in workers.stdout
    as_json = json.loads(run(cli_binary, coordinator, "workers", "--json").stdout)
    assert as_json["workers"][0]["id"] == "cli-w"
    worker.close()
