"""Linters on the packaging: hadolint on every Dockerfile, checkov on the Dockerfiles and the
rendered overlays (skips justified in deploy/checkov.yaml), `docker compose config`."""
import shutil
import subprocess

import pytest

from deploy_support import DOCKERFILES, OVERLAYS, SOURCE_DIR, render_text, tool


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_passes(dockerfile):
    result = subprocess.run([str(tool("hadolint")), "--config", str(SOURCE_DIR / "docker" / "hadolint.yaml"),
                             "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_passes_on_dockerfiles_and_rendered_manifests(tmp_path):
    assert len(DOCKERFILES) == 3
    for dockerfile in DOCKERFILES:
        shutil.copy(dockerfile, tmp_path / dockerfile.name)
    for overlay in OVERLAYS:
        (tmp_path / f"k8s-{overlay}.yaml").write_text(render_text(overlay))
    # One run for both frameworks: checkov's start-up dominates its run time.
    result = subprocess.run([str(tool("checkov")), "--directory", str(tmp_path), "--framework", "kubernetes",
                             "dockerfile", "--config-file", str(SOURCE_DIR / "deploy" / "checkov.yaml")],
                            capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for framework in ("dockerfile", "kubernetes"):
        assert f"{framework} scan results" in output, output  # both were really scanned
    assert "Failed checks: 0" in output, output


def test_docker_compose_config_is_valid():
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("no `docker compose` client on this machine (Debian 12 ships none); "
                    "test_deploy_drift.py still checks compose.yaml's commands and ports")
    result = subprocess.run([docker, "compose", "-f", str(SOURCE_DIR / "docker" / "compose.yaml"), "config", "--quiet"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
