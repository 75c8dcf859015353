"""Inline SVG charts with real axes: lines over time and histograms.

No script, no external asset. Colours are CSS classes of the page (``c0`` … ``c7``, one per
model, each with a light and a dark value), so charts follow ``prefers-color-scheme``.
Legends are HTML lists under the chart: they wrap on a phone instead of overlapping. Every
chart is drawn in a 480 x 240 viewBox and scales to its column; the plot's left margin
fits its longest y label, and on a phone the page's CSS enlarges the text in user units so
it stays readable after the scaling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Line", "fmt", "histogram", "line_chart", "ticks"]

WIDTH, HEIGHT = 480, 240
RIGHT, TOP, BOTTOM = 16, 30, 30
PLOT_H = HEIGHT - TOP - BOTTOM
CHAR_W = 8.8  # width of a tick label character at the largest font (16 units, phones)
COLOURS = 8


def _step(high: float, count: int) -> float:
    raw = high / max(1, count)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * 0.999)


def ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``high`` (at most ``count`` + 1 of them).

    Example:
        >>> ticks(942)
        [0, 200, 400, 600, 800, 1000]
        >>> ticks(0.013)
        [0, 0.005, 0.01, 0.015]
        >>> ticks(0)
        [0, 1]
    """
    if not math.isfinite(high) or high <= 0:
        return [0, 1]
    step = _step(high, count)
    return [_round(i * step) for i in range(math.ceil(high / step - 1e-9) + 1)]


def _round(value: float) -> float:
    rounded = round(value, 12)
    return int(rounded) if rounded == int(rounded) else rounded


def fmt(value: float) -> str:
    """A tick label: three significant digits at most, no exponent, thousands separated.

    Example:
        >>> [fmt(v) for v in (0, 0.00045, 0.5, 2.25, 12.5, 100, 1500)]
        ['0', '0.00045', '0.5', '2.25', '12.5', '100', '1,500']
    """
    if value == 0 or not math.isfinite(value):
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    digits = max(0, 2 - math.floor(math.log10(abs(value))))
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class Line:
    """One series of a line chart; ``None`` values are gaps."""

    label: str
    colour: int
    points: Sequence[tuple[float, float | None]]
    dashed: bool = False


def _time_unit(x_max: float) -> tuple[float, str]:
    """Divisor and unit for a time axis in seconds."""
    if x_max >= 7200:
        return 3600.0, "h"
    if x_max >= 180:
        return 60.0, "min"
    return 1.0, "s"


@dataclass(frozen=True)
class _Plot:
    """The plot area's left edge and width: room for the longest y tick label."""

    left: float
    width: float

    @classmethod
    def for_ticks(cls, y_ticks: Sequence[float]) -> _Plot:
        left = max(36.0, 12 + CHAR_W * max(len(fmt(tick)) for tick in y_ticks))
        return cls(left, WIDTH - left - RIGHT)


def _frame(title: str, plot: _Plot, y_ticks: Sequence[float], y_unit: str) -> list[str]:
    """The SVG start, the y grid with its labels, the unit and the x axis line."""
    y_max = y_ticks[-1] or 1
    left = plot.left
    parts = [
        f"<svg viewBox='0 0 {WIDTH} {HEIGHT}' role='img' aria-label='{escape(title)}' "
        "xmlns='http://www.w3.org/2000/svg'>",
        f"<text class='unit' x='2' y='14'>{escape(y_unit)}</text>",
    ]
    for tick in y_ticks:
        y = TOP + PLOT_H - tick / y_max * PLOT_H
        parts.append(
            f"<line class='grid' x1='{left:.1f}' x2='{WIDTH - RIGHT}' y1='{y:.1f}' y2='{y:.1f}'/>"
            f"<text class='tick' x='{left - 6:.1f}' y='{y + 4:.1f}' text-anchor='end'>"
            f"{fmt(tick)}</text>"
        )
    base = TOP + PLOT_H
    parts.append(
        f"<line class='axis' x1='{left:.1f}' x2='{WIDTH - RIGHT}' y1='{base}' y2='{base}'/>"
    )
    return parts


def _x_axis(plot: _Plot, x_ticks: Sequence[float], x_max: float, unit: str) -> list[str]:
    parts = []
    base = TOP + PLOT_H
    for tick in x_ticks:
        x = plot.left + tick / (x_max or 1) * plot.width
        anchor = "end" if tick == x_ticks[-1] and len(x_ticks) > 1 else "middle"
        label = f"{fmt(tick)} {unit}" if unit else fmt(tick)
        parts.append(
            f"<line class='axis' x1='{x:.1f}' x2='{x:.1f}' y1='{base}' y2='{base + 4}'/>"
            f"<text class='tick' x='{x:.1f}' y='{base + 17}' text-anchor='{anchor}'>"
            f"{escape(label)}</text>"
        )
    return parts


