"""Chat models (langchain_core's fake chat models): chat spans from messages."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models.fake_chat_models import (
    FakeListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from opentelemetry.trace import SpanKind

from langchain_otel.testing import CapturedTelemetry, FakeClock
from tests.callbacks.conftest import Ticker


def _reply(**extra: Any) -> AIMessage:
    return AIMessage(
        content="hello there world",
        usage_metadata={
            "input_tokens": 7,
            "output_tokens": 3,
            "total_tokens": 10,
            "input_token_details": {"cache_read": 2},
            "output_token_details": {"reasoning": 1},
        },
        response_metadata={
            "model_name": "fancy-model-2026",
            "finish_reason": "stop",
            "id": "chatcmpl-42",
        },
        **extra,
    )


class _OpenAILikeChat(GenericFakeChatModel):
    """A chat model that reports LangChain's standard ls_* params like a provider does."""

    temperature: float = 0.2
    max_tokens: int = 64

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "openai"
        params["ls_model_name"] = "gpt-4o-mini"
        return params


def test_chat_span_from_usage_and_response_metadata(telemetry: CapturedTelemetry) -> None:
    """usage_metadata and response_metadata fill usage, response model, id, finish reason."""
    model = GenericFakeChatModel(messages=iter([_reply()]))
    model.invoke(
        [SystemMessage("be brief"), HumanMessage("hi")], config={"callbacks": [telemetry.handler]}
    )
    (span,) = telemetry.spans
    assert span.name == "chat generic-fake-chat-model"
    assert span.kind is SpanKind.CLIENT
    attrs = span.attributes or {}
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "generic-fake-chat-model"
    assert attrs["gen_ai.request.model"] == "generic-fake-chat-model"
    assert attrs["gen_ai.response.model"] == "fancy-model-2026"
    assert attrs["gen_ai.response.id"] == "chatcmpl-42"
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.usage.input_tokens"] == 7
    assert attrs["gen_ai.usage.output_tokens"] == 3
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 2
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 1
    assert attrs["langchain.run.type"] == "chat_model"
    assert "langchain_otel.usage.estimated" not in attrs
    assert "gen_ai.input.messages" not in attrs  # content is off by default
    tokens = {
        p.attributes["gen_ai.token.type"]: p.sum
        for p in telemetry.metrics()["gen_ai.client.token.usage"]
    }
    assert tokens == {"input": 7, "output": 3}


def test_ls_params_map_provider_and_model(telemetry: CapturedTelemetry) -> None:
    """ls_provider maps onto the conventions' provider names; ls_model_name is the model."""
    model = _OpenAILikeChat(messages=iter([_reply()]))
    model.invoke("hi", config={"callbacks": [telemetry.handler]})
    (span,) = telemetry.spans
    assert span.name == "chat gpt-4o-mini"
    attrs = span.attributes or {}
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o-mini"
    assert attrs["gen_ai.request.temperature"] == 0.2
    assert attrs["gen_ai.request.max_tokens"] == 64


def test_chat_stream_without_usage_is_estimated(
    telemetry: CapturedTelemetry, clock: FakeClock
) -> None:
    """A stream without reported usage is counted (4 characters a token) and flagged."""
    model = GenericFakeChatModel(messages=iter([AIMessage(content="hello there world")]))
    ticker = Ticker(clock, start=0.5, per_token=0.125)
    chunks = list(model.stream("hi you", config={"callbacks": [telemetry.handler, ticker]}))
    assert "".join(str(c.content) for c in chunks) == "hello there world"
    (span,) = telemetry.spans
    attrs = span.attributes or {}
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.response.time_to_first_chunk"] == 0.5  # the fake clock
    assert attrs["gen_ai.usage.input_tokens"] == 2  # "hi you": 6 characters
    assert attrs["gen_ai.usage.output_tokens"] == 5  # 17 characters
    assert attrs["langchain_otel.usage.estimated"] is True
    (event,) = [e for e in telemetry.logs if e["event"] == "llm.end"]
    assert event["tokens_estimated"] is True
    assert event["ttft_s"] == attrs["gen_ai.response.time_to_first_chunk"]


async def test_fake_list_chat_model_async(telemetry: CapturedTelemetry) -> None:
    """FakeListChatModel through ainvoke: a chat span, estimated usage, no open runs."""
    model = FakeListChatModel(responses=["a b c d"])
    await model.ainvoke("hello you", config={"callbacks": [telemetry.handler]})
    (span,) = telemetry.spans
    assert span.name == "chat fake-list-chat-model"
    assert span.attributes["gen_ai.usage.input_tokens"] == 3
    assert span.attributes["gen_ai.usage.output_tokens"] == 2
    assert telemetry.handler.open_runs == 0


class AcmeModel(GenericFakeChatModel):
    """A provider package's chat model: it declares its own (not well-known) provider.

    (Named so that LangChain's class-name default, ``acmemodel``, differs from it.)
    """

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "acme"
        return params


def test_class_name_default_provider_is_not_declared(telemetry: CapturedTelemetry) -> None:
    """LangChain's class-name ls_provider default gives way to _llm_type; a declared one wins."""
    GenericFakeChatModel(messages=iter([_reply()])).invoke(
        "hi", config={"callbacks": [telemetry.handler]}
    )
    AcmeModel(messages=iter([_reply()])).invoke("hi", config={"callbacks": [telemetry.handler]})
    providers = [s.attributes["gen_ai.provider.name"] for s in telemetry.spans]
    assert providers == ["generic-fake-chat-model", "acme"]
