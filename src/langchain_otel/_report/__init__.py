"""``langchain-otel report DIR``: per-model tables, trace trees and an HTML page.

Reads ``traces.jsonl`` (and its rotated backups ``traces.jsonl.N``) written by
``configure()``'s embedded default. The model spans (``gen_ai.operation.name`` of ``chat`` or
``text_completion``) are summarised per ``gen_ai.request.model``: requests, errors/cancelled,
p50/p95/p99 duration and time to first chunk, tokens in/out and cost.

Modules: ``_reader`` (files → spans, tolerant of anything), ``_summary`` (numbers, time
buckets), ``_traces`` (span trees), ``_text`` (the terminal report), ``_html`` (the page),
``_waterfall`` (one trace on the page), ``_svg`` (its charts) and ``_style`` (its CSS).
"""

from __future__ import annotations

from langchain_otel._report._html import DEFAULT_SLOWEST, render_html
from langchain_otel._report._reader import (
    MODEL_OPERATIONS,
    Report,
    SpanRecord,
    TraceSpan,
    load_report,
)
from langchain_otel._report._summary import ModelSummary, percentile, summarize
from langchain_otel._report._text import render_text, render_trees
from langchain_otel._report._traces import Trace, build_traces, interesting_traces

__all__ = [
    "DEFAULT_SLOWEST",
    "MODEL_OPERATIONS",
    "ModelSummary",
    "Report",
    "SpanRecord",
    "Trace",
    "TraceSpan",
    "build_traces",
    "interesting_traces",
    "load_report",
    "percentile",
    "render_html",
    "render_text",
    "render_trees",
    "summarize",
]
