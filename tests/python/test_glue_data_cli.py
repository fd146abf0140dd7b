"""`bertfleet-worker data --task T` on GLUE-distribution folders built from the real MRPC
sentences (no other GLUE data reaches these machines): RTE with string labels, STS-B with
scores, QQP with a malformed row that is skipped and said; the label counts equal those of the
rows written, and a bad label stops with the file, line and column."""
import csv
import json
import subprocess

import pytest


@pytest.fixture(scope="module")
def mrpc_rows(shared_data):
    with open(shared_data / "mrpc" / "validation.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def data(worker_binary, *args):
    return subprocess.run([str(worker_binary), "data", *args], capture_output=True, text=True, timeout=60)


def test_rte_stsb_qqp_counts_and_skips(tmp_path, worker_binary, mrpc_rows):
    glue = tmp_path / "glue_data"
    (glue / "RTE").mkdir(parents=True)
    names = ["entailment", "not_entailment"]
    with open(glue / "RTE" / "dev.tsv", "w") as f:
        f.write("index\tsentence1\tsentence2\tlabel\n")
        for i, r in enumerate(mrpc_rows):
            f.write(f"{i}\t{r['sentence1']}\t{r['sentence2']}\t{names[1 - int(r['label'])]}\n")
    result = data(worker_binary, "--task", "rte", "--source", str(glue), "--split", "validation", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    positives = sum(int(r["label"]) for r in mrpc_rows)
    assert out["rows"] == len(mrpc_rows) == 408
    assert out["labels"] == {"entailment": positives, "not_entailment": len(mrpc_rows) - positives}

    (glue / "STS-B").mkdir()
    with open(glue / "STS-B" / "train.tsv", "w") as f:
        f.write("index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n")
        for i, r in enumerate(mrpc_rows):
            f.write(f"{i}\tnews\tf\t2012\t{i}\tn\tn\t{r['sentence1']}\t{r['sentence2']}\t{int(r['label']) * 4 + (i % 6) * 0.2:.1f}\n")
    text = data(worker_binary, "--task", "stsb", "--source", str(glue / "STS-B"))
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith(f"task=stsb split=train rows={len(mrpc_rows)} score_min=0 score_max=5 ")

    (glue / "QQP").mkdir()
    with open(glue / "QQP" / "train.tsv", "w") as f:
        f.write("id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n")
        for i, r in enumerate(mrpc_rows[:5]):
            f.write(f"{i}\t{2 * i}\t{2 * i + 1}\t{r['sentence1']}\t{r['sentence2']}\t{r['label']}\n")
        f.write("5\t10\t11\tWhat is\nbroken ?\tx\t0\n")
    qqp = data(worker_binary, "--task", "qqp", "--source", str(glue), "--json")
    assert qqp.returncode == 0, qqp.stderr
    assert json.loads(qqp.stdout)["rows"] == 5 and json.loads(qqp.stdout)["skipped"] == 2
    assert "QQP/train.tsv:7: expected 6 tab-separated fields as in the header, got 4; row skipped" in qqp.stderr


def test_bad_label_and_unknown_task_are_clear_errors(tmp_path, worker_binary):
    (tmp_path / "MNLI").mkdir()
    (tmp_path / "MNLI" / "dev_matched.tsv").write_text(
        "index\tsentence1\tsentence2\tgold_label\n0\tA man .\tA person .\tentailment\n1\tA .\tB .\tmaybe\n")
    bad = data(worker_binary, "--task", "mnli", "--source", str(tmp_path), "--split", "validation_matched")
    assert bad.returncode != 0
    assert (f"{tmp_path}/MNLI/dev_matched.tsv:3: column gold_label: unknown label 'maybe', expected one of "
            "entailment, neutral, contradiction") in bad.stderr
    unknown = data(worker_binary, "--task", "glue", "--source", str(tmp_path))
    assert unknown.returncode != 0 and "--task: unknown task 'glue'" in unknown.stderr
