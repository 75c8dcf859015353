"""The shipped dashboards/collector.yaml, in a real Collector, between our SDK and real backends.

One stack for the module: Jaeger v2 (in-memory), three Prometheus 3 servers and our
Collector distribution running **the exact `dashboards/collector.yaml`** (only its
`${env:...}` variables set: loopback ports, Jaeger's address, a remote-write URL, the logs
file, metrics exporters `[prometheus, prometheusremotewrite]`).

Two phases, each a fresh `configure()` from the standard OTEL_* variables only:

- ``http``: every signal over OTLP http/protobuf to the Collector. Metrics reach Prometheus
  through the Collector's `prometheusremotewrite` exporter (path ``remote-write``) and
  through its `prometheus` exporter, scraped (path ``collector-scrape``).
- ``grpc``: traces and logs over OTLP/gRPC to the Collector; metrics straight from the SDK
  into Prometheus 3's native OTLP receiver (`--web.enable-otlp-receiver`, its default
  `otlp.translation_strategy`; path ``prometheus-otlp``).

Each phase sends traced requests (a root span, a chain, a log line), then keeps the
dashboards' workload running until every dashboard query has data on its paths, and
snapshots every query's result while it runs. The tests then read the snapshots and the
backends: traces in Jaeger (names, parents, count, gen_ai.* attributes), metric names as each
Prometheus stores them, every panel and variable query, logs in the file exporter.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.collector._app import LOG_EVENT, ROOT_SPAN, app, otel_env
from tests.collector._servers import (
    MISSING_REASON,
    SKIP,
    Collector,
    Jaeger,
    prometheus3,
    validate,
    wait_for,
)
from tests.dashboards._dashboards import (
    Query,
    dashboard_files,
    prometheus_queries,
    substitute,
    variable_queries,
)
from tests.dashboards._prometheus import PrometheusServer
from tests.dashboards._workload import MODELS, Workload, WorkloadError

pytestmark = [pytest.mark.collector, pytest.mark.skipif(SKIP, reason=MISSING_REASON)]

PANEL_QUERIES = [q for path in dashboard_files() for q in prometheus_queries(path)]
VARIABLE_QUERIES = [q for path in dashboard_files() for q in variable_queries(path)]
_LABEL_VALUES = re.compile(r"^label_values\((?P<match>.+),\s*(?P<label>\w+)\)$", re.DOTALL)
TRACED_REQUESTS = 5
WAIT_FOR_DATA_S = 120
#: The metrics paths, and the phase that feeds each.
PATHS = {"remote-write": "http", "collector-scrape": "http", "prometheus-otlp": "grpc"}
OURS = ("gen_ai.", "langchain_otel.", "langchain.", "error.type")


@dataclass
class Stack:
    """The running backends and the Collector."""

    jaeger: Jaeger
    collector: Collector
    prometheus: dict[str, PrometheusServer]


@dataclass
class Phase:
    """What one phase sent and what the backends answered while it ran."""

    service: str
    spans: list[Any]
    dropped: dict[str, int]
    errors: list[BaseException]
    outcomes: dict[str, int]
    panel_results: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    range_results: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    variable_values: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    metric_names: dict[str, set[str]] = field(default_factory=dict)
    waited_s: float = 0.0


def _has_data(result: list[dict[str, Any]]) -> bool:
    return any(math.isfinite(float(sample["value"][1])) for sample in result)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Jaeger, Prometheus 3 (remote-write / scrape / OTLP) and the shipped Collector config."""
    root = tmp_path_factory.mktemp("stack")
    jaeger = Jaeger(root / "jaeger")
    remote_write = prometheus3(root / "prometheus-remote-write", "remote-write")
    otlp = prometheus3(root / "prometheus-otlp", "otlp")
    collector = Collector(
        root / "collector",
        env={
            "COLLECTOR_TRACES_ENDPOINT": jaeger.otlp_address,
            "COLLECTOR_REMOTE_WRITE_URL": f"{remote_write.url}/api/v1/write",
            "COLLECTOR_METRICS_EXPORTERS": "[prometheus, prometheusremotewrite]",
        },
    )
    scrape = prometheus3(
        root / "prometheus-scrape", target=f"127.0.0.1:{collector.prometheus_port}"
    )
    servers: list[Any] = [jaeger, remote_write, otlp, scrape, collector]
    started: list[Any] = []
    try:
        for server in servers:
            server.start()
            started.append(server)
        yield Stack(
            jaeger,
            collector,
            {"remote-write": remote_write, "collector-scrape": scrape, "prometheus-otlp": otlp},
        )
    finally:
        for server in reversed(started):
            server.stop()


