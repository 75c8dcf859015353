"""The OpenAI completions wire format: pure functions shared by the sync and async paths.

Nothing here does I/O. The model builds the request body with :func:`build_payload`, parses
a JSON answer with :func:`parse_completion`, and feeds each SSE ``data`` field of a stream to
a :class:`StreamState`, which yields the text to emit and, at the end, the final chunk with
``generation_info``.

The stop rule (cut, keep, restore what the server stripped) is in
:mod:`langchain_otel.llms._stop`; the JSON/SSE envelope helpers in
:mod:`langchain_otel.llms._envelope`.

Example:
    >>> payload = build_payload(
    ...     model="m", prompt="hi", stop=["."], params={"max_tokens": 5}, stream=False
    ... )
    >>> sorted(payload)
    ['max_tokens', 'model', 'prompt', 'stop']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_otel.exceptions import LLMResponseError
from langchain_otel.llms._envelope import (
    first_choice,
    is_event_stream,
    load_answer,
    load_event,
    not_an_event_stream,
    preview,
    server_error,
    str_or_none,
)
from langchain_otel.llms._stop import MISSING, TextFolder, apply_stop, stripped_stop

__all__ = [
    "MISSING",
    "Completion",
    "StreamState",
    "build_payload",
    "is_event_stream",
    "not_an_event_stream",
    "parse_completion",
    "preview",
    "server_error",
    "stripped_stop",
    "usage_counts",
]


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


def usage_counts(raw: Any) -> dict[str, int] | None:
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
    answer = load_answer(content, url=url, content_type=content_type)
    choice = first_choice(answer)
    if choice is None or not isinstance(choice.get("text"), str):
        raise LLMResponseError(
            f"expected a completion with choices[0].text from {url}, received {preview(content)}"
        )
    finish_reason = str_or_none(choice.get("finish_reason"))
    stop_reason = choice.get("stop_reason", MISSING)
    text = apply_stop(choice["text"], stop, finish_reason, stop_reason, restore_stop)
    return Completion(
        text=text,
        finish_reason=finish_reason,
        model=str_or_none(answer.get("model")) or requested_model,
        id=str_or_none(answer.get("id")),
        usage=usage_counts(answer.get("usage")),
        system_fingerprint=str_or_none(answer.get("system_fingerprint")),
        stop_reason=stop_reason,
    )


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
    chunks: int = 0
    """How many pieces of text were handed out."""
    done: bool = False
    _completion: Completion = field(init=False)
    _folder: TextFolder = field(init=False)

    def __post_init__(self) -> None:
        self._completion = Completion(text="", finish_reason=None, model=None, id=None)
        self._folder = TextFolder(self.stop, restore=self.restore_stop)

    @property
    def text(self) -> str:
        """The text handed out so far."""
        return self._folder.text

    @property
    def cut(self) -> bool:
        """The client cut the text at a stop sequence; later text is ignored."""
        return self._folder.cut

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
        event = load_event(data, url=self.url, chunks=self.chunks)
        if event is None:
            self.done = True
            return ""
        completion = self._completion
        completion.id = completion.id or str_or_none(event.get("id"))
        completion.model = completion.model or str_or_none(event.get("model"))
        completion.system_fingerprint = completion.system_fingerprint or str_or_none(
            event.get("system_fingerprint")
        )
        if (usage := usage_counts(event.get("usage"))) is not None:
            completion.usage = usage
        choice = first_choice(event)
        if choice is None:
            return ""
        if (finish := str_or_none(choice.get("finish_reason"))) is not None:
            completion.finish_reason = finish
            if "stop_reason" in choice:
                completion.stop_reason = choice["stop_reason"]
        piece = choice.get("text")
        if not isinstance(piece, str) or not piece or self.cut:
            return ""
        return self._emit(piece)

    def _emit(self, piece: str) -> str:
        new = self._folder.emit(piece)
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
        completion = self._completion
        return self._folder.tail(completion.finish_reason, completion.stop_reason)
