"""Exporter faults: a sick OTLP backend never slows, blocks or breaks the application.

Each case runs the same async workload (EchoLLM ``ainvoke`` with the handler, 10 at a
time) against ``configure(exporter="otlp")`` pointed at a real loopback backend that is
healthy, refuses connections, black-holes them, answers slowly, or answers 500 / 429, over
both HTTP protocols (traces go through our exporters for both, metrics and logs through
the official one for ``http/protobuf``).
A ticker task measures event-loop lag. We print p50/p99 latency per case and assert only
generous bounds: p99 within 3x (+500 ms) of the healthy case, and no loop stall of 3/4 of
the exporter's 2 s timeout (an export on the loop would stall it that long).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from langchain_otel import OTelCallbackHandler, configure, reset_defaults
from langchain_otel.llms import EchoLLM
from tests.reliability._servers import BlackHole, FaultyCollector, Refused
from tests.reliability._support import CountingLogger, LoopLag, percentile, record, sizes

EXPORT_TIMEOUT = 2.0
BACKENDS: dict[str, Callable[[], Any]] = {
    "healthy": lambda: FaultyCollector(200),
    "refused": Refused,
    "black_hole": BlackHole,
    "slow": lambda: FaultyCollector(200, delay=5.0),
    "http_500": lambda: FaultyCollector(500),
    "http_429": lambda: FaultyCollector(429, retry_after="1"),
}
PROTOCOLS = ("http/protobuf", "http/json")
_healthy: dict[tuple[str, int], float] = {}


@pytest.fixture(autouse=True)
def _batching(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Export often and keep a small queue, so faults bite during the workload."""
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "512")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "128")
    reset_defaults()
    yield
    reset_defaults()


async def _workload(handler: OTelCallbackHandler, runs: int) -> tuple[list[float], LoopLag]:
    llm = EchoLLM(n=8)
    config: Any = {"callbacks": [handler]}
    latencies: list[float] = []

    async def one(i: int) -> None:
        started = time.perf_counter()
        answer = await llm.ainvoke(f"question {i}", config=config)
        latencies.append(time.perf_counter() - started)
        assert answer == f"question {i}"[:8]

    async with LoopLag() as lag:
        for start in range(0, runs, 10):
            await asyncio.gather(*(one(i) for i in range(start, min(start + 10, runs))))
    return latencies, lag


@sizes(400, 5_000, "runs")
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("backend", list(BACKENDS))
async def test_sick_backend_never_hurts_the_app(
    *,
    backend: str,
    protocol: str,
    runs: int,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Healthy vs refused, black hole, slow, 500 and 429: latency, loop lag, drops."""
    caplog.set_level(logging.WARNING, logger="opentelemetry")
    if backend == "healthy":  # the baseline: a queue big enough to never drop here
        monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "16384")
        monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512")
    with BACKENDS[backend]() as server, capture_logs() as logs:
        telemetry = configure(
            exporter="otlp",
            endpoint=server.endpoint,
            protocol=protocol,
            logs_exporter="none",
            timeout=EXPORT_TIMEOUT,
            metric_export_interval=0.2,
            set_global=False,
        )
        handler = OTelCallbackHandler(
            tracer_provider=telemetry.tracer_provider,
            meter_provider=telemetry.meter_provider,
            logger=CountingLogger(),
        )
        latencies, lag = await _workload(handler, runs)
        await asyncio.sleep(0.5)  # let exports (and their failures) happen
        closing = time.perf_counter()
        await asyncio.to_thread(telemetry.shutdown)
        shutdown_s = time.perf_counter() - closing
        requests = server.requests
    assert handler.open_runs == 0
    assert handler.internal_errors == 0
    dropped = telemetry.dropped
    drop_logs = [log for log in logs if log["event"] == "telemetry.dropped"]
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    if backend == "healthy":
        _healthy[protocol, runs] = p99
        assert dropped == {"traces": 0, "metrics": 0, "logs": 0}
        assert requests > 0
    sdk_queue_full = [r for r in caplog.records if "Queue full" in r.getMessage()]
    if backend != "healthy":
        # nothing reached the backend: every span is counted as dropped, none silently lost
        # (the lock-free queue-full check may over-count by a few here: one ending thread)
        assert runs <= dropped["traces"] <= runs + runs // 100, dropped
        # logged once per signal, however many exports failed
        assert sorted(log["signal"] for log in drop_logs) == sorted(
            signal for signal, count in dropped.items() if count
        )
    healthy_p99 = _healthy.get((protocol, runs))
    record(
        request,
        backend=backend,
        protocol=protocol,
        runs=runs,
        p50_ms=p50 * 1e3,
        p99_ms=p99 * 1e3,
        healthy_p99_ms=None if healthy_p99 is None else healthy_p99 * 1e3,
        loop_lag_max_ms=lag.max * 1e3,
        loop_lag_p99_ms=lag.p99 * 1e3,
        dropped=dropped,
        drop_log_events=len(drop_logs),
        sdk_queue_full_warnings=len(sdk_queue_full),
        backend_requests=requests,
        shutdown_s=shutdown_s,
    )
    # (the SDK's own queue-full warning is rate-limited by its DuplicateFilter: recorded)
    # an export on the loop would stall it for the export timeout (2 s) or longer
    assert lag.max < EXPORT_TIMEOUT * 0.75, "the event loop was blocked"
    if healthy_p99 is not None:  # generous (a shared, noisy machine); a blocked app fails it
        assert p99 <= 3 * healthy_p99 + 0.500
    assert shutdown_s < 60
    structlog.reset_defaults()
