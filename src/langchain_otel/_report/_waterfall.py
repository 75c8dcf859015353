"""One trace as a waterfall: its span tree, each span a bar on the trace's time axis.

Plain HTML and CSS (no script): each span is a ``<details>`` whose ``<summary>`` is the row
(name indented by depth, the bar, duration and model facts) and whose body lists the span's
attributes. Bars are placed in percent of the trace's duration, so they scale with the page.
Streamed model spans show their time to first chunk as the lighter head of the bar.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from langchain_otel._report._reader import TraceSpan, model_record
from langchain_otel._report._svg import fmt, ticks
from langchain_otel._report._text import clock, duration, span_facts
from langchain_otel._report._traces import Row, Trace
from langchain_otel.callbacks import _semconv as sc

__all__ = ["span_kind", "waterfall"]

#: Attributes that only exist when content capture was on.
CONTENT = (
    sc.GEN_AI_INPUT_MESSAGES,
    sc.GEN_AI_OUTPUT_MESSAGES,
    sc.GEN_AI_SYSTEM_INSTRUCTIONS,
    sc.GEN_AI_TOOL_CALL_ARGUMENTS,
    sc.GEN_AI_TOOL_CALL_RESULT,
    sc.GEN_AI_RETRIEVAL_QUERY_TEXT,
)
_KINDS = {
    sc.OPERATION_EXECUTE_TOOL: "tool",
    sc.OPERATION_RETRIEVAL: "retrieval",
    sc.OPERATION_INVOKE_AGENT: "agent",
    sc.OPERATION_INVOKE_WORKFLOW: "agent",
}


def span_kind(span: TraceSpan) -> str:
    """``model``, ``tool``, ``retrieval``, ``agent`` (or workflow), ``chain`` or ``app``."""
    if span.is_model:
        return "model"
    kind = _KINDS.get(span.operation or "")
    if kind:
        return kind
    return "chain" if sc.LANGCHAIN_RUN_TYPE in span.attributes else "app"


def _facts(span: TraceSpan) -> list[str]:
    """Duration, outcome and, for a model span, TTFT, tokens and cost."""
    return [duration(span.duration_s), *span_facts(span)]


def _value(value: Any) -> str:
    if isinstance(value, str):
        try:
            parsed = json.loads(value) if value[:1] in "[{" else None
        except ValueError:
            parsed = None
        text = json.dumps(parsed, indent=2, ensure_ascii=False) if parsed is not None else value
    else:
        text = json.dumps(value, ensure_ascii=False)
    return escape(text)


def _attributes(row: Row) -> str:
    span = row.span
    items: list[tuple[str, str]] = [("span id", escape(span.span_id or "-"))]
    if span.parent_id:
        missing = " (not in the files)" if row.orphan else ""
        items.append(("parent span id", escape(span.parent_id) + missing))
    items.append(("start", escape(clock(span.start_ns))))
    if span.status_message:
        items.append(("status", escape(span.status_message)))
    items += [(escape(key), _value(span.attributes[key])) for key in sorted(span.attributes)]
    body = "".join(f"<tr><th>{key}</th><td><pre>{value}</pre></td></tr>" for key, value in items)
    note = ""
    if span.is_model and not any(key in span.attributes for key in CONTENT):
        note = (
            "<p class='hint'>Prompts and completions were not captured "
            "(opt in with <code>capture_content=True</code>).</p>"
        )
    return f"<div class='attrs'><table>{body}</table>{note}</div>"


def _row(row: Row, start_ns: int, total_ns: int) -> str:
    span = row.span
    kind = span_kind(span)
    left = (span.start_ns - start_ns) / total_ns * 100
    width = (span.end_ns - span.start_ns) / total_ns * 100
    ttft = model_record(span).ttft_s if span.is_model else None
    head = ""
    if ttft is not None and span.duration_s > 0:
        share = min(100.0, ttft / span.duration_s * 100)
        head = (
            f"<span class='ttft' style='width:{share:.3f}%' "
            f"title='time to first chunk {escape(duration(ttft))}'></span>"
        )
    orphan = "<span class='orphan' title='parent not in the files'>parent missing</span>"
    facts = _facts(span)
    title = f"{span.name}: {', '.join(facts)}"
    return (
        f"<details class='span {kind} {escape(span.outcome)}' "
        f"data-span-id='{escape(span.span_id)}' data-depth='{row.depth}' "
        f"data-duration-ms='{span.duration_s * 1000:.3f}'>"
        f"<summary title='{escape(title)}'>"
        f"<span class='name' style='--depth:{min(row.depth, 12)}'>"
        f"<span class='kind'>{kind}</span>{escape(span.name)}"
        f"{orphan if row.orphan else ''}</span>"
        f"<span class='track'><span class='bar' style='left:{left:.3f}%;width:{width:.3f}%'>"
        f"{head}</span></span>"
        f"<span class='facts'>{escape(' · '.join(facts))}</span>"
        f"</summary>{_attributes(row)}</details>"
    )


def _axis(total_s: float) -> tuple[str, list[float]]:
    in_ms = total_s < 1
    scale = 1000 if in_ms else 1
    values = ticks(total_s * scale, 5)
    unit = "ms" if in_ms else "s"
    shown = [(value, value / scale / total_s * 100) for value in values]
    shown = [(value, at) for value, at in shown if at <= 100.01]
    marks = "".join(
        f"<span style='left:{at:.3f}%'>{fmt(value)} {unit}</span>" for value, at in shown
    )
    return (
        "<div class='wf-axis' aria-hidden='true'><span class='name'></span>"
        f"<span class='track'>{marks}</span><span class='facts'></span></div>"
    ), [at for _, at in shown[1:]]


def _gridlines(positions: list[float]) -> str:
    """A CSS background with a thin line at each tick (the rows' time grid)."""
    lines = (
        f"linear-gradient(90deg,transparent calc({at:.3f}% - 1px),var(--grid) "
        f"calc({at:.3f}% - 1px),var(--grid) {at:.3f}%,transparent {at:.3f}%)"
        for at in positions
    )
    return ",".join(lines) or "none"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def waterfall(trace: Trace) -> str:
    """The ``<article>`` of one trace: a header with its totals, then one row per span."""
    start, end = trace.start_ns, trace.end_ns
    total_ns = max(1, end - start)
    tokens_in, tokens_out, cost = trace.totals()
    facts = [_plural(len(trace.rows), "span")]
    if trace.model_calls:
        facts.append(_plural(trace.model_calls, "model call"))
    if tokens_in or tokens_out:
        facts.append(f"{tokens_in}→{tokens_out} tokens")
    if cost is not None:
        facts.append(f"${fmt(cost)}")
    facts.append(clock(start))
    warning = ""
    if trace.orphans:
        warning = (
            f"<p class='notice'>{trace.orphans} span(s) of this trace have a parent that is not "
            "in the files (dropped, or from another service); they are shown at the top level."
            "</p>"
        )
    rows = "".join(_row(row, start, total_ns) for row in trace.rows)
    axis, positions = _axis(total_ns / 1e9)
    return (
        f"<article class='trace' id='trace-{escape(trace.trace_id)}' "
        f"data-trace-id='{escape(trace.trace_id)}' data-duration-ms='{total_ns / 1e6:.3f}'>"
        f"<header><h3><span class='badge {escape(trace.outcome)}'>{escape(trace.outcome)}</span>"
        f"{escape(trace.root.name)} <span class='total'>{duration(total_ns / 1e9)}</span></h3>"
        f"<p class='meta'>trace <code>{escape(trace.trace_id[:16] or '-')}</code> · "
        f"{escape(' · '.join(facts))}</p></header>{warning}"
        f"<div class='wf' style='--ticks:{_gridlines(positions)}'>{axis}{rows}</div></article>"
    )
