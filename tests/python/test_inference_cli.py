"""`evaluate` and `predict` on a model trained by transformers: predictions equal transformers'
argmax, and accuracy/F1 equal scikit-learn's on the same predictions."""
import csv
import json
import os
import pathlib
import platform
import subprocess

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score
from transformers import AutoTokenizer, BertForSequenceClassification


@pytest.fixture(scope="module")
def varied_model_dir(tmp_path_factory, shared_data):
    """Large random weights, so the untrained model predicts both classes."""
    from conftest import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("varied-model"), shared_data / "bert-base-uncased", seed=3,
                           initializer_range=0.5)


@pytest.fixture(scope="module")
def rows(shared_data):
    with open(shared_data / "mrpc" / "validation.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[:120]


@pytest.fixture(scope="module")
def data_file(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("data") / "validation.tsv"
    with open(path, "w", newline="") as f:
        f.write("idx\tlabel\tsentence1\tsentence2\n")
        for r in rows:
            f.write(f"{r['idx']}\t{r['label']}\t{r['sentence1']}\t{r['sentence2']}\n")
    return path


@pytest.fixture(scope="module")
def reference(varied_model_dir, rows):
    tokenizer = AutoTokenizer.from_pretrained(varied_model_dir)
    model = BertForSequenceClassification.from_pretrained(varied_model_dir).eval()
    encoded = tokenizer([r["sentence1"] for r in rows], [r["sentence2"] for r in rows], truncation=True,
                        max_length=128, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**encoded).logits
    labels = np.array([int(r["label"]) for r in rows])
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(labels)).item()
    return logits.argmax(1).numpy(), labels, loss


def test_predict_matches_transformers_and_sklearn(tmp_path, worker_binary, varied_model_dir, data_file, rows, reference):
    predicted_ref, labels, _ = reference
    output = tmp_path / "predictions.tsv"
    result = subprocess.run([str(worker_binary), "predict", "--model", str(varied_model_dir), "--data", str(data_file),
                             "--output", str(output)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = output.read_text().splitlines()
    assert lines[0] == "index\tprediction"
    ours = {int(i): int(p) for i, p in (line.split("\t") for line in lines[1:])}
    assert list(ours) == [int(r["idx"]) for r in rows]
    predicted = np.array(list(ours.values()))
    assert (predicted == predicted_ref).all()
    assert len(set(predicted.tolist())) == 2, "a model predicting one class would make this test weak"
    assert f"accuracy {accuracy_score(labels, predicted):.4f}" in result.stdout
    assert f"f1 {f1_score(labels, predicted):.4f}" in result.stdout


def test_evaluate_json_matches_sklearn_and_loss(worker_binary, varied_model_dir, data_file, reference):
    predicted_ref, labels, loss_ref = reference
    result = subprocess.run([str(worker_binary), "evaluate", "--model", str(varied_model_dir), "--data", str(data_file),
                             "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["eval_samples"] == len(labels)
    assert metrics["eval_accuracy"] == pytest.approx(accuracy_score(labels, predicted_ref), abs=1e-9)
    assert metrics["eval_f1"] == pytest.approx(f1_score(labels, predicted_ref), abs=1e-9)
    assert metrics["eval_loss"] == pytest.approx(loss_ref, abs=1e-5)


def test_evaluate_names_a_missing_model(tmp_path, worker_binary, data_file):
    result = subprocess.run([str(worker_binary), "evaluate", "--model", str(tmp_path / "nope"), "--data",
                             str(data_file)], capture_output=True, text=True)
    assert result.returncode != 0
    assert str(tmp_path / "nope") in result.stderr


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the AVX-512 check is x86-64's")
def test_bf16_warns_exactly_on_cpus_without_avx512(worker_binary, varied_model_dir, data_file, reference):
    # LibTorch runs bf16 matmuls through oneDNN only with AVX-512 BW/DQ/VL; elsewhere bf16 is an
    # order of magnitude slower than fp32, which the user should hear before a long run.
    from conftest import cpu_runs_bf16_fast

    result = subprocess.run([str(worker_binary), "evaluate", "--model", str(varied_model_dir), "--data", str(data_file),
                             "--bf16", "--json"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["eval_samples"] == len(reference[1])
    assert ("bf16: false" in result.stderr) == (not cpu_runs_bf16_fast()), result.stderr


@pytest.mark.parametrize("build, threads, warned", [("pthread", 2, True), ("pthread", 1, False), ("openmp", 2, False)])
def test_blas_warning_names_openblas_pthreads_beside_libtorch_threads(worker_binary, varied_model_dir, data_file,
                                                                      build, threads, warned):
    # OpenBLAS's pthreads build starts a thread pool of its own beside LibTorch's OpenMP pool; the
    # OpenMP build shares it. Both are Debian packages (scripts/setup.sh installs both and selects
    # the OpenMP one); LD_LIBRARY_PATH picks one for this run.
    multiarch = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True, check=True).stdout.strip()
    directory = pathlib.Path(f"/usr/lib/{multiarch}/openblas-{build}")
    assert (directory / "libblas.so.3").exists(), f"{directory} missing: scripts/setup.sh installs libopenblas0-{build}"
    env = dict(os.environ, LD_LIBRARY_PATH=str(directory), OPENBLAS_NUM_THREADS="2")
    result = subprocess.run([str(worker_binary), "evaluate", "--model", str(varied_model_dir), "--data", str(data_file),
                             "--threads", str(threads), "--json"], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert ("OpenBLAS's pthreads build" in result.stderr) == warned, result.stderr
