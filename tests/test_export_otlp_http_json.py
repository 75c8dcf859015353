"""OTLP/HTTP JSON (``protocol="http/json"``), against a real HTTP receiver on 127.0.0.1.

The receiver records every request and answers from a script (status, headers), so the
retry rules of the OTLP/HTTP specification are checked on the wire: what is retried,
what is not, ``Retry-After``, the timeout, shutdown. The bodies are checked against the
official encoders (the same request as ``encode_spans`` / ``encode_metrics`` /
``encode_logs``) and against the embedded default's lines, byte for byte.
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import langchain_otel
from langchain_otel._export._jsonl import JsonlSpanExporter, from_otlp_json
from langchain_otel._export._otlp_http_json import OtlpHttpJsonWriter, otlp_json_exporter
from langchain_otel._export._prepared import prepare
from langchain_otel.exceptions import ConfigurationError


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        raw = self.body
        if self.headers.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        return json.loads(raw)


@dataclass
class Receiver:
    """An OTLP/HTTP receiver: records requests, answers ``script`` then 200."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    payload: bytes = b"{}"
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, signal: str) -> str:
        return f"{self.base}/v1/{signal}"

    def answer(self) -> tuple[int, dict[str, str]]:
        with self.lock:
            return self.script.pop(0) if self.script else (200, {})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {key.lower(): value for key, value in self.headers.items()}
            with state.lock:
                state.requests.append(Received(self.path, headers, body))
            status, extra = state.answer()
            payload = state.payload
            self.send_response(status)
            for key, value in extra.items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _spans(count: int = 3) -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test.http.json", "1.0")
    with tracer.start_as_current_span("parent", attributes={"gen_ai.request.model": "m"}):
        for index in range(count - 1):
            tracer.start_span(f"child {index}", attributes={"n": index, "ok": True}).end()
    return list(memory.get_finished_spans())


def test_spans_are_posted_as_the_official_request_in_json(receiver: Receiver) -> None:
    spans = _spans()
    exporter = otlp_json_exporter("traces", receiver.url("traces"), headers={"x-tenant": "a"})
    assert exporter.export(spans).name == "SUCCESS"
    (request,) = receiver.requests
    assert request.path == "/v1/traces"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-tenant"] == "a"
    assert request.headers["user-agent"].startswith("langchain-otel/")
    parsed = from_otlp_json(request.json(), ExportTraceServiceRequest())
    assert parsed == encode_spans(spans)


def test_the_body_is_the_embedded_default_line(receiver: Receiver, tmp_path: Path) -> None:
    spans = _spans()
    JsonlSpanExporter(tmp_path / "t.jsonl").export(spans)
    otlp_json_exporter("traces", receiver.url("traces")).export(spans)
    assert receiver.requests[0].body + b"\n" == (tmp_path / "t.jsonl").read_bytes()


def test_prepared_and_plain_spans_go_as_one_request_per_run(receiver: Receiver) -> None:
    spans = _spans(4)
    batch: list[Any] = [prepare(spans[0]), prepare(spans[1]), spans[2], prepare(spans[3])]
    assert otlp_json_exporter("traces", receiver.url("traces")).export(batch).name == "SUCCESS"
    assert len(receiver.requests) == 3
    got = [from_otlp_json(r.json(), ExportTraceServiceRequest()) for r in receiver.requests]
    assert got == [encode_spans(spans[:2]), encode_spans(spans[2:3]), encode_spans(spans[3:])]


def test_gzip_compression(receiver: Receiver) -> None:
    spans = _spans()
    otlp_json_exporter("traces", receiver.url("traces"), compression="gzip").export(spans)
    (request,) = receiver.requests
    assert request.headers["content-encoding"] == "gzip"
    assert from_otlp_json(request.json(), ExportTraceServiceRequest()) == encode_spans(spans)


def test_compression_from_the_variable(receiver: Receiver, monkeypatch: Any) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip")
    otlp_json_exporter("traces", receiver.url("traces")).export(_spans())
    assert receiver.requests[0].headers["content-encoding"] == "gzip"


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_statuses_are_retried(receiver: Receiver, status: int) -> None:
    receiver.script = [(status, {"Retry-After": "0"}), (status, {"Retry-After": "0"})]
    result = otlp_json_exporter("traces", receiver.url("traces"), timeout=5).export(_spans())
    assert result.name == "SUCCESS"
    assert len(receiver.requests) == 3
    assert receiver.requests[0].body == receiver.requests[2].body


def test_retries_back_off_without_retry_after(receiver: Receiver) -> None:
    receiver.script = [(503, {})]
    started = time.monotonic()
    result = otlp_json_exporter("traces", receiver.url("traces"), timeout=5).export(_spans())
    assert result.name == "SUCCESS"
    assert len(receiver.requests) == 2
    assert time.monotonic() - started >= 0.8  # the first backoff: 1 s, jitter ±20%


