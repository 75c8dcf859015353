"""The dashboards are valid Grafana JSON and query only metrics that we really export."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry, generate_latest

from langchain_otel import ModelPrice, OTelCallbackHandler
from langchain_otel.callbacks import _semconv
from tests.dashboards._dashboards import (
    ALL_VALUES,
    PANEL_SCHEMA_DIR,
    SCHEMA_FILE,
    dashboard_files,
    iter_panels,
    load,
    metric_names,
    prometheus_names,
    prometheus_queries,
    substitute,
    variable_queries,
)
from tests.dashboards._workload import MODELS, Workload

DASHBOARDS = dashboard_files()
IDS = [path.stem for path in DASHBOARDS]
ALL_QUERIES = [q for path in DASHBOARDS for q in prometheus_queries(path) + variable_queries(path)]

# (name, unit, kind) of every instrument the handler creates, from the constants module.
INSTRUMENTS = tuple((m.name, m.unit, m.instrument) for m in _semconv.METRICS)
EXPORTED = {name for spec in INSTRUMENTS for name in prometheus_names(*spec)}
# The labels the variables and selectors filter on: the metric attributes as Prometheus stores
# them, plus the scrape job (service.name when ingested over OTLP).
SELECTOR = (
    'job=~"$job", gen_ai_provider_name=~"$provider", '
    'gen_ai_request_model=~"$model", gen_ai_operation_name=~"$operation"'
)
#: The agents row's selectors: agent and tool points have no provider or model.
AGENT_SELECTORS = (
    'job=~"$job", gen_ai_operation_name="invoke_agent"',
    'job=~"$job", gen_ai_operation_name="execute_tool"',
    'job=~"$job"}',
)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    """Grafana's dashboard JSON Schema (generated from @grafana/schema, committed)."""
    data: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(data)
    return data


def _errors(schema: dict[str, Any], dashboard: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(schema)
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(dashboard)]


def test_there_are_dashboards() -> None:
    """The full dashboard and the overview are shipped."""
    assert {"langchain-otel", "langchain-otel-overview"} <= set(IDS)


@pytest.mark.parametrize("path", DASHBOARDS, ids=IDS)
def test_dashboard_matches_grafana_schema(schema: dict[str, Any], path: Path) -> None:
    """Every dashboard validates against Grafana's schema, with a current schemaVersion."""
    dashboard = load(path)
    assert _errors(schema, dashboard) == []
    assert dashboard["schemaVersion"] >= 39
    assert dashboard["uid"] == path.stem


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d["panels"][1].update(gridpos={"h": 1}), "$.panels[1]"),
        (lambda d: d.pop("schemaVersion"), "$"),
        (lambda d: d["templating"]["list"][0].update(hide="yes"), "$.templating.list[0].hide"),
    ],
    ids=["misspelt-panel-key", "no-schemaVersion", "bad-variable-hide"],
)
def test_schema_rejects_broken_dashboards(schema: dict[str, Any], mutate: Any, where: str) -> None:
    """The committed schema is strict enough to catch typos (it is not a no-op)."""
    dashboard = copy.deepcopy(load(DASHBOARDS[0]))
    mutate(dashboard)
    errors = _errors(schema, dashboard)
    assert errors
    assert any(error.startswith(where) for error in errors), errors


def _panel_schema(panel_type: str, kind: str) -> dict[str, Any] | None:
    path = PANEL_SCHEMA_DIR / f"{panel_type}.{kind}.schema.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("path", DASHBOARDS, ids=IDS)
def test_panel_options_match_their_plugin_schema(path: Path) -> None:
    """Each panel's options (and custom field config) validate against its plugin's schema."""
    checked = 0
    for panel in iter_panels(load(path)):
        if panel["type"] == "row":
            continue
        options_schema = _panel_schema(panel["type"], "options")
        assert options_schema is not None, f"no schema for panel type {panel['type']!r}"
        assert _errors(options_schema, panel["options"]) == [], panel["title"]
        custom = panel["fieldConfig"]["defaults"].get("custom")
        custom_schema = _panel_schema(panel["type"], "fieldconfig")
        if custom is not None:
            assert custom_schema is not None, panel["type"]
            assert _errors(custom_schema, custom) == [], panel["title"]
        checked += 1
    assert checked > 5


def test_panel_schemas_reject_typos() -> None:
    """The panel schemas are strict too: an unknown option fails."""
    schema = _panel_schema("timeseries", "options")
    assert schema is not None
    good = {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []},
        "tooltip": {"mode": "single", "sort": "none"},
    }
    assert _errors(schema, good) == []
    assert _errors(schema, {**good, "legnd": {}}) != []


@pytest.mark.parametrize("path", DASHBOARDS, ids=IDS)
def test_datasources_are_template_variables(path: Path) -> None:
    """Datasources are variables (`${datasource}`, `${tempo}`), never hard-coded uids."""
    dashboard = load(path)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["tempo"]["type"] == "datasource"
    assert variables["tempo"]["query"] == "tempo"
    expected_uid = {"prometheus": "${datasource}", "tempo": "${tempo}"}
    for panel in iter_panels(dashboard):
        for ref in [panel.get("datasource")] + [
            t.get("datasource") for t in panel.get("targets", [])
        ]:
            if ref is not None:
                assert ref["uid"] == expected_uid[ref["type"]], (panel["title"], ref)


