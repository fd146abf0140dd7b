"""Your own files (train_file, validation_file) trained end to end by `bertfleet-worker train`.
Real data: the shared MRPC splits rewritten as CSV and as JSON Lines with other column names and
the labels no/yes must give exactly the eval loss, accuracy and F1 of `task: mrpc` on the same
rows in fp32. Regression (float labels in a CSV), three classes (string labels in a JSON array)
and one sentence (integer labels in a TSV) are checked against transformers' predictions from
the saved model, scored by scikit-learn/scipy, and the saved config.json must make transformers'
pipeline answer with your label names."""
import csv
import json
import subprocess

import pytest
import torch
from transformers import BertForSequenceClassification, BertTokenizerFast, pipeline


def mrpc_rows(shared_data, split, n=None):
    with open(shared_data / "mrpc" / f"{split}.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return rows if n is None else rows[:n]


def train(worker_binary, tmp_path, name, spec, epochs=1):
    """1 epoch: the MRPC comparison; 8 epochs at a high rate: a tiny model memorizes 48 rows, so
    that its predictions vary and the metrics compared are not those of constant predictions."""
    job = tmp_path / f"{name}.yaml"
    rate = "5.0e-3" if epochs > 1 else "2.0e-3"
    job.write_text(spec + f"max_seq_length: 64\nper_device_train_batch_size: 8\nnum_train_epochs: {epochs}\n"
                   f"eval_strategy: epoch\nsave_strategy: 'no'\nthreads: 2\nseed: 3\nlearning_rate: {rate}\n")
    output = tmp_path / name
    result = subprocess.run([str(worker_binary), "train", "--job", str(job), "--output", str(output), "--json"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return json.loads((output / "trainer_state.json").read_text())["final_eval"], output


def test_mrpc_as_csv_and_json_lines_with_string_labels_equals_task_mrpc(tmp_path, worker_binary, tiny_model_dir,
                                                                       shared_data):
    names = ["no", "yes"]
    for split in ("train", "validation"):
        rows = mrpc_rows(shared_data, split)
        with open(tmp_path / f"{split}.csv", "w", newline="") as f:
            writer = csv.writer(f)  # quotes the sentences with commas and quotation marks in them
            writer.writerow(["pair_id", "first", "second", "paraphrase"])
            for r in rows:
                writer.writerow([r["idx"], r["sentence1"], r["sentence2"], names[int(r["label"])]])
        with open(tmp_path / f"{split}.jsonl", "w") as f:
            for r in rows:
                f.write(json.dumps({"paraphrase": names[int(r["label"])], "first": r["sentence1"],
                                    "second": r["sentence2"]}) + "\n")
    reference, _ = train(worker_binary, tmp_path, "mrpc", f"task: mrpc\ndata: {shared_data / 'mrpc'}\n"
                         f"model: {tiny_model_dir}\n")
    assert reference["eval_samples"] == 408
    own_keys = "text_column_names: first,second\nlabel_column_name: paraphrase\n"
    for extension in ("csv", "jsonl"):
        final, output = train(worker_binary, tmp_path, f"own-{extension}",
                              f"train_file: {tmp_path / ('train.' + extension)}\n"
                              f"validation_file: {tmp_path / ('validation.' + extension)}\n"
                              f"model: {tiny_model_dir}\n" + own_keys)
        assert final["eval_loss"] == reference["eval_loss"], extension  # exactly: the same rows, the same math
        assert final["eval_accuracy"] == reference["eval_accuracy"]
        assert final["eval_f1"] == reference["eval_f1"]
        config = json.loads((output / "config.json").read_text())
        assert config["id2label"] == {"0": "no", "1": "yes"} and config["label2id"] == {"no": 0, "yes": 1}
        assert config["problem_type"] == "single_label_classification"


def test_regression_from_float_labels_equals_scipy_on_transformers_predictions(tmp_path, worker_binary,
                                                                              headless_model_dir, shared_data):
    from scipy.stats import pearsonr, spearmanr
    rows = mrpc_rows(shared_data, "train", 48)
    score = lambda i, r: round(int("," in r["sentence1"]) * 3.0 + (i % 5) * 0.35, 2)  # learnable, with ties
    with open(tmp_path / "scores.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sentence1", "sentence2", "label"])
        for i, r in enumerate(rows):
            writer.writerow([r["sentence1"], r["sentence2"], score(i, r)])
    final, output = train(worker_binary, tmp_path, "regression",
                          f"train_file: {tmp_path / 'scores.csv'}\nvalidation_file: {tmp_path / 'scores.csv'}\n"
                          f"model: {headless_model_dir}\n", epochs=8)
    tokenizer = BertTokenizerFast.from_pretrained(str(output))
    model = BertForSequenceClassification.from_pretrained(str(output), attn_implementation="eager").eval()
    assert model.config.num_labels == 1 and model.config.problem_type == "regression"
    encoded = tokenizer([r["sentence1"] for r in rows], [r["sentence2"] for r in rows], truncation=True,
                        max_length=64, padding=True, return_tensors="pt")
    with torch.no_grad():
        predicted = model(**encoded).logits[:, 0].double().numpy()
    targets = [score(i, r) for i, r in enumerate(rows)]
    assert final["eval_pearson"] == pytest.approx(pearsonr(predicted, targets)[0], abs=1e-5)
    assert final["eval_spearmanr"] == pytest.approx(spearmanr(predicted, targets)[0], abs=1e-5)
    mse = float(((predicted - targets) ** 2).mean())
    assert final["eval_mse"] == pytest.approx(mse, rel=1e-4) and final["eval_loss"] == pytest.approx(mse, rel=1e-4)
    assert final["eval_pearson"] > 0.3, "the model learned nothing: a weak comparison"


def test_three_classes_from_a_json_array_sort_their_labels_and_pipeline_names_them(tmp_path, worker_binary,
                                                                                   headless_model_dir, shared_data):
    from sklearn.metrics import accuracy_score, f1_score
    rows = mrpc_rows(shared_data, "train", 48)
    kind = lambda r: ["plain", "comma", "quoted"][int("," in r["sentence1"]) + int('"' in r["sentence1"] or
                                                                                    "'" in r["sentence1"])]
    records = [{"claim": r["sentence1"], "evidence": r["sentence2"], "verdict": kind(r)} for r in rows]
    (tmp_path / "claims.json").write_text(json.dumps(records))
    final, output = train(worker_binary, tmp_path, "three",
                          f"train_file: {tmp_path / 'claims.json'}\nvalidation_file: {tmp_path / 'claims.json'}\n"
                          f"label_column_name: verdict\nmodel: {headless_model_dir}\n", epochs=8)
    labels = sorted({record["verdict"] for record in records})  # run_glue.py's label_list
    config = json.loads((output / "config.json").read_text())
    assert config["id2label"] == {str(i): name for i, name in enumerate(labels)}
    classifier = pipeline("text-classification", model=str(output), tokenizer=str(output))
    answers = classifier([{"text": r["claim"], "text_pair": r["evidence"]} for r in records[:4]])
    assert all(answer["label"] in labels for answer in answers)
    tokenizer = BertTokenizerFast.from_pretrained(str(output))
    model = BertForSequenceClassification.from_pretrained(str(output), attn_implementation="eager").eval()
    encoded = tokenizer([r["claim"] for r in records], [r["evidence"] for r in records], truncation=True,
                        max_length=64, padding=True, return_tensors="pt")
    with torch.no_grad():
        predicted = model(**encoded).logits.argmax(-1).tolist()
    truth = [labels.index(record["verdict"]) for record in records]
    assert [answer["label"] for answer in answers] == [labels[p] for p in predicted[:4]]
    assert final["eval_accuracy"] == pytest.approx(accuracy_score(truth, predicted), abs=1e-12)
    assert final["eval_macro_f1"] == pytest.approx(f1_score(truth, predicted, average="macro"), abs=1e-12)
    assert "eval_f1" not in final
    assert len(set(predicted)) > 1, "constant predictions: a weak comparison"


def test_one_sentence_tsv_with_integer_labels(tmp_path, worker_binary, headless_model_dir, shared_data):
    from sklearn.metrics import accuracy_score, f1_score
    rows = mrpc_rows(shared_data, "train", 48)
    with open(tmp_path / "sentences.tsv", "w", newline="") as f:
        writer = csv.writer(f, delimiter="\t")
        writer.writerow(["review", "stars"])
        for r in rows:
            writer.writerow([r["sentence1"], 5 if "," in r["sentence1"] else 1])
    final, output = train(worker_binary, tmp_path, "one",
                          f"train_file: {tmp_path / 'sentences.tsv'}\nvalidation_file: {tmp_path / 'sentences.tsv'}\n"
                          f"label_column_name: stars\nmodel: {headless_model_dir}\n", epochs=8)
    assert json.loads((output / "config.json").read_text())["id2label"] == {"0": "1", "1": "5"}
    tokenizer = BertTokenizerFast.from_pretrained(str(output))
    model = BertForSequenceClassification.from_pretrained(str(output), attn_implementation="eager").eval()
    encoded = tokenizer([r["sentence1"] for r in rows], truncation=True, max_length=64, padding=True,
                        return_tensors="pt")  # one sentence: no second segment
    with torch.no_grad():
        predicted = model(**encoded).logits.argmax(-1).tolist()
    truth = [int("," in r["sentence1"]) for r in rows]
    assert final["eval_accuracy"] == pytest.approx(accuracy_score(truth, predicted), abs=1e-12)
    assert final["eval_f1"] == pytest.approx(f1_score(truth, predicted), abs=1e-12)
    assert len(set(predicted)) > 1, "constant predictions: a weak comparison"


@pytest.mark.parametrize("case", ["unseen_label", "ragged_row", "wrong_metric"])
def test_bad_input_fails_before_training_naming_file_line_and_column(tmp_path, worker_binary, tiny_model_dir, case):
    (tmp_path / "train.csv").write_text("text,label\nfine day,yes\nbad day,no\nso so,maybe\n")
    validation = {"unseen_label": "text,label\nok,yes\nmeh,perhaps\n", "ragged_row": "text,label\nok,yes\nmeh\n",
                  "wrong_metric": "text,label\nok,yes\n"}[case]
    (tmp_path / "dev.csv").write_text(validation)
    extra = "metric_for_best_model: f1\nload_best_model_at_end: true\nsave_strategy: epoch\n" \
        if case == "wrong_metric" else ""
    job = tmp_path / "job.yaml"
    job.write_text(f"train_file: {tmp_path / 'train.csv'}\nvalidation_file: {tmp_path / 'dev.csv'}\n"
                   f"model: {tiny_model_dir}\neval_strategy: epoch\n" + extra)
    output = tmp_path / "out"
    result = subprocess.run([str(worker_binary), "train", "--job", str(job), "--output", str(output)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    expected = {
        "unseen_label": f"{tmp_path / 'dev.csv'}:3: column label: label 'perhaps' does not occur in the train file, "
                        "whose labels are maybe, no, yes",
        "ragged_row": f"{tmp_path / 'dev.csv'}:3: expected 2 comma-separated fields as in the header, got 1",
        "wrong_metric": f"metric_for_best_model: train_file {tmp_path / 'train.csv'} has 3 labels, whose evaluation "
                        "reports loss, accuracy, macro_f1, not f1",
    }[case]
    assert expected in result.stderr
    assert "training:" not in result.stderr and not (output / "config.json").exists()


def predict(worker_binary, model_dir, job_text, tmp_path):
    job = tmp_path / "predict.yaml"
    job.write_text(job_text)
    result = subprocess.run([str(worker_binary), "predict", "--model", str(model_dir), "--job", str(job),
                             "--output-dir", str(tmp_path / "predictions")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def results_file(path):
    lines = path.read_text().splitlines()
    assert lines[0] == "index\tprediction"  # run_glue.py's header
    return [line.split("\t") for line in lines[1:]]


def test_predict_writes_label_names_for_a_test_file_without_labels_as_pipeline_answers(
        tmp_path, worker_binary, headless_model_dir, shared_data):
    rows = mrpc_rows(shared_data, "train", 48)
    kind = lambda r: ["plain", "comma"][int("," in r["sentence1"])]
    with open(tmp_path / "train.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps({"text": r["sentence1"], "kind": kind(r)}) + "\n")
    unseen = mrpc_rows(shared_data, "test", 20)
    with open(tmp_path / "test.csv", "w", newline="") as f:  # another format, and no label column
        writer = csv.writer(f)
        writer.writerow(["text"])
        writer.writerows([[r["sentence1"]] for r in unseen])
    spec = (f"train_file: {tmp_path / 'train.jsonl'}\nvalidation_file: {tmp_path / 'train.jsonl'}\n"
            f"test_file: {tmp_path / 'test.csv'}\nlabel_column_name: kind\nmodel: {headless_model_dir}\n")
    _, output = train(worker_binary, tmp_path, "kinds", spec, epochs=8)
    printed = predict(worker_binary, output, spec + "max_seq_length: 64\n", tmp_path)
    assert "wrote 20 predictions" in printed.stdout and "labelled" not in printed.stdout
    written = results_file(tmp_path / "predictions" / "predict_results.txt")
    classifier = pipeline("text-classification", model=str(output), tokenizer=str(output))
    answers = classifier([r["sentence1"] for r in unseen], truncation=True, max_length=64)
    assert written == [[str(i), answer["label"]] for i, answer in enumerate(answers)]
    assert len({label for _, label in written}) > 1, "constant predictions: a weak comparison"


def test_predict_writes_regression_scores_as_run_glue_formats_them(tmp_path, worker_binary, headless_model_dir,
                                                                   shared_data):
    rows = mrpc_rows(shared_data, "train", 48)
    with open(tmp_path / "scores.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sentence1", "sentence2", "label"])
        writer.writerows([[r["sentence1"], r["sentence2"], 0.5 + 3 * int("," in r["sentence1"])] for r in rows])
    spec = (f"train_file: {tmp_path / 'scores.csv'}\nvalidation_file: {tmp_path / 'scores.csv'}\n"
            f"test_file: {tmp_path / 'scores.csv'}\nmodel: {headless_model_dir}\n")
    _, output = train(worker_binary, tmp_path, "scores", spec, epochs=8)
    printed = predict(worker_binary, output, spec + "max_seq_length: 64\n", tmp_path)
    assert "labelled 48" in printed.stdout and "pearson" in printed.stdout  # a labelled test file is also scored
    written = results_file(tmp_path / "predictions" / "predict_results.txt")
    tokenizer = BertTokenizerFast.from_pretrained(str(output))
    model = BertForSequenceClassification.from_pretrained(str(output), attn_implementation="eager").eval()
    encoded = tokenizer([r["sentence1"] for r in rows], [r["sentence2"] for r in rows], truncation=True,
                        max_length=64, padding=True, return_tensors="pt")
    with torch.no_grad():
        scores = model(**encoded).logits[:, 0].tolist()
    assert [index for index, _ in written] == [str(i) for i in range(48)]
    for (_, text), score in zip(written, scores):
        assert abs(float(text) - score) <= 0.0005 + 1e-5, (text, score)  # "%3.3f", as run_glue.py writes
        assert text == f"{float(text):3.3f}"