@pytest.mark.parametrize("status", [400, 401, 404, 413, 500])
def test_other_statuses_fail_at_once(
    receiver: Receiver, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.script = [(status, {})]
    with caplog.at_level(logging.WARNING, "langchain_otel._export._otlp_http"):
        result = otlp_json_exporter("traces", receiver.url("traces"), timeout=5).export(_spans())
    assert result.name == "FAILURE"
    assert len(receiver.requests) == 1
    assert f"HTTP {status}" in caplog.text


def test_retries_stop_at_the_timeout(receiver: Receiver) -> None:
    receiver.script = [(503, {"Retry-After": "0.2"})] * 100
    started = time.monotonic()
    result = otlp_json_exporter("traces", receiver.url("traces"), timeout=1.0).export(_spans())
    elapsed = time.monotonic() - started
    assert result.name == "FAILURE"
    assert 2 <= len(receiver.requests) <= 6
    assert elapsed < 1.5


def test_a_backend_that_is_down_fails_within_the_timeout() -> None:
    from tests.dashboards._prometheus import free_port

    exporter = otlp_json_exporter(
        "traces", f"http://127.0.0.1:{free_port()}/v1/traces", timeout=0.5
    )
    started = time.monotonic()
    assert exporter.export(_spans()).name == "FAILURE"
    assert time.monotonic() - started < 1.5


def test_shutdown_refuses_later_exports_and_interrupts_retries(receiver: Receiver) -> None:
    receiver.script = [(503, {"Retry-After": "30"})]
    exporter = otlp_json_exporter("traces", receiver.url("traces"), timeout=60)
    results: list[str] = []
    worker = threading.Thread(target=lambda: results.append(exporter.export(_spans()).name))
    worker.start()
    while not receiver.requests:
        time.sleep(0.01)
    started = time.monotonic()
    exporter.shutdown()
    worker.join(5)
    assert results == ["FAILURE"]
    assert time.monotonic() - started < 2
    assert exporter.export(_spans()).name == "FAILURE"
    assert len(receiver.requests) == 1


def test_metrics_and_logs(receiver: Receiver) -> None:
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    meter_provider.get_meter("test").create_counter("hits").add(3, {"k": "v"})
    data = reader.get_metrics_data()
    assert data is not None
    assert otlp_json_exporter("metrics", receiver.url("metrics")).export(data).name == "SUCCESS"

    memory = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger_provider.get_logger("test").emit(body="hello", attributes={"a": 1})
    records = list(memory.get_finished_logs())
    assert otlp_json_exporter("logs", receiver.url("logs")).export(records).name == "SUCCESS"

    metrics, logs = receiver.requests
    assert metrics.path == "/v1/metrics"
    parsed = ExportMetricsServiceRequest()
    from_otlp_json(metrics.json(), parsed)
    metric = parsed.resource_metrics[0].scope_metrics[0].metrics[0]
    assert (metric.name, metric.sum.data_points[0].as_int) == ("hits", 3)
    assert logs.path == "/v1/logs"
    assert from_otlp_json(logs.json(), ExportLogsServiceRequest()) == encode_logs(records)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd", "unsupported compression 'zstd'"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon", "'soon' is not a number of seconds"),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem", "cannot load them"),
    ],
)
def test_invalid_variables_fail_at_configure(
    monkeypatch: Any, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=message):
        langchain_otel.configure(
            exporter="otlp", protocol="http/json", endpoint="http://127.0.0.1:4318",
            set_global=False,
        )  # fmt: skip


def test_configure_sends_every_signal_over_http_json(receiver: Receiver) -> None:
    telemetry = langchain_otel.configure(
        exporter="otlp", protocol="http/json", endpoint=receiver.base, set_global=False
    )
    try:
        assert telemetry.settings.traces.endpoint == receiver.url("traces")
        tracer = telemetry.tracer_provider.get_tracer("test")
        tracer.start_span("configured").end()
        telemetry.meter_provider.get_meter("test").create_counter("c").add(1)
        telemetry.logger_provider.get_logger("test").emit(body="configured")
    finally:
        langchain_otel.shutdown()
    paths = sorted({request.path for request in receiver.requests})
    assert paths == ["/v1/logs", "/v1/metrics", "/v1/traces"]
    (traces,) = [r for r in receiver.requests if r.path == "/v1/traces"]
    span = traces.json()["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert span["name"] == "configured"
    assert not any(telemetry.dropped.values())


def test_writer_reports_what_failed() -> None:
    writer = OtlpHttpJsonWriter("http://127.0.0.1:9/v1/traces", timeout=0.1)
    with pytest.raises(ConnectionError, match=r"127\.0\.0\.1:9/"):
        writer.write_line(b"{}\n")
    writer.close()


def test_the_export_itself_is_not_traced_by_the_httpx_instrumentation(
    receiver: Receiver,
) -> None:
    """With opentelemetry-instrumentation-httpx on, an export makes no client span."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    instrumentor = HTTPXClientInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        exporter = otlp_json_exporter("traces", receiver.url("traces"))  # a client made after
        assert exporter.export(_spans()).name == "SUCCESS"
        httpx.get(receiver.base + "/elsewhere")  # the instrumentation does trace others
    finally:
        instrumentor.uninstrument()
    assert len(receiver.requests) == 1  # the export's POST
    (traced,) = memory.get_finished_spans()  # only the GET
    attributes = traced.attributes or {}  # old or new HTTP semconv
    assert attributes.get("http.request.method", attributes.get("http.method")) == "GET"


@pytest.mark.parametrize(
    ("payload", "logged"),
    [
        (b'{"partialSuccess":{}}', None),  # what a Collector answers when it took everything
        (b'{"partialSuccess":{"rejectedSpans":"2","errorMessage":"too old"}}', "2 item(s)"),
        (b"not json, partialSuccess", None),
    ],
)
def test_partial_success_is_logged_only_when_something_was_rejected(
    receiver: Receiver, caplog: pytest.LogCaptureFixture, payload: bytes, logged: str | None
) -> None:
    receiver.payload = payload
    with caplog.at_level(logging.WARNING, "langchain_otel._export._otlp_http"):
        result = otlp_json_exporter("traces", receiver.url("traces")).export(_spans())
    assert result.name == "SUCCESS"
    assert len(receiver.requests) == 1  # never retried
    if logged is None:
        assert caplog.records == []
    else:
        assert logged in caplog.text
        assert "too old" in caplog.text
