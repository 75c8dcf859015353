"""What the loopback server answers on ``POST /v1/chat/completions``: pure functions.

The server is a deterministic stand-in for a model, not a model: it never reads the meaning
of a prompt. Its rules, all generic:

- **Text**: the text of the last ``user`` message (text parts joined, images ignored), or the
  server's ``answer`` (a string, or a function of that text); limited by ``max_tokens``
  (``finish_reason="length"``) and cut at the first stop sequence, like the completions
  endpoint.
- **Tools**: when tools are offered and ``tool_choice`` is not ``"none"``, the server calls one
  if the choice forces it (``"required"`` or a named function: that one), or, with ``"auto"``
  (or no choice), when the last message is the user's (a tool result gets a text answer).
  Arguments are filled from the tool's JSON schema (:func:`fill`): strings get the answer text,
  numbers 0, booleans false, arrays [], enums their first value, nested objects recursively.
- **JSON**: ``response_format`` ``json_schema`` answers a JSON document filled from the
  schema; ``json_object`` answers ``{"echo": text}``.
- **Usage**: tokens (:func:`~tests.support.openai_server.tokenize`) of every message's text
  in, of the answer (or the tool arguments) out; ``prompt_tokens_details.cached_tokens`` and
  ``completion_tokens_details.reasoning_tokens`` when the server is told to report them.

Example:
    >>> fill({"type": "object", "properties": {"n": {"type": "integer"}, "s": {"type": "string"}}}, "hi")
    {'n': 0, 's': 'hi'}
"""  # noqa: E501

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.support.faults import Fault, tokenize, usage

__all__ = [
    "ChatAnswer",
    "ChatCompletionsMixin",
    "fill",
    "invalid_request",
    "last_user_text",
    "plan_answer",
    "text_of",
]

_ROLES = {"system", "developer", "user", "assistant", "tool", "function"}


def text_of(content: Any) -> str:
    """The text of a message's content (a string, or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def last_user_text(messages: list[dict[str, Any]]) -> str:
    """The text of the last ``user`` message ("" when there is none)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def _message_problem(index: int, message: Any) -> str | None:
    if not isinstance(message, dict) or message.get("role") not in _ROLES:
        return f"messages[{index}] must have a role in {sorted(_ROLES)}"
    if message["role"] == "tool" and not isinstance(message.get("tool_call_id"), str):
        return f"messages[{index}] (tool) must have a tool_call_id"
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(call.get("id"), str) or not isinstance(function, dict):
            return f"messages[{index}].tool_calls entries need an id and a function"
        try:
            json.loads(function.get("arguments") or "{}")
        except ValueError:
            return f"messages[{index}].tool_calls arguments must be JSON"
    return None


def invalid_request(body: Any) -> str | None:
    """Why OpenAI would answer 400 to this body, or None when it is well-formed."""
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        return "body must be JSON with a model"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty list"
    problems = (_message_problem(index, message) for index, message in enumerate(messages))
    return next((problem for problem in problems if problem is not None), None)


def fill(schema: Any, text: str) -> Any:
    """A value that satisfies ``schema`` (JSON schema), with ``text`` for strings."""
    if not isinstance(schema, dict):
        return text
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [
                s for s in schema[key] if not (isinstance(s, dict) and s.get("type") == "null")
            ]
            return fill(options[0] if options else {}, text)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        return {name: fill(sub, text) for name, sub in properties.items()}
    return {"integer": 0, "number": 0, "boolean": False, "array": [], "null": None}.get(kind, text)


@dataclass
class ChatAnswer:
    """What to answer: text, or tool calls (name, arguments JSON)."""

    text: str = ""
    tool_calls: list[tuple[str, str]] = field(default_factory=list)


def _forced_tool(
    tools: list[dict[str, Any]], choice: Any, messages: list[dict[str, Any]]
) -> dict[str, Any] | None:
    if not tools or choice == "none":
        return None
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        return next((t for t in tools if (t.get("function") or {}).get("name") == name), None)
    if choice == "required" or messages[-1].get("role") == "user":
        return tools[0]
    return None


