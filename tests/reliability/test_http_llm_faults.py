"""HTTP LLM faults against the real loopback OpenAI server: clear errors or successful
retries, spans that end with the right outcome, and no leaked connections.

Each fault runs on the sync and the async path, several times in a row on one model
instance (so one pool); the server counts open connections, which must fall back to the
pool's keep-alive connections after every failure and to zero after ``close()``.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from langchain_otel import exceptions
from langchain_otel.exceptions import (
    LLMConnectionError,
    LLMError,
    LLMResponseError,
    LLMTimeoutError,
    RateLimitError,
)
from langchain_otel.llms import OpenAICompatibleLLM
from langchain_otel.testing import CapturedTelemetry, capture_telemetry
from tests.reliability._support import record, wait_until
from tests.support.openai_server import Fault, OpenAIServer

REPEATS = 3
PROMPT = "one two three four five six"


@pytest.fixture(name="server")
def _server() -> Iterator[OpenAIServer]:
    with OpenAIServer(response_model="gpt-test-001", time_per_token=0.001) as server:
        yield server


def _llm(server: OpenAIServer, **options: Any) -> OpenAICompatibleLLM:
    options.setdefault("max_retries", 0)
    return OpenAICompatibleLLM(
        base_url=server.base_url, model="gpt-test", api_key="sk-test", retry_backoff=0.0,
        max_connections=4, **options,
    )  # fmt: skip


class Runner:
    """Streams on the sync path, or on the async path in one event loop (one pool)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.loop = asyncio.new_event_loop() if path == "async" else None

    def __call__(self, llm: OpenAICompatibleLLM, config: Any) -> str:
        if self.loop is None:
            return "".join(llm.stream(PROMPT, config=config))

        async def main() -> str:
            return "".join([piece async for piece in llm.astream(PROMPT, config=config)])

        return self.loop.run_until_complete(main())

    def close(self, llm: OpenAICompatibleLLM) -> None:
        if self.loop is not None:
            self.loop.run_until_complete(llm.aclose())
            self.loop.close()
        llm.close()