def _legend(items: Sequence[tuple[str, int, bool]], swatch: str) -> str:
    keys = "".join(
        f"<li><i class='key {swatch} c{colour % COLOURS}{' dash' if dashed else ''}'></i>"
        f"{escape(label)}</li>"
        for label, colour, dashed in items
    )
    return f"<ul class='legend'>{keys}</ul>"


def _figure(title: str, svg: str, legend: str, caption: str) -> str:
    note = f"<p class='caption'>{escape(caption)}</p>" if caption else ""
    head = f"<figcaption>{escape(title)}</figcaption>"
    return f"<figure class='chart'>{head}{svg}{legend}{note}</figure>"


def _empty(title: str, why: str) -> str:
    return _figure(title, f"<p class='empty'>{escape(why)}</p>", "", "")


def line_chart(
    title: str, lines: Sequence[Line], *, x_max: float, y_unit: str, caption: str = ""
) -> str:
    """A ``<figure>``: lines over a time axis (``x`` in seconds from the start), y from 0.

    Example:
        >>> page = line_chart("Requests", [Line("m", 0, [(0.5, 2.0), (1.5, None), (2.5, 4.0)])],
        ...                   x_max=3.0, y_unit="req/s")
        >>> page.count("<polyline"), page.count("<circle"), "req/s" in page
        (0, 2, True)
    """
    values = [y for line in lines for _, y in line.points if y is not None]
    if not values:
        return _empty(title, "no data")
    divisor, unit = _time_unit(x_max)
    x_ticks = ticks(x_max / divisor, 6)
    x_scale = x_ticks[-1] * divisor
    y_ticks = ticks(max(values), 4)
    y_max = y_ticks[-1] or 1
    plot = _Plot.for_ticks(y_ticks)
    parts = _frame(title, plot, y_ticks, y_unit)
    parts += _x_axis(plot, x_ticks, x_ticks[-1], unit)

    def point(x: float, y: float) -> str:
        x_at = plot.left + x / x_scale * plot.width
        return f"{x_at:.1f},{TOP + PLOT_H - y / y_max * PLOT_H:.1f}"

    for line in lines:
        css = f"s c{line.colour % COLOURS}{' dash' if line.dashed else ''}"
        run: list[str] = []
        for x, y in [*line.points, (0.0, None)]:
            if y is not None:
                run.append(point(x, y))
                continue
            if len(run) > 1:
                parts.append(f"<polyline class='{css}' points='{' '.join(run)}'/>")
            run = []
        for x, y in line.points:
            if y is not None:
                cx, cy = point(x, y).split(",")
                parts.append(
                    f"<circle class='dot f c{line.colour % COLOURS}' cx='{cx}' cy='{cy}' r='2.2'>"
                    f"<title>{escape(line.label)}: {fmt(y)} {escape(y_unit)} at "
                    f"{fmt(x / divisor)} {unit}</title></circle>"
                )
    parts.append("</svg>")
    legend = _legend([(line.label, line.colour, line.dashed) for line in lines], "line")
    return _figure(title, "".join(parts), legend, caption)


def histogram(
    title: str, series: Sequence[tuple[str, int, Sequence[float]]], *, unit: str, caption: str = ""
) -> str:
    """A ``<figure>``: one bar per model in each of about 20 bins of ``unit`` values.

    Example:
        >>> page = histogram("Latency", [("m", 0, [120.0, 180.0, 950.0])], unit="ms")
        >>> page.count("<rect class='bar"), "ms" in page
        (3, True)
    """
    values = [v for _, _, vs in series for v in vs if math.isfinite(v)]
    if not values:
        return _empty(title, "no data")
    x_ticks = ticks(max(values), 5)
    x_max = x_ticks[-1] or 1
    bins = 20
    counts = [[0] * bins for _ in series]
    for row, (_, _, vs) in zip(counts, series, strict=True):
        for v in vs:
            if math.isfinite(v):
                row[min(bins - 1, max(0, int(v / x_max * bins)))] += 1
    y_ticks = ticks(max(max(row) for row in counts), 4)
    plot = _Plot.for_ticks(y_ticks)
    parts = _frame(title, plot, y_ticks, "calls")
    parts += _x_axis(plot, x_ticks, x_max, unit)
    slot = plot.width / bins
    bar = (slot - 2) / max(1, len(series))
    for k, (row, (label, colour, _)) in enumerate(zip(counts, series, strict=True)):
        for i, count in enumerate(row):
            if not count:
                continue
            h = count / y_ticks[-1] * PLOT_H
            low, high = i * x_max / bins, (i + 1) * x_max / bins
            x = plot.left + i * slot + 1 + k * bar
            parts.append(
                f"<rect class='bar f c{colour % COLOURS}' x='{x:.1f}' "
                f"y='{TOP + PLOT_H - h:.1f}' width='{bar:.1f}' height='{h:.1f}'>"
                f"<title>{escape(label)}: {count} calls of {fmt(low)} to {fmt(high)} {unit}</title>"
                "</rect>"
            )
    parts.append("</svg>")
    legend = _legend([(label, colour, False) for label, colour, _ in series], "box")
    return _figure(title, "".join(parts), legend, caption)
