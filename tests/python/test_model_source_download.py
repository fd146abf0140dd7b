"""ResolveModel against a real HTTP server: the hub stand-in in hub_server.py on 127.0.0.1.

`bertfleet-worker resolve-model` downloads a tiny repository into a temporary HF_HOME in the hub
cache layout; a second run with HF_HUB_OFFLINE=1 and the server stopped finds it there; and
huggingface_hub itself, offline, reads the same cache entry, which shows the layout is the one
Python tools expect.
"""
import os
import pathlib
import subprocess

import pytest

import hub_server

REPO_ID = "example-org/tiny-bert"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
FILES = {
    "config.json": '{"model_type": "bert", "hidden_size": 8}',
    "vocab.txt": "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n",
    "tokenizer_config.json": '{"do_lower_case": true}',
    "model.safetensors": bytes(range(256)) * 4,
}


@pytest.fixture()
def resolve(worker_binary, tmp_path):
    def run(name, **env_overrides):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_", "BERTFLEET_PYTHON"))}
        env.update({"HF_HOME": str(tmp_path / "hf"), "HOME": str(tmp_path / "home")})
        env.update(env_overrides)
        return subprocess.run([str(worker_binary), "resolve-model", name], env=env, capture_output=True,
                              text=True, timeout=60)

    probe = run("--help")
    if "unknown command" in probe.stderr:
        pytest.skip("bertfleet-worker has no resolve-model subcommand registered yet")
    return run


def test_download_then_offline(resolve, tmp_path):
    root = tmp_path / "server"
    hub_server.write_repo(root, REPO_ID, FILES, commit=COMMIT, token="hf_test_token")
    server = hub_server.start(root)
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        unauthorised = resolve(REPO_ID, HF_ENDPOINT=endpoint)
        assert unauthorised.returncode == 1
        assert "HTTP 401" in unauthorised.stderr and "HF_TOKEN" in unauthorised.stderr

        downloaded = resolve(REPO_ID, HF_ENDPOINT=endpoint, HF_TOKEN="hf_test_token")
        assert downloaded.returncode == 0, downloaded.stderr
    finally:
        server.shutdown()
        server.server_close()

    repo = tmp_path / "hf" / "hub" / "models--example-org--tiny-bert"
    snapshot = repo / "snapshots" / COMMIT
    assert pathlib.Path(downloaded.stdout.strip()) == snapshot
    assert (repo / "refs" / "main").read_text() == COMMIT
    for name, content in FILES.items():
        expected = content if isinstance(content, bytes) else content.encode()
        assert (snapshot / name).read_bytes() == expected, name
        assert (snapshot / name).resolve().parent == (repo / "blobs").resolve(), name
    assert not (snapshot / "tokenizer.json").exists()
    assert not [p for p in (repo / "blobs").iterdir() if "incomplete" in p.name]

    offline = resolve(REPO_ID, HF_ENDPOINT=endpoint, HF_HUB_OFFLINE="1")
    assert offline.returncode == 0, offline.stderr
    assert pathlib.Path(offline.stdout.strip()) == snapshot

    # huggingface_hub reads what bertfleet wrote, offline.
    from huggingface_hub import snapshot_download

    found = snapshot_download(REPO_ID, cache_dir=str(tmp_path / "hf" / "hub"), local_files_only=True)
    assert pathlib.Path(found) == snapshot


def test_offline_miss_lists_every_place(resolve, tmp_path):
    result = resolve(REPO_ID, HF_HUB_OFFLINE="1")
    assert result.returncode == 1
    assert f'model "{REPO_ID}" not found; looked in:' in result.stderr
    assert "models--example-org--tiny-bert: not cached (no refs/main)" in result.stderr
    assert "downloads disabled: HF_HUB_OFFLINE=1" in result.stderr


def test_default_model_from_the_venv_package(resolve, source_dir, minilm_dir):
    result = resolve("sentence-transformers/all-MiniLM-L6-v2", BERTFLEET_VENV=str(source_dir / ".venv"),
                     HF_HUB_OFFLINE="1")
    assert result.returncode == 0, result.stderr
    assert pathlib.Path(result.stdout.strip()).resolve() == minilm_dir.resolve()
