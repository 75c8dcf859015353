"""Shared helpers of the reliability suite: sizes, figures, RSS, loop lag, real providers.

Sizes come from one place: :func:`sizes` parametrizes a test with a fast size (run by
``nox -s tests``) and a full size marked ``stress`` (run by ``nox -s stress``).
``LANGCHAIN_OTEL_STRESS_SCALE`` (a float, default 1) scales the full sizes down for a quick
local look at the stress session.

Every test reports its figures through :func:`record`: printed (run pytest with ``-s`` to
see them), attached to the JUnit report as properties, and appended as one JSON object per
line to ``reliability-results/figures.jsonl`` (gitignored).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import socket
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from langchain_otel import OTelCallbackHandler

RESULTS = Path(__file__).resolve().parents[2] / "reliability-results"
FIGURES = RESULTS / "figures.jsonl"
_SCALE = float(os.environ.get("LANGCHAIN_OTEL_STRESS_SCALE", "1") or 1)


def sizes(fast: int, full: int, name: str = "size") -> pytest.MarkDecorator:
    """Parametrize ``name`` with the fast size and the full (``stress``-marked) size."""
    full = max(fast, int(full * _SCALE))
    return pytest.mark.parametrize(
        name,
        [
            pytest.param(fast, id=f"fast-{fast}"),
            pytest.param(full, id=f"stress-{full}", marks=pytest.mark.stress),
        ],
    )


def record(request: pytest.FixtureRequest, **figures: Any) -> None:
    """Print the test's figures, attach them to the report and append them to FIGURES."""
    node = request.node
    line = " ".join(f"{key}={_fmt(value)}" for key, value in figures.items())
    print(f"\n[figures] {node.nodeid}: {line}")
    for key, value in figures.items():
        node.user_properties.append((key, value))
    RESULTS.mkdir(exist_ok=True)
    entry = {"test": node.nodeid, "at": time.time(), **figures}
    with FIGURES.open("a", encoding="utf-8") as file:
        file.write(json.dumps(entry, default=str) + "\n")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def rss_bytes() -> int:
    """Resident set size of this process, from /proc (Linux)."""
    with open("/proc/self/statm", encoding="ascii") as file:
        pages = int(file.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    rank = max(0, math.ceil(q * len(ordered)) - 1)
    return ordered[rank]


def median(values: Sequence[float]) -> float:
    """The median."""
    return statistics.median(values)


class CountingSpanExporter(SpanExporter):
    """A real SDK exporter that keeps only counts (for runs too many to keep in memory)."""

    def __init__(self) -> None:
        self.exported = 0
        self.outcomes: dict[str, int] = {}
        self.errors = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Count the spans, their outcomes and their ERROR statuses."""
        for span in spans:
            self.exported += 1
            outcome = str((span.attributes or {}).get("langchain_otel.outcome"))
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
            if not span.status.is_ok and span.status.status_code.name == "ERROR":
                self.errors += 1
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing to release."""


class CountingLogger:
    """A structlog-style logger that counts events by name and keeps the last few."""

    def __init__(self, keep: int = 100) -> None:
        self.counts: dict[str, int] = {}
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self._keep = keep

    def _log(self, level: str, event: str, **fields: Any) -> None:
        self.counts[event] = self.counts.get(event, 0) + 1
        if len(self.events) < self._keep:
            self.events.append((level, event, fields))

    def debug(self, event: str, **fields: Any) -> None:
        self._log("debug", event, **fields)

    def info(self, event: str, **fields: Any) -> None:
        self._log("info", event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._log("warning", event, **fields)

    def error(self, event: str, **fields: Any) -> None:
        self._log("error", event, **fields)


@contextmanager
def counting_handler(**options: Any) -> Iterator[tuple[OTelCallbackHandler, CountingSpanExporter]]:
    """A handler on a real TracerProvider/MeterProvider whose exporter only counts."""
    exporter = CountingSpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    options.setdefault("logger", CountingLogger())
    handler = OTelCallbackHandler(
        tracer_provider=tracer_provider, meter_provider=meter_provider, **options
    )
    try:
        yield handler, exporter
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()


class LoopLag:
    """A ticker task that measures how late the event loop wakes it (blocked loop = lag)."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.interval)
            self.lags.append(loop.time() - before - self.interval)

    async def __aenter__(self) -> LoopLag:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task

    @property
    def max(self) -> float:
        """Worst lag seen, seconds."""
        return max(self.lags, default=0.0)

    @property
    def p99(self) -> float:
        """99th percentile lag, seconds."""
        return percentile(self.lags, 0.99) if self.lags else 0.0


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


class ContextLog(logging.Handler):
    """Collects what OpenTelemetry's context module logs ("Failed to detach context").

    Example:
        >>> with ContextLog.watch() as log:
        ...     pass
        >>> log.records
        []
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record."""
        self.records.append(record)

    @classmethod
    @contextmanager
    def watch(cls) -> Iterator[ContextLog]:
        """Attach to the ``opentelemetry.context`` logger for the block."""
        log = cls()
        logger = logging.getLogger("opentelemetry.context")
        logger.addHandler(log)
        try:
            yield log
        finally:
            logger.removeHandler(log)
