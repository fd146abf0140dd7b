"""Observability end to end (issue 6): a real Prometheus (Debian's `prometheus`, on a free port
with a generated config and our alert rules) scrapes a bertfleet-coordinator and two
`bertfleet-worker --coordinator` agents while each worker trains a tiny BERT on real MRPC rows.
Checks what Prometheus stored against what the CLI reports, `promtool check metrics/rules`, that
every metric the dashboard and the rules use is exported, the exposition under concurrent
scrapes during training, structured logs, and `bertfleet metrics/plot`."""
import json
import pathlib
import re
import shutil
import socket
import subprocess
import threading
import statistics
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest

from coordinator_harness import Coordinator
from worker_fleet import wait_for

JOB = """
model: tiny
data: mrpc
max_seq_length: 64
max_train_samples: 64
max_eval_samples: 32
per_device_train_batch_size: 8
per_device_eval_batch_size: 16
num_train_epochs: 3
learning_rate: 1.0e-3
eval_strategy: epoch
save_strategy: epoch
threads: 1
seed: {seed}
"""
EPOCHS, STEPS_PER_EPOCH = 3, 8  # 64 rows / batch 8

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(not PROMETHEUS or not PROMTOOL,
                                reason="needs Debian's prometheus package (scripts/setup.sh installs it)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read().decode()


def logged_metrics_address(log: pathlib.Path):
    """The address a service logged as `metrics listening` (text or JSON log lines)."""
    for line in log.read_text(errors="replace").splitlines():
        if "metrics listening" not in line:
            continue
        if line.startswith("{"):
            return json.loads(line)["address"]
        return re.search(r"address=(\S+)", line).group(1)
    return None


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def parse_exposition(text):
    """{(name, labels-text): value}; asserts every line is a comment or a well-formed sample and
    every histogram is internally consistent (cumulative buckets, +Inf bucket == _count)."""
    samples = {}
    assert text.endswith("\n"), "exposition must end with a newline"
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"malformed sample line: {line!r}"
        samples[(match.group(1), match.group(2) or "")] = float(match.group(3))
    buckets = {}
    for (name, labels), value in samples.items():
        if name.endswith("_bucket"):
            le = re.search(r'le="([^"]+)"', labels).group(1)
            rest = re.sub(r',?le="[^"]+"', "", labels).replace("{,", "{")
            buckets.setdefault((name[:-7], rest if rest != "{}" else ""), []).append((float(le), value))
    for (base, rest), points in buckets.items():
        points.sort()
        counts = [count for _, count in points]
        assert counts == sorted(counts), f"{base}{rest}: buckets not cumulative {points}"
        assert points[-1][0] == float("inf"), f"{base}{rest}: no +Inf bucket"
        assert samples[(base + "_count", rest)] == counts[-1], f"{base}{rest}: +Inf bucket != _count"
    return samples


def promtool_check_metrics(text):
    result = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, f"promtool check metrics: {result.stdout}{result.stderr}"


class Stack:
    """Coordinator + 2 worker agents (all with --metrics-listen) + Prometheus scraping them."""

    def __init__(self, coordinator_binary, worker_binary, cli_binary, pb, workdir, tiny_model_dir, shared_data,
                 source_dir):
        self.workdir, self.cli_binary, self.pb = workdir, cli_binary, pb
        # --insecure (loopback only): this test is about metrics, not TLS and tokens.
        self.coordinator = Coordinator(coordinator_binary, workdir, pb, lease_ms=3000, heartbeat_ms=300,
                                       extra_config="metrics_listen: 127.0.0.1:0\nlog_format: json\n",
                                       insecure=True)
        # Copies, not symlinks: the coordinator refuses paths that lead outside its data root.
        (self.coordinator.data_root / "mrpc").mkdir()
        for split in ("train", "validation"):
            shutil.copy(shared_data / "mrpc" / f"{split}.tsv", self.coordinator.data_root / "mrpc")
        shutil.copytree(tiny_model_dir, self.coordinator.data_root / "tiny")
        self.coordinator.start()
        self.processes = []
        self.targets = {"coordinator": logged_metrics_address(self.coordinator.log)}
        assert self.targets["coordinator"], self.coordinator.log.read_text()
        # w1 logs JSON, w2 text: both formats are checked.
        for name, log_format in (("w1", "json"), ("w2", "text")):
            log = workdir / f"agent-{name}.log"
            self.processes.append(subprocess.Popen(
                [str(worker_binary), "--coordinator", self.coordinator.address, "--device", "cpu", "--threads", "1",
                 "--worker-id", name, "--progress-steps", "2", "--metrics-listen", "127.0.0.1:0",
                 "--log-format", log_format],
                stdout=open(log, "ab"), stderr=subprocess.STDOUT, env=self.coordinator.client_env()))
            self.targets[name] = wait_for(lambda: logged_metrics_address(log), 30, f"{name}'s metrics address")
        wait_for(lambda: {w.id for w in self.workers() if w.state == self.pb.jobs.Worker.STATE_IDLE} == {"w1", "w2"},
                 30, "both agents to register")

        self.prometheus_address = f"127.0.0.1:{free_port()}"
        rules = workdir / "bertfleet-rules.yml"
        shutil.copy(source_dir / "deploy" / "prometheus" / "bertfleet-rules.yml", rules)
        config = workdir / "prometheus.yml"
        config.write_text(f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["{rules}"]
scrape_configs:
  - job_name: bertfleet-coordinator
    honor_labels: true
    static_configs: [{{targets: ["{self.targets['coordinator']}"]}}]
  - job_name: bertfleet-worker
    honor_labels: true
    static_configs: [{{targets: ["{self.targets['w1']}", "{self.targets['w2']}"]}}]
""")
        self.processes.append(subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
             f"--web.listen-address={self.prometheus_address}"],
            stdout=open(workdir / "prometheus.log", "ab"), stderr=subprocess.STDOUT))
        wait_for(self._prometheus_ready, 60, "Prometheus to be ready")

    def _prometheus_ready(self):
        try:
            return http_get(f"http://{self.prometheus_address}/-/ready", timeout=2)[0] == 200
        except OSError:
            return False

    def query(self, expr):
        url = f"http://{self.prometheus_address}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        body = json.loads(http_get(url)[2])
        assert body["status"] == "success", body
        return body["data"]["result"]

    def metrics_text(self, name):
        status, content_type, text = http_get(f"http://{self.targets[name]}/metrics")
        assert status == 200 and content_type.startswith("text/plain"), (status, content_type)
        return text

    def workers(self):
        return self.coordinator.jobs.ListWorkers(self.pb.jobs.ListWorkersRequest(), timeout=10).workers

    def cli(self, *args):
        return subprocess.run([str(self.cli_binary), "--coordinator", self.coordinator.address, *args],
                              capture_output=True, text=True, timeout=60, env=self.coordinator.client_env())

    def logs(self):
        text = ""
        for log in sorted(self.workdir.glob("*.log")):
            text += f"--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}\n"
        return text

    def stop(self):
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.coordinator.stop()


@pytest.fixture(scope="module")
def stack(coordinator_binary, worker_binary, cli_binary, bertfleet_pb, tmp_path_factory, tiny_model_dir, shared_data,
          source_dir):
    instance = Stack(coordinator_binary, worker_binary, cli_binary, bertfleet_pb, tmp_path_factory.mktemp("obs"),
                     tiny_model_dir, shared_data, source_dir)
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def trained(stack):
    """Two jobs, one per worker, trained while scrapers hammer every /metrics endpoint: the two
    seeds of a sweep, so that the sweep's series are exported too. Returns (job ids, scraped
    bodies, scrape errors, sweep id)."""
    bodies, errors, stop = [], [], threading.Event()

    def scrape(name):
        while not stop.is_set():
            try:
                bodies.append((name, stack.metrics_text(name)))
            except Exception as error:  # noqa: BLE001 - reported by the test below
                errors.append(f"{name}: {error!r}")

    scrapers = [threading.Thread(target=scrape, args=(name,), daemon=True)
                for name in ("coordinator", "w1", "w2") for _ in range(3)]
    for thread in scrapers:
        thread.start()
    sweep = stack.coordinator.sweeps.CreateSweep(
        stack.pb.sweeps.CreateSweepRequest(spec_yaml=JOB.format(seed=0), seeds=[1, 2]), timeout=30)
    job_ids = [point.job_id for point in sweep.points]
    succeeded = stack.pb.jobs.JobState.Value("JOB_STATE_SUCCEEDED")
    try:
        for job_id in job_ids:
            stack.coordinator.wait_state(job_id, succeeded, timeout=120)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{stack.logs()}") from None
    stop.set()
    for thread in scrapers:
        thread.join(timeout=30)
    return job_ids, bodies, errors, sweep.id


def test_concurrent_scrapes_during_training_stay_well_formed(stack, trained):
    job_ids, bodies, errors, _ = trained
    assert not errors, errors[:5]
    by_target = {name: [text for n, text in bodies if n == name] for name in ("coordinator", "w1", "w2")}
    for name, texts in by_target.items():
        assert len(texts) >= 5, f"only {len(texts)} scrapes of {name}"
        for text in texts:
            parse_exposition(text)
    # Some worker scrape caught training mid-way: a step count strictly between 0 and the end.
    total = EPOCHS * STEPS_PER_EPOCH
    seen = {parse_exposition(t).get(("bertfleet_worker_step_seconds_count", ""), 0)
            for name in ("w1", "w2") for t in by_target[name]}
    assert any(0 < count < total for count in seen), sorted(seen)
    for name in ("coordinator", "w1", "w2"):  # promtool on the last body scraped during training
        promtool_check_metrics(by_target[name][-1])


def test_prometheus_stores_the_cli_accuracy_and_both_workers_step_times(stack, trained):
    job_ids, _, _, _ = trained
    for job_id in job_ids:
        csv = stack.cli("metrics", job_id, "--csv")
        assert csv.returncode == 0, csv.stderr
        rows = csv.stdout.strip().splitlines()
        assert rows[0].startswith("epoch,global_step,train_loss,eval_loss,eval_accuracy,eval_f1")
        assert [row.split(",")[0] for row in rows[1:]] == [str(e) for e in range(1, EPOCHS + 1)]
        cli_accuracy = float(rows[-1].split(",")[4])
        result = wait_for(lambda: stack.query(f'bertfleet_job_eval_accuracy{{job="{job_id}"}}'), 30,
                          f"Prometheus to store {job_id}'s eval_accuracy")
        assert float(result[0]["value"][1]) == pytest.approx(cli_accuracy, abs=1e-12)
        epoch = stack.query(f'bertfleet_job_epoch{{job="{job_id}"}}')
        assert float(epoch[0]["value"][1]) == EPOCHS
        progress = stack.query(f'bertfleet_job_progress_ratio{{job="{job_id}"}}')
        assert float(progress[0]["value"][1]) == 1.0

    def final_step_counts():
        result = stack.query('bertfleet_worker_step_seconds_count{job="bertfleet-worker"}')
        counts = {r["metric"]["instance"]: float(r["value"][1]) for r in result}
        done = len(counts) == 2 and all(v == EPOCHS * STEPS_PER_EPOCH for v in counts.values())
        return counts if done else None
    counts = wait_for(final_step_counts, 30, "both workers' final step counts in Prometheus")
    assert set(counts) == {stack.targets["w1"], stack.targets["w2"]}
    sums = stack.query('bertfleet_worker_step_seconds_sum{job="bertfleet-worker"}')
    assert len(sums) == 2 and all(float(r["value"][1]) > 0 for r in sums)
    jobs = {r["metric"]["state"]: float(r["value"][1]) for r in stack.query("bertfleet_jobs")}
    assert jobs["succeeded"] == 2 and jobs["running"] == 0
    finished = stack.query('bertfleet_jobs_finished_total{outcome="succeeded"}')
    assert float(finished[0]["value"][1]) == 2
    # The sweep panel's series: the two seeds' final accuracy, their mean and sample std.
    sweep_id = trained[3]
    finals = [stack.coordinator.get(job_id).final_metrics.eval_accuracy for job_id in job_ids]
    mean = wait_for(lambda: stack.query(f'bertfleet_sweep_metric_mean{{sweep="{sweep_id}",metric="eval_accuracy"}}'),
                    30, "Prometheus to store the sweep's mean")
    assert mean[0]["metric"]["config"] == "-"
    assert float(mean[0]["value"][1]) == pytest.approx(statistics.mean(finals), abs=1e-12)
    std = stack.query(f'bertfleet_sweep_metric_stddev{{sweep="{sweep_id}",metric="eval_accuracy"}}')
    assert float(std[0]["value"][1]) == pytest.approx(statistics.stdev(finals), abs=1e-12)
    done = stack.query(f'bertfleet_sweep_jobs_finished{{sweep="{sweep_id}"}}')
    assert float(done[0]["value"][1]) == 2
    # The rules loaded and evaluate without errors against the real series.
    rules = json.loads(http_get(f"http://{stack.prometheus_address}/api/v1/rules")[2])["data"]["groups"]
    loaded = [rule for group in rules for rule in group["rules"]]
    assert len(loaded) == 4 and all(rule["health"] == "ok" for rule in loaded), loaded


def test_worker_exposition_after_training(stack, trained):
    for name in ("w1", "w2"):
        text = stack.metrics_text(name)
        promtool_check_metrics(text)
        samples = parse_exposition(text)
        assert samples[("bertfleet_worker_steps_total", "")] == EPOCHS * STEPS_PER_EPOCH
        assert samples[("bertfleet_worker_train_samples_total", "")] == 64 * EPOCHS
        assert samples[("bertfleet_worker_train_tokens_total", "")] > 0
        assert 0 <= samples[("bertfleet_worker_padding_ratio", "")] < 1
        assert samples[("bertfleet_worker_checkpoint_save_seconds_count", "")] == EPOCHS  # save_strategy: epoch
        assert samples[("bertfleet_worker_resident_memory_bytes", '{process="agent"}')] > 1e6
        assert samples[("bertfleet_worker_assignments_total", '{outcome="succeeded"}')] == 1
        assert samples[("bertfleet_worker_info", f'{{device="cpu",version="0.1.0",worker="{name}"}}')] == 1
        assert not any(key[0] == "bertfleet_worker_assignment_info" for key in samples)  # nothing running now
        # Single-process jobs: no all-reduce, so nothing observed.
        assert samples[("bertfleet_worker_allreduce_seconds_count", "")] == 0


def test_coordinator_exposition_and_rpc_latency(stack, trained):
    text = stack.metrics_text("coordinator")
    promtool_check_metrics(text)
    samples = parse_exposition(text)
    assert samples[("bertfleet_jobs_submitted_total", "")] == 2
    assert samples[("bertfleet_job_queue_wait_seconds_count", "")] == 2
    assert samples[("bertfleet_workers", '{device="cpu",state="idle"}')] == 2
    # The two jobs came from one CreateSweep call (a sweep's jobs count as submitted jobs).
    submits = [v for (name, labels), v in samples.items()
               if name == "bertfleet_rpc_duration_seconds_count" and "CreateSweep" in labels]
    assert submits == [1]
    # 404 for anything but /metrics
    with pytest.raises(urllib.error.HTTPError):
        http_get(f"http://{stack.targets['w1']}/nope")


def exported_names(stack, bodies_during_training):
    """Sample names now and during training (an assignment's info gauge exists only while it runs)."""
    texts = [stack.metrics_text(target) for target in ("coordinator", "w1", "w2")]
    texts += [text for _, text in bodies_during_training]
    return {name for text in texts for name, _ in parse_exposition(text)}


def used_names(text):
    return set(re.findall(r"\b(bertfleet_[a-z0-9_]+)", text))


def test_dashboard_and_rules_use_only_exported_metrics(stack, trained, source_dir):
    exported = exported_names(stack, trained[1])
    dashboard = json.loads((source_dir / "deploy" / "grafana" / "bertfleet.json").read_text())
    expressions = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("expr", "query", "definition") and isinstance(value, str):
                    expressions.append(value)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(dashboard)
    dashboard_names = used_names("\n".join(expressions))
    assert len(dashboard_names) >= 15, dashboard_names
    assert dashboard_names <= exported, f"dashboard uses unexported {sorted(dashboard_names - exported)}"

    import yaml
    rules = yaml.safe_load((source_dir / "deploy" / "prometheus" / "bertfleet-rules.yml").read_text())
    rule_names = used_names("\n".join(rule["expr"] for group in rules["groups"] for rule in group["rules"]))
    assert {"bertfleet_workers", "bertfleet_jobs_finished_total", "bertfleet_job_global_step",
            "bertfleet_worker_allreduce_seconds_sum"} <= rule_names
    assert rule_names <= exported, f"rules use unexported {sorted(rule_names - exported)}"
    # Every name the issue asks for by name is exported.
    assert {"bertfleet_jobs", "bertfleet_job_eval_accuracy", "bertfleet_job_eval_f1", "bertfleet_job_eval_loss",
            "bertfleet_job_train_loss", "bertfleet_job_epoch", "bertfleet_job_progress_ratio", "bertfleet_workers",
            "bertfleet_worker_step_seconds_bucket", "bertfleet_worker_allreduce_seconds_bucket"} <= exported


def test_promtool_accepts_the_rules_and_the_configmap_matches_the_dashboard(source_dir):
    result = subprocess.run([PROMTOOL, "check", "rules", str(source_dir / "deploy" / "prometheus" / "bertfleet-rules.yml")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "SUCCESS: 4 rules found" in result.stdout, result.stdout + result.stderr
    check = subprocess.run(["python3", str(source_dir / "scripts" / "gen-grafana-configmap.py"), "--check"],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    import yaml
    configmap = yaml.safe_load((source_dir / "deploy" / "grafana" / "kubernetes" /
                                "bertfleet-dashboard-configmap.yaml").read_text())
    assert configmap["kind"] == "ConfigMap" and configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert configmap["data"]["bertfleet.json"] == (source_dir / "deploy" / "grafana" / "bertfleet.json").read_text()


def test_structured_logs_carry_job_attempt_rank(stack, trained):
    job_ids, _, _, _ = trained
    # Coordinator: --log-format json, every line one object.
    lines = stack.coordinator.log.read_text().splitlines()
    assert not [line for line in lines if re.match(r"\d{4}-\d\d-\d\dT\S+ (INFO|WARN|ERROR) ", line)]
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert any(r["msg"] == "job state" and r.get("state") == "JOB_STATE_SUCCEEDED" and r["job"] in job_ids
               for r in records)
    # w1: JSON; progress lines Marian-style with job/attempt/rank fields.
    w1 = [json.loads(line) for line in (stack.workdir / "agent-w1.log").read_text().splitlines()
          if line.startswith("{")]
    progress = [r for r in w1 if re.fullmatch(r"epoch \d+ step \d+/24 loss \d+\.\d+ .* samples/s .* tokens/s padding .*",
                                              r["msg"])]
    assert progress and all(r["job"] in job_ids and r["attempt"] == "1" and r["rank"] == "0" and r["worker"] == "w1"
                            for r in progress), w1[-5:]
    # w2: text; the same line greps.
    w2 = (stack.workdir / "agent-w2.log").read_text()
    assert re.search(r"INFO epoch 3 step 24/24 loss \d+\.\d+ .* job=job-\w+ attempt=1 rank=0 worker=w2", w2), w2[-2000:]


def test_cli_metrics_table_and_svg_plot(stack, trained):
    job_id = trained[0][0]
    table = stack.cli("metrics", job_id)
    assert table.returncode == 0 and "Accuracy" in table.stdout and len(table.stdout.splitlines()) == EPOCHS + 1
    rows = [line.split(",") for line in stack.cli("metrics", job_id, "--csv").stdout.strip().splitlines()[1:]]
    out = stack.workdir / "curves.svg"
    result = stack.cli("plot", job_id, "-o", str(out))
    assert result.returncode == 0, result.stderr
    svg = ET.parse(out).getroot()
    ns = {"s": "http://www.w3.org/2000/svg"}
    lines = {p.get("data-series"): [tuple(map(float, xy.split(","))) for xy in p.get("points").split()]
             for p in svg.iterfind(".//s:polyline", ns)}
    assert set(lines) == {"train_loss", "eval_loss", "eval_accuracy", "eval_f1"}
    assert all(len(points) == EPOCHS for points in lines.values())
    # Higher values are drawn higher (smaller y), epochs left to right.
    accuracy = [float(row[4]) for row in rows]
    ys = [y for _, y in lines["eval_accuracy"]]
    for i in range(EPOCHS):
        for j in range(EPOCHS):
            if accuracy[i] > accuracy[j] + 1e-9:
                assert ys[i] < ys[j], (accuracy, ys)
    xs = [x for x, _ in lines["train_loss"]]
    assert xs == sorted(xs) and len(set(xs)) == EPOCHS
    bad = stack.cli("plot", job_id, "-o", str(stack.workdir / "curves.png"))
    assert bad.returncode == 2 and "SVG" in bad.stderr


def test_a_regression_jobs_metrics_reach_the_store_the_cli_and_prometheus_by_name(stack, trained, shared_data):
    """Every task's metrics, not MRPC's two: a regression on your own CSV reports mse, pearson and
    spearmanr per epoch, and they arrive unchanged in SQLite, `bertfleet metrics`/`status`, the
    SVG plot and Prometheus (bertfleet_job_eval_metric, the metric's name a label)."""
    import csv as csv_module
    import sqlite3

    from safetensors.torch import load_file, save_file
    data = stack.coordinator.data_root
    (data / "scores").mkdir()
    with open(shared_data / "mrpc" / "train.tsv", newline="") as f:
        rows = list(csv_module.DictReader(f, delimiter="\t", quoting=csv_module.QUOTE_NONE))[:48]
    with open(data / "scores" / "scores.csv", "w", newline="") as f:
        writer = csv_module.writer(f)
        writer.writerow(["sentence1", "sentence2", "label"])
        writer.writerows([[r["sentence1"], r["sentence2"], 0.5 + 3 * int("," in r["sentence1"]) + (i % 4) * 0.25]
                          for i, r in enumerate(rows)])
    headless = data / "tiny-headless"  # a regression needs a new one-output head
    shutil.copytree(data / "tiny", headless)
    weights = load_file(str(headless / "model.safetensors"))
    save_file({k: v for k, v in weights.items() if not k.startswith("classifier.")},
              str(headless / "model.safetensors"), metadata={"format": "pt"})
    spec = ("model: tiny-headless\ntrain_file: scores/scores.csv\nvalidation_file: scores/scores.csv\n"
            "max_seq_length: 64\nper_device_train_batch_size: 8\nnum_train_epochs: 2\nlearning_rate: 5.0e-3\n"
            "eval_strategy: epoch\nsave_strategy: 'no'\nthreads: 1\nseed: 3\n")
    job_id = stack.coordinator.submit(spec).id
    try:
        stack.coordinator.wait_state(job_id, stack.pb.jobs.JobState.Value("JOB_STATE_SUCCEEDED"), timeout=120)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{stack.logs()}") from None

    csv_text = stack.cli("metrics", job_id, "--csv")
    assert csv_text.returncode == 0, csv_text.stderr
    lines = csv_text.stdout.strip().splitlines()
    assert lines[0] == "epoch,global_step,train_loss,eval_loss,eval_mse,eval_pearson,eval_spearmanr," \
                       "train_samples_per_second"
    last = dict(zip(lines[0].split(","), lines[-1].split(",")))
    assert float(last["eval_mse"]) == pytest.approx(float(last["eval_loss"]), rel=1e-6)  # MSE is the loss
    with sqlite3.connect(stack.coordinator.db) as db:
        stored = db.execute("SELECT name, value FROM epoch_eval_metrics WHERE job_id = ? AND epoch = 2 "
                            "ORDER BY position", (job_id,)).fetchall()
    assert [name for name, _ in stored] == ["mse", "pearson", "spearmanr"]
    assert [value for _, value in stored] == [float(last["eval_" + name]) for name, _ in stored]
    for name, value in stored:
        result = wait_for(lambda: stack.query(f'bertfleet_job_eval_metric{{job="{job_id}",metric="{name}"}}'), 30,
                          f"Prometheus to store {job_id}'s {name}")
        assert float(result[0]["value"][1]) == pytest.approx(value, abs=1e-12)
    assert not stack.query(f'bertfleet_job_eval_metric{{job="{job_id}",metric="accuracy"}}')
    status = stack.cli("status", job_id).stdout
    assert "MSE" in status and "Pearson" in status and "Spearmanr" in status
    assert re.search(r"final: eval_loss [\d.]+  mse [\d.]+  pearson -?[\d.]+  spearmanr -?[\d.]+", status), status
    out = stack.workdir / "regression.svg"
    assert stack.cli("plot", job_id, "-o", str(out)).returncode == 0
    series = {p.get("data-series") for p in ET.parse(out).getroot().iterfind(".//{http://www.w3.org/2000/svg}polyline")}
    assert series == {"train_loss", "eval_loss", "eval_mse", "eval_pearson", "eval_spearmanr"}
