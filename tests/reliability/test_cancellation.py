"""Cancellation: every span ends as cancelled (or abandoned by the TTL), none as ERROR.

Streams are cancelled at random points (before the first token, mid-stream), by
``asyncio.wait_for``/``asyncio.timeout``, by anyio cancel scopes, while another callback
is awaiting in ``on_llm_end``, by consumers that ``break`` and ``aclose()``, and by
generators dropped without ``aclose()`` (garbage-collected).
"""

from __future__ import annotations

import asyncio
import gc
import random
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import PromptTemplate
from langchain_core.runnables import Runnable

from langchain_otel.llms import EchoLLM
from langchain_otel.testing import CapturedTelemetry, capture_telemetry
from tests.reliability._support import ContextLog, record, sizes
from tests.reliability.test_hostile_input import OpenSpans

TTL = 0.3


@pytest.fixture(name="telemetry")
def _telemetry() -> Iterator[tuple[CapturedTelemetry, OpenSpans]]:
    with capture_telemetry(strict=True, run_ttl=TTL) as telemetry:
        tracker = OpenSpans()
        telemetry.tracer_provider.add_span_processor(tracker)
        yield telemetry, tracker


def _chain(llm: EchoLLM) -> Runnable[dict[str, Any], str]:
    return PromptTemplate.from_template("prompt number {i}") | llm | StrOutputParser()


async def _settle(
    telemetry: CapturedTelemetry, tracker: OpenSpans, ttl: float = TTL
) -> dict[str, Any]:
    """Let finalizers run, wait out the TTL, sweep; assert nothing is left and no ERROR."""
    for _ in range(3):
        gc.collect()
        await asyncio.sleep(0.01)
    in_flight = telemetry.handler.open_runs
    if in_flight:
        await asyncio.sleep(ttl * 1.5)
    swept = telemetry.handler.sweep()
    assert telemetry.handler.open_runs == 0
    assert not tracker.open, f"{len(tracker.open)} span(s) never ended"
    outcomes: Counter[str] = Counter()
    for span in telemetry.spans:
        attrs = span.attributes or {}
        outcome = str(attrs.get("langchain_otel.outcome"))
        outcomes[outcome] += 1
        assert span.status.status_code.name != "ERROR", (span.name, span.status)
        assert "error.type" not in attrs
    assert telemetry.handler.internal_errors == 0
    return {"in_flight_before_ttl": in_flight, "swept": swept, "outcomes": dict(outcomes)}


def _model_spans(telemetry: CapturedTelemetry) -> list[Any]:
    return telemetry.spans_named("text_completion")


@sizes(200, 2_000, "streams")
async def test_streams_cancelled_at_random_points(
    streams: int, request: pytest.FixtureRequest
) -> None:
    """Tasks cancelled at random delays: before the first token and mid-stream.

    A long TTL here: every span must end as cancelled by its own callback, none swept.
    """
    with capture_telemetry(strict=True, run_ttl=600) as tel:
        tracker = OpenSpans()
        tel.tracer_provider.add_span_processor(tracker)
        await _random_cancellations(tel, tracker, streams, request)


async def _random_cancellations(
    tel: CapturedTelemetry, tracker: OpenSpans, streams: int, request: pytest.FixtureRequest
) -> None:
    llm = EchoLLM(n=20, time_to_first_token=0.1, time_per_token=0.01)
    rng = random.Random(20261126)

    config: Any = {"callbacks": [tel.handler]}
    loop = asyncio.get_running_loop()
    delays = [rng.uniform(0.0, 0.35) for _ in range(streams)]

    async def consume(i: int) -> str:
        task = asyncio.current_task()
        assert task is not None
        loop.call_later(delays[i], task.cancel)  # counted from the stream's own start
        text = ""
        async for piece in llm.astream(f"prompt {i:05d} " * 2, config=config):
            text += piece
        return text

    tasks = [asyncio.create_task(consume(i)) for i in range(streams)]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    cancelled_tasks = sum(isinstance(r, asyncio.CancelledError) for r in results)
    assert all(isinstance(r, str | asyncio.CancelledError) for r in results)
    figures = await _settle(tel, tracker)
    models = _model_spans(tel)
    assert len(models) <= streams
    assert figures["in_flight_before_ttl"] == 0
    assert set(figures["outcomes"]) <= {"cancelled", "ok"}  # a few may finish first
    before_first = mid_stream = 0
    for span in models:
        attrs = span.attributes or {}
        if attrs["langchain_otel.outcome"] == "cancelled":
            if attrs.get("gen_ai.request.stream"):
                mid_stream += 1
            else:
                before_first += 1
    assert before_first > 0
    assert mid_stream > 0
    assert before_first + mid_stream <= cancelled_tasks
    record(
        request,
        streams=streams,
        cancelled=cancelled_tasks,
        model_spans=len(models),
        before_first_token=before_first,
        mid_stream=mid_stream,
        spans=len(tel.spans),
        **figures,
    )


