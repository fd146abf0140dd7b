"""AdamW, gradient clipping and the learning-rate schedules equal torch.optim.AdamW +
transformers' get_scheduler on the same gradients and Hugging Face parameter groups."""
import subprocess

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import get_scheduler

NAMES = ["dense_weight", "dense_bias", "LayerNorm_weight", "LayerNorm_bias", "embeddings_weight"]
SHAPES = [(7, 5), (7,), (5,), (5,), (11, 5)]


def no_decay(name):
    return name.endswith("bias") or "LayerNorm" in name


def run_reference(params, grads, lr, weight_decay, warmup, total, schedule, max_grad_norm):
    tensors = {n: torch.nn.Parameter(p.clone()) for n, p in params.items()}
    groups = [
        {"params": [t for n, t in tensors.items() if not no_decay(n)], "weight_decay": weight_decay},
        {"params": [t for n, t in tensors.items() if no_decay(n)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8)
    scheduler = get_scheduler(schedule, optimizer, num_warmup_steps=warmup, num_training_steps=total)
    rates = []
    for step_grads in grads:
        for n, t in tensors.items():
            t.grad = step_grads[n].clone()
        torch.nn.utils.clip_grad_norm_(list(tensors.values()), max_grad_norm)
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return {n: t.detach() for n, t in tensors.items()}, rates


@pytest.mark.parametrize("schedule", ["linear", "cosine", "constant_with_warmup"])
def test_adamw_and_schedule_match_torch(tmp_path, build_dir, schedule):
    torch.manual_seed(0)
    steps, warmup, total, lr, wd = 12, 3, 12, 2e-3, 0.1
    params = {n: torch.randn(s) for n, s in zip(NAMES, SHAPES)}
    # Large gradients on some steps so clipping (max norm 1.0) is exercised.
    grads = [{n: torch.randn(s) * (5.0 if k % 3 == 0 else 0.05) for n, s in zip(NAMES, SHAPES)} for k in range(steps)]
    blob = {f"param/{n}": p for n, p in params.items()}
    for k, step_grads in enumerate(grads):
        blob.update({f"grad/{k}/{n}": g for n, g in step_grads.items()})
    meta = {"lr": repr(lr), "weight_decay": repr(wd), "warmup_steps": str(warmup), "total_steps": str(total),
            "steps": str(steps), "schedule": schedule, "max_grad_norm": "1.0"}
    save_file(blob, tmp_path / "in.safetensors", metadata=meta)
    tool = build_dir / "tests" / "tools" / "optimizer_oracle_tool"
    subprocess.run([str(tool), str(tmp_path / "in.safetensors"), str(tmp_path / "out.safetensors")], check=True)
    ours = load_file(tmp_path / "out.safetensors")

    expected, rates = run_reference(params, grads, lr, wd, warmup, total, schedule, 1.0)
    assert ours["lr"].tolist() == pytest.approx(rates, rel=1e-12, abs=1e-15)
    for n in NAMES:
        moved = (expected[n] - params[n]).abs().max().item()
        assert moved > 1e-4, f"{n} did not move; the comparison would be vacuous"
        torch.testing.assert_close(ours[f"param/{n}"], expected[n], rtol=1e-5, atol=1e-6, msg=f"parameter {n}")
