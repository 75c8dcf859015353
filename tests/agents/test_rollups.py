"""Agent and workflow spans sum their model runs' usage and cost and count calls."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent

from langchain_otel.testing import CapturedTelemetry
from tests.agents._fakes import (
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    TWO_STEP,
    ScriptedChatModel,
    get_time,
    get_weather,
)
from tests.agents._trees import named

QUESTION = {"messages": [("user", "Weather in Paris?")]}
# $1 / 1M input tokens, $2 / 1M output tokens (tests/agents/conftest.py)
COST_PER_CALL = INPUT_TOKENS * 1e-6 + OUTPUT_TOKENS * 2e-6


def agent(**model_kwargs: Any) -> Any:
    model = ScriptedChatModel(script=TWO_STEP, **model_kwargs)
    return create_agent(model, [get_weather, get_time], name="weather_agent")


def test_usage_cost_and_counts_roll_up(telemetry: CapturedTelemetry) -> None:
    """3 model calls, 2 tool calls: tokens and cost are the sums of the model spans."""
    agent().invoke(QUESTION, {"callbacks": [telemetry.handler]})
    (span,) = named(telemetry.spans, "invoke_agent weather_agent")
    attrs = span.attributes or {}
    assert attrs["gen_ai.usage.input_tokens"] == 3 * INPUT_TOKENS
    assert attrs["gen_ai.usage.output_tokens"] == 3 * OUTPUT_TOKENS
    assert "langchain_otel.usage.estimated" not in attrs
    assert attrs["langchain_otel.cost.total"] == pytest.approx(3 * COST_PER_CALL)
    model_costs = [
        (s.attributes or {})["langchain_otel.cost.total"]
        for s in named(telemetry.spans, "chat scripted")
    ]
    assert attrs["langchain_otel.cost.total"] == pytest.approx(sum(model_costs))
    assert attrs["langchain_otel.agent.model_calls"] == 3
    assert attrs["langchain_otel.agent.tool_calls"] == 2
    assert attrs["langchain_otel.agent.tool_errors"] == 0


def test_estimated_usage_is_flagged(telemetry: CapturedTelemetry) -> None:
    """A model that reports no usage: the roll-up is counted and flagged as estimated."""
    agent(report_usage=False).invoke(QUESTION, {"callbacks": [telemetry.handler]})
    (span,) = named(telemetry.spans, "invoke_agent weather_agent")
    attrs = span.attributes or {}
    chats = named(telemetry.spans, "chat scripted")
    assert all((c.attributes or {})["langchain_otel.usage.estimated"] for c in chats)
    assert attrs["langchain_otel.usage.estimated"] is True
    assert attrs["gen_ai.usage.input_tokens"] == sum(
        (c.attributes or {})["gen_ai.usage.input_tokens"] for c in chats
    )


def test_an_unpriced_model_gives_no_cost(telemetry: CapturedTelemetry) -> None:
    """No price for the model: no cost attribute on the agent span (never 0)."""
    agent(model_name="unpriced-model").invoke(QUESTION, {"callbacks": [telemetry.handler]})
    (span,) = named(telemetry.spans, "invoke_agent weather_agent")
    attrs = span.attributes or {}
    assert "langchain_otel.cost.total" not in attrs
    assert attrs["gen_ai.usage.input_tokens"] == 3 * INPUT_TOKENS


def test_duration_metric_for_agent_and_tool_runs(telemetry: CapturedTelemetry) -> None:
    """The duration histogram has invoke_agent and execute_tool points, by name."""
    agent().invoke(QUESTION, {"callbacks": [telemetry.handler]})
    points = telemetry.metrics()["gen_ai.client.operation.duration"]
    by_op: dict[str, list[Any]] = {}
    for point in points:
        by_op.setdefault(point.attributes["gen_ai.operation.name"], []).append(point)
    (agent_point,) = by_op["invoke_agent"]
    assert agent_point.count == 1
    assert agent_point.attributes["gen_ai.agent.name"] == "weather_agent"
    assert agent_point.attributes["langchain_otel.outcome"] == "ok"
    (tools,) = by_op["execute_tool"]
    assert tools.count == 2
    assert tools.attributes == {
        "gen_ai.operation.name": "execute_tool",
        "langchain_otel.outcome": "ok",
    }
    assert sum(p.count for p in by_op["chat"]) == 3
    (cost,) = telemetry.metrics()["langchain_otel.agent.cost"]
    assert cost.attributes == {
        "gen_ai.agent.name": "weather_agent",
        "gen_ai.operation.name": "invoke_agent",
    }
    assert cost.value == pytest.approx(3 * COST_PER_CALL)
