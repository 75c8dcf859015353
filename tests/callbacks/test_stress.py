"""Heavy sizes of the concurrency tests (``nox -s stress``)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from langchain_otel._demo import build_chain
from langchain_otel.llms import EchoLLM
from langchain_otel.testing import CapturedTelemetry
from tests.callbacks.test_concurrency import _check_trees

pytestmark = pytest.mark.stress


async def test_2000_concurrent_astreams(telemetry: CapturedTelemetry) -> None:
    """2000 interleaved chain.astream runs on one loop: 2000 traces, nothing left open."""
    chain = build_chain(EchoLLM(n=6, time_per_token=0.001))

    async def one(i: int) -> str:
        config = {"callbacks": [telemetry.handler]}
        return "".join([c async for c in chain.astream({"question": str(i)}, config=config)])

    results = await asyncio.gather(*(one(i) for i in range(2000)))
    assert set(results) == {"Answer"}
    _check_trees(telemetry, 2000)
    assert telemetry.handler.open_runs == 0
    assert telemetry.handler.internal_errors == 0


def test_100_threads_batch_16(telemetry: CapturedTelemetry) -> None:
    """100 threads x batch(16) with one handler: 1600 separate traces."""
    chain = build_chain(EchoLLM(n=3))
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            chain.batch(
                [{"question": f"{t}-{i}"} for i in range(16)],
                config={"callbacks": [telemetry.handler]},
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _check_trees(telemetry, 1600)
    assert telemetry.handler.open_runs == 0
