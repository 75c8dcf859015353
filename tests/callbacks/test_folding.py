"""Folded chain runs: in the registry without a span; children go to the nearest kept span."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from langchain_core.runnables import RunnableLambda
from opentelemetry.sdk.trace import ReadableSpan

from langchain_otel.callbacks import _core
from langchain_otel.callbacks._chains import ChainSpan, classify_chain
from langchain_otel.llms import EchoLLM
from langchain_otel.testing import CapturedTelemetry


@pytest.fixture(name="fold")
def _fold(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Fold the chain runs whose name is in the yielded set (the extension point)."""
    names: set[str] = set()

    def classify(*args: Any) -> ChainSpan:
        spec = classify_chain(*args)
        spec.folded = spec.name in names
        return spec

    monkeypatch.setattr(_core, "classify_chain", classify)
    return names


def _by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {s.name: s for s in spans}


def _chain() -> Any:
    inner = (RunnableLambda(lambda x: x) | EchoLLM(n=2)).with_config(run_name="inner")
    return (RunnableLambda(lambda x: x) | inner).with_config(run_name="outer")


def test_nothing_is_folded_by_default(telemetry: CapturedTelemetry) -> None:
    """Without an extension every chain run keeps its span."""
    _chain().invoke("hi", config={"callbacks": [telemetry.handler]})
    assert {"outer", "inner", "text_completion echo"} <= set(_by_name(telemetry.spans))


def test_children_of_a_folded_run_go_to_the_nearest_kept_span(
    telemetry: CapturedTelemetry, fold: set[str]
) -> None:
    """A folded run has no span; its children are parented to its kept ancestor."""
    fold.add("inner")
    _chain().invoke("hi", config={"callbacks": [telemetry.handler]})
    spans = _by_name(telemetry.spans)
    assert "inner" not in spans
    outer = spans["outer"]
    assert spans["text_completion echo"].parent.span_id == outer.context.span_id
    assert telemetry.handler.open_runs == 0


def test_a_folded_root_leaves_its_children_under_the_callers_span(
    telemetry: CapturedTelemetry, fold: set[str]
) -> None:
    """Folded all the way up: the children nest under the span current at the call."""
    fold.update({"outer", "inner"})
    tracer = telemetry.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("request") as request:
        _chain().invoke("hi", config={"callbacks": [telemetry.handler]})
    spans = _by_name(telemetry.spans)
    assert not {"outer", "inner"} & set(spans)
    llm = spans["text_completion echo"]
    assert llm.parent.span_id == request.get_span_context().span_id
    assert telemetry.handler.open_runs == 0


def test_a_folded_run_that_fails_or_is_abandoned_ends_cleanly(
    telemetry: CapturedTelemetry, fold: set[str]
) -> None:
    """Errors, sweeps and close() skip the folded run and end the rest."""
    fold.add("inner")

    def boom(_: Any) -> Any:
        raise KeyError("x")

    chain = (RunnableLambda(lambda x: x) | RunnableLambda(boom)).with_config(run_name="inner")
    with pytest.raises(KeyError):
        chain.invoke("hi", config={"callbacks": [telemetry.handler]})
    assert "inner" not in _by_name(telemetry.spans)
    handler = telemetry.handler
    handler.on_chain_start({"name": "inner"}, {}, run_id=uuid4(), parent_run_id=None)
    assert handler.open_runs == 1
    assert handler.close() == 1
    assert handler.open_runs == 0
    assert handler.internal_errors == 0


# -- prompts and parsers: folded by default ---------------------------------------------


def _prompt_chain(parser: Any = None) -> Any:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import PromptTemplate

    return (
        PromptTemplate.from_template("say {question}")
        | EchoLLM(n=4)
        | (parser or StrOutputParser())
    )


@pytest.mark.parametrize("mode", ["invoke", "stream", "batch"])
def test_prompts_and_parsers_are_folded_into_their_chain(
    telemetry: CapturedTelemetry, mode: str
) -> None:
    """prompt | llm | parser is two spans; the model's parent is the chain's span."""
    chain, config = _prompt_chain(), {"callbacks": [telemetry.handler]}
    if mode == "invoke":
        assert chain.invoke({"question": "x"}, config=config) == "say "
    elif mode == "stream":
        assert "".join(chain.stream({"question": "x"}, config=config)) == "say "
    else:
        assert chain.batch([{"question": "x"}, {"question": "y"}], config=config) == ["say "] * 2
    runs = 2 if mode == "batch" else 1
    spans = telemetry.spans
    assert sorted(s.name for s in spans) == sorted(
        ["RunnableSequence", "text_completion echo"] * runs
    )
    roots = {s.context.span_id: s for s in spans if s.name == "RunnableSequence"}
    for llm in telemetry.spans_named("text_completion"):
        assert llm.parent is not None
        assert llm.parent.span_id in roots
    assert telemetry.handler.open_runs == 0


