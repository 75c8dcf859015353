"""Exporter wrappers that count what a failing backend made us drop, and say so once.

OTLP exporters already swallow network errors (they return FAILURE after bounded retries);
these wrappers add the bookkeeping the application can read (``Telemetry.dropped``), turn any
exception an exporter raises into FAILURE, and log the first drop of each signal once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from opentelemetry.sdk._logs import ReadableLogRecord, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    LogRecordExporter,
    LogRecordExportResult,
)
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

__all__ = [
    "OTLP_LOGGERS",
    "CountingBatchLogRecordProcessor",
    "CountingBatchSpanProcessor",
    "CountingLogExporter",
    "CountingMetricExporter",
    "CountingSpanExporter",
    "DropCounter",
]

_logger = structlog.get_logger("langchain_otel")

OTLP_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.proto.http._log_exporter",
    "opentelemetry.exporter.otlp.proto.http._common",
    "opentelemetry.exporter.otlp.common.http",
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "langchain_otel._export._otlp_http",
)
"""The loggers the OTLP exporters report export failures on (one line per retry or batch)."""


class OnceFilter(logging.Filter):
    """A logging filter that lets the first record of each logger through, then counts.

    ``configure()`` puts it on the OTLP exporters' loggers so a backend that is down is
    logged once, not once per retry and batch; the drops stay counted in
    ``Telemetry.dropped``.

    Example:
        >>> import logging
        >>> log = logging.getLogger("doc.once")
        >>> once = OnceFilter()
        >>> once.install(["doc.once"])
        >>> log.warning("first")  # printed to stderr by logging's last-resort handler
        >>> log.warning("second")  # suppressed
        >>> once.suppressed
        1
        >>> once.remove()
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._names: list[str] = []
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        """True for the first record of a logger, False (and counted) afterwards."""
        with self._lock:
            if record.name in self._seen:
                self.suppressed += 1
                return False
            self._seen.add(record.name)
            return True

    def install(self, names: Sequence[str]) -> None:
        """Add this filter to the loggers ``names``."""
        for name in names:
            logging.getLogger(name).addFilter(self)
            self._names.append(name)

    def remove(self) -> None:
        """Remove this filter from every logger it was added to."""
        for name in self._names:
            logging.getLogger(name).removeFilter(self)
        self._names.clear()


