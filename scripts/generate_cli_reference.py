#!/usr/bin/env python3
"""Writes README.md's command reference from the binaries' own --help, so that the usage texts
and the README cannot drift apart (tests/python/test_cli_help.py runs this with --check).

  scripts/generate_cli_reference.py [--build DIR] [--check]
"""
import argparse
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
BEGIN = "<!-- cli-reference: written by scripts/generate_cli_reference.py from each --help -->"
END = "<!-- /cli-reference -->"
WORKER_COMMANDS = ["train", "evaluate", "predict", "tokenize", "data", "resolve-model", "run-assignment"]
CLI_COMMANDS = ["submit", "jobs", "status", "watch", "cancel", "workers", "download", "metrics", "plot", "sweep", "sweeps",
                "health", "token"]


def helps(build):
    """(name, argv) of every --help, in README order."""
    coordinator = str(build / "coordinator" / "bertfleet-coordinator")
    worker = str(build / "worker" / "bertfleet-worker")
    cli = str(build / "cli" / "bertfleet")
    yield "bertfleet", [cli, "--help"]
    for command in CLI_COMMANDS:
        yield f"bertfleet {command}", [cli, command, "--help"]
    yield "bertfleet-coordinator", [coordinator, "--help"]
    for command in WORKER_COMMANDS:
        yield f"bertfleet-worker {command}", [worker, command, "--help"]
    yield "bertfleet-worker (agent)", [worker, "--coordinator", "x", "--help"]


def run_help(argv):
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": "/nonexistent"})
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {result.returncode}: {result.stderr}")
    return result.stdout


def parse(text):
    usage = re.search(r"^usage: (.*)$", text, re.M).group(1)
    flags = re.findall(r"^  --([\w-]+)(?: VALUE)?$", text, re.M)
    env_section = re.search(r"^environment:\n((?:  .*\n)+)", text, re.M)
    env = re.findall(r"^  ([A-Z][A-Z0-9_]+)$", env_section.group(1), re.M) if env_section else []
    no_env = "environment: none read" in text
    example = re.search(r"^examples?:\n  (.*)$", text, re.M)
    return usage, flags, env, no_env, example.group(1) if example else ""


def code(items):
    return " ".join(f"`{cell(item)}`" for item in items)


def cell(text):
    return text.replace("|", "\\|")  # a table cell


def reference(build):
    rows = []
    top_flags, top_env = set(), []
    for name, argv in helps(build):
        usage, flags, env, no_env, example = parse(run_help(argv))
        if name == "bertfleet":
            top_flags, top_env = set(flags), env
        own = [f"--{flag}" for flag in flags if not (name.startswith("bertfleet ") and flag in top_flags)]
        if name.startswith("bertfleet ") and env == top_env:
            env_text = "as `bertfleet`"
        else:
            env_text = code(env) if env else ("none" if no_env else "")
        options = code(own)
        if name.startswith("bertfleet "):
            options = f"{options} and the options of `bertfleet`" if options else "the options of `bertfleet`"
        rows.append(f"| `{cell(usage)}` | {options} | {env_text} | `{cell(example)}` |")
    header = ["| command | options | environment | example |", "|---|---|---|---|"]
    return "\n".join([BEGIN, *header, *rows, END])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=pathlib.Path,
                        default=pathlib.Path(os.environ.get("BERTFLEET_BUILD_DIR", ROOT / "build")))
    parser.add_argument("--check", action="store_true", help="exit 1 when README.md is not current")
    args = parser.parse_args()
    readme = ROOT / "README.md"
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"README.md has no {BEGIN} ... {END} block")
    current = text[text.index(BEGIN):text.index(END) + len(END)]
    wanted = reference(args.build)
    if args.check:
        if current != wanted:
            print("README.md's command reference is stale: run scripts/generate_cli_reference.py", file=sys.stderr)
            return 1
        return 0
    readme.write_text(text.replace(current, wanted))
    return 0


if __name__ == "__main__":
    sys.exit(main())
