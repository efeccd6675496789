"""deploy/prometheus.yml and deploy/grafana/listonian.json point at what the processes serve."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

from trading import metrics  # noqa: F401  (registers the families)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def exposed_names() -> set[str]:
    names = set()
    for family in REGISTRY.collect():
        for suffix in SUFFIXES.get(family.type, ("",)):
            names.add(family.name + suffix)
    return names


def test_every_series_the_grafana_dashboard_queries_exists() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "listonian.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {
        name for expr in expressions for name in re.findall(r"\b(?:listonian|process)_\w+", expr)
    }
    assert "listonian_block_stage_seconds_bucket" in used
    assert used - exposed_names() == set()


def test_prometheus_scrapes_the_web_engine_and_worker_ports() -> None:
    # The web port of `make run` / the Procfile, and the engine's and worker's defaults.
    text = (DEPLOY / "prometheus.yml").read_text()
    for port in (8000, 9101, 9102):
        assert f'"127.0.0.1:{port}"' in text
