"""report_to (TrainingArguments' name): TensorBoard event files read back by TensorBoard itself,
and runs on a real `mlflow server` (SQLite backend) read back through MLflow's Python client.
The readers live in .venv-tracking (scripts/requirements-tracking.txt) and run as subprocesses.
Also: an MLflow server that never answers or refuses connections costs a warning, not the job,
and a job run through the coordinator reports to the MLflow server the coordinator names."""
import hashlib
import json
import os
import pathlib
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from worker_fleet import AgentFleet, tiny_job, wait_for

SPEC = {"max_seq_length": 64, "max_train_samples": 48, "max_eval_samples": 32, "per_device_train_batch_size": 8,
        "per_device_eval_batch_size": 16, "num_train_epochs": 2, "learning_rate": 1.0e-3, "warmup_ratio": 0.25,
        "eval_strategy": "epoch", "save_strategy": "no", "logging_steps": 2, "threads": 1, "seed": 5}
STEPS_PER_EPOCH = 6  # 48 rows / batch 8


@pytest.fixture(scope="module")
def tracking_python(source_dir):
    python = source_dir / ".venv-tracking" / "bin" / "python"
    assert python.exists(), "run scripts/setup.sh: it creates .venv-tracking (tensorboard, mlflow)"
    return python


def run_reader(python, code, *args, env=None, timeout=120):
    result = subprocess.run([str(python), "-c", textwrap.dedent(code), *map(str, args)], capture_output=True,
                            text=True, timeout=timeout, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def train(worker_binary, job, output, *extra, env=None):
    result = subprocess.run([str(worker_binary), "train", "--job", str(job), "--output", str(output), "--json",
                             *extra], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")], result.stderr


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def job_file(tmp_path, tiny_model_dir, shared_data):
    def make(**keys):
        path = tmp_path / "job.yaml"
        spec = {"model": str(tiny_model_dir), "data": str(shared_data / "mrpc"), **SPEC, **keys}
        path.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in spec.items()))
        return path
    return make


# --- TensorBoard ---------------------------------------------------------------------------------

READ_EVENTS = """
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
import struct, pathlib
files = sorted(pathlib.Path(sys.argv[1]).rglob("events.out.tfevents.*"))
# Every record's framing, checked with TensorBoard's own CRC-32C.
records = 0
for path in files:
    data = path.read_bytes()
    offset = 0
    while offset < len(data):
        header = data[offset:offset + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[offset + 8:offset + 12])
        assert header_crc == masked_crc32c(header), f"length CRC of record {records}"
        body = data[offset + 12:offset + 12 + length]
        (body_crc,) = struct.unpack("<I", data[offset + 12 + length:offset + 16 + length])
        assert body_crc == masked_crc32c(body), f"data CRC of record {records}"
        offset += 16 + length
        records += 1
acc = EventAccumulator(str(files[0].parent), size_guidance={"scalars": 0, "tensors": 0})
acc.Reload()
tags = acc.Tags()
scalars = {tag: [[e.step, e.value] for e in acc.Scalars(tag)] for tag in tags["scalars"]}
texts = {tag: [e.tensor_proto.string_val[0].decode() for e in acc.Tensors(tag)] for tag in tags["tensors"]}
print(json.dumps({"files": [str(f) for f in files], "records": records, "scalars": scalars, "texts": texts}))
"""


def test_tensorboard_reads_hugging_face_tags_and_steps(tmp_path, worker_binary, job_file, tracking_python):
    output = tmp_path / "out"
    epochs, stderr = train(worker_binary, job_file(report_to="tensorboard"), output, "--quiet")
    assert len(epochs) == 2
    events = run_reader(tracking_python, READ_EVENTS, output / "runs")
    # One file in Hugging Face's default logging_dir: OUTPUT/runs/<Mon DD_HH-MM-SS>_<host>/.
    assert len(events["files"]) == 1
    run_dir = pathlib.Path(events["files"][0]).parent
    assert run_dir.parent == output / "runs" and run_dir.name.endswith("_" + socket.gethostname())
    scalars = events["scalars"]
    for tag in ("train/loss", "train/learning_rate", "train/grad_norm", "train/epoch", "eval/loss",
                "eval/accuracy", "eval/f1", "eval/runtime", "train/train_runtime", "train/train_loss"):
        assert tag in scalars, (tag, sorted(scalars))
    total = 2 * STEPS_PER_EPOCH
    assert [step for step, _ in scalars["train/loss"]] == list(range(2, total + 1, 2))
    assert [step for step, _ in scalars["eval/accuracy"]] == [STEPS_PER_EPOCH, total]
    # The values are the run's own: the epoch rows, and trainer_state.json's log history.
    for (step, value), epoch in zip(scalars["eval/accuracy"], epochs):
        assert value == pytest.approx(epoch["eval_accuracy"], abs=1e-6)
    for (step, value), epoch in zip(scalars["eval/loss"], epochs):
        assert value == pytest.approx(epoch["eval_loss"], rel=1e-6)
    history = json.loads((output / "trainer_state.json").read_text())["log_history"]
    logged = {entry["step"]: entry for entry in history if "grad_norm" in entry}
    for step, value in scalars["train/learning_rate"]:
        if step in logged:
            assert value == pytest.approx(logged[step]["learning_rate"], rel=1e-6)
    # Warmup then linear decay: the rate rises and falls, so the comparison above is not vacuous.
    rates = [value for _, value in scalars["train/learning_rate"]]
    assert rates[0] < max(rates) and rates[-1] < max(rates)
    # The job's arguments as TensorBoard text, as TensorBoardCallback writes them.
    assert "| learning_rate | 0.001 |" in events["texts"]["args"][0]


