#!/usr/bin/env python3
"""Data-parallel equivalence on one machine, for the device at hand (scripts/gpu-check.sh runs it
on a GPU with NCCL; on CPU it exercises Gloo, as tests/python/test_data_parallel_training.py does):

  1. one rank at per-device batch 16 and two ranks at 8 train the same job (fp32, dropout 0):
     per-step losses and gradient norms, evaluation and final weights are compared;
  2. ranks 0 and 1 of a 3-rank group whose rank 2 never starts must both fail within their
     collective timeout, rank 0 naming rank 2.

On a GPU machine with one GPU both ranks share it: NCCL refuses two ranks on one device of one
host ("Duplicate GPU"), so each rank gets its own NCCL_HOSTID and NCCL connects them as two hosts
over its socket transport on loopback. That is the multi-node code path (bootstrap through the
published unique id, network transport), not NVLink/shared memory.

Prints one JSON summary line at the end; exit status 1 when a check fails.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

JOB = """
model: {model}
task: mrpc
data: {data}
max_seq_length: 128
max_train_samples: {train_samples}
max_eval_samples: {eval_samples}
per_device_train_batch_size: {batch}
per_device_eval_batch_size: 16
num_train_epochs: 1
learning_rate: 2.0e-5
weight_decay: 0.01
warmup_ratio: 0.1
bf16: false
device: {device}
eval_strategy: epoch
save_strategy: "no"
seed: 42
model_config_overrides: {{hidden_dropout_prob: 0.0, attention_probs_dropout_prob: 0.0, classifier_dropout: 0.0}}
"""


def launch(command, env, prefix: pathlib.Path):
    """Starts one rank with its stdout/stderr in files: a rank blocked on a full pipe inside a
    collective would hang its peers."""
    process = subprocess.Popen(command, stdout=open(f"{prefix}.stdout", "w"), stderr=open(f"{prefix}.stderr", "w"),
                               env=env)
    process.prefix = prefix
    return process


def finish(process, timeout):
    """Waits for a rank (killing it after `timeout` s); returns its (stdout, stderr) text."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return (pathlib.Path(f"{process.prefix}.stdout").read_text(), pathlib.Path(f"{process.prefix}.stderr").read_text())


def run_group(args, work: pathlib.Path, world_size: int, batch: int):
    work.mkdir(parents=True, exist_ok=True)
    job = work / "job.yaml"
    job.write_text(JOB.format(model=args.model, data=args.data, train_samples=args.train_samples,
                              eval_samples=args.eval_samples, batch=batch, device=args.device))
    processes = []
    for rank in range(world_size):
        command = [args.worker, "train", "--job", str(job), "--output", str(work / "out"), "--json",
                   "--step-log", str(work / f"steps-{rank}.jsonl")]
        env = dict(os.environ)
        if world_size > 1:
            command += ["--world-size", str(world_size), "--rank", str(rank), "--rendezvous-file",
                        str(work / "rendezvous"), "--collective-timeout-seconds", "120"]
            env["NCCL_HOSTID"] = f"bertfleet-check-rank{rank}"  # see the docstring
            env.setdefault("NCCL_IB_DISABLE", "1")  # the "hosts" meet over sockets on loopback
        processes.append(launch(command, env, work / f"rank{rank}"))
    outputs = [finish(process, args.timeout) for process in processes]
    for rank, (process, (_, stderr)) in enumerate(zip(processes, outputs)):
        if process.returncode != 0:
            sys.exit(f"data_parallel_check: {world_size}-rank run, rank {rank} exit {process.returncode}:\n{stderr[-3000:]}")
    for rank, (_, stderr) in enumerate(outputs):
        for line in stderr.splitlines():
            if line.startswith(("communicator:", "rendezvous ")):
                print(f"  [{world_size} ranks, rank {rank}] {line[:120]}")
    epochs = [json.loads(line) for line in outputs[0][0].splitlines() if line.startswith("{")]
    steps = [[json.loads(line) for line in (work / f"steps-{rank}.jsonl").read_text().splitlines()]
             for rank in range(world_size)]
    return epochs, steps, work / "out" / "model.safetensors"


def max_weight_difference(one_path, two_path):
    from safetensors.numpy import load_file
    one, two = load_file(str(one_path)), load_file(str(two_path))
    assert one.keys() == two.keys(), "the two models have different tensors"
    return max(float(abs(one[key].astype("float64") - two[key].astype("float64")).max()) for key in one)


