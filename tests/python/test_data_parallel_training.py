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


def test_one_process_trains_two_job_ranks_like_two_processes(tmp_path, worker_binary, tiny_model_dir, data):
    # Elastic jobs (issue 23): a spec with world_size 2 on one process trains both ranks' slices,
    # each with its own dropout stream (seed, rank, step), so it gets the two processes' model.
    # Dropout on: the masks must match too, not only the batches.
    spec = write_job(tmp_path, tiny_model_dir, data, 8, overrides="{}")
    elastic = tmp_path / "elastic.yaml"
    elastic.write_text(spec.read_text() + "world_size: 2\n")
    two_epochs, two_steps = train_group(worker_binary, spec, tmp_path / "two", 2)
    one_epochs, one_steps = train_group(worker_binary, elastic, tmp_path / "one", 1)
    assert len(one_steps[0]) == len(two_steps[0]) == 7
    for alone, rank0 in zip(one_steps[0], two_steps[0]):
        assert alone["examples"] == rank0["examples"] == 16 or alone is one_steps[0][-1]
        assert abs(alone["loss"] - rank0["loss"]) <= 1e-6, (alone, rank0)
    one = load_file(tmp_path / "one" / "model.safetensors")
    two = load_file(tmp_path / "two" / "model.safetensors")
    # Only the order of the fp32 gradient sums differs (one buffer vs the all-reduce).
    worst = max(float(abs(one[name] - two[name]).max()) for name in one)
    assert worst <= 1e-5, worst
    # Not vacuous: a single process with world_size 1 and batch 16 (one dropout stream) differs.
    single, _ = train_group(worker_binary, write_job(tmp_path, tiny_model_dir, data, 16, overrides="{}"),
                            tmp_path / "single", 1)
    other = load_file(tmp_path / "single" / "model.safetensors")
    assert max(float(abs(other[name] - two[name]).max()) for name in other) > 1e-4
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


def shard_rows(rows, world_size):
    """The contiguous shards the evaluator gives each rank (the last ranks get one row more)."""
    base, extra = divmod(len(rows), world_size)
    shards, start = [], 0
    for rank in range(world_size):
        size = base + (1 if rank >= world_size - extra else 0)
        shards.append(rows[start:start + size])
        start += size
    return shards


@pytest.mark.parametrize("kind", ["cola", "regression"])
def test_matthews_pearson_and_spearman_are_exact_on_two_ranks(tmp_path, worker_binary, tiny_model_dir, shared_data,
                                                              kind):
    """The same model evaluated by one rank and by two: Matthews correlation from the all-reduced
    confusion matrix, Pearson and Spearman from predictions gathered across ranks (a mean of the
    shards' correlations would not be the correlation). The model is trained first, then run for
    one epoch at a learning rate too small to change an fp32 weight, so both runs evaluate it."""
    import csv as csv_module

    import torch
    from safetensors.torch import load_file as load_torch, save_file
    from scipy.stats import pearsonr
    from transformers import BertForSequenceClassification, BertTokenizerFast
    with open(shared_data / "mrpc" / "train.tsv", newline="") as f:
        rows = list(csv_module.DictReader(f, delimiter="\t", quoting=csv_module.QUOTE_NONE))[:48]
    headless = tmp_path / "headless"
    import shutil
    shutil.copytree(tiny_model_dir, headless)
    weights = load_torch(str(headless / "model.safetensors"))
    save_file({k: v for k, v in weights.items() if not k.startswith("classifier.")}, str(headless / "model.safetensors"),
              metadata={"format": "pt"})
    if kind == "cola":
        folder = tmp_path / "glue" / "CoLA"
        folder.mkdir(parents=True)
        for name in ("train.tsv", "dev.tsv"):
            with open(folder / name, "w") as f:
                for r in rows:
                    label = int("," in r["sentence1"])
                    f.write(f"gj04\t{label}\t{'' if label else '*'}\t{r['sentence1']}\n")
        data_keys, metrics = f"task: cola\ndata: {tmp_path / 'glue'}\n", ["eval_matthews_correlation"]
    else:
        with open(tmp_path / "scores.csv", "w", newline="") as f:
            writer = csv_module.writer(f)
            writer.writerow(["sentence1", "sentence2", "label"])
            writer.writerows([[r["sentence1"], r["sentence2"], 0.5 + 3 * int("," in r["sentence1"]) + (i % 5) * 0.3]
                              for i, r in enumerate(rows)])
        data_keys = f"train_file: {tmp_path / 'scores.csv'}\nvalidation_file: {tmp_path / 'scores.csv'}\n"
        metrics = ["eval_pearson", "eval_spearmanr", "eval_mse"]
    base = (data_keys + "max_seq_length: 64\nper_device_eval_batch_size: 16\neval_strategy: epoch\n"
            "save_strategy: 'no'\nthreads: 1\nseed: 3\n")
    trained = tmp_path / "trained"
    (tmp_path / "train.yaml").write_text(base + f"model: {headless}\nper_device_train_batch_size: 8\n"
                                         "num_train_epochs: 8\nlearning_rate: 5.0e-3\n")
    train_group(worker_binary, tmp_path / "train.yaml", trained, 1)
    runs = {}
    for world_size, batch in ((1, 16), (2, 8)):
        job = tmp_path / f"eval-{world_size}.yaml"
        job.write_text(base + f"model: {trained}\nper_device_train_batch_size: {batch}\nnum_train_epochs: 1\n"
                       f"learning_rate: 1.0e-30\nmodel_config_overrides: {NO_DROPOUT}\n")
        runs[world_size], _ = train_group(worker_binary, job, tmp_path / f"run-{world_size}", world_size)
    one, two = runs[1][0], runs[2][0]
    for metric in metrics:
        if kind == "cola":
            assert two[metric] == one[metric], metric  # integer counts, all-reduced
        else:
            assert two[metric] == pytest.approx(one[metric], abs=1e-6), metric  # fp32 logits, batched differently
    if kind == "regression":
        # What a shard-wise mean would report instead: far from both.
        tokenizer = BertTokenizerFast.from_pretrained(str(trained))
        model = BertForSequenceClassification.from_pretrained(str(trained), attn_implementation="eager").eval()
        encoded = tokenizer([r["sentence1"] for r in rows], [r["sentence2"] for r in rows], truncation=True,
                            max_length=64, padding=True, return_tensors="pt")
        with torch.no_grad():
            predicted = model(**encoded).logits[:, 0].double().numpy()
        targets = [0.5 + 3 * int("," in r["sentence1"]) + (i % 5) * 0.3 for i, r in enumerate(rows)]
        assert one["eval_pearson"] == pytest.approx(pearsonr(predicted, targets)[0], abs=1e-5)
        shards = shard_rows(list(range(len(rows))), 2)
        shard_mean = sum(pearsonr(predicted[s], [targets[i] for i in s])[0] for s in shards) / 2
        assert abs(shard_mean - two["eval_pearson"]) > 1e-3, (shard_mean, two["eval_pearson"])
    else:
        assert one["eval_matthews_correlation"] > 0.3, "the model learned nothing: a weak comparison"