def test_logging_dir_and_resume_keep_one_series(tmp_path, worker_binary, job_file, tracking_python):
    """logging_dir relative to the output; a resumed run adds a file with only its own steps."""
    output = tmp_path / "out"
    job = job_file(report_to=["tensorboard"], logging_dir="tb", save_strategy="steps", save_steps=4)
    train(worker_binary, job, output, "--quiet")
    train(worker_binary, job, tmp_path / "resumed", "--quiet", "--set",
          f"resume_from_checkpoint={output / 'checkpoint-8'}", "--set", f"logging_dir={tmp_path / 'tb-resumed'}")
    first = run_reader(tracking_python, READ_EVENTS, output / "tb")["scalars"]
    resumed = run_reader(tracking_python, READ_EVENTS, tmp_path / "tb-resumed")["scalars"]
    assert [s for s, _ in resumed["train/loss"]] == [10, 12]
    # Bit-identical resume: the resumed run logs the same losses for the same steps.
    assert resumed["train/loss"] == first["train/loss"][-2:]


def test_report_to_is_validated_before_training(tmp_path, worker_binary, job_file):
    bad = subprocess.run([str(worker_binary), "train", "--job", str(job_file(report_to="wandb")), "--output",
                          str(tmp_path / "o")], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0
    assert "report_to: must be none, all, tensorboard, mlflow" in bad.stderr and "wandb" in bad.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    no_uri = subprocess.run([str(worker_binary), "train", "--job", str(job_file(report_to="mlflow")), "--output",
                             str(tmp_path / "o2")], capture_output=True, text=True, timeout=60, env=env)
    assert no_uri.returncode != 0 and "MLFLOW_TRACKING_URI" in no_uri.stderr
    assert not (tmp_path / "o2" / "model.safetensors").exists()
    file_uri = subprocess.run([str(worker_binary), "train", "--job", str(job_file(report_to="mlflow")), "--output",
                               str(tmp_path / "o3")], capture_output=True, text=True, timeout=60,
                              env={**env, "MLFLOW_TRACKING_URI": "file:///tmp/mlruns"})
    assert file_uri.returncode != 0 and "http:// or https://" in file_uri.stderr


# --- MLflow --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory, tracking_python):
    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    log = open(root / "server.log", "wb")
    server = subprocess.Popen([str(tracking_python), "-m", "mlflow", "server", "--host", "127.0.0.1", "--port",
                               str(port), "--workers", "1", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
                               "--artifacts-destination", str(root / "artifacts")],
                              stdout=log, stderr=log, cwd=root)
    uri = f"http://127.0.0.1:{port}"

    def healthy():
        assert server.poll() is None, (root / "server.log").read_text()[-3000:]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /health HTTP/1.0\r\n\r\n")
                return b"200" in sock.recv(100)
        except OSError:
            return False
    wait_for(healthy, 120, "mlflow server to answer /health")
    yield uri
    server.terminate()
    server.wait(timeout=30)


READ_RUN = """
import json, sys, hashlib, pathlib
import mlflow
from mlflow.tracking import MlflowClient
uri, experiment, run_name, download = sys.argv[1:5]
mlflow.set_tracking_uri(uri)  # artifact downloads resolve mlflow-artifacts: URIs against it
client = MlflowClient(tracking_uri=uri)
exp = client.get_experiment_by_name(experiment)
runs = [r for r in client.search_runs([exp.experiment_id]) if r.info.run_name == run_name]
assert len(runs) == 1, [r.info.run_name for r in runs]
run = runs[0]
history = {key: [[m.step, m.value] for m in sorted(client.get_metric_history(run.info.run_id, key), key=lambda m: m.step)]
           for key in run.data.metrics}
artifacts = sorted(a.path for a in client.list_artifacts(run.info.run_id, "model"))
pathlib.Path(download).mkdir(parents=True, exist_ok=True)
local = client.download_artifacts(run.info.run_id, "model", download)
digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in pathlib.Path(local).iterdir()}
print(json.dumps({"status": run.info.status, "params": run.data.params, "tags": run.data.tags,
                  "history": history, "artifacts": artifacts, "digests": digests}))
"""


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def test_mlflow_run_has_params_metrics_by_step_and_the_model(tmp_path, worker_binary, job_file, tracking_python,
                                                             mlflow_server):
    output = tmp_path / "out"
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server, "MLFLOW_EXPERIMENT_NAME": "bertfleet-tests"}
    epochs, stderr = train(worker_binary, job_file(report_to="mlflow", run_name="tiny-mrpc"), output, env=env)
    assert "mlflow: cannot reach" not in stderr, stderr
    run = run_reader(tracking_python, READ_RUN, mlflow_server, "bertfleet-tests", "tiny-mrpc", tmp_path / "dl")
    assert run["status"] == "FINISHED"
    # Parameters: the job spec's keys and the model config's (MLflowCallback's combination).
    assert run["params"]["learning_rate"] == "0.001" and run["params"]["logging_steps"] == "2"
    assert run["params"]["hidden_size"] == str(json.loads((output / "config.json").read_text())["hidden_size"])
    # Metrics under Trainer's own keys, by global step.
    history = run["history"]
    total = 2 * STEPS_PER_EPOCH
    assert [s for s, _ in history["loss"]] == list(range(2, total + 1, 2))
    assert [s for s, _ in history["eval_accuracy"]] == [STEPS_PER_EPOCH, total]
    for (_, value), epoch in zip(history["eval_accuracy"], epochs):
        assert value == pytest.approx(epoch["eval_accuracy"], abs=1e-12)
    assert "train_runtime" in history and "learning_rate" in history
    # The final model directory, byte for byte.
    for name in ("config.json", "model.safetensors", "vocab.txt"):
        assert f"model/{name}" in run["artifacts"], run["artifacts"]
        assert run["digests"][name] == sha256(output / name), name


