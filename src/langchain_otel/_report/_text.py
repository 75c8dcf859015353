"""The plain-text report: the per-model table."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_otel._report._reader import Report
from langchain_otel._report._summary import ModelSummary, percentile, summarize

__all__ = ["COLUMNS", "cells", "render_text"]


def ms(seconds: float | None) -> str:
    """Milliseconds, rounded, or ``-``."""
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def usd(cost: float | None) -> str:
    """Dollars to six places, or ``-`` when no price was known."""
    return "-" if cost is None else f"${cost:.6f}"


COLUMNS = (
    "model",
    "requests",
    "errors",
    "cancelled",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "ttft p50",
    "ttft p95",
    "ttft p99",
    "tokens in",
    "tokens out",
    "cost USD",
)


def cells(row: ModelSummary) -> list[str]:
    """One table row as text, in :data:`COLUMNS` order."""
    return [
        row.model,
        str(row.requests),
        str(row.errors),
        str(row.cancelled),
        *(ms(percentile(row.durations, q)) for q in (50, 95, 99)),
        *(ms(percentile(row.ttfts, q)) for q in (50, 95, 99)),
        str(row.input_tokens),
        str(row.output_tokens),
        usd(row.cost_usd),
    ]


def render_text(report: Report) -> str:
    """The per-model table as plain text (durations and TTFT in milliseconds).

    Example:
        >>> import pathlib
        >>> from langchain_otel._report import SpanRecord
        >>> rep = Report(pathlib.Path("d"), [SpanRecord("m", 0.0, 0.25, "ok", ttft_s=0.05)], [])
        >>> render_text(rep).splitlines()[2].split()
        ['m', '1', '0', '0', '250', '250', '250', '50', '50', '50', '0', '0', '-']
    """
    rows = [cells(row) for row in summarize(report.records)]
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(COLUMNS)]

    def line(values: Sequence[str]) -> str:
        first = values[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(values[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    out = [line(COLUMNS), line(["-" * w for w in widths])]
    out += [line(row) for row in rows]
    if not rows:
        out.append("(no model spans)")
    return "\n".join(out)
