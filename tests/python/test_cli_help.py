"""`--help` everywhere (issue 22): every binary and subcommand exits 0 with its usage, its options,
the environment variables it reads (or says it reads none) and an example; README.md's command
reference is what those texts say (scripts/generate_cli_reference.py --check)."""
import re
import subprocess
import sys

import pytest

from conftest import BUILD_DIR, SOURCE_DIR

sys.path.insert(0, str(SOURCE_DIR / "scripts"))
import generate_cli_reference as reference  # noqa: E402

HELPS = list(reference.helps(BUILD_DIR))


@pytest.mark.parametrize("name,argv", HELPS, ids=[name for name, _ in HELPS])
def test_help_exits_0_with_options_environment_and_an_example(name, argv):
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("usage: "), text[:200]
    assert "unknown option" not in text + result.stderr
    assert re.search(r"^options:\n  --", text, re.M), text
    assert re.search(r"^  --help$", text, re.M), "every --help lists --help"
    assert re.search(r"^environment:( none read)?$", text, re.M), text
    example = re.search(r"^examples?:\n  (.*)$", text, re.M)
    assert example, text
    program = name.split()[0]
    assert example.group(1).startswith(program), example.group(1)


def test_every_flag_a_command_accepts_is_in_its_help():
    # Parsing a flag the usage does not list would be an undocumented flag: every accepted flag
    # is listed, so an unknown one is refused naming the list.
    result = subprocess.run([str(BUILD_DIR / "coordinator" / "bertfleet-coordinator"), "--no-such-flag"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "unknown option --no-such-flag" in result.stderr
    assert "usage: bertfleet-coordinator" in result.stderr


def test_the_top_level_worker_help_lists_its_commands_and_an_example():
    result = subprocess.run([str(BUILD_DIR / "worker" / "bertfleet-worker"), "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    for command in reference.WORKER_COMMANDS:
        assert command in result.stdout, command
    assert "example:\n  bertfleet-worker train" in result.stdout


def test_readme_command_reference_matches_the_help_texts():
    result = subprocess.run([sys.executable, str(SOURCE_DIR / "scripts" / "generate_cli_reference.py"), "--check",
                             "--build", str(BUILD_DIR)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
