"""The self-contained HTML page of the report: one file, no script, no network at view time.

Sections: what was read (and what could not be), the headline numbers, the per-model table,
model calls over time, latency and TTFT distributions, then the waterfalls of the slowest
traces and of every trace that erred or was cancelled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from html import escape

from langchain_otel._report._agents import AGENT_CAPTION, AGENT_COLUMNS, agent_rows
from langchain_otel._report._reader import Report
from langchain_otel._report._style import CSS
from langchain_otel._report._summary import (
    Bucket,
    ModelSummary,
    TimeSeries,
    percentile,
    summarize,
    time_series,
)
from langchain_otel._report._svg import Line, fmt, histogram, line_chart
from langchain_otel._report._text import COLUMNS, cells, duration
from langchain_otel._report._traces import Trace, build_traces, interesting_traces
from langchain_otel._report._waterfall import waterfall

__all__ = ["DEFAULT_SLOWEST", "render_html"]

Measure = Callable[[Bucket], float | None]

DEFAULT_SLOWEST = 5
MAX_FAILED = 200
"""At most this many waterfalls of failed traces (a page of 10,000 would not open)."""
_KIND_LEGEND = (
    ("agent", "agent"),
    ("model", "model call"),
    ("chain", "chain step"),
    ("tool", "tool"),
    ("app", "app"),
)


def _notices(report: Report, traces: Sequence[Trace]) -> list[str]:
    notes: list[str] = []
    if not report.files:
        notes.append(
            f"<p class='notice bad'>No <code>traces.jsonl</code> in "
            f"<code>{escape(str(report.directory))}</code>: nothing to show. Run "
            "<code>langchain-otel demo</code>, or point the report at the folder your service "
            "writes to (<code>LANGCHAIN_OTEL_DIRECTORY</code>).</p>"
        )
    elif not report.spans:
        notes.append("<p class='notice bad'>The files hold no readable spans.</p>")
    if report.skipped_lines:
        notes.append(
            f"<p class='notice'>{report.skipped_lines} unreadable line(s) skipped (not UTF-8, "
            "not JSON, or not an OTLP trace request, e.g. a file cut mid-write); the rest "
            "is shown.</p>"
        )
    orphans = sum(trace.orphans for trace in traces)
    if orphans:
        notes.append(
            f"<p class='notice'>{orphans} span(s) have a parent that is not in the files "
            "(dropped, rotated away, or from another service); their traces show them at the "
            "top level.</p>"
        )
    if report.spans and not report.records:
        notes.append(
            "<p class='notice'>No model spans (<code>gen_ai.operation.name</code> "
            "<code>chat</code> / <code>text_completion</code>): the table and charts are empty, "
            "the traces are shown.</p>"
        )
    return notes


def _cards(total: ModelSummary | None, traces: Sequence[Trace]) -> str:
    if total is None:
        return ""
    items = [
        ("", str(len(traces)), "traces"),
        ("", str(total.requests), "model calls"),
        ("err" if total.errors else "", str(total.errors), "errors"),
        ("warn" if total.cancelled else "", str(total.cancelled), "cancelled"),
        ("", _ms(percentile(total.durations, 50)), "p50 latency"),
        ("", _ms(percentile(total.durations, 95)), "p95 latency"),
        ("", _ms(percentile(total.ttfts, 50)), "p50 time to first chunk"),
        ("", f"{total.input_tokens:,}", "input tokens"),
        ("", f"{total.output_tokens:,}", "output tokens"),
        ("", "-" if total.cost_usd is None else f"${fmt(total.cost_usd)}", "cost"),
    ]
    body = "".join(
        f"<div class='card {css}'><b>{escape(value)}</b><span>{escape(label)}</span></div>"
        for css, value, label in items
    )
    return f"<div class='cards'>{body}</div>"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else duration(seconds)


def _table(rows: Sequence[ModelSummary]) -> str:
    classes = ["all" if row.model == "all" and len(rows) > 1 else "" for row in rows]
    return html_table(COLUMNS, [cells(row) for row in rows], classes) + (
        "<p class='caption'>Durations and time to first chunk (TTFT, streamed calls) in "
        "milliseconds; cost in USD, <code>-</code> when no price was known.</p>"
    )


def _agents(report: Report) -> str:
    rows = agent_rows(report.spans)
    if not rows:
        return ""
    caption = f"<p class='caption'>{escape(AGENT_CAPTION)}</p>"
    return f"<h2 id='agents'>Per agent</h2>{html_table(AGENT_COLUMNS, rows)}{caption}"


def html_table(
    columns: Sequence[str], rows: Sequence[Sequence[str]], classes: Sequence[str] = ()
) -> str:
    """A table of text cells; each cell labelled with its column (for phone widths)."""
    head = "".join(f"<th scope='col'>{escape(c)}</th>" for c in columns)
    body = "".join(
        f"<tr class='{classes[index] if index < len(classes) else ''}'>"
        + "".join(
            f"<td data-label='{escape(label)}'>{escape(cell)}</td>"
            for label, cell in zip(columns, row, strict=True)
        )
        + "</tr>"
        for index, row in enumerate(rows)
    )
    return f"<table class='models'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _over_time(series: TimeSeries | None, colours: dict[str, int]) -> str:
    if series is None:
        return ""
    step, x_max = series.step_s, series.step_s * series.buckets
    models = list(series.per_model.items())

    def lines(value: Measure, dashed: bool = False, suffix: str = "") -> list[Line]:
        return [
            Line(
                f"{model}{suffix}",
                colours[model],
                [(series.x(i), value(b)) for i, b in enumerate(buckets)],
                dashed,
            )
            for model, buckets in models
        ]

    def share(part: str) -> Measure:
        return lambda b: 100 * getattr(b, part) / b.requests if b.requests else None

    def latency(q: float) -> Measure:
        return lambda b: (percentile(b.durations, q) or 0.0) * 1000 if b.durations else None

    priced = {model for model, buckets in models if any(b.cost_usd for b in buckets)}
    cost = [line for line in lines(lambda b: b.cost_usd * 60 / step) if line.label in priced]
    started = datetime.fromtimestamp(series.start_s, tz=timezone.utc)
    caption = (
        f"Model calls by the time they ended, in buckets of {fmt(step)} s from "
        f"{started:%Y-%m-%d %H:%M:%S} UTC."
    )
    charts = [
        line_chart("Requests per second", lines(lambda b: b.requests / step), x_max=x_max,
                   y_unit="req/s", caption=caption),
        line_chart(
            "Error and cancel rate",
            _pairs(lines(share("errors"), suffix=" errors"),
                   lines(share("cancelled"), dashed=True, suffix=" cancelled")),
            x_max=x_max,
            y_unit="% of calls",
        ),
        line_chart(
            "Latency p50 and p95",
            _pairs(lines(latency(50), suffix=" p50"),
                   lines(latency(95), dashed=True, suffix=" p95")),
            x_max=x_max,
            y_unit="ms",
        ),
        line_chart("Cost per minute", cost, x_max=x_max, y_unit="USD/min",
                   caption="" if cost else "No call had a known price."),
    ]  # fmt: skip
    return f"<h2 id='over-time'>Over time</h2><div class='charts'>{''.join(charts)}</div>"


def _pairs(solid: list[Line], dashed: list[Line]) -> list[Line]:
    """Each model's solid line, then its dashed one (so the legend reads model by model)."""
    return [line for pair in zip(solid, dashed, strict=True) for line in pair]