PATHS = ("sync", "async")
FAULTS: dict[str, tuple[Callable[[], Fault], type[LLMError], dict[str, Any]]] = {
    "drop_mid_stream": (lambda: Fault.drop(after_tokens=2), LLMError, {}),
    "malformed_sse": (lambda: Fault.malformed_sse(after_tokens=2), LLMResponseError, {}),
    "stall_past_timeout": (
        lambda: Fault.stalled(1.5, after_tokens=1),
        LLMTimeoutError,
        {"timeout": 0.3},
    ),
    "stall_before_headers": (lambda: Fault.stalled(1.5), LLMTimeoutError, {"timeout": 0.3}),
    "hang_up": (Fault.hang_up_now, LLMConnectionError, {}),
    "429_retries_exhausted": (
        lambda: Fault.http(429, retry_after="0"),
        RateLimitError,
        {},
    ),
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_gives_a_clear_error_an_error_span_and_no_leak(
    fault: str, path: str, server: OpenAIServer, request: pytest.FixtureRequest
) -> None:
    """Drop, malformed SSE, stalls, hang-up, 429 forever: typed error, ERROR span, no leak."""
    make_fault, expected, options = FAULTS[fault]
    llm = _llm(server, **options)
    max_open = 0
    elapsed: list[float] = []
    run = Runner(path)
    with capture_telemetry() as telemetry:
        config: Any = {"callbacks": [telemetry.handler]}
        for _ in range(REPEATS):
            server.script(make_fault())
            started = time.perf_counter()
            with pytest.raises(expected) as caught:
                run(llm, config)
            elapsed.append(time.perf_counter() - started)
            assert str(caught.value)  # a message that says something
            assert "sk-test" not in str(caught.value)
            max_open = max(max_open, server.open_connections)
            if "stall" not in fault:  # a stalled server holds its end until the stall ends
                assert server.open_connections <= 4, "the pool leaks connections"
        # the model still works after the faults, on the same pool
        assert run(llm, config) == PROMPT
        _check_error_spans_partial(telemetry, expected)
        run.close(llm)
    assert wait_until(lambda: server.open_connections == 0, 5.0), "connections left open"
    record(
        request,
        fault=fault,
        path=path,
        failures=REPEATS,
        max_open_connections=max_open,
        total_connections=server.total_connections,
        worst_failure_s=max(elapsed),
    )
    if "stall" in fault:
        assert max(elapsed) < 1.5, "the timeout was not honoured"


def _check_error_spans_partial(telemetry: CapturedTelemetry, expected: type[LLMError]) -> None:
    spans = telemetry.spans_named("text_completion")
    assert len(spans) == REPEATS + 1
    outcomes = [str((s.attributes or {})["langchain_otel.outcome"]) for s in spans]
    assert outcomes == ["error"] * REPEATS + ["ok"]
    for span in spans[:REPEATS]:
        attrs = span.attributes or {}
        assert span.status.status_code.name == "ERROR"
        error_type = str(attrs["error.type"])
        assert error_type.startswith("langchain_otel.exceptions.")
        assert issubclass(getattr(exceptions, error_type.rsplit(".", 1)[1]), expected)
    assert telemetry.handler.open_runs == 0


@pytest.mark.parametrize("path", ["invoke", "ainvoke", "stream"])
def test_429_with_retry_after_is_retried_successfully(
    path: str, server: OpenAIServer, request: pytest.FixtureRequest
) -> None:
    """429 + Retry-After, then a normal answer: one ok span, two requests, the wait honoured."""
    llm = _llm(server, max_retries=2)
    with capture_telemetry() as telemetry:
        config: Any = {"callbacks": [telemetry.handler]}
        server.script(Fault.http(429, retry_after="0.2"), None)
        started = time.perf_counter()
        if path == "invoke":
            answer = llm.invoke(PROMPT, config=config)
        elif path == "ainvoke":

            async def main() -> str:
                try:
                    return await llm.ainvoke(PROMPT, config=config)
                finally:
                    await llm.aclose()

            answer = asyncio.run(main())
        else:
            answer = "".join(llm.stream(PROMPT, config=config))
        waited = time.perf_counter() - started
        (span,) = telemetry.spans_named("text_completion")
        retry_logs = [log for log in telemetry.logs if log["event"] == "llm.retry"]
        llm.close()
    assert answer == PROMPT
    assert (span.attributes or {})["langchain_otel.outcome"] == "ok"
    assert span.status.status_code.name != "ERROR"
    assert len(server.completion_requests) == 2
    assert waited >= 0.2
    assert len(retry_logs) == 1
    assert wait_until(lambda: server.open_connections == 0)
    record(request, path=path, requests=2, waited_s=waited, retry_logs=len(retry_logs))


def test_429_error_carries_retry_after(server: OpenAIServer) -> None:
    """429 beyond the retries: RateLimitError with status 429 and the server's Retry-After."""
    llm = _llm(server, max_retries=0)
    server.script(Fault.http(429, retry_after="7"))
    with pytest.raises(RateLimitError) as caught:
        llm.invoke(PROMPT)
    llm.close()
    assert caught.value.status_code == 429
    assert caught.value.retry_after == 7.0
    assert "429" in str(caught.value)


def test_one_asyncio_run_per_call_does_not_pile_up_clients(
    server: OpenAIServer, request: pytest.FixtureRequest
) -> None:
    """``asyncio.run(llm.ainvoke(...))`` in a loop: clients of finished loops are let go.

    Regression: each finished loop's AsyncClient stayed referenced (its value kept its
    weak key alive), so every call left a client and an open connection behind.
    """
    llm = _llm(server)
    for _ in range(20):
        assert asyncio.run(llm.ainvoke(PROMPT)) == PROMPT
    clients = len(llm._aclients)
    llm.close()
    gc.collect()
    assert clients <= 1
    assert wait_until(lambda: server.open_connections == 0), server.open_connections
    record(
        request, asyncio_runs=20, clients_kept=clients, total_connections=server.total_connections
    )
