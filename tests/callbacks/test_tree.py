"""Chains, tools and retrievers: one trace per chain run, parented by run id."""

from __future__ import annotations

import pytest
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from langchain_otel._demo import build_chain
from langchain_otel.llms import EchoLLM
from langchain_otel.testing import CapturedTelemetry, capture_telemetry


class _Docs(BaseRetriever):
    """Returns the query as a document."""

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [Document(page_content=query)]


@tool
def shout(text: str) -> str:
    """Upper-case the text."""
    return text.upper()


def _by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {s.name: s for s in spans}


def test_prompt_llm_parser_tree(telemetry: CapturedTelemetry) -> None:
    """prompt | llm | parser: a RunnableSequence root and its model span, in one trace.

    The prompt and the parser are folded (no span of their own).
    """
    assert build_chain(EchoLLM(n=6)).invoke(
        {"question": "q"}, config={"callbacks": [telemetry.handler]}
    ) == ("Answer")
    spans = _by_name(telemetry.spans)
    assert set(spans) == {"RunnableSequence", "text_completion echo"}
    root = spans["RunnableSequence"]
    assert root.parent is None
    assert root.kind is SpanKind.INTERNAL
    assert root.attributes["langchain.run.type"] == "chain"
    assert root.attributes["langchain_otel.outcome"] == "ok"
    llm = spans["text_completion echo"]
    assert llm.parent is not None
    assert llm.parent.span_id == root.context.span_id
    assert llm.context.trace_id == root.context.trace_id
    assert llm.attributes["langchain.tags"] == ("seq:step:2",)
    assert telemetry.handler.open_runs == 0


def test_prompt_llm_parser_tree_with_every_run_kept() -> None:
    """keep_all_runs=True: the prompt and the parser get their spans, under the root."""
    with capture_telemetry(keep_all_runs=True) as telemetry:
        build_chain(EchoLLM(n=6)).invoke(
            {"question": "q"}, config={"callbacks": [telemetry.handler]}
        )
    spans = _by_name(telemetry.spans)
    assert set(spans) == {
        "RunnableSequence",
        "PromptTemplate",
        "text_completion echo",
        "StrOutputParser",
    }
    root = spans["RunnableSequence"]
    for name in ("PromptTemplate", "text_completion echo", "StrOutputParser"):
        assert spans[name].parent is not None
        assert spans[name].parent.span_id == root.context.span_id
        assert spans[name].context.trace_id == root.context.trace_id
    assert spans["PromptTemplate"].attributes["langchain.run.type"] == "chain"


def test_nests_under_the_callers_span(telemetry: CapturedTelemetry) -> None:
    """With no parent run, the span current at start is the parent; it stays current."""
    tracer = telemetry.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("request") as outer:
        build_chain(EchoLLM(n=2)).invoke(
            {"question": "q"}, config={"callbacks": [telemetry.handler]}
        )
        assert trace.get_current_span() is outer  # we never attach contexts
    spans = _by_name(telemetry.spans)
    assert spans["RunnableSequence"].parent.span_id == outer.get_span_context().span_id


def test_tool_span(telemetry: CapturedTelemetry) -> None:
    """A tool run is an execute_tool span with its name, description and call id."""
    call = {"name": "shout", "args": {"text": "hi"}, "id": "call-1", "type": "tool_call"}
    shout.invoke(call, config={"callbacks": [telemetry.handler]})
    (span,) = telemetry.spans
    assert span.name == "execute_tool shout"
    assert span.kind is SpanKind.INTERNAL
    attrs = span.attributes or {}
    assert attrs["gen_ai.operation.name"] == "execute_tool"
    assert attrs["gen_ai.tool.name"] == "shout"
    assert attrs["gen_ai.tool.description"] == "Upper-case the text."
    assert attrs["gen_ai.tool.call.id"] == "call-1"
    assert attrs["langchain.run.type"] == "tool"
    assert "gen_ai.tool.call.arguments" not in attrs


def test_tool_error_span(telemetry: CapturedTelemetry) -> None:
    """A failing tool: status ERROR, error.type, exception event."""

    @tool
    def broken(text: str) -> str:
        """Always fails."""
        raise KeyError(text)

    with pytest.raises(KeyError):
        broken.invoke({"text": "x"}, config={"callbacks": [telemetry.handler]})
    (span,) = telemetry.spans
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "KeyError"
    assert span.attributes["langchain_otel.outcome"] == "error"
    assert [e.name for e in span.events] == ["exception"]


def test_retriever_in_a_chain(telemetry: CapturedTelemetry) -> None:
    """A retriever run is a retrieval CLIENT span under its chain."""
    chain = _Docs() | RunnableLambda(len)
    assert chain.invoke("what", config={"callbacks": [telemetry.handler]}) == 1
    spans = _by_name(telemetry.spans)
    retrieval = spans["retrieval _Docs"]
    assert retrieval.kind is SpanKind.CLIENT
    assert retrieval.attributes["gen_ai.operation.name"] == "retrieval"
    assert retrieval.attributes["langchain.run.type"] == "retriever"
    assert retrieval.parent.span_id == spans["RunnableSequence"].context.span_id
    assert "gen_ai.retrieval.query.text" not in retrieval.attributes