def _distributions(report: Report, colours: dict[str, int]) -> str:
    by_model: dict[str, list[float]] = {}
    ttfts: dict[str, list[float]] = {}
    for r in report.records:
        by_model.setdefault(r.model, []).append(r.duration_s * 1000)
        if r.ttft_s is not None:
            ttfts.setdefault(r.model, []).append(r.ttft_s * 1000)
    if not by_model:
        return ""
    charts = [
        histogram(
            "Latency distribution",
            [(m, colours[m], vs) for m, vs in sorted(by_model.items())],
            unit="ms",
        ),
        histogram(
            "Time to first chunk",
            [(m, colours[m], vs) for m, vs in sorted(ttfts.items())],
            unit="ms",
            caption="Streamed calls only.",
        ),
    ]
    return f"<h2 id='distributions'>Distributions</h2><div class='charts'>{''.join(charts)}</div>"


def _traces_section(traces: Sequence[Trace], slowest: int) -> str:
    slow, failed = interesting_traces(traces, slowest)
    if not traces:
        return ""
    kinds = "".join(
        f"<span><i style='background:var(--{kind})'></i>{label}</span>"
        for kind, label in _KIND_LEGEND
    )
    legend = (
        f"<p class='legend-kinds'>{kinds}<span><i style='background:var(--err)'></i>error</span>"
        "<span><i style='background:repeating-linear-gradient(135deg,var(--warn) 0 3px,"
        "transparent 3px 5px)'></i>cancelled</span><span><i style='background:var(--model);"
        "box-shadow:inset 5px 0 var(--ttft)'></i>lighter head: waiting for the "
        "first chunk</span></p>"
    )
    parts = [
        f"<h2 id='slowest'>Slowest {len(slow)} of {len(traces)} traces</h2>",
        legend,
        "<p class='hint'>Click a span for its attributes.</p>",
        *(waterfall(trace) for trace in slow),
    ]
    if failed:
        parts += [
            f"<h2 id='failed'>{len(failed)} more traces that erred or were cancelled</h2>",
            *(waterfall(trace) for trace in failed[:MAX_FAILED]),
        ]
    if len(failed) > MAX_FAILED:
        parts.append(
            f"<p class='notice'>{len(failed) - MAX_FAILED} more failed traces are left out to "
            f"keep the page light (errors first, then the longest, are shown); "
            "<code>langchain-otel report DIR --json</code> lists them all.</p>"
        )
    return "".join(parts)


