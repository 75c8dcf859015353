"""The demo's agent: a tool-calling loop on EchoChatModel, named with the agent metadata key.

It needs nothing beyond ``langchain-core`` (the demo runs without ``langchain`` or
``langgraph``): a runnable that asks the model, runs the tools it calls, and asks again until
the model answers. The metadata key ``langchain_otel.agent`` makes its run an
``invoke_agent docs_agent`` span, with the model and tool spans under it and their usage and
cost rolled up (see the handler guide, "Agents and LangGraph").
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langchain_core.tools import BaseTool, tool

from langchain_otel.callbacks import _semconv as sc
from langchain_otel.llms import EchoChatModel

__all__ = ["AGENT_NAME", "AgentAnswer", "agent_tool_calls", "build_agent"]

AGENT_NAME = "docs_agent"
_MAX_TURNS = 4


@tool
def search_docs(query: str) -> str:
    """Search the documentation for a query."""
    return f"3 pages mention {query[:40]!r}"


@tool
def get_time(city: str) -> str:
    """The local time in a city."""
    return f"12:00 in {city}"


TOOLS: tuple[BaseTool, ...] = (search_docs, get_time)


def agent_tool_calls(question: str) -> list[list[dict[str, Any]]]:
    """The scripted turns: search the docs, then answer."""
    return [[{"name": "search_docs", "args": {"query": question}}]]


class AgentAnswer:
    """The agent's final answer and what its model calls reported."""

    __slots__ = ("input_tokens", "model_calls", "output_tokens", "text")

    def __init__(self, messages: list[BaseMessage]) -> None:
        replies = [m for m in messages if isinstance(m, AIMessage)]
        self.text = str(replies[-1].content) if replies else ""
        self.model_calls = len(replies)
        usage = [m.usage_metadata for m in replies if m.usage_metadata]
        self.input_tokens = sum(u["input_tokens"] for u in usage)
        self.output_tokens = sum(u["output_tokens"] for u in usage)


def build_agent(model: EchoChatModel) -> Runnable[str, AgentAnswer]:
    """A question in, an :class:`AgentAnswer` out: model → tools → model.

    Example:
        >>> import asyncio
        >>> model = EchoChatModel(n=8, tool_calls=agent_tool_calls("what is a span?"))
        >>> answer = asyncio.run(build_agent(model).ainvoke("what is a span?"))
        >>> answer.text, answer.model_calls
        ('what is ', 2)
    """
    bound = model.bind_tools(list(TOOLS))
    by_name = {t.name: t for t in TOOLS}

    async def run(question: str, config: RunnableConfig) -> AgentAnswer:
        messages: list[BaseMessage] = [HumanMessage(question)]
        for _ in range(_MAX_TURNS):
            reply = await bound.ainvoke(messages, config)
            messages.append(reply)
            if not reply.tool_calls:
                break
            for call in reply.tool_calls:
                messages.append(await by_name[call["name"]].ainvoke(call, config))
        return AgentAnswer(messages)

    agent = RunnableLambda(run, name=AGENT_NAME)  # async only, as the demo
    return agent.with_config(metadata={sc.AGENT_METADATA_KEY: AGENT_NAME})
