"""The service under test: a FastAPI app on uvicorn, one variant per process.

``python -m benchmarks.service.app VARIANT [--sink-port N] [--directory DIR]`` sets the
variant up, binds 127.0.0.1 on a free port, prints ``port N`` and serves until SIGINT or
SIGTERM (then flushes its telemetry). Routes:

- ``GET /invoke``: ``await (prompt | EchoLLM(n=40, 20 ms to the first token, 0.5 ms per
  token) | parser).ainvoke(...)``, answered as JSON;
- ``GET /stream``: the same chain's ``astream`` as a ``StreamingResponse``;
- ``GET /probe``: the event-loop lag probe's figures since the last call (then reset),
  the garbage collector's time and full collections over the same span, and the
  process's CPU seconds so far;
- ``GET /freeze``: ``gc.collect()`` then ``gc.freeze()``, what a service does at the end
  of its start-up (the driver calls it after the first warm-up with
  ``--service-gc-freeze``): every object alive then is left out of later collections.

The lag probe is a task that sleeps 5 ms in a loop and records how much longer than
that each sleep took: the time the loop was busy with other callbacks.

Variants (see :data:`VARIANTS`): ``bare``; ``noop``: a handler that does nothing, run
inline, on every run through the same kind of configure hook as ``instrument()`` (what
LangChain's callback dispatch costs with any handler present: the floor under
``ours-none``); ``ours-none``, ``ours-otlp``,
``ours-otlp-json``, ``ours-embedded``: ``langchain_otel.configure(...)`` + ``instrument()``
as the docs say, with every exporter ``none``, OTLP/HTTP to the local sink (the default
``http/protobuf``, or ``protocol="http/json"``), or the embedded default (JSON Lines
files); ``ours-none+fastapi``: ``ours-none`` with FastAPI's own native telemetry left on
(see :data:`FASTAPI_TELEMETRY_VARIANTS`); ``openllmetry``: the SDK exporting OTLP/HTTP to
the sink and Traceloop's ``LangchainInstrumentor``. structlog is
at WARNING in all of them.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gc
import logging
import os
import socket
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

__all__ = [
    "FASTAPI_TELEMETRY_VARIANTS",
    "QUESTION",
    "VARIANTS",
    "LagProbe",
    "build_app",
    "build_chain",
    "main",
    "setup",
]

VARIANTS = (
    "bare",
    "noop",
    "ours-none",
    "ours-none+fastapi",
    "ours-otlp",
    "ours-otlp-json",
    "ours-embedded",
    "openllmetry",
)
"""Every variant of the service, in table order."""

FASTAPI_TELEMETRY_VARIANTS = frozenset({"ours-none+fastapi"})
"""Variants that keep FastAPI's own (native) OpenTelemetry telemetry on.

FastAPI 0.16x traces itself (server, dependency, endpoint and serialization spans, HTTP
metrics) as soon as a global OpenTelemetry provider is set, which ``configure()`` does.
That is FastAPI's telemetry, not ours: every other variant turns it off
(``FastAPI(telemetry={...})``), and ``ours-none+fastapi`` shows what it costs on top.
"""

QUESTION = "What does this service measure, and how fast?"
"""The question every request asks (the prompt echoes its first 40 characters)."""

PROBE_INTERVAL = 0.005


class LagProbe:
    """Measures event-loop lag: how much each 5 ms sleep oversleeps.

    Example:
        >>> probe = LagProbe()
        >>> probe.samples.extend([0.001, 0.002, 0.003])
        >>> probe.take()["p50_ms"]
        2.0
        >>> probe.take()["count"]
        0
    """

    def __init__(self, interval: float = PROBE_INTERVAL, keep: int = 200_000) -> None:
        self.interval = interval
        self.samples: collections.deque[float] = collections.deque(maxlen=keep)
        # Garbage collections since the last take(): a full one stops the loop.
        self.gc_seconds = 0.0
        self.gc_full = 0
        self.gc_full_max = 0.0
        self._gc_started = 0.0

    def watch_gc(self) -> None:
        """Also time the garbage collector's runs (``gc.callbacks``) until the process ends."""
        import gc

        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._gc_started = now
            return
        took = now - self._gc_started
        self.gc_seconds += took
        if info.get("generation") == 2:
            self.gc_full += 1
            self.gc_full_max = max(self.gc_full_max, took)

    async def run(self) -> None:
        """Sleep, measure the oversleep, forever (cancel to stop)."""
        clock = time.perf_counter
        while True:
            start = clock()
            await asyncio.sleep(self.interval)
            self.samples.append(max(0.0, clock() - start - self.interval))

    def take(self) -> dict[str, Any]:
        """p50/p99/max of the samples since the last call, in ms; then forget them."""
        values = sorted(self.samples)
        self.samples.clear()
        result: dict[str, Any] = {
            "count": len(values),
            "cpu_s": time.process_time(),
            "gc_ms": self.gc_seconds * 1000,
            "gc_full": self.gc_full,
            "gc_full_max_ms": self.gc_full_max * 1000,
        }
        self.gc_seconds, self.gc_full, self.gc_full_max = 0.0, 0, 0.0
        if values:
            result.update(
                p50_ms=statistics.median(values) * 1000,
                p99_ms=values[min(len(values) - 1, int(len(values) * 0.99))] * 1000,
                max_ms=values[-1] * 1000,
            )
        return result