def missing_rank_check(args, work: pathlib.Path):
    """Ranks 0 and 1 of a 3-rank group, rank 2 never started: both must fail within the timeout,
    rank 0 naming rank 2."""
    work.mkdir(parents=True, exist_ok=True)
    job = work / "job.yaml"
    job.write_text(JOB.format(model=args.model, data=args.data, train_samples=16, eval_samples=16, batch=8,
                              device=args.device))
    start = time.monotonic()
    processes = []
    for rank in (0, 1):
        env = dict(os.environ, NCCL_HOSTID=f"bertfleet-check-rank{rank}")
        env.setdefault("NCCL_IB_DISABLE", "1")
        processes.append(launch(
            [args.worker, "train", "--job", str(job), "--output", str(work / "out"), "--quiet", "--world-size", "3",
             "--rank", str(rank), "--rendezvous-file", str(work / "rendezvous"),
             "--collective-timeout-seconds", str(args.missing_timeout)], env, work / f"rank{rank}"))
    outputs = [finish(process, args.missing_timeout + 120) for process in processes]
    seconds = time.monotonic() - start
    messages = [(stderr.strip().splitlines() or [""])[-1][:400] for _, stderr in outputs]
    ok = (all(process.returncode != 0 for process in processes) and "rank 2" in messages[0]
          and seconds < args.missing_timeout + 60)
    return {"ok": ok, "exits": [process.returncode for process in processes], "seconds": round(seconds, 1),
            "rank0_message": messages[0], "rank1_message": messages[1]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", required=True, help="bertfleet-worker binary")
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True, help="MRPC directory (train/validation TSV)")
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--work", required=True, help="scratch directory")
    parser.add_argument("--train-samples", type=int, default=200, help="200 = 12 full global batches of 16 and one of 8")
    parser.add_argument("--eval-samples", type=int, default=100)
    parser.add_argument("--loss-tolerance", type=float, default=1e-5)
    parser.add_argument("--weight-tolerance", type=float, default=1e-4)
    parser.add_argument("--missing-timeout", type=int, default=10)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per training run")
    args = parser.parse_args()
    work = pathlib.Path(args.work)

    start = time.monotonic()
    one_epochs, one_steps, one_model = run_group(args, work / "one", 1, 16)
    two_epochs, two_steps, two_model = run_group(args, work / "two", 2, 8)
    failures = []
    if not (len(one_steps[0]) == len(two_steps[0]) == len(two_steps[1])):
        failures.append(f"step counts differ: {len(one_steps[0])} vs {len(two_steps[0])}/{len(two_steps[1])}")
    loss_diff = max(abs(a["loss"] - b["loss"]) for a, b in zip(one_steps[0], two_steps[0]))
    grad_diff = max(abs(a["grad_norm"] - b["grad_norm"]) / max(1.0, a["grad_norm"])
                    for a, b in zip(one_steps[0], two_steps[0]))
    ranks_agree = all(a["loss"] == b["loss"] for a, b in zip(two_steps[0], two_steps[1]))
    weight_diff = max_weight_difference(one_model, two_model)
    if loss_diff > args.loss_tolerance:
        failures.append(f"per-step losses differ by up to {loss_diff:.3g} (tolerance {args.loss_tolerance:g})")
    if weight_diff > args.weight_tolerance:
        failures.append(f"final weights differ by up to {weight_diff:.3g} (tolerance {args.weight_tolerance:g})")
    if not ranks_agree:
        failures.append("the two ranks reported different global losses")
    one_eval, two_eval = one_epochs[-1], two_epochs[-1]
    eval_same = (one_eval["eval_accuracy"], one_eval["eval_f1"]) == (two_eval["eval_accuracy"], two_eval["eval_f1"])
    if not eval_same:
        failures.append(f"evaluation differs: {one_eval} vs {two_eval}")
    missing = missing_rank_check(args, work / "missing")
    if not missing["ok"]:
        failures.append(f"missing-rank check: {missing}")
    summary = {
        "device": args.device, "steps": len(one_steps[0]), "max_loss_difference": loss_diff,
        "max_grad_norm_relative_difference": grad_diff, "max_weight_difference": weight_diff,
        "eval_one_rank": [one_eval["eval_loss"], one_eval["eval_accuracy"], one_eval["eval_f1"]],
        "eval_two_ranks": [two_eval["eval_loss"], two_eval["eval_accuracy"], two_eval["eval_f1"]],
        "two_rank_step_seconds": sum(s["seconds"] for s in two_steps[0]) / len(two_steps[0]) if "seconds" in two_steps[0][0] else None,
        "missing_rank": missing, "seconds": round(time.monotonic() - start, 1), "failures": failures,
    }
    print(json.dumps(summary))
    print("data_parallel_check: " + ("ok" if not failures else "FAILED: " + "; ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
