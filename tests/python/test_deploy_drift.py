"""No drift between the packaging and the binaries: every command line in the images, the compose
file and the rendered manifests uses flags that the real binaries' --help lists, the ports agree
everywhere, the shipped coordinator configs start the real coordinator, and the images copy every
source directory the build needs."""
import pathlib
import re
import shlex
import subprocess
import time

import pytest
import yaml

from deploy_support import (DOCKERFILES, OVERLAYS, SOURCE_DIR, dockerfile_instructions, exec_form, find, help_flags,
                            render, run_help)

DOCKER_DIR = SOURCE_DIR / "docker"
CONFIGS = [DOCKER_DIR / "coordinator.yaml", SOURCE_DIR / "deploy" / "k8s" / "base" / "coordinator.yaml"]
IMAGE_DOCKERFILE = {  # image name in compose / the manifests -> its Dockerfile
    "bertfleet-coordinator": "Dockerfile.coordinator",
    "bertfleet-worker-cpu": "Dockerfile.worker-cpu",
    "bertfleet-worker-cuda": "Dockerfile.worker-cuda",
}


@pytest.fixture(scope="module")
def helps(coordinator_binary, worker_binary, cli_binary):
    """--help text per program: the coordinator, the worker agent, the CLI."""
    return {
        "bertfleet-coordinator": run_help([str(coordinator_binary), "--help"]),
        "bertfleet-worker": run_help([str(worker_binary), "--coordinator", "x", "--help"]),
        "bertfleet": run_help([str(cli_binary), "--help"]),
    }


def final_stage(dockerfile_name):
    return dockerfile_instructions(DOCKER_DIR / dockerfile_name)[-1]


def image_command(dockerfile_name, command=None):
    stage = dict((word, rest) for word, rest in final_stage(dockerfile_name))
    entrypoint = exec_form(stage["ENTRYPOINT"])
    return entrypoint + (command if command is not None else exec_form(stage["CMD"]))


def shell_invocations(script: str):
    """The bertfleet* command lines inside a `sh -c` script (split at shell operators)."""
    words, found, current = shlex.split(script, posix=True), [], None
    for word in words:
        if word in ("||", "&&", ";", "|", ">", ">>"):
            current = None
        elif word in ("bertfleet", "bertfleet-worker", "bertfleet-coordinator"):
            current = [word]
            found.append(current)
        elif current is not None:
            current.append(word)
    return found


def invocations():
    """(where, argv) of every bertfleet program started by the packaging."""
    found = []
    for dockerfile in DOCKERFILES:
        found.append((dockerfile.name, image_command(dockerfile.name)))
        for word, rest in final_stage(dockerfile.name):
            if word == "HEALTHCHECK":
                found.append((f"{dockerfile.name} HEALTHCHECK", exec_form(rest.split(" CMD ", 1)[1])))
    compose = yaml.safe_load((DOCKER_DIR / "compose.yaml").read_text())
    for name, service in compose["services"].items():
        image = service["image"].split(":")[0]
        if image not in IMAGE_DOCKERFILE:
            continue
        if "entrypoint" in service:
            for argv in shell_invocations(" ".join(service["command"])):
                found.append((f"compose {name}", argv))
        else:
            found.append((f"compose {name}", image_command(IMAGE_DOCKERFILE[image], service.get("command"))))
    for overlay in OVERLAYS:
        for obj in render(overlay):
            if obj["kind"] not in ("Deployment", "StatefulSet"):
                continue
            for container in obj["spec"]["template"]["spec"]["containers"]:
                where = f"k8s {overlay} {obj['kind']}/{obj['metadata']['name']}"
                image = container["image"].split(":")[0].split("/")[-1]
                found.append((where, image_command(IMAGE_DOCKERFILE[image], container.get("args"))))
                for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                    if "exec" in container.get(probe, {}):
                        found.append((f"{where} {probe}", container[probe]["exec"]["command"]))
    return found


INVOCATIONS = invocations()


