"""Global instrumentation: every LangChain run gets the handler, no callbacks to pass.

:func:`instrument` registers an :class:`~langchain_otel.OTelCallbackHandler` through
langchain_core's own ``register_configure_hook`` (no monkeypatching): each callback
manager LangChain configures adds the handler, inheritable, unless an
``OTelCallbackHandler`` is already among its handlers — so passing a handler explicitly
while instrumented never doubles the telemetry. :class:`LangChainInstrumentor` exposes
the same through OpenTelemetry's ``opentelemetry_instrumentor`` entry point (name
``langchain_otel``), so ``opentelemetry-instrument python app.py`` picks it up.

The handler lives in a process-wide slot that LangChain reads like a ``ContextVar``:
unlike a real ``ContextVar`` set in one thread, it is seen by every thread and task,
including threads started before or after ``instrument()``.

Example:
    >>> from langchain_otel import instrument, is_instrumented, uninstrument
    >>> from langchain_otel.testing import capture_telemetry
    >>> from langchain_otel.llms import EchoLLM
    >>> with capture_telemetry(use_genai_prices=False) as telemetry:
    ...     _ = instrument(handler=telemetry.handler)
    ...     _ = EchoLLM(n=2).invoke("hi")
    ...     uninstrument()
    >>> [span.name for span in telemetry.spans], is_instrumented()
    (['text_completion echo'], False)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping
from contextvars import ContextVar
from typing import Any, cast

from langchain_core.tracers.context import register_configure_hook
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from langchain_otel.callbacks import _propagation
from langchain_otel.callbacks._cost import ModelPrice
from langchain_otel.callbacks._logs import default_logger
from langchain_otel.callbacks.handler import OTelCallbackHandler

__all__ = ["LangChainInstrumentor", "instrument", "is_instrumented", "uninstrument"]

_lock = threading.Lock()


class _GlobalSlot:
    """What langchain_core's configure hook reads: ``get()`` returns the global handler."""

    __slots__ = ("handler", "registered")

    def __init__(self) -> None:
        self.handler: OTelCallbackHandler | None = None
        self.registered = False

    def get(self, default: Any = None) -> OTelCallbackHandler | None:
        return self.handler


_slot = _GlobalSlot()


def instrument(
    *,
    handler: OTelCallbackHandler | None = None,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    logger: Any = None,
    capture_content: bool | None = None,
    prices: Mapping[str, ModelPrice] | None = None,
    content_max_length: int = 8192,
    redact: Callable[[str], str] | None = None,
    use_genai_prices: bool = True,
    capture_metadata: bool = False,
    run_ttl: float = 600.0,
    max_runs: int = 10_000,
    keep_all_runs: bool = False,
    strict: bool = False,
) -> OTelCallbackHandler:
    """Give every LangChain run an :class:`~langchain_otel.OTelCallbackHandler`.

    Idempotent and thread-safe: while instrumented, a second call logs a warning and
    returns the handler already installed (its options are ignored).

    Args:
        handler: Install this handler instead of building one from the options below.
        tracer_provider: See :class:`~langchain_otel.OTelCallbackHandler`.
        meter_provider: See the handler.
        logger: See the handler.
        capture_content: See the handler.
        prices: See the handler.
        content_max_length: See the handler.
        redact: See the handler.
        use_genai_prices: See the handler.
        capture_metadata: See the handler.
        run_ttl: See the handler.
        max_runs: See the handler.
        keep_all_runs: See the handler.
        strict: See the handler.

    Returns:
        The installed handler (``open_runs``, ``internal_errors``, ``close()``).

    Example:
        >>> from langchain_otel.testing import capture_telemetry
        >>> with capture_telemetry() as telemetry:
        ...     first = instrument(handler=telemetry.handler)
        ...     second = instrument()  # already instrumented: same handler
        ...     uninstrument()
        >>> first is second is telemetry.handler
        True
    """
    with _lock:
        if _slot.handler is not None:
            _warn("langchain_otel.already_instrumented")
            return _slot.handler
        if handler is None:
            handler = OTelCallbackHandler(
                tracer_provider=tracer_provider,
                meter_provider=meter_provider,
                logger=logger,
                capture_content=capture_content,
                prices=prices,
                content_max_length=content_max_length,
                redact=redact,
                use_genai_prices=use_genai_prices,
                capture_metadata=capture_metadata,
                run_ttl=run_ttl,
                max_runs=max_runs,
                keep_all_runs=keep_all_runs,
                strict=strict,
            )
        if not _slot.registered:
            register_configure_hook(
                cast("ContextVar[Any | None]", _slot),
                inheritable=True,
                handle_class=OTelCallbackHandler,
            )
            _slot.registered = True
        _slot.handler = handler
        return handler


def uninstrument() -> None:
    """Stop adding the global handler to new runs (runs in flight finish normally).

    Calling it when not instrumented logs a warning and does nothing.

    Example:
        >>> from structlog.testing import capture_logs
        >>> with capture_logs() as logs:
        ...     uninstrument()  # not instrumented: a warned no-op
        >>> logs[0]["event"], is_instrumented()
        ('langchain_otel.not_instrumented', False)
    """
    with _lock:
        if _slot.handler is None:
            _warn("langchain_otel.not_instrumented")
            return
        _slot.handler = None
        _propagation.uninstall()


def is_instrumented() -> bool:
    """Whether :func:`instrument` is in effect.

    Example:
        >>> is_instrumented()
        False
    """
    return _slot.handler is not None


def _warn(event: str) -> None:
    try:
        default_logger().warning(event)
    except Exception:  # a broken logging setup must not break instrument()
        return


class LangChainInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """The OpenTelemetry instrumentor: ``opentelemetry-instrument`` calls it for you.

    Registered under the ``opentelemetry_instrumentor`` entry point as
    ``langchain_otel``; ``instrument(**options)`` takes :func:`instrument`'s keyword
    options.

    Example:
        >>> from langchain_otel.testing import capture_telemetry
        >>> with capture_telemetry() as telemetry:
        ...     LangChainInstrumentor().instrument(handler=telemetry.handler)
        ...     print(is_instrumented())
        ...     LangChainInstrumentor().uninstrument()
        True
        >>> is_instrumented()
        False
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        """The instrumented library: ``langchain-core``."""
        return ("langchain-core >= 0.3",)

    def _instrument(self, **kwargs: Any) -> None:
        instrument(**kwargs)

    def _uninstrument(self, **kwargs: Any) -> None:
        uninstrument()
