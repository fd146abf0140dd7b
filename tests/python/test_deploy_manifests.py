"""deploy/k8s renders with kustomize, validates strictly against the Kubernetes OpenAPI schemas,
and has the shape issue 8 asks for (single Recreate coordinator, GPU workers, probes, ...)."""
import subprocess
import sys

import pytest
import yaml

from deploy_support import K8S_DIR, KUBERNETES_VERSION, OVERLAYS, find, render, tool

# Prometheus Operator kinds: kubernetes-validate has no schema for CRDs, so they are skipped there
# and checked below against the objects they select instead.
OPERATOR_API = "monitoring.coreos.com/v1"


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request):
    return request.param, render(request.param)


def test_core_objects_validate_strictly(overlay, tmp_path):
    name, objects = overlay
    core = [o for o in objects if o["apiVersion"] != OPERATOR_API]
    skipped = sorted(o["kind"] for o in objects if o["apiVersion"] == OPERATOR_API)
    assert skipped == ["PodMonitor", "PrometheusRule", "ServiceMonitor"], skipped
    manifest = tmp_path / f"{name}.yaml"
    manifest.write_text(yaml.safe_dump_all(core))
    result = subprocess.run([str(tool("kubernetes-validate")), "--strict", "--quiet", "-k", KUBERNETES_VERSION,
                             str(manifest)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in (result.stdout + result.stderr).lower(), result.stdout + result.stderr


def test_coordinator_is_single_recreate_with_persistent_database(overlay):
    _, objects = overlay
    deployment = find(objects, "Deployment", "bertfleet-coordinator")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    claims = {v["persistentVolumeClaim"]["claimName"] for v in deployment["spec"]["template"]["spec"]["volumes"]
              if "persistentVolumeClaim" in v}
    assert find(objects, "PersistentVolumeClaim", "bertfleet-coordinator-state")["metadata"]["name"] in claims
    shared = find(objects, "PersistentVolumeClaim", "bertfleet-shared")
    assert shared["spec"]["accessModes"] == ["ReadWriteMany"]
    assert "bertfleet-shared" in claims


def test_workers_are_a_statefulset_sharing_checkpoints(overlay):
    name, objects = overlay
    workers = find(objects, "StatefulSet", "bertfleet-worker")
    pod = workers["spec"]["template"]["spec"]
    container = pod["containers"][0]
    args = container["args"]
    device = args[args.index("--device") + 1]
    gpus = container["resources"]["limits"].get("nvidia.com/gpu")
    if name == "gpu":
        assert (device, gpus) == ("cuda", 1)
        assert "cuda" in container["image"]
    else:
        assert (device, gpus) == ("cpu", None)
    claims = {v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v}
    assert claims == {"bertfleet-shared"}
    assert pod["affinity"]["podAntiAffinity"], "workers must spread over nodes"
    assert find(objects, "Service", workers["spec"]["serviceName"])["spec"]["clusterIP"] == "None"
    budget = find(objects, "PodDisruptionBudget", "bertfleet-worker")
    assert budget["spec"]["selector"]["matchLabels"].items() <= workers["spec"]["template"]["metadata"]["labels"].items()


def test_every_container_has_probes_resources_and_a_locked_down_context(overlay):
    _, objects = overlay
    for obj in objects:
        if obj["kind"] not in ("Deployment", "StatefulSet"):
            continue
        pod = obj["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["terminationGracePeriodSeconds"] >= 30
        for container in pod["containers"]:
            where = f"{obj['kind']}/{obj['metadata']['name']}/{container['name']}"
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert probe in container, f"{where}: no {probe}"
            assert "preStop" in container["lifecycle"], where
            assert {"cpu", "memory"} <= container["resources"]["requests"].keys(), where
            assert {"cpu", "memory"} <= container["resources"]["limits"].keys(), where
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, where
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], where


def test_network_policies_admit_only_workers_clients_and_monitoring(overlay):
    _, objects = overlay
    policy = find(objects, "NetworkPolicy", "bertfleet-coordinator")
    grpc_rule, metrics_rule = policy["spec"]["ingress"]
    assert [p["port"] for p in grpc_rule["ports"]] == ["grpc"]
    sources = [peer.get("podSelector", {}).get("matchLabels") for peer in grpc_rule["from"]]
    assert {"app.kubernetes.io/name": "bertfleet-worker"} in sources
    assert [p["port"] for p in metrics_rule["ports"]] == ["metrics"]
    assert metrics_rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    deny = find(objects, "NetworkPolicy", "default-deny-ingress")
    assert deny["spec"]["podSelector"] == {} and "ingress" not in deny["spec"]


def test_monitors_select_existing_objects_and_ports(overlay):
    _, objects = overlay
    service_monitor = find(objects, "ServiceMonitor", "bertfleet-coordinator")
    service = find(objects, "Service", "bertfleet-coordinator")
    assert service_monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert service_monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}
    pod_monitor = find(objects, "PodMonitor", "bertfleet-worker")
    template = find(objects, "StatefulSet", "bertfleet-worker")["spec"]["template"]
    assert pod_monitor["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
    ports = {p["name"] for p in template["spec"]["containers"][0]["ports"]}
    assert pod_monitor["spec"]["podMetricsEndpoints"][0]["port"] in ports


def test_dashboard_and_alert_rules_ship_with_the_monitoring_component(overlay):
    _, objects = overlay
    dashboards = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    assert len(dashboards) == 1 and "bertfleet.json" in dashboards[0]["data"]
    groups = find(objects, "PrometheusRule", "bertfleet")["spec"]["groups"]
    assert [r["alert"] for g in groups for r in g["rules"] if "alert" in r], "no alerts in the PrometheusRule"


def test_prometheus_rule_is_generated_from_the_rules_file():
    result = subprocess.run([sys.executable, str(K8S_DIR / "generate_monitoring.py"), "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
