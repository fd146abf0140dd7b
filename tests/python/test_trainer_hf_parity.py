"""bertfleet's trainer takes the same optimizer steps as Hugging Face `Trainer`, dropout included.

Both start from a headless checkpoint (a bare BertModel) with the same seed, so each draws a fresh
classifier head, and each shuffles the training set and draws dropout masks its own way:
bertfleet's seed semantics are Hugging Face's (the head from a generator seeded with `seed`, as
after run_glue's set_seed; epoch k in torch.randperm order from seed + k, as Trainer's sampler;
dropout masks drawn as torch's CPU dropout draws them from the generator Trainer seeds, with the
draws of each epoch's and each evaluation's DataLoader in between), so in fp32 the two see
identical weights, batches and masks. Everything else that shapes a step then has to agree for the
weights to match: loss normalisation, AdamW's parameter groups and weight decay, the linear
schedule with warmup, gradient clipping and the epoch boundary.

Also runnable by hand on a real model to study a training trajectory, e.g.
    BERTFLEET_PARITY_MODEL=<model dir> .venv/bin/python -m pytest \\
        tests/python/test_trainer_hf_parity.py -s
"""
import csv
import os
import pathlib
import re
import subprocess

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

TRAIN_ROWS = 80  # 5 steps per epoch at batch 16
EPOCHS = 3

SPEC = """
model: {model}
data: {data}
max_seq_length: 128
bf16: false
learning_rate: {learning_rate}
weight_decay: 0.1
warmup_ratio: 0.1
max_grad_norm: 1.0
num_train_epochs: {epochs}
per_device_train_batch_size: 16
eval_strategy: {eval_strategy}
save_strategy: "no"
logging_steps: 1
threads: 2
seed: 11
model_config_overrides:
  hidden_dropout_prob: {dropout}
  attention_probs_dropout_prob: {dropout}
"""


