"""Both HTTP models send W3C trace context to the server (issue 11, items 4 and 5).

Against the real loopback server: with a span current around the call, the server receives
a ``traceparent`` carrying that trace (and, with no instrumentation in between, that span as
parent), on every path; ``propagate_trace_context=False`` sends none; a failing propagator
never costs the request. With our handler the parent is the model run's span; with the real
``opentelemetry-instrumentation-httpx`` too, the httpx client span is a child of the model
span and the server sees it as its parent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from langchain_otel.llms import OpenAICompatibleChatModel, OpenAICompatibleLLM
from langchain_otel.testing import capture_telemetry
from tests.support import OpenAIServer, RecordedRequest

Model = OpenAICompatibleLLM | OpenAICompatibleChatModel


def _make(kind: str, server: OpenAIServer, **kwargs: Any) -> Model:
    cls = OpenAICompatibleLLM if kind == "text" else OpenAICompatibleChatModel
    return cls(base_url=server.base_url, model="m", api_key="sk-t", retry_backoff=0.01, **kwargs)


def _requests(server: OpenAIServer, kind: str) -> list[RecordedRequest]:
    return server.completion_requests if kind == "text" else server.chat_requests


async def call(model: Model, path: str, config: Any = None) -> None:
    """One call by ``path``, to completion."""
    if path == "invoke":
        model.invoke("hello", config=config)
    elif path == "ainvoke":
        await model.ainvoke("hello", config=config)
    elif path == "stream":
        list(model.stream("hello", config=config))
    else:
        [chunk async for chunk in model.astream("hello", config=config)]


KINDS = pytest.mark.parametrize("kind", ["text", "chat"])
PATHS = pytest.mark.parametrize("path", ["invoke", "ainvoke", "stream", "astream"])


def _traceparent(request: RecordedRequest) -> tuple[str, str]:
    version, trace_id, parent_id, flags = request.headers["traceparent"].split("-")
    assert version == "00"
    assert int(flags, 16) & 1  # sampled (newer SDKs also set the "random trace id" bit)
    return trace_id, parent_id


@pytest.fixture
def tracer() -> Iterator[trace.Tracer]:
    """A tracer of a real SDK provider (not the global one)."""
    provider = TracerProvider()
    yield provider.get_tracer("test")
    provider.shutdown()


@KINDS
@PATHS
async def test_the_server_gets_the_current_trace(
    openai_server: OpenAIServer, tracer: trace.Tracer, kind: str, path: str
) -> None:
    """The request's traceparent carries the caller's current span; the caller's is kept."""
    model = _make(kind, openai_server)
    with tracer.start_as_current_span("user work") as span:
        await call(model, path)
        assert trace.get_current_span() is span  # the caller's context is untouched
    (request,) = _requests(openai_server, kind)
    trace_id, parent_id = _traceparent(request)
    assert trace_id == format(span.get_span_context().trace_id, "032x")
    assert parent_id == format(span.get_span_context().span_id, "016x")
    await model.aclose()


@KINDS
async def test_each_retry_carries_it(
    openai_server: OpenAIServer, tracer: trace.Tracer, kind: str
) -> None:
    """A retried request carries the same trace context again."""
    from tests.support import Fault

    openai_server.script(Fault.http(503))
    model = _make(kind, openai_server)
    with tracer.start_as_current_span("user work"):
        await call(model, "ainvoke")
    first, second = _requests(openai_server, kind)
    assert _traceparent(first) == _traceparent(second)
    await model.aclose()


@KINDS
async def test_turned_off(openai_server: OpenAIServer, tracer: trace.Tracer, kind: str) -> None:
    """propagate_trace_context=False: no traceparent, on every path."""
    model = _make(kind, openai_server, propagate_trace_context=False)
    with tracer.start_as_current_span("user work"):
        for path in ("invoke", "ainvoke", "stream", "astream"):
            await call(model, path)
    assert [("traceparent" in r.headers) for r in _requests(openai_server, kind)] == [False] * 4
    await model.aclose()


@KINDS
def test_no_current_span_sends_nothing(openai_server: OpenAIServer, kind: str) -> None:
    """Outside any span there is no trace to continue: no traceparent is invented."""
    model = _make(kind, openai_server)
    model.invoke("hello")
    assert "traceparent" not in _requests(openai_server, kind)[0].headers
    model.close()