@pytest.mark.parametrize("path", DASHBOARDS, ids=IDS)
def test_filter_variables(path: Path) -> None:
    """Service, provider, model and operation variables list the right labels (All: .* or .+)."""
    variables = {v["name"]: v for v in load(path)["templating"]["list"]}
    for name, label in [
        ("job", "job"),
        ("provider", "gen_ai_provider_name"),
        ("model", "gen_ai_request_model"),
        ("operation", "gen_ai_operation_name"),
    ]:
        variable = variables[name]
        assert variable["type"] == "query"
        assert variable["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert variable["query"].startswith("label_values(")
        assert variable["query"].endswith(f", {label})")
        assert variable["includeAll"]
        assert variable["multi"]
        assert variable["allValue"] == ALL_VALUES.get(name, ".*")


@pytest.mark.parametrize("query", ALL_QUERIES, ids=lambda q: q.id)
def test_queries_use_only_exported_metrics(query: Any) -> None:
    """Each query selects at least one metric, and only names the exporter produces."""
    names = metric_names(query.expr)
    assert names, f"no metric selector in {query.expr!r}"
    assert names <= EXPORTED, names - EXPORTED


@pytest.mark.parametrize(
    "query", [q for path in DASHBOARDS for q in prometheus_queries(path)], ids=lambda q: q.id
)
def test_panel_queries_honour_every_filter(query: Any) -> None:
    """Every selector of a panel query filters on service, provider, model and operation.

    The agents row filters on the service and on its operation (its points have no model).
    """
    selectors = re.findall(r"\{([^}]*)\}", query.expr)
    assert selectors
    agents = "langchain_otel_agent_cost" in query.expr or '_name="' in query.expr
    for selector in selectors:
        if agents:
            assert (selector + "}").startswith(AGENT_SELECTORS), selector
        else:
            assert selector.startswith(SELECTOR), selector


def test_main_dashboard_covers_the_issue() -> None:
    """The full dashboard has every view issue 5 asks for, on the exported names."""
    path = next(p for p in DASHBOARDS if p.stem == "langchain-otel")
    exprs = "\n".join(q.expr for q in prometheus_queries(path))
    for needle in [
        "rate(gen_ai_client_operation_duration_seconds_count",  # request rate
        *(
            f"histogram_quantile({q}, sum by (le) (rate("
            f"gen_ai_client_operation_duration_seconds_bucket"
            for q in ("0.5", "0.95", "0.99")
        ),
        "gen_ai_client_operation_time_to_first_chunk_seconds_bucket",
        "gen_ai_client_operation_time_per_output_chunk_seconds_bucket",
        "sum by (gen_ai_token_type) (rate(gen_ai_client_token_usage_sum",
        "sum by (gen_ai_request_model) (rate(langchain_otel_client_cost_USD_total",
        "sum by (error_type)",
        'langchain_otel_outcome=~"cancelled|abandoned"',
    ]:
        assert needle in exprs, needle
    tempo = [
        t
        for panel in iter_panels(load(path))
        for t in panel.get("targets", [])
        if t["datasource"]["type"] == "tempo"
    ]
    assert tempo
    assert all(t["queryType"] == "traceql" and "span.gen_ai." in t["query"] for t in tempo)


@pytest.mark.parametrize("path", DASHBOARDS, ids=IDS)
def test_panel_ids_are_unique(path: Path) -> None:
    """Grafana needs a unique id per panel."""
    ids = [panel["id"] for panel in iter_panels(load(path))]
    assert len(ids) == len(set(ids))


def test_substitute_replaces_every_variable_form() -> None:
    """`$x`, `${x}`, `${x:regex}` and `[[x]]` are replaced; built-ins get intervals."""
    expr = 'rate(m{a=~"$model", b=~"${job}", c=~"${provider:regex}", d=~"[[x]]"}[$__rate_interval])'
    assert substitute(expr) == 'rate(m{a=~".+", b=~".*", c=~".*", d=~".*"}[1m])'
    assert "$" not in substitute(next(iter(ALL_QUERIES)).expr)


def test_name_translation_matches_the_real_exporter() -> None:
    """`prometheus_names()` gives exactly what PrometheusMetricReader serves on /metrics."""
    assert {kind for _, _, kind in INSTRUMENTS} == {"histogram", "counter"}
    registry = CollectorRegistry()
    provider = MeterProvider(metric_readers=[PrometheusMetricReader(registry=registry)])
    meter = provider.get_meter("test")
    for name, unit, kind in INSTRUMENTS:
        if kind == "histogram":
            meter.create_histogram(name, unit=unit).record(1.0, {"gen_ai.request.model": "m"})
        else:
            meter.create_counter(name, unit=unit).add(1.0, {"gen_ai.request.model": "m"})
    try:
        served = _served_names(registry) - {"target_info"}
    finally:
        provider.shutdown()
    assert served == EXPORTED
    assert "langchain_otel_client_cost_USD_total" in served


def _served_names(registry: CollectorRegistry) -> set[str]:
    return {
        line.split("{")[0].split(" ")[0]
        for line in generate_latest(registry).decode().splitlines()
        if line and not line.startswith("#")
    }


async def test_dashboard_metrics_are_what_the_handler_serves() -> None:
    """Every metric the dashboards query is on the handler's real /metrics output."""
    registry = CollectorRegistry()
    provider = MeterProvider(metric_readers=[PrometheusMetricReader(registry=registry)])
    handler = OTelCallbackHandler(
        meter_provider=provider,
        tracer_provider=TracerProvider(),
        prices={m: ModelPrice(input_per_million=1, output_per_million=2) for m in MODELS},
        use_genai_prices=False,
    )
    try:
        await Workload([handler]).run_round()
        served = _served_names(registry)
    finally:
        provider.shutdown()
    used = {name for query in ALL_QUERIES for name in metric_names(query.expr)}
    assert used <= served, used - served
