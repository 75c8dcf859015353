"""EchoChatModel: the chat sibling of EchoLLM, with scripted tool calls for agents."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field, field_validator

from langchain_otel.llms._echo_core import EchoCore
from langchain_otel.llms._messages import LAST_CHUNK, message_text, usage_metadata

__all__ = ["EchoChatModel"]


def _script_entry(turn: int, index: int, call: Any) -> dict[str, Any]:
    if not isinstance(call, Mapping) or not isinstance(call.get("name"), str):
        raise ValueError(
            f"tool_calls[{turn}][{index}] must be a dict with a 'name' (str) and 'args' (dict),"
            f" got {call!r}"
        )
    args = call.get("args", {})
    if not isinstance(args, Mapping):
        raise ValueError(f"tool_calls[{turn}][{index}]['args'] must be a dict, got {args!r}")
    call_id = call.get("id") or f"call_{turn}_{index}"
    return {"name": call["name"], "args": dict(args), "id": str(call_id)}


class EchoChatModel(EchoCore, BaseChatModel):
    """A chat model that answers with the first ``n`` characters of the last human message.

    The chat sibling of :class:`~langchain_otel.llms.EchoLLM`, for tests, demos, benchmarks
    and agents: deterministic, free, no server. Native ``_generate``, ``_agenerate``,
    ``_stream`` and ``_astream`` share one core; streams carry one character per chunk, and
    ``on_llm_new_token`` is called before each chunk is yielded. Stop sequences cut the
    output after the earliest stop sequence, which is kept. The latency and failure knobs
    are EchoLLM's (``time_to_first_token``, ``time_per_token``, ``error_on_chunk``,
    ``fail_with``).

    ``usage_metadata`` is *counted*: one input token per character of every input message's
    text, one output token per character of the answer and of each tool call's JSON
    arguments; ``response_metadata`` has ``model_name`` and ``finish_reason`` (``stop``,
    ``length`` or ``tool_calls``). On a stream both are on the last chunk.

    **Scripted tool calls** drive agents without a server: ``tool_calls`` holds one list per
    *turn*, where a turn is one model call of an agent loop, counted as the number of AI
    messages after the last human message (so each new human message starts the script
    again, and concurrent conversations never share a counter). On a turn with tool calls
    the answer's text is empty and ``tool_calls`` carries them (ids ``call_{turn}_{i}`` unless
    given); once the script runs out the model answers with its echo. ``bind_tools`` is
    accepted (the tools are not needed to follow the script).

    Example:
        >>> from langchain_core.messages import HumanMessage, ToolMessage
        >>> model = EchoChatModel(
        ...     n=100, tool_calls=[[{"name": "add", "args": {"a": 1, "b": 2}}], []]
        ... )
        >>> first = model.invoke("what is 1 + 2?")
        >>> first.tool_calls[0]["name"], first.tool_calls[0]["args"], first.content
        ('add', {'a': 1, 'b': 2}, '')
        >>> history = [HumanMessage("what is 1 + 2?"), first, ToolMessage("3", tool_call_id="call_0_0")]
        >>> model.invoke(history).content
        'what is 1 + 2?'
        >>> EchoChatModel(n=5).invoke("hello world").content
        'hello'
    """  # noqa: E501

    model_name: str = Field(default="echo-chat", description="Reported as the model's name.")
    tool_calls: list[list[dict[str, Any]]] = Field(
        default_factory=list,
        description="Scripted tool calls, one list per turn: [{'name': ..., 'args': {...}}].",
    )

    @field_validator("tool_calls", mode="before")
    @classmethod
    def _check_tool_calls(cls, value: Any) -> Any:
        if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
            raise ValueError("tool_calls must be a list with one list of tool calls per turn")
        turns = []
        for turn, calls in enumerate(value):
            if not isinstance(calls, Sequence) or isinstance(calls, (str, bytes, Mapping)):
                raise ValueError(
                    f"tool_calls[{turn}] must be a list of tool calls (use [] for none),"
                    f" got {calls!r}"
                )
            turns.append([_script_entry(turn, index, call) for index, call in enumerate(calls)])
        return turns

    @property
    def _llm_type(self) -> str:
        return "echo"

    @property
    def _identifying_params(self) -> Mapping[str, Any]:
        return {"model_name": self.model_name, "n": self.n}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (OpenAI format); the answers still follow the ``tool_calls`` script.

        Example:
            >>> def add(a: int, b: int) -> int:
            ...     '''Add two numbers.'''
            ...     return a + b
            >>> bound = EchoChatModel(n=3, tool_calls=[[{"name": "add", "args": {"a": 1}}]])
            >>> bound.bind_tools([add]).invoke("hi").tool_calls[0]["name"]
            'add'
        """
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return super().bind(tools=formatted, **kwargs)

    # -- the one core shared by all four paths ---------------------------------------

    def _turn(self, messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
        """The scripted tool calls of this call's turn (AI messages since the last human)."""
        turn = 0
        for message in reversed(messages):
            if isinstance(message, HumanMessage):
                break
            if isinstance(message, AIMessage):
                turn += 1
        return self.tool_calls[turn] if turn < len(self.tool_calls) else []

    @staticmethod
    def _question(messages: Sequence[BaseMessage]) -> str:
        for message in reversed(messages):
            if isinstance(message, HumanMessage):
                return message_text(message)
        return message_text(messages[-1]) if messages else ""

    def _metadata(
        self, messages: Sequence[BaseMessage], text: str, calls: list[dict[str, Any]]
    ) -> tuple[UsageMetadata, dict[str, Any]]:
        question = self._question(messages)
        input_tokens = sum(len(message_text(m)) for m in messages)
        output_tokens = len(text) + sum(len(json.dumps(c["args"])) for c in calls)
        usage = usage_metadata(input_tokens, output_tokens)
        finish = "tool_calls" if calls else self._finish_reason(question, text)
        return usage, {"model_name": self.model_name, "finish_reason": finish}

    def _message(
        self, messages: Sequence[BaseMessage], stop: list[str] | None
    ) -> tuple[AIMessage, int]:
        """The whole answer of a non-streamed call (failure knobs applied), and its chunks."""
        calls = self._turn(messages)
        self._raise_if_failing()
        text = "" if calls else self._answer(self._question(messages), stop)
        self._raise_if_failing(answer_length=len(text) + len(calls))
        usage, metadata = self._metadata(messages, text, calls)
        message = AIMessage(
            content=text,
            tool_calls=[{**call, "type": "tool_call"} for call in calls],
            usage_metadata=usage,
            response_metadata=metadata,
        )
        return message, len(text) + len(calls)

    def _chunks(
        self, messages: Sequence[BaseMessage], stop: list[str] | None
    ) -> Iterator[tuple[float, ChatGenerationChunk]]:
        """(delay, chunk) pairs: a character or a tool call per chunk, metadata on the last."""
        calls = self._turn(messages)
        self._raise_if_failing()
        text = "" if calls else self._answer(self._question(messages), stop)
        usage, metadata = self._metadata(messages, text, calls)
        pieces: list[dict[str, Any]] = [{"content": char} for char in text]
        pieces += [
            {
                "content": "",
                "tool_call_chunks": [
                    {
                        "name": call["name"],
                        "args": json.dumps(call["args"]),
                        "id": call["id"],
                        "index": index,
                        "type": "tool_call_chunk",
                    }
                ],
            }
            for index, call in enumerate(calls)
        ]
        if not pieces:
            pieces.append({"content": ""})
        pieces[-1].update(usage_metadata=usage, response_metadata=metadata, **LAST_CHUNK)
        for index, delay in enumerate(self._delays(len(pieces))):
            self._raise_if_failing(chunk=index)
            yield delay, ChatGenerationChunk(message=AIMessageChunk(**pieces[index]))

    # -- LangChain's chat model interface -------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message, chunks = self._message(messages, stop)
        self._sleep(chunks)
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message, chunks = self._message(messages, stop)
        await self._asleep(chunks)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Stream the answer one character (or tool call) at a time (sync)."""
        yield from self._pace(self._chunks(messages, stop), run_manager)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        """Stream the answer one character (or tool call) at a time (native async)."""
        async for chunk in self._apace(self._chunks(messages, stop), run_manager):
            yield chunk