BLACKHOLE = """
import socket, sys, time
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen(64)   # connections complete in the kernel's backlog, and are never answered
print(sock.getsockname()[1], flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("server", ["never-answers", "refuses"])
def test_unreachable_mlflow_costs_a_warning_not_the_job(tmp_path, worker_binary, job_file, server):
    hole = None
    if server == "never-answers":
        hole = subprocess.Popen([sys.executable, "-c", BLACKHOLE], stdout=subprocess.PIPE, text=True)
        port = int(hole.stdout.readline())
    else:
        port = free_port()  # nothing listens there
    try:
        env = {**os.environ, "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{port}", "BERTFLEET_MLFLOW_FLUSH_SECONDS": "1"}
        started = time.monotonic()
        epochs, stderr = train(worker_binary, job_file(report_to="mlflow"), tmp_path / "out", env=env)
        elapsed = time.monotonic() - started
    finally:
        if hole:
            hole.kill()
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert (tmp_path / "out" / "model.safetensors").exists()
    assert "mlflow: cannot reach" in stderr and "retrying, training goes on" in stderr, stderr
    assert "mlflow: gave up after 1 s with" in stderr, stderr
    # Bounded: the flush timeout, not curl's 30 s request timeout, ends the wait (generous bound).
    assert elapsed < 25, elapsed


# --- Through the coordinator ---------------------------------------------------------------------

def test_coordinator_job_reports_to_the_coordinators_mlflow(tmp_path, coordinator_binary, worker_binary, cli_binary,
                                                            tiny_model_dir, shared_data, bertfleet_pb, tracking_python,
                                                            mlflow_server):
    pb = bertfleet_pb
    env_before = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("MLFLOW_")}
    fleet = AgentFleet(coordinator_binary, worker_binary, cli_binary, pb, tmp_path, tiny_model_dir, shared_data,
                        workers=("w1",), coordinator_config=(f"mlflow_tracking_uri: {mlflow_server}\n"
                                                             "mlflow_experiment_name: fleet\n"))
    try:
        job_id = fleet.submit(tiny_job(train=32, epochs=1, report_to="[tensorboard, mlflow]", logging_steps=2),
                              "tracked")
        job = fleet.wait_state(job_id, "SUCCEEDED", timeout=180)
        run = run_reader(tracking_python, READ_RUN, mlflow_server, "fleet", job_id, tmp_path / "dl")
        assert run["status"] == "FINISHED"
        assert run["tags"]["bertfleet.job_id"] == job_id and run["tags"]["bertfleet.attempt"] == "1"
        assert [s for s, _ in run["history"]["loss"]] == [2, 4]
        output = pathlib.Path(job.output_dir)
        assert run["digests"]["model.safetensors"] == sha256(output / "model.safetensors")
        assert list((output / "runs").glob("*/events.out.tfevents.*")), "rank 0 writes TensorBoard files too"
    except BaseException:
        print(fleet.logs())
        raise
    finally:
        fleet.stop()
        os.environ.update(env_before)
