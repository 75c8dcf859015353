"""Agent and workflow runs become invoke_agent / invoke_workflow spans; plumbing folds."""

from __future__ import annotations

import warnings
from typing import Any, TypedDict

from langchain.agents import create_agent
from langgraph.graph import END, START, StateGraph
from opentelemetry.trace import SpanKind, StatusCode

from langchain_otel.testing import CapturedTelemetry
from tests.agents._fakes import TWO_STEP, ScriptedChatModel, answer, call, get_time, get_weather
from tests.agents._trees import assert_connected, named, tree

ONE_ROUND = (call("get_weather", "call_w", city="Paris"), answer("Sunny."))


def weather_agent(script: Any = ONE_ROUND, **kwargs: Any) -> Any:
    model = ScriptedChatModel(script=script)
    return create_agent(model, [get_weather, get_time], name="weather_agent", **kwargs)


def react_agent(script: Any = ONE_ROUND, name: str | None = "weather_agent") -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # create_react_agent moved to langchain.agents
        from langgraph.prebuilt import create_react_agent

        model = ScriptedChatModel(script=script)
        return create_react_agent(model, [get_weather, get_time], name=name)


def config(telemetry: CapturedTelemetry, **extra: Any) -> dict[str, Any]:
    return {"callbacks": [telemetry.handler], **extra}


QUESTION = {"messages": [("user", "Weather in Paris?")]}


class Counter(TypedDict):
    x: int


def counter_graph(**compile_kwargs: Any) -> Any:
    def inc(state: Counter) -> Counter:
        return {"x": state["x"] + 1}

    def route(state: Counter) -> str:
        return "inc" if state["x"] < 2 else END

    graph = StateGraph(Counter)
    graph.add_node("inc", inc)
    graph.add_edge(START, "inc")
    graph.add_conditional_edges("inc", route)
    return graph.compile(**compile_kwargs)


class TestCreateAgent:
    def test_the_agent_run_is_an_invoke_agent_span(self, telemetry: CapturedTelemetry) -> None:
        """create_agent(name=...) → INTERNAL ``invoke_agent weather_agent`` over its nodes."""
        weather_agent().invoke(QUESTION, config(telemetry))
        spans = telemetry.spans
        assert tree(spans) == [
            (
                "invoke_agent weather_agent",
                [
                    ("model", ["chat scripted"]),
                    ("tools", ["execute_tool get_weather"]),
                    ("model", ["chat scripted"]),
                ],
            )
        ]
        (agent,) = named(spans, "invoke_agent weather_agent")
        assert agent.kind == SpanKind.INTERNAL
        assert agent.parent is None
        attrs = agent.attributes or {}
        assert attrs["gen_ai.operation.name"] == "invoke_agent"
        assert attrs["gen_ai.agent.name"] == "weather_agent"
        assert attrs["langchain.run.name"] == "weather_agent"
        assert attrs["langchain_otel.outcome"] == "ok"
        assert agent.status.status_code == StatusCode.UNSET
        assert telemetry.handler.open_runs == 0

    def test_node_spans_carry_the_langgraph_node_and_step(
        self, telemetry: CapturedTelemetry
    ) -> None:
        """Each node span has ``langgraph.node`` and ``langgraph.step``."""
        weather_agent().invoke(QUESTION, config(telemetry))
        nodes = sorted(
            (s for s in telemetry.spans if s.name in {"model", "tools"}),
            key=lambda s: s.start_time or 0,
        )
        seen = [
            ((s.attributes or {})["langgraph.node"], (s.attributes or {})["langgraph.step"])
            for s in nodes
        ]
        assert seen == [("model", 1), ("tools", 2), ("model", 3)]
        chat = named(telemetry.spans, "chat scripted")[0]
        assert "langgraph.node" not in (chat.attributes or {})

    def test_thread_id_is_the_conversation_id(self, telemetry: CapturedTelemetry) -> None:
        """``configurable.thread_id`` → ``gen_ai.conversation.id`` on the agent span."""
        weather_agent().invoke(QUESTION, config(telemetry, configurable={"thread_id": "t-42"}))
        (agent,) = named(telemetry.spans, "invoke_agent weather_agent")
        assert (agent.attributes or {})["gen_ai.conversation.id"] == "t-42"

    def test_an_unnamed_create_agent_is_still_an_agent(self, telemetry: CapturedTelemetry) -> None:
        """create_agent without a name is an agent named after its run."""
        model = ScriptedChatModel(script=ONE_ROUND)
        create_agent(model, [get_weather]).invoke(QUESTION, config(telemetry))
        roots = [s for s in telemetry.spans if s.parent is None]
        assert [s.name for s in roots] == ["invoke_agent LangGraph"]
        assert (roots[0].attributes or {})["gen_ai.agent.name"] == "LangGraph"

    def test_run_name_overrides_the_agent_name(self, telemetry: CapturedTelemetry) -> None:
        """``run_name`` in the config names the agent span too."""
        weather_agent().invoke(QUESTION, config(telemetry, run_name="forecaster"))
        roots = [s for s in telemetry.spans if s.parent is None]
        assert [s.name for s in roots] == ["invoke_agent forecaster"]


