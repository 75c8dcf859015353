"""Memory: RSS and the run registry stay flat over very many runs; the TTL sweeper bounds
runs whose end never comes.

``handler runs`` drive the handler with the exact callback sequence LangChain sends for
``llm.invoke`` (start, end with an ``LLMResult`` carrying usage), so a million fit in the
stress budget; ``astreams`` are real ``EchoLLM.astream`` calls through LangChain.
Every tenth handler run is left without an end, for the TTL sweeper to end as abandoned.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any
from uuid import uuid4

import pytest
from langchain_core.outputs import Generation, LLMResult

from langchain_otel.llms import EchoLLM
from tests.reliability._support import counting_handler, record, rss_bytes, sizes

MiB = 2**20
TTL = 0.05
MAX_RUNS = 2_000
_RESULT = LLMResult(
    generations=[
        [
            Generation(
                text="hello wo",
                generation_info={
                    "finish_reason": "stop",
                    "model_name": "echo",
                    "token_usage": {"prompt_tokens": 11, "completion_tokens": 8},
                },
            )
        ]
    ]
)


def _growth_per_100k(samples: list[int], runs: int) -> float:
    """MiB of RSS growth per 100k runs, from the first sample after warm-up to the last."""
    return (samples[-1] - samples[0]) / MiB / (runs / 100_000)


@sizes(10_000, 1_000_000, "runs")
def test_handler_runs_keep_rss_and_registry_flat(runs: int, request: pytest.FixtureRequest) -> None:
    """A million LangChain-shaped runs (10% never ended): flat RSS, bounded registry."""
    with counting_handler(run_ttl=TTL, max_runs=MAX_RUNS) as (handler, exporter):
        chunk = runs // 10
        samples: list[int] = []
        peak_registry = 0
        started = time.perf_counter()
        for part in range(11):  # part 0 warms up (caches, allocator arenas)
            for i in range(chunk if part else min(chunk, 10_000)):
                run_id = uuid4()
                handler.on_llm_start(
                    {"name": "EchoLLM"},
                    ["hello world"],
                    run_id=run_id,
                    invocation_params={"model_name": "echo", "n": 8},
                    metadata={"ls_provider": "echo", "ls_model_name": "echo"},
                )
                handler.on_llm_new_token("h", run_id=run_id)
                if i % 10 != 9:
                    handler.on_llm_end(_RESULT, run_id=run_id)
            peak_registry = max(peak_registry, handler.open_runs)
            gc.collect()
            samples.append(rss_bytes())
        elapsed = time.perf_counter() - started
        time.sleep(TTL * 2)
        handler.sweep()
        assert handler.open_runs == 0
        assert handler.internal_errors == 0
        assert peak_registry <= MAX_RUNS
        total = exporter.exported
        assert exporter.errors == 0
        assert set(exporter.outcomes) == {"ok", "abandoned"}
        growth = _growth_per_100k(samples, runs)
    record(
        request,
        handler_runs=runs,
        spans=total,
        abandoned=exporter.outcomes["abandoned"],
        peak_registry=peak_registry,
        rss_start_mib=samples[0] / MiB,
        rss_end_mib=samples[-1] / MiB,
        rss_growth_mib_per_100k=growth,
        runs_per_s=runs / elapsed,
    )
    # generous: a leak of one span per run would be > 50 MiB per 100k runs
    assert growth < 8.0


@sizes(1_000, 100_000, "streams")
async def test_astreams_keep_rss_and_registry_flat(
    streams: int, request: pytest.FixtureRequest
) -> None:
    """Real astreams, 50 at a time, some abandoned mid-stream: flat RSS, empty registry."""
    llm = EchoLLM(n=6)
    with counting_handler(run_ttl=60.0, max_runs=MAX_RUNS) as (handler, exporter):
        config: Any = {"callbacks": [handler]}

        async def one(i: int) -> None:
            stream = llm.astream("hello world", config=config)
            async for _ in stream:
                if i % 20 == 19:
                    break  # an early close: cancelled, not leaked
            await stream.aclose()  # type: ignore[attr-defined]

        chunk = streams // 10
        samples: list[int] = []
        for part in range(11):
            todo = chunk if part else min(chunk, 1_000)
            for start in range(0, todo, 50):
                await asyncio.gather(*(one(i) for i in range(start, min(start + 50, todo))))
            assert handler.open_runs == 0
            gc.collect()
            samples.append(rss_bytes())
        assert handler.internal_errors == 0
        assert set(exporter.outcomes) == {"ok", "cancelled"}
        growth = _growth_per_100k(samples, streams)
    record(
        request,
        astreams=streams,
        spans=exporter.exported,
        cancelled=exporter.outcomes["cancelled"],
        rss_start_mib=samples[0] / MiB,
        rss_end_mib=samples[-1] / MiB,
        rss_growth_mib_per_100k=growth,
    )
    assert growth < 8.0


def test_ttl_sweeper_bounds_runs_that_never_end(request: pytest.FixtureRequest) -> None:
    """Starts with no end at all: the registry never passes max_runs; all end as abandoned."""
    with counting_handler(run_ttl=TTL, max_runs=500) as (handler, exporter):
        peak = 0
        for i in range(20_000):
            handler.on_chain_start({"name": "Lost"}, {}, run_id=uuid4())
            if i % 100 == 0:
                peak = max(peak, handler.open_runs)
        assert peak <= 500
        time.sleep(TTL * 2)
        swept = handler.sweep()
        assert handler.open_runs == 0
        assert exporter.exported == 20_000
        assert exporter.outcomes == {"abandoned": 20_000}
    record(request, never_ended=20_000, peak_registry=peak, last_sweep=swept)
