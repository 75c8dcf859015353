"""Faults of a real Collector (the shipped dashboards/collector.yaml) never hurt the app.

The app is `configure()` over OTLP http/protobuf (standard OTEL_* variables) sending traced
EchoLLM requests, one after the other. Each case records the reliability suite's figures
(p50/p99 request latency, spans sent / arrived / counted as dropped, exceptions raised) to
`reliability-results/figures.jsonl` and asserts only what must hold on a loaded machine:
nothing raised, drops counted, what was retried arrived, generous latency bounds.

- **killed and restarted**: SIGKILL mid-run, requests go on while it is down, restarted on
  the same ports. What the SDK retried arrives; what the dead Collector held in its batch
  processor is lost (the SDK had its 200 already: nobody can count it but the Collector).
- **memory_limiter refusing**: `COLLECTOR_MEMORY_LIMIT_MIB=1`, below any Go heap, so it
  refuses everything; the raw status codes are recorded, the SDK retries, then counts drops.
- **a slow exporter behind it**: the trace backend answers each export after 3 s; the
  Collector takes the data at once and queues it, so the app is not slowed and drops nothing;
  exports that time out in the Collector are retried, so the backend may get duplicates.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1 import trace_pb2

from tests.collector._app import ROOT_SPAN, App, app, otel_env
from tests.collector._servers import MISSING_REASON, SKIP, Collector, Jaeger, wait_for
from tests.collector._sink import SlowTraceBackend
from tests.reliability._support import percentile, record

pytestmark = [pytest.mark.collector, pytest.mark.skipif(SKIP, reason=MISSING_REASON)]

REQUESTS_PER_STEP = 30
#: configure()'s export timeout (retries included): long enough to ride out a restart.
EXPORT_TIMEOUT_S = 10.0
#: A request's p99 while the Collector is sick may not exceed this (healthy: ~10-50 ms).
P99_BOUND_S = 2.0


@pytest.fixture(scope="module")
def jaeger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jaeger]:
    """Jaeger v2, the trace backend of the Collector under test."""
    server = Jaeger(tmp_path_factory.mktemp("jaeger"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _env(service: str, collector: Collector) -> dict[str, str]:
    return otel_env(
        OTEL_SERVICE_NAME=service,
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.http_endpoint,
        OTEL_METRICS_EXPORTER="none",
    )


def _requests(application: App, start: int, count: int) -> list[float]:
    before = len(application.latencies)
    for index in range(start, start + count):
        application.request(index)
    return application.latencies[before:]


def _figures(latencies: list[float]) -> dict[str, float]:
    return {
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def test_collector_killed_mid_run_and_restarted(
    jaeger: Jaeger, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Kill -9 mid-run, keep sending, restart: no error, retried data arrives, drops counted."""
    service = "faults-killed"
    collector = Collector(tmp_path, env={"COLLECTOR_TRACES_ENDPOINT": jaeger.otlp_address})
    collector.start()
    try:
        with app(_env(service, collector), timeout=EXPORT_TIMEOUT_S) as application:
            healthy = _requests(application, 0, REQUESTS_PER_STEP)
            time.sleep(0.5)  # the SDK's batch (200 ms) is out, the Collector's may not be
            collector.kill()
            down = _requests(application, REQUESTS_PER_STEP, REQUESTS_PER_STEP)
            collector.start()
            after = _requests(application, 2 * REQUESTS_PER_STEP, REQUESTS_PER_STEP)
            application.telemetry.shutdown()
            sent = application.spans()
            dropped = application.telemetry.dropped["traces"]
            errors = application.errors
        wait_for(lambda: jaeger.span_count(service) >= len(sent) - dropped, timeout=30)
        arrived = jaeger.traces(service)
    finally:
        collector.stop()
    arrived_spans = sum(len(trace["spans"]) for trace in arrived)
    indices = {
        int(tag["value"])
        for trace in arrived
        for span in trace["spans"]
        if span["operationName"] == ROOT_SPAN
        for tag in span["tags"]
        if tag["key"] == "request.index"
    }
    record(
        request,
        requests=3 * REQUESTS_PER_STEP,
        spans_sent=len(sent),
        spans_arrived=arrived_spans,
        spans_dropped_counted=dropped,
        spans_lost_in_collector=len(sent) - arrived_spans - dropped,
        requests_arrived_while_down=len(indices & set(range(30, 60))),
        healthy=_figures(healthy),
        down=_figures(down),
        after_restart=_figures(after),
        raised=len(errors),
    )
    assert errors == []
    assert arrived_spans + dropped <= len(sent)
    # Sent while it was down: retried by the SDK and delivered after the restart.
    assert set(range(REQUESTS_PER_STEP, 2 * REQUESTS_PER_STEP)) <= indices
    # Sent after the restart: all there.
    assert set(range(2 * REQUESTS_PER_STEP, 3 * REQUESTS_PER_STEP)) <= indices
    assert percentile(down, 0.99) < P99_BOUND_S