def render_html(
    report: Report, *, title: str = "langchain-otel report", slowest: int = DEFAULT_SLOWEST
) -> str:
    """A self-contained HTML page (no script, no external assets) of ``report``.

    Bad input shows as a notice at the top of the page (no files, unreadable lines, spans whose
    parent is missing), never as an exception.

    Args:
        report: What :func:`~langchain_otel._report.load_report` read.
        title: The page's title.
        slowest: How many of the slowest traces get a waterfall (every trace that erred or
            was cancelled gets one too).

    Example:
        >>> import pathlib
        >>> from langchain_otel._report import SpanRecord
        >>> rep = Report(pathlib.Path("d"), [SpanRecord("m<1>", 0.0, 0.25, "ok")], [])
        >>> page = render_html(rep)
        >>> no_links = "http" not in page.replace("http://www.w3.org/2000/svg", "")
        >>> "<svg" in page, "m&lt;1&gt;" in page, no_links
        (True, True, True)
    """
    traces = build_traces(report.spans)
    rows = summarize(report.records)
    colours = {row.model: index for index, row in enumerate(r for r in rows if r.model != "all")}
    files = ", ".join(p.name for p in report.files) or "no files"
    sub = (
        f"{len(report.spans)} spans in {len(traces)} traces, {len(report.records)} model calls, "
        f"from {files} in {report.directory}"
    )
    _, failed = interesting_traces(traces, slowest)
    sections = [
        ("models", "Models", bool(report.records)),
        ("agents", "Agents", bool(agent_rows(report.spans))),
        ("over-time", "Over time", bool(report.records)),
        ("distributions", "Distributions", bool(report.records)),
        ("slowest", "Slowest traces", bool(traces) and slowest > 0),
        ("failed", "Errors and cancellations", bool(failed)),
    ]
    links = "".join(f"<a href='#{ref}'>{label}</a>" for ref, label, shown in sections if shown)
    nav = f"<nav>{links}</nav>" if links else ""
    body = [
        f"<header><h1>{escape(title)}</h1><p class='sub'>{escape(sub)}</p>{nav}</header>",
        *_notices(report, traces),
        _cards(rows[-1] if rows else None, traces),
    ]
    if rows:
        body += [f"<h2 id='models'>Per model</h2>{_table(rows)}"]
    body += [
        _agents(report),
        _over_time(time_series(report.records), colours),
        _distributions(report, colours),
        _traces_section(traces, slowest),
        "<footer>Made by <code>langchain-otel report</code> from OpenTelemetry spans "
        "(GenAI semantic conventions). One self-contained file: no script, nothing loaded "
        "from the network.</footer>",
    ]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        "<meta name='color-scheme' content='light dark'>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>"
        + "".join(body)
        + "</main></body></html>\n"
    )
