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
