"""Data in, models out, through the API: a client that shares no file system with the cluster.
`bertfleet submit` checks and uploads the local CSV files a spec names (sha256-addressed, once),
the files are deleted as soon as submit returns, a real worker agent fetches them from the
coordinator by digest and trains, and `bertfleet download` brings the model back, sha256-checked,
for transformers to load. Also: the upload size limit, an abandoned upload leaving nothing, users
isolated from each other's uploads and jobs, bad rows caught before anything is sent."""
import csv
import hashlib
import json
import os
import pathlib
import shutil
import subprocess

import grpc
import pytest
import torch
from transformers import BertForSequenceClassification, BertTokenizerFast

from worker_fleet import AgentFleet

MAX_UPLOAD_BYTES = 300_000


@pytest.fixture(scope="module")
def fleet(coordinator_binary, worker_binary, cli_binary, bertfleet_pb, tmp_path_factory, tiny_model_dir, shared_data):
    instance = AgentFleet(coordinator_binary, worker_binary, cli_binary, bertfleet_pb, tmp_path_factory.mktemp("up"),
                          tiny_model_dir, shared_data, workers=("w1",),
                          coordinator_config=f"max_upload_bytes: {MAX_UPLOAD_BYTES}\n")
    yield instance
    instance.stop()


def uploads_dir(fleet):
    return fleet.coordinator.state_dir / "uploads"


def write_client_files(directory, shared_data, rows=64):
    """MRPC rows as a client's own CSV files: other column names, labels no/yes."""
    directory.mkdir(parents=True, exist_ok=True)
    for split, name in (("train", "train.csv"), ("validation", "dev.csv")):
        with open(shared_data / "mrpc" / f"{split}.tsv", newline="") as f:
            source = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[:rows]
        with open(directory / name, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["first", "second", "paraphrase"])
            writer.writerows([[r["sentence1"], r["sentence2"], ["no", "yes"][int(r["label"])]] for r in source])
    (directory / "job.yaml").write_text(
        "model: tiny\ntrain_file: train.csv\nvalidation_file: dev.csv\ntext_column_names: first,second\n"
        "label_column_name: paraphrase\nmax_seq_length: 64\nper_device_train_batch_size: 8\nnum_train_epochs: 2\n"
        "learning_rate: 1.0e-3\neval_strategy: epoch\nsave_strategy: epoch\nthreads: 1\nseed: 3\n"
        "load_best_model_at_end: true\nmetric_for_best_model: f1\n")


def cli(fleet, *args, cwd=None, token=None):
    return subprocess.run([str(fleet.cli_binary), "--coordinator", fleet.coordinator.address, *args],
                          capture_output=True, text=True, timeout=120, cwd=cwd,
                          env=fleet.coordinator.client_env(token))


def content_files(fleet):
    return sorted(p.name for p in uploads_dir(fleet).iterdir() if p.is_file())


def test_submit_uploads_local_files_and_download_returns_a_model_transformers_loads(fleet, tmp_path, shared_data):
    client = tmp_path / "laptop"
    write_client_files(client, shared_data)
    expected = {name: hashlib.sha256((client / name).read_bytes()).hexdigest() for name in ("train.csv", "dev.csv")}
    submitted = cli(fleet, "--json", "submit", "job.yaml", cwd=client)
    assert submitted.returncode == 0, submitted.stderr
    assert "train.csv: uploaded" in submitted.stderr and "dev.csv: uploaded" in submitted.stderr
    job_id = json.loads(submitted.stdout)["id"]
    shutil.rmtree(client)  # nothing of the client's is needed any more
    spec = fleet.job(job_id).spec_yaml
    assert f"sha256:{expected['train.csv']}/train.csv" in spec and f"sha256:{expected['dev.csv']}/dev.csv" in spec
    assert set(expected.values()) <= set(content_files(fleet))  # stored by content

    job = fleet.wait_state(job_id, "SUCCEEDED", timeout=180)
    assert job.final_metrics.evaluated and 0 <= job.final_metrics.eval_accuracy <= 1, fleet.logs()
    # The client's files are gone and the data root never had them: the worker got them by digest.
    assert not list(fleet.coordinator.data_root.rglob("train.csv"))

    model = tmp_path / "model"
    downloaded = cli(fleet, "download", job_id, "--to", str(model))
    assert downloaded.returncode == 0, downloaded.stderr
    assert f"downloaded final of {job_id}" in downloaded.stdout and "sha256 checked" in downloaded.stdout
    source = pathlib.Path(job.output_dir)
    for name in ("model.safetensors", "config.json", "vocab.txt"):
        assert (model / name).read_bytes() == (source / name).read_bytes(), name
    assert not list(model.glob(".*.part"))
    config = json.loads((model / "config.json").read_text())
    assert config["id2label"] == {"0": "no", "1": "yes"}
    tokenizer = BertTokenizerFast.from_pretrained(str(model))
    loaded = BertForSequenceClassification.from_pretrained(str(model)).eval()
    with torch.no_grad():
        logits = loaded(**tokenizer("A man plays.", "Someone is playing.", return_tensors="pt")).logits
    assert logits.shape == (1, 2) and torch.isfinite(logits).all()

    # A checkpoint too: its own manifest comes along; an unknown step names the ones there are.
    last = tmp_path / "last"
    assert cli(fleet, "download", job_id, "--checkpoint", "last", "--to", str(last)).returncode == 0
    manifest = json.loads((last / "bertfleet_manifest.json").read_text())
    for name, sha in manifest["files"].items():
        assert hashlib.sha256((last / name).read_bytes()).hexdigest() == sha
    best = tmp_path / "best"
    fetched = cli(fleet, "download", job_id, "--checkpoint", "best", "--to", str(best))
    assert fetched.returncode == 0, fetched.stderr
    best_name = pathlib.Path(json.loads((model / "trainer_state.json").read_text())["best_model_checkpoint"]).name
    assert f"downloaded {best_name} of {job_id}" in fetched.stdout
    assert (best / "model.safetensors").read_bytes() == (source / best_name / "model.safetensors").read_bytes()
    missing = cli(fleet, "download", job_id, "--checkpoint", "999", "--to", str(tmp_path / "none"))
    assert missing.returncode == 1 and "no checkpoint-999; its checkpoints: 8, 16" in missing.stderr

    # The same files again: nothing is sent, nothing new is stored.
    write_client_files(client, shared_data)
    before = content_files(fleet)
    again = cli(fleet, "--json", "submit", "job.yaml", cwd=client)
    assert again.returncode == 0, again.stderr
    assert "train.csv: already uploaded" in again.stderr and "uploaded 0" not in again.stderr
    assert content_files(fleet) == before
    fleet.wait_state(json.loads(again.stdout)["id"], "SUCCEEDED", timeout=180)


