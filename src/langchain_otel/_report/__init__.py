"""``langchain-otel report DIR``: per-model tables, trace trees and an HTML page.

Reads ``traces.jsonl`` (and its rotated backups ``traces.jsonl.N``) written by
``configure()``'s embedded default. The model spans (``gen_ai.operation.name`` of ``chat`` or
``text_completion``) are summarised per ``gen_ai.request.model``: requests, errors/cancelled,
p50/p95/p99 duration and time to first chunk, tokens in/out and cost.

Modules: ``_reader`` (files → spans, tolerant of anything), ``_summary`` (numbers),
``_text`` (the terminal report), ``_html`` (the page) and ``_svg`` (its charts).
"""

from __future__ import annotations

from langchain_otel._report._html import render_html
from langchain_otel._report._reader import (
    MODEL_OPERATIONS,
    Report,
    SpanRecord,
    TraceSpan,
    load_report,
)
from langchain_otel._report._summary import ModelSummary, percentile, summarize
from langchain_otel._report._text import render_text

__all__ = [
    "MODEL_OPERATIONS",
    "ModelSummary",
    "Report",
    "SpanRecord",
    "TraceSpan",
    "load_report",
    "percentile",
    "render_html",
    "render_text",
    "summarize",
]
