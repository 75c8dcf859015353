"""``langchain-otel report DIR``: per-model tables (and an HTML page) from the embedded default.

Reads ``traces.jsonl`` (and its rotated backups ``traces.jsonl.N``) written by ``configure()``'s
embedded default, keeps the model spans (``gen_ai.operation.name`` of ``chat`` or
``text_completion``) and summarises them per ``gen_ai.request.model``: requests,
errors/cancelled, p50/p95/p99 duration and time to first chunk, tokens in/out and cost, using
the attribute names of ``docs/semconv``.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ModelSummary",
    "Report",
    "SpanRecord",
    "load_report",
    "percentile",
    "render_html",
    "render_text",
    "summarize",
]

MODEL_OPERATIONS = frozenset({"chat", "text_completion", "generate_content"})


@dataclass(frozen=True)
class SpanRecord:
    """One model span as the report needs it."""

    model: str
    start_s: float
    duration_s: float
    outcome: str
    ttft_s: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    error_type: str | None = None
    provider: str | None = None


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
        self.errors += record.outcome == "error"
        self.cancelled += record.outcome in {"cancelled", "abandoned"}
        self.durations.append(record.duration_s)
        if record.ttft_s is not None:
            self.ttfts.append(record.ttft_s)
        self.input_tokens += record.input_tokens
        self.output_tokens += record.output_tokens
        if record.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + record.cost_usd


@dataclass
class Report:
    """What ``load_report`` found: the spans, plus what it had to skip."""

    directory: Path
    records: list[SpanRecord]
    files: list[Path]
    skipped_lines: int = 0
    other_spans: int = 0


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


def _value(any_value: dict[str, Any]) -> Any:
    if "stringValue" in any_value:
        return any_value["stringValue"]
    if "intValue" in any_value:
        return int(any_value["intValue"])
    if "doubleValue" in any_value:
        return float(any_value["doubleValue"])
    if "boolValue" in any_value:
        return bool(any_value["boolValue"])
    if "arrayValue" in any_value:
        return [_value(v) for v in any_value["arrayValue"].get("values", [])]
    return None


def _record(span: dict[str, Any]) -> SpanRecord | None:
    attributes = {a["key"]: _value(a.get("value", {})) for a in span.get("attributes", [])}
    if attributes.get("gen_ai.operation.name") not in MODEL_OPERATIONS:
        return None
    start_ns = int(span.get("startTimeUnixNano", 0))
    end_ns = int(span.get("endTimeUnixNano", start_ns))
    status = int(span.get("status", {}).get("code", 0))
    error_type = attributes.get("error.type")
    outcome = attributes.get("langchain_otel.outcome") or (
        "error" if status == 2 or error_type else "ok"
    )
    model = (
        attributes.get("gen_ai.request.model")
        or attributes.get("gen_ai.response.model")
        or "unknown"
    )
    cost = attributes.get("langchain_otel.cost.total")
    ttft = attributes.get("gen_ai.response.time_to_first_chunk")
    return SpanRecord(
        model=str(model),
        start_s=start_ns / 1e9,
        duration_s=max(0, end_ns - start_ns) / 1e9,
        outcome=str(outcome),
        ttft_s=float(ttft) if isinstance(ttft, int | float) else None,
        input_tokens=int(attributes.get("gen_ai.usage.input_tokens") or 0),
        output_tokens=int(attributes.get("gen_ai.usage.output_tokens") or 0),
        cost_usd=float(cost) if isinstance(cost, int | float) else None,
        error_type=str(error_type) if error_type else None,
        provider=attributes.get("gen_ai.provider.name"),
    )


def _trace_files(directory: Path) -> list[Path]:
    backups = sorted(
        directory.glob("traces.jsonl.*"),
        key=lambda p: int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0,
        reverse=True,
    )
    live = directory / "traces.jsonl"
    return [p for p in backups if p.suffix[1:].isdigit()] + ([live] if live.exists() else [])


def load_report(directory: Path) -> Report:
    """Read the model spans of ``directory``'s ``traces.jsonl`` (and rotated backups).

    Raises:
        FileNotFoundError: There is no ``traces.jsonl`` in ``directory``.

    Example:
        >>> import tempfile, pathlib
        >>> load_report(pathlib.Path(tempfile.mkdtemp()))
        Traceback (most recent call last):
        ...
        FileNotFoundError: no traces.jsonl in ...
    """
    directory = Path(directory)
    files = _trace_files(directory)
    if not files:
        raise FileNotFoundError(f"no traces.jsonl in {directory}")
    report = Report(directory=directory, records=[], files=files)
    for path in files:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if not line.strip():
                    continue
                try:
                    request = json.loads(line)
                    spans = [
                        span
                        for resource in request.get("resourceSpans", [])
                        for scope in resource.get("scopeSpans", [])
                        for span in scope.get("spans", [])
                    ]
                except (ValueError, AttributeError, TypeError):
                    report.skipped_lines += 1
                    continue
                for span in spans:
                    try:
                        record = _record(span)
                    except (ValueError, TypeError, KeyError, AttributeError):
                        report.skipped_lines += 1
                        continue
                    if record is None:
                        report.other_spans += 1
                    else:
                        report.records.append(record)
    report.records.sort(key=lambda r: r.start_s)
    return report


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


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def _cost(cost: float | None) -> str:
    return "-" if cost is None else f"${cost:.6f}"


_COLUMNS = (
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


def _cells(row: ModelSummary) -> list[str]:
    return [
        row.model,
        str(row.requests),
        str(row.errors),
        str(row.cancelled),
        *(_ms(percentile(row.durations, q)) for q in (50, 95, 99)),
        *(_ms(percentile(row.ttfts, q)) for q in (50, 95, 99)),
        str(row.input_tokens),
        str(row.output_tokens),
        _cost(row.cost_usd),
    ]


def render_text(report: Report) -> str:
    """The per-model table as plain text (durations and TTFT in milliseconds).

    Example:
        >>> import pathlib
        >>> rep = Report(pathlib.Path("d"), [SpanRecord("m", 0.0, 0.25, "ok", ttft_s=0.05)], [])
        >>> render_text(rep).splitlines()[2].split()
        ['m', '1', '0', '0', '250', '250', '250', '50', '50', '50', '0', '0', '-']
    """
    rows = [_cells(row) for row in summarize(report.records)]
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(_COLUMNS)]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    out = [line(_COLUMNS), line(["-" * w for w in widths])]
    out += [line(row) for row in rows]
    if not rows:
        out.append("(no model spans)")
    return "\n".join(out)


# -- HTML ---------------------------------------------------------------------------------

_PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1")


def _histogram_svg(series: dict[str, list[float]], title: str, unit_ms: bool = True) -> str:
    """Overlaid histograms (one colour per model) of ``series`` values, in ms."""
    width, height, pad = 640, 220, 56
    values = [v * (1000 if unit_ms else 1) for vs in series.values() for v in vs]
    if not values:
        return f"<p class='empty'>{html.escape(title)}: no data</p>"
    low, high = min(values), max(values)
    if high <= low:
        high = low + 1.0
    bins = 20
    step = (high - low) / bins
    counts = {name: [0] * bins for name in series}
    for name, vs in series.items():
        for v in vs:
            index = min(bins - 1, int((v * (1000 if unit_ms else 1) - low) / step))
            counts[name][index] += 1
    peak = max(max(c) for c in counts.values()) or 1
    bar = (width - 2 * pad) / bins / max(1, len(series))
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"role='img' aria-label='{html.escape(title)}'>",
        f"<text x='{pad}' y='16' class='t'>{html.escape(title)}</text>",
        f"<line x1='{pad}' y1='{height - pad}' x2='{width - pad}' y2='{height - pad}' "
        "stroke='#888'/>",
    ]
    for k, (name, cs) in enumerate(counts.items()):
        colour = _PALETTE[k % len(_PALETTE)]
        for i, count in enumerate(cs):
            if not count:
                continue
            h = (height - 2 * pad - 10) * count / peak
            x = pad + i * (width - 2 * pad) / bins + k * bar
            parts.append(
                f"<rect x='{x:.1f}' y='{height - pad - h:.1f}' width='{bar:.1f}' "
                f"height='{h:.1f}' fill='{colour}'><title>{html.escape(name)}: {count}</title>"
                "</rect>"
            )
        parts.append(
            f"<text x='{width - pad - 150}' y='{30 + 14 * k}' fill='{colour}' class='l'>"
            f"{html.escape(name)}</text>"
        )
    parts.append(
        f"<text x='{pad - 4}' y='{pad + 4}' text-anchor='end' class='l'>{peak}</text>"
        f"<text x='{pad - 4}' y='{height - pad}' text-anchor='end' class='l'>0</text>"
    )
    parts.append(f"<text x='{pad}' y='{height - 20}' class='l'>{low:.0f} ms</text>")
    parts.append(
        f"<text x='{width - pad}' y='{height - 20}' text-anchor='end' class='l'>"
        f"{high:.0f} ms</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def _cost_svg(records: Sequence[SpanRecord]) -> str:
    """Cumulative cost over time, one line per model."""
    width, height, pad = 640, 220, 56
    priced = [r for r in records if r.cost_usd is not None]
    if not priced:
        return "<p class='empty'>Cost over time: no priced spans</p>"
    t0 = min(r.start_s + r.duration_s for r in priced)
    t1 = max(r.start_s + r.duration_s for r in priced)
    span_t = (t1 - t0) or 1.0
    models = sorted({r.model for r in priced})
    running: dict[str, list[tuple[float, float]]] = {m: [(t0, 0.0)] for m in models}
    totals = dict.fromkeys(models, 0.0)
    for r in sorted(priced, key=lambda r: r.start_s + r.duration_s):
        totals[r.model] += r.cost_usd or 0.0
        running[r.model].append((r.start_s + r.duration_s, totals[r.model]))
    peak = max(totals.values()) or 1.0
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        "role='img' aria-label='Cumulative cost over time'>",
        f"<text x='{pad}' y='16' class='t'>Cumulative cost over time (USD)</text>",
        f"<line x1='{pad}' y1='{height - pad}' x2='{width - pad}' y2='{height - pad}' "
        "stroke='#888'/>",
    ]
    for k, model in enumerate(models):
        colour = _PALETTE[k % len(_PALETTE)]
        points = " ".join(
            f"{pad + (t - t0) / span_t * (width - 2 * pad):.1f},"
            f"{height - pad - c / peak * (height - 2 * pad - 10):.1f}"
            for t, c in running[model]
        )
        parts.append(
            f"<polyline points='{points}' fill='none' stroke='{colour}' stroke-width='2'/>"
        )
        parts.append(
            f"<text x='{width - pad - 150}' y='{30 + 14 * k}' fill='{colour}' class='l'>"
            f"{html.escape(model)} ${totals[model]:.6f}</text>"
        )
    parts.append(
        f"<text x='{pad - 4}' y='{pad + 4}' text-anchor='end' class='l'>${peak:.4f}</text>"
    )
    parts.append(f"<text x='{pad}' y='{height - 20}' class='l'>0 s</text>")
    parts.append(
        f"<text x='{width - pad}' y='{height - 20}' text-anchor='end' class='l'>"
        f"{span_t:.1f} s</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


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
        >>> rep = Report(pathlib.Path("d"), [SpanRecord("m<1>", 0.0, 0.25, "ok")], [])
        >>> page = render_html(rep)
        >>> no_links = "http" not in page.replace("http://www.w3.org", "")
        >>> "<svg" in page, "m&lt;1&gt;" in page, no_links
        (True, True, True)
    """
    rows = summarize(report.records)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in _COLUMNS)
    body = "".join(
        f"<tr class='{'all' if row.model == 'all' and len(rows) > 1 else ''}'>"
        + "".join(f"<td>{html.escape(cell)}</td>" for cell in _cells(row))
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
        f"<figure>{_histogram_svg(by_model, 'Latency distribution (ms)')}</figure>"
        f"<figure>{_histogram_svg(ttft_by_model, 'Time to first chunk (ms)')}</figure>"
        f"<figure>{_cost_svg(report.records)}</figure>"
        "</body></html>\n"
    )
