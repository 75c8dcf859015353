"""Concurrency: many astreams on one loop plus threads calling batch, one shared handler.

Every request carries its own ``conversation_id`` (metadata, inherited by child runs), so
mixing would show: each trace must hold exactly one request's four spans (sequence, prompt,
model, parser), every parent must be exported, and nothing may stay in flight.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import anyio
import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import PromptTemplate
from langchain_core.runnables import Runnable
from opentelemetry.sdk.trace import ReadableSpan

from langchain_otel import OTelCallbackHandler, instrument, uninstrument
from langchain_otel.llms import EchoLLM
from langchain_otel.testing import capture_telemetry
from tests.reliability._support import ContextLog, record, sizes

SPANS_PER_RUN = 2  # RunnableSequence, EchoLLM (the prompt and the parser are folded)
THREADS = 4
BATCH = 8


def _chain() -> Runnable[dict[str, Any], str]:
    llm = EchoLLM(n=12, time_to_first_token=0.001, time_per_token=0.0005)
    return PromptTemplate.from_template("request {i}") | llm | StrOutputParser()


def _config(handler: OTelCallbackHandler | None, key: str) -> dict[str, Any]:
    config: dict[str, Any] = {"metadata": {"conversation_id": key}}
    if handler is not None:
        config["callbacks"] = [handler]
    return config


def check_traces(spans: Sequence[ReadableSpan], keys: set[str]) -> dict[str, int]:
    """Assert each request is exactly one complete trace of its own; return figures."""
    by_trace: dict[int, list[ReadableSpan]] = defaultdict(list)
    span_ids = set()
    for span in spans:
        assert span.context is not None
        by_trace[span.context.trace_id].append(span)
        span_ids.add(span.context.span_id)
    assert len(spans) == SPANS_PER_RUN * len(keys), "span count must be exact"
    assert len(by_trace) == len(keys), "one trace per request"
    seen: set[str] = set()
    for trace_spans in by_trace.values():
        conversation = {(s.attributes or {}).get("gen_ai.conversation.id") for s in trace_spans}
        assert len(conversation) == 1, f"spans of different requests mixed: {conversation}"
        (key,) = conversation
        assert isinstance(key, str)
        assert key not in seen, f"request {key} split over several traces"
        seen.add(key)
        models = [s for s in trace_spans if s.name.startswith("text_completion")]
        assert len(models) == 1
        roots = [s for s in trace_spans if s.parent is None]
        assert len(roots) == 1
        assert roots[0].name == "RunnableSequence"
        for span in trace_spans:
            if span.parent is not None:
                assert span.parent.span_id in span_ids, "every parent is exported"
        # the model's answer belongs to this request: its output echoes the prompt
        assert (models[0].attributes or {})["langchain_otel.outcome"] == "ok"
    assert seen == keys
    return {"spans": len(spans), "traces": len(by_trace)}


def _batch_worker(
    chain: Runnable[dict[str, Any], str],
    handler: OTelCallbackHandler | None,
    worker: int,
    rounds: int,
    errors: list[BaseException],
) -> None:
    try:
        for r in range(rounds):
            keys = [f"t{worker}-{r}-{j}" for j in range(BATCH)]
            inputs = [{"i": key} for key in keys]
            configs = [_config(handler, key) for key in keys]
            answers = chain.batch(inputs, config=configs)  # type: ignore[arg-type]
            assert answers == [f"request {key}"[:12] for key in keys]
    except BaseException as exc:  # reported by the test
        errors.append(exc)


async def _astream_all(
    chain: Runnable[dict[str, Any], str], handler: OTelCallbackHandler | None, keys: list[str]
) -> int:
    async def one(key: str) -> None:
        text = ""
        async for piece in chain.astream({"i": key}, config=_config(handler, key)):  # type: ignore[arg-type]
            text += piece
        assert text == f"request {key}"[:12]

    await asyncio.gather(*(one(key) for key in keys))
    return len(keys)


async def _run_mixed(
    handler: OTelCallbackHandler | None, streams: int, rounds: int
) -> tuple[set[str], float]:
    chain = _chain()
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_batch_worker, args=(chain, handler, w, rounds, errors))
        for w in range(THREADS)
    ]
    keys = [f"s{i}" for i in range(streams)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    await _astream_all(chain, handler, keys)
    for thread in threads:
        await asyncio.to_thread(thread.join)
    elapsed = time.perf_counter() - started
    assert not errors, errors
    batch_keys = {
        f"t{w}-{r}-{j}" for w in range(THREADS) for r in range(rounds) for j in range(BATCH)
    }
    return set(keys) | batch_keys, elapsed


@sizes(500, 10_000, "streams")
async def test_astreams_and_threaded_batches_keep_traces_apart(
    streams: int, request: pytest.FixtureRequest
) -> None:
    """Thousands of astreams plus 4 threads x batch(8), one handler: every trace is its own."""
    rounds = max(2, streams // 200)
    # every stream holds 4 runs in flight at once: max_runs must cover the peak
    with capture_telemetry(strict=True, max_runs=5 * streams) as telemetry:
        handler = telemetry.handler
        keys, elapsed = await _run_mixed(handler, streams, rounds)
        figures = check_traces(telemetry.spans, keys)
        assert handler.open_runs == 0
        assert handler.internal_errors == 0
        assert handler.orphan_callbacks == 0
        assert handler.evicted_runs == 0
    record(
        request,
        astreams=streams,
        batch_runs=THREADS * rounds * BATCH,
        runs=len(keys),
        elapsed_s=elapsed,
        open_runs=handler.open_runs,
        **figures,
    )


@sizes(300, 2_000, "streams")
async def test_instrument_gives_every_run_one_trace_without_doubles(
    streams: int, request: pytest.FixtureRequest
) -> None:
    """With instrument(), and with the same handler also passed explicitly: no doubled spans."""
    with capture_telemetry(strict=True) as telemetry:
        handler = instrument(handler=telemetry.handler)
        try:
            chain = _chain()
            half = streams // 2
            keys = [f"s{i}" for i in range(streams)]
            await _astream_all(chain, None, keys[:half])  # via the configure hook only
            await _astream_all(chain, handler, keys[half:])  # hook + explicit: still once
            errors: list[BaseException] = []
            threads = [
                threading.Thread(target=_batch_worker, args=(chain, None, w, 2, errors))
                for w in range(THREADS)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                await asyncio.to_thread(thread.join)
            assert not errors, errors
        finally:
            uninstrument()
        all_keys = set(keys) | {
            f"t{w}-{r}-{j}" for w in range(THREADS) for r in range(2) for j in range(BATCH)
        }
        figures = check_traces(telemetry.spans, all_keys)
        assert handler.open_runs == 0
        assert handler.internal_errors == 0
    record(request, runs=len(all_keys), open_runs=handler.open_runs, **figures)


@sizes(200, 1_000, "streams")
def test_astreams_under_anyio_asyncio_backend(streams: int, request: pytest.FixtureRequest) -> None:
    """anyio task groups (asyncio backend) running astreams: every trace is its own."""
    with capture_telemetry(strict=True) as telemetry:
        handler = telemetry.handler
        chain = _chain()
        keys = [f"a{i}" for i in range(streams)]

        async def main() -> None:
            async def one(key: str) -> None:
                text = ""
                async for piece in chain.astream({"i": key}, config=_config(handler, key)):  # type: ignore[arg-type]
                    text += piece
                assert text == f"request {key}"[:12]

            async with anyio.create_task_group() as group:
                for key in keys:
                    group.start_soon(one, key)

        anyio.run(main, backend="asyncio")
        figures = check_traces(telemetry.spans, set(keys))
        assert handler.open_runs == 0
    record(request, backend="asyncio", **figures)


@sizes(200, 2_000, "runs")
def test_handler_under_trio_tasks(runs: int, request: pytest.FixtureRequest) -> None:
    """Under trio: interleaved runs from trio tasks, some cancelled by a cancel scope.

    LangChain's own async API cannot run on trio (it calls ``asyncio.gather``), so trio
    tasks drive the handler's callbacks the way LangChain's managers do; trio's
    ``Cancelled`` must be an outcome ``cancelled``, never an error.
    """
    trio = pytest.importorskip("trio")
    from uuid import uuid4

    with capture_telemetry(strict=True) as telemetry:
        handler = telemetry.handler

        async def one(i: int, cancel: bool) -> None:
            chain_id, llm_id = uuid4(), uuid4()
            meta = {"conversation_id": f"trio{i}"}
            handler.on_chain_start({"name": "Seq"}, {}, run_id=chain_id, metadata=meta)
            handler.on_llm_start(
                {"name": "EchoLLM"},
                ["hi"],
                run_id=llm_id,
                parent_run_id=chain_id,
                metadata=meta,
                invocation_params={"model_name": "echo"},
            )
            try:
                with trio.CancelScope() as scope:
                    if cancel:
                        scope.cancel()
                    for _ in range(3):
                        await trio.sleep(0)
                        handler.on_llm_new_token("x", run_id=llm_id)
                    await trio.sleep(0)
            finally:
                if scope.cancelled_caught:
                    handler.on_llm_error(trio.Cancelled._create(), run_id=llm_id)
                    handler.on_chain_error(trio.Cancelled._create(), run_id=chain_id)
                else:
                    handler.on_llm_end(None, run_id=llm_id)
                    handler.on_chain_end({}, run_id=chain_id)

        async def main() -> None:
            async with trio.open_nursery() as nursery:
                for i in range(runs):
                    nursery.start_soon(one, i, i % 3 == 0)

        trio.run(main)
        spans = telemetry.spans
        assert len(spans) == 2 * runs
        assert handler.open_runs == 0
        outcomes: dict[str, int] = defaultdict(int)
        for span in spans:
            attrs = span.attributes or {}
            outcomes[str(attrs["langchain_otel.outcome"])] += 1
            assert span.status.status_code.name != "ERROR"
        cancelled = sum(1 for i in range(runs) if i % 3 == 0)
        assert outcomes["cancelled"] == 2 * cancelled
        by_trace: dict[int, set[Any]] = defaultdict(set)
        for span in spans:
            assert span.context is not None
            by_trace[span.context.trace_id].add((span.attributes or {})["gen_ai.conversation.id"])
        assert len(by_trace) == runs
        assert all(len(v) == 1 for v in by_trace.values())
    record(request, backend="trio", runs=runs, spans=len(spans), outcomes=dict(outcomes))


async def test_more_runs_than_max_runs_are_evicted_counted_and_said_once(
    request: pytest.FixtureRequest,
) -> None:
    """A peak above max_runs: the oldest live runs end as abandoned, counted, logged once."""
    # Every run kept, so that every evicted run has a span to end as abandoned.
    with capture_telemetry(max_runs=40, keep_all_runs=True) as telemetry:
        handler = telemetry.handler
        keys = [f"e{i}" for i in range(50)]  # 50 streams x 4 runs in flight > 40
        await _astream_all(_chain(), handler, keys)
        outcomes: dict[str, int] = defaultdict(int)
        for span in telemetry.spans:
            outcomes[str((span.attributes or {})["langchain_otel.outcome"])] += 1
        full = [log for log in telemetry.logs if "max_runs=40" in str(log.get("error", ""))]
        assert handler.evicted_runs > 0
        assert outcomes["abandoned"] == handler.evicted_runs
        assert len(full) == 1
        assert handler.open_runs == 0
    record(request, streams=50, max_runs=40, evicted=handler.evicted_runs, outcomes=dict(outcomes))


@sizes(200, 1_000, "streams")
async def test_user_spans_nest_under_their_own_run(
    streams: int, request: pytest.FixtureRequest
) -> None:
    """Hundreds of concurrent astreams, each step starting a user span: never mixed.

    Each request is tagged; every user span's parent is the step span of its own request
    (same tag), each task's current span is its own request span after the run, and
    nothing is logged as "Failed to detach context".
    """
    from langchain_core.runnables import RunnableLambda
    from opentelemetry import trace

    with ContextLog.watch() as context_log, capture_telemetry(strict=True) as tel:
        app = tel.tracer_provider.get_tracer("app")

        async def step(value: dict[str, Any]) -> dict[str, Any]:
            await asyncio.sleep(0)  # interleave with the other requests
            with app.start_as_current_span(f"user {value['i']}"):
                await asyncio.sleep(0)
            return value

        chain = RunnableLambda(step).with_config(run_name="step") | _chain()

        async def one(i: int) -> bool:
            config = {"callbacks": [tel.handler], "tags": [f"req-{i}"]}
            with app.start_as_current_span(f"request {i}") as own:
                async for _ in chain.astream({"i": i}, config=config):
                    pass
                return trace.get_current_span() is own

        restored = await asyncio.gather(*(one(i) for i in range(streams)))
        spans = tel.spans
        by_id = {s.context.span_id: s for s in spans}
        user_spans = [s for s in spans if s.name.startswith("user ")]
        assert len(user_spans) == streams
        for user in user_spans:
            parent = by_id[user.parent.span_id]
            assert parent.name == "step"
            assert f"req-{user.name.split()[1]}" in parent.attributes["langchain.tags"]
        assert tel.handler.open_runs == 0
    assert all(restored)
    assert context_log.records == []
    record(request, streams=streams, user_spans=len(user_spans), detach_errors=0)