class TestReactAgent:
    def test_routing_functions_are_folded(self, telemetry: CapturedTelemetry) -> None:
        """create_react_agent: routing and glue runs leave no span; nothing is orphaned."""
        react_agent().invoke(QUESTION, config(telemetry))
        spans = telemetry.spans
        for plumbing in ("should_continue", "call_model", "Prompt"):
            assert not named(spans, plumbing), plumbing
        model_turn = ("agent", [("RunnableSequence", ["chat scripted"])])
        assert tree(spans) == [
            (
                "invoke_agent weather_agent",
                [model_turn, ("tools", ["execute_tool get_weather"]), model_turn],
            )
        ]
        assert len(spans) == 9
        assert_connected(spans)
        assert telemetry.handler.open_runs == 0

    def test_keep_all_runs_keeps_the_plumbing(self, telemetry_all_runs: CapturedTelemetry) -> None:
        """``keep_all_runs=True``: every run is a span (15 for the 2-step agent)."""
        react_agent().invoke(QUESTION, config(telemetry_all_runs))
        spans = telemetry_all_runs.spans
        # call_model runs the prompt | model sequence with the node's config: siblings.
        model_turn = (
            "agent",
            ["call_model", ("RunnableSequence", ["Prompt", "chat scripted"]), "should_continue"],
        )
        assert tree(spans) == [
            (
                "invoke_agent weather_agent",
                [model_turn, ("tools", ["execute_tool get_weather"]), model_turn],
            )
        ]
        assert len(spans) == 15
        assert [s.name for s in spans if s.parent is None] == ["invoke_agent weather_agent"]
        assert telemetry_all_runs.handler.open_runs == 0

    def test_an_unnamed_react_agent_is_a_workflow(self, telemetry: CapturedTelemetry) -> None:
        """Without ``name=`` the graph has LangGraph's default name: a workflow."""
        react_agent(name=None).invoke(QUESTION, config(telemetry))
        roots = [s for s in telemetry.spans if s.parent is None]
        assert [s.name for s in roots] == ["invoke_workflow LangGraph"]
        attrs = roots[0].attributes or {}
        assert attrs["gen_ai.operation.name"] == "invoke_workflow"
        assert attrs["gen_ai.workflow.name"] == "LangGraph"
        assert "gen_ai.agent.name" not in attrs


