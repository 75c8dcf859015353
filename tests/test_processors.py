"""add_otel_context: stamps trace/span ids of the current span onto any structlog event."""

from __future__ import annotations

import structlog
from opentelemetry.sdk.trace import TracerProvider
from structlog.testing import capture_logs

from langchain_otel import add_otel_context
from langchain_otel.llms import EchoLLM
from langchain_otel.testing import capture_telemetry


def test_stamps_ids_of_the_current_span() -> None:
    """Inside a span: 32/16 lowercase hex ids equal to the span's."""
    tracer = TracerProvider().get_tracer("t")
    with (
        capture_logs(processors=[add_otel_context]) as logs,
        tracer.start_as_current_span("s") as span,
    ):
        structlog.get_logger().info("hello")
    (event,) = logs
    ctx = span.get_span_context()
    assert event["trace_id"] == format(ctx.trace_id, "032x")
    assert event["span_id"] == format(ctx.span_id, "016x")
    assert len(event["trace_id"]) == 32
    assert event["trace_id"] == event["trace_id"].lower()
    assert len(event["span_id"]) == 16


def test_nothing_without_a_valid_span() -> None:
    """No current span: the event is left alone."""
    with capture_logs(processors=[add_otel_context]) as logs:
        structlog.get_logger().info("hello")
    assert "trace_id" not in logs[0]
    assert "span_id" not in logs[0]


def test_existing_ids_are_kept() -> None:
    """The handler's llm.end events keep their run's ids under the caller's span."""
    tracer = TracerProvider().get_tracer("t")
    with (
        capture_telemetry(
            strict=True, use_genai_prices=False, log_processors=[add_otel_context]
        ) as t,
        tracer.start_as_current_span("request") as outer,
    ):
        EchoLLM(n=2).invoke("hi", config={"callbacks": [t.handler]})
        structlog.get_logger().info("user.event")
    llm_end = next(e for e in t.logs if e["event"] == "llm.end")
    user = next(e for e in t.logs if e["event"] == "user.event")
    (span,) = t.spans
    assert llm_end["span_id"] == format(span.context.span_id, "016x")
    assert user["span_id"] == format(outer.get_span_context().span_id, "016x")
