"""Hugging Face `Trainer` on your own CSV files, as run_glue.py reads them (sorted string labels,
float labels mean regression, sentence1/sentence2 or the named text columns): the peer that
bench/compare_hf_tasks.py measures bertfleet against. Prints one JSON line per epoch with the
metrics bertfleet reports for such data (accuracy, f1 or macro_f1; mse, pearson, spearmanr)."""
import argparse
import csv
import json
import os
import sys

import numpy as np
import torch
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score
from transformers import AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer, \
    TrainingArguments

sys.path.insert(0, os.path.dirname(__file__))
from hf_trainer_run import EpochTimer  # noqa: E402


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", required=True)
    parser.add_argument("--validation", required=True)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--text-columns", required=True, help="one or two, comma-separated")
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--eval-batch", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
    train_rows, validation_rows = read_csv(args.train), read_csv(args.validation)
    columns = args.text_columns.split(",")
    raw_labels = [r[args.label_column] for r in train_rows]
    regression = any("." in label for label in raw_labels)  # run_glue.py: float labels mean regression
    label_list = [] if regression else sorted(set(raw_labels))
    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)

    def encode(rows):
        texts = [[r[c] for r in rows] for c in columns]
        encoded = tokenizer(*texts, truncation=True, max_length=args.max_length)
        out = []
        for i, r in enumerate(rows):
            label = float(r[args.label_column]) if regression else label_list.index(r[args.label_column])
            out.append({k: encoded[k][i] for k in ("input_ids", "token_type_ids", "attention_mask")} | {"labels": label})
        return out

    train, validation = encode(train_rows), encode(validation_rows)
    torch.manual_seed(args.seed)
    num_labels = 1 if regression else len(label_list)
    model = AutoModelForSequenceClassification.from_pretrained(args.model_dir, num_labels=num_labels,
                                                               ignore_mismatched_sizes=True)

    def metrics(prediction):
        if regression:
            scores = prediction.predictions[:, 0]
            labels = prediction.label_ids
            return {"mse": float(((scores - labels) ** 2).mean()), "pearson": float(pearsonr(scores, labels)[0]),
                    "spearmanr": float(spearmanr(scores, labels)[0])}
        predicted = np.argmax(prediction.predictions, axis=1)
        labels = prediction.label_ids
        values = {"accuracy": float(accuracy_score(labels, predicted))}
        if num_labels == 2:
            values["f1"] = float(f1_score(labels, predicted))
        else:
            values["macro_f1"] = float(f1_score(labels, predicted, average="macro"))
        return values

    training_args = TrainingArguments(output_dir=args.output, eval_strategy="epoch", save_strategy="no",
                                      logging_strategy="epoch", report_to=[], use_cpu=True, dataloader_num_workers=0,
                                      disable_tqdm=True, num_train_epochs=args.epochs,
                                      per_device_train_batch_size=args.batch,
                                      per_device_eval_batch_size=args.eval_batch, learning_rate=args.learning_rate,
                                      seed=args.seed, weight_decay=0.1, warmup_ratio=0.1)
    timer = EpochTimer()
    trainer = Trainer(model=model, args=training_args, train_dataset=train, eval_dataset=validation,
                      data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=metrics, callbacks=[timer])
    trainer.train()
    evals = [h for h in trainer.state.log_history if "eval_loss" in h]
    for index, (ev, seconds) in enumerate(zip(evals, timer.seconds)):
        row = {"epoch": index + 1, "train_samples_per_second": len(train) / seconds}
        row.update({k: v for k, v in ev.items() if k.startswith("eval_") and not k.endswith(("runtime", "per_second"))})
        print(json.dumps(row))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
