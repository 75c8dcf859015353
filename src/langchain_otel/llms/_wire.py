"""The OpenAI completions wire format: pure functions shared by the sync and async paths.

Nothing here does I/O. The model builds the request body with :func:`build_payload`, parses
a JSON answer with :func:`parse_completion`, and feeds each SSE ``data`` field of a stream to
a :class:`StreamState`, which yields the text to emit and, at the end, the final chunk with
``generation_info``.

Stop sequences (the rule, applied identically to every path):

1. The output is cut after the earliest stop sequence it contains, keeping the sequence
   (:func:`~langchain_otel.llms._stop.cut_at_stop`), whether or not the server honoured
   ``stop``. On streams the cut is applied as text arrives, so the stream ends at the stop
   sequence.
2. OpenAI (and most servers) *strip* the matched stop sequence. When the answer ended with
   ``finish_reason == "stop"``, stop sequences were requested and the text contains none of
   them, the stripped sequence is appended if it can be known:

   - the server names it (vLLM's ``choices[0].stop_reason``): that sequence, or nothing
     when it reports ``null`` / a token id (the model ended on its own);
   - otherwise, exactly one distinct stop sequence was requested: that one;
   - otherwise (several sequences, no ``stop_reason``): nothing is appended; we never guess.

   OpenAI's ``finish_reason="stop"`` also covers a natural end of the text, and nothing in its
   answer tells the two apart, so with a single stop sequence and a server that reports no
   ``stop_reason`` a natural end gets the sequence appended too. Turn
   ``restore_stripped_stop`` off on the model when that matters.

Example:
    >>> payload = build_payload(
    ...     model="m", prompt="hi", stop=["."], params={"max_tokens": 5}, stream=False
    ... )
    >>> sorted(payload)
    ['max_tokens', 'model', 'prompt', 'stop']
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from langchain_otel.exceptions import LLMResponseError
from langchain_otel.llms._stop import cut_at_stop

__all__ = [
    "MISSING",
    "Completion",
    "StreamState",
    "build_payload",
    "is_event_stream",
    "not_an_event_stream",
    "parse_completion",
    "preview",
    "stripped_stop",
]

PREVIEW_CHARS: Final = 200


class _Missing:
    """The server did not send the field at all (distinct from an explicit null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


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


def build_payload(
    *,
    model: str,
    prompt: str,
    stop: Sequence[str] | None,
    params: Mapping[str, Any],
    stream: bool,
    stream_usage: bool = True,
) -> dict[str, Any]:
    """The JSON body of ``POST /completions``; ``params`` holds the set sampling parameters.

    Example:
        >>> build_payload(model="m", prompt="p", stop=None, params={}, stream=True)
        {'model': 'm', 'prompt': 'p', 'stream': True, 'stream_options': {'include_usage': True}}
    """
    payload: dict[str, Any] = {"model": model, "prompt": prompt}
    payload.update({key: value for key, value in params.items() if value is not None})
    if stop:
        payload["stop"] = list(stop)
    if stream:
        payload["stream"] = True
        if stream_usage:
            payload["stream_options"] = {"include_usage": True}
    return payload


def stripped_stop(
    text: str, stop: Sequence[str] | None, finish_reason: str | None, stop_reason: Any = MISSING
) -> str:
    """The stop sequence the server stripped from ``text``, or ``""`` (see the module rule).

    Example:
        >>> stripped_stop("hello world", ["."], "stop")
        '.'
        >>> stripped_stop("hello world", [".", "!"], "stop")
        ''
        >>> stripped_stop("hello world", [".", "!"], "stop", stop_reason="!")
        '!'
        >>> stripped_stop("hello world", ["."], "length")
        ''
    """
    if finish_reason != "stop" or not stop:
        return ""
    sequences = [s for s in dict.fromkeys(stop) if s]
    if not sequences or any(s in text for s in sequences):
        return ""
    if stop_reason is not MISSING:
        return stop_reason if isinstance(stop_reason, str) and stop_reason in sequences else ""
    return sequences[0] if len(sequences) == 1 else ""


def _usage(raw: Any) -> dict[str, int] | None:
    """OpenAI's usage object, normalised to EchoLLM's shape; None when absent or unusable."""
    if not isinstance(raw, Mapping):
        return None
    prompt, completion = raw.get("prompt_tokens"), raw.get("completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    total = raw.get("total_tokens")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total if isinstance(total, int) else prompt + completion,
    }


@dataclass
class Completion:
    """One finished answer, from a JSON body or a whole stream.

    Example:
        >>> Completion(text="hi", finish_reason="stop", model="m", id="c1").generation_info()
        {'finish_reason': 'stop', 'model_name': 'm', 'id': 'c1'}
    """

    text: str
    finish_reason: str | None
    model: str | None
    id: str | None
    usage: dict[str, int] | None = None
    system_fingerprint: str | None = None
    stop_reason: Any = MISSING

    def generation_info(self) -> dict[str, Any]:
        """``generation_info`` as every path reports it."""
        info: dict[str, Any] = {
            "finish_reason": self.finish_reason,
            "model_name": self.model,
            "id": self.id,
        }
        if self.usage is not None:
            info["token_usage"] = dict(self.usage)
        if self.system_fingerprint:
            info["system_fingerprint"] = self.system_fingerprint
        return info


def _first_choice(answer: Mapping[str, Any]) -> Mapping[str, Any] | None:
    choices = answer.get("choices")
    if not isinstance(choices, list):
        return None
    for choice in choices:
        if isinstance(choice, Mapping) and choice.get("index", 0) == 0:
            return choice
    return None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _server_error(answer: Mapping[str, Any]) -> str | None:
    error = answer.get("error")
    if error is None:
        return None
    if isinstance(error, Mapping):
        return str(error.get("message") or error)
    return str(error)


def parse_completion(
    content: bytes,
    *,
    url: str,
    content_type: str,
    stop: Sequence[str] | None,
    requested_model: str,
    restore_stop: bool = True,
) -> Completion:
    """Parse a non-streamed answer, applying the stop rule.

    Raises:
        LLMResponseError: The body is not JSON or not a completion; the message quotes it.

    Example:
        >>> body = b'{"id": "c1", "model": "m-1", "choices": [{"text": "hi", '
        >>> body += b'"finish_reason": "stop"}]}'
        >>> c = parse_completion(
        ...     body, url="u", content_type="application/json", stop=["!"], requested_model="m"
        ... )
        >>> c.text, c.model
        ('hi!', 'm-1')
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
    if (message := _server_error(answer)) is not None:
        raise LLMResponseError(f"{url} answered with an error: {preview(message)}")
    choice = _first_choice(answer)
    if choice is None or not isinstance(choice.get("text"), str):
        raise LLMResponseError(
            f"expected a completion with choices[0].text from {url}, received {preview(content)}"
        )
    finish_reason = _str_or_none(choice.get("finish_reason"))
    stop_reason = choice.get("stop_reason", MISSING)
    text = _apply_stop(choice["text"], stop, finish_reason, stop_reason, restore_stop)
    return Completion(
        text=text,
        finish_reason=finish_reason,
        model=_str_or_none(answer.get("model")) or requested_model,
        id=_str_or_none(answer.get("id")),
        usage=_usage(answer.get("usage")),
        system_fingerprint=_str_or_none(answer.get("system_fingerprint")),
        stop_reason=stop_reason,
    )


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


def _apply_stop(
    text: str,
    stop: Sequence[str] | None,
    finish_reason: str | None,
    stop_reason: Any,
    restore: bool,
) -> str:
    cut = cut_at_stop(text, stop)
    if cut != text or not restore:
        return cut
    return text + stripped_stop(text, stop, finish_reason, stop_reason)


@dataclass
class StreamState:
    """Folds the SSE events of one streamed answer into text pieces and a final Completion.

    Example:
        >>> state = StreamState(url="u", stop=["."], requested_model="m")
        >>> state.feed('{"id": "c1", "model": "m", "choices": [{"text": "Hi"}]}')
        'Hi'
        >>> state.feed('{"id": "c1", "model": "m", "choices": [{"text": ". Bye"}]}')
        '.'
        >>> state.feed("[DONE]")
        ''
        >>> state.finish().text
        'Hi.'
    """

    url: str
    stop: Sequence[str] | None
    requested_model: str
    restore_stop: bool = True
    text: str = ""
    chunks: int = 0
    """How many pieces of text were handed out."""
    done: bool = False
    cut: bool = False
    """The client cut the text at a stop sequence; later text is ignored."""
    _completion: Completion = field(init=False)

    def __post_init__(self) -> None:
        self._completion = Completion(text="", finish_reason=None, model=None, id=None)

    @property
    def started(self) -> bool:
        """True once some text was handed out (a retry would then repeat it)."""
        return self.chunks > 0

    def feed(self, data: str) -> str:
        """Take one event's ``data``; return the new text to emit (maybe ``""``).

        Raises:
            LLMResponseError: The data is neither ``[DONE]`` nor a JSON completion chunk.
        """
        if self.done or not data:
            return ""
        if data.strip() == "[DONE]":
            self.done = True
            return ""
        try:
            event = json.loads(data)
        except ValueError:
            raise LLMResponseError(
                f"malformed SSE event from {self.url}: received data: {preview(data)}"
                f" after {self.chunks} chunk(s); expected JSON or [DONE]"
            ) from None
        if not isinstance(event, Mapping):
            raise LLMResponseError(f"malformed SSE event from {self.url}: {preview(data)}")
        if (message := _server_error(event)) is not None:
            raise LLMResponseError(f"{self.url} reported an error mid-stream: {preview(message)}")
        completion = self._completion
        completion.id = completion.id or _str_or_none(event.get("id"))
        completion.model = completion.model or _str_or_none(event.get("model"))
        completion.system_fingerprint = completion.system_fingerprint or _str_or_none(
            event.get("system_fingerprint")
        )
        if (usage := _usage(event.get("usage"))) is not None:
            completion.usage = usage
        choice = _first_choice(event)
        if choice is None:
            return ""
        if (finish := _str_or_none(choice.get("finish_reason"))) is not None:
            completion.finish_reason = finish
            if "stop_reason" in choice:
                completion.stop_reason = choice["stop_reason"]
        piece = choice.get("text")
        if not isinstance(piece, str) or not piece or self.cut:
            return ""
        return self._emit(piece)

    def _emit(self, piece: str) -> str:
        combined = self.text + piece
        cut = cut_at_stop(combined, self.stop)
        if cut != combined or (self.stop and any(s and s in cut for s in self.stop)):
            self.cut = True
        new = cut[len(self.text) :]
        self.text = cut
        if new:
            self.chunks += 1
        return new

    def finish(self) -> Completion:
        """The whole answer, after the last event (``.text`` includes :meth:`tail`).

        Raises:
            LLMResponseError: The stream ended without ``[DONE]`` or a finish reason.
        """
        completion = self._completion
        if not self.done and completion.finish_reason is None and not self.cut:
            raise LLMResponseError(
                f"the stream from {self.url} ended after {self.chunks} chunk(s) without a"
                " finish_reason or [DONE]"
            )
        if self.cut and completion.finish_reason is None:
            completion.finish_reason = "stop"
        completion.model = completion.model or self.requested_model
        completion.text = self.text + self.tail()
        return completion

    def tail(self) -> str:
        """The stripped stop sequence to append at the end of the stream (or ``""``)."""
        if self.cut or not self.restore_stop:
            return ""
        completion = self._completion
        return stripped_stop(self.text, self.stop, completion.finish_reason, completion.stop_reason)
