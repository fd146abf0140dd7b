"""What the deploy tests share: the pinned deploy tools (installed by scripts/setup.sh into
.venv-deploy), overlay rendering, and reading the images' and manifests' command lines."""
import os
import pathlib
import re
import shlex
import subprocess

import yaml

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
TOOLS_DIR = pathlib.Path(os.environ.get("BERTFLEET_DEPLOY_TOOLS", SOURCE_DIR / ".venv-deploy" / "bin"))
K8S_DIR = SOURCE_DIR / "deploy" / "k8s"
OVERLAYS = ("cpu", "gpu")
DOCKERFILES = sorted((SOURCE_DIR / "docker").glob("Dockerfile.*"))
# The Kubernetes release the manifests are validated against (kubernetes-validate's schemas).
KUBERNETES_VERSION = "1.35.0"


def tool(name: str) -> pathlib.Path:
    path = TOOLS_DIR / name
    assert path.exists(), f"{path} is missing: scripts/setup.sh installs the deploy tools into {TOOLS_DIR.parent}"
    return path


def render(overlay: str) -> list:
    """The objects `kubectl kustomize deploy/k8s/overlays/<overlay>` renders."""
    result = subprocess.run([str(tool("kubectl")), "kustomize", str(K8S_DIR / "overlays" / overlay)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"kustomize {overlay}: {result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def render_text(overlay: str) -> str:
    return yaml.safe_dump_all(render(overlay), sort_keys=False)


def find(objects, kind, name):
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def dockerfile_instructions(path: pathlib.Path) -> list:
    """(INSTRUCTION, arguments) of the final stage, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in path.read_text().splitlines():
        if raw.lstrip().startswith("#") and not current:
            continue
        current += raw.rstrip("\\").strip() + " " if raw.rstrip().endswith("\\") else raw.strip()
        if not raw.rstrip().endswith("\\"):
            if current.strip():
                lines.append(current.strip())
            current = ""
    stages, stage = [], []
    for line in lines:
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            stage = []
            stages.append(stage)
        stage.append((word.upper(), rest.strip()))
    return stages


def exec_form(arguments: str) -> list:
    """An exec-form (JSON array) instruction's words; shell form is split like a shell."""
    arguments = re.sub(r"^(--\S+\s+)+", "", arguments.strip()) if arguments.startswith("--") else arguments
    if arguments.startswith("CMD "):
        arguments = arguments[4:]
    if arguments.startswith("["):
        return yaml.safe_load(arguments)
    return shlex.split(arguments)


def help_flags(text: str) -> set:
    """Every `--flag` a --help text mentions."""
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text))


def run_help(args: list) -> str:
    """stdout + stderr of a --help call, whatever its exit status (some binaries print the usage
    on stderr and exit 1 for --help)."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=30)
    text = result.stdout + result.stderr
    assert "usage" in text, f"{args}: no usage text: {text!r}"
    return text
