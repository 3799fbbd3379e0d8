"""The alerting rules shipped in deploy/prometheus/alerts.yml refer to real metrics and to
runbook sections that exist."""

from __future__ import annotations

import re
from typing import Any

import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from api.metrics import HttpMetrics, ReadModelCollector, render
from core.settings import PROJECT_ROOT

ALERTS = PROJECT_ROOT / "deploy" / "prometheus" / "alerts.yml"
RUNBOOK = PROJECT_ROOT / "docs" / "operations.md"


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def exported_names(engine: Engine) -> set[str]:
    """Every metric and sample name the API's /metrics can show."""
    http = HttpMetrics()
    http.requests.labels("GET", "/healthz", "200").inc()
    http.latency.labels("GET", "/healthz").observe(0.01)
    domain = CollectorRegistry(auto_describe=False)
    domain.register(ReadModelCollector(engine))
    names = set()
    for family in text_string_to_metric_families(render([http.registry, domain]).decode()):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names


def test_every_rule_is_complete() -> None:
    found = rules()
    assert len(found) >= 6
    for rule in found:
        assert rule["alert"].startswith("JanSamvad")
        assert rule["expr"].strip()
        assert rule["labels"]["severity"] in ("page", "ticket")
        assert rule["annotations"]["summary"] and rule["annotations"]["runbook"]


def test_rules_use_only_metrics_the_api_exports(engine: Engine) -> None:
    exported = exported_names(engine)
    for rule in rules():
        for name in re.findall(r"\bjansamvad_[a-z_]+", rule["expr"]):
            assert name in exported, f"{rule['alert']}: no metric {name}"


def test_runbook_sections_named_by_alerts_exist_in_the_operations_page() -> None:
    headings = {
        line.lstrip("#").strip()
        for line in RUNBOOK.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }
    for rule in rules():
        match = re.search(r"runbook: '([^']+)'", rule["annotations"]["runbook"])
        assert match, f"{rule['alert']}: runbook annotation names no runbook section"
        assert match[1] in headings, f"{rule['alert']}: no runbook section {match[1]!r}"
