"""The sans-IO plan of one exchange, stepped by hand: no server, no sleeping, no clock.

Each test plays the driver: it answers the plan's steps with httpx models (which do no
I/O) or throws httpx errors into it, and checks what the plan asks for next.
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from langchain_otel.exceptions import LLMConnectionError, LLMResponseError, UpstreamHTTPError
from langchain_otel.llms._exchange import (
    Emit,
    Endpoint,
    NextEvent,
    Plan,
    ReadBody,
    Send,
    Wait,
    exchange,
)
from langchain_otel.llms._http import RetryPolicy
from langchain_otel.llms._wire import StreamState

URL = "http://h/v1/completions"


def endpoint(max_retries: int = 2, **kwargs: Any) -> Endpoint:
    return Endpoint(
        url=URL,
        base_url="http://h/v1",
        secret="sk-secret",
        retry=RetryPolicy(
            max_retries=max_retries, backoff=1.0, backoff_max=4.0, max_retry_after=30
        ),
        read_timeout=5.0,
        **kwargs,
    )


def response(status: int, body: bytes = b"", **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=httpx.Request("POST", URL))


def parse(content: bytes, content_type: str) -> Any:
    return json.loads(content)


class _Text:
    """The smallest stream decoder: the text pieces of a completions stream."""

    def __init__(self) -> None:
        self.state = StreamState(url=URL, stop=None, requested_model="m")

    @property
    def chunks(self) -> int:
        return self.state.chunks

    def feed(self, data: str) -> str:
        return self.state.feed(data)

    def finish(self) -> str:
        return self.state.finish().finish_reason or ""


def event(text: str, finish: str | None = None) -> str:
    return json.dumps({"choices": [{"index": 0, "text": text, "finish_reason": finish}]})


def kinds(*steps: Any) -> list[str]:
    return [type(step).__name__ for step in steps]


class TestBody:
    """A JSON answer: send, read, parse; errors are classified and retried by policy."""

    def test_success(self) -> None:
        """Send, read the body, emit the parsed answer, done."""
        plan = exchange(endpoint(), {"model": "m"}, parse=parse)
        send = next(plan)
        assert isinstance(send, Send)
        assert (send.url, send.body) == (URL, {"model": "m"})
        assert isinstance(plan.send(response(200)), ReadBody)
        assert plan.send(b'{"ok": 1}') == Emit({"ok": 1})
        with pytest.raises(StopIteration):
            plan.send(None)

    def test_retry_after_is_the_wait(self) -> None:
        """A 429 with Retry-After: 7 → exactly Wait(7.0), then a new attempt (a fake clock)."""
        plan = exchange(endpoint(), {}, parse=parse)
        next(plan)
        plan.send(response(429, **{"Retry-After": "7"}))
        assert plan.send(b"busy") == Wait(7.0)
        assert isinstance(plan.send(None), Send)

    def test_backoff_grows_and_runs_out(self) -> None:
        """503s wait with jittered exponential backoff, then the last error is raised."""
        plan = exchange(endpoint(max_retries=2), {}, parse=parse)
        waits: list[float] = []

        def play() -> None:
            step = next(plan)
            while True:
                if isinstance(step, Send):
                    step = plan.send(response(503))
                elif isinstance(step, ReadBody):
                    step = plan.send(b"down")
                else:
                    assert isinstance(step, Wait)
                    waits.append(step.seconds)
                    step = plan.send(None)

        with pytest.raises(UpstreamHTTPError, match="after 3 attempts"):
            play()
        assert len(waits) == 2
        assert 0.5 <= waits[0] <= 1.0
        assert 1.0 <= waits[1] <= 2.0

    def test_400_is_final(self) -> None:
        """A 400 is raised at once, naming the status; no Wait is asked for."""
        plan = exchange(endpoint(), {}, parse=parse)
        next(plan)
        plan.send(response(400))
        with pytest.raises(UpstreamHTTPError, match="HTTP 400"):
            plan.send(b"bad request")

    def test_transport_error_is_mapped_and_retried(self) -> None:
        """An httpx error thrown in becomes LLMConnectionError, and is worth a retry."""
        plan = exchange(endpoint(), {}, parse=parse)
        next(plan)
        step = plan.throw(httpx.ConnectError("refused"))
        assert isinstance(step, Wait)
        next(plan)
        plan.send(response(200))
        assert plan.send(b"1") == Emit(1)

    def test_transport_error_after_the_last_retry(self) -> None:
        """The mapped error names the URL and keeps the httpx error as its cause."""
        plan = exchange(endpoint(max_retries=0), {}, parse=parse)
        next(plan)
        with pytest.raises(LLMConnectionError, match="cannot connect to http://h") as info:
            plan.throw(httpx.ConnectError("refused"))
        assert isinstance(info.value.__cause__, httpx.ConnectError)

    def test_unparseable_body_is_not_retried(self) -> None:
        """The parser's LLMResponseError is final."""

        def bad(content: bytes, content_type: str) -> Any:
            raise LLMResponseError(f"not JSON: {content!r}")

        plan = exchange(endpoint(), {}, parse=bad)
        next(plan)
        plan.send(response(200))
        with pytest.raises(LLMResponseError, match="not JSON"):
            plan.send(b"<html>")


