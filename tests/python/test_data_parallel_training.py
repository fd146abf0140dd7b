"""Data-parallel training through `bertfleet-worker train --world-size N --rank R` (Gloo across
real processes) gives the model a single process would: the same per-step losses and final
weights (dropout 0, fp32), exactly the same distributed evaluation, and with dropout on an
accuracy within noise of one process."""
import json
import pathlib
import subprocess

import pytest
from safetensors.numpy import load_file

SPEC = """
model: {model}
data: {data}
max_seq_length: 64
max_train_samples: {train_samples}
max_eval_samples: {eval_samples}
per_device_train_batch_size: {batch}
per_device_eval_batch_size: 16
num_train_epochs: 1
learning_rate: 1.0e-3
weight_decay: 0.1
warmup_ratio: 0.1
eval_strategy: epoch
save_strategy: "no"
threads: 1
seed: 11
ddp_bucket_cap_mb: 1
model_config_overrides: {overrides}
"""
NO_DROPOUT = "{hidden_dropout_prob: 0.0, attention_probs_dropout_prob: 0.0, classifier_dropout: 0.0}"


def write_job(directory: pathlib.Path, model, data, batch, train_samples=100, eval_samples=61,
              overrides=NO_DROPOUT) -> pathlib.Path:
    path = directory / f"job-{batch}.yaml"
    path.write_text(SPEC.format(model=model, data=data, batch=batch, train_samples=train_samples,
                                eval_samples=eval_samples, overrides=overrides))
    return path


def train_group(worker_binary, job, output: pathlib.Path, world_size, timeout=240):
    """Runs ranks 0..N-1 of one training; returns (epoch JSON lines of rank 0, step logs per rank)."""
    output.mkdir(parents=True, exist_ok=True)
    rendezvous_file = output / "rendezvous"
    processes = []
    for rank in range(world_size):
        command = [str(worker_binary), "train", "--job", str(job), "--output", str(output), "--json", "--quiet",
                   "--step-log", str(output / f"steps-{rank}.jsonl")]
        if world_size > 1:
            command += ["--world-size", str(world_size), "--rank", str(rank), "--rendezvous-file",
                        str(rendezvous_file), "--collective-timeout-seconds", "60"]
        processes.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = [process.communicate(timeout=timeout) for process in processes]
    for rank, (process, (_, stderr)) in enumerate(zip(processes, results)):
        assert process.returncode == 0, f"rank {rank}: {stderr}"
    epochs = [json.loads(line) for line in results[0][0].splitlines() if line.startswith("{")]
    steps = [[json.loads(line) for line in (output / f"steps-{rank}.jsonl").read_text().splitlines()]
             for rank in range(world_size)]
    return epochs, steps


@pytest.fixture(scope="module")
def data(shared_data):
    return shared_data / "mrpc"


def test_two_ranks_of_eight_train_the_model_one_rank_of_sixteen_does(tmp_path, worker_binary, tiny_model_dir, data):
    # 100 examples / 16 = 6 full global batches and an uneven last one of 4 (rank 1 gets none).
    one_epochs, one_steps = train_group(worker_binary, write_job(tmp_path, tiny_model_dir, data, 16),
                                        tmp_path / "one", 1)
    two_epochs, two_steps = train_group(worker_binary, write_job(tmp_path, tiny_model_dir, data, 8),
                                        tmp_path / "two", 2)
    assert len(one_steps[0]) == len(two_steps[0]) == len(two_steps[1]) == 7
    for single, rank0, rank1 in zip(one_steps[0], two_steps[0], two_steps[1]):
        assert single["examples"] == rank0["examples"] == rank1["examples"]
        assert rank0["loss"] == rank1["loss"]  # every rank reports the global mean
        assert abs(single["loss"] - rank0["loss"]) <= 1e-5, (single, rank0)
        assert abs(single["grad_norm"] - rank0["grad_norm"]) <= 1e-4 * max(1.0, single["grad_norm"])
    assert one_steps[0][-1]["examples"] == 4

    one = load_file(tmp_path / "one" / "model.safetensors")
    two = load_file(tmp_path / "two" / "model.safetensors")
    assert one.keys() == two.keys()
    worst = max(float(abs(one[name] - two[name]).max()) for name in one)
    assert worst <= 1e-4, worst
    # Not vacuous: training moved the weights well beyond the tolerance.
    initial = load_file(tiny_model_dir / "model.safetensors")
    assert max(float(abs(one[n] - initial[n]).max()) for n in initial if n in one) > 1e-3
    assert one_epochs[0]["eval_accuracy"] == two_epochs[0]["eval_accuracy"]


def test_three_ranks_evaluate_exactly_like_one(tmp_path, worker_binary, tiny_model_dir, data):
    # 61 validation pairs: shards of 20, 20, 21. Dropout 0 so that training is the same too.
    one_epochs, _ = train_group(worker_binary, write_job(tmp_path, tiny_model_dir, data, 24, train_samples=48),
                                tmp_path / "one", 1)
    three_epochs, _ = train_group(worker_binary, write_job(tmp_path, tiny_model_dir, data, 8, train_samples=48),
                                  tmp_path / "three", 3)
    single, distributed = one_epochs[0], three_epochs[0]
    assert "eval_accuracy" in single and "eval_accuracy" in distributed
    assert distributed["eval_accuracy"] == single["eval_accuracy"]
    assert distributed["eval_f1"] == single["eval_f1"]
    assert distributed["eval_loss"] == pytest.approx(single["eval_loss"], abs=1e-6)
    final = json.loads((tmp_path / "three" / "trainer_state.json").read_text())["final_eval"]
    assert final["eval_samples"] == 61