class DropCounter:
    """Thread-safe count of dropped spans, metric points and log records, per signal.

    Example:
        >>> from structlog.testing import capture_logs
        >>> counter = DropCounter()
        >>> with capture_logs() as logs:
        ...     counter.add("traces", 3, "connection refused")
        ...     counter.add("traces", 2, "connection refused")
        >>> counter.snapshot()
        {'traces': 5, 'metrics': 0, 'logs': 0}
        >>> [log["event"] for log in logs]  # logged once
        ['telemetry.dropped']
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = {"traces": 0, "metrics": 0, "logs": 0}
        self._logged: set[str] = set()

    def add(self, signal: str, count: int, reason: str) -> None:
        """Count ``count`` dropped items of ``signal``; log the first drop of each signal."""
        with self._lock:
            self._counts[signal] += count
            first = signal not in self._logged
            self._logged.add(signal)
        if first:
            with contextlib.suppress(Exception):
                _logger.warning(
                    "telemetry.dropped",
                    signal=signal,
                    count=count,
                    reason=reason,
                    note="logged once per signal; see Telemetry.dropped for the running count",
                )

    def snapshot(self) -> dict[str, int]:
        """A copy of the counts."""
        with self._lock:
            return dict(self._counts)


def queue_is_full(processor: Any) -> bool:
    """Whether an SDK batch processor's queue is full (the next item evicts the oldest).

    Reads the SDK's internal queue; False when a future SDK hides it (counting degrades,
    nothing breaks).

    Example:
        >>> queue_is_full(object())
        False
    """
    try:
        inner = processor._batch_processor
        queue = inner._queue
        return not inner._shutdown and queue.maxlen is not None and len(queue) >= queue.maxlen
    except Exception:
        return False


_QUEUE_FULL = "the export queue is full: the backend is too slow or unreachable"


class CountingBatchSpanProcessor(BatchSpanProcessor):
    """A ``BatchSpanProcessor`` that counts the spans its full queue evicts.

    When the backend is slower than the application, the SDK's batch queue fills and each
    new span silently pushes out the oldest (the SDK logs a warning, and no exporter ever
    sees those spans). This counts each of them in the :class:`DropCounter`. The check runs
    just before the span is queued, without a lock (the export thread may hold the SDK's
    for seconds), so racing threads can make the count off by a few spans (over, when the
    export thread takes a batch in between; under, when two threads end spans at the same
    instant).

    Example:
        >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
        ...     InMemorySpanExporter,
        ... )
        >>> processor = CountingBatchSpanProcessor(InMemorySpanExporter(), DropCounter())
        >>> processor.shutdown()
    """

    def __init__(
        self,
        exporter: SpanExporter,
        counter: DropCounter,
        *,
        prepare: Callable[[ReadableSpan], Any] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(exporter, **options)
        self._counter = counter
        self._prepare = prepare
        # ``prepare``: what is queued instead of the span (the embedded default's
        # ``_prepared.prepare``: the span encoded as it ends, so the queue holds no SDK
        # objects for the garbage collector). Through the SDK's internal queue; a future
        # SDK that hides it gets the spans themselves.
        inner = getattr(self, "_batch_processor", None)
        self._emit = getattr(inner, "emit", None) if prepare is not None else None

    def on_end(self, span: ReadableSpan) -> None:
        """Queue the span (or what ``prepare`` makes of it); count what a full queue evicts."""
        if queue_is_full(self):
            self._counter.add("traces", 1, _QUEUE_FULL)
        emit = self._emit
        if emit is None:
            super().on_end(span)
            return
        if not (span.context and span.context.trace_flags.sampled):
            return
        try:
            item = self._prepare(span)  # type: ignore[misc]  # set with _emit
        except Exception:
            item = span
        emit(item)


class CountingBatchLogRecordProcessor(BatchLogRecordProcessor):
    """A ``BatchLogRecordProcessor`` that counts the log records its full queue evicts.

    The same as :class:`CountingBatchSpanProcessor`, for logs: records pushed out of a full
    queue (a backend that is down or hangs) are counted in the :class:`DropCounter`; those
    the exporter fails on are counted by :class:`CountingLogExporter`.

    Example:
        >>> from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
        >>> processor = CountingBatchLogRecordProcessor(InMemoryLogRecordExporter(), DropCounter())
        >>> processor.shutdown()
    """

    def __init__(self, exporter: LogRecordExporter, counter: DropCounter, **options: Any) -> None:
        super().__init__(exporter, **options)
        self._counter = counter

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        """Queue the record; count the one it evicts when the queue is full."""
        if queue_is_full(self):
            self._counter.add("logs", 1, _QUEUE_FULL)
        super().on_emit(log_record)


def _points(metrics_data: MetricsData) -> int:
    return sum(
        len(metric.data.data_points)
        for resource in metrics_data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    )


class CountingSpanExporter(SpanExporter):
    """Delegate to ``inner``; count the spans of failed exports.

    Example:
        >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
        ...     InMemorySpanExporter,
        ... )
        >>> exporter = CountingSpanExporter(InMemorySpanExporter(), DropCounter())
        >>> exporter.export([]).name
        'SUCCESS'
    """

    def __init__(self, inner: SpanExporter, counter: DropCounter) -> None:
        self.inner = inner
        self._counter = counter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export, never raising; failures are counted."""
        try:
            result = self.inner.export(spans)
        except Exception as exc:
            self._counter.add("traces", len(spans), f"{type(exc).__name__}: {exc}")
            return SpanExportResult.FAILURE
        if result is not SpanExportResult.SUCCESS:
            self._counter.add("traces", len(spans), "the exporter reported a failure")
        return result

    def shutdown(self) -> None:
        """Shut the inner exporter down, never raising."""
        with contextlib.suppress(Exception):
            self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the inner exporter."""
        try:
            return self.inner.force_flush(timeout_millis)
        except Exception:
            return False


class CountingMetricExporter(MetricExporter):
    """Delegate to ``inner``; count the data points of failed exports.

    Example:
        >>> from langchain_otel._export._jsonl import JsonlMetricExporter
        >>> import pathlib, tempfile
        >>> inner = JsonlMetricExporter(pathlib.Path(tempfile.mkdtemp()) / "m.jsonl")
        >>> CountingMetricExporter(inner, DropCounter()).inner is inner
        True
    """

    def __init__(self, inner: MetricExporter, counter: DropCounter) -> None:
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self.inner = inner
        self._counter = counter

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        """Export, never raising; failures are counted."""
        try:
            result = self.inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        except Exception as exc:
            self._counter.add("metrics", _points(metrics_data), f"{type(exc).__name__}: {exc}")
            return MetricExportResult.FAILURE
        if result is not MetricExportResult.SUCCESS:
            self._counter.add("metrics", _points(metrics_data), "the exporter reported a failure")
        return result

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Shut the inner exporter down, never raising."""
        with contextlib.suppress(Exception):
            self.inner.shutdown(timeout_millis=timeout_millis, **kwargs)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Flush the inner exporter."""
        try:
            return self.inner.force_flush(timeout_millis)
        except Exception:
            return False


class CountingLogExporter(LogRecordExporter):
    """Delegate to ``inner``; count the records of failed exports.

    Example:
        >>> from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
        >>> exporter = CountingLogExporter(InMemoryLogRecordExporter(), DropCounter())
        >>> exporter.export([]).name
        'SUCCESS'
    """

    def __init__(self, inner: LogRecordExporter, counter: DropCounter) -> None:
        self.inner = inner
        self._counter = counter

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        """Export, never raising; failures are counted."""
        try:
            result = self.inner.export(batch)
        except Exception as exc:
            self._counter.add("logs", len(batch), f"{type(exc).__name__}: {exc}")
            return LogRecordExportResult.FAILURE
        if result is not LogRecordExportResult.SUCCESS:
            self._counter.add("logs", len(batch), "the exporter reported a failure")
        return result

    def shutdown(self) -> None:
        """Shut the inner exporter down, never raising."""
        with contextlib.suppress(Exception):
            self.inner.shutdown()  # type: ignore[no-untyped-call]

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the inner exporter."""
        try:
            return self.inner.force_flush(timeout_millis)
        except Exception:
            return False
