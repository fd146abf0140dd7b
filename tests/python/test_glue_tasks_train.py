"""GLUE tasks beyond MRPC trained end to end by `bertfleet-worker train`, on folders in the GLUE
distribution's layouts built from the real MRPC sentences (no other GLUE data reaches these
machines): CoLA (one sentence, no header, Matthews correlation), MNLI (three classes named in
gold_label) and RTE (string labels). The oracle is transformers itself: the saved model, loaded
by BertForSequenceClassification with bertfleet's saved tokenizer, predicts the validation rows,
and scikit-learn scores those predictions; bertfleet's final evaluation must give the same."""
import csv
import json
import subprocess

import pytest
import torch
from sklearn.metrics import accuracy_score, matthews_corrcoef
from transformers import BertForSequenceClassification, BertTokenizerFast

MNLI_NAMES = ["entailment", "neutral", "contradiction"]
RTE_NAMES = ["entailment", "not_entailment"]


@pytest.fixture(scope="module")
def glue_data(tmp_path_factory, shared_data):
    def rows(split, n):
        with open(shared_data / "mrpc" / f"{split}.tsv", newline="") as f:
            return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[:n]
    # Labels a tiny random model can learn from 48 rows (whether the first sentence has a comma,
    # and for MNLI also a quotation mark), and validation rows it has seen: its predictions then
    # vary, so the metrics compared are not the degenerate ones of constant predictions.
    train = rows("train", 48)
    unseen = rows("validation", 12)
    for r in train + unseen:
        r["label"] = str(int("," in r["sentence1"]))
        r["mnli"] = int("," in r["sentence1"]) + int('"' in r["sentence1"] or "'" in r["sentence1"])
    dev = train[:40]
    root = tmp_path_factory.mktemp("glue") / "glue_data"
    for folder in ("CoLA", "MNLI", "RTE"):
        (root / folder).mkdir(parents=True)
    for name, split in (("train.tsv", train), ("dev.tsv", dev)):
        with open(root / "CoLA" / name, "w") as f:  # source, label, annotation, sentence; no header
            for r in split:
                f.write(f"gj04\t{r['label']}\t{'' if r['label'] == '1' else '*'}\t{r['sentence1']}\n")
        with open(root / "RTE" / name, "w") as f:
            f.write("index\tsentence1\tsentence2\tlabel\n")
            for i, r in enumerate(split):
                f.write(f"{i}\t{r['sentence1']}\t{r['sentence2']}\t{RTE_NAMES[1 - int(r['label'])]}\n")
    # MNLI's mismatched split: other rows (some unseen), so its accuracy differs from the matched one.
    for name, split in (("train.tsv", train), ("dev_matched.tsv", dev), ("dev_mismatched.tsv", train[20:] + unseen)):
        with open(root / "MNLI" / name, "w") as f:
            f.write("index\tpromptID\tpairID\tgenre\tsentence1\tsentence2\tlabel1\tgold_label\n")
            for i, r in enumerate(split):
                label = MNLI_NAMES[r["mnli"]]
                f.write(f"{i}\t{i}\t{i}e\tfiction\t{r['sentence1']}\t{r['sentence2']}\t{label}\t{label}\n")
    return root, dev


