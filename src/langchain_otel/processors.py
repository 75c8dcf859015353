"""structlog processors: join your own log events to the trace they happened in.

Example:
    >>> import structlog
    >>> from langchain_otel.processors import add_otel_context
    >>> add_otel_context(None, "info", {"event": "no span here"})
    {'event': 'no span here'}
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from opentelemetry import trace

from langchain_otel._export._logs_bridge import OTelLogsBridge

__all__ = ["OTelLogsBridge", "add_otel_context"]


def add_otel_context(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Stamp ``trace_id`` (32 hex digits) and ``span_id`` (16) of the current span.

    Add it to your structlog processors (before the renderer). Nothing is added when no
    valid span is current, and keys already in the event are kept (the handler's own
    ``llm.end`` events carry their run's ids, which win).

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> tracer = TracerProvider().get_tracer("example")
        >>> with tracer.start_as_current_span("work") as span:
        ...     event = add_otel_context(None, "info", {"event": "hello"})
        >>> event["trace_id"] == format(span.get_span_context().trace_id, "032x")
        True
        >>> len(event["trace_id"]), len(event["span_id"])
        (32, 16)
    """
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        if "trace_id" not in event_dict:
            event_dict["trace_id"] = format(context.trace_id, "032x")
        if "span_id" not in event_dict:
            event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict
