"""The OpenAI chat completions wire format: messages in, AIMessage(Chunk)s out, no I/O.

:func:`to_openai_messages` turns LangChain messages of every type into the API's message
objects; :func:`build_chat_payload` makes the request body; :func:`parse_chat_completion`
turns a JSON answer into an ``AIMessage``; a :class:`ChatStreamState` folds the SSE events of
a stream into ``AIMessageChunk``s. Content follows the stop rule of
:mod:`langchain_otel.llms._stop`, exactly like the completions API.

Tool calls: well-formed ones become ``tool_calls``; arguments that are not a JSON object, a
missing name or a missing id become ``invalid_tool_calls`` whose ``error`` quotes what was
received (never an exception). Streamed tool-call deltas become ``tool_call_chunks`` (with
their ``index``), which LangChain aggregates. A ``finish_reason`` outside
:data:`FINISH_REASONS` is an error naming it.

Example:
    >>> from langchain_core.messages import HumanMessage, SystemMessage
    >>> to_openai_messages([SystemMessage("be brief"), HumanMessage("hi", name="ann")])
    [{'role': 'system', 'content': 'be brief'}, {'role': 'user', 'content': 'hi', 'name': 'ann'}]
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk

from langchain_otel.exceptions import LLMResponseError
from langchain_otel.llms._envelope import first_choice, load_answer, load_event, preview
from langchain_otel.llms._envelope import str_or_none as _str
from langchain_otel.llms._messages import LAST_CHUNK, message_text, usage_metadata
from langchain_otel.llms._stop import MISSING, TextFolder, apply_stop

__all__ = [
    "FINISH_REASONS",
    "ChatStreamState",
    "build_chat_payload",
    "parse_chat_completion",
    "to_openai_messages",
]

FINISH_REASONS: Final = frozenset(
    {"stop", "length", "tool_calls", "content_filter", "function_call", "eos_token"}
)
"""OpenAI's finish reasons, and TGI's ``eos_token`` (its natural end of text)."""


# -- messages -----------------------------------------------------------------------------


def _image_part(part: Mapping[str, Any]) -> dict[str, Any] | None:
    """LangChain's standard ``image`` block (v1 and v0.3 shapes) as an ``image_url`` part."""
    data = part.get("base64") or (part.get("data") if part.get("source_type") == "base64" else None)
    mime = part.get("mime_type") or "image/png"
    url: Any = f"data:{mime};base64,{data}" if data else part.get("url")
    return {"type": "image_url", "image_url": {"url": url}} if url else None


def _content_part(part: Any) -> dict[str, Any] | None:
    """One content part in the API's shape (None: not for the wire, e.g. a tool_use echo)."""
    if isinstance(part, str):
        part = {"type": "text", "text": part}
    if not isinstance(part, Mapping):
        return None
    kind = part.get("type")
    converted: dict[str, Any] | None = dict(part)
    if kind == "text":
        converted = {"type": "text", "text": str(part.get("text", ""))}
    elif kind == "image_url":
        converted = {"type": "image_url", "image_url": part.get("image_url")}
    elif kind == "image":
        converted = _image_part(part)
    elif kind in ("tool_use", "tool_call", "function_call"):
        converted = None  # carried by AIMessage.tool_calls
    return converted


def _user_content(message: BaseMessage) -> str | list[dict[str, Any]]:
    if isinstance(message.content, str):
        return message.content
    return [p for p in (_content_part(part) for part in message.content) if p is not None]


