"""structlog output: the per-run events, emitted only when the logger will keep them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import structlog

from langchain_otel.callbacks import _semconv as sc

if TYPE_CHECKING:
    from langchain_otel.callbacks._content import ContentPolicy
    from langchain_otel.callbacks._runs import ModelEnd, RunState

__all__ = [
    "DEBUG",
    "ERROR",
    "INFO",
    "WARNING",
    "LevelGate",
    "default_logger",
    "emit",
    "enabled",
    "format_ids",
    "model_event",
]

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


_LAZY_PROXY = type(structlog.get_logger())
_FILTERING_LOGGERS = frozenset(
    structlog.make_filtering_bound_logger(level)
    for level in (logging.NOTSET, DEBUG, INFO, WARNING, ERROR, logging.CRITICAL)
)
"""structlog's filtering bound logger classes: each keeps a fixed minimum level."""


def _fixed_filter(logger: Any) -> Any:
    """The filtering bound logger behind ``logger`` when that can never change, else None.

    A lazy proxy (``structlog.get_logger()``) re-reads the configuration on every use,
    unless ``cache_logger_on_first_use`` is on and it has been used once: it has then
    replaced its own ``bind`` with the cached logger's.
    """
    if type(logger) in _FILTERING_LOGGERS:
        return logger
    if type(logger) is _LAZY_PROXY and "bind" in vars(logger):
        resolved = logger.bind()
        if type(resolved) in _FILTERING_LOGGERS:
            return resolved
    return None


class LevelGate:
    """:func:`enabled` per level, remembered when the answer cannot change.

    It cannot for structlog's filtering loggers, given directly or behind a lazy proxy
    that caches its logger on first use (the production setup structlog recommends);
    events then go straight to that logger. Any other logger is asked every time, so
    configuration changes are followed.

    Example:
        >>> import structlog
        >>> gate = LevelGate(structlog.make_filtering_bound_logger(WARNING)(None, [], {}))
        >>> gate.enabled(INFO), gate.enabled(ERROR)
        (False, True)
    """

    __slots__ = ("_known", "logger")

    def __init__(self, logger: Any) -> None:
        self.logger = logger
        self._known: dict[int, bool] = {}

    def enabled(self, level: int) -> bool:
        """Whether the logger keeps an event at ``level``."""
        known = self._known.get(level)
        if known is not None:
            return known
        result = enabled(self.logger, level)
        try:
            fixed = _fixed_filter(self.logger)
        except Exception:  # an odd logger: simply asked every time
            fixed = None
        if fixed is not None:
            self._known[level] = result
            self.logger = fixed  # what the proxy forwards to, for good: one hop less
        return result

    def model_level(self, outcome: str, error_type: str | None) -> int | None:
        """The level of a finished model run's event, or None when the logger drops it.

        ``llm.end`` at INFO (WARNING when cancelled or abandoned), ``llm.error`` at ERROR.

        Example:
            >>> import structlog
            >>> gate = LevelGate(structlog.make_filtering_bound_logger(WARNING)(None, [], {}))
            >>> gate.model_level("ok", None), gate.model_level("error", "ValueError")
            (None, 40)
        """
        if error_type is not None:
            level = ERROR
        elif outcome == sc.OUTCOME_OK:
            level = INFO
        else:
            level = WARNING
        return level if self.enabled(level) else None


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


def model_event(
    gate: LevelGate, level: int, state: RunState, end: ModelEnd, content: ContentPolicy
) -> None:
    """Log the one event of a finished model run at ``level`` (:meth:`LevelGate.model_level`)."""
    event = sc.EVENT_LLM_ERROR if level == ERROR else sc.EVENT_LLM_END
    span_context = state.span.get_span_context()  # type: ignore[union-attr]
    trace_id = span_id = None  # a non-recording (no-op) tracer has no ids to join on
    if span_context.is_valid:
        trace_id, span_id = format_ids(span_context.trace_id, span_context.span_id)
    usage, cost = end.usage, end.cost
    fields: dict[str, Any] = {
        "trace_id": trace_id,
        "span_id": span_id,
        "run_id": state.run_id,
        "operation": state.operation,
        "provider": state.provider,
        "model": state.model,
        "response_model": end.info.response_model,
        "duration_s": end.duration,
        "ttft_s": end.ttfc,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "tokens_estimated": usage.estimated,
        "cost_usd": None if cost is None else cost[0] + cost[1],
        "outcome": end.outcome,
        "error_type": end.error_type,
    }
    if content.on_logs:
        inputs = state.input_messages
        if isinstance(inputs, list):
            chat = state.operation == sc.OPERATION_CHAT
            fields["input_messages"] = content.input_messages(chat, inputs)[0]
        fields["output_messages"] = end.output_json
    emit(gate.logger, level, event, fields)