def _quiet_structlog() -> None:
    import structlog

    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        cache_logger_on_first_use=True,
    )


def _noop_handler() -> Callable[[], None]:
    """A do-nothing inline handler on every run, added as ``instrument()`` adds ours."""
    from contextvars import ContextVar

    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.tracers.context import register_configure_hook

    from benchmarks.noop import NoopHandler

    slot: ContextVar[BaseCallbackHandler | None] = ContextVar("noop_handler", default=None)
    register_configure_hook(slot, inheritable=True)
    slot.set(NoopHandler())  # every task the server starts copies this context

    def stop() -> None:
        slot.set(None)

    return stop


def _openllmetry(endpoint: str) -> Callable[[], None]:
    from opentelemetry import metrics, trace
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    os.environ["TRACELOOP_TRACE_CONTENT"] = "false"  # as ours: no content by default
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces"))
    )
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics"))
    meter_provider = MeterProvider(metric_readers=[reader])
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    from opentelemetry.instrumentation.langchain import LangchainInstrumentor

    LangchainInstrumentor().instrument()

    def stop() -> None:
        tracer_provider.shutdown()
        meter_provider.shutdown()

    return stop


def setup(variant: str, *, sink_port: int | None, directory: str | None) -> Callable[[], None]:
    """Install ``variant`` in this process; returns what flushes and stops it."""
    _quiet_structlog()
    endpoint = f"http://127.0.0.1:{sink_port}"
    if variant == "bare":
        return lambda: None
    if variant == "openllmetry":
        return _openllmetry(endpoint)
    if variant == "noop":
        return _noop_handler()
    import langchain_otel

    if variant in ("ours-none", "ours-none+fastapi"):
        langchain_otel.configure(exporter="none")
    elif variant == "ours-otlp":
        langchain_otel.configure(exporter="otlp", endpoint=endpoint)
    elif variant == "ours-otlp-json":
        langchain_otel.configure(exporter="otlp", endpoint=endpoint, protocol="http/json")
    elif variant == "ours-embedded":
        langchain_otel.configure(directory=directory)
    else:
        msg = f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}"
        raise ValueError(msg)
    langchain_otel.instrument()

    def stop() -> None:
        langchain_otel.uninstrument()
        langchain_otel.shutdown()

    return stop


def build_chain() -> Any:
    """``prompt | EchoLLM(n=40, time_to_first_token=0.02, time_per_token=0.0005) | parser``.

    Example:
        >>> import asyncio
        >>> asyncio.run(build_chain().ainvoke({"question": QUESTION}))
        'Answer briefly: What does this service m'
    """
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import PromptTemplate

    from langchain_otel.llms import EchoLLM

    llm = EchoLLM(n=40, time_to_first_token=0.02, time_per_token=0.0005)
    return PromptTemplate.from_template("Answer briefly: {question}") | llm | StrOutputParser()


def _fastapi_options(native_telemetry: bool) -> dict[str, Any]:
    """``FastAPI(**options)``: its native telemetry off unless asked (where it has one)."""
    import inspect

    from fastapi import FastAPI

    if native_telemetry or "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    off = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
    return {"telemetry": off}


def build_app(
    chain: Any,
    probe: LagProbe,
    stop: Callable[[], None] = lambda: None,
    *,
    native_telemetry: bool = False,
) -> Any:
    """The FastAPI app: ``/invoke``, ``/stream``, ``/probe``; the probe runs in its lifespan.

    ``native_telemetry``: keep FastAPI's own OpenTelemetry telemetry on (FastAPI 0.16x).
    """
    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        probe.watch_gc()
        task = asyncio.create_task(probe.run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        stop()

    app = FastAPI(lifespan=lifespan, **_fastapi_options(native_telemetry))
    question = {"question": QUESTION}

    @app.get("/invoke")
    async def invoke() -> dict[str, str]:
        return {"answer": await chain.ainvoke(question)}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[str]:
            async for chunk in chain.astream(question):
                yield chunk

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.get("/probe")
    async def probe_figures() -> dict[str, Any]:
        return probe.take()

    @app.get("/freeze")
    async def freeze() -> dict[str, int]:
        gc.collect()
        gc.freeze()
        return {"frozen": gc.get_freeze_count()}

    return app


def main(argv: list[str] | None = None) -> int:
    """Entry point: set the variant up, print ``port N``, serve until signalled."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="benchmarks.service.app")
    parser.add_argument("variant", choices=VARIANTS)
    parser.add_argument("--sink-port", type=int)
    parser.add_argument("--directory")
    args = parser.parse_args(argv)
    stop = setup(args.variant, sink_port=args.sink_port, directory=args.directory)
    native = args.variant in FASTAPI_TELEMETRY_VARIANTS
    app = build_app(build_chain(), LagProbe(), stop, native_telemetry=native)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(f"port {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, backlog=2048)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
