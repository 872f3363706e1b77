"""The deployment examples under ``config/`` run the real command and probe real routes."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from sync_incident.config import load_settings

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_the_kubernetes_example_runs_serve_with_probes_on_its_routes() -> None:
    deployment, service = yaml.safe_load_all((CONFIG / "kubernetes" / "serve.yaml").read_text())
    assert (deployment["kind"], service["kind"]) == ("Deployment", "Service")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert "serve" in container["args"] and "--port" in container["args"]
    probes = {
        name: container[name]["httpGet"]["path"]
        for name in ("startupProbe", "readinessProbe", "livenessProbe")
    }
    assert probes == {
        "startupProbe": "/readyz",
        "readinessProbe": "/readyz",
        "livenessProbe": "/healthz",
    }
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_the_systemd_example_runs_serve_on_loopback() -> None:
    unit = (CONFIG / "systemd" / "sync-incident-serve.service").read_text()
    [start] = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    words = shlex.split(start.removeprefix("ExecStart="))
    assert words[words.index("serve") + 1 :][:2] == ["--host", "127.0.0.1"]


def test_the_example_config_has_a_valid_serve_section() -> None:
    settings = load_settings(CONFIG / "sync-incident.toml")
    assert settings.serve.host == "127.0.0.1" and settings.serve.port == 8080


def test_the_replica_docs_say_a_webhook_freshens_only_the_replica_it_reaches() -> None:
    readme = (CONFIG.parent / "README.md").read_text(encoding="utf-8")
    [replicas] = [part for part in readme.split("\n- ") if part.startswith("**Replicas**")]
    example = (CONFIG / "kubernetes" / "serve.yaml").read_text(encoding="utf-8")
    for text in (" ".join(replicas.split()), " ".join(example.split())):
        assert "poll_minutes" in text and "affinity" in text
        assert "/api/gate" in text or "gate API" in text
