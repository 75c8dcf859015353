"""Content capture: the opt-in policy, redaction, truncation and the message JSON shape."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from langchain_otel.environment_variables import (
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
)
from langchain_otel.exceptions import ConfigurationError

__all__ = ["ContentPolicy", "clean_text"]

_TRUNCATED = "…[truncated]"
_SPAN_VALUES = {"true", "span_only", "span_and_event"}
_EVENT_VALUES = {"true", "event_only", "span_and_event"}
_OFF_VALUES = {"", "false", "no_content"}
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


def clean_text(text: str) -> str:
    r"""``text`` with any invalid unicode (lone surrogates) replaced, so exporters never fail.

    Example:
        >>> clean_text("ok \ud800")
        'ok ?'
    """
    if text.isascii():
        return text
    return text.encode("utf-8", "replace").decode("utf-8")


@dataclass(frozen=True, slots=True)
class ContentPolicy:
    """Where content goes (spans, logs, both or nowhere), redacted then truncated.

    Example:
        >>> policy = ContentPolicy.resolve(True, max_length=5, redact=str.upper)
        >>> policy.text("hello world")
        'HELLO…[truncated]'
    """

    on_spans: bool = False
    on_logs: bool = False
    max_length: int = 8192
    redact: Callable[[str], str] | None = None

    @property
    def enabled(self) -> bool:
        """Whether any content is captured at all."""
        return self.on_spans or self.on_logs

    @classmethod
    def resolve(
        cls,
        capture: bool | str | None,
        *,
        max_length: int = 8192,
        redact: Callable[[str], str] | None = None,
    ) -> ContentPolicy:
        """The policy for an argument, falling back to the environment variable when None."""
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            msg = f"content_max_length: expected an int >= 1, got {max_length!r}"
            raise ConfigurationError(msg)
        if redact is not None and not callable(cast("object", redact)):
            msg = f"redact: expected a callable str -> str, got {type(redact).__name__}"
            raise ConfigurationError(msg)
        source = "capture_content"
        if capture is None:
            source = OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT
            capture = os.environ.get(source, "")
        if isinstance(capture, bool):
            return cls(capture, capture, max_length, redact)
        if not isinstance(cast("object", capture), str):
            msg = f"capture_content: expected a bool or None, got {type(capture).__name__}"
            raise ConfigurationError(msg)
        value = capture.strip().lower()
        if value not in _SPAN_VALUES | _EVENT_VALUES | _OFF_VALUES:
            msg = (
                f"{source}={capture!r}: use one of true, false, SPAN_ONLY, EVENT_ONLY, "
                "SPAN_AND_EVENT, NO_CONTENT"
            )
            raise ConfigurationError(msg)
        return cls(value in _SPAN_VALUES, value in _EVENT_VALUES, max_length, redact)

    def text(self, value: Any) -> str:
        """One piece of content: stringified, redacted, truncated, valid unicode."""
        text = value if isinstance(value, str) else _to_text(value)
        if self.redact is not None:
            text = str(self.redact(text))
        if len(text) > self.max_length:
            text = text[: self.max_length] + _TRUNCATED
        return clean_text(text)

    # -- the conventions' message shape ------------------------------------------------

    def prompt_messages(self, prompts: Sequence[str]) -> str:
        """``gen_ai.input.messages`` for a text-completion prompt."""
        return _dumps([{"role": "user", "parts": [self._text_part(p)]} for p in prompts])

    def chat_messages(self, messages: Iterable[Any]) -> tuple[str, str | None]:
        """``gen_ai.input.messages`` and ``gen_ai.system_instructions`` for chat messages."""
        inputs: list[dict[str, Any]] = []
        system: list[dict[str, Any]] = []
        for message in messages:
            role = _ROLES.get(getattr(message, "type", ""), getattr(message, "type", "user"))
            parts = self._parts(message)
            if role == "system":
                system.extend(parts)
            else:
                inputs.append({"role": role, "parts": parts})
        return _dumps(inputs), (_dumps(system) if system else None)

    def input_messages(self, chat: bool, inputs: list[Any]) -> tuple[str, str | None]:
        """A model run's inputs: chat messages, or the string prompts of a text model."""
        if chat:
            return self.chat_messages(inputs)
        return self.prompt_messages([p for p in inputs if isinstance(p, str)]), None

    def output_messages(self, generations: Sequence[Any], finish: Sequence[str]) -> str:
        """``gen_ai.output.messages`` for one run's generations."""
        out = []
        for index, generation in enumerate(generations):
            message = getattr(generation, "message", None)
            if message is not None:
                parts = self._parts(message)
            else:
                parts = [self._text_part(getattr(generation, "text", ""))]
            entry: dict[str, Any] = {"role": "assistant", "parts": parts}
            if index < len(finish):
                entry["finish_reason"] = finish[index]
            out.append(entry)
        return _dumps(out)

    def _text_part(self, text: Any) -> dict[str, Any]:
        return {"type": "text", "content": self.text(text)}

    def _parts(self, message: Any) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        content = getattr(message, "content", "")
        if isinstance(content, str):
            if content:
                parts.append(self._text_part(content))
        elif isinstance(content, list):
            for block in content:
                if isinstance(block, str):
                    parts.append(self._text_part(block))
                elif isinstance(block, dict) and block.get("type") == "text":
                    parts.append(self._text_part(block.get("text", "")))
        for call in getattr(message, "tool_calls", None) or ():
            if isinstance(call, dict):
                parts.append(
                    {
                        "type": "tool_call",
                        "id": call.get("id"),
                        "name": call.get("name"),
                        "arguments": self.text(call.get("args", {})),
                    }
                )
        if getattr(message, "type", "") == "tool":
            parts = [
                {
                    "type": "tool_call_response",
                    "id": getattr(message, "tool_call_id", None),
                    "response": self.text(content),
                }
            ]
        return parts


def _to_text(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
