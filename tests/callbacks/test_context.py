"""Context propagation: the run's span is current inside the run, never in the caller."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import GenerationChunk
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda, RunnableParallel
from langchain_core.tools import tool
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan

from langchain_otel import instrument, uninstrument
from langchain_otel.callbacks import _propagation
from langchain_otel.llms import EchoLLM
from langchain_otel.testing import CapturedTelemetry

_APP = "app"


@pytest.fixture(autouse=True)
def _no_detach_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Nothing is ever logged by OpenTelemetry's context module ("Failed to detach")."""
    with caplog.at_level(logging.DEBUG, logger="opentelemetry.context"):
        yield
    assert [r for r in caplog.records if r.name.startswith("opentelemetry.context")] == []


def _user_span(name: str) -> None:
    """What user code, a DB driver or an HTTP client does: a span under the current one."""
    with trace.get_tracer(_APP).start_as_current_span(name):
        pass


class _SpanningLLM(EchoLLM):
    """EchoLLM whose model call opens a span, as an HTTP client instrumentation would."""

    def _call(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> str:
        _user_span("model-io")
        return super()._call(prompt, stop, run_manager, **kwargs)

    async def _acall(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> str:
        _user_span("model-io")
        return await super()._acall(prompt, stop, run_manager, **kwargs)

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        _user_span("model-io")
        for chunk in super()._stream(prompt, stop, run_manager, **kwargs):
            _user_span("model-chunk")
            yield chunk

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        _user_span("model-io")
        async for chunk in super()._astream(prompt, stop, run_manager, **kwargs):
            _user_span("model-chunk")
            yield chunk


class _Docs(BaseRetriever):
    """A retriever whose lookup opens a span, as a vector store client would."""

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        _user_span("vector-query")
        return [Document(page_content=query)]


@tool
def lookup(text: str) -> str:
    """Look the text up in a database."""
    _user_span("db-query")
    return text


def _step(value: str) -> str:
    _user_span("in-step")
    return value


def _call_tool(value: str) -> str:
    return str(lookup.invoke({"text": value}))


def _chain(llm: Any = None) -> Any:
    return (
        RunnableLambda(_step).with_config(run_name="step")
        | RunnableLambda(_call_tool).with_config(run_name="calls-tool")
        | (llm or _SpanningLLM(n=3))
    )


def _parent_name(spans: tuple[ReadableSpan, ...], name: str) -> list[str]:
    """The names of the parents of every span called ``name``."""
    by_id = {s.context.span_id: s for s in spans}
    return [
        by_id[s.parent.span_id].name if s.parent and s.parent.span_id in by_id else "<root>"
        for s in spans
        if s.name == name
    ]


@pytest.fixture(name="app_tracer")
def _app_tracer(telemetry: CapturedTelemetry, monkeypatch: pytest.MonkeyPatch) -> trace.Tracer:
    """User spans go to the same in-memory provider as ours."""
    tracer = telemetry.tracer_provider.get_tracer(_APP)
    monkeypatch.setattr(trace, "get_tracer", lambda *a, **k: tracer)
    return tracer


def _assert_nesting(spans: tuple[ReadableSpan, ...], chunks: bool = False) -> None:
    assert _parent_name(spans, "in-step") == ["step"]
    assert _parent_name(spans, "db-query") == ["execute_tool lookup"]
    assert _parent_name(spans, "execute_tool lookup") == ["calls-tool"]
    assert _parent_name(spans, "model-io") == ["text_completion echo"]
    if chunks:
        assert set(_parent_name(spans, "model-chunk")) == {"text_completion echo"}


def _under_request(app_tracer: trace.Tracer, run: Any) -> Any:
    with app_tracer.start_as_current_span("request") as request:
        result = run()
        assert trace.get_current_span() is request  # the caller's context, unchanged
    return result


def test_invoke_nests_user_spans(telemetry: CapturedTelemetry, app_tracer: trace.Tracer) -> None:
    """invoke: spans in a step, a tool (called from a lambda) and a model call nest."""
    config = {"callbacks": [telemetry.handler]}
    assert _under_request(app_tracer, lambda: _chain().invoke("abc", config=config)) == "abc"
    _assert_nesting(telemetry.spans)
    assert _parent_name(telemetry.spans, "RunnableSequence") == ["request"]


async def test_ainvoke_nests_user_spans(
    telemetry: CapturedTelemetry, app_tracer: trace.Tracer
) -> None:
    """ainvoke: sync steps run in LangChain's thread pool and still nest."""
    config = {"callbacks": [telemetry.handler]}
    with app_tracer.start_as_current_span("request") as request:
        assert await _chain().ainvoke("abc", config=config) == "abc"
        assert trace.get_current_span() is request
    _assert_nesting(telemetry.spans)


def test_batch_nests_and_leaves_no_span_current(
    telemetry: CapturedTelemetry, app_tracer: trace.Tracer
) -> None:
    """batch: every input's spans nest; nothing stays current in the caller's thread.

    A model's own batch over several prompts is one call serving several runs: code in it
    keeps the caller's span. One prompt per call (``max_concurrency=1``) nests each.
    """
    config: dict[str, Any] = {"callbacks": [telemetry.handler]}
    _under_request(app_tracer, lambda: _chain().batch(["a", "b", "c"], config=config))
    assert _parent_name(telemetry.spans, "in-step") == ["step"] * 3
    assert _parent_name(telemetry.spans, "db-query") == ["execute_tool lookup"] * 3
    assert _parent_name(telemetry.spans, "model-io") == ["request"] * 3
    telemetry.clear()
    config["max_concurrency"] = 1
    _under_request(app_tracer, lambda: _chain().batch(["a", "b"], config=config))
    assert _parent_name(telemetry.spans, "model-io") == ["text_completion echo"] * 2
    assert trace.get_current_span() is trace.INVALID_SPAN


async def test_abatch_nests(telemetry: CapturedTelemetry, app_tracer: trace.Tracer) -> None:
    """abatch: the same, on the event loop."""
    config = {"callbacks": [telemetry.handler], "max_concurrency": 1}
    await _chain().abatch(["a", "b"], config=config)
    assert _parent_name(telemetry.spans, "db-query") == ["execute_tool lookup"] * 2
    assert _parent_name(telemetry.spans, "model-io") == ["text_completion echo"] * 2
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_stream_nests_and_never_leaks_between_chunks(
    telemetry: CapturedTelemetry, app_tracer: trace.Tracer
) -> None:
    """stream: the model span is current in each step of the stream, not in the consumer."""
    config = {"callbacks": [telemetry.handler]}
    with app_tracer.start_as_current_span("request") as request:
        for _ in _chain().stream("abc", config=config):
            assert trace.get_current_span() is request
    _assert_nesting(telemetry.spans, chunks=True)


async def test_astream_nests_and_never_leaks_between_chunks(
    telemetry: CapturedTelemetry, app_tracer: trace.Tracer
) -> None:
    """astream: the same, one ``__anext__`` at a time."""
    config = {"callbacks": [telemetry.handler]}
    with app_tracer.start_as_current_span("request") as request:
        async for _ in _chain().astream("abc", config=config):
            assert trace.get_current_span() is request
    _assert_nesting(telemetry.spans, chunks=True)


async def test_astream_events_nests(telemetry: CapturedTelemetry, app_tracer: trace.Tracer) -> None:
    """astream_events: the same nesting."""
    config = {"callbacks": [telemetry.handler]}
    with app_tracer.start_as_current_span("request") as request:
        async for _ in _chain().astream_events("abc", config=config, version="v2"):
            assert trace.get_current_span() is request
    _assert_nesting(telemetry.spans, chunks=True)


async def test_model_alone_sync_and_async(
    telemetry: CapturedTelemetry, app_tracer: trace.Tracer
) -> None:
    """A model called directly: its call sees its span, on every path."""
    llm, config = _SpanningLLM(n=2), {"callbacks": [telemetry.handler]}
    with app_tracer.start_as_current_span("request") as request:
        llm.invoke("ab", config=config)
        await llm.ainvoke("ab", config=config)
        list(llm.stream("ab", config=config))
        [c async for c in llm.astream("ab", config=config)]
        assert trace.get_current_span() is request
    assert _parent_name(telemetry.spans, "model-io") == ["text_completion echo"] * 4


def test_parallel_branches_and_retriever(
    telemetry: CapturedTelemetry, app_tracer: trace.Tracer
) -> None:
    """RunnableParallel branches run in threads; a retriever's lookup nests under it."""
    parallel = RunnableParallel(
        left=RunnableLambda(_step).with_config(run_name="step"), docs=_Docs()
    )
    _under_request(app_tracer, lambda: parallel.invoke("q", {"callbacks": [telemetry.handler]}))
    assert _parent_name(telemetry.spans, "in-step") == ["step"]
    assert _parent_name(telemetry.spans, "vector-query") == ["retrieval _Docs"]


async def test_chat_model_call_nests(
    telemetry: CapturedTelemetry, app_tracer: trace.Tracer
) -> None:
    """A chat model's generate path is covered too (``_generate_with_cache``)."""

    class Chat(GenericFakeChatModel):
        def _generate(self, *args: Any, **kwargs: Any) -> Any:
            _user_span("chat-io")
            return super()._generate(*args, **kwargs)

    Chat(messages=iter([AIMessage("hi")])).invoke("x", {"callbacks": [telemetry.handler]})
    assert _parent_name(telemetry.spans, "chat-io") == ["chat generic-fake-chat-model"]


def test_with_instrument(telemetry: CapturedTelemetry, app_tracer: trace.Tracer) -> None:
    """instrument(): the same nesting with no callbacks passed."""
    instrument(handler=telemetry.handler)
    try:
        _under_request(app_tracer, lambda: _chain().invoke("abc"))
    finally:
        uninstrument()
    _assert_nesting(telemetry.spans)


def test_uninstrument_undoes_the_patches(telemetry: CapturedTelemetry) -> None:
    """uninstrument() restores LangChain as it was; the next handler patches again."""
    from langchain_core.language_models.llms import BaseLLM
    from langchain_core.runnables import config as lc_config

    assert _propagation.installed()
    instrument(handler=telemetry.handler)
    uninstrument()
    assert not _propagation.installed()
    assert lc_config._set_config_context.__module__ == "langchain_core.runnables.config"
    assert not hasattr(BaseLLM.__dict__["stream"], "__wrapped__")
    _propagation.install()
    assert hasattr(BaseLLM.__dict__["stream"], "__wrapped__")


class TestCallerContextUntouched:
    """However a run ends, the caller's current span is what it was."""

    async def test_error(self, telemetry: CapturedTelemetry, app_tracer: trace.Tracer) -> None:
        """A run that raises."""
        chain = _chain(EchoLLM(n=3, fail_with=KeyError("boom")))
        with app_tracer.start_as_current_span("request") as request:
            with pytest.raises(KeyError):
                chain.invoke("abc", config={"callbacks": [telemetry.handler]})
            with pytest.raises(KeyError):
                await chain.ainvoke("abc", config={"callbacks": [telemetry.handler]})
            assert trace.get_current_span() is request
        assert telemetry.handler.open_runs == 0

    async def test_cancelled_task(
        self, telemetry: CapturedTelemetry, app_tracer: trace.Tracer
    ) -> None:
        """A task cancelled mid-stream."""
        llm = _SpanningLLM(n=50, time_per_token=0.01)
        started = asyncio.Event()

        async def consume() -> None:
            async for _ in llm.astream("x" * 60, config={"callbacks": [telemetry.handler]}):
                started.set()

        with app_tracer.start_as_current_span("request") as request:
            task = asyncio.create_task(consume())
            await started.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert trace.get_current_span() is request
        assert telemetry.handler.open_runs == 0

    def test_stream_broken_out_of(
        self, telemetry: CapturedTelemetry, app_tracer: trace.Tracer
    ) -> None:
        """A sync stream abandoned after one chunk, then dropped and collected."""
        with app_tracer.start_as_current_span("request") as request:
            stream = _chain(_SpanningLLM(n=9)).stream(
                "abcdefghi", {"callbacks": [telemetry.handler]}
            )
            for _ in stream:
                break
            assert trace.get_current_span() is request
            del stream
            gc.collect()
            assert trace.get_current_span() is request
        assert telemetry.handler.open_runs == 0

    async def test_astream_closed_from_another_task(
        self, telemetry: CapturedTelemetry, app_tracer: trace.Tracer
    ) -> None:
        """An async stream read in one task and closed from another."""
        llm = _SpanningLLM(n=9)
        with app_tracer.start_as_current_span("request") as request:
            stream = llm.astream("abcdefghi", config={"callbacks": [telemetry.handler]})
            await asyncio.create_task(stream.__anext__())
            await asyncio.create_task(stream.aclose())  # type: ignore[attr-defined]
            assert trace.get_current_span() is request
        (span,) = telemetry.spans_named("text_completion")
        assert span.attributes["langchain_otel.outcome"] == "cancelled"

    async def test_astream_dropped_and_collected(
        self, telemetry: CapturedTelemetry, app_tracer: trace.Tracer
    ) -> None:
        """An async stream dropped mid-way: the loop finalizes it; nothing leaks."""
        with app_tracer.start_as_current_span("request") as request:
            stream = _chain(_SpanningLLM(n=9)).astream(
                "abcdefghi", {"callbacks": [telemetry.handler]}
            )
            async for _ in stream:
                break
            del stream
            for _ in range(20):  # let the loop run the generators' finalizers
                gc.collect()
                await asyncio.sleep(0)
            assert trace.get_current_span() is request
        assert trace.get_current_span() is trace.INVALID_SPAN


class TestBadInput:
    """Odd callbacks degrade telemetry, never the app or the caller's context."""

    def test_unknown_parent_and_double_start(self, telemetry: CapturedTelemetry) -> None:
        """A run under an unknown parent and a run id started twice still get spans."""
        from uuid import uuid4

        handler = telemetry.handler
        before = trace.get_current_span()
        run_id = uuid4()
        handler.on_chain_start({"name": "a"}, {}, run_id=run_id, parent_run_id=uuid4())
        handler.on_chain_start({"name": "a"}, {}, run_id=run_id, parent_run_id=None)
        handler.on_chain_end({}, run_id=run_id)
        assert trace.get_current_span() is before
        assert [s.name for s in telemetry.spans] == ["a", "a"]
        assert handler.open_runs == 0


def test_every_boundary_is_patched() -> None:
    """Each patch target exists in the installed langchain-core (run at both range ends)."""
    from langchain_core.runnables import config as lc_config

    _propagation.install()
    for module_name, class_name, name, _ in _propagation._TARGETS:
        owner = getattr(__import__(module_name, fromlist=[class_name]), class_name)
        assert hasattr(owner.__dict__[name], "__wrapped__"), f"{class_name}.{name}"
    assert hasattr(lc_config._set_config_context, "__wrapped__")
