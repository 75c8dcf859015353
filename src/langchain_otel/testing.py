"""Helpers to assert your own telemetry in tests: in-memory spans, metrics and logs.

:func:`capture_telemetry` wires an :class:`~langchain_otel.OTelCallbackHandler` to a
fresh ``TracerProvider`` (``SimpleSpanProcessor`` + ``InMemorySpanExporter``) and a
fresh ``MeterProvider`` (``InMemoryMetricReader``), captures structlog events with
``structlog.testing.capture_logs``, and restores everything when it exits. The global
OpenTelemetry providers are never touched. :func:`fake_clock` makes durations exact.

Attention: like ``structlog.testing.capture_logs``, this is **not** thread-safe: use one
capture at a time (the runs you capture may use as many threads as they like).

Example:
    >>> from langchain_otel import ModelPrice
    >>> from langchain_otel.llms import EchoLLM
    >>> from langchain_otel.testing import capture_telemetry
    >>> price = ModelPrice(input_per_million=1.0, output_per_million=2.0)
    >>> with capture_telemetry(prices={"echo": price}) as telemetry:
    ...     _ = EchoLLM(n=3).invoke("hello", config={"callbacks": [telemetry.handler]})
    >>> [span.name for span in telemetry.spans]
    ['text_completion echo']
    >>> telemetry.metrics()["gen_ai.client.operation.duration"][0].count
    1
    >>> [log["event"] for log in telemetry.logs]
    ['llm.end']
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from structlog.testing import capture_logs
from structlog.typing import EventDict, Processor

from langchain_otel.callbacks import _runs
from langchain_otel.callbacks.handler import OTelCallbackHandler as _Handler

__all__ = ["CapturedTelemetry", "FakeClock", "capture_telemetry", "fake_clock"]


class CapturedTelemetry:
    """What :func:`capture_telemetry` yields: the handler and everything it emitted.

    Not to be confused with :class:`langchain_otel.Telemetry`, the handle ``configure()``
    returns. Renamed from ``langchain_otel.testing.Telemetry`` after 0.1.0; the old name
    stays a deprecated alias (``DeprecationWarning``) for one release.

    Example:
        >>> with capture_telemetry() as telemetry:
        ...     pass
        >>> telemetry.spans, telemetry.metrics(), telemetry.logs
        ((), {}, [])
    """

    def __init__(  # noqa: PLR0917 - built by capture_telemetry only
        self,
        handler: _Handler,
        tracer_provider: TracerProvider,
        meter_provider: MeterProvider,
        span_exporter: InMemorySpanExporter,
        metric_reader: InMemoryMetricReader,
        logs: list[EventDict],
    ) -> None:
        self.handler = handler
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.span_exporter = span_exporter
        self.metric_reader = metric_reader
        self.logs = logs

    @property
    def spans(self) -> tuple[ReadableSpan, ...]:
        """Every finished span, in the order they ended."""
        return self.span_exporter.get_finished_spans()

    def spans_named(self, prefix: str) -> list[ReadableSpan]:
        """The finished spans whose name starts with ``prefix``."""
        return [span for span in self.spans if span.name.startswith(prefix)]

    def metrics(self) -> dict[str, list[Any]]:
        """Metric name → its data points (cumulative since the capture started)."""
        data = self.metric_reader.get_metrics_data()
        points: dict[str, list[Any]] = {}
        if data is None:
            return points
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    points.setdefault(metric.name, []).extend(metric.data.data_points)
        return points

    def clear(self) -> None:
        """Forget the spans and logs captured so far (metrics are cumulative)."""
        self.span_exporter.clear()
        self.logs.clear()

    def __repr__(self) -> str:
        return f"<CapturedTelemetry spans={len(self.spans)} logs={len(self.logs)}>"


if TYPE_CHECKING:
    Telemetry = CapturedTelemetry
    """Deprecated alias of :class:`CapturedTelemetry` (removed in the next release)."""


def __getattr__(name: str) -> Any:
    """The deprecated ``Telemetry`` alias: warns, then returns :class:`CapturedTelemetry`."""
    if name == "Telemetry":
        warnings.warn(
            "langchain_otel.testing.Telemetry is deprecated and will be removed in the next "
            "release; use langchain_otel.testing.CapturedTelemetry",
            DeprecationWarning,
            stacklevel=2,
        )
        return CapturedTelemetry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@contextmanager
def capture_telemetry(
    *, log_processors: Iterable[Processor] = (), **handler_options: Any
) -> Iterator[CapturedTelemetry]:
    """Capture the telemetry of a fresh handler (and every structlog event) in memory.

    Args:
        log_processors: structlog processors applied before events are captured (for
            example :func:`langchain_otel.add_otel_context`).
        **handler_options: Passed to :class:`~langchain_otel.OTelCallbackHandler`
            (``capture_content``, ``prices``, ``strict``, ...); the providers and the
            logger are set here.

    Yields:
        The :class:`CapturedTelemetry` to run your code with and assert on.

    Example:
        >>> with capture_telemetry(capture_content=True) as telemetry:
        ...     telemetry.handler.content_policy.on_spans
        True
    """
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    try:
        with capture_logs(processors=log_processors) as logs:
            handler = _Handler(
                tracer_provider=tracer_provider, meter_provider=meter_provider, **handler_options
            )
            yield CapturedTelemetry(
                handler, tracer_provider, meter_provider, exporter, reader, logs
            )
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()


class FakeClock:
    """A manual monotonic clock: time moves only when you call :meth:`advance`.

    Example:
        >>> clock = FakeClock(start=10.0)
        >>> clock.advance(0.5)
        >>> clock()
        10.5
    """

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        """The current fake time, in seconds."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self.now += seconds


@contextmanager
def fake_clock(start: float = 0.0) -> Iterator[FakeClock]:
    """Replace the handler's clock so durations, TTFT and TTL are exact and controllable.

    Example:
        >>> with fake_clock() as clock:
        ...     clock.advance(2.0)
        ...     from langchain_otel.callbacks import _runs
        ...     _runs.clock()
        2.0
    """
    clock = FakeClock(start)
    original = _runs.clock
    _runs.clock = clock
    try:
        yield clock
    finally:
        _runs.clock = original
