"""Hugging Face TrainingArguments defaults, the oracle for JobSpec's defaults.

tests/data/hf_training_arguments_defaults.json holds the declared defaults of every scalar
TrainingArguments field in transformers 4.46; tests/cpp/job_spec_test.cc compares JobSpec{} with
it key by key. This test regenerates the file from the installed transformers and fails on any
difference, so the C++ side never compares against a stale copy.

Regenerate after a deliberate transformers upgrade:
    .venv/bin/python tests/python/test_job_spec_defaults.py --write
"""
import dataclasses
import difflib
import enum
import json
import pathlib
import sys

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
DEFAULTS_FILE = SOURCE_DIR / "tests" / "data" / "hf_training_arguments_defaults.json"


def current_defaults() -> dict:
    # The dataclass defaults, not TrainingArguments(output_dir=...): __post_init__ resolves some
    # of them (eval_steps, metric_for_best_model) and needs accelerate, which the venv lacks.
    # JobSpec keeps those unresolved too and resolves them through its helpers.
    import transformers
    from transformers import TrainingArguments

    defaults = {}
    for field in dataclasses.fields(TrainingArguments):
        value = field.default
        if value is dataclasses.MISSING:
            continue
        if isinstance(value, enum.Enum):
            value = value.value
        if value is None or isinstance(value, (bool, int, float, str)):
            defaults[field.name] = value
    return {
        "comment": "dataclasses.fields(transformers.TrainingArguments) scalar defaults, "
        "before __post_init__; regenerate with tests/python/test_job_spec_defaults.py --write",
        "transformers_version": transformers.__version__,
        "defaults": defaults,
    }


def render(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def test_transformers_is_the_pinned_version():
    import transformers

    assert transformers.__version__.startswith("4.46."), transformers.__version__


def test_committed_defaults_match_installed_transformers(tmp_path):
    regenerated = tmp_path / DEFAULTS_FILE.name
    regenerated.write_text(render(current_defaults()))
    committed = DEFAULTS_FILE.read_text()
    if committed != regenerated.read_text():
        diff = "".join(difflib.unified_diff(committed.splitlines(True), regenerated.read_text().splitlines(True),
                                            str(DEFAULTS_FILE), str(regenerated)))
        raise AssertionError(f"{DEFAULTS_FILE} is stale; run this file with --write\n{diff}")


def test_defaults_cover_the_training_arguments_jobspec_mirrors():
    # The C++ test skips keys missing from the file, so make sure the ones it relies on exist.
    defaults = json.loads(DEFAULTS_FILE.read_text())["defaults"]
    for key in ("learning_rate", "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon", "max_grad_norm",
                "num_train_epochs", "max_steps", "lr_scheduler_type", "warmup_ratio", "warmup_steps",
                "per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps",
                "seed", "data_seed", "bf16", "fp16", "eval_strategy", "eval_steps", "save_strategy", "save_steps",
                "save_total_limit", "load_best_model_at_end", "metric_for_best_model", "greater_is_better",
                "logging_steps", "group_by_length", "dataloader_drop_last", "resume_from_checkpoint",
                "ddp_bucket_cap_mb"):
        assert key in defaults, key


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(f"usage: {sys.argv[0]} --write")
    DEFAULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    DEFAULTS_FILE.write_text(render(current_defaults()))
    print(f"wrote {DEFAULTS_FILE}")
