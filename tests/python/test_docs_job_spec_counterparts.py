"""docs/job-spec.md gives every key a default and its Hugging Face counterpart: the keys of the
`TrainingArguments` tables are real TrainingArguments fields (transformers 4.46), the first table
names each key's counterpart, and bertfleet's own keys are not Hugging Face names."""
import dataclasses
import re

import transformers


def tables(text):
    """{section title: [(key, default, third column)]} of the doc's key tables."""
    found, section = {}, None
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        match = re.match(r"^\| (`[^|]*)\| ([^|]*)\| ([^|]*)\|", line)
        if section and match:
            for key in re.findall(r"`([a-z_0-9]+)`", match.group(1)):  # a row may list several keys
                found.setdefault(section, []).append((key, match.group(2).strip(), match.group(3).strip()))
    return found


def test_every_key_has_a_default_and_a_counterpart(source_dir):
    sections = tables((source_dir / "docs" / "job-spec.md").read_text())
    hf_fields = {field.name for field in dataclasses.fields(transformers.TrainingArguments)}
    keys = set(re.findall(r'Field\("([a-z_0-9]+)"', (source_dir / "common/config/job_spec_fields.cc").read_text()))
    rows = [row for section in sections.values() for row in section]
    assert keys <= {row[0] for row in rows}, f"keys without a table row: {sorted(keys - {r[0] for r in rows})}"
    for key, default, _ in rows:
        assert default, f"{key}: no default"
    for title, section in sections.items():
        for key, _, third in section:
            if "TrainingArguments" in title or title.startswith("Evaluation"):
                assert key in hf_fields, f"{key} ({title}) is not a TrainingArguments field"
            elif title.startswith("What to train"):
                assert third, f"{key}: no Hugging Face counterpart"
            elif title.startswith("bertfleet"):
                assert key not in hf_fields, f"{key} is a Hugging Face name: move it to its table"
