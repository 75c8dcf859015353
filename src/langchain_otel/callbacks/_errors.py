"""Failures and cancellations of a run: classified, described and recorded on its span."""

from __future__ import annotations

import asyncio
import traceback
from typing import Any

from opentelemetry.trace import Status, StatusCode

from langchain_otel.callbacks import _semconv as sc
from langchain_otel.callbacks._content import clean_text

__all__ = ["error_type", "finish", "is_cancellation", "outcome_of", "record_error"]


def error_type(error: BaseException) -> str:
    """Fully qualified class name; builtins keep their bare name (``ValueError``).

    Example:
        >>> error_type(ValueError()), error_type(asyncio.CancelledError())
        ('ValueError', 'asyncio.exceptions.CancelledError')
    """
    cls = type(error)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def is_cancellation(error: BaseException) -> bool:
    """CancelledError, GeneratorExit (a consumer closed the stream) or trio/anyio cancel.

    Example:
        >>> is_cancellation(GeneratorExit()), is_cancellation(ValueError())
        (True, False)
    """
    if isinstance(error, asyncio.CancelledError | GeneratorExit):
        return True
    cls = type(error)
    return cls.__name__ == "Cancelled" and cls.__module__.split(".", 1)[0] in {"trio", "anyio"}


def outcome_of(error: BaseException | None) -> str:
    """``ok`` without an error, ``cancelled`` for a cancellation, else ``error``.

    Example:
        >>> outcome_of(None), outcome_of(GeneratorExit()), outcome_of(KeyError())
        ('ok', 'cancelled', 'error')
    """
    if error is None:
        return sc.OUTCOME_OK
    return sc.OUTCOME_CANCELLED if is_cancellation(error) else sc.OUTCOME_ERROR


def _describe(error: BaseException, kind: str) -> str:
    """``"{type}: {message}"`` for the span status; the type alone if ``str()`` raises."""
    try:
        return clean_text(f"{kind}: {error}")[:256]
    except Exception:  # an exception whose __str__ raises
        return kind


def _clean_exception(error: BaseException) -> dict[str, str] | None:
    """Message and stack trace without lone surrogates, which OTLP cannot encode.

    None (the SDK's own attributes) for the usual clean message; only an exception whose
    text holds invalid unicode pays for a second formatting of its traceback.
    """
    message = str(error)
    if message.isascii() or clean_text(message) == message:
        return None
    trace_text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return {
        sc.EXCEPTION_MESSAGE: clean_text(message),
        sc.EXCEPTION_STACKTRACE: clean_text(trace_text),
    }


def record_error(span: Any, error: BaseException, kind: str) -> None:
    """Status ERROR and the ``exception`` event, even for an unprintable exception."""
    try:
        span.record_exception(error, escaped=True, attributes=_clean_exception(error))
    except Exception:  # the SDK calls str(error), which may raise
        span.add_event(
            sc.EXCEPTION_EVENT,
            {sc.EXCEPTION_TYPE: kind, sc.EXCEPTION_MESSAGE: "<unprintable exception>"},
        )
    span.set_status(Status(StatusCode.ERROR, _describe(error, kind)))


def finish(span: Any, outcome: str) -> None:
    """End ``span`` if the normal end path failed before ending it (None: a folded run)."""
    if span is not None and span.is_recording():
        span.set_attribute(sc.OUTCOME, outcome)
        span.end()
