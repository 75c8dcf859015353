"""One HTTP exchange with its retries, as a sans-IO plan shared by every HTTP model.

A *plan* is a generator that says what to do next and is told what happened; it never does
I/O itself. It yields *steps*:

- :class:`Send`: open a request; the reply is the ``httpx.Response`` (head only).
- :class:`ReadBody`: read the open response's body; the reply is the bytes.
- :class:`NextEvent`: the ``data`` of the next server-sent event, ``None`` at the end.
- :class:`Wait`: sleep before the next attempt (the open response is released first).
- :class:`Emit`: hand a value to the caller: the parsed answer, or one stream chunk.

A driver (:mod:`langchain_otel.llms._drivers`: one for ``httpx.Client`` and ``time.sleep``,
one for ``httpx.AsyncClient`` and ``anyio.sleep``) performs the steps and sends the replies
back; an httpx exception raised by the I/O is thrown into the plan at the step that caused
it. Everything else lives here, once: the request (body, headers, trace context), the error
mapping, the classification of answers, the retry decision and its wait, and the decoding of
a body or of an event stream (by the model's own parser or decoder).

Example:
    >>> from langchain_otel.llms._http import RetryPolicy
    >>> endpoint = Endpoint(
    ...     url="http://h/v1/completions", base_url="http://h/v1", secret=None,
    ...     retry=RetryPolicy(max_retries=0, backoff=0, backoff_max=0, max_retry_after=0),
    ...     read_timeout=5.0, propagate_trace_context=False,
    ... )
    >>> plan = exchange(endpoint, {"model": "m"}, parse=lambda content, _: content.decode())
    >>> step = next(plan)
    >>> type(step).__name__, step.url, step.body
    ('Send', 'http://h/v1/completions', {'model': 'm'})
    >>> request = httpx.Request("POST", step.url)
    >>> type(plan.send(httpx.Response(200, request=request))).__name__
    'ReadBody'
    >>> plan.send(b"hi").value
    'hi'
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import structlog

from langchain_otel.exceptions import LLMError
from langchain_otel.llms._envelope import is_event_stream, not_an_event_stream
from langchain_otel.llms._http import RetryPolicy, error_for_status, map_httpx_errors

__all__ = [
    "Emit",
    "Endpoint",
    "NextEvent",
    "Plan",
    "ReadBody",
    "Send",
    "StateAdapter",
    "Step",
    "StreamDecoder",
    "Wait",
    "exchange",
    "trace_context_headers",
]

_logger = structlog.get_logger("langchain_otel")

_SSE_HEADERS = {"Accept": "text/event-stream", "Cache-Control": "no-store"}


@dataclass(frozen=True)
class Send:
    """Open a ``POST`` of ``body`` as JSON; reply with the response (body not read yet)."""

    url: str
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadBody:
    """Read the open response's whole body and release it; reply with the bytes."""


@dataclass(frozen=True)
class NextEvent:
    """Reply with the next server-sent event's ``data``, or None (released) at the end."""


@dataclass(frozen=True)
class Wait:
    """Release the open response, then sleep ``seconds`` (the reply is None)."""

    seconds: float


@dataclass(frozen=True)
class Emit:
    """Hand ``value`` to the caller (the reply is None)."""

    value: Any


Step = Send | ReadBody | NextEvent | Wait | Emit
Plan = Generator[Step, Any, None]


class StreamDecoder(Protocol):
    """Folds one streamed answer's events into chunks (one per model kind)."""

    @property
    def chunks(self) -> int:
        """How many chunks were handed out (a retry would repeat them)."""

    def feed(self, data: str) -> Any:
        """One event's ``data`` → a chunk to emit, or a falsy value for nothing."""

    def finish(self) -> Any:
        """The last chunk, after the last event (raises if the stream was cut short)."""


class StateAdapter:
    """Base of a model's :class:`StreamDecoder`: wraps a wire-format stream state.

    A subclass turns the state's output into the model's chunks in ``feed`` / ``finish``;
    the chunk count is the state's.
    """

    def __init__(self, state: Any) -> None:
        self._state = state

    @property
    def chunks(self) -> int:
        """How many chunks the state handed out."""
        return int(self._state.chunks)


