"""OpenAICompatibleLLM against the loopback server: reported usage, response model, server."""

from __future__ import annotations

import pytest

from langchain_otel import ModelPrice
from langchain_otel.llms import OpenAICompatibleLLM
from langchain_otel.testing import capture_telemetry
from tests.support import OpenAIServer

PRICES = {"gpt-test": ModelPrice(input_per_million=2.0, output_per_million=8.0)}


def _check_span(attrs: dict[str, object], server: OpenAIServer) -> None:
    assert attrs["gen_ai.operation.name"] == "text_completion"
    assert attrs["gen_ai.provider.name"] == "openai_compatible"
    assert attrs["gen_ai.request.model"] == "gpt-test"
    assert attrs["gen_ai.response.model"] == "gpt-test-001"
    assert isinstance(attrs["gen_ai.response.id"], str)
    assert attrs["gen_ai.response.id"]
    assert attrs["gen_ai.usage.input_tokens"] == 11
    assert attrs["gen_ai.usage.output_tokens"] == 5
    assert "langchain_otel.usage.estimated" not in attrs
    assert attrs["gen_ai.request.max_tokens"] == 32
    assert attrs["gen_ai.request.temperature"] == 0.5
    assert attrs["server.address"] == "127.0.0.1"
    assert attrs["server.port"] == server.port
    assert attrs["langchain_otel.cost.total"] == pytest.approx((11 * 2.0 + 5 * 8.0) / 1e6)


def test_invoke_reports_usage_model_and_server(openai_server: OpenAIServer) -> None:
    """Usage 11/5 as reported, the answer's model, server.address/port, cost."""
    openai_server.response_model = "gpt-test-001"
    openai_server.usage = (11, 5)
    llm = OpenAICompatibleLLM(
        base_url=openai_server.base_url, model="gpt-test", max_tokens=32, temperature=0.5
    )
    with capture_telemetry(strict=True, prices=PRICES) as t:
        assert llm.invoke("hello world", config={"callbacks": [t.handler]}) == "hello world"
    llm.close()
    (span,) = t.spans
    assert span.name == "text_completion gpt-test"
    _check_span(dict(span.attributes or {}), openai_server)
    (duration,) = t.metrics()["gen_ai.client.operation.duration"]
    assert dict(duration.attributes) == {
        "gen_ai.operation.name": "text_completion",
        "gen_ai.provider.name": "openai_compatible",
        "gen_ai.request.model": "gpt-test",
        "gen_ai.response.model": "gpt-test-001",
        "server.address": "127.0.0.1",
        "server.port": openai_server.port,
        "langchain_otel.outcome": "ok",
    }


async def test_astream_reports_usage_and_ttfc(openai_server: OpenAIServer) -> None:
    """A real SSE stream: usage from the final chunk, TTFT, stream flag."""
    openai_server.response_model = "gpt-test-001"
    openai_server.usage = (11, 5)
    llm = OpenAICompatibleLLM(
        base_url=openai_server.base_url, model="gpt-test", max_tokens=32, temperature=0.5
    )
    with capture_telemetry(strict=True, prices=PRICES) as t:
        chunks = [
            c async for c in llm.astream("hello big world", config={"callbacks": [t.handler]})
        ]
        assert "".join(chunks) == "hello big world"
    await llm.aclose()
    (span,) = t.spans
    attrs = dict(span.attributes or {})
    _check_span(attrs, openai_server)
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    metrics = t.metrics()
    (per_chunk,) = metrics["gen_ai.client.operation.time_per_output_chunk"]
    assert per_chunk.count == 1
    assert t.handler.open_runs == 0


def _ids(span: object) -> tuple[str, str]:
    context = span.get_span_context()  # type: ignore[attr-defined]
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


async def test_traceparent_parent_is_the_model_span(openai_server: OpenAIServer) -> None:
    """Each request carries the model span as traceparent: invoke, ainvoke, stream, astream."""
    from opentelemetry import trace

    llm = OpenAICompatibleLLM(base_url=openai_server.base_url, model="gpt-test")
    with capture_telemetry(strict=True, use_genai_prices=False) as t:
        config = {"callbacks": [t.handler]}
        request = t.tracer_provider.get_tracer("app").start_span("request")
        with trace.use_span(request, end_on_exit=True):
            llm.invoke("one", config=config)
            await llm.ainvoke("two", config=config)
            list(llm.stream("three", config=config))
            [c async for c in llm.astream("four", config=config)]
            assert trace.get_current_span() is request
    llm.close()
    await llm.aclose()
    models = [s for s in t.spans if s.name.startswith("text_completion")]
    assert len(models) == 4
    sent = [tuple(r.headers["traceparent"].split("-")[1:3]) for r in openai_server.requests]
    assert sent == [_ids(span) for span in models]  # (trace id, parent id) of each request


@pytest.mark.parametrize(
    ("declared", "reported"),
    [("vllm", "vllm"), ("openai", "openai"), ("azure_openai", "azure.ai.openai"), (None, None)],
)
def test_declared_provider_reaches_span_and_metrics(
    openai_server: OpenAIServer, declared: str | None, reported: str | None
) -> None:
    """A provider the model declares is reported (mapped when well known), else _llm_type."""
    llm = OpenAICompatibleLLM(base_url=openai_server.base_url, model="m", provider=declared)
    with capture_telemetry(strict=True, use_genai_prices=False) as t:
        llm.invoke("hi", config={"callbacks": [t.handler]})
    llm.close()
    (span,) = t.spans
    expected = reported or "openai_compatible"
    assert span.attributes["gen_ai.provider.name"] == expected
    (duration,) = t.metrics()["gen_ai.client.operation.duration"]
    assert duration.attributes["gen_ai.provider.name"] == expected
