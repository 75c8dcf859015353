"""The handler's own troubles: counted on the handler, each kind logged once."""

from __future__ import annotations

import contextlib
from typing import Any

from langchain_otel.callbacks import _semconv as sc

__all__ = ["SelfReport"]


class SelfReport:
    """Counting and once-per-kind reporting of what went wrong inside the handler.

    The handler's constructor sets the counters and the attributes declared here.
    """

    _logger: Any
    _strict: bool
    _reported: set[tuple[str, str]]
    _runs: Any
    internal_errors: int
    evicted_runs: int
    orphan_callbacks: int

    def _abandon(self, run_id: Any, state: Any) -> None:
        raise NotImplementedError  # the run core ends the run

    def _report_once(
        self, key: tuple[str, str], event: str, level: str = "warning", **fields: Any
    ) -> None:
        if key in self._reported:
            return
        self._reported.add(key)
        with contextlib.suppress(Exception):  # a broken logger: nothing left to tell
            getattr(self._logger, level)(event, **fields)

    def _internal_error(self, where: str, exc: Exception) -> None:
        self.internal_errors += 1
        self._report_once(
            (where, type(exc).__name__),
            sc.EVENT_INTERNAL_ERROR,
            callback=where,
            error=repr(exc),
            note="counted in handler.internal_errors; reported once per kind",
        )
        if self._strict:
            raise exc

    def _orphan(self, where: str) -> None:
        self.orphan_callbacks += 1
        self._report_once(
            ("orphan", where),
            sc.EVENT_INTERNAL_ERROR,
            callback=where,
            error="unknown run id (a duplicate or late callback, or an expired run)",
            note="counted in handler.orphan_callbacks; reported once per callback",
        )

    def _evict(self, run_id: Any, state: Any) -> None:
        """The registry is full: the oldest run in flight is ended as abandoned (said once)."""
        self.evicted_runs += 1
        self._abandon(run_id, state)
        self._report_once(
            ("registry", "full"),
            sc.EVENT_INTERNAL_ERROR,
            callback="on_*_start",
            error=f"more than max_runs={self._runs.max_runs} runs in flight; the oldest"
            " was ended as abandoned",
            note="raise max_runs above your peak of concurrent runs (a chain run counts"
            " each of its steps); counted in handler.evicted_runs",
        )

    def _duplicate_start(self, run_id: Any, previous: Any) -> None:
        self.orphan_callbacks += 1
        self._abandon(run_id, previous)
        self._report_once(
            ("duplicate", "start"),
            sc.EVENT_INTERNAL_ERROR,
            callback="on_*_start",
            error="a run id started twice; the earlier run was ended as abandoned",
            note="counted in handler.orphan_callbacks; reported once",
        )

    def _unknown_price(self, provider: str, model: str) -> None:
        self._report_once(
            ("price", f"{provider}/{model}"),
            sc.EVENT_UNKNOWN_PRICE,
            "info",
            provider=provider,
            model=model,
            note="no cost recorded; pass prices={model: ModelPrice(...)} to the handler",
        )

    def _missing_prices_package(self) -> None:
        self._report_once(
            ("price", "genai-prices"),
            sc.EVENT_UNKNOWN_PRICE,
            note="genai-prices is not installed: pip install 'langchain-otel[prices]'",
        )
