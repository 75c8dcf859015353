"""Text-completion runs (EchoLLM): every attribute, metric and log field, exactly."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from langchain_otel.llms import EchoLLM
from langchain_otel.testing import CapturedTelemetry, FakeClock
from tests.callbacks.conftest import Ticker


def _points(telemetry: CapturedTelemetry, name: str) -> list[Any]:
    return telemetry.metrics()[name]


def test_invoke_span_attributes(telemetry: CapturedTelemetry) -> None:
    """A non-streamed invoke gives one CLIENT span with every known attribute."""
    llm = EchoLLM(n=5)
    assert llm.invoke("hello world", config={"callbacks": [telemetry.handler]}) == "hello"
    (span,) = telemetry.spans
    assert span.name == "text_completion echo"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attrs = dict(span.attributes or {})
    run_id = attrs.pop("langchain.run.id")
    assert isinstance(run_id, str)
    assert len(run_id) == 36
    assert attrs == {
        "gen_ai.operation.name": "text_completion",
        "gen_ai.provider.name": "echo",
        "gen_ai.request.model": "echo",
        "gen_ai.response.model": "echo",
        "gen_ai.response.finish_reasons": ("length",),
        "gen_ai.usage.input_tokens": 11,
        "gen_ai.usage.output_tokens": 5,
        "langchain.run.type": "llm",
        "langchain.run.name": "EchoLLM",
        "langchain_otel.outcome": "ok",
        "langchain_otel.cost.input": 11 * 1.0 / 1e6,
        "langchain_otel.cost.output": 5 * 2.0 / 1e6,
        "langchain_otel.cost.total": 11 * 1.0 / 1e6 + 5 * 2.0 / 1e6,
    }
    assert telemetry.handler.open_runs == 0


def test_request_params_and_stop(telemetry: CapturedTelemetry) -> None:
    """Stop sequences, a custom model name and tags land on the span."""
    llm = EchoLLM(n=50, model_name="echo-large")
    out = llm.invoke(
        "hello. world",
        stop=["."],
        config={"callbacks": [telemetry.handler], "tags": ["t1"], "metadata": {"thread_id": "c1"}},
    )
    assert out == "hello."
    (span,) = telemetry.spans
    assert span.name == "text_completion echo-large"
    attrs = span.attributes or {}
    assert attrs["gen_ai.request.model"] == "echo-large"
    assert attrs["gen_ai.response.model"] == "echo-large"
    assert attrs["gen_ai.request.stop_sequences"] == (".",)
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["langchain.tags"] == ("t1",)
    assert attrs["gen_ai.conversation.id"] == "c1"
    assert "gen_ai.request.choice.count" not in attrs  # EchoLLM's n is a length
    assert "langchain_otel.cost.total" not in attrs  # echo-large has no price


def test_metrics_exact(telemetry: CapturedTelemetry, clock: FakeClock) -> None:
    """Duration and token metrics carry exact values and only the allowed attributes."""
    ticker = Ticker(clock, start=0.25, per_token=0.0)
    EchoLLM(n=4).invoke("abcdefgh", config={"callbacks": [telemetry.handler, ticker]})
    metrics = telemetry.metrics()
    (duration,) = metrics["gen_ai.client.operation.duration"]
    assert duration.count == 1
    assert duration.sum == pytest.approx(0.25)
    expected = {
        "gen_ai.operation.name": "text_completion",
        "gen_ai.provider.name": "echo",
        "gen_ai.request.model": "echo",
        "gen_ai.response.model": "echo",
        "langchain_otel.outcome": "ok",
    }
    assert dict(duration.attributes) == expected
    assert list(duration.explicit_bounds) == [
        0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
    ]  # fmt: skip
    tokens = {p.attributes["gen_ai.token.type"]: p for p in metrics["gen_ai.client.token.usage"]}
    assert tokens["input"].sum == 8
    assert tokens["output"].sum == 4
    assert dict(tokens["input"].attributes) == {**expected, "gen_ai.token.type": "input"}
    assert list(tokens["input"].explicit_bounds)[:3] == [1, 4, 16]
    (cost,) = metrics["langchain_otel.client.cost"]
    assert cost.value == pytest.approx(8 * 1e-6 + 4 * 2e-6)
    assert dict(cost.attributes) == expected
    assert "gen_ai.client.operation.time_to_first_chunk" not in metrics


def test_stream_ttfc_and_time_per_chunk(telemetry: CapturedTelemetry, clock: FakeClock) -> None:
    """A stream records TTFT from span start and the mean time between chunks."""
    ticker = Ticker(clock, start=0.5, per_token=0.1)
    chunks = list(
        EchoLLM(n=5).stream("hello world", config={"callbacks": [telemetry.handler, ticker]})
    )
    assert "".join(chunks) == "hello"
    (span,) = telemetry.spans
    attrs = span.attributes or {}
    assert attrs["gen_ai.request.stream"] is True
    # First token noted at 0.5 (the ticker runs after our handler); end at 0.5 + 5 * 0.1.
    assert attrs["gen_ai.response.time_to_first_chunk"] == pytest.approx(0.5)
    assert attrs["gen_ai.usage.input_tokens"] == 11
    assert attrs["gen_ai.usage.output_tokens"] == 5
    metrics = telemetry.metrics()
    (ttfc,) = metrics["gen_ai.client.operation.time_to_first_chunk"]
    assert ttfc.sum == pytest.approx(0.5)
    (per_chunk,) = metrics["gen_ai.client.operation.time_per_output_chunk"]
    assert per_chunk.sum == pytest.approx(0.5 / 4)
    (duration,) = metrics["gen_ai.client.operation.duration"]
    assert duration.sum == pytest.approx(1.0)


def test_log_event_fields(telemetry: CapturedTelemetry, clock: FakeClock) -> None:
    """One llm.end event per run with exactly the documented keys."""
    ticker = Ticker(clock, start=0.25, per_token=0.0)
    EchoLLM(n=2).invoke("hey", config={"callbacks": [telemetry.handler, ticker]})
    (event,) = [e for e in telemetry.logs if e["event"] == "llm.end"]
    (span,) = telemetry.spans
    assert event["log_level"] == "info"
    assert event["trace_id"] == format(span.context.trace_id, "032x")
    assert event["span_id"] == format(span.context.span_id, "016x")
    assert event["run_id"] == span.attributes["langchain.run.id"]
    assert {k: event[k] for k in ("operation", "provider", "model", "response_model")} == {
        "operation": "text_completion",
        "provider": "echo",
        "model": "echo",
        "response_model": "echo",
    }
    assert (event["input_tokens"], event["output_tokens"], event["tokens_estimated"]) == (
        3,
        2,
        False,
    )
    assert event["cost_usd"] == pytest.approx(3e-6 + 4e-6)
    assert event["outcome"] == "ok"
    assert event["error_type"] is None
    assert event["ttft_s"] is None
    assert event["duration_s"] == 0.25  # the fake clock: start at 100.0, end at 100.25
    assert set(event) == {
        "trace_id", "span_id", "run_id", "operation", "provider", "model", "response_model",
        "duration_s", "ttft_s", "input_tokens", "output_tokens", "tokens_estimated", "cost_usd",
        "outcome", "error_type", "event", "log_level",
    }  # fmt: skip


async def test_async_paths(telemetry: CapturedTelemetry) -> None:
    """ainvoke and astream produce the same spans as their sync twins."""
    llm = EchoLLM(n=3)
    assert await llm.ainvoke("abcdef", config={"callbacks": [telemetry.handler]}) == "abc"
    chunks = [c async for c in llm.astream("abcdef", config={"callbacks": [telemetry.handler]})]
    assert chunks == ["a", "b", "c"]
    first, second = telemetry.spans
    assert first.attributes["gen_ai.usage.output_tokens"] == 3
    assert "gen_ai.request.stream" not in first.attributes
    assert second.attributes["gen_ai.request.stream"] is True
    assert telemetry.handler.open_runs == 0


def test_batch_gives_one_span_per_prompt(telemetry: CapturedTelemetry) -> None:
    """batch() runs get one span each with their own usage."""
    EchoLLM(n=3).batch(["abcd", "xy"], config={"callbacks": [telemetry.handler]})
    usage = sorted(
        (s.attributes["gen_ai.usage.input_tokens"], s.attributes["gen_ai.usage.output_tokens"])
        for s in telemetry.spans
    )
    assert usage == [(2, 2), (4, 3)]


def test_start_attributes_follow_each_calls_params(telemetry: CapturedTelemetry) -> None:
    """Start attributes are cached per model and request content, never shared wrongly.

    The same model instance called with different kwargs, stop sequences and metadata:
    each span carries its own call's values, and run-specific ones never leak.
    """
    llm = EchoLLM(n=3)
    config: dict[str, Any] = {"callbacks": [telemetry.handler]}
    llm.invoke("abcdef", config=config)
    llm.invoke("abcdef", config=config, stop=["d"])
    llm.invoke("abcdef", config={**config, "metadata": {"thread_id": "t-2"}})
    llm.invoke("abcdef", config=config)
    first, stopped, threaded, again = sorted(telemetry.spans, key=lambda s: s.start_time or 0)
    assert "gen_ai.request.stop_sequences" not in (first.attributes or {})
    assert (stopped.attributes or {})["gen_ai.request.stop_sequences"] == ("d",)
    assert (threaded.attributes or {})["gen_ai.conversation.id"] == "t-2"
    assert "gen_ai.conversation.id" not in (again.attributes or {})
    ids = {(s.attributes or {})["langchain.run.id"] for s in telemetry.spans}
    assert len(ids) == 4
    assert dict(first.attributes or {}).keys() == dict(again.attributes or {}).keys()
