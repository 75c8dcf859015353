"""The OpenAI answer envelope, shared by the completions and chat wire formats.

Loading a JSON body or one SSE event's data into an object (with errors that quote what was
received), the first choice, the server's error object, and the content-type checks.

Example:
    >>> load_answer(b'{"choices": [{"index": 0}]}', url="u", content_type="application/json")
    {'choices': [{'index': 0}]}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from langchain_otel.exceptions import LLMResponseError

__all__ = [
    "first_choice",
    "is_event_stream",
    "load_answer",
    "load_event",
    "not_an_event_stream",
    "preview",
    "server_error",
    "str_or_none",
]

PREVIEW_CHARS: Final = 200


def preview(text: str | bytes, limit: int = PREVIEW_CHARS) -> str:
    """``text`` quoted and truncated, for error messages.

    Example:
        >>> preview("x" * 300, limit=5)
        "'xxxxx' … (295 more characters)"
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r} … ({len(text) - limit} more characters)"


def first_choice(answer: Mapping[str, Any]) -> Mapping[str, Any] | None:
    choices = answer.get("choices")
    if not isinstance(choices, list):
        return None
    for choice in choices:
        if isinstance(choice, Mapping) and choice.get("index", 0) == 0:
            return choice
    return None


def str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def server_error(answer: Mapping[str, Any]) -> str | None:
    error = answer.get("error")
    if error is None:
        return None
    if isinstance(error, Mapping):
        return str(error.get("message") or error)
    return str(error)


def load_answer(content: bytes, *, url: str, content_type: str) -> Mapping[str, Any]:
    """The JSON object of a non-streamed answer.

    Raises:
        LLMResponseError: The body is not JSON, not an object, or an error object; the
            message quotes what was received.

    Example:
        >>> load_answer(b'{"id": "c1"}', url="u", content_type="application/json")
        {'id': 'c1'}
    """
    try:
        answer = json.loads(content)
    except ValueError:
        raise LLMResponseError(
            f"expected a JSON completion from {url}, received {content_type or 'no content type'}"
            f" {preview(content)}; check that base_url points at an OpenAI-compatible API"
            " (it usually ends in /v1)"
        ) from None
    if not isinstance(answer, Mapping):
        raise LLMResponseError(f"expected a JSON object from {url}, received {preview(content)}")
    if (message := server_error(answer)) is not None:
        raise LLMResponseError(f"{url} answered with an error: {preview(message)}")
    return answer


def load_event(data: str, *, url: str, chunks: int) -> Mapping[str, Any] | None:
    """The JSON object of one SSE event's ``data``; None for ``[DONE]``.

    Raises:
        LLMResponseError: The data is neither ``[DONE]`` nor a JSON object, or is an error.

    Example:
        >>> load_event("[DONE]", url="u", chunks=0) is None
        True
        >>> load_event("{oops", url="u", chunks=2)
        Traceback (most recent call last):
        ...
        langchain_otel.exceptions.LLMResponseError: malformed SSE event from u: received data: '{oops' after 2 chunk(s); expected JSON or [DONE]
    """  # noqa: E501
    if data.strip() == "[DONE]":
        return None
    try:
        event = json.loads(data)
    except ValueError:
        raise LLMResponseError(
            f"malformed SSE event from {url}: received data: {preview(data)}"
            f" after {chunks} chunk(s); expected JSON or [DONE]"
        ) from None
    if not isinstance(event, Mapping):
        raise LLMResponseError(f"malformed SSE event from {url}: {preview(data)}")
    if (message := server_error(event)) is not None:
        raise LLMResponseError(f"{url} reported an error mid-stream: {preview(message)}")
    return event


def is_event_stream(content_type: str) -> bool:
    """True for ``text/event-stream`` (parameters ignored).

    Example:
        >>> is_event_stream("text/event-stream; charset=utf-8"), is_event_stream("text/html")
        (True, False)
    """
    return content_type.partition(";")[0].strip().lower() == "text/event-stream"


def not_an_event_stream(url: str, content_type: str, content: bytes) -> LLMResponseError:
    """The error for a stream request answered with something else, quoting it.

    Example:
        >>> print(not_an_event_stream("u", "text/html", b"<h1>oops</h1>"))
        expected a server-sent event stream from u, received text/html '<h1>oops</h1>'; check that base_url points at an OpenAI-compatible API that supports "stream": true
    """  # noqa: E501
    return LLMResponseError(
        f"expected a server-sent event stream from {url}, received"
        f" {content_type or 'no content type'} {preview(content)}; check that base_url points"
        ' at an OpenAI-compatible API that supports "stream": true'
    )