def plan_answer(body: dict[str, Any], text: str) -> ChatAnswer:
    """Tool calls or text, by the module's rules (``text``: the answer text before stop)."""
    messages = body["messages"]
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
    tool = _forced_tool(tools, body.get("tool_choice"), messages)
    if tool is not None:
        function = tool.get("function") or {}
        arguments = fill(function.get("parameters") or {"type": "object"}, text)
        return ChatAnswer(
            tool_calls=[(function.get("name", ""), json.dumps(arguments, ensure_ascii=False))]
        )
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        return ChatAnswer(text=json.dumps(fill(schema, text), ensure_ascii=False))
    if response_format.get("type") == "json_object":
        return ChatAnswer(text=json.dumps({"echo": text}, ensure_ascii=False))
    return ChatAnswer(text=text)


class ChatCompletionsMixin:
    """The server's ``/v1/chat/completions`` handler (the rules of the module docstring)."""

    usage: tuple[int, int] | None
    cached_tokens: int | None
    reasoning_tokens: int | None
    report_stop_reason: bool
    time_to_first_token: float
    time_per_token: float
    _ids: itertools.count[int]

    if TYPE_CHECKING:

        def _answer_for(self, prompt: str) -> str: ...
        def _limit(self, full: str, body: dict[str, Any]) -> tuple[str, str, str | None]: ...
        def _envelope(self, body: dict[str, Any], completion_id: str) -> dict[str, Any]: ...
        async def _send(self, writer: asyncio.StreamWriter, status: int, body: str) -> None: ...
        async def _write_events(
            self,
            writer: asyncio.StreamWriter,
            events: list[tuple[bool, dict[str, Any]]],
            fault: Fault | None,
        ) -> None: ...

    def _chatusage(self, body: dict[str, Any], answer: ChatAnswer, text: str) -> dict[str, Any]:
        prompt_tokens = sum(len(tokenize(text_of(m.get("content")))) for m in body["messages"])
        completion_tokens = len(tokenize(text)) + sum(
            len(tokenize(arguments)) for _, arguments in answer.tool_calls
        )
        counts: dict[str, Any] = usage(*(self.usage or (prompt_tokens, completion_tokens)))
        if self.cached_tokens is not None:
            counts["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        if self.reasoning_tokens is not None:
            counts["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
        return counts

    async def _chat(
        self, writer: asyncio.StreamWriter, body: dict[str, Any], fault: Fault | None
    ) -> None:
        answer = plan_answer(body, self._answer_for(last_user_text(body["messages"])))
        stop_reason: str | None = None
        if answer.tool_calls:
            text, finish = "", "tool_calls"
        else:
            text, finish, stop_reason = self._limit(answer.text, body)
        usage = self._chatusage(body, answer, text)
        envelope = self._envelope(body, f"chatcmpl-{next(self._ids)}")
        envelope["object"] = "chat.completion"
        call_ids = [f"call_{next(self._ids)}" for _ in answer.tool_calls]
        extra = {"stop_reason": stop_reason} if self.report_stop_reason else {}
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": text or None}
            if answer.tool_calls:
                message["tool_calls"] = [
                    {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
                    for cid, (name, args) in zip(call_ids, answer.tool_calls, strict=True)
                ]
            else:
                message["content"] = text
            choice = {"index": 0, "message": message, "finish_reason": finish, **extra}
            count = len(tokenize(text)) or 1
            delay = self.time_to_first_token + self.time_per_token * (count - 1)
            if delay:
                await asyncio.sleep(delay)
            await self._send(
                writer, 200, json.dumps({**envelope, "choices": [choice], "usage": usage})
            )
            return
        envelope["object"] = "chat.completion.chunk"
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def delta(content: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": content, "finish_reason": finish_reason}
            if finish_reason is not None:
                choice.update(extra)
            return {**envelope, "choices": [choice], **({"usage": None} if include_usage else {})}

        events = [(False, delta({"role": "assistant", "content": ""}))]
        events += [(True, delta({"content": piece})) for piece in tokenize(text)]
        for index, (cid, (name, args)) in enumerate(zip(call_ids, answer.tool_calls, strict=True)):
            head = {
                "index": index,
                "id": cid,
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
            events.append((True, delta({"tool_calls": [head]})))
            half = len(args) // 2
            for part in (args[:half], args[half:]):  # arguments split across deltas
                tail = {"index": index, "function": {"arguments": part}}
                events.append((True, delta({"tool_calls": [tail]})))
        events.append((False, delta({}, finish)))
        if include_usage:
            events.append((False, {**envelope, "choices": [], "usage": usage}))
        await self._write_events(writer, events, fault)
