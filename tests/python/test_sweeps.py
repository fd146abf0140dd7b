"""Sweeps end to end (issue 23): a real coordinator and two real worker agents run 3 seeds x 2
learning rates of all-MiniLM-L6-v2 on 40-pair MRPC subsets as six ordinary jobs under one sweep
id. The coordinator is SIGKILLed mid-sweep and loses nothing. `bertfleet sweep status` prints
each job's own metrics, and per configuration the mean and standard deviation over seeds that
Python's `statistics` computes from the six jobs; `--json` carries the same numbers; `plot` draws
them. Other users cannot see the sweep; bad requests create nothing."""
import json
import re
import shutil
import statistics
import xml.etree.ElementTree as ElementTree

import grpc
import pytest

from worker_fleet import AgentFleet, wait_for

SPEC = """
model: minilm
data: mrpc
max_seq_length: 128
max_train_samples: 40
max_eval_samples: 40
per_device_train_batch_size: 8
per_device_eval_batch_size: 20
num_train_epochs: 2
learning_rate: 5.0e-5
warmup_ratio: 0.1
weight_decay: 0.1
eval_strategy: epoch
save_strategy: "no"
metric_for_best_model: accuracy
threads: 1
seed: 1
"""
SEEDS = (42, 43, 44)
RATES = ("5e-5", "2e-4")


@pytest.fixture(scope="module")
def fleet(coordinator_binary, worker_binary, cli_binary, bertfleet_pb, tmp_path_factory, tiny_model_dir,
          shared_data, minilm_dir):
    instance = AgentFleet(coordinator_binary, worker_binary, cli_binary, bertfleet_pb,
                          tmp_path_factory.mktemp("sweeps"), tiny_model_dir, shared_data, workers=("w1", "w2"))
    shutil.copytree(minilm_dir, instance.coordinator.data_root / "minilm")
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def sweep(fleet):
    """The sweep, created through the CLI; the coordinator is SIGKILLed once some jobs finished
    and others wait, and restarted. Returns (sweep id, the creation's JSON)."""
    spec = fleet.workdir / "sweep.yaml"
    spec.write_text(SPEC)
    created = fleet.cli("--json", "sweep", str(spec), "--seeds", ",".join(map(str, SEEDS)),
                        "--set-grid", "learning_rate=" + ",".join(RATES))
    assert created.returncode == 0, created.stderr
    document = json.loads(created.stdout)
    sweep_id = document["id"]
    assert sweep_id.startswith("sweep-") and len(document["points"]) == 6

    def progress():
        got = fleet.coordinator.sweeps.GetSweep(fleet.pb.sweeps.GetSweepRequest(sweep_id=sweep_id), timeout=10)
        return got.jobs_finished
    wait_for(lambda: 1 <= progress() < 5, 300, "some of the sweep's jobs done, others not")
    fleet.restart_coordinator()
    fleet.coordinator.sweeps = fleet.pb.sweeps_grpc.SweepServiceStub(fleet.coordinator.channel)
    wait_for(lambda: progress() == 6, 600, "every job of the sweep finished")
    return sweep_id, document


def job_metrics(job):
    """{epoch: {name: value}} and the final model's {name: value}, as the job itself reports them."""
    def named(metrics, with_train_loss):
        values = {"train_loss": metrics.train_loss} if with_train_loss else {}
        if metrics.evaluated:
            values["eval_loss"] = metrics.eval_loss
            values.update({f"eval_{m.name}": m.value for m in metrics.eval_metrics})
        return values
    return {m.epoch: named(m, True) for m in job.epochs}, named(job.final_metrics, False)


def test_the_sweep_runs_every_point_once_and_survives_a_coordinator_kill(fleet, sweep):
    sweep_id, document = sweep
    jobs = [j for j in fleet.coordinator.jobs.ListJobs(fleet.pb.jobs.ListJobsRequest(page_size=500), timeout=10).jobs
            if j.sweep_id == sweep_id]
    assert len(jobs) == 6  # nothing lost, nothing twice across the restart
    assert {j.id for j in jobs} == {p["job_id"] for p in document["points"]}
    assert all(j.state == fleet.pb.jobs.JOB_STATE_SUCCEEDED for j in jobs), [(j.id, j.message) for j in jobs]
    # Each point is an ordinary job whose spec has its seed and learning rate.
    for point in document["points"]:
        job = fleet.job(point["job_id"])
        rate = RATES[point.get("config", 0)]
        assert re.search(rf"^seed: {int(point['seed'])}$", job.spec_yaml, re.M), job.spec_yaml
        assert re.search(rf"^learning_rate: {re.escape(rate)}$", job.spec_yaml, re.M), job.spec_yaml
    listed = fleet.cli("sweeps")
    assert listed.returncode == 0 and sweep_id in listed.stdout, listed


