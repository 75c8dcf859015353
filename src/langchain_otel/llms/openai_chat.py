"""OpenAICompatibleChatModel: a real chat model over HTTP, OpenAI's chat completions API.

``POST {base_url}/chat/completions`` (OpenAI, vLLM, llama.cpp server, Ollama, LM Studio,
TGI), JSON or Server-Sent Events, through the same HTTP core as
:class:`~langchain_otel.llms.OpenAICompatibleLLM` (pool, retries, errors, secrets, trace
context). This module holds the chat format's use, tools and structured output.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LangSmithParams, LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import Field

from langchain_otel.llms._chat_wire import (
    ChatStreamState,
    build_chat_payload,
    parse_chat_completion,
)
from langchain_otel.llms._exchange import StateAdapter, StreamDecoder
from langchain_otel.llms._http_model import HTTPModelBase

__all__ = ["OpenAICompatibleChatModel"]

_PATH = "chat/completions"

ToolLike = dict[str, Any] | type | Callable[..., Any] | BaseTool


def _tool_choice(choice: Any, tools: Sequence[Mapping[str, Any]]) -> Any:
    """LangChain's tool_choice spellings in the API's: "any"/True → "required", a name → forced."""
    if choice is None or choice in ("auto", "none", "required"):
        return choice
    if choice == "any":
        return "required"
    if choice is True:
        if len(tools) != 1:
            raise ValueError("tool_choice=True needs exactly one tool; name the tool instead")
        return {"type": "function", "function": {"name": tools[0]["function"]["name"]}}
    if isinstance(choice, str):
        return {"type": "function", "function": {"name": choice}}
    if isinstance(choice, Mapping):
        return dict(choice)
    raise ValueError(
        f"tool_choice must be 'auto', 'none', 'any', a tool name or a dict, got {choice!r}"
    )


def _json_schema(schema: dict[str, Any] | type) -> dict[str, Any]:
    """The schema as JSON schema, as LangChain reports it in ``ls_structured_output_format``."""
    try:
        from langchain_core.utils.function_calling import (  # noqa: PLC0415 - newer cores only
            convert_to_json_schema,
        )
    except ImportError:  # langchain-core before 0.3.3x: the same shape from the tool schema
        function = convert_to_openai_tool(schema)["function"]
        described = {"description": function["description"]} if function.get("description") else {}
        return {"title": function["name"], **described, **function.get("parameters", {})}
    return convert_to_json_schema(schema)


class _ChatChunks(StateAdapter):
    """The stream decoder of the chat API: ChatGenerationChunks from a ChatStreamState."""

    _state: ChatStreamState

    def feed(self, data: str) -> ChatGenerationChunk | None:
        message = self._state.feed(data)
        return ChatGenerationChunk(message=message) if message is not None else None

    def finish(self) -> ChatGenerationChunk:
        message = self._state.finish()
        info = {"finish_reason": message.response_metadata.get("finish_reason")}
        return ChatGenerationChunk(message=message, generation_info=info)


class OpenAICompatibleChatModel(HTTPModelBase, BaseChatModel):
    """A LangChain chat model calling an OpenAI-style ``POST {base_url}/chat/completions``.

    The same fields, pool, retries, timeouts, errors and secret rules as
    :class:`~langchain_otel.llms.OpenAICompatibleLLM` (one HTTP core serves both), plus:

    - messages of every LangChain type: system, human, AI (with its tool calls), tool
      results, function and generic chat messages, ``name``, list content with text and
      image parts (``image_url`` parts, or LangChain's standard ``image`` blocks);
    - :meth:`bind_tools` (OpenAI function tools; ``tool_choice`` ``"auto"``, ``"none"``,
      ``"any"``/``"required"``, a tool name, or ``True`` for the only tool), parsed into
      ``AIMessage.tool_calls``; streamed deltas become ``tool_call_chunks``; malformed
      arguments, a missing name or id become ``invalid_tool_calls`` (never an exception);
    - :meth:`with_structured_output` by ``method="function_calling"`` (default),
      ``"json_schema"`` (``response_format`` with the schema) or ``"json_mode"``;
    - ``usage_metadata`` on invoke and on the last streamed chunk, with
      ``input_token_details.cache_read`` and ``output_token_details.reasoning`` when the
      server sends them; ``response_metadata`` with ``model_name``, ``finish_reason``, ``id``;
    - stop sequences (``stop`` per call, or the ``stop`` field) kept in the output, restored
      when the server strips them (the rule of :mod:`langchain_otel.llms._stop`).

    Example:
        >>> chat = OpenAICompatibleChatModel(
        ...     base_url="http://127.0.0.1:8000/v1", model="my-model", api_key="sk-secret"
        ... )
        >>> chat._llm_type, "sk-secret" in repr(chat)
        ('openai_compatible', False)
        >>> chat.close()
    """

    stop: list[str] | None = Field(
        default=None, description="Stop sequences used when a call passes none."
    )

    @property
    def _llm_type(self) -> str:
        return "openai_compatible"

    @property
    def _url(self) -> str:
        return f"{self.base_url}/{_PATH}"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return self._ls_params("chat", stop or self.stop, kwargs)

    # -- tools and structured output ------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[ToolLike],
        *,
        tool_choice: str | bool | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer ``tools`` (any LangChain tool form) to the model as OpenAI function tools.

        Example:
            >>> def add(a: int, b: int) -> int:
            ...     '''Add two numbers.'''
            ...     return a + b
            >>> chat = OpenAICompatibleChatModel(base_url="http://h/v1", model="m")
            >>> bound = chat.bind_tools([add], tool_choice="any")
            >>> bound.kwargs["tools"][0]["function"]["name"], bound.kwargs["tool_choice"]
            ('add', 'required')
        """
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        choice = _tool_choice(tool_choice, formatted)
        if choice is not None:
            kwargs["tool_choice"] = choice
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        method: Literal["function_calling", "json_schema", "json_mode"] = "function_calling",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Answers as ``schema`` (a pydantic class, TypedDict or JSON schema dict).

        ``method="function_calling"`` forces a tool named after the schema;
        ``"json_schema"`` sends the schema as ``response_format``; ``"json_mode"`` asks for
        a JSON object (say which keys in the prompt). ``include_raw=True`` returns
        ``{"raw", "parsed", "parsing_error"}``.

        Example:
            >>> from pydantic import BaseModel
            >>> class Joke(BaseModel):
            ...     '''A joke.'''
            ...     setup: str
            >>> chat = OpenAICompatibleChatModel(base_url="http://h/v1", model="m")
            >>> runnable = chat.with_structured_output(Joke, method="json_schema")
        """
        if kwargs:
            raise ValueError(f"unexpected arguments: {sorted(kwargs)}")
        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        output_format = {"kwargs": {"method": method}, "schema": _json_schema(schema)}
        parser: Runnable[Any, Any]
        if method == "function_calling":
            tool = convert_to_openai_tool(schema, strict=strict)
            name = tool["function"]["name"]
            llm = self.bind_tools(
                [tool], tool_choice=name, ls_structured_output_format=output_format
            )
            parser = (
                PydanticToolsParser(tools=[schema], first_tool_only=True)
                if is_pydantic
                else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
            )
        elif method in ("json_schema", "json_mode"):
            if method == "json_schema":
                function = convert_to_openai_tool(schema)["function"]
                json_schema = {"name": function["name"], "schema": function["parameters"]}
                if strict is not None:
                    json_schema["strict"] = strict
                response_format: dict[str, Any] = {
                    "type": "json_schema",
                    "json_schema": json_schema,
                }
            else:
                response_format = {"type": "json_object"}
            llm = self.bind(
                response_format=response_format, ls_structured_output_format=output_format
            )
            parser = (
                PydanticOutputParser(pydantic_object=schema) if is_pydantic else JsonOutputParser()
            )
        else:
            raise ValueError(
                f"method must be 'function_calling', 'json_schema' or 'json_mode', got {method!r}"
            )
        if not include_raw:
            return llm | parser
        parsed = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        fallback = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parsed.with_fallbacks(
            [fallback], exception_key="parsing_error"
        )

    # -- the chat completions wire format ------------------------------------------------------

    def _payload(
        self,
        messages: Sequence[BaseMessage],
        stop: list[str] | None,
        kwargs: Mapping[str, Any],
        *,
        stream: bool,
    ) -> dict[str, Any]:
        return self._body(build_chat_payload, stop, kwargs, stream=stream, messages=messages)

    def _parser(self, stop: list[str] | None) -> Callable[[bytes, str], Any]:
        return self._body_parser(_PATH, parse_chat_completion, stop)

    def _decoder(self, stop: list[str] | None) -> Callable[[], StreamDecoder]:
        return self._stream_decoder(_PATH, ChatStreamState, _ChatChunks, stop)

    @staticmethod
    def _result(message: AIMessage) -> ChatResult:
        info = {"finish_reason": message.response_metadata.get("finish_reason")}
        output = {"model_name": message.response_metadata.get("model_name")}
        return ChatResult(
            generations=[ChatGeneration(message=message, generation_info=info)], llm_output=output
        )

    # -- LangChain's chat model interface -------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        stop = stop or self.stop
        payload = self._payload(messages, stop, kwargs, stream=False)
        message: AIMessage = self._post(_PATH, payload, self._parser(stop))
        return self._result(message)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        stop = stop or self.stop
        payload = self._payload(messages, stop, kwargs, stream=False)
        message: AIMessage = await self._apost(_PATH, payload, self._parser(stop))
        return self._result(message)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        stop = stop or self.stop
        payload = self._payload(messages, stop, kwargs, stream=True)
        for chunk in self._post_stream(_PATH, payload, self._decoder(stop)):
            if run_manager is not None:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        stop = stop or self.stop
        payload = self._payload(messages, stop, kwargs, stream=True)
        async for chunk in self._apost_stream(_PATH, payload, self._decoder(stop)):
            if run_manager is not None:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
