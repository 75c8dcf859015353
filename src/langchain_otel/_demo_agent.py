"""The demo's agent: ``create_agent`` over ``EchoChatModel`` with two tools, when installed.

Part of the demo's traffic asks a ``support_agent`` (LangChain's ``create_agent``, a LangGraph
graph): the model's scripted first turn calls ``search_docs`` and ``estimate_cost`` at once,
the tools answer after a short simulated latency, and the second turn answers. The handler
turns it into an ``invoke_agent support_agent`` span over its model and tool spans, with the
agent's roll-ups. ``langchain`` >= 1.0 and ``langgraph`` are optional here: without them
:func:`build_agent` returns ``None`` and the demo runs chains only (``nox -s demo`` installs
both).
"""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import tool

from langchain_otel.llms import EchoChatModel

__all__ = ["AGENT_NAME", "TOOL_CALLS", "build_agent", "usage_of"]

AGENT_NAME = "support_agent"
TOOL_CALLS = [
    [
        {"name": "search_docs", "args": {"query": "time to first token"}},
        {"name": "estimate_cost", "args": {"input_tokens": 420, "output_tokens": 180}},
    ]
]
"""The model's script: one turn calling both tools, then its answer."""


@tool
async def search_docs(query: str) -> str:
    """Search the project's documentation for ``query``."""
    await asyncio.sleep(0.03)
    return f"3 pages mention {query!r}: docs/cli.md, docs/handler.md, docs/semconv.md"


@tool
async def estimate_cost(input_tokens: int, output_tokens: int) -> str:
    """Estimate the USD cost of a call on the demo's chat model."""
    await asyncio.sleep(0.01)
    return f"${(input_tokens * 0.5 + output_tokens * 1.5) / 1e6:.6f}"


def build_agent(**knobs: Any) -> Runnable[Any, Any] | None:
    """The support agent on an ``EchoChatModel(**knobs)`` scripted to call both tools.

    ``None`` when ``langchain`` (>= 1.0, with ``langgraph``) is not installed.

    Example:
        >>> import asyncio
        >>> agent = build_agent(n=12)
        >>> answer = asyncio.run(agent.ainvoke({"messages": [("user", "hi there, agent")]}))
        >>> [m.type for m in answer["messages"]]
        ['human', 'ai', 'tool', 'tool', 'ai']
        >>> answer["messages"][-1].content
        'hi there, ag'
    """
    try:
        from langchain.agents import (  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415
            create_agent,
        )
    except ImportError:
        return None
    model = EchoChatModel(tool_calls=TOOL_CALLS, **knobs)
    agent: Runnable[Any, Any] = create_agent(model, [search_docs, estimate_cost], name=AGENT_NAME)
    return agent


def usage_of(answer: Any) -> tuple[int, int, int]:
    """Model calls, input and output tokens the client sees in the agent's AI messages."""
    messages = answer.get("messages", []) if isinstance(answer, dict) else []
    calls = [m for m in messages if isinstance(m, AIMessage)]
    usage: list[dict[str, Any]] = [dict(m.usage_metadata or {}) for m in calls]
    return (
        len(calls),
        sum(u.get("input_tokens", 0) for u in usage),
        sum(u.get("output_tokens", 0) for u in usage),
    )
