"""A seed sweep through bertfleet's control plane next to the same seeds run by the Hugging Face
Trainer: accuracy and F1 per epoch as mean ± sample std over seeds on both sides.

bertfleet side: a local coordinator (--insecure, loopback) and N worker agents; `bertfleet sweep
JOB --seeds ... --watch --json` runs one job per seed, as many at once as there are workers, and
its statistics are the coordinator's. Hugging Face side: bench/compare_hf.py --only hf for the
same seeds, with the same job spec and overrides. Both sides get save_strategy=no and
load_best_model_at_end=false, as compare_hf.py does, so "final" is the last epoch. Example (the
recorded run):

    .venv/bin/python bench/sweep_vs_hf.py --seeds 42,43,44,45,46 --set bf16=false \\
        --results-json docs/results/sweep-vs-hf-amd-2026-12-07.json

`--hf-results FILE` reuses the Hugging Face runs of an earlier compare_hf.py --results-json (same
job, seeds and overrides) instead of running them again.
"""
import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]


def start(command, log):
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=open(log, "ab"), text=True)


def run_sweep(args, spec_text, workdir):
    """Runs the sweep; returns (the final bertfleet.v1.Sweep as JSON, wall seconds)."""
    data = workdir / "data"
    (data / "mrpc").mkdir(parents=True)
    for split in ("train", "validation", "test"):
        shutil.copy(pathlib.Path(args.data_dir) / f"{split}.tsv", data / "mrpc")
    spec = workdir / "sweep.yaml"
    spec.write_text(spec_text)
    build = pathlib.Path(args.build_dir)
    coordinator = start([str(build / "coordinator" / "bertfleet-coordinator"), "--listen", "127.0.0.1:0",
                         "--db", str(workdir / "jobs.db"), "--data-root", str(data), "--checkpoint-root",
                         str(workdir / "checkpoints"), "--state-dir", str(workdir / "state"), "--insecure"],
                        workdir / "coordinator.log")
    processes = [coordinator]
    try:
        line = coordinator.stdout.readline()
        if not line.startswith("listening on "):
            sys.exit(f"coordinator did not start: {(workdir / 'coordinator.log').read_text()[-3000:]}")
        address = line.split()[-1]
        for i in range(args.workers):
            processes.append(subprocess.Popen(
                [str(build / "worker" / "bertfleet-worker"), "--coordinator", address, "--device", "cpu",
                 "--threads", str(args.worker_threads), "--worker-id", f"bench-{i + 1}", "--insecure"],
                stdout=subprocess.DEVNULL, stderr=open(workdir / f"worker-{i + 1}.log", "ab")))
        begin = time.perf_counter()
        result = subprocess.run([str(build / "cli" / "bertfleet"), "--coordinator", address, "--insecure", "--json",
                                 "sweep", str(spec), "--seeds", args.seeds, "--watch"],
                                capture_output=True, text=True)
        wall = time.perf_counter() - begin
        if result.returncode != 0:
            sys.exit(f"the sweep failed: {result.stderr[-3000:]}\n{result.stdout[-3000:]}")
        return json.loads(result.stdout), wall
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in reversed(processes):
            process.wait(timeout=60)


def run_hf(args, spec_path, workdir):
    """compare_hf.py --only hf for the same seeds; returns its results JSON."""
    results = workdir / "hf.json"
    command = [sys.executable, str(ROOT / "bench" / "compare_hf.py"), "--job", str(spec_path), "--seeds", args.seeds,
               "--only", "hf", "--data-dir", args.data_dir, "--hf-python", args.hf_python,
               "--results-json", str(results), "--set", f"threads={args.hf_threads}"]
    for override in args.set:
        command += ["--set", override]
    subprocess.run(command, check=True)
    return json.loads(results.read_text())


