"""Worker and coordinator failures end to end (issue 7): real coordinator, three real worker
agents, tiny BERT jobs. A rank killed with SIGKILL ends its attempt on every rank and the job
restarts from its latest checkpoint on a fresh gang, reaching the same weights as an uninterrupted
run; SIGTERM (preemption) saves a checkpoint at the next step boundary and the job resumes from
it; a coordinator killed mid-job loses and repeats no epoch result."""
import re
import signal
import subprocess
import threading

import numpy as np
import pytest
from safetensors.numpy import load_file

from worker_fleet import AgentFleet, tiny_job, wait_for

WORKERS = ("w1", "w2", "w3")


@pytest.fixture(scope="module")
def fleet(coordinator_binary, worker_binary, cli_binary, bertfleet_pb, tmp_path_factory, tiny_model_dir,
          shared_data):
    instance = AgentFleet(coordinator_binary, worker_binary, cli_binary, bertfleet_pb,
                          tmp_path_factory.mktemp("failures"), tiny_model_dir, shared_data, workers=WORKERS)
    yield instance
    instance.stop()


def restore(fleet, name):
    fleet.start_agent(name)
    wait_for(lambda: fleet.idle_workers() == set(WORKERS), 60, "all three workers idle again")


def checkpoint_step(path):
    return int(re.search(r"checkpoint-(\d+)$", path).group(1))


def test_killed_rank_restarts_on_a_fresh_gang_and_matches_an_uninterrupted_run(fleet):
    # 1600 rows / (8 x 2 ranks) = 100 steps per epoch; a checkpoint every 15 steps (last 2 kept).
    spec = tiny_job(train=1600, epochs=2, save="steps", world_size=2, save_steps=15, save_total_limit=2)
    reference = fleet.wait_state(fleet.submit(spec, "uninterrupted"), "SUCCEEDED", timeout=180)

    job_id = fleet.submit(spec, "interrupted")
    wait_for(lambda: 100 < checkpoint_step(fleet.job(job_id).latest_checkpoint or "checkpoint-0") < 185, 120,
             "a checkpoint inside epoch 2")
    victim = fleet.job(job_id).worker_ids[0]  # rank 0: it serves the group's store and writes checkpoints
    fleet.signal_agent(victim, signal.SIGKILL)
    done = fleet.wait_state(job_id, "SUCCEEDED", timeout=180)

    assert done.restarts == 1 and len(done.attempts) == 2, fleet.logs()
    first, second = done.attempts
    assert first.outcome == "FAILED" and f"worker {victim} (rank 0) lost" in first.message
    assert victim not in second.worker_ids and second.outcome == "SUCCEEDED"
    assert 100 < checkpoint_step(second.resumed_from) < 200  # resumed inside epoch 2
    assert fleet.epoch_rows(job_id) == [(1, 100), (2, 200)]  # every epoch once
    # Same final weights and metrics as the uninterrupted run (fp32, dropout on: every rank's
    # dropout stream is a function of (seed, rank, step), so the resumed ranks draw the same masks).
    assert done.final_metrics.eval_accuracy == reference.final_metrics.eval_accuracy
    assert done.final_metrics.eval_loss == pytest.approx(reference.final_metrics.eval_loss, abs=1e-6)
    assert [m.eval_accuracy for m in done.epochs] == [m.eval_accuracy for m in reference.epochs]
    expected = load_file(f"{reference.output_dir}/model.safetensors")
    actual = load_file(f"{done.output_dir}/model.safetensors")
    assert expected.keys() == actual.keys()
    for name, tensor in expected.items():
        np.testing.assert_allclose(actual[name], tensor, rtol=0, atol=1e-6, err_msg=name)

    status = fleet.cli("status", job_id).stdout
    assert "restarts 1 of 3" in status and "Attempt" in status and "FAILED" in status, status
    restore(fleet, victim)


def test_sigterm_saves_a_checkpoint_at_the_next_step_and_the_job_resumes_from_it(fleet):
    jobs = fleet.pb.jobs
    # One rank, 200 steps, no scheduled checkpoints: the only one is the preemption's.
    job_id = fleet.submit(tiny_job(train=1600, epochs=1, save="no"), "preempted")
    events = []
    watcher = threading.Thread(target=lambda: events.extend(
        fleet.coordinator.jobs.WatchJob(jobs.WatchJobRequest(job_id=job_id), timeout=180)))
    watcher.start()
    wait_for(lambda: fleet.job(job_id).global_step >= 20, 120, "20 steps")
    worker = fleet.job(job_id).worker_ids[0]
    step_at_signal = fleet.job(job_id).global_step
    fleet.signal_agent(worker, signal.SIGTERM, wait=30)
    done = fleet.wait_state(job_id, "SUCCEEDED", timeout=180)
    watcher.join(30)

    assert len(done.attempts) == 2, [(a.outcome, a.message, a.resumed_from) for a in done.attempts]
    first, second = done.attempts
    assert first.outcome == "FAILED" and f"worker {worker} shut down" in first.message, first
    saved = checkpoint_step(second.resumed_from)
    assert step_at_signal <= saved < 200, (step_at_signal, saved)
    assert (fleet.coordinator.workdir / "checkpoints" / job_id / f"checkpoint-{saved}").is_dir()
    # The second attempt went on from there, not from step 0.
    kinds = [(e.WhichOneof("event"), e) for e in events]
    restarted = max(i for i, (kind, e) in enumerate(kinds) if kind == "state" and e.state == jobs.JOB_STATE_SCHEDULED)
    resumed = [e.progress.global_step for kind, e in kinds[restarted:] if kind == "progress"]
    assert resumed and resumed[0] > saved, resumed
    assert fleet.epoch_rows(job_id) == [(1, 200)]
    restore(fleet, worker)


def test_coordinator_sigkill_mid_job_loses_and_repeats_no_epoch(fleet):
    # 480 rows / 16 = 30 steps per epoch, 3 epochs, on two ranks.
    job_id = fleet.submit(tiny_job(train=480, epochs=3, world_size=2), "coordinator-killed")
    # `bertfleet watch` follows the job through the coordinator's SIGKILL and restart (issue 22).
    watch = subprocess.Popen([str(fleet.cli_binary), "--coordinator", fleet.coordinator.address, "watch", job_id],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=fleet.coordinator.client_env())
    wait_for(lambda: len(fleet.job(job_id).epochs) >= 1, 120, "epoch 1")
    fleet.restart_coordinator(pause=1.0)
    done = fleet.wait_state(job_id, "SUCCEEDED", timeout=180)
    assert [m.epoch for m in done.epochs] == [1, 2, 3], fleet.logs()
    assert fleet.epoch_rows(job_id) == [(1, 30), (2, 60), (3, 90)]
    out, err = watch.communicate(timeout=60)
    assert watch.returncode == 0, err
    assert err.count("reconnecting") == 1, err  # one notice for the one outage
    lines = [line for line in out.splitlines() if f"  {job_id}  " in line]
    epochs = [re.search(r"  epoch (\d+)  train_loss", line).group(1) for line in lines if "  train_loss " in line]
    assert epochs == ["1", "2", "3"], out  # none lost, none printed twice
    states = [line.split("  ")[2].split()[0] for line in lines if "  train_loss " not in line and "  step " not in line]
    assert states[0] == "QUEUED" and states[-1] == "SUCCEEDED", out
    stored = [line for line in lines if "  step " not in line]  # state and epoch lines: replayed on reconnect
    assert len(set(stored)) == len(stored), out
    wait_for(lambda: fleet.idle_workers() == set(WORKERS), 30, "all workers back")
