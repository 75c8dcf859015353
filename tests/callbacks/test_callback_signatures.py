"""Every keyword LangChain passes to a callback is a named parameter of ours.

A keyword that lands in ``**kwargs`` is bound by CPython's slow path (compared with every
parameter name in turn); on a stream's per-token callback that cost ≈ 1,000 instructions
per token (``docs/performance.md``). When langchain-core starts passing a new keyword,
this test names it: add it to the handler's signature.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import defaultdict
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.language_models.llms import LLM
from langchain_core.prompts import PromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool

from langchain_otel import OTelCallbackHandler
from langchain_otel.llms import EchoChatModel, EchoLLM

_CALLBACKS = (
    "on_llm_start",
    "on_chat_model_start",
    "on_llm_new_token",
    "on_llm_end",
    "on_llm_error",
    "on_chain_start",
    "on_chain_end",
    "on_chain_error",
    "on_tool_start",
    "on_tool_end",
    "on_tool_error",
    "on_retriever_start",
    "on_retriever_end",
    "on_retriever_error",
)


class _KeywordSpy(BaseCallbackHandler):
    """Records the keywords LangChain passes to each callback."""

    run_inline = True

    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = defaultdict(set)

    def __getattribute__(self, name: str) -> Any:
        if name in _CALLBACKS:
            seen = object.__getattribute__(self, "seen")

            def spy(*args: Any, **kwargs: Any) -> None:
                seen[name].update(kwargs)

            return spy
        return object.__getattribute__(self, name)


class _FailingLLM(LLM):
    @property
    def _llm_type(self) -> str:
        return "failing"

    def _call(self, prompt: str, stop: list[str] | None = None, **kwargs: Any) -> str:
        raise ValueError("boom")


class _Retriever(BaseRetriever):
    def _get_relevant_documents(self, query: str, *, run_manager: Any) -> list[Document]:
        return [Document(page_content=query)]


class _FailingRetriever(BaseRetriever):
    def _get_relevant_documents(self, query: str, *, run_manager: Any) -> list[Document]:
        raise ValueError("boom")


@tool
def _double(x: int) -> int:
    """Double x."""
    return 2 * x


@tool
def _broken(x: int) -> int:
    """Fail."""
    raise ValueError("boom")


def _run_everything(spy: _KeywordSpy) -> None:
    config: Any = {"callbacks": [spy], "tags": ["t"], "metadata": {"k": "v"}}
    chain = PromptTemplate.from_template("{q}") | EchoLLM(n=3)
    chain.invoke({"q": "hello"}, config=config)
    list(EchoLLM(n=3).stream("hello", config=config))
    EchoChatModel(n=3).invoke("hello", config=config)

    async def streams() -> None:
        async for _ in EchoLLM(n=3).astream("hello", config=config):
            pass
        async for _ in EchoChatModel(n=3).astream("hello", config=config):
            pass
        await chain.ainvoke({"q": "hello"}, config=config)

    asyncio.run(streams())
    _double.invoke({"x": 2}, config=config)
    _Retriever().invoke("q", config=config)
    for failing in (
        lambda: _FailingLLM().invoke("x", config=config),
        lambda: RunnableLambda(lambda _: 1 / 0).invoke(1, config=config),
        lambda: _broken.invoke({"x": 2}, config=config),
        lambda: _FailingRetriever().invoke("q", config=config),
    ):
        with pytest.raises((ValueError, ZeroDivisionError)):
            failing()


def test_every_keyword_langchain_passes_is_named() -> None:
    spy = _KeywordSpy()
    _run_everything(spy)
    assert set(spy.seen) == set(_CALLBACKS)  # every callback was exercised
    unnamed = {}
    for name, keywords in spy.seen.items():
        parameters = inspect.signature(getattr(OTelCallbackHandler, name)).parameters
        missing = keywords - set(parameters)
        if missing:
            unnamed[name] = sorted(missing)
    assert unnamed == {}


def test_the_named_keywords_still_reach_the_run_core() -> None:
    """``name`` and ``run_type`` are named now; the run's name and folding still see them."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    handler = OTelCallbackHandler(tracer_provider=provider, use_genai_prices=False, strict=True)
    chain = (PromptTemplate.from_template("{q}") | EchoLLM(n=2)).with_config(run_name="mine")
    chain.invoke({"q": "hi"}, config={"callbacks": [handler]})
    EchoLLM(n=2).invoke("hi", config={"callbacks": [handler], "run_name": "named-model"})
    names = sorted(s.name for s in exporter.get_finished_spans())
    assert names == ["mine", "text_completion echo", "text_completion echo"]  # prompt folded
    runs = {s.attributes["langchain.run.name"] for s in exporter.get_finished_spans()}  # type: ignore[index]
    assert runs == {"mine", "EchoLLM", "named-model"}
    assert handler.open_runs == 0
