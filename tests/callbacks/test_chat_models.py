"""Our chat models through our handler: ``chat {model}`` spans with everything they report.

EchoChatModel (counted usage, scripted tool calls) and OpenAICompatibleChatModel (against the
loopback server: reported usage, response model and id, server address) both produce a
``chat`` span with request parameters, response model/id/finish reasons, usage, time to
first chunk on streams, cost, and, with content capture on, the tool calls in the output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from langchain_otel import ModelPrice
from langchain_otel.llms import EchoChatModel, OpenAICompatibleChatModel
from langchain_otel.testing import FakeClock, capture_telemetry
from tests.callbacks.conftest import Ticker
from tests.support import OpenAIServer

PRICES = {
    "echo-chat": ModelPrice(input_per_million=1.0, output_per_million=2.0),
    "chat-test": ModelPrice(input_per_million=2.0, output_per_million=8.0),
}


@pytest.fixture
def http_chat(openai_server: OpenAIServer) -> Iterator[OpenAICompatibleChatModel]:
    openai_server.response_model = "chat-test-001"
    openai_server.usage = (11, 5)
    model = OpenAICompatibleChatModel(
        base_url=openai_server.base_url, model="chat-test", max_tokens=32, temperature=0.5
    )
    yield model
    model.close()


def _attrs(telemetry: Any) -> dict[str, Any]:
    (span,) = telemetry.spans
    return {"name": span.name, **dict(span.attributes or {})}


class TestEchoChatModel:
    """The reference chat model's spans."""

    def test_invoke(self) -> None:
        """A chat span with counted usage, the finish reason and the cost."""
        model = EchoChatModel(n=5)
        with capture_telemetry(strict=True, prices=PRICES) as t:
            model.invoke("hello world", config={"callbacks": [t.handler]})
        attrs = _attrs(t)
        assert attrs["name"] == "chat echo-chat"
        assert attrs["gen_ai.operation.name"] == "chat"
        assert attrs["gen_ai.provider.name"] == "echo"
        assert attrs["gen_ai.request.model"] == "echo-chat"
        assert attrs["gen_ai.response.model"] == "echo-chat"
        assert attrs["gen_ai.response.finish_reasons"] == ("length",)
        assert attrs["gen_ai.usage.input_tokens"] == 11
        assert attrs["gen_ai.usage.output_tokens"] == 5
        assert attrs["langchain_otel.cost.total"] == pytest.approx((11 * 1.0 + 5 * 2.0) / 1e6)

    async def test_astream_ttfc(self, clock: FakeClock) -> None:
        """A stream's span has the stream flag and the time to first chunk (fake clock)."""
        model = EchoChatModel(n=3)
        with capture_telemetry(strict=True, prices=PRICES) as t:
            ticker = Ticker(clock, start=0.5, per_token=0.125)
            async for _ in model.astream("abc", config={"callbacks": [t.handler, ticker]}):
                pass
        attrs = _attrs(t)
        assert attrs["gen_ai.request.stream"] is True
        assert attrs["gen_ai.response.time_to_first_chunk"] == 0.5
        assert attrs["gen_ai.usage.output_tokens"] == 3
        assert "gen_ai.client.operation.time_to_first_chunk" in t.metrics()

    def test_tool_calls_in_captured_content(self) -> None:
        """With content capture on, the scripted tool call is in the output messages."""
        model = EchoChatModel(n=5, tool_calls=[[{"name": "add", "args": {"a": 1}, "id": "c-1"}]])
        with capture_telemetry(strict=True, capture_content=True) as t:
            model.invoke("add it", config={"callbacks": [t.handler]})
        attrs = _attrs(t)
        assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)
        output = json.loads(attrs["gen_ai.output.messages"])
        parts = [p for message in output for p in message["parts"]]
        (call,) = [p for p in parts if p.get("type") == "tool_call"]
        assert (call["name"], call["id"]) == ("add", "c-1")


