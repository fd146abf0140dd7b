"""Numerical parity of bertfleet's BertForSequenceClassification with transformers'.

Drives tests/tools/model_parity_tool (built as build/tests/tools/model_parity_tool): it loads a model
directory, runs a padded batch in eval mode, computes the model's loss (cross-entropy, or MSE for a
regression head) and its backward, and writes logits, loss and every parameter gradient (Hugging
Face names) to a safetensors file.
"""
import json
import os
import pathlib
import shutil
import subprocess

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import BertConfig, BertForSequenceClassification

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=64, num_labels=3)


@pytest.fixture(scope="session")
def parity_tool(build_dir) -> pathlib.Path:
    path = pathlib.Path(os.environ.get("BERTFLEET_MODEL_PARITY_TOOL", build_dir / "tests" / "tools" / "model_parity_tool"))
    assert path.exists(), f"{path} not built"
    return path


def run_tool(tool, *args) -> str:
    result = subprocess.run([str(tool), *map(str, args)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stderr


def make_batch(path, vocab_size, lengths, seq, num_labels, seed=0):
    """Right-padded [CLS] ... [SEP] ... [SEP] pairs; token types 0/1; padding id 0, mask 0."""
    g = torch.Generator().manual_seed(seed)
    batch = len(lengths)
    input_ids = torch.zeros(batch, seq, dtype=torch.long)
    token_type_ids = torch.zeros(batch, seq, dtype=torch.long)
    attention_mask = torch.zeros(batch, seq, dtype=torch.long)
    low = min(1000, vocab_size // 2)
    for b, n in enumerate(lengths):
        input_ids[b, :n] = torch.randint(low, vocab_size, (n,), generator=g)
        input_ids[b, 0] = min(101, vocab_size - 1)
        token_type_ids[b, n // 2:n] = 1
        attention_mask[b, :n] = 1
    labels = torch.randint(0, num_labels, (batch,), generator=g)
    tensors = dict(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask, labels=labels)
    save_file(tensors, str(path))
    return tensors


def hf_forward_backward(model, batch, bf16=False):
    model.eval()
    model.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"],
                       attention_mask=batch["attention_mask"]).logits
    loss = torch.nn.functional.cross_entropy(logits.float(), batch["labels"])
    loss.backward()
    grads = {name: p.grad.detach().clone() for name, p in model.named_parameters()}
    return logits.detach().float(), loss.detach(), grads


def load_hf(directory):
    model, info = BertForSequenceClassification.from_pretrained(
        str(directory), attn_implementation="eager", output_loading_info=True)
    return model, info


def relative_error(a, b, floor=0.0):
    """||a - b|| / ||b||, with ||b|| floored at `floor` (gradients that are near zero hold mostly
    rounding noise)."""
    denominator = max(b.norm().item(), floor)
    if denominator == 0.0:
        return a.norm().item()
    return (a - b).norm().item() / denominator


def assert_parity(cpp, logits, loss, grads, grad_tol=1e-4, logit_tol=1e-5):
    assert cpp["logits"].shape == logits.shape
    max_diff = (cpp["logits"] - logits).abs().max().item()
    assert max_diff <= logit_tol, f"logits differ by {max_diff}"
    assert abs(cpp["loss"].item() - loss.item()) <= logit_tol
    assert {k[len("grad."):] for k in cpp if k.startswith("grad.")} == set(grads)
    largest = max(g.norm().item() for g in grads.values())
    # The key biases' gradients are analytically zero (softmax cancels a bias shared by every key)
    # and hold only rounding noise on both sides, which no relative bound can compare: both must
    # be noise-sized instead.
    analytically_zero = {n for n in grads if n.endswith("attention.self.key.bias")}
    for n in analytically_zero:
        size = max(cpp["grad." + n].norm().item(), grads[n].norm().item())
        assert size <= 1e-6 * largest, f"gradient of {n} should be zero, has norm {size:.3g}"
    floor = 1e-5 * largest
    worst = max((relative_error(cpp["grad." + n], g, floor), n) for n, g in grads.items() if n not in analytically_zero)
    assert worst[0] <= grad_tol, f"gradient of {worst[1]} differs by {worst[0]:.3g} (norm-relative)"


@pytest.fixture(scope="module")
def tiny_hf_dir(tmp_path_factory):
    """A random BertForSequenceClassification saved by transformers (safetensors), with every
    parameter perturbed so LayerNorm weights and biases are not trivially 1/0."""
    directory = tmp_path_factory.mktemp("tiny_hf")
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(**TINY))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.save_pretrained(str(directory))
    assert (directory / "model.safetensors").exists()
    return directory


def test_tiny_random_model_matches_transformers(tiny_hf_dir, tmp_path, parity_tool):
    batch = make_batch(tmp_path / "batch.safetensors", 99, [5, 12, 3, 9, 1], 12, 3)
    stderr = run_tool(parity_tool, "grad", tiny_hf_dir, tmp_path / "batch.safetensors", tmp_path / "out.safetensors")
    assert "newly initialized" not in stderr
    cpp = load_file(str(tmp_path / "out.safetensors"))
    model, _ = load_hf(tiny_hf_dir)
    assert_parity(cpp, *hf_forward_backward(model, batch))

    # Packing off (the padded computation) gives the same result.
    run_tool(parity_tool, "grad", tiny_hf_dir, tmp_path / "batch.safetensors", tmp_path / "padded.safetensors",
             "--no-pack")
    padded = load_file(str(tmp_path / "padded.safetensors"))
    assert (padded["logits"] - cpp["logits"]).abs().max().item() <= 1e-5


def test_cpp_saved_model_loads_in_transformers(tiny_hf_dir, tmp_path, parity_tool):
    run_tool(parity_tool, "save", tiny_hf_dir, tmp_path / "saved")
    batch = make_batch(tmp_path / "batch.safetensors", 99, [7, 4, 10], 10, 3, seed=1)
    model, info = load_hf(tmp_path / "saved")
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    assert model.config.num_labels == 3
    reference, _ = load_hf(tiny_hf_dir)
    for (name, a), (_, b) in zip(model.state_dict().items(), reference.state_dict().items()):
        assert torch.equal(a, b), name
    run_tool(parity_tool, "grad", tmp_path / "saved", tmp_path / "batch.safetensors", tmp_path / "out.safetensors")
    assert_parity(load_file(str(tmp_path / "out.safetensors")), *hf_forward_backward(model, batch))


def test_pytorch_model_bin_loads(tmp_path, parity_tool):
    torch.manual_seed(3)
    model = BertForSequenceClassification(BertConfig(**TINY))
    model.save_pretrained(str(tmp_path / "bin"), safe_serialization=False)
    assert (tmp_path / "bin" / "pytorch_model.bin").exists()
    assert not (tmp_path / "bin" / "model.safetensors").exists()
    batch = make_batch(tmp_path / "batch.safetensors", 99, [6, 8], 8, 3, seed=2)
    stderr = run_tool(parity_tool, "grad", tmp_path / "bin", tmp_path / "batch.safetensors",
                      tmp_path / "out.safetensors")
    assert "newly initialized" not in stderr
    model, _ = load_hf(tmp_path / "bin")
    assert_parity(load_file(str(tmp_path / "out.safetensors")), *hf_forward_backward(model, batch))

    # The pre-1.6 (non-zip) torch.save format is not readable by LibTorch: a clear error.
    torch.save(model.state_dict(), str(tmp_path / "bin" / "pytorch_model.bin"), _use_new_zipfile_serialization=False)
    result = subprocess.run([str(parity_tool), "grad", tmp_path / "bin", tmp_path / "batch.safetensors",
                             tmp_path / "legacy.safetensors"], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert str(tmp_path / "bin" / "pytorch_model.bin") in result.stderr
    assert "legacy pickle checkpoints are not supported" in result.stderr


def test_sharded_safetensors_loads(tiny_hf_dir, tmp_path, parity_tool):
    model, _ = load_hf(tiny_hf_dir)
    model.save_pretrained(str(tmp_path / "sharded"), max_shard_size="20KB")
    assert (tmp_path / "sharded" / "model.safetensors.index.json").exists()
    assert len(list((tmp_path / "sharded").glob("model-*-of-*.safetensors"))) > 1
    batch = make_batch(tmp_path / "batch.safetensors", 99, [6, 8, 2], 8, 3, seed=5)
    stderr = run_tool(parity_tool, "grad", tmp_path / "sharded", tmp_path / "batch.safetensors",
                      tmp_path / "out.safetensors")
    assert "newly initialized" not in stderr
    assert_parity(load_file(str(tmp_path / "out.safetensors")), *hf_forward_backward(model, batch))


@pytest.fixture(scope="module")
def minilm_with_classifier(minilm_dir, tmp_path_factory, parity_tool):
    """all-MiniLM-L6-v2 (a bare BertModel checkpoint) loaded by bertfleet, which initialises the
    classifier, and saved again so transformers sees the same classifier."""
    directory = tmp_path_factory.mktemp("minilm_cls") / "model"
    stderr = run_tool(parity_tool, "save", minilm_dir, directory, "--seed", 42)
    return directory, stderr


def test_minilm_load_report_matches_transformers(minilm_dir, minilm_with_classifier):
    _, stderr = minilm_with_classifier
    _, info = load_hf(minilm_dir)
    assert sorted(info["missing_keys"]) == ["classifier.bias", "classifier.weight"]
    assert (f"Some weights of BertForSequenceClassification were not initialized from the model checkpoint at "
            f"{minilm_dir} and are newly initialized: ['classifier.bias', 'classifier.weight']") in stderr
    assert "were not used" not in stderr  # embeddings.position_ids is an expected buffer


def test_minilm_matches_transformers(minilm_dir, minilm_with_classifier, tmp_path, parity_tool):
    saved, _ = minilm_with_classifier
    model, info = load_hf(saved)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    batch = make_batch(tmp_path / "batch.safetensors", 30522, [23, 40, 17, 31], 40, 2, seed=4)
    # Loading the original bare checkpoint with the same seed gives the same classifier.
    run_tool(parity_tool, "grad", minilm_dir, tmp_path / "batch.safetensors", tmp_path / "out.safetensors",
             "--seed", 42)
    cpp = load_file(str(tmp_path / "out.safetensors"))
    logits, loss, grads = hf_forward_backward(model, batch)
    assert_parity(cpp, logits, loss, grads)

    # bf16 autocast: close to fp32 and to transformers under torch.autocast.
    run_tool(parity_tool, "grad", minilm_dir, tmp_path / "batch.safetensors", tmp_path / "bf16.safetensors",
             "--seed", 42, "--bf16")
    bf16 = load_file(str(tmp_path / "bf16.safetensors"))
    hf_logits, hf_loss, hf_grads = hf_forward_backward(model, batch, bf16=True)
    scale = logits.abs().max().item()
    assert (bf16["logits"] - logits).abs().max().item() <= 0.05 * scale + 2e-3
    assert (bf16["logits"] - hf_logits).abs().max().item() <= 0.05 * scale + 2e-3
    assert abs(bf16["loss"].item() - loss.item()) <= 5e-3
    for name in ["classifier.weight", "bert.pooler.dense.weight", "bert.encoder.layer.5.output.dense.weight",
                 "bert.encoder.layer.0.attention.self.query.weight", "bert.embeddings.word_embeddings.weight"]:
        assert relative_error(bf16["grad." + name], grads[name]) < 0.1, name


@pytest.mark.parametrize("num_labels,problem", [(1, "regression"), (3, "single_label_classification")])
def test_regression_and_three_class_heads_match_transformers_own_loss(tmp_path, parity_tool, num_labels, problem):
    """The loss transformers' BertForSequenceClassification computes itself when given labels
    (MSE of the one output for num_labels 1, cross-entropy otherwise): logits, loss and every
    gradient equal in fp32."""
    directory = tmp_path / "model"
    torch.manual_seed(3)
    model = BertForSequenceClassification(BertConfig(**{**TINY, "num_labels": num_labels}))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.save_pretrained(str(directory))
    batch = make_batch(tmp_path / "batch.safetensors", 99, [6, 11, 2, 8], 11, max(num_labels, 2), seed=4)
    if problem == "regression":
        batch["labels"] = torch.rand(4, generator=torch.Generator().manual_seed(5)) * 5  # STS-B-like scores
        save_file(batch, str(tmp_path / "batch.safetensors"))
    run_tool(parity_tool, "grad", directory, tmp_path / "batch.safetensors", tmp_path / "out.safetensors")
    cpp = load_file(str(tmp_path / "out.safetensors"))

    hf, _ = load_hf(directory)
    hf.eval()
    out = hf(input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"],
             attention_mask=batch["attention_mask"], labels=batch["labels"])
    assert hf.config.problem_type == problem  # transformers' own choice from num_labels and the labels' dtype
    out.loss.backward()
    grads = {name: p.grad.detach().clone() for name, p in hf.named_parameters()}
    assert cpp["logits"].shape == (4, num_labels)
    assert_parity(cpp, out.logits.detach(), out.loss.detach(), grads)


def test_training_a_classification_task_refuses_a_regression_head(tmp_path, worker_binary, tiny_model_dir,
                                                                  shared_data):
    """MRPC's class ids fitted as numbers by a one-output head would train without error and mean
    nothing: the worker refuses before training, naming the config and the way out."""
    model = tmp_path / "stsb-model"  # a checkpoint whose config.json says regression
    shutil.copytree(tiny_model_dir, model)
    config = json.loads((model / "config.json").read_text())
    config["problem_type"] = "regression"
    (model / "config.json").write_text(json.dumps(config))
    job = tmp_path / "job.yaml"
    job.write_text(f"model: {model}\ndata: {shared_data / 'mrpc'}\nmax_train_samples: 8\n")
    result = subprocess.run([str(worker_binary), "train", "--job", str(job), "--output", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert ("config.json: task mrpc is single_label_classification, but the model is a regression head "
            "(num_labels 2, or problem_type)") in result.stderr, result.stderr
    assert not (tmp_path / "out" / "model.safetensors").exists()