async def test_prompts_and_parsers_are_folded_in_async_streams(
    telemetry: CapturedTelemetry,
) -> None:
    """astream: the parser's transform run is folded too."""
    chunks = [
        c
        async for c in _prompt_chain().astream(
            {"question": "x"}, config={"callbacks": [telemetry.handler]}
        )
    ]
    assert "".join(chunks) == "say "
    assert sorted(s.name for s in telemetry.spans) == ["RunnableSequence", "text_completion echo"]
    assert telemetry.handler.open_runs == 0


def test_keep_all_runs_keeps_prompts_and_parsers() -> None:
    """keep_all_runs=True: every run has its span."""
    from langchain_otel.testing import capture_telemetry

    with capture_telemetry(keep_all_runs=True, strict=True) as telemetry:
        _prompt_chain().invoke({"question": "x"}, config={"callbacks": [telemetry.handler]})
    assert sorted(s.name for s in telemetry.spans) == [
        "PromptTemplate",
        "RunnableSequence",
        "StrOutputParser",
        "text_completion echo",
    ]


def test_a_failing_prompt_gets_its_span_back_dated_with_the_error(
    telemetry: CapturedTelemetry,
) -> None:
    """A folded step that fails is not hidden: its own span, under the chain, with the error."""
    from opentelemetry.trace import StatusCode

    with pytest.raises(KeyError):
        _prompt_chain().invoke({"wrong": "x"}, config={"callbacks": [telemetry.handler]})
    spans = _by_name(telemetry.spans)
    assert set(spans) == {"RunnableSequence", "PromptTemplate"}
    prompt, root = spans["PromptTemplate"], spans["RunnableSequence"]
    assert prompt.parent is not None
    assert prompt.parent.span_id == root.context.span_id
    attrs = prompt.attributes or {}
    assert attrs["langchain_otel.outcome"] == "error"
    assert attrs["error.type"] == "KeyError"
    assert attrs["langchain.run.type"] == "chain"
    assert attrs["langchain.run.name"] == "PromptTemplate"
    assert prompt.status.status_code is StatusCode.ERROR
    assert [e.name for e in prompt.events] == ["exception"]
    assert root.start_time is not None
    assert prompt.start_time is not None
    assert root.start_time <= prompt.start_time <= prompt.end_time <= root.end_time  # type: ignore[operator]
    assert telemetry.handler.open_runs == 0


def test_a_failing_step_span_starts_at_the_steps_own_start(
    telemetry: CapturedTelemetry, clock: Any
) -> None:
    """Back-dated from the run core's clock: a step that ran 2 s before failing spans 2 s."""
    from langchain_core.output_parsers import BaseOutputParser

    class Failing(BaseOutputParser[str]):
        def parse(self, text: str) -> str:
            clock.advance(2.0)
            raise ValueError("unparseable")

    with pytest.raises(ValueError, match="unparseable"):
        _prompt_chain(Failing()).invoke(
            {"question": "x"}, config={"callbacks": [telemetry.handler]}
        )
    parser = _by_name(telemetry.spans)["Failing"]
    assert parser.start_time is not None
    assert parser.end_time is not None
    took = parser.end_time - parser.start_time
    assert 2.0e9 <= took < 3.0e9  # 2 s on the run clock (+ the real time of the test)
    assert (parser.attributes or {})["error.type"] == "ValueError"


def test_a_cancelled_folded_step_stays_folded(telemetry: CapturedTelemetry) -> None:
    """A cancellation is the parent's story: no span for the folded step."""
    import asyncio

    handler = telemetry.handler
    run_id, parent = uuid4(), uuid4()
    handler.on_chain_start({"name": "Seq"}, {}, run_id=parent, parent_run_id=None)
    handler.on_chain_start(
        {"name": "PromptTemplate"}, {}, run_id=run_id, parent_run_id=parent, run_type="prompt"
    )
    handler.on_chain_error(asyncio.CancelledError(), run_id=run_id, parent_run_id=parent)
    handler.on_chain_error(asyncio.CancelledError(), run_id=parent)
    assert [s.name for s in telemetry.spans] == ["Seq"]
    assert (telemetry.spans[0].attributes or {})["langchain_otel.outcome"] == "cancelled"
    assert handler.open_runs == 0
