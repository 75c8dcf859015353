"""Content capture: off by default; opt-in, truncated, redacted; never in metrics."""

from __future__ import annotations

import json

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool

from langchain_otel.callbacks import _semconv as sc
from langchain_otel.environment_variables import (
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT as ENV,
)
from langchain_otel.exceptions import ConfigurationError
from langchain_otel.llms import EchoLLM
from langchain_otel.testing import CapturedTelemetry, capture_telemetry

CONTENT_KEYS = {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"}


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def _assert_metrics_clean(t: CapturedTelemetry) -> None:
    for points in t.metrics().values():
        for point in points:
            assert set(point.attributes) <= sc.METRIC_ATTRIBUTES


def test_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """No prompt or completion anywhere unless asked."""
    monkeypatch.delenv(ENV, raising=False)
    with capture_telemetry(strict=True, use_genai_prices=False) as t:
        EchoLLM(n=5).invoke("secret prompt", config={"callbacks": [t.handler]})
    (span,) = t.spans
    assert not CONTENT_KEYS & set(span.attributes or {})
    assert all("secret" not in str(e) for e in t.logs)


def test_text_completion_content_shape() -> None:
    """Opt-in: input and output messages in the conventions' JSON shape."""
    with capture_telemetry(strict=True, capture_content=True, use_genai_prices=False) as t:
        EchoLLM(n=5).invoke("hello world", config={"callbacks": [t.handler]})
    attrs = t.spans[0].attributes or {}
    assert json.loads(attrs["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "hello world"}]}
    ]
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "hello"}],
            "finish_reason": "length",
        }
    ]
    (log,) = [e for e in t.logs if e["event"] == "llm.end"]
    assert log["input_messages"] == attrs["gen_ai.input.messages"]
    assert log["output_messages"] == attrs["gen_ai.output.messages"]
    _assert_metrics_clean(t)


def test_chat_content_roles_system_and_tool_calls() -> None:
    """System messages become system_instructions; tool calls and results keep their ids."""
    reply = AIMessage(content="done")
    model = GenericFakeChatModel(messages=iter([reply]))
    history = [
        SystemMessage("be terse"),
        HumanMessage("add 1 and 2"),
        AIMessage(content="", tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "c1"}]),
        ToolMessage(content="3", tool_call_id="c1"),
    ]
    with capture_telemetry(strict=True, capture_content=True, use_genai_prices=False) as t:
        model.invoke(history, config={"callbacks": [t.handler]})
    attrs = t.spans[0].attributes or {}
    assert json.loads(attrs["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "be terse"}
    ]
    inputs = json.loads(attrs["gen_ai.input.messages"])
    assert [m["role"] for m in inputs] == ["user", "assistant", "tool"]
    assert inputs[1]["parts"] == [
        {"type": "tool_call", "id": "c1", "name": "add", "arguments": '{"a": 1, "b": 2}'}
    ]
    assert inputs[2]["parts"] == [{"type": "tool_call_response", "id": "c1", "response": "3"}]
    assert json.loads(attrs["gen_ai.output.messages"])[0]["parts"] == [
        {"type": "text", "content": "done"}
    ]


def test_truncated_and_redacted() -> None:
    """The redaction hook runs first, then each text is cut to the configured length."""
    with capture_telemetry(
        strict=True,
        capture_content=True,
        content_max_length=12,
        redact=lambda text: text.replace("hunter2", "*******"),
        use_genai_prices=False,
    ) as t:
        EchoLLM(n=40).invoke("my password is hunter2, ok?", config={"callbacks": [t.handler]})
    attrs = t.spans[0].attributes or {}
    (message,) = json.loads(attrs["gen_ai.input.messages"])
    assert message["parts"][0]["content"] == "my password …[truncated]"
    assert "hunter2" not in attrs["gen_ai.output.messages"]


def test_tool_and_retriever_content() -> None:
    """With content on, tool arguments and results are recorded."""
    with capture_telemetry(strict=True, capture_content=True, use_genai_prices=False) as t:
        add.invoke({"a": 1, "b": 2}, config={"callbacks": [t.handler]})
    attrs = t.spans[0].attributes or {}
    assert json.loads(attrs["gen_ai.tool.call.arguments"]) == {"a": 1, "b": 2}
    assert attrs["gen_ai.tool.call.result"] == "3"


@pytest.mark.parametrize(
    ("value", "spans", "logs"),
    [
        ("true", True, True),
        ("SPAN_AND_EVENT", True, True),
        ("span_only", True, False),
        ("EVENT_ONLY", False, True),
        ("false", False, False),
        ("NO_CONTENT", False, False),
    ],
)
def test_environment_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, spans: bool, logs: bool
) -> None:
    """The env var is read when the handler is built (not at import) when the arg is None."""
    monkeypatch.setenv(ENV, value)
    with capture_telemetry(strict=True, use_genai_prices=False) as t:
        monkeypatch.delenv(ENV)  # too late to matter: already read
        EchoLLM(n=2).invoke("hello", config={"callbacks": [t.handler]})
    attrs = t.spans[0].attributes or {}
    assert ("gen_ai.input.messages" in attrs) is spans
    (log,) = [e for e in t.logs if e["event"] == "llm.end"]
    assert ("input_messages" in log) is logs


def test_argument_wins_and_bad_env_value_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """capture_content=False overrides the env var; an unknown value is a clear error."""
    monkeypatch.setenv(ENV, "true")
    with capture_telemetry(capture_content=False) as t:
        assert not t.handler.content_policy.enabled
    monkeypatch.setenv(ENV, "sometimes")
    with pytest.raises(ConfigurationError, match="SPAN_ONLY"), capture_telemetry():
        pass
