"""Tool-calling chat models and tools for the agent tests.

Most tests drive agents with the package's own :class:`~langchain_otel.llms.EchoChatModel`
(scripted tool calls per turn, counted usage): :func:`echo_model`. ``ScriptedChatModel``
answers the n-th model call of a conversation with ``script[n]``
(n = the AI messages already in the input), so one model serves any number of
concurrent agent runs deterministically. Each answer reports fixed usage (10 input,
5 output tokens) unless ``report_usage=False``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import ToolException, tool

from langchain_otel.llms import EchoChatModel

INPUT_TOKENS = 10
OUTPUT_TOKENS = 5


def call(name: str, call_id: str, **args: Any) -> AIMessage:
    """An AI turn that calls one tool."""
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])


def calls(*tool_calls: tuple[str, str, dict[str, Any]]) -> AIMessage:
    """An AI turn that calls several tools at once."""
    return AIMessage(
        content="",
        tool_calls=[{"name": n, "args": a, "id": i} for n, i, a in tool_calls],
    )


def answer(text: str) -> AIMessage:
    """A final AI turn."""
    return AIMessage(content=text)


class ScriptedChatModel(BaseChatModel):
    """Answers the n-th call of a conversation with ``script[n]``; tools bind to itself."""

    script: Sequence[AIMessage]
    model_name: str = "scripted"
    report_usage: bool = True
    delay: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        return self

    def _turn(self, messages: list[BaseMessage]) -> ChatResult:
        turn = sum(1 for m in messages if isinstance(m, AIMessage))
        scripted = self.script[min(turn, len(self.script) - 1)]
        message = scripted.model_copy(deep=True)
        if self.report_usage:
            message.usage_metadata = {
                "input_tokens": INPUT_TOKENS,
                "output_tokens": OUTPUT_TOKENS,
                "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
            }
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._turn(messages)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.delay:
            await asyncio.sleep(self.delay)
        return self._turn(messages)


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@tool
def get_time(city: str) -> str:
    """The local time in a city."""
    return f"noon in {city}"


@tool
def broken_tool(city: str) -> str:
    """A tool that always fails."""
    msg = f"no weather station in {city}"
    raise ValueError(msg)


@tool
def soft_failing_tool(city: str) -> str:
    """A tool whose failure LangChain turns into a ToolMessage with status="error"."""
    msg = f"no weather station in {city}"
    raise ToolException(msg)


soft_failing_tool.handle_tool_error = True


@tool
async def slow_tool(city: str) -> str:
    """A tool that waits long enough to be cancelled."""
    await asyncio.sleep(30)
    return city


def echo_model(*turns: list[tuple[str, str, dict[str, Any]]], **kwargs: Any) -> EchoChatModel:
    """An EchoChatModel calling ``turns[i]`` = [(tool, call id, args), ...] on turn i, then
    answering with the question's first 20 characters."""
    script = [[{"name": n, "id": i, "args": a} for n, i, a in turn] for turn in turns]
    return EchoChatModel(n=20, tool_calls=script, **kwargs)


ECHO_TWO_TOOLS = (
    [("get_weather", "call_w", {"city": "Paris"})],
    [("get_time", "call_t", {"city": "Paris"})],
)
"""The ReAct agent with two tools: weather, then time, then the answer (3 model calls)."""

TWO_STEP = (
    call("get_weather", "call_w", city="Paris"),
    call("get_time", "call_t", city="Paris"),
    answer("Sunny, noon."),
)
"""Three model calls, two tool calls: the 2-step ReAct agent of the docs."""
