"""The instrumented application of the Collector tests: `configure()` from OTEL_* variables.

`App` is what a user's service does: `configure()` (with only the standard environment
variables set, as a deployment would), the handler on its providers, structlog events
bridged to OpenTelemetry logs and stamped with the trace context, and the EchoLLM chains of
`tests/dashboards/_workload.py`. An in-memory copy of every span (a second processor on the
same provider) is what the backends' copies are compared with.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import structlog
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import PromptTemplate
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from langchain_otel import ModelPrice, OTelCallbackHandler, Telemetry, configure, shutdown
from langchain_otel.llms import EchoLLM
from langchain_otel.processors import OTelLogsBridge, add_otel_context

#: USD per million input/output tokens of the workload's models (as in test_prometheus.py).
PRICES_PER_MILLION = {"echo-small": (0.5, 1.5), "echo-large": (3.0, 15.0)}
ROOT_SPAN = "collector-test.request"
LOG_EVENT = "request.done"


@dataclass
class App:
    """A configured application: telemetry, handler, logger and the spans it ended."""

    telemetry: Telemetry
    handler: OTelCallbackHandler
    memory: InMemorySpanExporter
    log: Any
    latencies: list[float] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def spans(self) -> list[ReadableSpan]:
        """Every span the application ended so far."""
        return list(self.memory.get_finished_spans())

    def request(self, index: int, *, n: int = 12) -> str:
        """One traced request: a root span, a chain (prompt | EchoLLM | parser), a log line.

        Never raises: an exception (there should be none, whatever the Collector does) is
        kept in ``errors``. The latency of the whole request is kept in ``latencies``.
        """
        tracer = self.telemetry.tracer_provider.get_tracer("tests.collector")
        chain = (
            PromptTemplate.from_template("Answer briefly: {question}")
            | EchoLLM(n=n, model_name="echo-small")
            | StrOutputParser()
        )
        started = time.perf_counter()
        answer = ""
        try:
            with tracer.start_as_current_span(ROOT_SPAN, attributes={"request.index": index}):
                answer = asyncio.run(
                    chain.ainvoke({"question": f"request {index}"}, {"callbacks": [self.handler]})
                )
                self.log.info(LOG_EVENT, request=index)
        except BaseException as exc:
            self.errors.append(exc)
        self.latencies.append(time.perf_counter() - started)
        return answer


def otel_env(**variables: str) -> dict[str, str]:
    """Standard OTEL_* variables for a test app: fast exports, short batches."""
    return {
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "OTEL_BLRP_SCHEDULE_DELAY": "200",
        **variables,
    }


@contextmanager
def app(
    env: Mapping[str, str], *, timeout: float | None = None, **handler_options: Any
) -> Iterator[App]:
    """`configure(set_global=False)` from exactly ``env`` (other OTEL_* unset), then shutdown.

    ``timeout`` is configure()'s export timeout (seconds, retries included).
    """
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("OTEL_")]:
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        telemetry = configure(set_global=False, timeout=timeout)
    try:
        memory = InMemorySpanExporter()
        provider = telemetry.tracer_provider
        assert isinstance(provider, TracerProvider)
        provider.add_span_processor(SimpleSpanProcessor(memory))
        log = structlog.wrap_logger(
            structlog.ReturnLogger(),
            processors=[add_otel_context, OTelLogsBridge(telemetry.logger_provider)],
        )
        handler_options.setdefault("run_ttl", 1.0)
        handler = OTelCallbackHandler(
            tracer_provider=provider,
            meter_provider=telemetry.meter_provider,
            prices={
                model: ModelPrice(input_per_million=i, output_per_million=o)
                for model, (i, o) in PRICES_PER_MILLION.items()
            },
            use_genai_prices=False,
            logger=log,
            **handler_options,
        )
        yield App(telemetry, handler, memory, log)
    finally:
        shutdown()
