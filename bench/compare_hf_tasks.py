"""bertfleet vs Hugging Face Trainer beyond MRPC: a regression job, a 3-class job and a
single-sentence job, each built from the real MRPC sentences as your own CSV files, trained for
one epoch on all-MiniLM-L6-v2 with the same settings on both sides, one after the other on the same
machine. Prints the metrics side by side and the training throughput ratio.

    .venv/bin/python bench/compare_hf_tasks.py --train-rows 3668 --threads 2 --seeds 42,43,44

The three jobs (what is real: every sentence; what is built: the targets):
- regression ("overlap"): the pair's word overlap (Jaccard, x5, a float like STS-B's scores);
- 3 classes ("relation"): equivalent / not_equivalent as MRPC labels them, and unrelated (the
  first sentence with the second sentence of another pair), for every third row;
- one sentence ("order"): a sentence as written (ordered) or with its words shuffled.
"""
import argparse
import csv
import json
import os
import pathlib
import random
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from compare_hf import minilm_dir, run  # noqa: E402

SETTINGS = {"learning_rate": 1.0e-4, "weight_decay": 0.1, "warmup_ratio": 0.1, "per_device_train_batch_size": 16,
            "per_device_eval_batch_size": 32, "max_seq_length": 128, "num_train_epochs": 1}


def mrpc(data_dir, split, limit=None):
    with open(pathlib.Path(data_dir) / f"{split}.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return rows[:limit] if limit else rows


def build(kind, rows):
    """(header, rows) of one job's CSV from MRPC rows."""
    if kind == "overlap":
        def score(r):
            a, b = set(r["sentence1"].lower().split()), set(r["sentence2"].lower().split())
            return f"{5 * len(a & b) / len(a | b):.3f}"
        return ["sentence1", "sentence2", "label"], [[r["sentence1"], r["sentence2"], score(r)] for r in rows]
    if kind == "relation":
        out = []
        for i, r in enumerate(rows):
            if i % 3 == 2:
                out.append([r["sentence1"], rows[(i + 7) % len(rows)]["sentence2"], "unrelated"])
            else:
                out.append([r["sentence1"], r["sentence2"], ["not_equivalent", "equivalent"][int(r["label"])]])
        return ["premise", "hypothesis", "relation"], out
    shuffle = random.Random(0)
    out = []
    for i, r in enumerate(rows):
        words = r["sentence1"].split()
        if i % 2:
            shuffle.shuffle(words)
        out.append([" ".join(words), "shuffled" if i % 2 else "ordered"])
    return ["sentence", "order"], out


JOBS = {"overlap": ("sentence1,sentence2", "label"), "relation": ("premise,hypothesis", "relation"),
        "order": ("sentence", "order")}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mrpc"))
    parser.add_argument("--train-rows", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--seeds", default="42", help="comma-separated; both sides run each, alternating")
    parser.add_argument("--jobs", default="overlap,relation,order")
    parser.add_argument("--hf-python", default=sys.executable)
    parser.add_argument("--worker", default=str(ROOT / "build" / "worker" / "bertfleet-worker"))
    parser.add_argument("--results-json")
    args = parser.parse_args()
    model = str(minilm_dir())
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for kind in args.jobs.split(","):
            text_columns, label_column = JOBS[kind]
            for split, rows in (("train", mrpc(args.data_dir, "train", args.train_rows)),
                                ("validation", mrpc(args.data_dir, "validation"))):
                header, body = build(kind, rows)
                with open(tmp / f"{kind}-{split}.csv", "w", newline="") as f:
                    writer = csv.writer(f)
                    writer.writerow(header)
                    writer.writerows(body)
            spec = dict(SETTINGS, model=model, train_file=str(tmp / f"{kind}-train.csv"),
                        validation_file=str(tmp / f"{kind}-validation.csv"), text_column_names=text_columns,
                        label_column_name=label_column, eval_strategy="epoch", save_strategy="no",
                        threads=args.threads)
            job = tmp / f"{kind}.yaml"
            runs = {"bertfleet": [], "hf": []}
            for seed in [int(x) for x in args.seeds.split(",")]:
                job.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in dict(spec, seed=seed).items()))
                runs["bertfleet"].append(run([args.worker, "train", "--job", str(job), "--output",
                                              str(tmp / f"bf-{kind}-{seed}"), "--json", "--quiet"]))
                runs["hf"].append(run([args.hf_python, str(ROOT / "bench" / "hf_trainer_files.py"), "--train",
                                       spec["train_file"], "--validation", spec["validation_file"], "--model-dir",
                                       model, "--output", str(tmp / f"hf-{kind}-{seed}"), "--text-columns",
                                       text_columns, "--label-column", label_column, "--seed", str(seed),
                                       "--threads", str(args.threads), "--learning-rate",
                                       str(SETTINGS["learning_rate"]), "--batch", "16", "--eval-batch", "32",
                                       "--max-length", "128"], env={**os.environ, "HF_HUB_OFFLINE": "1"}))
            last = {side: [r[0][-1] for r in runs[side]] for side in runs}
            names = [k for k in last["hf"][0] if k.startswith("eval_")]
            speed = {side: statistics.median(e["train_samples_per_second"] for e in last[side]) for side in last}
            ratios = [b["train_samples_per_second"] / h["train_samples_per_second"]
                      for b, h in zip(last["bertfleet"], last["hf"])]
            results[kind] = {"runs": {side: [{"epochs": r[0], "wall_seconds": r[1]} for r in runs[side]]
                                      for side in runs},
                             "median_samples_per_second": speed, "ratio": speed["bertfleet"] / speed["hf"],
                             "paired_ratios": ratios}

            def mean_std(side, name):
                values = [e[name] for e in last[side]]
                spread = statistics.stdev(values) if len(values) > 1 else 0.0
                return f"{statistics.mean(values):.4f}±{spread:.4f}"
            cells = "  ".join(f"{k[5:]} {mean_std('bertfleet', k)} vs {mean_std('hf', k)}" for k in names)
            print(f"{kind:9} {cells}  median samples/s {speed['bertfleet']:.1f} vs {speed['hf']:.1f}  ratio "
                  f"{results[kind]['ratio']:.2f}x (paired {', '.join(f'{r:.2f}' for r in ratios)})", flush=True)
    if args.results_json:
        pathlib.Path(args.results_json).write_text(json.dumps(
            {"train_rows": args.train_rows, "threads": args.threads, "seeds": args.seeds,
             "time": time.strftime("%Y-%m-%d %H:%M"), "results": results}, indent=1))


if __name__ == "__main__":
    main()
