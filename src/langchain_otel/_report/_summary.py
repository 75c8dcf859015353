"""Numbers from spans: percentiles and the per-model summary rows."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from langchain_otel._report._reader import SpanRecord
from langchain_otel.callbacks import _semconv as sc

__all__ = ["ModelSummary", "percentile", "summarize"]

CANCELLED = frozenset({sc.OUTCOME_CANCELLED, sc.OUTCOME_ABANDONED})


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) with linear interpolation; ``None`` when empty.

    Example:
        >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
        2.5
        >>> percentile([], 95) is None
        True
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class ModelSummary:
    """The numbers of one model (or of all models: ``model == "all"``)."""

    model: str
    requests: int = 0
    errors: int = 0
    cancelled: int = 0
    durations: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None

    def add(self, record: SpanRecord) -> None:
        """Count ``record`` in."""
        self.requests += 1
        self.errors += record.outcome == sc.OUTCOME_ERROR
        self.cancelled += record.outcome in CANCELLED
        self.durations.append(record.duration_s)
        if record.ttft_s is not None:
            self.ttfts.append(record.ttft_s)
        self.input_tokens += record.input_tokens
        self.output_tokens += record.output_tokens
        if record.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + record.cost_usd


def summarize(records: Iterable[SpanRecord]) -> list[ModelSummary]:
    """Per-model summaries sorted by model name, then an ``all`` row when there are several.

    Example:
        >>> rows = summarize([
        ...     SpanRecord("echo-small", 0.0, 0.2, "ok", input_tokens=5, cost_usd=0.001),
        ...     SpanRecord("echo-small", 1.0, 0.4, "error"),
        ...     SpanRecord("echo-large", 2.0, 1.0, "cancelled"),
        ... ])
        >>> [(r.model, r.requests, r.errors, r.cancelled) for r in rows]
        [('echo-large', 1, 0, 1), ('echo-small', 2, 1, 0), ('all', 3, 1, 1)]
    """
    by_model: dict[str, ModelSummary] = {}
    total = ModelSummary("all")
    for record in records:
        by_model.setdefault(record.model, ModelSummary(record.model)).add(record)
        total.add(record)
    rows = [by_model[name] for name in sorted(by_model)]
    return [*rows, total] if len(rows) > 1 else rows


# -- over time ---------------------------------------------------------------------------

#: Bucket widths (seconds) a time axis may use: the smallest giving at most ``buckets`` wins.
_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600)


@dataclass
class Bucket:
    """The model calls that ended in one time bucket."""

    requests: int = 0
    errors: int = 0
    cancelled: int = 0
    durations: list[float] = field(default_factory=list)
    cost_usd: float = 0.0


@dataclass(frozen=True)
class TimeSeries:
    """Model calls bucketed by the time they ended, per model."""

    start_s: float
    step_s: float
    buckets: int
    per_model: dict[str, list[Bucket]]

    def x(self, index: int) -> float:
        """Seconds from ``start_s`` to the middle of bucket ``index``."""
        return (index + 0.5) * self.step_s


def time_series(records: Sequence[SpanRecord], *, buckets: int = 20) -> TimeSeries | None:
    """Per-model buckets of at most ``buckets`` equal steps over the records' time range.

    ``None`` when there are no records.

    Example:
        >>> calls = [SpanRecord("m", 0.0, 0.5, "ok"), SpanRecord("m", 2.0, 0.5, "error")]
        >>> series = time_series(calls)
        >>> series.step_s, series.buckets, [b.requests for b in series.per_model["m"]]
        (0.2, 11, [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    """
    if not records:
        return None
    ends = [r.start_s + r.duration_s for r in records]
    start, width = min(ends), max(ends) - min(ends)
    step = next((s for s in _STEPS if width / s < buckets), _STEPS[-1])
    count = min(int(width / step) + 1, 10 * buckets)
    per_model: dict[str, list[Bucket]] = {}
    for record, end in zip(records, ends, strict=True):
        bucket = per_model.setdefault(record.model, [Bucket() for _ in range(count)])[
            min(count - 1, int((end - start) / step))
        ]
        bucket.requests += 1
        bucket.errors += record.outcome == sc.OUTCOME_ERROR
        bucket.cancelled += record.outcome in CANCELLED
        bucket.durations.append(record.duration_s)
        bucket.cost_usd += record.cost_usd or 0.0
    return TimeSeries(start, step, count, dict(sorted(per_model.items())))
