"""Tool failures, interrupts and cancellation: the outcome each agent span ends with."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any, TypedDict

import pytest
from langchain.agents import create_agent
from langchain_core.messages import ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import Command, interrupt
from opentelemetry.trace import StatusCode

from langchain_otel.testing import CapturedTelemetry
from tests.agents._fakes import (
    ScriptedChatModel,
    answer,
    broken_tool,
    call,
    slow_tool,
    soft_failing_tool,
)
from tests.agents._trees import assert_connected, named

QUESTION = {"messages": [("user", "Weather in Paris?")]}


def attrs(span: Any) -> dict[str, Any]:
    return dict(span.attributes or {})


class TestToolErrors:
    def test_a_tool_message_with_status_error_fails_the_tool_span(
        self, telemetry: CapturedTelemetry
    ) -> None:
        """handle_tool_error=True: the tool 'succeeds' with status="error"; its span is an error."""
        model = ScriptedChatModel(
            script=[call("soft_failing_tool", "c1", city="Atlantis"), answer("Sorry.")]
        )
        result = create_agent(model, [soft_failing_tool], name="weather_agent").invoke(
            QUESTION, {"callbacks": [telemetry.handler]}
        )
        tool_messages = [m for m in result["messages"] if isinstance(m, ToolMessage)]
        assert [m.status for m in tool_messages] == ["error"]
        (tool_span,) = named(telemetry.spans, "execute_tool soft_failing_tool")
        assert tool_span.status.status_code == StatusCode.ERROR
        assert attrs(tool_span)["langchain_otel.outcome"] == "error"
        assert attrs(tool_span)["error.type"] == "tool_error"
        assert attrs(tool_span)["gen_ai.tool.call.id"] == "c1"
        (agent,) = named(telemetry.spans, "invoke_agent weather_agent")
        assert attrs(agent)["langchain_otel.outcome"] == "ok"  # the agent recovered
        assert attrs(agent)["langchain_otel.agent.tool_errors"] == 1
        points = telemetry.metrics()["gen_ai.client.operation.duration"]
        (tool_point,) = [
            p for p in points if p.attributes["gen_ai.operation.name"] == "execute_tool"
        ]
        assert tool_point.attributes["langchain_otel.outcome"] == "error"
        assert tool_point.attributes["error.type"] == "tool_error"

    def test_a_tool_node_that_handles_errors(self, telemetry: CapturedTelemetry) -> None:
        """ToolNode(handle_tool_errors=True): the raising tool's span fails, the agent goes on."""
        model = ScriptedChatModel(
            script=[call("broken_tool", "c1", city="Atlantis"), answer("Sorry.")]
        )
        tools = ToolNode([broken_tool], handle_tool_errors=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # create_react_agent moved to langchain.agents
            from langgraph.prebuilt import create_react_agent

            agent = create_react_agent(model, tools, name="weather_agent")
        agent.invoke(QUESTION, {"callbacks": [telemetry.handler]})
        (tool_span,) = named(telemetry.spans, "execute_tool broken_tool")
        assert tool_span.status.status_code == StatusCode.ERROR
        assert attrs(tool_span)["error.type"] == "ValueError"
        (agent,) = named(telemetry.spans, "invoke_agent weather_agent")
        assert agent.status.status_code == StatusCode.UNSET
        assert attrs(agent)["langchain_otel.agent.tool_errors"] == 1

    def test_an_unhandled_tool_error_fails_the_agent(self, telemetry: CapturedTelemetry) -> None:
        """The error propagates: tool, node and agent spans all end as errors."""
        model = ScriptedChatModel(script=[call("broken_tool", "c1", city="Atlantis")])
        agent = create_agent(model, [broken_tool], name="weather_agent")
        with pytest.raises(ValueError, match="Atlantis"):
            agent.invoke(QUESTION, {"callbacks": [telemetry.handler]})
        (span,) = named(telemetry.spans, "invoke_agent weather_agent")
        assert span.status.status_code == StatusCode.ERROR
        assert attrs(span)["error.type"] == "ValueError"
        assert attrs(span)["langchain_otel.outcome"] == "error"
        points = telemetry.metrics()["gen_ai.client.operation.duration"]
        (agent_point,) = [
            p for p in points if p.attributes["gen_ai.operation.name"] == "invoke_agent"
        ]
        assert agent_point.attributes["error.type"] == "ValueError"
        assert telemetry.handler.open_runs == 0


class Approval(TypedDict):
    amount: int


def approval_graph() -> Any:
    def ask(state: Approval) -> Approval:
        extra = interrupt("approve?")
        return {"amount": state["amount"] + int(extra)}

    graph = StateGraph(Approval)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    return graph.compile(checkpointer=InMemorySaver(), name="approver")


class TestInterrupts:
    def test_interrupt_then_resume(self, telemetry: CapturedTelemetry) -> None:
        """interrupt(): the first run ends 'interrupted' (not an error); the resume is ok."""
        graph = approval_graph()
        config: Any = {"callbacks": [telemetry.handler], "configurable": {"thread_id": "th-1"}}
        first = graph.invoke({"amount": 1}, config)
        assert "__interrupt__" in first
        (paused,) = named(telemetry.spans, "invoke_agent approver")
        assert attrs(paused)["langchain_otel.outcome"] == "interrupted"
        assert paused.status.status_code == StatusCode.UNSET
        assert "error.type" not in attrs(paused)
        (node,) = named(telemetry.spans, "ask")
        assert attrs(node)["langchain_otel.outcome"] == "interrupted"
        assert node.status.status_code == StatusCode.UNSET
        assert not node.events  # no exception event for an interrupt
        telemetry.clear()

        assert graph.invoke(Command(resume=2), config) == {"amount": 3}
        (resumed,) = named(telemetry.spans, "invoke_agent approver")
        assert attrs(resumed)["langchain_otel.outcome"] == "ok"
        assert attrs(resumed)["gen_ai.conversation.id"] == attrs(paused)["gen_ai.conversation.id"]
        assert attrs(resumed)["gen_ai.conversation.id"] == "th-1"
        points = telemetry.metrics()["gen_ai.client.operation.duration"]
        outcomes = sorted(
            p.attributes["langchain_otel.outcome"]
            for p in points
            if p.attributes["gen_ai.operation.name"] == "invoke_agent"
        )
        assert outcomes == ["interrupted", "ok"]
        assert telemetry.handler.open_runs == 0

    async def test_interrupt_inside_a_sub_agent(self, telemetry: CapturedTelemetry) -> None:
        """An interrupt in a subgraph marks the subgraph and the parent as interrupted."""
        inner = approval_graph()

        class Outer(TypedDict):
            amount: int

        outer = StateGraph(Outer)
        outer.add_node("approval", inner)
        outer.add_edge(START, "approval")
        outer.add_edge("approval", END)
        app = outer.compile(checkpointer=InMemorySaver(), name="desk")
        config: Any = {"callbacks": [telemetry.handler], "configurable": {"thread_id": "th-2"}}
        await app.ainvoke({"amount": 1}, config)
        for name in ("invoke_agent desk", "invoke_agent approver"):
            (span,) = named(telemetry.spans, name)
            assert attrs(span)["langchain_otel.outcome"] == "interrupted", name
            assert span.status.status_code == StatusCode.UNSET, name
        assert telemetry.handler.open_runs == 0


class TestCancellation:
    async def test_a_cancelled_agent_run_ends_every_span(
        self, telemetry: CapturedTelemetry
    ) -> None:
        """Cancelling the task mid-tool: all spans end, outcome cancelled, none an error."""
        started = asyncio.Event()

        @tool
        async def waiting_tool(city: str) -> str:
            """Waits until cancelled."""
            started.set()
            await asyncio.sleep(30)
            return city

        model = ScriptedChatModel(script=[call("waiting_tool", "c1", city="Paris"), answer("x")])
        agent = create_agent(model, [waiting_tool], name="weather_agent")
        task = asyncio.create_task(agent.ainvoke(QUESTION, {"callbacks": [telemetry.handler]}))
        await asyncio.wait_for(started.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        spans = telemetry.spans
        assert telemetry.handler.open_runs == 0
        (agent_span,) = named(spans, "invoke_agent weather_agent")
        (tool_span,) = named(spans, "execute_tool waiting_tool")
        for span in (agent_span, tool_span, *named(spans, "tools")):
            assert attrs(span)["langchain_otel.outcome"] == "cancelled", span.name
            assert span.status.status_code == StatusCode.UNSET, span.name
        assert_connected(spans)

    async def test_breaking_out_of_astream_ends_the_agent(
        self, telemetry: CapturedTelemetry
    ) -> None:
        """A consumer that stops reading an agent stream: the agent span ends cancelled."""
        model = ScriptedChatModel(script=[call("slow_tool", "c1", city="Paris"), answer("x")])
        agent = create_agent(model, [slow_tool], name="weather_agent")
        stream = agent.astream(QUESTION, {"callbacks": [telemetry.handler]}, stream_mode="updates")
        async for _ in stream:
            break
        await stream.aclose()
        (agent_span,) = named(telemetry.spans, "invoke_agent weather_agent")
        assert attrs(agent_span)["langchain_otel.outcome"] == "cancelled"
        assert telemetry.handler.open_runs == 0
