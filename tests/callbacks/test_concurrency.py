"""Many runs at once on one handler: own traces, no mixing, no leaks; cancellation."""

from __future__ import annotations

import asyncio
import gc
import threading

import anyio

from langchain_otel._demo import build_chain
from langchain_otel.llms import EchoLLM
from langchain_otel.testing import CapturedTelemetry


def _check_trees(telemetry: CapturedTelemetry, runs: int) -> None:
    """Each chain run is one trace: its LLM span's root is its own RunnableSequence."""
    spans = telemetry.spans
    by_id = {s.context.span_id: s for s in spans}
    roots = [s for s in spans if s.parent is None]
    assert len(roots) == runs
    assert all(r.name == "RunnableSequence" for r in roots)
    assert len({r.context.trace_id for r in roots}) == runs
    llm_spans = [s for s in spans if s.name == "text_completion echo"]
    assert len(llm_spans) == runs
    for span in llm_spans:
        parent = by_id[span.parent.span_id]
        assert parent.parent is None
        assert parent.context.trace_id == span.context.trace_id
    for span in spans:
        if span.parent is not None:
            assert by_id[span.parent.span_id].context.trace_id == span.context.trace_id


async def test_300_concurrent_astreams_on_one_loop(telemetry: CapturedTelemetry) -> None:
    """300 interleaved chain.astream runs: 300 separate traces, each TTFT recorded."""
    chain = build_chain(EchoLLM(n=8, time_per_token=0.001))

    async def one(i: int) -> str:
        chunks = [
            c
            async for c in chain.astream(
                {"question": str(i)}, config={"callbacks": [telemetry.handler]}
            )
        ]
        return "".join(chunks)

    results = await asyncio.gather(*(one(i) for i in range(300)))
    assert results == ["Answer b"] * 300
    _check_trees(telemetry, 300)
    assert telemetry.handler.open_runs == 0
    (ttfc,) = telemetry.metrics()["gen_ai.client.operation.time_to_first_chunk"]
    assert ttfc.count == 300
    assert telemetry.handler.internal_errors == 0


def test_40_threads_batch_8_with_one_handler(telemetry: CapturedTelemetry) -> None:
    """40 threads each calling batch(8) with one shared handler: 320 separate traces."""
    chain = build_chain(EchoLLM(n=5))
    errors: list[BaseException] = []
    barrier = threading.Barrier(40)

    def work(t: int) -> None:
        try:
            barrier.wait(10)
            inputs = [{"question": f"{t}-{i}"} for i in range(8)]
            out = chain.batch(inputs, config={"callbacks": [telemetry.handler]})
            assert out == ["Answe"] * 8
        except BaseException as exc:  # collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _check_trees(telemetry, 320)
    assert telemetry.handler.open_runs == 0
    (duration,) = telemetry.metrics()["gen_ai.client.operation.duration"]
    assert duration.count == 320


async def test_20_cancelled_plus_20_closed_streams_end_40_spans(
    telemetry: CapturedTelemetry,
) -> None:
    """Cancelled tasks and consumers closing streams early: 40 ended LLM spans, cancelled."""
    chain = build_chain(EchoLLM(n=30, time_per_token=0.01))
    started = asyncio.Event()
    count = 0

    async def consume() -> None:
        nonlocal count
        async for _ in chain.astream({"question": "q"}, config={"callbacks": [telemetry.handler]}):
            count += 1
            if count >= 20:
                started.set()

    tasks = [asyncio.create_task(consume()) for _ in range(20)]
    await asyncio.wait_for(started.wait(), 10)
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)

    llm = EchoLLM(n=30)
    for _ in range(20):
        stream = llm.astream(
            "a long enough prompt to stream", config={"callbacks": [telemetry.handler]}
        )
        async for _ in stream:
            break
        await stream.aclose()  # type: ignore[attr-defined]

    llm_spans = [s for s in telemetry.spans if s.name == "text_completion echo"]
    assert len(llm_spans) == 40
    assert {s.attributes["langchain_otel.outcome"] for s in llm_spans} == {"cancelled"}
    assert all(s.status.status_code.name == "UNSET" for s in llm_spans)
    assert all("error.type" not in s.attributes for s in llm_spans)
    assert not [e for e in telemetry.logs if e["event"] == "llm.error"]
    cancelled_logs = [e for e in telemetry.logs if e.get("outcome") == "cancelled"]
    assert len(cancelled_logs) == 40
    assert {e["log_level"] for e in cancelled_logs} == {"warning"}
    assert telemetry.handler.open_runs == 0


async def test_chain_stream_closed_early_ends_everything(telemetry: CapturedTelemetry) -> None:
    """Closing a chain's astream early: inner streams end when the loop finalizes them."""
    chain = build_chain(EchoLLM(n=30))
    stream = chain.astream({"question": "q"}, config={"callbacks": [telemetry.handler]})
    async for _ in stream:
        break
    await stream.aclose()  # type: ignore[attr-defined]
    for _ in range(10):  # let the loop finalize the inner async generators
        gc.collect()
        await asyncio.sleep(0.01)
        if telemetry.handler.open_runs == 0:
            break
    assert telemetry.handler.open_runs == 0
    assert {s.attributes["langchain_otel.outcome"] for s in telemetry.spans} <= {"ok", "cancelled"}


async def test_anyio_cancel_scope_is_cancellation(telemetry: CapturedTelemetry) -> None:
    """An anyio cancel scope cancelling a stream mid-way ends the span as cancelled."""
    llm = EchoLLM(n=50, time_per_token=0.01)
    chunks = 0
    with anyio.CancelScope() as scope:
        async for _ in llm.astream("x" * 60, config={"callbacks": [telemetry.handler]}):
            chunks += 1
            scope.cancel()  # the stream's next await is cancelled: no timing involved
    assert scope.cancelled_caught
    assert chunks == 1
    (span,) = telemetry.spans
    assert span.attributes["langchain_otel.outcome"] == "cancelled"
    assert telemetry.handler.open_runs == 0