class _Broken(TextMapPropagator):
    """A propagator that raises."""

    def inject(self, carrier: Any, context: Any = None, setter: Any = None) -> None:
        raise RuntimeError("broken propagator")

    def extract(self, carrier: Any, context: Any = None, getter: Any = None) -> Any:
        raise NotImplementedError

    @property
    def fields(self) -> set[str]:
        return {"traceparent"}


@KINDS
async def test_a_broken_propagator_costs_nothing_but_the_header(
    openai_server: OpenAIServer, tracer: trace.Tracer, kind: str
) -> None:
    """The request is sent and answered; only the trace header is missing."""
    saved = propagate.get_global_textmap()
    propagate.set_global_textmap(_Broken())
    try:
        model = _make(kind, openai_server)
        with tracer.start_as_current_span("user work"):
            await call(model, "ainvoke")
            await call(model, "stream")
    finally:
        propagate.set_global_textmap(saved)
    assert [("traceparent" in r.headers) for r in _requests(openai_server, kind)] == [False] * 2
    await model.aclose()


# -- the real httpx instrumentation alongside (issue 11, item 5) ------------------------------


@pytest.fixture
def instrumented() -> Iterator[InMemorySpanExporter]:
    """opentelemetry-instrumentation-httpx on every httpx client, with its own provider."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = HTTPXClientInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    yield exporter
    instrumentor.uninstrument()


async def _instrumented_call(
    server: OpenAIServer, exporter: InMemorySpanExporter, kind: str, path: str
) -> tuple[ReadableSpan, ReadableSpan]:
    """(model span, httpx client span) of one call inside a "web request" span."""
    model = _make(kind, server)
    with capture_telemetry(strict=True) as t:
        web = t.tracer_provider.get_tracer("test").start_as_current_span("web request")
        with web:
            await call(model, path, config={"callbacks": [t.handler]})
    await model.aclose()
    (model_span,) = [s for s in t.spans if s.name != "web request"]
    (http_span,) = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.CLIENT]
    assert model_span.context is not None
    assert http_span.context is not None
    return model_span, http_span


@KINDS
@PATHS
async def test_httpx_client_span_is_in_the_model_trace(
    openai_server: OpenAIServer, instrumented: InMemorySpanExporter, kind: str, path: str
) -> None:
    """The httpx span is in the model span's trace; the server's parent is the httpx span."""
    model_span, http_span = await _instrumented_call(openai_server, instrumented, kind, path)
    assert model_span.context is not None
    assert http_span.context is not None
    assert http_span.context.trace_id == model_span.context.trace_id
    attributes = http_span.attributes or {}  # old or new HTTP semconv, by OTEL_SEMCONV_STABILITY
    assert attributes.get("http.request.method", attributes.get("http.method")) == "POST"
    trace_id, parent_id = _traceparent(_requests(openai_server, kind)[0])
    assert trace_id == format(http_span.context.trace_id, "032x")
    assert parent_id == format(http_span.context.span_id, "016x")


@KINDS
@PATHS
async def test_httpx_client_span_is_a_child_of_the_model_span(
    openai_server: OpenAIServer, instrumented: InMemorySpanExporter, kind: str, path: str
) -> None:
    """The httpx client span's parent is the model span (sync and async, streamed or not)."""
    model_span, http_span = await _instrumented_call(openai_server, instrumented, kind, path)
    assert model_span.context is not None
    assert http_span.parent is not None
    assert http_span.parent.span_id == model_span.context.span_id


@KINDS
@PATHS
async def test_the_servers_parent_is_the_model_span(
    openai_server: OpenAIServer, kind: str, path: str
) -> None:
    """With our handler, the traceparent's parent id is the model run's span."""
    model = _make(kind, openai_server)
    with capture_telemetry(strict=True) as t:
        await call(model, path, config={"callbacks": [t.handler]})
    (model_span,) = t.spans
    assert model_span.context is not None
    trace_id, parent_id = _traceparent(_requests(openai_server, kind)[0])
    assert trace_id == format(model_span.context.trace_id, "032x")
    assert parent_id == format(model_span.context.span_id, "016x")
    await model.aclose()