@pytest.mark.parametrize("where,argv", INVOCATIONS, ids=[f"{w}: {' '.join(a[:2])}" for w, a in INVOCATIONS])
def test_command_lines_use_only_flags_the_binaries_have(helps, where, argv):
    program = pathlib.Path(argv[0]).name
    if program == "bertfleet-worker-healthcheck":
        assert (DOCKER_DIR / "worker-healthcheck.sh").exists()
        return
    assert program in helps, f"{where}: unknown program {argv[0]}"
    if program == "bertfleet-worker":
        assert "--coordinator" in argv, f"{where}: the worker images run the agent"
    used = {word.split("=", 1)[0] for word in argv[1:] if word.startswith("--")}
    missing = used - help_flags(helps[program])
    assert not missing, f"{where}: {program} has no {sorted(missing)} (its --help: {sorted(help_flags(helps[program]))})"
    if program == "bertfleet":
        command = next(word for word in argv[1:] if not word.startswith("-") and argv[argv.index(word) - 1]
                       not in ("--coordinator",))
        assert re.search(rf"^\s+{command}\b", helps["bertfleet"], re.M), f"{where}: bertfleet has no command {command}"


def flag_value(argv, flag):
    return argv[argv.index(flag) + 1] if flag in argv else None


def port_of(address):
    return int(address.rsplit(":", 1)[1])


def test_ports_agree_across_config_images_compose_and_manifests():
    config = yaml.safe_load(CONFIGS[0].read_text())
    assert yaml.safe_load(CONFIGS[1].read_text())["listen"] == config["listen"]
    grpc_port, metrics_port = port_of(config["listen"]), port_of(config["metrics_listen"])
    exposed = {w: rest for w, rest in final_stage("Dockerfile.coordinator") if w == "EXPOSE"}["EXPOSE"]
    assert set(map(int, exposed.split())) == {grpc_port, metrics_port}
    worker_ports = set()
    for where, argv in INVOCATIONS:
        if pathlib.Path(argv[0]).name == "bertfleet-worker":
            worker_ports.add(port_of(flag_value(argv, "--metrics-listen")))
            assert flag_value(argv, "--coordinator").endswith(f":{grpc_port}"), where
    (worker_metrics_port,) = worker_ports
    for dockerfile in ("Dockerfile.worker-cpu", "Dockerfile.worker-cuda"):
        stage = final_stage(dockerfile)
        assert [int(p) for w, rest in stage if w == "EXPOSE" for p in rest.split()] == [worker_metrics_port]
        healthcheck = next(rest for w, rest in stage if w == "HEALTHCHECK")
        assert exec_form(healthcheck.split(" CMD ", 1)[1])[1:] == [str(worker_metrics_port)]
    prometheus = yaml.safe_load((DOCKER_DIR / "prometheus.yml").read_text())
    targets = [t for job in prometheus["scrape_configs"] for c in job["static_configs"] for t in c["targets"]]
    assert targets and all(port_of(t) in (metrics_port, worker_metrics_port) for t in targets)
    compose = yaml.safe_load((DOCKER_DIR / "compose.yaml").read_text())
    assert any(p.endswith(f":{grpc_port}") for p in compose["services"]["bertfleet-coordinator"]["ports"])
    for overlay in OVERLAYS:
        objects = render(overlay)
        coordinator = find(objects, "Deployment", "bertfleet-coordinator")["spec"]["template"]["spec"]["containers"][0]
        assert {p["name"]: p["containerPort"] for p in coordinator["ports"]} == {"grpc": grpc_port, "metrics": metrics_port}
        service = find(objects, "Service", "bertfleet-coordinator")
        assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == {"grpc": grpc_port, "metrics": metrics_port}
        worker = find(objects, "StatefulSet", "bertfleet-worker")["spec"]["template"]["spec"]["containers"][0]
        assert {p["name"]: p["containerPort"] for p in worker["ports"]} == {"metrics": worker_metrics_port}


def test_worker_grace_period_outlasts_checkpoint_on_sigterm():
    for overlay in OVERLAYS:
        pod = find(render(overlay), "StatefulSet", "bertfleet-worker")["spec"]["template"]["spec"]
        container = pod["containers"][0]
        grace_ms = int(flag_value(container["args"], "--cancel-grace-ms"))
        pre_stop_s = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
        # SIGTERM comes after preStop; the agent SIGKILLs its training process grace_ms later.
        assert pod["terminationGracePeriodSeconds"] * 1000 >= pre_stop_s * 1000 + grace_ms + 10_000, overlay