def summary(values):
    return (statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0, len(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--job", default=str(ROOT / "examples" / "mrpc-minilm.yaml"))
    parser.add_argument("--seeds", default="42,43,44,45,46")
    parser.add_argument("--set", action="append", default=[], help="KEY=VALUE job-spec override for both sides")
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mrpc"))
    parser.add_argument("--build-dir", default=str(ROOT / "build"))
    parser.add_argument("--workers", type=int, default=2, help="worker agents (jobs at once)")
    parser.add_argument("--worker-threads", type=int, default=1)
    parser.add_argument("--hf-threads", type=int, default=2, help="the Trainer runs one seed at a time")
    parser.add_argument("--hf-python", default=sys.executable)
    parser.add_argument("--hf-results", help="reuse compare_hf.py --results-json output instead of running HF")
    parser.add_argument("--only", choices=["both", "bertfleet", "hf"], default="both")
    parser.add_argument("--results-json")
    args = parser.parse_args()

    # Overrides replace the spec's lines as text: the values stay YAML 1.2 scalars as written
    # (PyYAML would read `no` as false).
    overrides = [o.partition("=")[::2] for o in args.set + ["save_strategy=no", "load_best_model_at_end=false"]]
    overrides += [("data", "mrpc"), ("threads", str(args.worker_threads))]  # data: the coordinator's copy
    keys = {key for key, _ in overrides}
    lines = [line for line in pathlib.Path(args.job).read_text().splitlines()
             if not any(line.startswith(f"{key}:") for key in keys)]
    spec_text = "\n".join(lines + [f"{key}: {value}" for key, value in overrides]) + "\n"
    spec = yaml.safe_load(spec_text)

    with tempfile.TemporaryDirectory() as tmp:
        workdir = pathlib.Path(tmp)
        sweep, sweep_wall = (None, None)
        if args.only in ("both", "bertfleet"):
            sweep, sweep_wall = run_sweep(args, spec_text, workdir / "bertfleet")
        hf = None
        if args.hf_results:
            hf = json.loads(pathlib.Path(args.hf_results).read_text())
        elif args.only in ("both", "hf"):
            hf_spec = workdir / "hf.yaml"
            hf_spec.write_text(spec_text.replace("data: mrpc\n", f"data: {args.data_dir}\n"))
            hf = run_hf(args, hf_spec, workdir)

    print(f"job {args.job}  seeds {args.seeds}  overrides {' '.join(args.set) or '-'}")
    rows = {}
    if sweep:
        config = sweep["configs"][0]
        for epoch in config["epochs"]:
            metrics = {m["name"]: (m.get("mean", 0.0), m.get("std", 0.0), m["count"]) for m in epoch["metrics"]}
            rows.setdefault(int(epoch["epoch"]), {})["bertfleet"] = metrics
        for point in sweep["points"]:
            accuracy = [f"{e.get('eval_accuracy', 0):.4f}" for e in point["job"].get("epochs", [])]
            print(f"  bertfleet seed {int(point['seed'])}: accuracy per epoch {' '.join(accuracy)}")
        print(f"  bertfleet sweep: {sweep['jobs_total']} jobs on {args.workers} workers x {args.worker_threads} "
              f"thread(s) in {sweep_wall:.0f} s")
    if hf:
        runs = hf["runs"]["hf"]
        for index, run in enumerate(runs):
            accuracy = [f"{e['eval_accuracy']:.4f}" for e in run["epochs"]]
            print(f"  hf        seed {args.seeds.split(',')[index]}: accuracy per epoch {' '.join(accuracy)}")
        for e in range(min(len(r["epochs"]) for r in runs)):
            rows.setdefault(e + 1, {})["hf"] = {
                name: summary([r["epochs"][e][name] for r in runs]) for name in ("eval_accuracy", "eval_f1")}
    print(f"{'epoch':>5}  {'metric':<14} {'bertfleet mean ± std (n)':>28} {'HF mean ± std (n)':>28} {'diff':>8}")
    for epoch in sorted(rows):
        for name in ("eval_accuracy", "eval_f1"):
            cells = []
            for side in ("bertfleet", "hf"):
                value = rows[epoch].get(side, {}).get(name)
                cells.append(f"{value[0]:.4f} ± {value[1]:.4f} ({value[2]})" if value else "-")
            both = [rows[epoch].get(side, {}).get(name) for side in ("bertfleet", "hf")]
            diff = f"{100 * (both[0][0] - both[1][0]):+.2f} pt" if all(both) else "-"
            print(f"{epoch:>5}  {name:<14} {cells[0]:>28} {cells[1]:>28} {diff:>8}")
    if args.results_json:
        text = json.dumps(
            {"job": args.job, "seeds": args.seeds, "overrides": args.set, "spec": spec_text,
             "workers": args.workers, "worker_threads": args.worker_threads, "hf_threads": args.hf_threads,
             "bertfleet_sweep": sweep, "bertfleet_wall_seconds": sweep_wall, "hf": hf}, indent=1)
        # No paths of this machine in a recorded result: the repository's relative, the run's <tmp>.
        text = text.replace(str(ROOT) + "/", "").replace(tmp, "<tmp>")
        pathlib.Path(args.results_json).write_text(text)


if __name__ == "__main__":
    main()
