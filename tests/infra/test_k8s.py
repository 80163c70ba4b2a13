"""The Kubernetes manifests: the base and both overlays render (our kustomize subset,
cross-checked with ``kubectl kustomize`` where kubectl exists), every object passes the
Kubernetes JSON schema (kubernetes-validate, strict), and the production shape holds:
probes, autoscaling, disruption budgets, a worker Deployment per queue, the migration
Job, network policies, locked-down pods, resources, Secrets referenced never inlined,
ServiceMonitors that match the Services."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.infra.kustomize import build

K8S = Path(__file__).resolve().parents[2] / "infra" / "k8s"
TARGETS = {
    "base": K8S / "base",
    "staging": K8S / "overlays" / "staging",
    "production": K8S / "overlays" / "production",
    # production + components/imap-starttls (a province whose mailboxes need port 143)
    "production-imap-starttls": K8S / "overlays" / "production-imap-starttls",
}
KUBERNETES_VERSION = "1.33.0"
SECRETS = {"hotline-secrets", "hotline-migrate-secrets"}


def rendered(target: str) -> list[dict[str, Any]]:
    return build(TARGETS[target])


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [found] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (o["metadata"]["name"], o["spec"]["template"]["spec"])
        for o in objects
        if o["kind"] in ("Deployment", "Job")
    ]


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_object_passes_the_schema(target: str) -> None:
    for obj in rendered(target):
        if obj["kind"] == "ServiceMonitor":  # a CRD: no upstream schema; checked below
            assert obj["apiVersion"] == "monitoring.coreos.com/v1"
            continue
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_our_rendering_matches_kubectl_kustomize(target: str) -> None:
    out = subprocess.run(
        ["kubectl", "kustomize", str(TARGETS[target])],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    theirs = sorted(
        (d for d in yaml.safe_load_all(out) if d), key=lambda o: (o["kind"], o["metadata"]["name"])
    )
    ours = sorted(rendered(target), key=lambda o: (o["kind"], o["metadata"]["name"]))
    assert ours == theirs


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_production_shape(target: str) -> None:
    objects = rendered(target)
    kinds = {o["kind"] for o in objects}
    assert "Secret" not in kinds  # referenced, created out of band
    api = one(objects, "Deployment", "hotline-api")
    [container] = api["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    hpa = one(objects, "HorizontalPodAutoscaler", "hotline-api")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "hotline-api"
    assert hpa["spec"]["minReplicas"] >= 2
    pod_labels = api["spec"]["template"]["metadata"]["labels"]
    pdb = one(objects, "PodDisruptionBudget", "hotline-api")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]

    # a worker Deployment per queue
    commands = {
        o["metadata"]["name"]: o["spec"]["template"]["spec"]["containers"][0]["command"]
        for o in objects
        if o["kind"] == "Deployment"
        and o["metadata"]["labels"]["app.kubernetes.io/component"] == "worker"
    }
    assert commands == {
        "hotline-worker": ["hotline", "worker"],
        "hotline-worker-bulk": ["hotline", "worker", "--queue", "bulk"],
    }
    config = one(objects, "ConfigMap", "hotline-config")
    assert config["data"]["HOTLINE_BULK_QUEUE"] == "true"
    job = one(objects, "Job", "hotline-migrate")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["hotline", "migrate"]

    for name, spec in pod_specs(objects):
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] > 0, name
        assert spec["automountServiceAccountToken"] is False, name
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert {"cpu", "memory"} <= c["resources"]["requests"].keys(), name
            assert "memory" in c["resources"]["limits"], name
            refs = {s["secretRef"]["name"] for s in c.get("envFrom", []) if "secretRef" in s}
            assert refs <= SECRETS, name
            assert "hotline-migrate-secrets" not in refs or name == "hotline-migrate", name
            for env in c.get("env", []):
                assert "value" not in env or "SECRET" not in env["name"], name

    # network policies: default deny; in the cluster the API reaches PostgreSQL, Redis,
    # MinIO, DNS and the trace collector only (egress to the internet: below)
    deny = one(objects, "NetworkPolicy", "hotline-default-deny")
    assert deny["spec"]["podSelector"] == {}
    assert set(deny["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    api_policy = one(objects, "NetworkPolicy", "hotline-api")
    ports = {
        p["port"]
        for rule in api_policy["spec"]["egress"]
        if all("ipBlock" not in peer for peer in rule["to"])
        for p in rule["ports"]
    }
    assert ports == {5432, 6379, 26379, 9000, 53, 4318}

    # ServiceMonitors select existing Services by label and name their ports
    services = [o for o in objects if o["kind"] == "Service"]
    for monitor in (o for o in objects if o["kind"] == "ServiceMonitor"):
        selector = monitor["spec"]["selector"]["matchLabels"]
        matched = [s for s in services if selector.items() <= s["metadata"]["labels"].items()]
        assert matched, monitor["metadata"]["name"]
        for endpoint in monitor["spec"]["endpoints"]:
            assert any(endpoint["port"] in {p["name"] for p in s["spec"]["ports"]} for s in matched)
            assert endpoint["path"] == "/metrics"


def test_overlays_differ_where_they_should() -> None:
    staging, production = rendered("staging"), rendered("production")
    assert {o["metadata"]["namespace"] for o in staging} == {"hotline-staging"}
    assert {o["metadata"]["namespace"] for o in production} == {"hotline"}
    image = one(production, "Deployment", "hotline-api")["spec"]["template"]["spec"]["containers"][
        0
    ]["image"]
    assert image == "registry.example/hotline:0.1.0"
    assert one(production, "HorizontalPodAutoscaler", "hotline-api")["spec"]["maxReplicas"] == 30
    assert one(staging, "HorizontalPodAutoscaler", "hotline-api")["spec"]["maxReplicas"] == 4


# Addresses a pod must never reach through the internet rules: the cluster's own ranges
# (pods and services live in private or CGNAT space), the cloud metadata service,
# loopback, and their IPv6 counterparts.
INSIDE = [
    "10.96.0.10", "172.20.1.5", "192.168.3.4", "100.64.0.7", "169.254.169.254",
    "127.0.0.1", "fd12:3456::1", "fe80::1", "::1",
]  # fmt: skip
PUBLIC = ["203.0.113.7", "8.8.8.8", "2001:db8::7"]


def _egress_to(policy: dict[str, Any], address: str, port: int) -> bool:
    """Whether one of the policy's ``ipBlock`` rules lets ``address:port`` out (TCP)."""
    ip = ipaddress.ip_address(address)
    for rule in policy["spec"].get("egress", []):
        if not any(p["port"] == port and p.get("protocol", "TCP") == "TCP" for p in rule["ports"]):
            continue
        for peer in rule["to"]:
            block = peer.get("ipBlock")
            if block is None:
                continue
            net = ipaddress.ip_network(block["cidr"])
            if ip.version != net.version or ip not in net:
                continue
            if not any(ip in ipaddress.ip_network(e) for e in block.get("except", [])):
                return True
    return False


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_egress_to_the_internet_is_exactly_what_the_channels_need(target: str) -> None:
    """API: HTTPS out (Open311 and WeChat media fetched while answering). Workers: HTTPS
    (webhooks, WeChat, SMS), SMTP 465/587, IMAP 993 — plus IMAP with STARTTLS on 143
    where the imap-starttls component is applied, and only there. The migration Job:
    nothing. Never into private, CGNAT, link-local or loopback ranges, on any port."""
    objects = rendered(target)
    starttls = {143} if target == "production-imap-starttls" else set()
    wanted = {
        "hotline-api": {443},
        "hotline-worker": {443, 465, 587, 993} | starttls,
        "hotline-migrate": set(),
    }
    for name, ports in wanted.items():
        policy = one(objects, "NetworkPolicy", name)
        assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}, name
        candidates = {22, 25, 80, 143, 443, 465, 587, 993, 3306, 5432, 6379, 8080}
        for address in PUBLIC:
            allowed = {p for p in candidates if _egress_to(policy, address, p)}
            assert allowed == ports, (name, address)
        for address in INSIDE:
            assert not any(_egress_to(policy, address, p) for p in candidates), (name, address)
    # every pod the manifests run is selected by one of these policies (none unrestricted)
    selectors = [
        o["spec"]["podSelector"]["matchLabels"]
        for o in objects
        if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] in wanted
    ]
    for obj in objects:
        if obj["kind"] in ("Deployment", "Job"):
            labels = obj["spec"]["template"]["metadata"]["labels"]
            assert any(sel.items() <= labels.items() for sel in selectors), obj["metadata"]["name"]
