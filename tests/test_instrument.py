"""instrument() / uninstrument() / LangChainInstrumentor: global, idempotent, no doubles."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from langchain_otel import (
    LangChainInstrumentor,
    OTelCallbackHandler,
    instrument,
    is_instrumented,
    uninstrument,
)
from langchain_otel._demo import build_chain
from langchain_otel.llms import EchoLLM
from langchain_otel.testing import CapturedTelemetry, capture_telemetry


@pytest.fixture(name="telemetry")
def _telemetry() -> Iterator[CapturedTelemetry]:
    with capture_telemetry(strict=True, use_genai_prices=False) as telemetry:
        yield telemetry
        if is_instrumented():
            uninstrument()


def _llm_spans(telemetry: CapturedTelemetry) -> list[str]:
    return [s.name for s in telemetry.spans if s.name.startswith("text_completion")]


def test_runs_without_callbacks_are_traced(telemetry: CapturedTelemetry) -> None:
    """Once instrumented, a chain with no callbacks yields its whole span tree."""
    assert instrument(handler=telemetry.handler) is telemetry.handler
    build_chain(EchoLLM(n=3)).invoke({"question": "q"})
    names = sorted(s.name for s in telemetry.spans)
    assert names == ["RunnableSequence", "text_completion echo"]  # prompt, parser folded
    roots = {s.context.trace_id for s in telemetry.spans}
    assert len(roots) == 1
    uninstrument()
    build_chain(EchoLLM(n=3)).invoke({"question": "q"})
    assert len(telemetry.spans) == 2
    assert not is_instrumented()


def test_instrument_twice_gives_one_span_per_run(telemetry: CapturedTelemetry) -> None:
    """A second instrument() is a warned no-op returning the installed handler."""
    first = instrument(handler=telemetry.handler)
    second = instrument(handler=OTelCallbackHandler(use_genai_prices=False))
    assert first is second is telemetry.handler
    EchoLLM(n=2).invoke("abc")
    assert _llm_spans(telemetry) == ["text_completion echo"]
    assert any(e["event"] == "langchain_otel.already_instrumented" for e in telemetry.logs)


def test_explicit_handler_while_instrumented_is_not_doubled(telemetry: CapturedTelemetry) -> None:
    """Passing an OTelCallbackHandler explicitly while instrumented: one span per run."""
    instrument(handler=telemetry.handler)
    EchoLLM(n=2).invoke("abc", config={"callbacks": [telemetry.handler]})
    assert _llm_spans(telemetry) == ["text_completion echo"]
    with capture_telemetry(strict=True, use_genai_prices=False) as other:
        EchoLLM(n=2).invoke("abc", config={"callbacks": [other.handler]})
        # the explicit handler wins; the global one is not added to that run
        assert _llm_spans(other) == ["text_completion echo"]
    assert _llm_spans(telemetry) == ["text_completion echo"]


def test_threads_started_before_instrument_see_it(telemetry: CapturedTelemetry) -> None:
    """The global handler is process-wide, not bound to the instrumenting thread's context."""
    go, done = threading.Event(), threading.Event()

    def worker() -> None:
        go.wait(5)
        EchoLLM(n=2).invoke("abc")
        done.set()

    thread = threading.Thread(target=worker)
    thread.start()
    instrument(handler=telemetry.handler)
    go.set()
    assert done.wait(5)
    thread.join()
    assert _llm_spans(telemetry) == ["text_completion echo"]


async def test_async_runs_are_traced(telemetry: CapturedTelemetry) -> None:
    """Async runs get the global handler too."""
    instrument(handler=telemetry.handler)
    await build_chain(EchoLLM(n=3)).ainvoke({"question": "q"})
    assert _llm_spans(telemetry) == ["text_completion echo"]
    assert telemetry.handler.open_runs == 0


def test_uninstrument_when_not_instrumented_warns(telemetry: CapturedTelemetry) -> None:
    """uninstrument() without instrument() is a warned no-op."""
    uninstrument()
    assert [e["event"] for e in telemetry.logs] == ["langchain_otel.not_instrumented"]


def test_instrumentor_and_entry_point(telemetry: CapturedTelemetry) -> None:
    """The entry point named langchain_otel loads the instrumentor, which instruments."""
    (entry,) = [
        e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "langchain_otel"
    ]
    assert entry.load() is LangChainInstrumentor
    instrumentor = LangChainInstrumentor()
    assert "langchain-core >= 0.3" in instrumentor.instrumentation_dependencies()
    instrumentor.instrument(handler=telemetry.handler)
    assert is_instrumented()
    EchoLLM(n=2).invoke("abc")
    instrumentor.uninstrument()
    assert not is_instrumented()
    assert _llm_spans(telemetry) == ["text_completion echo"]