async def test_timeouts_and_anyio_cancel_scopes(
    telemetry: tuple[CapturedTelemetry, OpenSpans], request: pytest.FixtureRequest
) -> None:
    """asyncio.wait_for, asyncio.timeout (3.11+) and anyio scopes cancel streams cleanly."""
    tel, tracker = telemetry
    llm = EchoLLM(n=50, time_to_first_token=0.005, time_per_token=0.01)
    config: Any = {"callbacks": [tel.handler]}

    async def drain() -> None:
        async for _ in llm.astream("x" * 50, config=config):
            pass

    for _ in range(5):
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(drain(), 0.05)
        if sys.version_info >= (3, 11):
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):
                    await drain()
        with anyio.move_on_after(0.05) as scope:
            await drain()
        assert scope.cancelled_caught
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as group:
                group.start_soon(drain)
                await anyio.sleep(0.03)
                scope.cancel()
    figures = await _settle(tel, tracker)
    expected = 5 * (4 if sys.version_info >= (3, 11) else 3)
    assert figures["outcomes"] == {"cancelled": expected}
    record(request, runs=expected, **figures)


class SlowEnd(AsyncCallbackHandler):
    """Another (async, not inline) handler that awaits in on_llm_end."""

    def __init__(self) -> None:
        self.entered = 0

    async def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.entered += 1
        await asyncio.sleep(10)


async def test_cancelled_during_on_llm_end(
    telemetry: tuple[CapturedTelemetry, OpenSpans], request: pytest.FixtureRequest
) -> None:
    """A task cancelled while the callback manager awaits on_llm_end: the span ends once."""
    tel, tracker = telemetry
    llm = EchoLLM(n=5)
    slow = SlowEnd()
    config: Any = {"callbacks": [slow, tel.handler]}
    tasks = [asyncio.create_task(llm.ainvoke("hello", config=config)) for _ in range(20)]
    tasks += [asyncio.create_task(_collect(llm.astream("hello", config=config))) for _ in range(20)]
    for _ in range(500):  # until every run sits in on_llm_end (at most 5 s)
        if slow.entered == 40:
            break
        await asyncio.sleep(0.01)
    assert slow.entered == 40
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    figures = await _settle(tel, tracker)
    assert len(tel.spans) == 40
    assert set(figures["outcomes"]) <= {"ok", "cancelled"}
    record(request, runs=40, **figures)


async def _collect(stream: Any) -> list[Any]:
    return [piece async for piece in stream]


async def test_break_aclose_and_dropped_generators(
    telemetry: tuple[CapturedTelemetry, OpenSpans], request: pytest.FixtureRequest
) -> None:
    """break + aclose(), break without aclose (GC), and sync generators dropped mid-stream."""
    tel, tracker = telemetry
    llm = EchoLLM(n=20, time_per_token=0.001)
    chain = _chain(llm)
    config: Any = {"callbacks": [tel.handler]}
    runs = 20
    for i in range(runs):
        stream = chain.astream({"i": i}, config=config)
        async for _ in stream:
            break
        await stream.aclose()  # type: ignore[attr-defined]
    for i in range(runs):
        dropped = chain.astream({"i": i}, config=config)
        async for _ in dropped:
            break
        del dropped  # never closed: the loop's asyncgen finalizer closes it
    for i in range(runs):
        sync_stream = iter(EchoLLM(n=20).stream(f"prompt {i}", config=config))
        next(sync_stream)
        del sync_stream  # GeneratorExit at garbage collection
    figures = await _settle(tel, tracker)
    models = _model_spans(tel)
    assert len(models) == 3 * runs
    model_outcomes = Counter(str((s.attributes or {})["langchain_otel.outcome"]) for s in models)
    assert set(model_outcomes) <= {"cancelled", "abandoned"}
    record(request, runs=3 * runs, model_outcomes=dict(model_outcomes), **figures)