def test_config_paths_lie_on_the_coordinators_volumes():
    for overlay in OVERLAYS:
        container = find(render(overlay), "Deployment", "bertfleet-coordinator")["spec"]["template"]["spec"]["containers"][0]
        mounts = [m["mountPath"] for m in container["volumeMounts"]]
        config_path = flag_value(container["args"], "--config")
        assert config_path in mounts
        config = yaml.safe_load(CONFIGS[1].read_text())
        paths = [config[k] for k in ("db", "state_dir", "data_root", "checkpoint_root")]
        paths += [v for k, v in config.get("security", {}).items() if k.endswith("_file")]
        for path in paths:
            assert any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts), f"{overlay}: {path} not mounted"


def make_certificate(directory: pathlib.Path, cert: pathlib.Path, key: pathlib.Path):
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)


@pytest.mark.parametrize("config_file", CONFIGS, ids=lambda p: str(p.relative_to(SOURCE_DIR)))
def test_shipped_coordinator_config_starts_the_real_coordinator(coordinator_binary, config_file, tmp_path):
    """Every key is one the coordinator knows (it refuses unknown keys) and the settings combine:
    the container paths are moved under tmp_path, the addresses to loopback port 0."""
    config = yaml.safe_load(config_file.read_text())
    moved = lambda path: str(tmp_path / path.lstrip("/"))  # noqa: E731
    for key in ("db", "state_dir", "data_root", "checkpoint_root"):
        config[key] = moved(config[key])
    config["listen"], config["metrics_listen"] = "127.0.0.1:0", "127.0.0.1:0"
    security = config.get("security", {})
    if "tls_cert_file" in security:
        security["tls_cert_file"], security["tls_key_file"] = moved(security["tls_cert_file"]), moved(security["tls_key_file"])
        make_certificate(pathlib.Path(security["tls_cert_file"]).parent, pathlib.Path(security["tls_cert_file"]),
                         pathlib.Path(security["tls_key_file"]))
    moved_config = tmp_path / "coordinator.yaml"
    moved_config.write_text(yaml.safe_dump(config))
    proc = subprocess.Popen([str(coordinator_binary), "--config", str(moved_config)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # "listening on HOST:PORT" once serving; EOF if it refused
        assert line.startswith("listening on"), f"coordinator refused {config_file.name}: {line}{proc.stderr.read()}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert pathlib.Path(config["db"]).exists()


def test_images_copy_every_source_directory_the_build_needs():
    cmake = (SOURCE_DIR / "CMakeLists.txt").read_text()
    needed = set(re.findall(r"^\s*add_subdirectory\((\w+)\)", cmake, re.M)) - {"tests"}
    assert {"common", "proto", "worker", "coordinator", "cli"} <= needed
    for dockerfile in DOCKERFILES:
        build_stage = dockerfile_instructions(dockerfile)[0]
        copied = {rest.split()[0].rstrip("/") for word, rest in build_stage if word == "COPY"}
        assert needed <= copied, f"{dockerfile.name} does not copy {sorted(needed - copied)}"
        assert all((SOURCE_DIR / path).exists() for path in copied), f"{dockerfile.name} copies a missing path"


def test_environment_variables_are_ones_the_code_reads():
    sources = "".join(p.read_text(errors="replace") for d in ("common", "client", "cli", "coordinator", "worker")
                      if (SOURCE_DIR / d).is_dir() for p in (SOURCE_DIR / d).rglob("*.cc"))
    texts = [p.read_text() for p in DOCKERFILES] + [(DOCKER_DIR / "compose.yaml").read_text()]
    texts += [yaml.safe_dump_all(render(o)) for o in OVERLAYS]
    used = set(re.findall(r"\b(BERTFLEET_[A-Z_]+)\b", "\n".join(texts)))
    assert used, "no BERTFLEET_ variables found: the parser is broken"
    unread = sorted(name for name in used if f'"{name}"' not in sources)
    assert not unread, f"set by the packaging but read nowhere in the code: {unread}"
