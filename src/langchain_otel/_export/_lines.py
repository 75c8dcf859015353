"""Exporters that write each batch as OTLP JSON request lines to a :class:`LineWriter`.

One encoding, two destinations: the embedded default appends the lines to capped files
(:mod:`langchain_otel._export._jsonl`), OTLP/HTTP JSON posts each line as one request
(:mod:`langchain_otel._export._otlp_http_json`). A line is one ``Export*ServiceRequest``
in the OTLP JSON encoding, newline included. Spans and log records are encoded straight
from the SDK objects (:mod:`langchain_otel._export._otlp_json`), falling back to the
official encoders for a batch the fast path cannot take; spans may arrive already encoded
(:mod:`langchain_otel._export._prepared`). Metrics go through the official encoders.

Example:
    >>> class Lines:
    ...     def __init__(self): self.lines = []
    ...     def write_line(self, line): self.lines.append(line)
    ...     def close(self): pass
    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    >>> writer = Lines()
    >>> provider = TracerProvider()
    >>> provider.add_span_processor(SimpleSpanProcessor(LineSpanExporter(writer)))
    >>> provider.get_tracer("doc").start_span("hello").end()
    >>> writer.lines[0][:20]
    b'{"resourceSpans":[{"'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

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

from langchain_otel._export._official_json import logs_request, metrics_request, spans_request
from langchain_otel._export._otlp_json import logs_to_otlp_json, spans_to_otlp_json
from langchain_otel._export._prepared import ENCODER, batch_lines

__all__ = [
    "LineLogExporter",
    "LineMetricExporter",
    "LineSpanExporter",
    "LineWriter",
    "log_lines",
    "metric_lines",
    "span_lines",
]

_Batch = TypeVar("_Batch")


class LineWriter(Protocol):
    """Where the lines go: ``write_line`` raises ``OSError`` when they could not."""

    def write_line(self, line: bytes) -> None:
        """Deliver one encoded JSON line (newline included)."""

    def close(self) -> None:
        """Release what the writer holds; later lines are refused by the exporter."""


def _lines(request: dict[str, Any]) -> list[bytes]:
    """One request as its JSON line; no line for an empty request (nothing recorded yet)."""
    return [(ENCODER.encode(request) + "\n").encode()] if request else []


def _fast_or_official(
    fast: Callable[[_Batch], dict[str, Any]], official: Callable[[_Batch], dict[str, Any]]
) -> Callable[[_Batch], list[bytes]]:
    def encode(batch: _Batch) -> list[bytes]:
        try:
            return _lines(fast(batch))
        except Exception:
            return _lines(official(batch))

    return encode


_plain_span_lines = _fast_or_official(spans_to_otlp_json, spans_request)
log_lines = _fast_or_official(logs_to_otlp_json, logs_request)
"""The line of a batch of log records (none for no records)."""


def span_lines(batch: Sequence[Any]) -> list[bytes]:
    """The lines of a batch of spans, SDK spans or prepared ones (one line per run)."""
    return batch_lines(batch, _plain_span_lines)


def metric_lines(metrics_data: MetricsData) -> list[bytes]:
    """The line of one metrics collection (none when nothing was recorded)."""
    return _lines(metrics_request(metrics_data))


class _LineSink:
    """What the three exporters share: encode a batch, hand its lines to the writer."""

    __slots__ = ("_writer", "closed")

    def __init__(self, writer: LineWriter) -> None:
        self._writer = writer
        self.closed = False

    def append(self, encode: Callable[[_Batch], list[bytes]], batch: _Batch) -> bool:
        """Write the lines of ``encode(batch)`` (none for an empty request); False on failure."""
        if self.closed:
            return False
        try:
            for line in encode(batch):
                self._writer.write_line(line)
        except (OSError, ValueError, TypeError):
            return False
        return True

    def close(self) -> None:
        self.closed = True
        self._writer.close()


class LineSpanExporter(SpanExporter):
    """Write spans as ``ExportTraceServiceRequest`` lines (OTLP JSON) to ``writer``.

    Example:
        >>> class Lines:
        ...     def write_line(self, line): pass
        ...     def close(self): pass
        >>> LineSpanExporter(Lines()).export([]).name
        'SUCCESS'
    """

    def __init__(self, writer: LineWriter) -> None:
        self._sink = _LineSink(writer)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Write the line of ``spans``; FAILURE when shut down or the writer fails."""
        if self._sink.append(span_lines, spans):
            return SpanExportResult.SUCCESS
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        """Refuse later exports and close the writer."""
        self._sink.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Lines are written synchronously: nothing to flush."""
        return True


class LineMetricExporter(MetricExporter):
    """Write metrics as ``ExportMetricsServiceRequest`` lines (OTLP JSON) to ``writer``.

    Temporality is cumulative (the OTLP default and what Prometheus expects).

    Example:
        >>> class Lines:
        ...     def write_line(self, line): pass
        ...     def close(self): pass
        >>> exporter = LineMetricExporter(Lines())
        >>> exporter.shutdown()
        >>> exporter.export(None).name
        'FAILURE'
    """

    def __init__(self, writer: LineWriter) -> None:
        super().__init__(preferred_temporality=_cumulative(), preferred_aggregation=None)
        self._sink = _LineSink(writer)

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        """Write the line of ``metrics_data``; FAILURE when shut down or the writer fails."""
        if self._sink.append(metric_lines, metrics_data):
            return MetricExportResult.SUCCESS
        return MetricExportResult.FAILURE

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Refuse later exports and close the writer."""
        self._sink.close()

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


class LineLogExporter(LogRecordExporter):
    """Write log records as ``ExportLogsServiceRequest`` lines (OTLP JSON) to ``writer``.

    Example:
        >>> class Lines:
        ...     def write_line(self, line): pass
        ...     def close(self): pass
        >>> LineLogExporter(Lines()).export([]).name
        'SUCCESS'
    """

    def __init__(self, writer: LineWriter) -> None:
        self._sink = _LineSink(writer)

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        """Write the line of ``batch``; FAILURE when shut down or the writer fails."""
        if self._sink.append(log_lines, batch):
            return LogRecordExportResult.SUCCESS
        return LogRecordExportResult.FAILURE

    def shutdown(self) -> None:
        """Refuse later exports and close the writer."""
        self._sink.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Lines are written synchronously: nothing to flush."""
        return True