def trace_context_headers() -> dict[str, str]:
    """The current OpenTelemetry context as headers, by the global propagator.

    With the default W3C propagator that is ``traceparent`` (and ``tracestate`` when set).
    A propagator that raises or writes something other than strings costs the request its
    trace headers, never the request itself.

    Example:
        >>> from opentelemetry import trace
        >>> from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
        >>> span = NonRecordingSpan(SpanContext(1, 2, is_remote=False, trace_flags=TraceFlags(1)))
        >>> with trace.use_span(span):
        ...     trace_context_headers()["traceparent"]
        '00-00000000000000000000000000000001-0000000000000002-01'
    """
    carrier: dict[str, Any] = {}
    try:
        from opentelemetry import propagate  # noqa: PLC0415 - only when a request is sent

        propagate.inject(carrier)
    except Exception as exc:
        _logger.debug("llm.trace_context_not_injected", error_type=type(exc).__name__)
        return {}
    return {k: v for k, v in carrier.items() if isinstance(k, str) and isinstance(v, str)}


@dataclass(frozen=True)
class Endpoint:
    """Where and how a model talks: the URL, the secret to mask, the retry policy."""

    url: str
    base_url: str
    secret: str | None
    retry: RetryPolicy
    read_timeout: float | None
    propagate_trace_context: bool = True

    def send(self, body: Mapping[str, Any], *, stream: bool) -> Send:
        """The request of one attempt (trace headers taken from the current context)."""
        headers = dict(_SSE_HEADERS) if stream else {}
        if self.propagate_trace_context:
            headers.update(trace_context_headers())
        return Send(self.url, body, headers)

    def errors(self, decoder: StreamDecoder | None) -> contextlib.AbstractContextManager[None]:
        """Translate httpx errors into ours, naming the URL and how far a stream got."""

        def chunks() -> int:
            return decoder.chunks if decoder is not None else 0

        return map_httpx_errors(self.url, timeout=self.read_timeout, chunks=chunks)

    def failure(self, response: httpx.Response, attempt: int) -> LLMError:
        """Our exception for an HTTP error answer whose body was read."""
        return error_for_status(
            response, base_url=self.base_url, secret=self.secret, attempts=attempt + 1
        )

    def next_delay(self, error: LLMError, attempt: int) -> float | None:
        """Seconds to wait before retrying after ``attempt`` failed (logged); None: give up."""
        delay = self.retry.delay(error, attempt)
        if delay is not None:
            _logger.warning(
                "llm.retry",
                url=self.url,
                attempt=attempt + 1,
                delay_s=round(delay, 3),
                error_type=type(error).__name__,
                status_code=getattr(error, "status_code", None),
            )
        return delay


def exchange(
    endpoint: Endpoint,
    body: Mapping[str, Any],
    *,
    parse: Callable[[bytes, str], Any] | None = None,
    decoder: Callable[[], StreamDecoder] | None = None,
) -> Plan:
    """The plan of one call: ``parse(content, content_type)`` a body, or stream ``decoder()``.

    Connection errors, 429 and 5xx are retried by ``endpoint.retry``; a stream never once it
    has handed out a chunk. The last error is raised.
    """
    for attempt in itertools.count():
        state = decoder() if decoder is not None else None
        try:
            with endpoint.errors(state):
                yield from _attempt(endpoint, body, attempt, parse, state)
            return
        except LLMError as error:
            started = state is not None and state.chunks > 0
            delay = None if started else endpoint.next_delay(error, attempt)
            if delay is None:
                raise
            yield Wait(delay)


def _attempt(
    endpoint: Endpoint,
    body: Mapping[str, Any],
    attempt: int,
    parse: Callable[[bytes, str], Any] | None,
    state: StreamDecoder | None,
) -> Plan:
    response: httpx.Response = yield endpoint.send(body, stream=state is not None)
    if response.is_error:
        yield ReadBody()
        raise endpoint.failure(response, attempt)
    content_type = response.headers.get("content-type", "")
    if state is None:
        assert parse is not None
        content = yield ReadBody()
        yield Emit(parse(content, content_type))
        return
    if not is_event_stream(content_type):
        content = yield ReadBody()
        raise not_an_event_stream(endpoint.url, content_type, content)
    while (data := (yield NextEvent())) is not None:
        if chunk := state.feed(data):
            yield Emit(chunk)
    yield Emit(state.finish())
