"""The alert rules and the dashboard an operator is shipped name only series Estafeta exports,
parse as PromQL, and cover the failures the README's runbook explains."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from estafeta.metrics import exported_names

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
SCRAPE_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "estafeta-dashboard.json"
# Prometheus' own series for each scrape target, which the target-down alert reads.
PROMETHEUS_SERIES = {"up"}
# Grafana's variables in the dashboard's queries, replaced by a value of the same kind.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$service": ".*"}


def metric_names(expr: Any) -> set[str]:
    """Every metric a parsed PromQL expression selects, from its syntax tree."""
    if isinstance(expr, promql_parser.VectorSelector):
        name = expr.name or next((m.value for m in expr.matchers.matchers if m.name == "__name__"
                                  and m.op == promql_parser.MatchOp.Equal), None)
        assert name, f"a selector without a plain metric name: {expr}"
        return {name}
    if isinstance(expr, promql_parser.MatrixSelector):
        return metric_names(expr.vector_selector)
    if isinstance(expr, promql_parser.BinaryExpr):
        return metric_names(expr.lhs) | metric_names(expr.rhs)
    if isinstance(expr, promql_parser.Call):
        return set().union(*(metric_names(arg) for arg in expr.args))
    if isinstance(expr, promql_parser.AggregateExpr):
        return metric_names(expr.expr) | (metric_names(expr.param) if expr.param else set())
    if isinstance(expr, (promql_parser.ParenExpr, promql_parser.UnaryExpr,
                         promql_parser.SubqueryExpr)):
        return metric_names(expr.expr)
    if isinstance(expr, (promql_parser.NumberLiteral, promql_parser.StringLiteral)):
        return set()
    raise AssertionError(f"unexpected PromQL node {type(expr).__name__}: {expr}")


def _rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(ALERTS.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def _alerts() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for rule in _rules()}


def _dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def _grafana_free(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"an unknown Grafana variable in {expr}"
    return expr


def test_the_walker_finds_every_metric_of_a_nested_expression() -> None:
    expr = promql_parser.parse(
        'histogram_quantile(0.99, sum by (le) (rate(a_bucket{route="/x"}[5m])))'
        ' / on() group_left -max_over_time(b[10m:1m]) or ({__name__="c"}) > bool 1'
        ' and topk(1, d offset 5m)')
    assert metric_names(expr) == {"a_bucket", "b", "c", "d"}
    with pytest.raises(AssertionError):
        metric_names(promql_parser.parse('{__name__=~"estafeta_.*"}'))


def test_the_rule_file_is_well_formed() -> None:
    doc = yaml.safe_load(ALERTS.read_text())
    assert set(doc) == {"groups"}
    names = [group["name"] for group in doc["groups"]]
    assert len(names) == len(set(names)) and all(group["rules"] for group in doc["groups"])
    alerts = [rule["alert"] for rule in _rules()]
    assert len(alerts) == len(set(alerts))  # every alert once: the runbook names them


@pytest.mark.parametrize("rule", _rules(), ids=lambda rule: rule["alert"])
def test_every_alert_parses_names_exported_series_and_says_what_to_do(
        rule: dict[str, Any]) -> None:
    assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}
    names = metric_names(promql_parser.parse(rule["expr"]))
    assert names and names <= exported_names() | PROMETHEUS_SERIES, names - exported_names()
    assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["for"]
    assert rule["labels"]["severity"] in {"critical", "warning"}
    annotations = rule["annotations"]
    assert annotations["summary"].strip() and annotations["description"].strip()
    page, _, anchor = annotations["runbook_url"].partition("#")
    assert page == "README.md" and anchor in _readme_anchors()


def _readme_anchors() -> set[str]:
    """The anchors GitHub gives the README's headings."""
    headings = re.findall(r"^#+ (.+)$", (ROOT / "README.md").read_text(), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def _selects(rule: dict[str, Any], metric: str, **labels: str) -> bool:
    """Whether an alert's expression reads `metric` with these label matchers."""
    found = False

    def visit(node: Any) -> None:
        nonlocal found
        if isinstance(node, promql_parser.VectorSelector) and node.name == metric:
            matchers = {m.name: m.value for m in node.matchers.matchers}
            found = found or all(matchers.get(k) == v for k, v in labels.items())

    promql_parser.walk(promql_parser.parse(rule["expr"]), visit)
    return found


def test_the_alerts_the_runbook_promises_exist() -> None:
    alerts = _alerts()
    growing = alerts["EstafetaCommandQueueGrowing"]
    assert _selects(growing, "estafeta_queue_messages", kind="command")
    assert "deriv(" in growing["expr"] and ">" in growing["expr"]
    assert _selects(alerts["EstafetaDeadLetters"], "estafeta_queue_messages", kind="dead")
    assert _selects(alerts["EstafetaRemindersLate"], "estafeta_agenda_reminders_overdue")
    assert _selects(alerts["EstafetaBrokerUnreachable"], "estafeta_broker_up")
    no_consumer = alerts["EstafetaNoConsumer"]
    # Dead-letter queues have no consumer by design: the alert must not fire for them.
    assert _selects(no_consumer, "estafeta_queue_consumers", kind="command|heard")
    assert not _selects(no_consumer, "estafeta_queue_consumers", kind="dead")
    for name in ("EstafetaBrokerUnreachable", "EstafetaNoConsumer", "EstafetaRemindersLate"):
        assert alerts[name]["labels"]["severity"] == "critical", name


def test_the_target_down_alert_watches_the_jobs_prometheus_scrapes() -> None:
    jobs = {job["job_name"] for job in yaml.safe_load(SCRAPE_CONFIG.read_text())[
        "scrape_configs"]}
    assert jobs == {"estafeta-gateway", "estafeta-workers"}
    down = _alerts()["EstafetaTargetDown"]
    comparison = promql_parser.parse(down["expr"])
    assert isinstance(comparison, promql_parser.BinaryExpr)
    assert isinstance(comparison.lhs, promql_parser.VectorSelector)
    pattern = next(m.value for m in comparison.lhs.matchers.matchers if m.name == "job")
    assert all(re.fullmatch(pattern, job) for job in jobs)


def test_the_dashboard_is_an_importable_grafana_dashboard() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"], panel["title"]


def test_every_dashboard_query_parses_and_names_exported_series() -> None:
    exprs = _dashboard_exprs()
    seen: set[str] = set()
    for expr in exprs:
        names = metric_names(promql_parser.parse(_grafana_free(expr)))
        assert names and names <= exported_names(), (expr, names - exported_names())
        seen |= names
    # Every family an operator looks at has a panel (a histogram through its buckets).
    families = {re.sub(r"_(bucket|sum|count)$", "", n) for n in exported_names()}
    shown = {re.sub(r"_(bucket|sum|count)$", "", n) for n in seen}
    assert families == shown, families - shown