class TestStream:
    """A stream: events in, chunks out; never retried once a chunk was handed out."""

    def test_events_then_final(self) -> None:
        """Each event's text is emitted; the end of the events gives the decoder's last word."""
        plan: Plan = exchange(endpoint(), {}, decoder=_Text)
        send = next(plan)
        assert isinstance(send, Send)
        assert send.headers["Accept"] == "text/event-stream"
        assert isinstance(
            plan.send(response(200, **{"Content-Type": "text/event-stream"})), NextEvent
        )
        assert plan.send(event("Hi")) == Emit("Hi")
        assert isinstance(plan.send(None), NextEvent)
        assert isinstance(plan.send(event("", "stop")), NextEvent)
        assert plan.send(None) == Emit("stop")

    def test_no_retry_after_a_chunk(self) -> None:
        """A connection lost mid-stream is raised, saying how far the stream got."""
        plan = exchange(endpoint(), {}, decoder=_Text)
        next(plan)
        plan.send(response(200, **{"Content-Type": "text/event-stream"}))
        plan.send(event("Hi"))
        plan.send(None)
        with pytest.raises(LLMConnectionError, match="mid-stream after 1 chunk"):
            plan.throw(httpx.ReadError("reset"))

    def test_retry_before_any_chunk(self) -> None:
        """Lost before the first chunk: retried like any connection error."""
        plan = exchange(endpoint(), {}, decoder=_Text)
        next(plan)
        plan.send(response(200, **{"Content-Type": "text/event-stream"}))
        assert isinstance(plan.throw(httpx.ReadError("reset")), Wait)

    def test_not_an_event_stream(self) -> None:
        """A JSON answer to a stream request is read and quoted in the error."""
        plan = exchange(endpoint(), {}, decoder=_Text)
        next(plan)
        assert isinstance(plan.send(response(200, **{"Content-Type": "text/html"})), ReadBody)
        with pytest.raises(LLMResponseError, match="text/html '<h1>'"):
            plan.send(b"<h1>")


class _Raising(TextMapPropagator):
    """A propagator that fails, as a broken third-party one might."""

    def inject(self, carrier: Any, context: Any = None, setter: Any = None) -> None:
        raise RuntimeError("propagator broke")

    def extract(self, carrier: Any, context: Any = None, getter: Any = None) -> Any:
        raise NotImplementedError

    @property
    def fields(self) -> set[str]:
        return set()


class _ReadOnly(TextMapPropagator):
    """A propagator that writes through a setter which refuses (a read-only mapping)."""

    def inject(self, carrier: Any, context: Any = None, setter: Any = None) -> None:
        types.MappingProxyType(carrier)["traceparent"] = "00-..."  # type: ignore[index]

    def extract(self, carrier: Any, context: Any = None, getter: Any = None) -> Any:
        raise NotImplementedError

    @property
    def fields(self) -> set[str]:
        return {"traceparent"}


class _NonString(TextMapPropagator):
    """A propagator that writes a non-string value."""

    def inject(self, carrier: Any, context: Any = None, setter: Any = None) -> None:
        carrier["x-bad"] = 42
        carrier["x-good"] = "yes"

    def extract(self, carrier: Any, context: Any = None, getter: Any = None) -> Any:
        raise NotImplementedError

    @property
    def fields(self) -> set[str]:
        return {"x-bad", "x-good"}


@pytest.fixture
def global_propagator() -> Iterator[None]:
    """Restore the global propagator after the test."""
    saved = propagate.get_global_textmap()
    yield
    propagate.set_global_textmap(saved)


@pytest.mark.usefixtures("global_propagator")
class TestTraceContext:
    """Each attempt carries the current trace context, by the global propagator."""

    SPAN = NonRecordingSpan(
        SpanContext(0xABC, 0xDEF, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    )

    def test_traceparent_of_the_current_span(self) -> None:
        """With a span current, the request has its W3C traceparent."""
        plan = exchange(endpoint(), {}, parse=parse)
        with trace.use_span(self.SPAN):
            send = next(plan)
        assert isinstance(send, Send)
        assert send.headers["traceparent"] == (
            "00-00000000000000000000000000000abc-0000000000000def-01"
        )

    def test_turned_off(self) -> None:
        """propagate_trace_context=False sends no trace headers."""
        plan = exchange(endpoint(propagate_trace_context=False), {}, parse=parse)
        with trace.use_span(self.SPAN):
            send = next(plan)
        assert isinstance(send, Send)
        assert "traceparent" not in send.headers

    @pytest.mark.parametrize("propagator", [_Raising(), _ReadOnly()], ids=["raises", "read-only"])
    def test_failing_propagator_still_sends(self, propagator: TextMapPropagator) -> None:
        """A propagator that raises costs the trace headers, never the request."""
        propagate.set_global_textmap(propagator)
        plan = exchange(endpoint(), {}, parse=parse)
        with trace.use_span(self.SPAN):
            send = next(plan)
        assert isinstance(send, Send)
        assert dict(send.headers) == {}

    def test_non_string_values_are_dropped(self) -> None:
        """Only string headers are sent."""
        propagate.set_global_textmap(_NonString())
        send = next(exchange(endpoint(), {}, parse=parse))
        assert isinstance(send, Send)
        assert dict(send.headers) == {"x-good": "yes"}
