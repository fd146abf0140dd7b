"""bertfleet's task metrics (common/train/task_metrics.h) against the code Hugging Face's
`evaluate` GLUE metric runs: scikit-learn's accuracy_score, f1_score and matthews_corrcoef, scipy's
pearsonr and spearmanr. Random problems of every size from 1 example up, and the degenerate ones
where the libraries have conventions: constant predictions, a single class, ties, classes that
never occur, values with a large common offset."""
import json
import math
import subprocess
import warnings

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef, mean_squared_error


@pytest.fixture(scope="module")
def tool(build_dir):
    path = build_dir / "tests" / "tools" / "metrics_oracle_tool"
    assert path.exists(), f"build {path.name} first"
    return path


def run(tool, cases):
    result = subprocess.run([str(tool)], input="".join(json.dumps(c) + "\n" for c in cases), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def same(ours, theirs, what):
    if theirs is None or (isinstance(theirs, float) and math.isnan(theirs)):
        assert ours is None, (what, ours, theirs)
    else:
        assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12), (what, ours, theirs)


def classification_cases():
    rng = np.random.default_rng(7)
    cases = []
    for num_labels in (2, 3, 5):
        for n in (1, 2, 3, 7, 50, 400):
            for _ in range(4):
                labels = rng.integers(0, num_labels, n)
                # Predictions that agree with the labels more often than chance, as a model's do.
                predictions = np.where(rng.random(n) < 0.6, labels, rng.integers(0, num_labels, n))
                cases.append((num_labels, labels, predictions))
        n = 30
        cases += [
            (num_labels, rng.integers(0, num_labels, n), np.zeros(n, int)),        # constant predictions
            (num_labels, np.ones(n, int), rng.integers(0, num_labels, n)),         # one class in the labels
            (num_labels, np.zeros(n, int), np.zeros(n, int)),                      # all agree on class 0
            (num_labels, rng.integers(0, num_labels, n), rng.integers(0, num_labels, n)),  # chance
            (num_labels, np.arange(n) % num_labels, (np.arange(n) + 1) % num_labels),      # always wrong
        ]
    cases.append((5, np.array([0, 1, 0, 1]), np.array([0, 1, 1, 1])))  # labels 2-4 never occur
    return cases


def test_classification_metrics_equal_scikit_learn(tool):
    cases = classification_cases()
    answers = run(tool, [{"num_labels": k, "labels": y.tolist(), "predictions": p.tolist()} for k, y, p in cases])
    assert len(answers) == len(cases)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's zero-division warnings: their value is the convention
        for (num_labels, labels, predictions), ours in zip(cases, answers):
            what = (num_labels, labels.tolist(), predictions.tolist())
            same(ours["accuracy"], accuracy_score(labels, predictions), ("accuracy",) + what)
            same(ours["matthews_correlation"], matthews_corrcoef(labels, predictions), ("matthews",) + what)
            same(ours["macro_f1"], f1_score(labels, predictions, average="macro"), ("macro_f1",) + what)
            if num_labels == 2:
                same(ours["f1"], f1_score(labels, predictions), ("f1",) + what)


def regression_cases():
    rng = np.random.default_rng(11)
    cases = []
    for n in (2, 3, 10, 100, 1500):
        labels = rng.uniform(0, 5, n)
        cases.append((labels, labels + rng.normal(0, 1, n)))
        # STS-B scores come in steps of 0.2: ties in the labels; rounded predictions tie too.
        tied = np.round(rng.uniform(0, 5, n) * 5) / 5
        cases.append((tied, np.round(tied + rng.normal(0, 1, n))))
    n = 40
    labels = rng.uniform(0, 5, n)
    cases += [
        (labels, np.full(n, 2.5)),                       # constant predictions: NaN correlations
        (np.full(n, 3.0), labels),                       # constant labels
        (labels, -labels),                               # perfectly anti-correlated
        (labels, labels ** 3),                           # monotone, not linear
        (1e8 + labels, 1e8 + labels + rng.normal(0, 0.1, n)),  # a large common offset
    ]
    return cases


def test_regression_metrics_equal_scipy(tool):
    cases = regression_cases()
    answers = run(tool, [{"regression": True, "labels": y.tolist(), "predictions": p.tolist()} for y, p in cases])
    assert len(answers) == len(cases)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's ConstantInputWarning: NaN is the value evaluate reports
        for (labels, predictions), ours in zip(cases, answers):
            what = (len(labels), labels[:3].tolist(), predictions[:3].tolist())
            pearson = float(pearsonr(predictions, labels)[0])
            spearman = float(spearmanr(predictions, labels)[0])
            same(ours["pearson"], pearson, ("pearson",) + what)
            same(ours["spearmanr"], spearman, ("spearmanr",) + what)
            same(ours["mse"], mean_squared_error(labels, predictions), ("mse",) + what)
            if not (math.isnan(pearson) or math.isnan(spearman)):
                same(ours["combined_score"], (pearson + spearman) / 2, ("combined_score",) + what)
