"""The embedded default: OTLP JSON Lines files, one export request per line.

Each line of ``traces.jsonl`` / ``metrics.jsonl`` / ``logs.jsonl`` is one
``ExportTraceServiceRequest`` / ``ExportMetricsServiceRequest`` / ``ExportLogsServiceRequest``
in the OTLP JSON encoding (the format of the OpenTelemetry file exporter specification and of
the Collector's ``otlpjsonfile`` receiver): lowerCamelCase keys, enums as integers, 64-bit
integers as strings, and ``traceId``/``spanId``/``parentSpanId`` as lowercase **hex** (not
protobuf's base64). Metrics go through the official encoders of
``opentelemetry-exporter-otlp-proto-common`` (then protobuf's JSON printer); spans and log
records, exported at request rate, are built straight from the SDK objects by
:mod:`langchain_otel._export._otlp_json`, byte-for-byte the same line, about six times less
CPU. Should that fast path raise (a lone surrogate in a string, say), the batch goes through
the official encoders instead. ``configure()`` queues each span already encoded
(:mod:`langchain_otel._export._prepared`); the exporter stitches those into the same line.

The folder is created ``0700`` and the files ``0600`` (rotated files keep that mode): with
content capture on they hold prompts and completions. A folder that already exists keeps its
mode.

Files are capped: when a line would push a file over ``max_bytes``, it is renamed to
``NAME.1`` (older backups shift to ``.2`` …, the oldest beyond ``backup_count`` is deleted).
Lines are never split, so a file exceeds ``max_bytes`` only when it holds one line (one
export batch) larger than the cap.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from langchain_otel._export._files import open_private
from langchain_otel._export._otlp_json import logs_to_otlp_json, spans_to_otlp_json
from langchain_otel._export._prepared import ENCODER, batch_lines

__all__ = [
    "DEFAULT_BACKUP_COUNT",
    "DEFAULT_MAX_BYTES",
    "JsonlLogExporter",
    "JsonlMetricExporter",
    "JsonlSpanExporter",
    "RotatingJsonlWriter",
    "from_otlp_json",
    "to_otlp_json",
]

_Batch = TypeVar("_Batch")

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
"""Size cap of one file before it rotates (50 MiB)."""

DEFAULT_BACKUP_COUNT = 3
"""How many rotated files (``NAME.1`` … ``NAME.N``) are kept."""

# Fields that carry trace/span ids (bytes in protobuf) anywhere in the three requests:
# spans, span links, log records and metric exemplars.
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId"})


def _ids_to_hex(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                base64.b64decode(value).hex()
                if key in _ID_KEYS and isinstance(value, str)
                else _ids_to_hex(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_ids_to_hex(item) for item in node]
    return node


def _ids_to_base64(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                base64.b64encode(bytes.fromhex(value)).decode("ascii")
                if key in _ID_KEYS and isinstance(value, str)
                else _ids_to_base64(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_ids_to_base64(item) for item in node]
    return node


def _hex_in_place(node: dict[str, Any]) -> None:
    for key in _ID_KEYS:
        value = node.get(key)
        if isinstance(value, str):
            node[key] = base64.b64decode(value).hex()


def _fix_spans(data: dict[str, Any]) -> None:
    for resource in data["resourceSpans"]:
        for scope in resource.get("scopeSpans", ()):
            for span in scope.get("spans", ()):
                _hex_in_place(span)
                for link in span.get("links", ()):
                    _hex_in_place(link)


def _fix_logs(data: dict[str, Any]) -> None:
    for resource in data["resourceLogs"]:
        for scope in resource.get("scopeLogs", ()):
            for record in scope.get("logRecords", ()):
                _hex_in_place(record)


def _fix_metrics(data: dict[str, Any]) -> None:
    for resource in data["resourceMetrics"]:
        for scope in resource.get("scopeMetrics", ()):
            for metric in scope.get("metrics", ()):
                for kind in ("sum", "gauge", "histogram", "exponentialHistogram"):
                    for point in metric.get(kind, {}).get("dataPoints", ()):
                        for exemplar in point.get("exemplars", ()):
                            _hex_in_place(exemplar)


_FIXERS = {"resourceSpans": _fix_spans, "resourceLogs": _fix_logs, "resourceMetrics": _fix_metrics}


def _fix_request_ids(data: dict[str, Any]) -> bool:
    """Hex the ids of an export request where they can occur; False if not a request."""
    for key, fix in _FIXERS.items():
        if key in data:
            fix(data)
            return True
    return False


def to_otlp_json(message: Message) -> dict[str, Any]:
    r"""An OTLP protobuf message as its OTLP JSON object (hex ids, integer enums).

    Example:
        >>> from opentelemetry.proto.trace.v1.trace_pb2 import Span
        >>> span = Span(trace_id=bytes(range(16)), span_id=b"\x01" * 8, kind=3, name="x")
        >>> to_otlp_json(span)["traceId"], to_otlp_json(span)["kind"]
        ('000102030405060708090a0b0c0d0e0f', 3)
    """
    as_dict: dict[str, Any] = json_format.MessageToDict(message, use_integers_for_enums=True)
    if _fix_request_ids(as_dict):  # the three export requests: only where ids can be
        return as_dict
    result: dict[str, Any] = _ids_to_hex(as_dict)  # any other message: walk it all
    return result


def from_otlp_json(data: dict[str, Any], message: Message) -> Message:
    r"""Parse an OTLP JSON object (hex ids) into ``message`` and return it.

    Example:
        >>> from opentelemetry.proto.trace.v1.trace_pb2 import Span
        >>> span = from_otlp_json({"spanId": "0101010101010101", "name": "x"}, Span())
        >>> span.span_id
        b'\x01\x01\x01\x01\x01\x01\x01\x01'
    """
    return json_format.ParseDict(_ids_to_base64(data), message)


class RotatingJsonlWriter:
    """Append JSON lines to one file, thread-safe, rotating at ``max_bytes``.

    Args:
        path: The file to append to (its folder must exist).
        max_bytes: Size cap of the live file; ``0`` disables rotation.
        backup_count: How many rotated files to keep; ``0`` means the live file is
            truncated instead of rotated.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> writer = RotatingJsonlWriter(folder / "t.jsonl", max_bytes=20, backup_count=1)
        >>> for n in range(3):
        ...     writer.write({"n": n, "pad": "xxxx"})
        >>> sorted(p.name for p in folder.iterdir())
        ['t.jsonl', 't.jsonl.1']
    """

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backup_count: int = DEFAULT_BACKUP_COUNT,
    ) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self._lock = threading.Lock()

    def write(self, obj: dict[str, Any]) -> None:
        """Append ``obj`` as one line (raises ``OSError`` when the disk refuses)."""
        self.write_line(
            (json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
        )

    def write_line(self, line: bytes) -> None:
        """Append ``line`` (one encoded JSON line, newline included) as it is."""
        with self._lock:
            if self.max_bytes > 0:
                try:
                    size = self.path.stat().st_size
                except FileNotFoundError:
                    size = 0
                if size and size + len(line) > self.max_bytes:
                    self._rotate()
            with open_private(self.path) as file:
                file.write(line)

    def _rotate(self) -> None:
        if self.backup_count <= 0:
            self.path.unlink(missing_ok=True)
            return
        for index in range(self.backup_count - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))


def _line(request: dict[str, Any]) -> bytes:
    """One request as its JSON line; nothing for an empty request (nothing recorded yet)."""
    return (ENCODER.encode(request) + "\n").encode() if request else b""


def _fast_or_official(
    fast: Callable[[_Batch], dict[str, Any]], official: Callable[[_Batch], Message]
) -> Callable[[_Batch], bytes]:
    def encode(batch: _Batch) -> bytes:
        try:
            return _line(fast(batch))
        except Exception:
            return _line(to_otlp_json(official(batch)))

    return encode


_span_line = _fast_or_official(spans_to_otlp_json, encode_spans)
_log_line = _fast_or_official(logs_to_otlp_json, encode_logs)


def _span_lines(batch: Sequence[Any]) -> bytes:
    return batch_lines(batch, _span_line)


def _metric_line(metrics_data: MetricsData) -> bytes:
    return _line(to_otlp_json(encode_metrics(metrics_data)))


class _JsonlSink:
    """What the three exporters share: encode a batch, write it as one line of a capped file."""

    __slots__ = ("_writer", "closed")

    def __init__(self, path: Path, *, max_bytes: int, backup_count: int) -> None:
        self._writer = RotatingJsonlWriter(path, max_bytes=max_bytes, backup_count=backup_count)
        self.closed = False

    def append(self, encode: Callable[[_Batch], bytes], batch: _Batch) -> bool:
        """Write ``encode(batch)`` (one line, or none for an empty request); False on failure."""
        if self.closed:
            return False
        try:
            line = encode(batch)
            if line:
                self._writer.write_line(line)
        except (OSError, ValueError, TypeError):
            return False
        return True


class JsonlSpanExporter(SpanExporter):
    """Write spans as ``ExportTraceServiceRequest`` lines (OTLP JSON) to ``path``.

    Example:
        >>> import json, tempfile, pathlib
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "traces.jsonl"
        >>> provider = TracerProvider()
        >>> provider.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(path)))
        >>> provider.get_tracer("doc").start_span("hello").end()
        >>> line = json.loads(path.read_text().splitlines()[0])
        >>> line["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"]
        'hello'
    """

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backup_count: int = DEFAULT_BACKUP_COUNT,
    ) -> None:
        self._sink = _JsonlSink(path, max_bytes=max_bytes, backup_count=backup_count)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Append one line with ``spans``; FAILURE when shut down or the write fails."""
        if self._sink.append(_span_lines, spans):
            return SpanExportResult.SUCCESS
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        """Refuse later exports."""
        self._sink.closed = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Lines are written synchronously: nothing to flush."""
        return True


class JsonlMetricExporter(MetricExporter):
    """Write metrics as ``ExportMetricsServiceRequest`` lines (OTLP JSON) to ``path``.

    Temporality is cumulative (the OTLP default and what Prometheus expects).

    Example:
        >>> import json, tempfile, pathlib
        >>> from opentelemetry.sdk.metrics import MeterProvider
        >>> from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "metrics.jsonl"
        >>> reader = PeriodicExportingMetricReader(JsonlMetricExporter(path), 60_000)
        >>> provider = MeterProvider(metric_readers=[reader])
        >>> provider.get_meter("doc").create_counter("hits").add(2)
        >>> provider.shutdown()
        >>> line = json.loads(path.read_text().splitlines()[0])
        >>> metric = line["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]
        >>> metric["name"], metric["sum"]["dataPoints"][0]["asInt"]
        ('hits', '2')
    """

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backup_count: int = DEFAULT_BACKUP_COUNT,
    ) -> None:
        super().__init__(preferred_temporality=_cumulative(), preferred_aggregation=None)
        self._sink = _JsonlSink(path, max_bytes=max_bytes, backup_count=backup_count)

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        """Append one line with ``metrics_data``; FAILURE when shut down or the write fails."""
        if self._sink.append(_metric_line, metrics_data):
            return MetricExportResult.SUCCESS
        return MetricExportResult.FAILURE

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Refuse later exports."""
        self._sink.closed = True

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Lines are written synchronously: nothing to flush."""
        return True


def _cumulative() -> dict[type, AggregationTemporality]:
    from opentelemetry.sdk.metrics import (  # noqa: PLC0415 - keep the module light
        Counter,
        Histogram,
        ObservableCounter,
        ObservableGauge,
        ObservableUpDownCounter,
        UpDownCounter,
    )

    kinds: tuple[type, ...] = (
        Counter,
        UpDownCounter,
        Histogram,
        ObservableCounter,
        ObservableUpDownCounter,
        ObservableGauge,
    )
    return dict.fromkeys(kinds, AggregationTemporality.CUMULATIVE)


class JsonlLogExporter(LogRecordExporter):
    """Write log records as ``ExportLogsServiceRequest`` lines (OTLP JSON) to ``path``.

    Example:
        >>> import json, tempfile, pathlib
        >>> from opentelemetry.sdk._logs import LoggerProvider
        >>> from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "logs.jsonl"
        >>> provider = LoggerProvider()
        >>> provider.add_log_record_processor(SimpleLogRecordProcessor(JsonlLogExporter(path)))
        >>> provider.get_logger("doc").emit(body="hello")
        >>> line = json.loads(path.read_text().splitlines()[0])
        >>> line["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["body"]
        {'stringValue': 'hello'}
    """

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backup_count: int = DEFAULT_BACKUP_COUNT,
    ) -> None:
        self._sink = _JsonlSink(path, max_bytes=max_bytes, backup_count=backup_count)

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        """Append one line with ``batch``; FAILURE when shut down or the write fails."""
        if self._sink.append(_log_line, batch):
            return LogRecordExportResult.SUCCESS
        return LogRecordExportResult.FAILURE

    def shutdown(self) -> None:
        """Refuse later exports."""
        self._sink.closed = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Lines are written synchronously: nothing to flush."""
        return True