def write_subset(source: pathlib.Path, target: pathlib.Path, rows: int) -> pathlib.Path:
    target.mkdir(parents=True, exist_ok=True)
    for split, count in (("train", rows), ("validation", 16)):
        lines = (source / f"{split}.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
        (target / f"{split}.tsv").write_text("".join(lines[: count + 1]), encoding="utf-8")
    return target


def bertfleet_run(worker_binary, job, output):
    result = subprocess.run([str(worker_binary), "train", "--job", str(job), "--output", str(output)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    losses = [float(m.group(1)) for m in re.finditer(r"step \d+/\d+ loss ([0-9.]+)", result.stderr)]
    return losses, load_file(str(output / "model.safetensors"))


def headless_copy(model_dir: pathlib.Path, target: pathlib.Path) -> pathlib.Path:
    """The model's encoder and pooler without its classifier, as `transformers` saves a BertModel."""
    from transformers import AutoModel

    from conftest import copy_tokenizer_files

    AutoModel.from_pretrained(model_dir).save_pretrained(target, safe_serialization=True)
    copy_tokenizer_files(model_dir, target)
    return target


def hf_run(model_dir, data, epochs, learning_rate, output, dropout=0.0, eval_strategy="no"):
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                              TrainerCallback, TrainingArguments, set_seed)

    class StepLosses(TrainerCallback):
        def __init__(self):
            self.losses = []

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                self.losses.append(logs["loss"])

    tokenizer = AutoTokenizer.from_pretrained(model_dir)

    def encode(split):
        with open(data / f"{split}.tsv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
        encoded = tokenizer([r["sentence1"] for r in rows], [r["sentence2"] for r in rows], truncation=True,
                            max_length=128)
        return [{"input_ids": encoded["input_ids"][i], "token_type_ids": encoded["token_type_ids"][i],
                 "attention_mask": encoded["attention_mask"][i], "labels": int(r["label"])}
                for i, r in enumerate(rows)]

    set_seed(11)  # before loading, as run_glue does: the fresh head's draws come from this seed
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2, hidden_dropout_prob=dropout,
                                                               attention_probs_dropout_prob=dropout)
    args = TrainingArguments(output_dir=str(output), learning_rate=learning_rate, weight_decay=0.1,
                             warmup_ratio=0.1, max_grad_norm=1.0, num_train_epochs=epochs,
                             per_device_train_batch_size=16, eval_strategy=eval_strategy, save_strategy="no",
                             logging_steps=1, seed=11, use_cpu=True, report_to=[], disable_tqdm=True,
                             dataloader_num_workers=0)
    losses = StepLosses()
    trainer = Trainer(model=model, args=args, train_dataset=encode("train"),
                      eval_dataset=encode("validation") if eval_strategy != "no" else None,
                      data_collator=DataCollatorWithPadding(tokenizer), callbacks=[losses])
    trainer.train()
    return losses.losses, {k: v.detach().numpy() for k, v in trainer.model.state_dict().items()}


# Dropout off isolates the optimizer; dropout on (with an evaluation after each epoch, whose data
# loader draws from the same generator) shows the masks are Hugging Face's too.
@pytest.mark.parametrize("dropout, eval_strategy", [(0.0, "no"), (0.1, "epoch")], ids=["no-dropout", "dropout"])
def test_same_steps_as_hf_trainer(tmp_path, worker_binary, shared_data, tiny_model_dir, dropout, eval_strategy):
    if dropout and torch.backends.mkl.is_available():
        pytest.skip("this torch draws its CPU dropout from MKL's generator, not from the MT19937 stream")
    source = pathlib.Path(os.environ.get("BERTFLEET_PARITY_MODEL", tiny_model_dir))
    learning_rate = float(os.environ.get("BERTFLEET_PARITY_LR", "1e-3"))
    rows = int(os.environ.get("BERTFLEET_PARITY_ROWS", TRAIN_ROWS))
    epochs = int(os.environ.get("BERTFLEET_PARITY_EPOCHS", EPOCHS))
    model_dir = headless_copy(source, tmp_path / "headless")
    data = write_subset(shared_data / "mrpc", tmp_path / "data", rows)
    job = tmp_path / "job.yaml"
    job.write_text(SPEC.format(model=model_dir, data=data, learning_rate=learning_rate, epochs=epochs, dropout=dropout,
                               eval_strategy=eval_strategy))

    ours_losses, ours = bertfleet_run(worker_binary, job, tmp_path / "bertfleet")
    hf_losses, theirs = hf_run(model_dir, data, epochs, learning_rate, tmp_path / "hf", dropout, eval_strategy)

    steps = epochs * -(-rows // 16)
    assert len(ours_losses) == len(hf_losses) == steps
    print("step losses bertfleet", ours_losses)
    print("step losses hf       ", hf_losses)
    # The log prints 4 decimals; Trainer's log rounds to 4 as well.
    np.testing.assert_allclose(ours_losses, hf_losses, atol=2e-4)
    assert ours_losses[-1] < ours_losses[0], "training did not reduce the loss: the comparison would be vacuous"

    compared = 0
    for name, value in theirs.items():
        key = name if name in ours else name.removeprefix("bert.")
        if name.endswith("position_ids") or key not in ours:
            continue
        np.testing.assert_allclose(ours[key], value, rtol=1e-4, atol=2e-5, err_msg=name)
        compared += 1
    assert compared >= len(ours) - 1, f"compared only {compared} of {len(ours)} tensors"


def test_epoch_order_is_trainers(tmp_path, worker_binary, shared_data, tiny_model_dir):
    """`bertfleet-worker data --epoch-order SEED:EPOCH` lists MRPC's training rows in the order
    Trainer(seed=SEED) feeds them in that epoch, read from Trainer's own data loader."""
    from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments

    data = shared_data / "mrpc"
    rows = sum(1 for _ in (data / "train.tsv").open(encoding="utf-8")) - 1
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir)
    dataset = [{"input_ids": [101, 102], "labels": 0}] * rows
    for seed in (42, 7):
        args = TrainingArguments(output_dir=str(tmp_path / f"hf-{seed}"), seed=seed, use_cpu=True, report_to=[],
                                 per_device_train_batch_size=16)
        loader = Trainer(model=model, args=args, train_dataset=dataset).get_train_dataloader()
        sampler = loader.batch_sampler.sampler
        for epoch in (0, 1):
            sampler.set_epoch(epoch)
            expected = [int(i) for i in sampler]
            out = subprocess.run([str(worker_binary), "data", "--source", str(data), "--split", "train",
                                  "--epoch-order", f"{seed}:{epoch}"], capture_output=True, text=True, check=True)
            ours = [int(line) for line in out.stdout.split()]
            assert len(ours) == rows
            assert ours == expected, f"seed {seed} epoch {epoch}: first rows {ours[:8]} vs Trainer's {expected[:8]}"
