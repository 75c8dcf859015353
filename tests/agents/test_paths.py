"""The same agent trace on every path: sync, async, streamed, events, many at once."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain.agents import create_agent

from langchain_otel.testing import CapturedTelemetry
from tests.agents._fakes import ECHO_TWO_TOOLS, echo_model, get_time, get_weather
from tests.agents._trees import assert_connected, tree

QUESTION = {"messages": [("user", "Weather in Paris?")]}
EXPECTED = [
    (
        "invoke_agent weather_agent",
        [
            ("model", ["chat echo-chat"]),
            ("tools", ["execute_tool get_weather"]),
            ("model", ["chat echo-chat"]),
            ("tools", ["execute_tool get_time"]),
            ("model", ["chat echo-chat"]),
        ],
    )
]


def agent(delay: float = 0.0) -> Any:
    model = echo_model(*ECHO_TWO_TOOLS, time_to_first_token=delay)
    return create_agent(model, [get_weather, get_time], name="weather_agent")


def check(telemetry: CapturedTelemetry) -> None:
    assert tree(telemetry.spans) == EXPECTED
    assert_connected(telemetry.spans)
    assert telemetry.handler.open_runs == 0
    assert telemetry.handler.internal_errors == 0


def test_invoke(telemetry: CapturedTelemetry) -> None:
    """Sync invoke."""
    agent().invoke(QUESTION, {"callbacks": [telemetry.handler]})
    check(telemetry)


def test_stream_updates(telemetry: CapturedTelemetry) -> None:
    """Sync stream, ``stream_mode="updates"``."""
    updates = list(
        agent().stream(QUESTION, {"callbacks": [telemetry.handler]}, stream_mode="updates")
    )
    assert [next(iter(u)) for u in updates] == ["model", "tools", "model", "tools", "model"]
    check(telemetry)


async def test_ainvoke(telemetry: CapturedTelemetry) -> None:
    """Async invoke."""
    await agent().ainvoke(QUESTION, {"callbacks": [telemetry.handler]})
    check(telemetry)


async def test_astream_updates(telemetry: CapturedTelemetry) -> None:
    """``astream(stream_mode="updates")``."""
    updates = [
        u
        async for u in agent().astream(
            QUESTION, {"callbacks": [telemetry.handler]}, stream_mode="updates"
        )
    ]
    assert len(updates) == 5
    check(telemetry)


async def test_astream_messages(telemetry: CapturedTelemetry) -> None:
    """``astream(stream_mode="messages")`` yields the model and tool messages."""
    items = [
        item
        async for item in agent().astream(
            QUESTION, {"callbacks": [telemetry.handler]}, stream_mode="messages"
        )
    ]
    nodes = [meta["langgraph_node"] for _, meta in items]
    assert "model" in nodes
    assert "tools" in nodes
    # EchoChatModel streams one character per chunk: the answer arrives in pieces
    assert nodes.count("model") > len("Weather in Paris?")
    check(telemetry)


async def test_astream_events(telemetry: CapturedTelemetry) -> None:
    """``astream_events(version="v2")`` sees the runs and our trace is unchanged."""
    events = [
        e["event"]
        async for e in agent().astream_events(
            QUESTION, {"callbacks": [telemetry.handler]}, version="v2"
        )
    ]
    assert events.count("on_tool_start") == 2
    assert events.count("on_chat_model_start") == 3
    check(telemetry)


async def test_200_concurrent_agent_runs(telemetry: CapturedTelemetry) -> None:
    """200 agent runs interleaved on one loop: one trace each, nothing left open."""
    shared = agent(delay=0.001)

    async def one(i: int) -> Any:
        return await shared.ainvoke(
            QUESTION, {"callbacks": [telemetry.handler], "configurable": {"thread_id": f"t{i}"}}
        )

    results = await asyncio.gather(*(one(i) for i in range(200)))
    assert all(r["messages"][-1].content == "Weather in Paris?" for r in results)
    spans = telemetry.spans
    roots = [s for s in spans if s.parent is None]
    assert len(roots) == 200
    assert {r.name for r in roots} == {"invoke_agent weather_agent"}
    assert len({r.context.trace_id for r in roots}) == 200
    assert len(spans) == 200 * 11
    by_trace: dict[int, set[str]] = {}
    for span in spans:
        by_trace.setdefault(span.context.trace_id, set()).add(
            str((span.attributes or {}).get("gen_ai.conversation.id"))
        )
    assert all(len(ids) == 1 for ids in by_trace.values())  # no run mixed into another
    assert_connected(spans)
    assert telemetry.handler.open_runs == 0
    assert telemetry.handler.internal_errors == 0
