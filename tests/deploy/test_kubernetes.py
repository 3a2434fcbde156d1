"""deploy/kubernetes as a cluster would get it: the production overlay rendered (tests/deploy/
kustomize.py), every resource valid for a pinned Kubernetes version (kubernetes-validate,
strict), and the topology's promises held by reading the rendered resources: replicas, probes,
migrations first, disruption budgets, the autoscaler, shared Redis, network policies that
admit only what the design says, secrets referenced and never written, hardened pods."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]  # ships no type information
import pytest
import yaml

from tests.deploy.kustomize import render, strategic_merge
from tests.deploy.netpol import Pod, allowed

# What it checks does not depend on the database backend: CI runs it on SQLite only.
pytestmark = pytest.mark.backend_independent

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy/kubernetes"
# The oldest Kubernetes still commonly run by platform teams; the manifests use nothing newer.
KUBERNETES_VERSION = "1.31.0"
PARTS = ("gateway", "commitments", "evidence", "ratings")
RENDERED = render(KUBERNETES / "overlays/production")


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in RENDERED if r["kind"] == kind}


def pod_spec(resource: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = resource["spec"]["template"]["spec"]
    return spec


def containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(resource)
    return [*spec.get("initContainers", []), *spec["containers"]]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


@pytest.mark.parametrize("resource", RENDERED, ids=lambda r: f"{r['kind']}/{r['metadata']['name']}")
def test_every_resource_is_valid_for_the_pinned_version(resource: dict[str, Any]) -> None:
    kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_the_validator_refuses_what_is_wrong() -> None:
    bad = strategic_merge(of_kind("Deployment")["gateway"], {"spec": {"replicas": "two"}})
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBERNETES_VERSION, strict=True)
    unknown = strategic_merge(of_kind("Service")["gateway"], {"spec": {"prots": []}})
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(unknown, KUBERNETES_VERSION, strict=True)


def test_the_overlay_sets_namespace_images_and_replicas() -> None:
    assert {r["metadata"].get("namespace") for r in RENDERED if r["kind"] != "Namespace"} == {
        "scrutiny"
    }
    deployments = of_kind("Deployment")
    for part in PARTS:
        images = {c["image"] for c in containers(deployments[part])}
        assert images == {f"registry.example.org/scrutiny/{part}:1.0.0"}
        assert deployments[part]["spec"]["replicas"] == 3
    gateway = deployments["gateway"]["spec"]["template"]["spec"]["containers"][0]
    # The patch merged into the container by name: its requests changed, its limits kept.
    assert gateway["resources"]["requests"] == {"cpu": "500m", "memory": "512Mi"}
    assert gateway["resources"]["limits"]["memory"] == "1Gi"


def test_every_process_is_a_deployment_of_at_least_two_with_probes() -> None:
    deployments = of_kind("Deployment")
    scrutiny = {
        n: d
        for n, d in deployments.items()
        if d["metadata"]["labels"]["app.kubernetes.io/component"] in {"api", "service"}
    }
    assert set(scrutiny) == set(PARTS)
    # Redis is the one single replica (two would be two separate counts; limits fail open).
    assert set(deployments) - set(scrutiny) == {"redis"}
    for name, deployment in scrutiny.items():
        assert deployment["spec"]["replicas"] >= 2, name
        (main,) = pod_spec(deployment)["containers"]
        assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert {"name": "http", "containerPort": 8000} in main["ports"]


def test_migrations_are_jobs_that_every_replica_waits_for() -> None:
    jobs = of_kind("Job")
    assert set(jobs) == {f"migrate-{p}" for p in PARTS}
    for part in PARTS:
        (migrate,) = pod_spec(jobs[f"migrate-{part}"])["containers"]
        assert migrate["command"] == ["alembic", "upgrade", "head"]
        deployment = of_kind("Deployment")[part]
        (wait,) = pod_spec(deployment)["initContainers"]
        (main,) = pod_spec(deployment)["containers"]
        assert wait["command"][:3] == ["python", "-m", "servicekit.schema_wait"]
        url = f"{part.upper()}_DATABASE_URL"
        assert wait["command"][wait["command"].index("--database-url-env") + 1] == url
        # The same image (so the same migration head) and the same database, all three.
        assert wait["image"] == migrate["image"] == main["image"]
        assert env_of(wait)[url] == env_of(migrate)[url] == env_of(main)[url]
        assert env_of(main)[url]["value"].endswith(f"@{part}-db:5432/{part}")


def test_a_disruption_budget_for_every_deployment_of_scrutiny() -> None:
    budgets = of_kind("PodDisruptionBudget")
    for part in PARTS:
        deployment = of_kind("Deployment")[part]
        assert budgets[part]["spec"]["selector"] == deployment["spec"]["selector"]
        assert budgets[part]["spec"]["minAvailable"] == 1
        assert deployment["spec"]["replicas"] > budgets[part]["spec"]["minAvailable"]


def test_the_gateway_scales_on_an_autoscaler_and_shares_limits_in_redis() -> None:
    (hpa,) = of_kind("HorizontalPodAutoscaler").values()
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "gateway",
    }
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    (gateway,) = pod_spec(of_kind("Deployment")["gateway"])["containers"]
    env = env_of(gateway)
    assert env["GATEWAY_RATE_LIMIT_STORAGE"]["value"] == "redis://:$(REDIS_PASSWORD)@redis:6379/0"
    # $(VAR) expands only from variables defined earlier in the list.
    names = [e["name"] for e in gateway["env"]]
    assert names.index("REDIS_PASSWORD") < names.index("GATEWAY_RATE_LIMIT_STORAGE")
    assert "redis" in of_kind("Service")


def test_the_gateway_believes_x_forwarded_for_from_the_ingress_only() -> None:
    config = of_kind("ConfigMap")["gateway"]["data"]
    assert config["FORWARDED_ALLOW_IPS"] == "10.244.0.0/16"
    (gateway,) = pod_spec(of_kind("Deployment")["gateway"])["containers"]
    assert {"configMapRef": {"name": "gateway"}} in gateway["envFrom"]
    assert "--proxy-headers" in (ROOT / "gateway/Dockerfile").read_text()


def test_metrics_are_on_their_own_port_which_the_ingress_never_routes() -> None:
    for part in PARTS:
        (main,) = pod_spec(of_kind("Deployment")[part])["containers"]
        assert env_of(main)[f"{part.upper()}_METRICS_PORT"]["value"] == "9000"
    (ingress,) = of_kind("Ingress").values()
    backends = [
        p["backend"]["service"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]
    ]
    assert backends == [{"name": "gateway", "port": {"name": "http"}}]


def _pods() -> dict[str, Pod]:
    pods = {
        name: Pod(labels=r["spec"]["template"]["metadata"]["labels"])
        for kind in ("Deployment", "StatefulSet", "Job")
        for name, r in of_kind(kind).items()
    }
    pods["ingress"] = Pod(
        labels={"app.kubernetes.io/name": "ingress-nginx"}, namespace="ingress-nginx"
    )
    pods["prometheus"] = Pod(labels={"app": "prometheus"}, namespace="monitoring")
    pods["other-namespace"] = Pod(labels={"app.kubernetes.io/component": "service"}, namespace="x")
    pods["internet"] = Pod(ip="203.0.113.7")
    pods["public-webhook"] = Pod(ip="198.51.100.20")
    pods["private-host"] = Pod(ip="10.1.2.3")
    return pods


REACHES = {
    # (source, destination, port): allowed?
    ("ingress", "gateway", 8000): True,
    ("ingress", "gateway", 9000): False,
    ("ingress", "commitments", 8000): False,
    ("internet", "gateway", 8000): False,
    ("other-namespace", "commitments", 8000): False,
    ("gateway", "commitments", 8000): True,
    ("gateway", "evidence", 8000): True,
    ("gateway", "ratings", 8000): True,
    ("commitments", "gateway", 8000): True,  # JWKS and the feed readers' tokens
    ("evidence", "commitments", 8000): True,
    ("ratings", "evidence", 8000): True,
    ("gateway", "redis", 6379): True,
    ("commitments", "redis", 6379): False,
    ("gateway", "public-webhook", 443): True,
    ("gateway", "private-host", 443): False,
    ("commitments", "public-webhook", 443): False,
    ("prometheus", "gateway", 9000): True,
    ("prometheus", "ratings", 9000): True,
    ("prometheus", "ratings", 8000): False,
}
for _part in PARTS:
    for _other in PARTS:
        REACHES[(_part, f"{_other}-db", 5432)] = _part == _other
        REACHES[(f"migrate-{_part}", f"{_other}-db", 5432)] = _part == _other
    REACHES[("ingress", f"{_part}-db", 5432)] = False
    REACHES[(f"migrate-{_part}", "gateway", 8000)] = False


@pytest.mark.parametrize(("source", "destination", "port"), sorted(REACHES))
def test_network_policies_admit_exactly_the_designed_paths(
    source: str, destination: str, port: int
) -> None:
    policies = list(of_kind("NetworkPolicy").values())
    pods = _pods()
    assert (
        allowed(policies, pods[source], pods[destination], port)
        is REACHES[(source, destination, port)]
    )


def test_everything_is_denied_unless_a_policy_admits_it() -> None:
    deny = of_kind("NetworkPolicy")["default-deny"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


SECRETISH = re.compile(r"PASSWORD|SECRET|ENCRYPTION_KEY")


def test_secrets_are_referenced_never_written() -> None:
    assert not of_kind("Secret")
    text = yaml.safe_dump_all(RENDERED)
    assert "EXAMPLE-ONLY" not in text
    example = {
        d["metadata"]["name"]: set(d["stringData"])
        for d in yaml.safe_load_all((KUBERNETES / "secrets.example.yaml").read_text())
        if d
    }
    assert "EXAMPLE ONLY" in (KUBERNETES / "secrets.example.yaml").read_text().splitlines()[0]
    for kustomization in KUBERNETES.rglob("kustomization.yaml"):
        assert "secrets.example" not in yaml.safe_dump(yaml.safe_load(kustomization.read_text()))
    referenced = 0
    for kind in ("Deployment", "StatefulSet", "Job"):
        for name, resource in of_kind(kind).items():
            for container in containers(resource):
                for var in container.get("env", []):
                    if SECRETISH.search(var["name"]):
                        ref = var["valueFrom"]["secretKeyRef"]
                        assert ref["key"] in example[ref["name"]], (name, var["name"])
                        referenced += 1
                    # A URL with credentials carries them only as $(VAR), expanded at start.
                    value = var.get("value", "")
                    if "@" in value:
                        assert re.search(r"://[^:]*:\$\([A-Z_]+\)@", value), (name, var["name"])
    assert referenced >= 12


def test_every_container_is_hardened_and_bounded() -> None:
    for kind in ("Deployment", "StatefulSet", "Job"):
        for name, resource in of_kind(kind).items():
            spec = pod_spec(resource)
            assert spec["securityContext"]["runAsNonRoot"] is True, name
            assert spec["automountServiceAccountToken"] is False, name
            for container in containers(resource):
                sc = container["securityContext"]
                assert sc["readOnlyRootFilesystem"] is True, (name, container["name"])
                assert sc["allowPrivilegeEscalation"] is False
                assert sc["capabilities"] == {"drop": ["ALL"]}
                assert set(container["resources"]) == {"requests", "limits"}
    namespace = of_kind("Namespace")["scrutiny"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_renderer_merges_as_kustomize_does() -> None:
    base = {"spec": {"replicas": 2, "containers": [{"name": "a", "image": "x", "args": ["1"]}]}}
    patch = {"spec": {"containers": [{"name": "a", "args": ["2"]}, {"name": "b", "image": "y"}]}}
    assert strategic_merge(base, patch) == {
        "spec": {
            "replicas": 2,
            "containers": [{"name": "a", "image": "x", "args": ["2"]}, {"name": "b", "image": "y"}],
        }
    }
    with pytest.raises(ValueError, match="unsupported directive"):
        strategic_merge(base, {"spec": {"$patch": "delete"}})
