"""structlog processors: join your own log events to their trace, and send them to OTel logs.

This module is the one home of both: :func:`add_otel_context` stamps the current span's ids
on each event, :class:`OTelLogsBridge` emits each event as an OpenTelemetry log record.
``langchain_otel`` re-exports them.

Example:
    >>> import structlog
    >>> from langchain_otel.processors import add_otel_context
    >>> add_otel_context(None, "info", {"event": "no span here"})
    {'event': 'no span here'}
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Mapping, MutableMapping
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import LoggerProvider, SeverityNumber, get_logger_provider

from langchain_otel.callbacks import _semconv as sc

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


_SEVERITY: Mapping[str, tuple[SeverityNumber, str]] = {
    "debug": (SeverityNumber.DEBUG, "DEBUG"),
    "info": (SeverityNumber.INFO, "INFO"),
    "msg": (SeverityNumber.INFO, "INFO"),
    "warning": (SeverityNumber.WARN, "WARNING"),
    "warn": (SeverityNumber.WARN, "WARNING"),
    "error": (SeverityNumber.ERROR, "ERROR"),
    "exception": (SeverityNumber.ERROR, "ERROR"),
    "critical": (SeverityNumber.FATAL, "CRITICAL"),
    "fatal": (SeverityNumber.FATAL, "CRITICAL"),
}

# Keys structlog processors add that are not attributes of the event itself.
_SKIP = frozenset({"event", "level", "timestamp", "exc_info", "_record", "_from_structlog"})


def _attribute(value: Any) -> Any:
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return list(value)
    return str(value)


class OTelLogsBridge:
    """structlog processor: emit each event as an OpenTelemetry log record, then pass it on.

    The record's body is the event name, its attributes the other keys (non-primitive
    values as strings), its severity the log method, its trace context the current span,
    so log lines in ``logs.jsonl`` (or an OTLP backend) join their traces. Put it after
    ``add_otel_context`` and before the renderer. It never raises: an event that cannot
    be bridged is passed on unchanged.

    Args:
        logger_provider: Where records go; ``None`` uses the global logger provider at each
            call (so ``configure()`` may run later).
        logger_name: The instrumentation scope name of the records.

    Example:
        >>> import structlog
        >>> from opentelemetry.sdk._logs import LoggerProvider
        >>> from opentelemetry.sdk._logs.export import (
        ...     InMemoryLogRecordExporter, SimpleLogRecordProcessor)
        >>> exporter = InMemoryLogRecordExporter()
        >>> provider = LoggerProvider()
        >>> provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
        >>> log = structlog.wrap_logger(
        ...     structlog.ReturnLogger(), processors=[OTelLogsBridge(provider)])
        >>> log.info("order.paid", amount=3)
        ((), {'amount': 3, 'event': 'order.paid'})
        >>> record = exporter.get_finished_logs()[0].log_record
        >>> record.body, dict(record.attributes), record.severity_text
        ('order.paid', {'amount': 3}, 'INFO')
    """

    __slots__ = ("_logger", "_logger_name", "_provider")

    def __init__(
        self,
        logger_provider: LoggerProvider | None = None,
        *,
        logger_name: str = "langchain_otel",
    ) -> None:
        if not logger_name:
            raise ValueError("logger_name must be a non-empty string")
        self._provider = logger_provider
        self._logger_name = logger_name
        self._logger = (
            logger_provider.get_logger(logger_name) if logger_provider is not None else None
        )

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        """Emit ``event_dict`` to OpenTelemetry logs and return it unchanged."""
        try:
            otel_logger = self._logger or get_logger_provider().get_logger(self._logger_name)
            level = str(event_dict.get("level", method_name)).lower()
            severity, text = _SEVERITY.get(level, (SeverityNumber.INFO, level.upper()))
            attributes = {
                key: _attribute(value)
                for key, value in event_dict.items()
                if key not in _SKIP and value is not None
            }
            exc_info = event_dict.get("exc_info")
            if exc_info is True:  # log.exception(...) inside an except block
                exc_info = sys.exc_info()[1]
            elif isinstance(exc_info, tuple):
                exc_info = exc_info[1]
            if isinstance(exc_info, BaseException):
                # The semconv exception attributes, set here so every SDK version has them.
                attributes[sc.EXCEPTION_TYPE] = type(exc_info).__name__
                attributes[sc.EXCEPTION_MESSAGE] = str(exc_info)
                attributes[sc.EXCEPTION_STACKTRACE] = "".join(
                    traceback.format_exception(type(exc_info), exc_info, exc_info.__traceback__)
                )
            otel_logger.emit(
                timestamp=time.time_ns(),
                severity_number=severity,
                severity_text=text,
                body=str(event_dict.get("event", "")),
                attributes=attributes,
            )
        except Exception:
            pass
        return event_dict
