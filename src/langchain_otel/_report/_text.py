"""The plain-text report: the per-model table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from langchain_otel._report._reader import Report, TraceSpan, model_record
from langchain_otel._report._summary import ModelSummary, percentile, summarize
from langchain_otel._report._svg import fmt
from langchain_otel._report._traces import Trace, interesting_traces

__all__ = [
    "COLUMNS",
    "cells",
    "clock",
    "duration",
    "render_text",
    "render_trees",
    "span_facts",
    "table_lines",
]


def ms(seconds: float | None) -> str:
    """Milliseconds, rounded, or ``-``."""
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def usd(cost: float | None) -> str:
    """Dollars to six places, or ``-`` when no price was known."""
    return "-" if cost is None else f"${cost:.6f}"


def duration(seconds: float) -> str:
    """``0.4 ms``, ``12 ms``, ``1.25 s``, ``3 min 5 s``.

    Example:
        >>> [duration(s) for s in (0.0004, 0.012, 0.9424, 1.25, 185)]
        ['0.4 ms', '12 ms', '942 ms', '1.25 s', '3 min 5 s']
    """
    if seconds <= 0:
        return "0 ms"
    if seconds < 0.001:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{fmt(seconds)} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def clock(ns: int) -> str:
    """A UTC wall-clock time of day with milliseconds."""
    moment = datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d} UTC"


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
    out = table_lines(COLUMNS, rows)
    if not rows:
        out.append("(no model spans)")
    return "\n".join(out)


def table_lines(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A header, a rule and the rows: the first column left-aligned, the others right.

    Example:
        >>> table_lines(["name", "n"], [["a", "10"]])
        ['name   n', '----  --', 'a     10']
    """
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        first = values[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(values[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    return [line(columns), line(["-" * w for w in widths]), *(line(row) for row in rows)]


def render_trees(traces: Sequence[Trace], *, slowest: int) -> str:
    """The ``slowest`` slowest traces as indented span trees, with a line on the failed ones.

    Each line: the span's start from the trace's start, its duration, its name indented by
    depth, and for a model span its outcome, TTFT, tokens and cost.

    Example:
        >>> from langchain_otel._report import TraceSpan
        >>> from langchain_otel._report._traces import build_traces
        >>> spans = [TraceSpan("t1", "a", None, "request", 0, 900_000_000, "ok"),
        ...          TraceSpan("t1", "b", "a", "chat m", 100_000_000, 800_000_000, "ok")]
        >>> print(render_trees(build_traces(spans), slowest=3))
        slowest 1 of 1 traces (start, duration, span)
        <BLANKLINE>
        trace t1  900 ms  ok
             +0 ms   900 ms  request
           +100 ms   700 ms    chat m
    """
    slow, failed = interesting_traces(traces, slowest)
    out = [f"slowest {len(slow)} of {len(traces)} traces (start, duration, span)"]
    for trace in slow:
        out += ["", f"trace {trace.trace_id[:16]}  {duration(trace.duration_s)}  {trace.outcome}"]
        for row in trace.rows:
            span = row.span
            offset = f"+{duration((span.start_ns - trace.start_ns) / 1e9)}"
            facts = span_facts(span)
            name = "  " * row.depth + span.name + ("  (parent missing)" if row.orphan else "")
            line = f"{offset:>10} {duration(span.duration_s):>8}  {name}"
            out.append("  ".join([line, *facts]) if facts else line)
    if failed:
        out += ["", f"{len(failed)} more traces erred or were cancelled (--html shows them all)"]
    return "\n".join(out)


def span_facts(span: TraceSpan) -> list[str]:
    """Its outcome unless ok; for a model span, TTFT, tokens and cost."""
    facts = [] if span.outcome == "ok" else [span.outcome]
    if span.is_model:
        record = model_record(span)
        if record.ttft_s is not None:
            facts.append(f"ttft {duration(record.ttft_s)}")
        if record.input_tokens or record.output_tokens:
            facts.append(f"{record.input_tokens}→{record.output_tokens} tok")
        if record.cost_usd is not None:
            facts.append(f"${fmt(record.cost_usd)}")
    return facts
