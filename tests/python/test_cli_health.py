"""`bertfleet health`: the grpc.health.v1 check that the container HEALTHCHECK and the Kubernetes
probes run, against a real coordinator."""
import socket
import subprocess


def run_health(cli_binary, address, env, *args):
    return subprocess.run([str(cli_binary), "--coordinator", address, "health", *args], capture_output=True,
                          text=True, timeout=30, env=env)


def client_env(coordinator):
    # The harness gives TLS + token settings when the coordinator runs secured.
    return coordinator.client_env() if hasattr(coordinator, "client_env") else None


def test_serving_coordinator_reports_serving(coordinator, cli_binary):
    result = run_health(cli_binary, coordinator.address, client_env(coordinator))
    assert (result.returncode, result.stdout.strip()) == (0, "SERVING"), result.stderr


def test_json_output(coordinator, cli_binary):
    result = subprocess.run([str(cli_binary), "--coordinator", coordinator.address, "--json", "health"],
                            capture_output=True, text=True, timeout=30, env=client_env(coordinator))
    assert (result.returncode, result.stdout.strip()) == (0, '{"status":"SERVING"}'), result.stderr


def test_unknown_service_fails(coordinator, cli_binary):
    result = run_health(cli_binary, coordinator.address, client_env(coordinator), "no.such.Service")
    assert result.returncode == 1
    assert "NOT_FOUND" in result.stderr, result.stderr


def test_nothing_listening_fails_with_unavailable(cli_binary):
    with socket.socket() as probe:  # a port that was free a moment ago: nothing serves it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_health(cli_binary, f"127.0.0.1:{port}", {"BERTFLEET_INSECURE": "1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 1
    assert "UNAVAILABLE" in result.stderr, result.stderr
    assert result.stdout == ""
