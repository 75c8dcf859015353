"""The self-contained HTML page of the report."""

from __future__ import annotations

import html

from langchain_otel._report._reader import Report
from langchain_otel._report._summary import summarize
from langchain_otel._report._svg import cost_svg, histogram_svg
from langchain_otel._report._text import COLUMNS, cells

__all__ = ["render_html"]

_CSS = (
    "body{font:14px system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}"
    "th,td{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}"
    "th:first-child,td:first-child{text-align:left}"
    "tr.all td{font-weight:bold}"
    ".t{font-weight:bold;font-size:13px}.l{font-size:11px}.empty{color:#888}"
    "figure{margin:1em 0}"
)


def render_html(report: Report, *, title: str = "langchain-otel report") -> str:
    """A self-contained HTML page: the table plus inline SVG charts (no external assets).

    Example:
        >>> import pathlib
        >>> from langchain_otel._report import SpanRecord
        >>> rep = Report(pathlib.Path("d"), [SpanRecord("m<1>", 0.0, 0.25, "ok")], [])
        >>> page = render_html(rep)
        >>> no_links = "http" not in page.replace("http://www.w3.org", "")
        >>> "<svg" in page, "m&lt;1&gt;" in page, no_links
        (True, True, True)
    """
    rows = summarize(report.records)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = "".join(
        f"<tr class='{'all' if row.model == 'all' and len(rows) > 1 else ''}'>"
        + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells(row))
        + "</tr>"
        for row in rows
    )
    by_model: dict[str, list[float]] = {}
    ttft_by_model: dict[str, list[float]] = {}
    for r in report.records:
        by_model.setdefault(r.model, []).append(r.duration_s)
        if r.ttft_s is not None:
            ttft_by_model.setdefault(r.model, []).append(r.ttft_s)
    files = ", ".join(html.escape(str(p)) for p in report.files)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p>{len(report.records)} model spans from {files}</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        "<p>Durations and time to first chunk (TTFT) in milliseconds.</p>"
        f"<figure>{histogram_svg(by_model, 'Latency distribution (ms)')}</figure>"
        f"<figure>{histogram_svg(ttft_by_model, 'Time to first chunk (ms)')}</figure>"
        f"<figure>{cost_svg(report.records)}</figure>"
        "</body></html>\n"
    )
