"""Hugging Face `Trainer` on GLUE MRPC with the settings of a bertfleet job spec: the peer that
bench/compare_hf.py measures bertfleet against. Prints one JSON line per epoch."""
import argparse
import csv
import dataclasses
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import yaml
from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                          TrainerCallback, TrainingArguments)


def read_tsv(path, limit):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    rows = rows[:limit] if limit and limit > 0 else rows
    return rows


class EpochTimer(TrainerCallback):
    """Training time per epoch, evaluation excluded (Trainer evaluates after on_epoch_end). On a GPU
    the queued kernels are waited for, so the time is the work done, not the work launched."""

    def __init__(self, cuda=False):
        self.seconds = []
        self.cuda = cuda

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.sync()
        self.start = time.perf_counter()

    def on_epoch_end(self, args, state, control, **kwargs):
        self.sync()
        self.seconds.append(time.perf_counter() - self.start)


class ReseedDropout(TrainerCallback):
    """Reseeds torch's global generator as training starts. Trainer's epoch order (its sampler has
    its own generator) and the fresh head (drawn at load time) stay the same; the dropout masks,
    drawn from the global generator during training, change: a measure of dropout's own noise."""

    def __init__(self, seed):
        self.seed = seed

    def on_train_begin(self, args, state, control, **kwargs):
        torch.manual_seed(self.seed)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--job", required=True)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--dropout-seed", type=int, default=None,
                        help="reseed torch's generator when training starts (other dropout masks only)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default=None,
                        help="where to train (default: the job spec's `device`, else cpu)")
    args = parser.parse_args()
    spec = yaml.safe_load(open(args.job))
    for assignment in args.set:
        key, value = assignment.split("=", 1)
        spec[key] = yaml.safe_load(value)
    device = args.device or spec.get("device", "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("hf_trainer_run.py: device cuda requested but torch.cuda.is_available() is False")
    # threads: 0 is every usable core, as in bertfleet (LibTorch's own default can count fewer).
    torch.set_num_threads(int(spec.get("threads", 0)) or len(os.sched_getaffinity(0)))

    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    max_length = int(spec.get("max_seq_length", 128))

    def encode(rows):
        encoded = tokenizer([r["sentence1"] for r in rows], [r["sentence2"] for r in rows], truncation=True,
                            max_length=max_length)
        return [{"input_ids": encoded["input_ids"][i], "token_type_ids": encoded["token_type_ids"][i],
                 "attention_mask": encoded["attention_mask"][i], "labels": int(r["label"])} for i, r in enumerate(rows)]

    train = encode(read_tsv(f"{args.data_dir}/train.tsv", spec.get("max_train_samples", -1)))
    validation = encode(read_tsv(f"{args.data_dir}/validation.tsv", spec.get("max_eval_samples", -1)))
    seed = int(spec.get("seed", 42))
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(args.model_dir, num_labels=2,
                                                               **spec.get("model_config_overrides", {}))

    def metrics(prediction):
        predicted = np.argmax(prediction.predictions, axis=1)
        labels = prediction.label_ids
        tp = int(((predicted == 1) & (labels == 1)).sum())
        fp = int(((predicted == 1) & (labels == 0)).sum())
        fn = int(((predicted == 0) & (labels == 1)).sum())
        return {"accuracy": float((predicted == labels).mean()), "f1": 2 * tp / max(1, 2 * tp + fp + fn)}

    keys = ["learning_rate", "weight_decay", "num_train_epochs", "per_device_train_batch_size",
            "per_device_eval_batch_size", "warmup_ratio", "warmup_steps", "lr_scheduler_type", "seed",
            "bf16", "group_by_length", "max_grad_norm", "gradient_accumulation_steps", "max_steps"]
    # Spec keys this transformers' TrainingArguments no longer has (v5 dropped some) are reported
    # and left out rather than failing the run.
    known = {field.name for field in dataclasses.fields(TrainingArguments)}
    if "warmup_ratio" in spec and "warmup_ratio" not in known and not spec.get("warmup_steps"):
        # transformers 5 folded warmup_ratio into warmup_steps: a value below 1 is a ratio there.
        spec["warmup_steps"] = float(spec.pop("warmup_ratio"))
    dropped = [k for k in keys if k in spec and k not in known]
    if dropped:
        print(f"hf_trainer_run.py: TrainingArguments has no {dropped}: left out", file=sys.stderr)
    training_args = TrainingArguments(output_dir=args.output, eval_strategy="epoch", save_strategy="no",
                                      logging_strategy="epoch", report_to=[], use_cpu=device != "cuda",
                                      dataloader_num_workers=0, disable_tqdm=True,
                                      **{k: spec[k] for k in keys if k in spec and k in known})
    timer = EpochTimer(cuda=device == "cuda")
    trainer = Trainer(model=model, args=training_args, train_dataset=train, eval_dataset=validation,
                      data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=metrics,
                      callbacks=[timer] + ([ReseedDropout(args.dropout_seed)] if args.dropout_seed is not None else []))
    trainer.train()
    evals = [h for h in trainer.state.log_history if "eval_accuracy" in h]
    losses = [h for h in trainer.state.log_history if "loss" in h and "eval_loss" not in h]
    for index, (ev, seconds) in enumerate(zip(evals, timer.seconds)):
        print(json.dumps({"epoch": index + 1, "train_loss": losses[index]["loss"] if index < len(losses) else None,
                          "eval_loss": ev["eval_loss"], "eval_accuracy": ev["eval_accuracy"], "eval_f1": ev["eval_f1"],
                          "train_samples_per_second": len(train) / seconds, "device": device,
                          "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