def _assistant(message: AIMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": "assistant", "content": message_text(message) or None}
    calls = [
        {
            "id": call.get("id"),
            "type": "function",
            "function": {"name": call["name"], "arguments": json.dumps(call["args"])},
        }
        for call in message.tool_calls
    ]
    calls += [
        {
            "id": call.get("id"),
            "type": "function",
            "function": {"name": call.get("name") or "", "arguments": call.get("args") or ""},
        }
        for call in message.invalid_tool_calls
    ]
    if calls:
        out["tool_calls"] = calls
    elif out["content"] is None:
        out["content"] = ""
    return out


def to_openai_message(message: BaseMessage) -> dict[str, Any]:
    """One LangChain message as a chat completions message object.

    Raises:
        TypeError: A message type the API has no role for.
    """
    if isinstance(message, SystemMessage):
        out: dict[str, Any] = {"role": "system", "content": _user_content(message)}
    elif isinstance(message, HumanMessage):
        out = {"role": "user", "content": _user_content(message)}
    elif isinstance(message, AIMessage):
        out = _assistant(message)
    elif isinstance(message, ToolMessage):
        out = {
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "content": message_text(message),
        }
    elif isinstance(message, FunctionMessage):
        out = {"role": "function", "name": message.name, "content": message_text(message)}
    elif isinstance(message, ChatMessage):
        out = {"role": message.role, "content": _user_content(message)}
    else:
        raise TypeError(f"cannot send a {type(message).__name__} to a chat completions API")
    if message.name and "name" not in out and not isinstance(message, ToolMessage):
        out["name"] = message.name
    return out


def to_openai_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Every message, in order (see :func:`to_openai_message`)."""
    return [to_openai_message(message) for message in messages]


def build_chat_payload(
    *,
    model: str,
    messages: Sequence[BaseMessage],
    stop: Sequence[str] | None,
    params: Mapping[str, Any],
    stream: bool,
    stream_usage: bool = True,
) -> dict[str, Any]:
    """The JSON body of ``POST /chat/completions``; ``params`` holds the set parameters.

    Example:
        >>> from langchain_core.messages import HumanMessage
        >>> build_chat_payload(model="m", messages=[HumanMessage("hi")], stop=["."],
        ...                    params={"temperature": 0}, stream=True)["stream_options"]
        {'include_usage': True}
    """
    payload: dict[str, Any] = {"model": model, "messages": to_openai_messages(messages)}
    payload.update({key: value for key, value in params.items() if value is not None})
    if stop:
        payload["stop"] = list(stop)
    if stream:
        payload["stream"] = True
        if stream_usage:
            payload["stream_options"] = {"include_usage": True}
    return payload


# -- answers ------------------------------------------------------------------------------


def chat_usage(raw: Any) -> UsageMetadata | None:
    """OpenAI's usage object as LangChain's ``UsageMetadata`` (cached/reasoning details).

    Example:
        >>> chat_usage({"prompt_tokens": 9, "completion_tokens": 4,
        ...             "prompt_tokens_details": {"cached_tokens": 3},
        ...             "completion_tokens_details": {"reasoning_tokens": 2}})
        {'input_tokens': 9, 'output_tokens': 4, 'total_tokens': 13, 'input_token_details': {'cache_read': 3}, 'output_token_details': {'reasoning': 2}}
    """  # noqa: E501
    if not isinstance(raw, Mapping):
        return None
    prompt, completion = raw.get("prompt_tokens"), raw.get("completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    details_in = raw.get("prompt_tokens_details")
    details_out = raw.get("completion_tokens_details")
    cached = details_in.get("cached_tokens") if isinstance(details_in, Mapping) else None
    reasoning = details_out.get("reasoning_tokens") if isinstance(details_out, Mapping) else None
    return usage_metadata(
        prompt,
        completion,
        input_token_details={"cache_read": cached} if isinstance(cached, int) else None,
        output_token_details={"reasoning": reasoning} if isinstance(reasoning, int) else None,
    )


def _finish_reason(choice: Mapping[str, Any], url: str) -> str | None:
    reason = choice.get("finish_reason")
    if reason is None:
        return None
    if not isinstance(reason, str) or reason not in FINISH_REASONS:
        raise LLMResponseError(
            f"unknown finish_reason {reason!r} from {url}; expected one of"
            f" {', '.join(sorted(FINISH_REASONS))}"
        )
    return reason


def _tool_calls(raw: Any) -> tuple[list[Any], list[Any]]:
    """(tool_calls, invalid_tool_calls) of a message's ``tool_calls`` list."""
    valid: list[Any] = []
    invalid: list[Any] = []
    for item in raw if isinstance(raw, list) else []:
        function = item.get("function") if isinstance(item, Mapping) else None
        if not isinstance(function, Mapping):
            invalid.append(
                invalid_tool_call(error=f"not a function tool call: {preview(str(item))}")
            )
            continue
        name, arguments, call_id = (
            _str(function.get("name")),
            function.get("arguments"),
            item.get("id"),
        )
        args_text = arguments if isinstance(arguments, str) else json.dumps(arguments)
        try:
            args = json.loads(args_text) if args_text.strip() else {}
        except ValueError:
            args = None
        problem = (
            "the tool call has no name"
            if not name
            else "the tool call has no id"
            if not isinstance(call_id, str) or not call_id
            else None
            if isinstance(args, dict)
            else "the arguments are not a JSON object"
        )
        if problem is None:
            valid.append(tool_call(name=name or "", args=args or {}, id=call_id))
        else:
            invalid.append(
                invalid_tool_call(
                    name=name,
                    args=args_text,
                    id=_str(call_id),
                    error=f"{problem}; received {preview(json.dumps(item))}",
                )
            )
    return valid, invalid


def _metadata(answer: Mapping[str, Any], model: str | None, finish: str | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"model_name": model, "finish_reason": finish}
    if (answer_id := _str(answer.get("id"))) is not None:
        metadata["id"] = answer_id
    if fingerprint := _str(answer.get("system_fingerprint")):
        metadata["system_fingerprint"] = fingerprint
    return metadata


def parse_chat_completion(
    content: bytes,
    *,
    url: str,
    content_type: str,
    stop: Sequence[str] | None,
    requested_model: str,
    restore_stop: bool = True,
) -> AIMessage:
    """Parse a non-streamed chat answer into an ``AIMessage`` (stop rule applied).

    Raises:
        LLMResponseError: Not JSON, not a chat completion, or an unknown finish_reason.

    Example:
        >>> body = (b'{"id": "c1", "model": "m-1", "choices": [{"index": 0, "message": '
        ...         b'{"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}')
        >>> message = parse_chat_completion(body, url="u", content_type="application/json",
        ...                                 stop=["!"], requested_model="m")
        >>> message.content, message.response_metadata["model_name"]
        ('hi!', 'm-1')
    """
    answer = load_answer(content, url=url, content_type=content_type)
    choice = first_choice(answer)
    message = choice.get("message") if choice is not None else None
    if choice is None or not isinstance(message, Mapping):
        raise LLMResponseError(
            f"expected a chat completion with choices[0].message from {url}, received"
            f" {preview(content)}"
        )
    finish = _finish_reason(choice, url)
    raw_text = message.get("content")
    text = raw_text if isinstance(raw_text, str) else ""
    valid, invalid = _tool_calls(message.get("tool_calls"))
    if not valid and not invalid:
        text = apply_stop(text, stop, finish, choice.get("stop_reason", MISSING), restore_stop)
    model = _str(answer.get("model")) or requested_model
    extra = {"refusal": message["refusal"]} if _str(message.get("refusal")) else {}
    return AIMessage(
        content=text,
        tool_calls=valid,
        invalid_tool_calls=invalid,
        usage_metadata=chat_usage(answer.get("usage")),
        response_metadata=_metadata(answer, model, finish),
        additional_kwargs=extra,
        id=_str(answer.get("id")),
    )


@dataclass
class ChatStreamState:
    """Folds the SSE events of one streamed chat answer into ``AIMessageChunk``s.

    Metadata (model, finish reason, id, usage) goes on the last chunk only, so that
    LangChain's chunk addition never concatenates it.

    Example:
        >>> state = ChatStreamState(url="u", stop=["."], requested_model="m")
        >>> event = '{"id": "c1", "choices": [{"index": 0, "delta": {"content": "Hi. Bye"}}]}'
        >>> state.feed(event).content
        'Hi.'
        >>> state.feed("[DONE]") is None
        True
        >>> state.finish().response_metadata["finish_reason"]
        'stop'
    """

    url: str
    stop: Sequence[str] | None
    requested_model: str
    restore_stop: bool = True
    chunks: int = 0
    """How many chunks were handed out."""
    done: bool = False
    _folder: TextFolder = field(init=False)
    _answer: dict[str, Any] = field(default_factory=dict)
    _finish: str | None = None
    _stop_reason: Any = MISSING
    _usage: UsageMetadata | None = None
    _tools: bool = False

    def __post_init__(self) -> None:
        self._folder = TextFolder(self.stop, restore=self.restore_stop)

    def feed(self, data: str) -> AIMessageChunk | None:
        """Take one event's ``data``; the chunk to emit, or None."""
        if self.done or not data:
            return None
        event = load_event(data, url=self.url, chunks=self.chunks)
        if event is None:
            self.done = True
            return None
        for key in ("id", "model", "system_fingerprint"):
            if key not in self._answer and _str(event.get(key)):
                self._answer[key] = event[key]
        if (usage := chat_usage(event.get("usage"))) is not None:
            self._usage = usage
        choice = first_choice(event)
        if choice is None:
            return None
        if (finish := _finish_reason(choice, self.url)) is not None:
            self._finish = finish
            self._stop_reason = choice.get("stop_reason", MISSING)
        delta = choice.get("delta")
        if not isinstance(delta, Mapping):
            return None
        piece = delta.get("content")
        text = self._folder.emit(piece) if isinstance(piece, str) else ""
        calls = [
            self._call_chunk(raw)
            for raw in delta.get("tool_calls") or []
            if isinstance(raw, Mapping)
        ]
        if not text and not calls:
            return None
        self._tools = self._tools or bool(calls)
        self.chunks += 1
        return AIMessageChunk(content=text, tool_call_chunks=calls)

    @staticmethod
    def _call_chunk(raw: Mapping[str, Any]) -> Any:
        function = raw.get("function")
        if not isinstance(function, Mapping):
            function = {}
        arguments = function.get("arguments")
        index = raw.get("index")
        return tool_call_chunk(
            name=_str(function.get("name")),
            args=arguments if isinstance(arguments, str) else None,
            id=_str(raw.get("id")),
            index=index if isinstance(index, int) else None,
        )

    def finish(self) -> AIMessageChunk:
        """The last chunk: any stripped stop sequence, usage and response metadata.

        Raises:
            LLMResponseError: The stream ended without ``[DONE]`` or a finish reason.
        """
        if not self.done and self._finish is None and not self._folder.cut:
            raise LLMResponseError(
                f"the stream from {self.url} ended after {self.chunks} chunk(s) without a"
                " finish_reason or [DONE]"
            )
        finish = self._finish or "stop"
        tail = "" if self._tools else self._folder.tail(finish, self._stop_reason)
        model = _str(self._answer.get("model")) or self.requested_model
        return AIMessageChunk(
            content=tail,
            usage_metadata=self._usage,
            response_metadata=_metadata(self._answer, model, finish),
            **LAST_CHUNK,
        )
