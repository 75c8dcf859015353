"""Every PromQL query of the dashboards, against a real Prometheus scraping real telemetry.

The workload runs EchoLLM chains through the real handler, whose providers come from
`configure()` with the standard `OTEL_METRICS_EXPORTER=prometheus`: a `PrometheusMetricReader`
serving `/metrics` on `OTEL_EXPORTER_PROMETHEUS_HOST`/`_PORT` (127.0.0.1, a free port). A
real `prometheus` process scrapes it every second. While the workload is still alive
(Prometheus hides the series of a dead target as stale), every panel and variable query of
every dashboard is evaluated through the HTTP API and must return data. `promtool check
rules` parses them all.

Skipped when the `prometheus`/`promtool` binaries are missing; `nox -s dashboards` installs
them and runs these tests.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from langchain_otel import ModelPrice, OTelCallbackHandler, configure, shutdown
from tests.dashboards._dashboards import (
    Query,
    dashboard_files,
    prometheus_queries,
    substitute,
    variable_queries,
)
from tests.dashboards._prometheus import (
    MISSING_REASON,
    PROMTOOL,
    SKIP,
    PrometheusServer,
)
from tests.dashboards._workload import AGENTS, MODELS, Workload, WorkloadError

pytestmark = [
    pytest.mark.prometheus,
    pytest.mark.skipif(SKIP, reason=MISSING_REASON),
]

JOB = "langchain-otel-workload"
WAIT_FOR_DATA_S = 60
#: USD per million input/output tokens of the workload's models (EchoLLM has no real price).
PRICES_PER_MILLION = {"echo-small": (0.5, 1.5), "echo-large": (3.0, 15.0)}
#: The handler's run_ttl: the workload's streams left open are ended as abandoned after it.
ABANDON_AFTER_S = 1.0
PANEL_QUERIES = [q for path in dashboard_files() for q in prometheus_queries(path)]
VARIABLE_QUERIES = [q for path in dashboard_files() for q in variable_queries(path)]
_LABEL_VALUES = re.compile(r"^label_values\((?P<match>.+),\s*(?P<label>\w+)\)$", re.DOTALL)


def _has_data(result: list[dict[str, Any]]) -> bool:
    """Whether an instant-query vector holds at least one finite sample."""
    return any(math.isfinite(float(sample["value"][1])) for sample in result)


#: The standard variables that make `configure()` serve /metrics (issue 5's tested path).
PROMETHEUS_ENV = {
    "OTEL_SERVICE_NAME": JOB,
    "OTEL_METRICS_EXPORTER": "prometheus",
    "OTEL_TRACES_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
    "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
    "OTEL_EXPORTER_PROMETHEUS_PORT": "0",
}


@dataclass
class Live:
    """The running pieces, for the tests."""

    prometheus: PrometheusServer
    workload: Workload
    waited_s: float


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """configure() + handler + workload + Prometheus, up until every query has data."""
    with pytest.MonkeyPatch.context() as env:
        for name in [n for n in os.environ if n.startswith("OTEL_")]:
            env.delenv(name)
        for name, value in PROMETHEUS_ENV.items():
            env.setenv(name, value)
        telemetry = configure(set_global=False)
    try:
        address = telemetry.prometheus_address
        assert address is not None, telemetry.config
        handler = OTelCallbackHandler(
            tracer_provider=telemetry.tracer_provider,
            meter_provider=telemetry.meter_provider,
            prices={
                model: ModelPrice(input_per_million=i, output_per_million=o)
                for model, (i, o) in PRICES_PER_MILLION.items()
            },
            use_genai_prices=False,
            run_ttl=ABANDON_AFTER_S,
        )
        prometheus = PrometheusServer(
            tmp_path_factory.mktemp("prometheus"), target=f"{address[0]}:{address[1]}", job=JOB
        )
        try:
            prometheus.start()
            with Workload([handler]) as workload:
                started = time.monotonic()
                deadline = started + WAIT_FOR_DATA_S
                pending = list(PANEL_QUERIES)
                while pending and time.monotonic() < deadline:
                    time.sleep(1)
                    pending = [
                        q for q in pending if not _has_data(prometheus.query(substitute(q.expr)))
                    ]
                yield Live(prometheus, workload, time.monotonic() - started)
        finally:
            prometheus.stop()
    finally:
        shutdown()


def test_the_workload_is_scraped(live: Live) -> None:
    """Prometheus scrapes the workload's endpoint and the workload runs every outcome."""
    assert live.prometheus.targets_up()
    assert set(live.workload.outcomes) == {"ok", "error", "cancelled", "abandoned"}