async def test_chains_cancelled_anywhere_are_ended_or_swept(
    telemetry: tuple[CapturedTelemetry, OpenSpans], request: pytest.FixtureRequest
) -> None:
    """prompt | llm | parser cancelled at random: child runs LangChain never ends are swept.

    LangChain gives no end callback to a step cancelled between its start callback and
    its body (here, mostly the PromptTemplate step): those spans end as ``abandoned`` by
    the TTL sweep, never as ERROR and never left open.
    """
    tel, tracker = telemetry
    chain = _chain(EchoLLM(n=15, time_to_first_token=0.01, time_per_token=0.002))
    rng = random.Random(7)
    config: Any = {"callbacks": [tel.handler]}

    async def consume(i: int) -> None:
        async for _ in chain.astream({"i": i}, config=config):
            pass

    tasks = [asyncio.create_task(consume(i)) for i in range(100)]
    loop = asyncio.get_running_loop()
    for task in tasks:
        loop.call_later(rng.uniform(0.0, 0.5), task.cancel)
    await asyncio.gather(*tasks, return_exceptions=True)
    figures = await _settle(tel, tracker)
    assert set(figures["outcomes"]) <= {"ok", "cancelled", "abandoned"}
    assert len(tel.spans_named("RunnableSequence")) == 100
    record(request, runs=100, spans=len(tel.spans), **figures)


@sizes(100, 1_000, "streams")
async def test_random_cancellation_keeps_the_callers_context(
    streams: int, request: pytest.FixtureRequest
) -> None:
    """Concurrent chain astreams under request spans, cancelled at random points.

    In every task, after its stream ends however it ends, the current span is the task's
    own request span; nothing is ever logged as "Failed to detach context"; every span
    ends and none is an error.
    """
    from langchain_core.runnables import RunnableLambda
    from opentelemetry import trace

    rng = random.Random(20261201)
    delays = [rng.uniform(0.0, 0.3) for _ in range(streams)]
    restored: list[bool] = []
    loop = asyncio.get_running_loop()
    with ContextLog.watch() as context_log, capture_telemetry(strict=True, run_ttl=600) as tel:
        tracker = OpenSpans()
        tel.tracer_provider.add_span_processor(tracker)
        app = tel.tracer_provider.get_tracer("app")

        def step(value: dict[str, Any]) -> dict[str, Any]:
            with app.start_as_current_span("user"):
                return value

        llm = EchoLLM(n=20, time_to_first_token=0.05, time_per_token=0.01)
        chain = RunnableLambda(step) | _chain(llm)
        config: Any = {"callbacks": [tel.handler]}

        async def consume(i: int) -> None:
            task = asyncio.current_task()
            assert task is not None
            loop.call_later(delays[i], task.cancel)
            with app.start_as_current_span(f"request {i}") as own:
                try:
                    async for _ in chain.astream({"i": i}, config=config):
                        assert trace.get_current_span() is own
                finally:
                    restored.append(trace.get_current_span() is own)

        results = await asyncio.gather(
            *(consume(i) for i in range(streams)), return_exceptions=True
        )
        assert all(r is None or isinstance(r, asyncio.CancelledError) for r in results)
        assert trace.get_current_span() is trace.INVALID_SPAN
        figures = await _settle(tel, tracker)
    assert len(restored) == streams
    assert all(restored), f"{restored.count(False)} task(s) saw another span after the run"
    assert context_log.records == []
    record(
        request,
        streams=streams,
        cancelled=sum(isinstance(r, asyncio.CancelledError) for r in results),
        detach_errors=len(context_log.records),
        **figures,
    )