def test_status_prints_each_job_and_the_mean_and_std_over_seeds(fleet, sweep):
    sweep_id, _ = sweep
    text = fleet.cli("sweep", "status", sweep_id)
    assert text.returncode == 0, text.stderr
    document = json.loads(fleet.cli("--json", "sweep", "status", sweep_id).stdout)
    assert document["metric"] == "eval_accuracy" and document["greater_is_better"] is True
    configs = document["configs"]
    assert [c["settings"] for c in configs] == [[{"key": "learning_rate", "value": r}] for r in RATES]

    by_config = {0: [], 1: []}
    for point in document["points"]:
        job = fleet.job(point["job_id"])
        epochs, final = job_metrics(job)
        by_config[point.get("config", 0)].append((epochs, final))
        # The job's row: its id, seed, state and its own accuracy per epoch.
        per_epoch = " ".join(f"{epochs[e]['eval_accuracy']:.4f}" for e in sorted(epochs))
        row = re.search(rf"^{point['job_id']}\s+learning_rate=\S+\s+{int(point['seed'])}\s+SUCCEEDED\s+\S+\s+(.+?)\s+(\S+)$",
                        text.stdout, re.M)
        assert row, (point, text.stdout)
        assert row.group(1) == per_epoch and row.group(2) == f"{final['eval_accuracy']:.4f}", (row.groups(), per_epoch)

    means = {}
    for index, config in enumerate(configs):
        runs = by_config[index]
        assert config["seeds"] == 3 and config["succeeded"] == 3
        for summary in config["epochs"]:
            for metric in summary["metrics"]:
                values = [epochs[int(summary["epoch"])][metric["name"]] for epochs, _ in runs]
                assert metric["count"] == 3
                assert metric.get("mean", 0.0) == pytest.approx(statistics.mean(values), rel=1e-12, abs=1e-15)
                assert metric.get("std", 0.0) == pytest.approx(statistics.stdev(values), rel=1e-9, abs=1e-15)
        assert {m["name"] for m in config["final"]} >= {"eval_loss", "eval_accuracy", "eval_f1"}
        for metric in config["final"]:
            values = [final[metric["name"]] for _, final in runs]
            assert metric.get("mean", 0.0) == pytest.approx(statistics.mean(values), rel=1e-12, abs=1e-15)
            assert metric.get("std", 0.0) == pytest.approx(statistics.stdev(values), rel=1e-9, abs=1e-15)
            cell = f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"
            assert cell in text.stdout, (cell, text.stdout)
            if metric["name"] == "eval_accuracy":
                means[index] = statistics.mean(values)
    best = max(means, key=means.get)
    assert document.get("best_config", 0) == best
    assert f"best: learning_rate={RATES[best]} (*)" in text.stdout, text.stdout
    # Not vacuous: the seeds disagree, so the std is no artefact of identical runs.
    assert any(m.get("std", 0.0) > 0 for c in configs for m in c["final"])


def test_plot_draws_a_mean_line_and_a_std_band_per_configuration(fleet, sweep, tmp_path):
    sweep_id, _ = sweep
    output = tmp_path / "sweep.svg"
    result = fleet.cli("plot", sweep_id, "-o", str(output))
    assert result.returncode == 0, result.stderr
    svg = ElementTree.parse(output).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    panels = {g.get("data-title"): g for g in svg.iter(f"{ns}g")}
    assert {"train_loss", "eval_loss", "eval_accuracy", "eval_f1"} <= set(panels)
    accuracy = panels["eval_accuracy"]
    lines = accuracy.findall(f"{ns}polyline")
    bands = accuracy.findall(f"{ns}polygon")
    assert sorted(line.get("data-series") for line in lines) == sorted(f"learning_rate={r}" for r in RATES)
    assert len(bands) == 2 and all(len(band.get("points").split()) == 4 for band in bands)  # 2 epochs, both edges


def test_other_users_cannot_see_the_sweep_and_bad_requests_create_nothing(fleet, sweep):
    sweep_id, _ = sweep
    pb = fleet.pb
    bob = pb.sweeps_grpc.SweepServiceStub(fleet.coordinator.channel_for(fleet.coordinator.create_token("bob", "user")))
    with pytest.raises(grpc.RpcError) as refused:
        bob.GetSweep(pb.sweeps.GetSweepRequest(sweep_id=sweep_id), timeout=10)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED and "another user" in refused.value.details()
    assert list(bob.ListSweeps(pb.sweeps.ListSweepsRequest(), timeout=10).sweeps) == []
    worker = pb.sweeps_grpc.SweepServiceStub(fleet.coordinator.channel_for(fleet.coordinator.worker_token))
    with pytest.raises(grpc.RpcError) as refused:
        worker.CreateSweep(pb.sweeps.CreateSweepRequest(spec_yaml=SPEC, seeds=[1]), timeout=10)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED

    before = len(fleet.coordinator.jobs.ListJobs(pb.jobs.ListJobsRequest(page_size=500), timeout=10).jobs)
    spec = fleet.workdir / "sweep.yaml"
    bad_grid = fleet.cli("sweep", str(spec), "--seeds", "1,2", "--set-grid", "learning_rate=1e-4,fast")
    assert bad_grid.returncode == 1
    assert "point learning_rate=fast, seed 1: learning_rate:" in bad_grid.stderr, bad_grid.stderr
    unknown = fleet.cli("sweep", str(spec), "--seeds", "1", "--set-grid", "learning_rat=1e-4")
    assert unknown.returncode == 1 and "learning_rat" in unknown.stderr and "learning_rate" in unknown.stderr
    bad_seeds = fleet.cli("sweep", str(spec), "--seeds", "1,x2")
    assert bad_seeds.returncode == 1 and "--seeds: 'x2' is not a seed" in bad_seeds.stderr
    twice = fleet.cli("sweep", str(spec), "--seeds", "1,1")
    assert twice.returncode == 1 and "seeds: 1 appears twice" in twice.stderr
    assert len(fleet.coordinator.jobs.ListJobs(pb.jobs.ListJobsRequest(page_size=500), timeout=10).jobs) == before
    assert len(fleet.coordinator.sweeps.ListSweeps(pb.sweeps.ListSweepsRequest(), timeout=10).sweeps) == 1
