"""The embedded default's OTLP JSON Lines: round trips against the SDK, format, rotation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import structlog
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    InMemoryLogRecordExporter,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, StatusCode

from langchain_otel import OTelLogsBridge
from langchain_otel._export._jsonl import (
    JsonlLogExporter,
    JsonlMetricExporter,
    JsonlSpanExporter,
    RotatingJsonlWriter,
    from_otlp_json,
)

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        keys = set(node)
        for value in node.values():
            keys |= _keys(value)
        return keys
    if isinstance(node, list):
        return set().union(*(_keys(item) for item in node)) if node else set()
    return set()


def _traced(tmp_path: Path) -> tuple[list[Any], Path]:
    path = tmp_path / "traces.jsonl"
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "svc"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(path)))
    tracer = provider.get_tracer("test", "1.0")
    with tracer.start_as_current_span("chain", kind=SpanKind.INTERNAL) as parent:  # noqa: SIM117 - the link needs parent
        with tracer.start_as_current_span(
            "text_completion echo-small",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.request.model": "echo-small",
                "gen_ai.usage.input_tokens": 12,
                "langchain_otel.cost.total": 0.0025,
                "gen_ai.response.finish_reasons": ("stop",),
                "gen_ai.request.stream": True,
            },
            links=[Link(parent.get_span_context())],
        ) as child:
            child.add_event("first_chunk", {"n": 1})
            child.set_status(StatusCode.ERROR, "boom")
    provider.shutdown()
    return list(memory.get_finished_spans()), path


def test_spans_round_trip_to_the_sdk_encoding(tmp_path: Path) -> None:
    """Each line parses back (hex ids converted) into exactly what the official encoder made."""
    spans, path = _traced(tmp_path)
    lines = _lines(path)
    assert len(lines) == 2  # SimpleSpanProcessor: one request per span
    parsed = [from_otlp_json(line, ExportTraceServiceRequest()) for line in lines]
    assert parsed == [encode_spans([span]) for span in spans]


def test_spans_use_the_otlp_json_encoding(tmp_path: Path) -> None:
    """Hex ids, lowerCamelCase keys, integer enums, int64 as strings (the OTLP JSON rules)."""
    spans, path = _traced(tmp_path)
    child_line = _lines(path)[0]
    child_json = child_line["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    child = spans[0]
    assert child_json["traceId"] == format(child.context.trace_id, "032x")
    assert child_json["spanId"] == format(child.context.span_id, "016x")
    assert child_json["parentSpanId"] == format(child.parent.span_id, "016x")
    assert HEX32.match(child_json["links"][0]["traceId"])
    assert HEX16.match(child_json["links"][0]["spanId"])
    assert child_json["kind"] == 3  # SPAN_KIND_CLIENT as an integer
    assert child_json["status"] == {"code": 2, "message": "boom"}
    assert child_json["startTimeUnixNano"] == str(child.start_time)
    attributes = {a["key"]: a["value"] for a in child_json["attributes"]}
    assert attributes["gen_ai.usage.input_tokens"] == {"intValue": "12"}
    assert attributes["langchain_otel.cost.total"] == {"doubleValue": 0.0025}
    assert attributes["gen_ai.response.finish_reasons"] == {
        "arrayValue": {"values": [{"stringValue": "stop"}]}
    }
    scope = child_line["resourceSpans"][0]["scopeSpans"][0]["scope"]
    assert scope == {"name": "test", "version": "1.0"}
    assert all("_" not in key for key in _keys(child_line)), "keys are lowerCamelCase"


def test_metrics_round_trip(tmp_path: Path) -> None:
    """A histogram with attributes survives the JSON line unchanged."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    histogram = provider.get_meter("m").create_histogram("gen_ai.client.operation.duration", "s")
    histogram.record(0.3, {"gen_ai.request.model": "echo-small"})
    histogram.record(1.7, {"gen_ai.request.model": "echo-large"})
    data = reader.get_metrics_data()
    assert data is not None
    path = tmp_path / "metrics.jsonl"
    exporter = JsonlMetricExporter(path)
    assert exporter.export(data).name == "SUCCESS"
    (line,) = _lines(path)
    assert from_otlp_json(line, ExportMetricsServiceRequest()) == encode_metrics(data)
    metric = line["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]
    assert metric["histogram"]["aggregationTemporality"] == 2  # cumulative, as an integer
    points = metric["histogram"]["dataPoints"]
    assert sorted(point["count"] for point in points) == ["1", "1"]


def test_metric_exemplars_keep_hex_trace_ids(tmp_path: Path) -> None:
    """Exemplars recorded inside a span carry hex ids and round-trip exactly."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    histogram = provider.get_meter("m").create_histogram("gen_ai.client.operation.duration", "s")
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("op") as span:
        histogram.record(0.3, {"gen_ai.request.model": "echo-small"})
    data = reader.get_metrics_data()
    assert data is not None
    path = tmp_path / "metrics.jsonl"
    JsonlMetricExporter(path).export(data)
    (line,) = _lines(path)
    assert from_otlp_json(line, ExportMetricsServiceRequest()) == encode_metrics(data)
    metric = line["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]
    (exemplar,) = metric["histogram"]["dataPoints"][0]["exemplars"]
    assert exemplar["traceId"] == format(span.get_span_context().trace_id, "032x")
    assert exemplar["spanId"] == format(span.get_span_context().span_id, "016x")


def test_structlog_events_land_in_logs_with_trace_context(tmp_path: Path) -> None:
    """The bridge emits structlog events to OTel logs with the current span, and passes them on."""
    path = tmp_path / "logs.jsonl"
    memory = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(JsonlLogExporter(path)))
    tracer = TracerProvider().get_tracer("t")
    log = structlog.wrap_logger(
        structlog.ReturnLogger(),
        processors=[structlog.processors.add_log_level, OTelLogsBridge(logger_provider)],
    )
    with tracer.start_as_current_span("work") as span:
        returned = log.warning("llm.end", model="echo-small", tokens=12, tags=["a", "b"])
    log.error("outside", obj={"x": 1})
    assert returned[1]["event"] == "llm.end"  # passed on unchanged
    lines = _lines(path)
    records = [line["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0] for line in lines]
    first, second = records
    assert first["body"] == {"stringValue": "llm.end"}
    assert first["severityNumber"] == 13
    assert first["severityText"] == "WARNING"
    assert first["traceId"] == format(span.get_span_context().trace_id, "032x")
    assert first["spanId"] == format(span.get_span_context().span_id, "016x")
    attributes = {a["key"]: a["value"] for a in first["attributes"]}
    assert attributes["model"] == {"stringValue": "echo-small"}
    assert attributes["tokens"] == {"intValue": "12"}
    assert "traceId" not in second  # no span: no trace context
    assert second["severityNumber"] == 17
    assert {a["key"]: a["value"] for a in second["attributes"]}["obj"] == {
        "stringValue": "{'x': 1}"
    }
    finished = memory.get_finished_logs()
    parsed = [from_otlp_json(line, ExportLogsServiceRequest()) for line in lines]
    assert parsed == [encode_logs([record]) for record in finished]


def test_bridge_records_exceptions() -> None:
    """log.exception() in an except block puts the exception on the log record."""
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    log = structlog.wrap_logger(structlog.ReturnLogger(), processors=[OTelLogsBridge(provider)])
    try:
        raise ValueError("bad input")
    except ValueError:
        log.exception("request.failed", request=3)
    (finished,) = memory.get_finished_logs()
    attributes = dict(finished.log_record.attributes or {})
    assert finished.log_record.body == "request.failed"
    assert finished.log_record.severity_text == "ERROR"
    assert attributes["request"] == 3
    assert attributes["exception.type"] == "ValueError"
    assert attributes["exception.message"] == "bad input"
    assert 'raise ValueError("bad input")' in str(attributes["exception.stacktrace"])


def test_bridge_never_raises() -> None:
    """A logger whose emit fails does not break the application's logging."""

    class BrokenLogger:
        def emit(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("broken")

    class BrokenProvider:
        def get_logger(self, *args: Any, **kwargs: Any) -> Any:
            return BrokenLogger()

    log = structlog.wrap_logger(
        structlog.ReturnLogger(),
        processors=[OTelLogsBridge(BrokenProvider())],  # type: ignore[arg-type]
    )
    assert log.info("still.works", n=1) == ((), {"n": 1, "event": "still.works"})


def test_rotation_caps_files_and_keeps_lines_whole(tmp_path: Path) -> None:
    """A long-running writer keeps at most backup_count old files, each line valid JSON."""
    path = tmp_path / "traces.jsonl"
    writer = RotatingJsonlWriter(path, max_bytes=1_000, backup_count=2)
    for n in range(200):
        writer.write({"n": n, "pad": "x" * 40})
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["traces.jsonl", "traces.jsonl.1", "traces.jsonl.2"]
    sizes = [p.stat().st_size for p in tmp_path.iterdir()]
    assert max(sizes) <= 1_000
    newest = _lines(path)
    assert newest[-1]["n"] == 199
    older = _lines(tmp_path / "traces.jsonl.1")
    assert older[-1]["n"] == newest[0]["n"] - 1  # contiguous across the rotation


def test_rotation_without_backups_truncates(tmp_path: Path) -> None:
    """backup_count=0 keeps only the live file."""
    path = tmp_path / "logs.jsonl"
    writer = RotatingJsonlWriter(path, max_bytes=200, backup_count=0)
    for n in range(50):
        writer.write({"n": n})
    assert [p.name for p in tmp_path.iterdir()] == ["logs.jsonl"]
    assert _lines(path)[-1] == {"n": 49}


def test_write_failure_is_a_failed_export_not_an_exception(tmp_path: Path) -> None:
    """When the folder vanishes, export returns FAILURE."""
    spans, _ = _traced(tmp_path)
    exporter = JsonlSpanExporter(tmp_path / "gone" / "traces.jsonl")
    assert exporter.export(spans).name == "FAILURE"
    exporter.shutdown()
    assert JsonlSpanExporter(tmp_path / "t.jsonl").export(spans).name == "SUCCESS"


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_embedded_default_folder_is_0700_and_files_0600(tmp_path: Path) -> None:
    """configure() creates the folder 0700 and every file 0600, rotated ones included."""
    from langchain_otel import configure, shutdown

    folder = tmp_path / "new" / "telemetry"
    telemetry = configure(directory=folder, max_file_bytes=2_000, set_global=False)
    assert _mode(folder) == 0o700
    tracer = telemetry.tracer_provider.get_tracer("t")
    for index in range(30):
        with tracer.start_as_current_span("op", attributes={"pad": "x" * 200, "i": index}):
            pass
        telemetry.force_flush()
    telemetry.meter_provider.get_meter("t").create_counter("hits").add(1)
    telemetry.logger_provider.get_logger("t").emit(body="prompt text")
    shutdown()
    names = sorted(path.name for path in folder.iterdir())
    assert {"traces.jsonl", "traces.jsonl.1", "metrics.jsonl", "logs.jsonl"} <= set(names)
    assert {path.name: _mode(path) for path in folder.iterdir()} == dict.fromkeys(names, 0o600)


def test_an_existing_folder_keeps_its_mode(tmp_path: Path) -> None:
    """A folder the user made keeps its mode; the files we create in it are still 0600."""
    from langchain_otel import configure, shutdown

    folder = tmp_path / "mine"
    folder.mkdir()
    folder.chmod(0o750)
    telemetry = configure(directory=folder, exporter="jsonl", set_global=False)
    with telemetry.tracer_provider.get_tracer("t").start_as_current_span("op"):
        pass
    shutdown()
    assert _mode(folder) == 0o750
    assert _mode(folder / "traces.jsonl") == 0o600


def test_writer_creates_private_files_and_rotates_into_private_files(tmp_path: Path) -> None:
    """RotatingJsonlWriter alone: the live file and each backup are 0600."""
    writer = RotatingJsonlWriter(tmp_path / "t.jsonl", max_bytes=40, backup_count=2)
    for index in range(6):
        writer.write({"n": index, "pad": "x" * 20})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.jsonl", "t.jsonl.1", "t.jsonl.2"]
    assert {_mode(path) for path in tmp_path.iterdir()} == {0o600}
