"""What report_to costs the training step: the same MiniLM job with report_to none, with
[tensorboard, mlflow] against a live `mlflow server`, and with mlflow against a server that
accepts connections and never answers (BERTFLEET_MLFLOW_FLUSH_SECONDS=0, so the end does not
wait). Runs are interleaved (none, live, dead, none, ...) and the figure is train_runtime of
Trainer's closing log entry (steps only: start-up, the model save and the final flush excluded),
as a median over --runs, and each variant's ratio to none. Target: live and dead within 5% of none.

Example (the recorded run):
    .venv/bin/python bench/report_to_overhead.py --runs 5 --samples 256
"""
import argparse
import json
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "mrpc"
TRACKING_PYTHON = ROOT / ".venv-tracking" / "bin" / "python"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_mlflow(workdir):
    port = free_port()
    server = subprocess.Popen([str(TRACKING_PYTHON.parent / "mlflow"), "server", "--host", "127.0.0.1", "--port",
                               str(port), "--backend-store-uri", f"sqlite:///{workdir}/mlflow.db",
                               "--artifacts-destination", str(workdir / "artifacts")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(uri + "/health", timeout=1)
            return server, uri
        except OSError:
            time.sleep(0.5)
    server.kill()
    sys.exit("mlflow server did not start")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=256)
    args = parser.parse_args()
    worker = ROOT / args.build / "worker" / "bertfleet-worker"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        server, live_uri = start_mlflow(tmp)
        hole = socket.socket()
        hole.bind(("127.0.0.1", 0))
        hole.listen(1024)  # connections complete in the backlog and are never answered
        dead_uri = f"http://127.0.0.1:{hole.getsockname()[1]}"
        variants = {"none": ("none", {}),
                    "live": ("tensorboard,mlflow", {"MLFLOW_TRACKING_URI": live_uri}),
                    "dead": ("mlflow", {"MLFLOW_TRACKING_URI": dead_uri, "BERTFLEET_MLFLOW_FLUSH_SECONDS": "0"})}
        runtimes = {name: [] for name in variants}
        try:
            for run in range(args.runs + 1):  # the first round warms the page cache and is dropped
                for name, (report_to, env) in variants.items():
                    output = tmp / f"{name}-{run}"
                    command = [str(worker), "train", "--job", str(ROOT / "examples" / "mrpc-minilm.yaml"), "--output",
                               str(output), "--quiet", "--set", f"data={DATA}", "--set", f"report_to={report_to}",
                               "--set", f"max_train_samples={args.samples}", "--set", "max_eval_samples=16",
                               "--set", "num_train_epochs=1", "--set", "logging_steps=1", "--set", "save_strategy=no",
                               "--set", "eval_strategy=no", "--set", "load_best_model_at_end=false",
                               "--set", f"run_name={name}-{run}"]
                    result = subprocess.run(command, env={**os.environ, "MLFLOW_EXPERIMENT_NAME": "overhead", **env},
                                            capture_output=True, text=True, timeout=900)
                    if result.returncode != 0:
                        sys.exit(f"{name}: {result.stderr[-2000:]}")
                    history = json.loads((output / "trainer_state.json").read_text())["log_history"]
                    runtime = next(e["train_runtime"] for e in reversed(history) if "train_runtime" in e)
                    if run > 0:
                        runtimes[name].append(runtime)
                    print(f"round {run} {name:5s} train_runtime {runtime:.2f} s", flush=True)
        finally:
            os.killpg(server.pid, 15)
            hole.close()
    base = statistics.median(runtimes["none"])
    lines = [f"| report_to | median train_runtime (s) | min-max | ratio to none |", "|---|---|---|---|"]
    for name, values in runtimes.items():
        median = statistics.median(values)
        lines.append(f"| {name} | {median:.2f} | {min(values):.2f}-{max(values):.2f} | {median / base:.3f} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