def mnli_mismatched_rows(root):
    with open(root / "MNLI" / "dev_mismatched.tsv", newline="") as f:
        return [(r["sentence1"], r["sentence2"], MNLI_NAMES.index(r["gold_label"]))
                for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


def train(worker_binary, tiny_model_dir, tmp_path, task, data):
    job = tmp_path / f"{task}.yaml"
    job.write_text(f"task: {task}\nmodel: {tiny_model_dir}\ndata: {data}\nmax_seq_length: 64\n"
                   "per_device_train_batch_size: 8\nnum_train_epochs: 8\nlearning_rate: 5.0e-3\n"
                   "eval_strategy: epoch\nsave_strategy: 'no'\nthreads: 1\nseed: 3\n")
    output = tmp_path / task
    result = subprocess.run([str(worker_binary), "train", "--job", str(job), "--output", str(output), "--json"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    epochs = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return output, epochs


def predictions(output, texts_a, texts_b=None):
    tokenizer = BertTokenizerFast.from_pretrained(str(output))
    model = BertForSequenceClassification.from_pretrained(str(output), attn_implementation="eager").eval()
    encoded = tokenizer(texts_a, texts_b, truncation=True, max_length=64, padding=True, return_tensors="pt")
    with torch.no_grad():
        return model(**encoded).logits.argmax(-1).tolist(), model.config


@pytest.mark.parametrize("task", ["cola", "mnli", "rte"])
def test_task_trains_and_its_metric_equals_transformers_predictions_scored_by_sklearn(
        tmp_path, worker_binary, headless_model_dir, glue_data, task):
    root, dev = glue_data
    output, epochs = train(worker_binary, headless_model_dir, tmp_path, task, root)
    assert [e["epoch"] for e in epochs] == list(range(1, 9))
    final = json.loads((output / "trainer_state.json").read_text())["final_eval"]
    history = json.loads((output / "trainer_state.json").read_text())["log_history"]
    if task == "cola":
        predicted, config = predictions(output, [r["sentence1"] for r in dev])
        labels = [int(r["label"]) for r in dev]
        assert "eval_matthews_correlation" in epochs[-1]
        assert any("eval_matthews_correlation" in entry for entry in history)
        assert final["eval_matthews_correlation"] == pytest.approx(matthews_corrcoef(labels, predicted), abs=1e-12)
        assert final["eval_matthews_correlation"] > 0.3, "the model memorized nothing: a weak comparison"
        assert config.id2label == {0: "unacceptable", 1: "acceptable"}
    else:
        predicted, config = predictions(output, [r["sentence1"] for r in dev], [r["sentence2"] for r in dev])
        if task == "mnli":
            labels = [r["mnli"] for r in dev]
            assert config.num_labels == 3 and config.id2label == dict(enumerate(MNLI_NAMES))
            assert config.label2id == {name: i for i, name in enumerate(MNLI_NAMES)}
            # run_glue.py's final evaluation of validation_mismatched, its keys ending in _mm.
            mismatched = mnli_mismatched_rows(root)
            predicted_mm, _ = predictions(output, [r[0] for r in mismatched], [r[1] for r in mismatched])
            assert final["eval_samples_mm"] == len(mismatched)
            assert final["eval_accuracy_mm"] == pytest.approx(
                accuracy_score([r[2] for r in mismatched], predicted_mm), abs=1e-12)
            assert final["eval_accuracy_mm"] != final["eval_accuracy"] and final["eval_loss_mm"] > 0
            assert not any("eval_accuracy_mm" in entry for entry in history), "run_glue.py: at the end only"
        else:
            labels = [1 - int(r["label"]) for r in dev]
            assert config.id2label == dict(enumerate(RTE_NAMES))
        assert final["eval_accuracy"] == pytest.approx(accuracy_score(labels, predicted), abs=1e-12)
        assert len(set(predicted)) > 1, "constant predictions: a weak comparison"
        assert any("eval_accuracy" in entry for entry in history)
    assert final["eval_samples"] == len(dev)


def test_predict_writes_run_glue_results_files_for_rte_and_both_mnli_test_splits(
        tmp_path, worker_binary, headless_model_dir, glue_data):
    root, dev = glue_data
    header = {"RTE": "index\tsentence1\tsentence2\n",
              "MNLI": "index\tpromptID\tpairID\tgenre\tsentence1\tsentence2\n"}
    for folder, files in (("RTE", ["test.tsv"]), ("MNLI", ["test_matched.tsv", "test_mismatched.tsv"])):
        for k, name in enumerate(files):
            with open(root / folder / name, "w") as f:
                f.write(header[folder])
                for i, r in enumerate(dev[k * 10:k * 10 + 15]):  # no label column, as GLUE's test files
                    extra = f"{i}\t{i}e\tfiction\t" if folder == "MNLI" else ""
                    f.write(f"{i}\t{extra}{r['sentence1']}\t{r['sentence2']}\n")
    for task, names, files in (("rte", RTE_NAMES, ["predict_results_rte.txt"]),
                               ("mnli", MNLI_NAMES, ["predict_results_mnli.txt", "predict_results_mnli-mm.txt"])):
        output, _ = train(worker_binary, headless_model_dir, tmp_path, task, root)
        job = tmp_path / f"{task}-predict.yaml"
        job.write_text(f"task: {task}\ndata: {root}\nmax_seq_length: 64\n")
        result = subprocess.run([str(worker_binary), "predict", "--model", str(output), "--job", str(job)],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        for k, name in enumerate(files):
            lines = (output / name).read_text().splitlines()  # next to the model, as run_glue.py's output_dir
            assert lines[0] == "index\tprediction"
            rows = dev[k * 10:k * 10 + 15]
            predicted, _ = predictions(output, [r["sentence1"] for r in rows], [r["sentence2"] for r in rows])
            assert lines[1:] == [f"{i}\t{names[p]}" for i, p in enumerate(predicted)]
    # RTE's 2-way head cannot name MNLI's three classes: refused, not a plausible wrong file.
    job.write_text(f"task: mnli\ndata: {root}\n")
    refused = subprocess.run([str(worker_binary), "predict", "--model", str(tmp_path / "rte"), "--job", str(job),
                              "--output-dir", str(tmp_path / "refused")], capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0
    assert "single_label_classification head with num_labels 2 cannot predict task mnli" in refused.stderr
    assert not (tmp_path / "refused" / "predict_results_mnli.txt").exists()


def test_single_sentence_tasks_encode_one_sentence_like_transformers(tmp_path, worker_binary, tiny_model_dir,
                                                                     glue_data):
    """CoLA rows hold one sentence: no [SEP] second segment, token types all 0."""
    root, dev = glue_data
    tokenizer = BertTokenizerFast.from_pretrained(str(tiny_model_dir))
    expected = tokenizer(dev[0]["sentence1"], truncation=True, max_length=64)["input_ids"]
    assert expected.count(tokenizer.sep_token_id) == 1
    output, _ = train(worker_binary, tiny_model_dir, tmp_path, "cola", root)
    predicted, _ = predictions(output, [dev[0]["sentence1"]])  # the saved tokenizer encodes as the training did
    assert len(predicted) == 1


def test_stsb_regression_trains_and_pearson_spearman_equal_scipy_on_transformers_predictions(
        tmp_path, worker_binary, headless_model_dir, glue_data):
    from scipy.stats import pearsonr, spearmanr
    root, dev = glue_data
    (root / "STS-B").mkdir(exist_ok=True)
    header = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
    score = lambda i, r: int(r["label"]) * 3.0 + (i % 5) * 0.4  # learnable from the comma, ties in between
    for name in ("train.tsv", "dev.tsv"):
        with open(root / "STS-B" / name, "w") as f:
            f.write(header)
            for i, r in enumerate(dev):
                f.write(f"{i}\tnews\tf\t2012\t{i}\tn\tn\t{r['sentence1']}\t{r['sentence2']}\t{score(i, r)}\n")
    output, epochs = train(worker_binary, headless_model_dir, tmp_path, "stsb", root)
    final = json.loads((output / "trainer_state.json").read_text())["final_eval"]
    tokenizer = BertTokenizerFast.from_pretrained(str(output))
    model = BertForSequenceClassification.from_pretrained(str(output), attn_implementation="eager").eval()
    assert model.config.num_labels == 1
    encoded = tokenizer([r["sentence1"] for r in dev], [r["sentence2"] for r in dev], truncation=True, max_length=64,
                        padding=True, return_tensors="pt")
    with torch.no_grad():
        predicted = model(**encoded).logits[:, 0].double().numpy()
    targets = [score(i, r) for i, r in enumerate(dev)]
    assert final["eval_pearson"] == pytest.approx(pearsonr(predicted, targets)[0], abs=1e-5)
    assert final["eval_spearmanr"] == pytest.approx(spearmanr(predicted, targets)[0], abs=1e-5)
    assert final["eval_combined_score"] == pytest.approx((final["eval_pearson"] + final["eval_spearmanr"]) / 2)
    assert final["eval_pearson"] > 0.3 and "eval_pearson" in epochs[-1]
    mse = float(((predicted - targets) ** 2).mean())
    assert final["eval_loss"] == pytest.approx(mse, rel=1e-4)


def test_unknown_task_and_download_are_refused_with_the_reason(tmp_path, worker_binary, tiny_model_dir, glue_data):
    root, _ = glue_data
    job = tmp_path / "job.yaml"
    job.write_text(f"task: ax\nmodel: {tiny_model_dir}\ndata: {root}\n")
    unknown = subprocess.run([str(worker_binary), "train", "--job", str(job), "--output", str(tmp_path / "o")],
                             capture_output=True, text=True, timeout=60)
    assert unknown.returncode != 0
    assert "task: must be one of cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte, wnli (got \"ax\")" in unknown.stderr
    job.write_text(f"task: rte\nmodel: {tiny_model_dir}\ndata: download\n")
    download = subprocess.run([str(worker_binary), "train", "--job", str(job), "--output", str(tmp_path / "o")],
                              capture_output=True, text=True, timeout=60)
    assert download.returncode != 0
    assert "data: download is for mrpc only" in download.stderr and "glue_data/RTE" in download.stderr
