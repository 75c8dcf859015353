"""structlog output: the per-run events, emitted only when the logger will keep them."""

from __future__ import annotations

import logging
from typing import Any

import structlog

__all__ = ["DEBUG", "ERROR", "INFO", "WARNING", "default_logger", "emit", "enabled", "format_ids"]

DEBUG, INFO, WARNING, ERROR = logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR
_METHODS = {DEBUG: "debug", INFO: "info", WARNING: "warning", ERROR: "error"}


def default_logger() -> Any:
    """``structlog.get_logger("langchain_otel")``, a lazy proxy.

    It follows whatever configuration the application sets up later (we never call
    ``structlog.configure``).

    Example:
        >>> default_logger() is not None
        True
    """
    return structlog.get_logger("langchain_otel")


def enabled(logger: Any, level: int) -> bool:
    """Whether ``logger`` would keep an event at ``level``, cheaply and without raising.

    Knows structlog's filtering loggers (``is_enabled_for``) and stdlib-style ones
    (``isEnabledFor``); anything else is assumed to log.

    Example:
        >>> import structlog
        >>> enabled(structlog.make_filtering_bound_logger(WARNING)(None, [], {}), INFO)
        False
    """
    try:
        check = getattr(logger, "is_enabled_for", None) or getattr(logger, "isEnabledFor", None)
        return True if check is None else bool(check(level))
    except Exception:  # a broken logger must not break the run
        return True


def emit(logger: Any, level: int, event: str, fields: dict[str, Any]) -> None:
    """Log ``event`` with ``fields`` at ``level`` through ``logger``."""
    getattr(logger, _METHODS[level])(event, **fields)


def format_ids(trace_id: int, span_id: int) -> tuple[str, str]:
    """W3C hex forms: 32 lowercase hex digits for the trace, 16 for the span.

    Example:
        >>> format_ids(1, 2)
        ('00000000000000000000000000000001', '0000000000000002')
    """
    return format(trace_id, "032x"), format(span_id, "016x")
