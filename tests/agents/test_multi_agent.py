"""Agents calling agents: sub-agents as graph nodes and as tools nest under the caller."""

from __future__ import annotations

from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph

from langchain_otel.testing import CapturedTelemetry
from tests.agents._fakes import INPUT_TOKENS, ScriptedChatModel, answer, call, get_weather
from tests.agents._trees import assert_connected, named, tree

QUESTION = {"messages": [("user", "Write a weather report for Paris.")]}


def researcher() -> Any:
    model = ScriptedChatModel(script=[call("get_weather", "r1", city="Paris"), answer("sunny")])
    return create_agent(model, [get_weather], name="researcher")


def writer() -> Any:
    return create_agent(ScriptedChatModel(script=[answer("Report: sunny.")]), [], name="writer")


def supervisor_graph() -> Any:
    """A supervisor node routing to two sub-agent nodes, then ending."""

    def supervisor(state: MessagesState) -> dict[str, Any]:
        return {"messages": []}  # it only routes

    def route(state: MessagesState) -> str:
        done = {m.name for m in state["messages"] if isinstance(m, AIMessage) and m.name}
        if "researcher" not in done:
            return "researcher"
        if "writer" not in done:
            return "writer"
        return END

    graph = StateGraph(MessagesState)
    graph.add_node("supervisor", supervisor)
    graph.add_node("researcher", researcher())
    graph.add_node("writer", writer())
    graph.add_edge(START, "supervisor")
    graph.add_conditional_edges("supervisor", route)
    graph.add_edge("researcher", "supervisor")
    graph.add_edge("writer", "supervisor")
    return graph.compile(name="team")


def test_supervisor_with_two_sub_agents(telemetry: CapturedTelemetry) -> None:
    """team → researcher and writer agents, each its own invoke_agent span, nested."""
    # create_agent names its AI messages after the agent, which the router reads.
    supervisor_graph().invoke(QUESTION, {"callbacks": [telemetry.handler]})
    spans = telemetry.spans
    assert tree(spans) == [
        (
            "invoke_agent team",
            [
                "supervisor",
                (
                    "researcher",
                    [
                        (
                            "invoke_agent researcher",
                            [
                                ("model", ["chat scripted"]),
                                ("tools", ["execute_tool get_weather"]),
                                ("model", ["chat scripted"]),
                            ],
                        )
                    ],
                ),
                "supervisor",
                ("writer", [("invoke_agent writer", [("model", ["chat scripted"])])]),
                "supervisor",
            ],
        )
    ]
    assert not named(spans, "route")  # routing folded
    assert_connected(spans)
    (team,) = named(spans, "invoke_agent team")
    (research,) = named(spans, "invoke_agent researcher")
    team_attrs, research_attrs = team.attributes or {}, research.attributes or {}
    assert research_attrs["langchain_otel.agent.model_calls"] == 2
    assert research_attrs["gen_ai.usage.input_tokens"] == 2 * INPUT_TOKENS
    # the supervisor's roll-up includes what its sub-agents spent
    assert team_attrs["langchain_otel.agent.model_calls"] == 3
    assert team_attrs["langchain_otel.agent.tool_calls"] == 1
    assert team_attrs["gen_ai.usage.input_tokens"] == 3 * INPUT_TOKENS
    assert telemetry.handler.open_runs == 0


def test_agents_as_tools(telemetry: CapturedTelemetry) -> None:
    """A supervisor agent whose tool runs a sub-agent: the sub-agent nests under the tool."""
    sub = researcher()

    @tool
    def ask_researcher(question: str) -> str:
        """Ask the research agent."""
        result = sub.invoke({"messages": [("user", question)]})
        return str(result["messages"][-1].content)

    boss_model = ScriptedChatModel(
        script=[call("ask_researcher", "b1", question="weather?"), answer("It is sunny.")]
    )
    boss = create_agent(boss_model, [ask_researcher], name="boss")
    boss.invoke(QUESTION, {"callbacks": [telemetry.handler]})
    spans = telemetry.spans
    assert tree(spans) == [
        (
            "invoke_agent boss",
            [
                ("model", ["chat scripted"]),
                (
                    "tools",
                    [
                        (
                            "execute_tool ask_researcher",
                            [
                                (
                                    "invoke_agent researcher",
                                    [
                                        ("model", ["chat scripted"]),
                                        ("tools", ["execute_tool get_weather"]),
                                        ("model", ["chat scripted"]),
                                    ],
                                )
                            ],
                        )
                    ],
                ),
                ("model", ["chat scripted"]),
            ],
        )
    ]
    (boss_span,) = named(spans, "invoke_agent boss")
    attrs = boss_span.attributes or {}
    assert attrs["langchain_otel.agent.model_calls"] == 4
    assert attrs["langchain_otel.agent.tool_calls"] == 2
    assert telemetry.handler.open_runs == 0