def _one_span_request() -> trace_service_pb2.ExportTraceServiceRequest:
    span = trace_pb2.Span(
        trace_id=bytes(range(1, 17)), span_id=bytes(range(1, 9)), name="probe",
        start_time_unix_nano=1, end_time_unix_nano=2,
    )  # fmt: skip
    return trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[trace_pb2.ResourceSpans(scope_spans=[trace_pb2.ScopeSpans(spans=[span])])]
    )


def _refusals(collector: Collector) -> dict[str, Any]:
    """What a client sees from a refusing Collector, on each protocol."""
    body = _one_span_request().SerializeToString()
    http = httpx.post(
        f"{collector.http_endpoint}/v1/traces",
        content=body,
        headers={"Content-Type": "application/x-protobuf"},
        timeout=10,
    )
    with grpc.insecure_channel(f"127.0.0.1:{collector.grpc_port}") as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        try:
            stub.Export(_one_span_request(), timeout=10)
            code = "OK"
        except grpc.RpcError as exc:
            code = exc.code().name  # type: ignore[attr-defined]
    return {"http_status": http.status_code, "retry_after": http.headers.get("retry-after"),
            "grpc_code": code}  # fmt: skip


def test_memory_limiter_refusing(
    jaeger: Jaeger, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A Collector over its memory limit refuses; the app retries, counts drops, is not hurt."""
    service = "faults-memory-limiter"
    collector = Collector(
        tmp_path,
        env={"COLLECTOR_TRACES_ENDPOINT": jaeger.otlp_address, "COLLECTOR_MEMORY_LIMIT_MIB": "1"},
    )
    collector.start()
    try:
        assert wait_for(lambda: _refusals(collector)["http_status"] != 200, timeout=20)
        refusals = _refusals(collector)
        with app(_env(service, collector), timeout=3.0) as application:
            latencies = _requests(application, 0, REQUESTS_PER_STEP)
            started = time.monotonic()
            application.telemetry.shutdown()
            shutdown_s = time.monotonic() - started
            sent = application.spans()
            dropped = application.telemetry.dropped["traces"]
            errors = application.errors
        refused = collector.own_metrics().get("otelcol_receiver_refused_spans", 0.0)
    finally:
        collector.stop()
    record(
        request,
        **refusals,
        spans_sent=len(sent),
        spans_dropped_counted=dropped,
        collector_refused_spans=refused,
        shutdown_s=shutdown_s,
        raised=len(errors),
        **_figures(latencies),
    )
    assert errors == []
    assert refusals["http_status"] in {429, 503}
    assert refusals["grpc_code"] in {"RESOURCE_EXHAUSTED", "UNAVAILABLE"}
    assert dropped == len(sent)
    assert refused >= len(sent)
    assert jaeger.span_count(service) == 0
    assert percentile(latencies, 0.99) < P99_BOUND_S


def test_slow_exporter_behind_the_collector(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """The backend takes 3 s per export: the Collector queues, the app is neither slowed nor
    dropping, and everything arrives in the end."""
    with SlowTraceBackend(delay=3.0) as backend:
        collector = Collector(tmp_path, env={"COLLECTOR_TRACES_ENDPOINT": backend.address})
        collector.start()
        try:
            with app(_env("faults-slow-backend", collector), timeout=5.0) as application:
                latencies = _requests(application, 0, 3 * REQUESTS_PER_STEP)
                started = time.monotonic()
                application.telemetry.shutdown()
                shutdown_s = time.monotonic() - started
                sent = application.spans()
                dropped = application.telemetry.dropped["traces"]
                errors = application.errors
            own = collector.own_metrics()
            assert wait_for(lambda: backend.spans >= len(sent), timeout=60, interval=1)
        finally:
            collector.stop()
    record(
        request,
        spans_sent=len(sent),
        spans_dropped_counted=dropped,
        spans_arrived=backend.spans,
        spans_duplicated=backend.spans - len(sent),
        backend_requests=backend.requests,
        collector_queue_size=own.get("otelcol_exporter_queue_size", 0.0),
        shutdown_s=shutdown_s,
        raised=len(errors),
        **_figures(latencies),
    )
    assert errors == []
    assert dropped == 0
    # At least once: exports that outlive the Collector's 5 s exporter timeout (queued behind
    # slow ones in the backend) are retried, so a slow backend can get some spans twice.
    assert backend.spans >= len(sent)
    assert shutdown_s < 3.0  # the app does not wait for the slow backend, the Collector does
    assert percentile(latencies, 0.99) < P99_BOUND_S
