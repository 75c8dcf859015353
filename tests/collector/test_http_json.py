"""OTLP/HTTP JSON (``OTEL_EXPORTER_OTLP_PROTOCOL=http/json``) into a real Collector.

The app is ``configure()`` from the standard OTEL_* variables only, every signal over
``http/json`` to our Collector distribution running the shipped ``dashboards/collector.yaml``
(Jaeger v2 behind it for traces, its file exporter for logs, its ``prometheus`` exporter for
metrics). The Collector must accept everything (its own receiver metrics say so), Jaeger
must hold every span with its parent and ``gen_ai.*`` attributes, the log file every record
with its trace id, and the app must have dropped nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.collector._app import LOG_EVENT, ROOT_SPAN, App, app, otel_env
from tests.collector._servers import MISSING_REASON, SKIP, Collector, Jaeger, wait_for

pytestmark = [pytest.mark.collector, pytest.mark.skipif(SKIP, reason=MISSING_REASON)]

REQUESTS = 12
SERVICE = "langchain-otel-json"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


EXPORTER_LOG = _Records()


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, Collector, Jaeger]]:
    """Jaeger and a Collector; the app's requests over http/json, shut down (all flushed)."""
    logging.getLogger("langchain_otel._export._otlp_http").addHandler(EXPORTER_LOG)
    jaeger = Jaeger(tmp_path_factory.mktemp("jaeger"))
    jaeger.start()
    collector = Collector(
        tmp_path_factory.mktemp("collector"),
        env={"COLLECTOR_TRACES_ENDPOINT": jaeger.otlp_address},
    )
    collector.start()
    try:
        env = otel_env(
            OTEL_SERVICE_NAME=SERVICE,
            OTEL_EXPORTER_OTLP_PROTOCOL="http/json",
            OTEL_EXPORTER_OTLP_ENDPOINT=collector.http_endpoint,
        )
        with app(env) as application:
            for index in range(REQUESTS):
                application.request(index)
            application.telemetry.shutdown()
            yield application, collector, jaeger
    finally:
        logging.getLogger("langchain_otel._export._otlp_http").removeHandler(EXPORTER_LOG)
        collector.stop()
        jaeger.stop()


def test_nothing_raised_nothing_dropped(sent: tuple[App, Collector, Jaeger]) -> None:
    application, _, _ = sent
    assert application.errors == []
    assert application.telemetry.dropped == {"traces": 0, "metrics": 0, "logs": 0}
    # the Collector answers {"partialSuccess":{}}: nothing rejected, nothing logged
    assert [r.getMessage() for r in EXPORTER_LOG.records] == []


def test_the_collector_accepted_every_signal(sent: tuple[App, Collector, Jaeger]) -> None:
    application, collector, _ = sent
    metrics = collector.own_metrics()
    assert metrics.get("otelcol_receiver_accepted_spans", 0) == len(application.spans())
    assert metrics.get("otelcol_receiver_accepted_metric_points", 0) > 0
    assert metrics.get("otelcol_receiver_accepted_log_records", 0) >= REQUESTS
    for refused in ("spans", "metric_points", "log_records"):
        assert metrics.get(f"otelcol_receiver_refused_{refused}", 0) == 0


def _tags(span: dict[str, Any]) -> dict[str, Any]:
    return {tag["key"]: tag["value"] for tag in span["tags"]}


def test_jaeger_holds_every_span_with_its_parent(sent: tuple[App, Collector, Jaeger]) -> None:
    application, _, jaeger = sent
    ours = application.spans()
    assert wait_for(lambda: jaeger.span_count(SERVICE) >= len(ours), timeout=60)
    stored = {span["spanID"]: span for trace in jaeger.traces(SERVICE) for span in trace["spans"]}
    assert len(stored) == len(ours)
    for span in ours:
        got = stored[f"{span.context.span_id:016x}"]
        assert got["operationName"] == span.name
        parents = [r["spanID"] for r in got.get("references", []) if r["refType"] == "CHILD_OF"]
        assert parents == ([f"{span.parent.span_id:016x}"] if span.parent else [])
    models = [s for s in stored.values() if _tags(s).get("gen_ai.request.model")]
    assert len(models) == REQUESTS
    assert {_tags(s)["gen_ai.request.model"] for s in models} == {"echo-small"}
    roots = [s for s in stored.values() if s["operationName"] == ROOT_SPAN]
    assert sorted(_tags(s)["request.index"] for s in roots) == list(range(REQUESTS))


def test_logs_reach_the_file_with_their_trace_ids(sent: tuple[App, Collector, Jaeger]) -> None:
    application, collector, _ = sent
    path: Path = collector.logs_file

    def records() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        for line in lines:
            for resource in json.loads(line).get("resourceLogs", []):
                for scope in resource.get("scopeLogs", []):
                    found += scope.get("logRecords", [])
        return [r for r in found if r.get("body", {}).get("stringValue") == LOG_EVENT]

    assert wait_for(lambda: len(records()) >= REQUESTS, timeout=30)
    roots = {
        f"{s.context.trace_id:032x}": f"{s.context.span_id:016x}"
        for s in application.spans()
        if s.name == ROOT_SPAN
    }
    assert {r["traceId"]: r["spanId"] for r in records()} == roots


def test_metrics_reach_the_collectors_prometheus_exporter(
    sent: tuple[App, Collector, Jaeger],
) -> None:
    _, collector, _ = sent
    url = f"http://127.0.0.1:{collector.prometheus_port}/metrics"
    assert wait_for(lambda: "gen_ai_client_operation_duration" in httpx.get(url).text, 30)
    text = httpx.get(url, timeout=10).text
    assert f'job="{SERVICE}"' in text