@pytest.mark.parametrize("query", PANEL_QUERIES, ids=lambda q: q.id)
def test_panel_query_returns_data(live: Live, query: Query) -> None:
    """The panel's PromQL, variables substituted, returns finite samples now and over time."""
    expr = substitute(query.expr)
    instant = live.prometheus.query(expr)
    assert _has_data(instant), f"no data after {live.waited_s:.0f} s for {expr}: {instant}"
    series = live.prometheus.query_range(expr, seconds=10)
    assert series, f"query_range returned nothing for {expr}"


@pytest.mark.parametrize("query", VARIABLE_QUERIES, ids=lambda q: q.id)
def test_variable_query_lists_values(live: Live, query: Query) -> None:
    """A variable's `label_values(selector, label)` lists the workload's values."""
    parsed = _LABEL_VALUES.match(query.expr)
    assert parsed, f"not a label_values() query: {query.expr}"
    values = live.prometheus.label_values(parsed["label"], substitute(parsed["match"]))
    expected = {
        "job": {JOB},
        "gen_ai_request_model": set(MODELS),
        "gen_ai_provider_name": {"echo", "echo-chat"},  # EchoLLM, and the agents' EchoChatModel
        "gen_ai_operation_name": {"text_completion", "chat"},
    }[parsed["label"]]
    assert set(values) == expected


def _labels(live: Live, panel_title: str) -> list[dict[str, str]]:
    expr = next(q.expr for q in PANEL_QUERIES if q.where.startswith(f"{panel_title}/"))
    return [sample["metric"] for sample in live.prometheus.query(substitute(expr))]


def test_by_model_panels_split_models(live: Live) -> None:
    """The per-model panels show one series per model of the workload."""
    for title in ("p95 operation duration by model", "Cost per hour by model"):
        assert {labels["gen_ai_request_model"] for labels in _labels(live, title)} == set(MODELS)


def test_agent_panels_split_agents(live: Live) -> None:
    """The agents row shows one series per agent of the workload, and only agents."""
    for title in (
        "Agent runs / s by agent",
        "p95 agent run duration by agent",
        "Cost per hour by agent",
    ):
        assert {labels["gen_ai_agent_name"] for labels in _labels(live, title)} == set(AGENTS)


def test_tool_error_ratio_sees_the_failing_tool(live: Live) -> None:
    """One of the workload's two tools fails every time: the ratio is strictly between 0 and 1."""
    # Right after the first scrapes one series can have a sample less in the rate window
    # than the other: poll until both are in it (the workload keeps running both tools).
    expr = next(q.expr for q in PANEL_QUERIES if q.where.startswith("Tool error ratio/"))
    deadline = time.monotonic() + WAIT_FOR_DATA_S
    ratio = 1.0
    while time.monotonic() < deadline:
        (sample,) = live.prometheus.query(substitute(expr))
        ratio = float(sample["value"][1])
        if 0.0 < ratio < 1.0:
            break
        time.sleep(1)
    assert 0.0 < ratio < 1.0
    outcomes = live.prometheus.query(
        "sum by (langchain_otel_outcome, error_type) (increase("
        'gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="execute_tool"}[1m]))'
    )
    seen = {
        (o["metric"].get("langchain_otel_outcome"), o["metric"].get("error_type")) for o in outcomes
    }
    assert seen == {("ok", None), ("error", "tool_error")}, outcomes


def test_error_panel_names_the_exception(live: Live) -> None:
    """Errors are split by error_type, the failing exception's qualified class name."""
    error_types = {labels["error_type"] for labels in _labels(live, "Errors / s by error type")}
    assert error_types == {f"{WorkloadError.__module__}.{WorkloadError.__qualname__}"}


def test_cancellations_are_not_errors(live: Live) -> None:
    """Closed streams, cancelled tasks and abandoned streams are never errors."""
    outcomes = {
        labels["langchain_otel_outcome"] for labels in _labels(live, "Cancelled and abandoned / s")
    }
    assert outcomes == {"cancelled", "abandoned"}
    cancelled_errors = live.prometheus.query(
        "gen_ai_client_operation_duration_seconds_count"
        '{langchain_otel_outcome=~"cancelled|abandoned", error_type!=""}'
    )
    assert cancelled_errors == []


def test_promtool_checks_every_query_as_a_rule(tmp_path: Path) -> None:
    """`promtool check rules` parses every dashboard query as a recording rule."""
    assert PROMTOOL is not None, MISSING_REASON
    lines = ["groups:", "  - name: langchain-otel-dashboards", "    rules:"]
    for index, query in enumerate(PANEL_QUERIES):
        expr = substitute(query.expr).replace("\n", " ")
        lines += [
            f"      - record: langchain_otel_dashboard:query_{index}",
            f"        expr: '{expr.replace(chr(39), chr(39) * 2)}'",
        ]
    rules = tmp_path / "rules.yml"
    rules.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = subprocess.run(
        [PROMTOOL, "check", "rules", str(rules)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(PANEL_QUERIES)} rules found" in result.stdout
