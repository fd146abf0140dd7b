"""Training through `bertfleet-worker train`: per-epoch JSON lines, Hugging Face checkpoint
layout, and a resume from a mid-epoch checkpoint that continues bit for bit (fp32, dropout on)."""
import json
import subprocess

import pytest
from safetensors.numpy import load_file

SPEC = """
model: {model}
data: {data}
max_seq_length: 64
max_train_samples: 96
max_eval_samples: 40
per_device_train_batch_size: 8
per_device_eval_batch_size: 16
num_train_epochs: 2
learning_rate: 1.0e-3
weight_decay: 0.1
warmup_ratio: 0.1
eval_strategy: epoch
save_strategy: steps
save_steps: 5
threads: 1
seed: 7
"""


def train(worker_binary, job, output, *extra):
    result = subprocess.run([str(worker_binary), "train", "--job", str(job), "--output", str(output), "--json",
                             "--quiet", *extra], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def job_file(tmp_path_factory, tiny_model_dir, shared_data):
    path = tmp_path_factory.mktemp("job") / "job.yaml"
    path.write_text(SPEC.format(model=tiny_model_dir, data=shared_data / "mrpc"))
    return path


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, worker_binary, job_file):
    output = tmp_path_factory.mktemp("run-a")
    return output, train(worker_binary, job_file, output)


def test_epoch_lines_and_checkpoint_layout(uninterrupted):
    output, epochs = uninterrupted
    assert [e["epoch"] for e in epochs] == [1, 2]
    for e in epochs:
        for key in ("train_loss", "eval_loss", "eval_accuracy", "eval_f1", "train_samples_per_second"):
            assert key in e, key
        assert 0.0 <= e["eval_accuracy"] <= 1.0 and e["train_loss"] > 0
    checkpoint = output / "checkpoint-5"  # 96 examples / 8 = 12 steps per epoch
    for name in ("config.json", "model.safetensors", "vocab.txt", "trainer_state.json", "optimizer.safetensors"):
        assert (checkpoint / name).exists(), name
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    assert state["global_step"] == 5 and state["bertfleet"]["batch_in_epoch"] == 5
    assert (output / "model.safetensors").exists() and (output / "config.json").exists()


def test_resume_mid_epoch_is_bit_identical(tmp_path, worker_binary, job_file, uninterrupted):
    output_a, epochs_a = uninterrupted
    output_b = tmp_path / "run-b"
    epochs_b = train(worker_binary, job_file, output_b, "--set", f"resume_from_checkpoint={output_a / 'checkpoint-5'}")
    assert [e["epoch"] for e in epochs_b] == [1, 2]
    for a, b in zip(epochs_a, epochs_b):
        for key in ("train_loss", "eval_loss", "eval_accuracy", "eval_f1"):
            assert a[key] == b[key], (key, a[key], b[key])
    weights_a = load_file(output_a / "model.safetensors")
    weights_b = load_file(output_b / "model.safetensors")
    assert weights_a.keys() == weights_b.keys()
    for name in weights_a:
        assert (weights_a[name] == weights_b[name]).all(), f"{name} differs after resume"
    # A resume from a different point must still match: the comparison is not vacuous.
    start = load_file(output_a / "checkpoint-5" / "model.safetensors")
    assert any((start[n] != weights_a[n]).any() for n in start)


def test_corrupt_newest_checkpoint_is_skipped_for_the_previous_one(tmp_path, worker_binary, job_file, uninterrupted):
    import shutil

    output_a, epochs_a = uninterrupted
    output_c = tmp_path / "run-c"
    shutil.copytree(output_a, output_c)
    newest = sorted(output_c.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))[-1]
    weights = newest / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: only the checksum can notice
    weights.write_bytes(bytes(data))
    result = subprocess.run([str(worker_binary), "train", "--job", str(job_file), "--output", str(output_c), "--json",
                             "--set", "resume_from_checkpoint=last"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"skipping checkpoint {newest}" in result.stderr and "sha256 mismatch" in result.stderr
    assert "resumed from" in result.stderr and newest.name not in result.stderr.split("resumed from")[1].split("\n")[0]
    weights_a = load_file(output_a / "model.safetensors")
    weights_c = load_file(output_c / "model.safetensors")
    for name in weights_a:
        assert (weights_a[name] == weights_c[name]).all(), f"{name} differs after resuming from the older checkpoint"