class TestWhatIsAnAgent:
    def test_a_root_graph_with_the_default_name_is_a_workflow(
        self, telemetry: CapturedTelemetry
    ) -> None:
        """An unnamed StateGraph → ``invoke_workflow LangGraph``, routing folded."""
        counter_graph().invoke({"x": 0}, config(telemetry))
        assert tree(telemetry.spans) == [("invoke_workflow LangGraph", ["inc", "inc"])]
        (root,) = named(telemetry.spans, "invoke_workflow LangGraph")
        assert root.kind == SpanKind.INTERNAL

    def test_a_graph_with_an_explicit_name_is_an_agent(self, telemetry: CapturedTelemetry) -> None:
        """``compile(name="counter")`` → ``invoke_agent counter``."""
        counter_graph(name="counter").invoke({"x": 0}, config(telemetry))
        assert tree(telemetry.spans) == [("invoke_agent counter", ["inc", "inc"])]

    def test_the_metadata_key_names_an_agent(self, telemetry: CapturedTelemetry) -> None:
        """``metadata={"langchain_otel.agent": "planner"}`` makes any graph an agent."""
        counter_graph().invoke(
            {"x": 0}, config(telemetry, metadata={"langchain_otel.agent": "planner"})
        )
        (root,) = [s for s in telemetry.spans if s.parent is None]
        assert root.name == "invoke_agent planner"
        assert (root.attributes or {})["gen_ai.agent.name"] == "planner"

    def test_the_metadata_key_true_uses_the_run_name(self, telemetry: CapturedTelemetry) -> None:
        """``langchain_otel.agent = True`` → an agent named after the run."""
        counter_graph().invoke({"x": 0}, config(telemetry, metadata={"langchain_otel.agent": True}))
        (root,) = [s for s in telemetry.spans if s.parent is None]
        assert root.name == "invoke_agent LangGraph"

    def test_the_metadata_key_false_opts_out(self, telemetry: CapturedTelemetry) -> None:
        """``langchain_otel.agent = False`` on a named graph → a workflow."""
        counter_graph(name="counter").invoke(
            {"x": 0}, config(telemetry, metadata={"langchain_otel.agent": False})
        )
        (root,) = [s for s in telemetry.spans if s.parent is None]
        assert root.name == "invoke_workflow counter"

    def test_assistant_id_is_the_agent_id(self, telemetry: CapturedTelemetry) -> None:
        """``assistant_id`` metadata (LangGraph Platform) → ``gen_ai.agent.id``."""
        weather_agent().invoke(QUESTION, config(telemetry, metadata={"assistant_id": "a-1"}))
        (agent,) = named(telemetry.spans, "invoke_agent weather_agent")
        assert (agent.attributes or {})["gen_ai.agent.id"] == "a-1"

    def test_plain_chains_are_untouched(self, telemetry: CapturedTelemetry) -> None:
        """A ``prompt | model`` chain outside LangGraph keeps its generic spans (prompt folded)."""
        from langchain_core.prompts import ChatPromptTemplate

        chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | ScriptedChatModel(
            script=[answer("hi")]
        )
        chain.invoke({"q": "x"}, config(telemetry))
        assert tree(telemetry.spans) == [("RunnableSequence", ["chat scripted"])]
        root = named(telemetry.spans, "RunnableSequence")[0]
        assert "gen_ai.operation.name" not in (root.attributes or {})


def test_two_tools_in_sequence(telemetry: CapturedTelemetry) -> None:
    """A ReAct agent using both tools: 3 model turns, 2 tool spans, tool call ids kept."""
    weather_agent(TWO_STEP).invoke(QUESTION, config(telemetry))
    spans = telemetry.spans
    tools = sorted(telemetry.spans_named("execute_tool"), key=lambda s: s.start_time or 0)
    assert [s.name for s in tools] == ["execute_tool get_weather", "execute_tool get_time"]
    assert [(s.attributes or {})["gen_ai.tool.call.id"] for s in tools] == ["call_w", "call_t"]
    assert all((s.attributes or {})["gen_ai.tool.type"] == "function" for s in tools)
    assert len(named(spans, "chat scripted")) == 3
    assert_connected(spans)


def test_instrument_takes_keep_all_runs(telemetry: CapturedTelemetry) -> None:
    """``instrument(keep_all_runs=True)``: the global handler keeps the plumbing too."""
    from langchain_otel import instrument, uninstrument

    handler = instrument(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        keep_all_runs=True,
        strict=True,
    )
    try:
        react_agent().invoke(QUESTION)
    finally:
        uninstrument()
    assert handler is not telemetry.handler
    assert len(named(telemetry.spans, "should_continue")) == 2
    assert handler.open_runs == 0


def test_odd_langgraph_metadata_is_tolerated(telemetry: CapturedTelemetry) -> None:
    """Garbage in LangGraph's keys or ours: fewer attributes, no internal error, all ended."""
    from uuid import uuid4

    handler = telemetry.handler
    root, node, child = uuid4(), uuid4(), uuid4()
    odd: dict[str, Any] = {"ls_integration": 3, "langchain_otel.agent": 7, "lc_agent_name": []}
    handler.on_chain_start({}, {}, run_id=root, metadata=odd)
    handler.on_chain_start(
        {},
        {},
        run_id=node,
        parent_run_id=root,
        tags=["graph:step:x", 5],  # type: ignore[list-item]
        metadata={**odd, "langgraph_step": "x", "langgraph_node": None},
    )
    handler.on_chain_start(
        {},
        {},
        run_id=child,
        parent_run_id=node,
        tags=["seq:step:3"],
        metadata={"langgraph_step": 1},
    )
    handler.on_chain_error(RuntimeError("boom"), run_id=child)
    handler.on_chain_end({}, run_id=node)
    handler.on_chain_end({}, run_id=root)
    assert handler.open_runs == 0
    assert handler.internal_errors == 0
    names = sorted(s.name for s in telemetry.spans)
    assert names == ["chain", "invoke_workflow chain"]  # the routing-like child is folded