class TestOpenAICompatibleChatModel:
    """The HTTP chat model's spans, against the loopback server."""

    @pytest.mark.parametrize("path", ["invoke", "ainvoke", "stream", "astream"])
    async def test_every_path(
        self, http_chat: OpenAICompatibleChatModel, openai_server: OpenAIServer, path: str
    ) -> None:
        """Request params, the answer's model and id, reported usage, server, cost."""
        with capture_telemetry(strict=True, prices=PRICES) as t:
            config: Any = {"callbacks": [t.handler]}
            if path == "invoke":
                http_chat.invoke("hello world", config=config)
            elif path == "ainvoke":
                await http_chat.ainvoke("hello world", config=config)
            elif path == "stream":
                list(http_chat.stream("hello world", config=config))
            else:
                [c async for c in http_chat.astream("hello world", config=config)]
        attrs = _attrs(t)
        assert attrs["name"] == "chat chat-test"
        assert attrs["gen_ai.provider.name"] == "openai_compatible"
        assert attrs["gen_ai.request.model"] == "chat-test"
        assert attrs["gen_ai.request.max_tokens"] == 32
        assert attrs["gen_ai.request.temperature"] == 0.5
        assert attrs["gen_ai.response.model"] == "chat-test-001"
        assert attrs["gen_ai.response.id"].startswith("chatcmpl-")
        assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
        assert attrs["gen_ai.usage.input_tokens"] == 11
        assert attrs["gen_ai.usage.output_tokens"] == 5
        assert "langchain_otel.usage.estimated" not in attrs
        assert attrs["server.address"] == "127.0.0.1"
        assert attrs["server.port"] == openai_server.port
        assert attrs["langchain_otel.cost.total"] == pytest.approx((11 * 2.0 + 5 * 8.0) / 1e6)
        if path in ("stream", "astream"):  # a real server: some real time passed
            assert attrs["gen_ai.response.time_to_first_chunk"] > 0.0

    def test_tool_calls_in_captured_content(self, http_chat: OpenAICompatibleChatModel) -> None:
        """With content capture on, the server's tool call is in the output messages."""

        def add(a: int, b: int) -> int:
            """Add two integers."""
            return a + b

        with capture_telemetry(strict=True, capture_content=True) as t:
            http_chat.bind_tools([add], tool_choice="any").invoke(
                "add", config={"callbacks": [t.handler]}
            )
        attrs = _attrs(t)
        assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)
        output = json.loads(attrs["gen_ai.output.messages"])
        parts = [p for message in output for p in message["parts"]]
        (call,) = [p for p in parts if p.get("type") == "tool_call"]
        assert call["name"] == "add"
        assert call["id"].startswith("call_")

    @pytest.mark.xfail(
        reason="the handler does not record tool definitions (gen_ai.tool.definitions) yet:"
        " a handler change, left to the core engineer",
        strict=True,
    )
    def test_tool_definitions_in_captured_content(
        self, http_chat: OpenAICompatibleChatModel
    ) -> None:
        """With content capture on, the bound tools' definitions are on the span."""

        def add(a: int, b: int) -> int:
            """Add two integers."""
            return a + b

        with capture_telemetry(strict=True, capture_content=True) as t:
            http_chat.bind_tools([add]).invoke("add", config={"callbacks": [t.handler]})
        definitions = json.loads(_attrs(t)["gen_ai.tool.definitions"])
        assert [d.get("name") or d["function"]["name"] for d in definitions] == ["add"]

    def test_error_span(
        self, http_chat: OpenAICompatibleChatModel, openai_server: OpenAIServer
    ) -> None:
        """A 401 ends the span as an error with our exception type."""
        from langchain_otel.exceptions import AuthenticationError
        from tests.support import Fault

        openai_server.script(Fault.http(401))
        with capture_telemetry(strict=True) as t, pytest.raises(AuthenticationError):
            http_chat.invoke("hi", config={"callbacks": [t.handler]})
        attrs = _attrs(t)
        assert attrs["error.type"] == "langchain_otel.exceptions.AuthenticationError"
