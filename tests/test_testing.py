"""langchain_otel.testing: capture_telemetry restores everything; fake_clock is exact."""

from __future__ import annotations

import pytest
import structlog
from opentelemetry import trace

from langchain_otel.callbacks import _runs
from langchain_otel.llms import EchoLLM
from langchain_otel.testing import capture_telemetry, fake_clock


def test_capture_and_restore() -> None:
    """Spans, metrics and logs are captured; global providers and structlog are untouched."""
    global_provider = trace.get_tracer_provider()
    processors = list(structlog.get_config()["processors"])
    with capture_telemetry(strict=True, use_genai_prices=False) as t:
        EchoLLM(n=2).invoke("hi", config={"callbacks": [t.handler]})
        assert [s.name for s in t.spans] == ["text_completion echo"]
        assert [s.name for s in t.spans_named("text_")] == ["text_completion echo"]
        assert t.metrics()["gen_ai.client.token.usage"]
        assert [e["event"] for e in t.logs if e["event"].startswith("llm.")] == ["llm.end"]
        t.clear()
        assert t.spans == ()
        assert t.logs == []
    assert trace.get_tracer_provider() is global_provider
    assert structlog.get_config()["processors"] == processors
    assert "spans=0" in repr(t)


def test_restores_after_an_exception() -> None:
    """An exception inside the block still restores structlog and the clock."""
    processors = list(structlog.get_config()["processors"])
    original = _runs.clock
    with pytest.raises(ZeroDivisionError), capture_telemetry(), fake_clock():
        _ = 1 / 0
    assert structlog.get_config()["processors"] == processors
    assert _runs.clock is original


def test_fake_clock_makes_durations_exact() -> None:
    """With fake_clock, a run that takes no fake time has a zero duration."""
    with fake_clock(start=5.0) as clock, capture_telemetry(use_genai_prices=False) as t:
        EchoLLM(n=2).invoke("hi", config={"callbacks": [t.handler]})
        clock.advance(1.5)
        assert clock() == 6.5
    (point,) = t.metrics()["gen_ai.client.operation.duration"]
    assert point.sum == 0.0


def test_capture_yields_captured_telemetry() -> None:
    """capture_telemetry() yields a CapturedTelemetry, not configure()'s Telemetry."""
    import langchain_otel
    from langchain_otel.testing import CapturedTelemetry

    with capture_telemetry() as t:
        assert isinstance(t, CapturedTelemetry)
        assert langchain_otel.Telemetry not in type(t).__mro__
    assert repr(t) == "<CapturedTelemetry spans=0 logs=0>"