def test_users_see_only_their_own_uploads_and_models(fleet, tmp_path, shared_data):
    client = tmp_path / "alice"
    write_client_files(client, shared_data, rows=32)
    alice = fleet.coordinator.create_token("alice", "user")
    bob = fleet.coordinator.create_token("bob", "user")
    submitted = cli(fleet, "--json", "submit", "job.yaml", cwd=client, token=alice)
    assert submitted.returncode == 0, submitted.stderr
    job_id = json.loads(submitted.stdout)["id"]
    reference = [line.split(": ", 1)[1] for line in fleet.job(job_id).spec_yaml.splitlines()
                 if line.startswith("train_file:")][0]
    # Bob knows the digest (it is in no secret place) but never sent the bytes: refused.
    (tmp_path / "bob.yaml").write_text(f"model: tiny\ntrain_file: {reference}\n")
    refused = cli(fleet, "submit", str(tmp_path / "bob.yaml"), token=bob)
    assert refused.returncode == 1
    assert "INVALID_ARGUMENT" in refused.stderr and "is not a file you uploaded" in refused.stderr
    fleet.wait_state(job_id, "SUCCEEDED", timeout=180)
    denied = cli(fleet, "download", job_id, "--to", str(tmp_path / "stolen"), token=bob)
    assert denied.returncode == 1 and "PERMISSION_DENIED" in denied.stderr
    assert not (tmp_path / "stolen").exists()
    # A worker token cannot upload (uploads are for users).
    channel = fleet.coordinator.channel_for(fleet.coordinator.worker_token)
    files = fleet.pb.files_grpc.FileServiceStub(channel)
    header = fleet.pb.files.UploadFileRequest(header=fleet.pb.files.UploadHeader(name="x.csv", size=1, sha256="0" * 64))
    with pytest.raises(grpc.RpcError) as error:
        files.UploadFile(iter([header]), timeout=10)
    assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_the_size_limit_and_an_abandoned_upload_leave_nothing_behind(fleet, tmp_path, shared_data):
    client = tmp_path / "big"
    write_client_files(client, shared_data)
    with open(client / "train.csv", "a") as f:  # past max_upload_bytes
        while f.tell() <= MAX_UPLOAD_BYTES:
            f.write('"A long sentence, repeated to make the file large.","Another one.",yes\n')
    before = sorted(os.listdir(uploads_dir(fleet)))
    refused = cli(fleet, "submit", "job.yaml", cwd=client)
    assert refused.returncode == 1
    assert "train.csv: upload refused: RESOURCE_EXHAUSTED" in refused.stderr
    assert f"at most {MAX_UPLOAD_BYTES} bytes (its max_upload_bytes setting)" in refused.stderr

    # A client that sends half its bytes and goes away: nothing a job could see is left.
    data = (client / "dev.csv").read_bytes() + b'"Bytes no one","uploaded before",no\n'
    digest = hashlib.sha256(data).hexdigest()
    files = fleet.pb.files_grpc.FileServiceStub(fleet.coordinator.channel)
    header = fleet.pb.files.UploadFileRequest(header=fleet.pb.files.UploadHeader(name="dev-half.csv", size=len(data),
                                                                                 sha256=digest))
    half = fleet.pb.files.UploadFileRequest(chunk=data[:len(data) // 2])
    with pytest.raises(grpc.RpcError) as error:
        files.UploadFile(iter([header, half]), timeout=10)  # the stream ends early
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "ended after" in error.value.details()
    wrong = fleet.pb.files.UploadFileRequest(chunk=data[:-1] + b"X")
    with pytest.raises(grpc.RpcError) as error:
        files.UploadFile(iter([header, wrong]), timeout=10)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "sha256" in error.value.details()
    with pytest.raises(grpc.RpcError) as error:
        files.GetUpload(fleet.pb.files.GetUploadRequest(sha256=digest, name="dev.csv"), timeout=10)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    assert sorted(os.listdir(uploads_dir(fleet))) == before  # no content, no temporary file


def test_a_bad_row_is_reported_before_anything_is_uploaded(fleet, tmp_path, shared_data):
    client = tmp_path / "typo"
    write_client_files(client, shared_data, rows=16)
    with open(client / "dev.csv", "a") as f:
        f.write("only one field\n")
    before = sorted(os.listdir(uploads_dir(fleet)))
    refused = cli(fleet, "submit", "job.yaml", cwd=client)
    assert refused.returncode == 1
    assert "dev.csv:18: expected 3 comma-separated fields as in the header, got 1" in refused.stderr
    assert "uploaded" not in refused.stderr and sorted(os.listdir(uploads_dir(fleet))) == before