def test_instrument_builds_a_handler_from_options(telemetry: CapturedTelemetry) -> None:
    """Without handler=, instrument() builds one from the handler's keyword options."""
    handler = instrument(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        capture_content=True,
        use_genai_prices=False,
    )
    assert handler is not telemetry.handler
    assert handler.content_policy.on_spans
    EchoLLM(n=2).invoke("abc")
    (span,) = telemetry.spans
    assert "gen_ai.input.messages" in (span.attributes or {})


def test_opentelemetry_instrument_command_loads_us(tmp_path: Path) -> None:
    """`opentelemetry-instrument python app.py` instruments LangChain through our entry point."""
    command = Path(sys.executable).parent / "opentelemetry-instrument"
    if not command.exists():
        pytest.skip("opentelemetry-instrument is not installed next to this interpreter")
    app = tmp_path / "app.py"
    app.write_text(
        "from langchain_otel import is_instrumented\n"
        "from langchain_otel.llms import EchoLLM\n"
        "print('instrumented:', is_instrumented())\n"
        "print(EchoLLM(n=3).invoke('hello'))\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env |= {
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
    }
    done = subprocess.run(
        [str(command), sys.executable, str(app)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "instrumented: True" in done.stdout
    assert "hel" in done.stdout


class _Sink:
    """A handler with its own in-memory providers, to count what each handler emitted."""

    def __init__(self) -> None:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )

        self.exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.handler = OTelCallbackHandler(
            tracer_provider=provider,
            meter_provider=MeterProvider(metric_readers=[self.reader]),
            strict=True,
            use_genai_prices=False,
        )

    def names(self) -> list[str]:
        return sorted(s.name for s in self.exporter.get_finished_spans())

    def durations(self) -> int:
        data = self.reader.get_metrics_data()
        return sum(
            point.count  # type: ignore[misc]
            for rm in (data.resource_metrics if data else ())
            for sm in rm.scope_metrics
            for metric in sm.metrics
            if metric.name == "gen_ai.client.operation.duration"
            for point in metric.data.data_points
        )


def _nested(inner_callbacks: list[object] | None) -> Any:
    """identity | model, the model bound to ``inner_callbacks`` (merged with inherited)."""
    from langchain_core.runnables import RunnableLambda

    llm: Any = EchoLLM(n=2)
    if inner_callbacks is not None:
        llm = llm.with_config(callbacks=inner_callbacks)
    return RunnableLambda(lambda x: x) | llm


def _assert_once(*sinks: _Sink) -> None:
    """Every run has exactly one span and one duration point among all the handlers."""
    names = sorted(name for sink in sinks for name in sink.names())
    assert names == ["RunnableLambda", "RunnableSequence", "text_completion echo"]
    assert sum(sink.durations() for sink in sinks) == 1
    for sink in sinks:
        assert sink.handler.open_runs == 0
        assert sink.handler.orphan_callbacks == 0
        assert sink.handler.internal_errors == 0


class TestOneRunOneTelemetry:
    """A run id is telemetered once per process, whichever handlers see it."""

    def test_explicit_inside_instrumented(self) -> None:
        """A handler passed to a nested run while instrument() is active: no doubles."""
        global_sink, explicit = _Sink(), _Sink()
        instrument(handler=global_sink.handler)
        try:
            _nested([explicit.handler]).invoke("ab")
        finally:
            uninstrument()
        _assert_once(global_sink, explicit)
        (llm,) = [
            s
            for sink in (global_sink, explicit)
            for s in sink.exporter.get_finished_spans()
            if s.name.startswith("text_completion")
        ]
        (outer,) = [
            s for sink in (global_sink, explicit) for s in sink.exporter.get_finished_spans()
            if s.name == "RunnableSequence"
        ]  # fmt: skip
        assert llm.parent.span_id == outer.context.span_id  # still one tree

    def test_instrumented_inside_explicit(self) -> None:
        """The instrumented handler passed to a run nested in an explicit one: no doubles."""
        global_sink, explicit = _Sink(), _Sink()
        instrument(handler=global_sink.handler)
        try:
            _nested([global_sink.handler]).invoke("ab", {"callbacks": [explicit.handler]})
        finally:
            uninstrument()
        _assert_once(global_sink, explicit)

    def test_two_explicit_handlers(self) -> None:
        """Two handlers in one run's callbacks: the first telemeters it, the second not."""
        first, second = _Sink(), _Sink()
        _nested(None).invoke("ab", config={"callbacks": [first.handler, second.handler]})
        _assert_once(first, second)
        assert second.names() == []
