"""The Grafana dashboard and the Prometheus alert rules in infra/observability/ parse and
name only metrics the code exports (a renamed metric breaks this, not a dashboard)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import prometheus_client
import yaml

from hotline.platform.observability import metrics, state

INFRA = Path(__file__).resolve().parents[2] / "infra" / "observability"
_SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")
_FUNCTIONS = {
    "sum",
    "max",
    "min",
    "rate",
    "by",
    "topk",
    "histogram_quantile",
    "clamp_min",
    "absent",
    "offset",
    "or",
    "and",
    "le",
    "delta",
    "increase",
}


def exported() -> set[str]:
    names: set[str] = set()
    assert metrics.GRAPHQL_SECONDS  # the module registered its metrics
    for registry in (prometheus_client.REGISTRY, state.REGISTRY):
        for family in registry.collect():
            if family.name.startswith("hotline_"):
                names.add(family.name)
                names.update(family.name + s for s in _SUFFIXES)
    return names


def referenced(expr: str) -> set[str]:
    without_labels = re.sub(r"\{[^}]*\}", "", expr)
    return {n for n in re.findall(r"[a-z_][a-z0-9_]*", without_labels) if n.startswith("hotline_")}


def test_alert_rules() -> None:
    rules = yaml.safe_load((INFRA / "prometheus-rules.yaml").read_text(encoding="utf-8"))
    names = exported()
    alerts = [r for g in rules["groups"] for r in g["rules"]]
    assert {a["alert"] for a in alerts} >= {
        "HotlineOutboxLag",
        "HotlineOverdueGrowing",
        "HotlineErrorRate",
        "HotlineDeadLetters",
    }
    for alert in alerts:
        used = referenced(alert["expr"])
        assert used, alert["alert"]
        assert used <= names, (alert["alert"], used - names)
        assert alert["labels"]["severity"] in {"page", "ticket"}
        assert alert["annotations"]["summary"]


def test_grafana_dashboard() -> None:
    dashboard = json.loads((INFRA / "grafana-dashboard.json").read_text(encoding="utf-8"))
    names = exported()
    panels = dashboard["panels"]
    assert len(panels) >= 10
    seen: set[str] = set()
    for panel in panels:
        for target in panel["targets"]:
            used = referenced(target["expr"])
            assert used <= names, (panel["title"], used - names)
            seen |= used
    # every family the code exports is on the dashboard
    families = {n for n in names if not n.endswith(_SUFFIXES)}
    missing = {f for f in families if not {f, f + "_total", f + "_count", f + "_bucket"} & seen}
    assert not missing