def _phase_env(stack: Stack, protocol: str) -> dict[str, str]:
    service = f"langchain-otel-{protocol.split('/', maxsplit=1)[0]}"
    env = otel_env(
        OTEL_SERVICE_NAME=service,
        OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
        OTEL_EXPORTER_OTLP_ENDPOINT=(
            stack.collector.grpc_endpoint if protocol == "grpc" else stack.collector.http_endpoint
        ),
    )
    if protocol == "grpc":
        # Metrics skip the Collector: our SDK straight into Prometheus 3's OTLP receiver.
        otlp = stack.prometheus["prometheus-otlp"]
        env["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] = f"{otlp.url}/api/v1/otlp/v1/metrics"
        env["OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"] = "http/protobuf"
    return env


def _snapshot(phase: Phase, name: str, prometheus: PrometheusServer) -> None:
    values = {"job": phase.service}
    phase.panel_results[name] = {
        q.id: prometheus.query(substitute(q.expr, values)) for q in PANEL_QUERIES
    }
    phase.range_results[name] = {
        q.id: prometheus.query_range(substitute(q.expr, values), seconds=10) for q in PANEL_QUERIES
    }
    listed: dict[str, list[str]] = {}
    for query in VARIABLE_QUERIES:
        parsed = _LABEL_VALUES.match(query.expr)
        assert parsed, query.expr
        listed[query.id] = prometheus.label_values(
            parsed["label"], substitute(parsed["match"], values)
        )
    phase.variable_values[name] = listed
    names = prometheus.label_values("__name__", f'{{job="{phase.service}"}}')
    phase.metric_names[name] = set(names)


def _run_phase(stack: Stack, protocol: str) -> Phase:
    env = _phase_env(stack, protocol)
    feeding = protocol.split("/", maxsplit=1)[0]
    paths = [path for path, phase in PATHS.items() if phase == feeding]
    with app(env) as application:
        for index in range(TRACED_REQUESTS):
            application.request(index)
        phase = Phase(env["OTEL_SERVICE_NAME"], [], {}, application.errors, {})
        with Workload([application.handler]) as workload:
            started = time.monotonic()
            for path in paths:
                prometheus = stack.prometheus[path]
                pending = list(PANEL_QUERIES)
                while pending and time.monotonic() < started + WAIT_FOR_DATA_S:
                    time.sleep(1)
                    pending = [
                        q
                        for q in pending
                        if not _has_data(
                            prometheus.query(substitute(q.expr, {"job": phase.service}))
                        )
                    ]
                _snapshot(phase, path, prometheus)
            phase.waited_s = time.monotonic() - started
            phase.outcomes = dict(workload.outcomes)
        application.telemetry.shutdown()
        phase.spans = application.spans()
        phase.dropped = dict(application.telemetry.dropped)
    return phase


@pytest.fixture(scope="module")
def phases(stack: Stack) -> dict[str, Phase]:
    """Both phases, run one after the other (one `configure()` at a time)."""
    return {"http": _run_phase(stack, "http/protobuf"), "grpc": _run_phase(stack, "grpc")}


def _phase_of(path: str, phases: dict[str, Phase]) -> Phase:
    return phases[PATHS[path]]


# -- the config ---------------------------------------------------------------------------


def test_the_collector_runs_the_shipped_file_unchanged(stack: Stack) -> None:
    """The Collector's --config is dashboards/collector.yaml itself, and it validates."""
    assert stack.collector.config_path.name == "collector.yaml"
    assert stack.collector.config_path.parent.name == "dashboards"
    result = validate(stack.collector.config_path, stack.collector.variables)
    assert result.returncode == 0, result.stdout + result.stderr


# -- the app ------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["http", "grpc"])
def test_the_app_saw_no_error_and_dropped_nothing(phases: dict[str, Phase], phase: str) -> None:
    """Nothing raised into the application; every span, metric and log was accepted."""
    ran = phases[phase]
    assert ran.errors == []
    assert ran.dropped == {"traces": 0, "metrics": 0, "logs": 0}
    assert set(ran.outcomes) == {"ok", "error", "cancelled", "abandoned"}


# -- traces in Jaeger ---------------------------------------------------------------------


def _jaeger_spans(stack: Stack, phase: Phase) -> dict[str, dict[str, Any]]:
    expected = len(phase.spans)
    wait_for(lambda: stack.jaeger.span_count(phase.service) >= expected, timeout=60)
    return {
        span["spanID"]: {**span, "traceID": trace["traceID"]}
        for trace in stack.jaeger.traces(phase.service)
        for span in trace["spans"]
    }


def _parent(span: dict[str, Any]) -> str | None:
    parents = [ref["spanID"] for ref in span.get("references", []) if ref["refType"] == "CHILD_OF"]
    return parents[0] if parents else None


@pytest.mark.parametrize("phase", ["http", "grpc"])
def test_traces_arrive_in_jaeger(stack: Stack, phases: dict[str, Phase], phase: str) -> None:
    """Jaeger holds exactly the spans the SDK ended: same ids, names, parents, trace count."""
    ran = phases[phase]
    received = _jaeger_spans(stack, ran)
    sent = {f"{s.context.span_id:016x}": s for s in ran.spans}
    assert len(sent) > 50
    assert set(received) == set(sent)
    trace_ids = {f"{s.context.trace_id:032x}" for s in ran.spans}
    assert {trace["traceID"] for trace in stack.jaeger.traces(ran.service)} == trace_ids
    for span_id, span in sent.items():
        copy = received[span_id]
        assert copy["operationName"] == span.name
        assert copy["traceID"] == f"{span.context.trace_id:032x}"
        assert _parent(copy) == (f"{span.parent.span_id:016x}" if span.parent else None)


@pytest.mark.parametrize("phase", ["http", "grpc"])
def test_traced_requests_keep_their_tree(
    stack: Stack, phases: dict[str, Phase], phase: str
) -> None:
    """Each traced request is one trace: root -> RunnableSequence -> text_completion model."""
    ran = phases[phase]
    received = _jaeger_spans(stack, ran)
    roots = [s for s in received.values() if s["operationName"] == ROOT_SPAN]
    assert len(roots) == TRACED_REQUESTS
    assert len({root["traceID"] for root in roots}) == TRACED_REQUESTS
    for root in roots:
        assert _parent(root) is None
        in_trace = [s for s in received.values() if s["traceID"] == root["traceID"]]
        chain = [s for s in in_trace if _parent(s) == root["spanID"]]
        assert [s["operationName"] for s in chain] == ["RunnableSequence"]
        model = [s for s in in_trace if s["operationName"].startswith("text_completion ")]
        assert [s["operationName"] for s in model] == ["text_completion echo-small"]
        assert _parent(model[0]) == chain[0]["spanID"]


def _tag_value(tag: dict[str, Any]) -> Any:
    return tag["value"]


def _same(sent: Any, received: Any) -> bool:
    if isinstance(sent, bool) or isinstance(received, bool):
        return bool(sent) == bool(received)
    if isinstance(sent, float) or isinstance(received, float):
        return math.isclose(float(sent), float(received), rel_tol=1e-9)
    if isinstance(sent, tuple | list):
        return list(sent) == (json.loads(received) if isinstance(received, str) else received)
    return bool(sent == received)


@pytest.mark.parametrize("phase", ["http", "grpc"])
def test_genai_attributes_are_intact(stack: Stack, phases: dict[str, Phase], phase: str) -> None:
    """Every gen_ai.* / langchain_otel.* / langchain.* attribute arrives with its value."""
    ran = phases[phase]
    received = _jaeger_spans(stack, ran)
    checked = 0
    for span in ran.spans:
        tags = {t["key"]: _tag_value(t) for t in received[f"{span.context.span_id:016x}"]["tags"]}
        for key, value in (span.attributes or {}).items():
            if key.startswith(OURS):
                assert key in tags, (span.name, key)
                assert _same(value, tags[key]), (span.name, key, value, tags[key])
                checked += 1
    assert checked > 200
    model = next(s for s in ran.spans if s.name.startswith("text_completion "))
    assert {"gen_ai.operation.name", "gen_ai.request.model", "gen_ai.provider.name"} <= set(
        model.attributes or {}
    )


def test_failures_carry_error_type(stack: Stack, phases: dict[str, Phase]) -> None:
    """The workload's injected failures arrive as ERROR spans with their error.type."""
    received = _jaeger_spans(stack, phases["http"])
    error_type = f"{WorkloadError.__module__}.{WorkloadError.__qualname__}"
    failed = [
        span
        for span in received.values()
        if any(t["key"] == "error.type" and t["value"] == error_type for t in span["tags"])
    ]
    assert failed
    for span in failed:
        tags = {t["key"]: t["value"] for t in span["tags"]}
        assert tags.get("otel.status_code") == "ERROR", tags


# -- metrics in Prometheus 3 --------------------------------------------------------------


@pytest.mark.parametrize("path", list(PATHS))
def test_metric_names_as_prometheus_stores_them(phases: dict[str, Phase], path: str) -> None:
    """Observed, not assumed: each path stores the same names for our instruments."""
    names = {
        n
        for n in _phase_of(path, phases).metric_names[path]
        if n.startswith(("gen_ai_", "langchain_otel_"))
    }
    reference = {
        n
        for n in phases["http"].metric_names["collector-scrape"]
        if n.startswith(("gen_ai_", "langchain_otel_"))
    }
    assert "gen_ai_client_operation_duration_seconds_bucket" in names
    assert names == reference, sorted(names ^ reference)


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("query", PANEL_QUERIES, ids=lambda q: q.id)
def test_panel_query_returns_data(phases: dict[str, Phase], path: str, query: Query) -> None:
    """Every panel query, variables substituted (Service = the phase's job), has data."""
    phase = _phase_of(path, phases)
    instant = phase.panel_results[path][query.id]
    assert _has_data(instant), f"no data on {path} after {phase.waited_s:.0f} s: {query.expr}"
    assert phase.range_results[path][query.id], f"query_range empty on {path}: {query.expr}"


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("query", VARIABLE_QUERIES, ids=lambda q: q.id)
def test_variable_query_lists_values(phases: dict[str, Phase], path: str, query: Query) -> None:
    """A variable's `label_values(selector, label)` lists the workload's values."""
    phase = _phase_of(path, phases)
    parsed = _LABEL_VALUES.match(query.expr)
    assert parsed is not None
    expected = {
        "job": {phase.service},
        "gen_ai_request_model": set(MODELS),
        "gen_ai_provider_name": {"echo"},
        "gen_ai_operation_name": {"text_completion", "chat"},  # the agents use a chat model
    }[parsed["label"]]
    assert set(phase.variable_values[path][query.id]) == expected


# -- logs in the Collector's file exporter ------------------------------------------------


def _log_records(path: Path, service: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    if not path.exists():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        for resource_logs in json.loads(line).get("resourceLogs", []):
            attributes = {
                a["key"]: a["value"].get("stringValue")
                for a in resource_logs["resource"].get("attributes", [])
            }
            if attributes.get("service.name") != service:
                continue
            for scope in resource_logs.get("scopeLogs", []):
                records += scope.get("logRecords", [])
    return records


@pytest.mark.parametrize("phase", ["http", "grpc"])
def test_logs_carry_the_trace_ids_of_the_spans(
    stack: Stack, phases: dict[str, Phase], phase: str
) -> None:
    """Each request's log line is in the file with its root span's trace and span id."""
    ran = phases[phase]
    logs_file = stack.collector.logs_file
    wait_for(
        lambda: (
            sum(
                r.get("body", {}).get("stringValue") == LOG_EVENT
                for r in _log_records(logs_file, ran.service)
            )
            >= TRACED_REQUESTS
        ),
        timeout=30,
    )
    records = _log_records(logs_file, ran.service)
    roots = {
        f"{s.context.trace_id:032x}": f"{s.context.span_id:016x}"
        for s in ran.spans
        if s.name == ROOT_SPAN
    }
    done = [r for r in records if r.get("body", {}).get("stringValue") == LOG_EVENT]
    assert {r["traceId"]: r["spanId"] for r in done} == roots
    # The handler's own llm.end events: their trace_id attribute names a trace we sent.
    trace_ids = {f"{s.context.trace_id:032x}" for s in ran.spans}
    ends = [r for r in records if r.get("body", {}).get("stringValue") == "llm.end"]
    assert ends
    for record in ends:
        attributes = {a["key"]: a["value"].get("stringValue") for a in record["attributes"]}
        assert attributes["trace_id"] in trace_ids
