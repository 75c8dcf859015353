"""Streams: one private context copy per sync stream, a set/reset per async step."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from typing import Any

import pytest
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.outputs import GenerationChunk
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.sdk.trace import ReadableSpan

from langchain_otel.callbacks import _propagation
from langchain_otel.llms import EchoLLM
from langchain_otel.testing import CapturedTelemetry
from tests.callbacks.test_context import _no_detach_errors  # noqa: F401 - autouse fixture

_MARK: ContextVar[str | None] = ContextVar("test_mark", default=None)
_MODEL = "text_completion echo"


@pytest.fixture(name="app_tracer")
def _app_tracer(telemetry: CapturedTelemetry) -> trace.Tracer:
    return telemetry.tracer_provider.get_tracer("app")


class _Nested(EchoLLM):
    """Each chunk: a user span; at chunk 1 a nested model call; ``finally``: a span too."""

    tracer: Any = None
    inner: Any = None
    seen: list[str | None] = []  # noqa: RUF012 - reset per test

    def _chunk(self, index: int) -> None:
        if index == 0:
            _MARK.set("set-in-body")
        if index == 1 and self.inner is not None:
            self.inner.invoke("zz", config={"callbacks": self.callbacks})
        self.seen.append(_MARK.get())
        with self.tracer.start_as_current_span("model-chunk"):
            pass

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        try:
            for index, chunk in enumerate(super()._stream(prompt, stop, run_manager, **kwargs)):
                self._chunk(index)
                yield chunk
        finally:
            with self.tracer.start_as_current_span("model-finally"):
                pass

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        index = 0
        try:
            async for chunk in super()._astream(prompt, stop, run_manager, **kwargs):
                self._chunk(index)
                index += 1
                yield chunk
        finally:
            with self.tracer.start_as_current_span("model-finally"):
                pass


def _parents(spans: tuple[ReadableSpan, ...], name: str) -> set[str]:
    by_id = {s.context.span_id: s.name for s in spans}
    return {
        by_id.get(s.parent.span_id, "<root>") if s.parent else "<root>"
        for s in spans
        if s.name == name
    }


def _model(telemetry: CapturedTelemetry, tracer: trace.Tracer, nested: bool = False) -> _Nested:
    model = _Nested(n=5, callbacks=[telemetry.handler])
    model.tracer, model.seen = tracer, []
    if nested:
        model.inner = EchoLLM(n=2)
    return model


def test_sync_stream_runs_in_one_private_copy(
    telemetry: CapturedTelemetry, app_tracer: trace.Tracer
) -> None:
    """A variable set in the first step is seen by every later step, never by the consumer."""
    model = _model(telemetry, app_tracer)
    with app_tracer.start_as_current_span("request") as request:
        for _ in model.stream("hello"):
            assert _MARK.get() is None
            assert trace.get_current_span() is request
            with app_tracer.start_as_current_span("consumer"):  # between chunks: not seen
                pass
    assert model.seen == ["set-in-body"] * 5
    assert _parents(telemetry.spans, "model-chunk") == {_MODEL}
    assert _parents(telemetry.spans, "consumer") == {"request"}


@pytest.mark.parametrize("nested", [False, True])
def test_sync_stream_closed_early_closes_in_the_copy(
    telemetry: CapturedTelemetry, app_tracer: trace.Tracer, nested: bool
) -> None:
    """``close()`` after two chunks: the body's ``finally`` runs under the model span.

    A model call started inside a later step is its own run: it never takes over the
    stream's current span.
    """
    model = _model(telemetry, app_tracer, nested=nested)
    stream = model.stream("hello")
    next(stream)
    next(stream)
    stream.close()  # type: ignore[attr-defined]
    assert trace.get_current_span() is trace.INVALID_SPAN
    assert _parents(telemetry.spans, "model-chunk") == {_MODEL}
    assert _parents(telemetry.spans, "model-finally") == {_MODEL}
    models = [s for s in telemetry.spans if s.name == _MODEL]
    assert len(models) == (2 if nested else 1)
    assert all(s.end_time is not None for s in models)
    assert telemetry.handler.open_runs == 0


@pytest.mark.parametrize("nested", [False, True])
async def test_async_stream_steps_and_close(
    telemetry: CapturedTelemetry, app_tracer: trace.Tracer, nested: bool
) -> None:
    """Each step sees the model span, the consumer never does; ``aclose`` runs under it."""
    model = _model(telemetry, app_tracer, nested=nested)
    with app_tracer.start_as_current_span("request") as request:
        stream = model.astream("hello")
        count = 0
        async for _ in stream:
            assert trace.get_current_span() is request
            count += 1
            if count == 3:
                break
        await stream.aclose()  # type: ignore[attr-defined]
        assert trace.get_current_span() is request
    assert _parents(telemetry.spans, "model-chunk") == {_MODEL}
    assert _parents(telemetry.spans, "model-finally") == {_MODEL}
    assert telemetry.handler.open_runs == 0


async def test_async_stream_without_our_handler_is_passed_through() -> None:
    """No run of ours to claim: the chunks pass untouched and no context is set."""
    seen = []
    async for chunk in EchoLLM(n=3).astream("abc"):
        seen.append((chunk, trace.get_current_span()))
    assert seen == [(c, trace.INVALID_SPAN) for c in "abc"]


async def test_another_runtime_context_uses_the_public_api(
    telemetry: CapturedTelemetry, app_tracer: trace.Tracer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A runtime context that is not the stock one goes through attach/detach."""

    class _Runtime(ContextVarsRuntimeContext):
        pass

    monkeypatch.setattr(otel_context, "_RUNTIME_CONTEXT", _Runtime())
    _propagation.uninstall()
    _propagation.install()
    try:
        assert _propagation._set is otel_context.attach
        model = _model(telemetry, app_tracer)
        with app_tracer.start_as_current_span("request") as request:
            async for _ in model.astream("hello"):
                assert trace.get_current_span() is request
            for _ in model.stream("hello"):
                assert trace.get_current_span() is request
        assert _parents(telemetry.spans, "model-chunk") == {_MODEL}
    finally:
        monkeypatch.undo()
        _propagation.uninstall()
        _propagation.install()
    assert _propagation._set is not otel_context.attach
