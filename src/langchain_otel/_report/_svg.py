"""Inline SVG charts for the HTML page (no scripts, no external assets)."""

from __future__ import annotations

import html
from collections.abc import Sequence

from langchain_otel._report._reader import SpanRecord

__all__ = ["cost_svg", "histogram_svg"]

_PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1")


def histogram_svg(series: dict[str, list[float]], title: str, unit_ms: bool = True) -> str:
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


def cost_svg(records: Sequence[SpanRecord]) -> str:
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
