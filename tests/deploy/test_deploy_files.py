"""Deployment files: the Dockerfile lints clean, Kubernetes manifests validate, Compose is complete."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
K8S = ROOT / "deploy" / "k8s"


def test_dockerfile_is_clean_under_hadolint() -> None:
    out = subprocess.run([str(BIN / "hadolint"), str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_dockerfile_runs_as_non_root_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text and "USER 10001:10001" in text and "HEALTHCHECK" in text
    assert "WORKDIR /app" in text and "requirements-dev" not in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "tests", ".git"} <= set(ignored)


@pytest.mark.parametrize("manifest", sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"))
def test_kubernetes_manifests_validate_against_the_schemas(manifest: str) -> None:
    out = subprocess.run(
        [str(BIN / "kubernetes-validate"), "--strict", str(K8S / manifest)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_kustomization_lists_every_manifest_and_the_service_is_probed_and_scaled() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert set(kustomization["resources"]) == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    docs = list(yaml.safe_load_all((K8S / "service.yaml").read_text()))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert deployment["spec"]["replicas"] == 3
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"requests", "limits"} <= set(container["resources"])
    assert any(d["kind"] == "HorizontalPodAutoscaler" for d in docs)


def test_compose_stack_is_complete() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "mlflow", "service", "dashboard", "prometheus"} <= set(services)
    assert services["service"]["deploy"]["replicas"] == 2
    assert "--backend-store-uri postgresql" in services["mlflow"]["command"]
    assert "--serve-artifacts" in services["mlflow"]["command"]
    prometheus = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    target = prometheus["scrape_configs"][0]
    assert target["metrics_path"] == "/metrics" and target["dns_sd_configs"][0]["port"] == 8000
