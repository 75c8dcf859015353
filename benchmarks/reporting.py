"""Statistics over the interleaved samples, the table on stdout, and the JSON file.

Every ratio is taken *within a round* (candidate's time per op / bare's time per op in the
same round), then summarised over rounds by its median and spread (min-max and the
interquartile range), so a noisy moment on the machine cancels out instead of favouring
whichever candidate ran then.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Cell", "cells", "goal_verdicts", "quartiles", "render"]

GOAL_CANDIDATES = ("ours", "ours-instrument")
"""The rows the goals apply to."""


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(q1, median, q3) of ``values``; with fewer than 2 values all three are the value.

    Example:
        >>> quartiles([1.0, 2.0, 3.0, 4.0, 5.0])
        (2.0, 3.0, 4.0)
    """
    if len(values) < 2:
        only = float(values[0])
        return only, only, only
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, statistics.median(values), q3


@dataclass(frozen=True)
class Cell:
    """One candidate on one workload, summarised over rounds."""

    candidate: str
    workload: str
    rounds: int
    us_per_op: float
    ratio: float | None
    ratio_min: float | None
    ratio_max: float | None
    ratio_q1: float | None
    ratio_q3: float | None
    extra_us_per_token: float | None
    spans_per_op: float

    def as_dict(self) -> dict[str, Any]:
        """The cell as JSON-ready data."""
        return dict(self.__dict__)


def cells(samples: Iterable[Any], tokens: dict[str, int]) -> list[Cell]:
    """Summarise samples (``candidate, workload, round, ns, ops, spans``) per cell.

    ``tokens`` gives the tokens streamed per op for each workload (0: not streamed).
    """
    per_op: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    spans: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for s in samples:
        per_op[s.candidate, s.workload][s.round] = s.ns / s.ops / 1000.0
        spans[s.candidate, s.workload][0] += s.spans
        spans[s.candidate, s.workload][1] += s.ops
    result: list[Cell] = []
    for (candidate, workload), by_round in per_op.items():
        bare = per_op.get(("bare", workload), {})
        common = sorted(set(by_round) & set(bare))
        ratios = [by_round[r] / bare[r] for r in common]
        n_tokens = tokens.get(workload, 0)
        extra = (
            statistics.median((by_round[r] - bare[r]) / n_tokens for r in common)
            if n_tokens and common
            else None
        )
        q1, median, q3 = quartiles(ratios) if ratios else (None, None, None)
        span_total, op_total = spans[candidate, workload]
        result.append(
            Cell(
                candidate=candidate,
                workload=workload,
                rounds=len(by_round),
                us_per_op=statistics.median(by_round.values()),
                ratio=median,
                ratio_min=min(ratios) if ratios else None,
                ratio_max=max(ratios) if ratios else None,
                ratio_q1=q1,
                ratio_q3=q3,
                extra_us_per_token=extra,
                spans_per_op=span_total / op_total if op_total else 0.0,
            )
        )
    return result


def goal_verdicts(table: list[Cell], workloads: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """For each goal candidate and workload: the goal, the measured figure, met or not."""
    verdicts: dict[str, dict[str, Any]] = {}
    for cell in table:
        if cell.candidate not in GOAL_CANDIDATES or cell.ratio is None:
            continue
        workload = workloads[cell.workload]
        met = cell.ratio <= workload.goal_ratio
        if workload.goal_us_per_token is not None and cell.extra_us_per_token is not None:
            met = met and cell.extra_us_per_token <= workload.goal_us_per_token
        verdicts.setdefault(cell.candidate, {})[cell.workload] = {
            "goal_ratio": workload.goal_ratio,
            "goal_us_per_token": workload.goal_us_per_token,
            "ratio": cell.ratio,
            "extra_us_per_token": cell.extra_us_per_token,
            "met": met,
        }
    return verdicts


def _ratio_text(cell: Cell | None) -> str:
    if cell is None:
        return "–"
    if cell.candidate == "bare":
        return _us(cell.us_per_op)
    if cell.ratio is None:
        return "?"
    return f"{cell.ratio:.2f}× ({cell.ratio_min:.2f}–{cell.ratio_max:.2f})"


def _us(value: float) -> str:
    return f"{value / 1000:.2f} ms" if value >= 1000 else f"{value:.0f} µs"


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    lines = [line(header), "|" + "|".join("---" for _ in header) + "|"]
    lines += [line(row) for row in rows]
    return "\n".join(lines)


def render(result: dict[str, Any], workloads: dict[str, Any]) -> str:
    """The Markdown report of one run, as ``docs/performance.md`` pastes it.

    Ratios, per-token cost, spans per op, floor, memory, parenting and goals.
    """
    table = [Cell(**c) for c in result["cells"]]
    by_key = {(c.candidate, c.workload): c for c in table}
    candidates = [c for c in result["candidates"] if any(k[0] == c for k in by_key)]
    wids = [w for w in result["workloads"] if any(k[1] == w for k in by_key)]
    goals = result["goals"].get("ours", {})
    out: list[str] = []

    header = ["workload", *candidates, "goal (issue 6; W11: 18)", "ours: goal"]
    rows = []
    for wid in wids:
        goal = workloads[wid]
        goal_text = f"≤ {goal.goal_ratio}×" + (
            f", ≤ +{goal.goal_us_per_token} µs/token" if goal.goal_us_per_token else ""
        )
        verdict = goals.get(wid)
        met = "–" if verdict is None else ("met" if verdict["met"] else "NOT met")
        rows.append(
            [f"{wid} {goal.title}"]
            + [_ratio_text(by_key.get((c, wid))) for c in candidates]
            + [goal_text, met]
        )
    out.append(
        "Time per op: bare in µs/ms, others as the median ratio to bare (min–max over rounds).\n"
    )
    out.append(_markdown(header, rows))

    streamed = [w for w in wids if workloads[w].tokens]
    if streamed:
        rows = []
        for wid in streamed:
            row = [f"{wid} {workloads[wid].title}"]
            for c in candidates:
                cell = by_key.get((c, wid))
                if c == "bare" or cell is None or cell.extra_us_per_token is None:
                    row.append("–" if c != "bare" else "0")
                else:
                    row.append(f"{cell.extra_us_per_token:+.1f}")
            rows.append(row)
        out.append("\nExtra µs per streamed token (median over rounds, vs bare):\n")
        out.append(_markdown(["workload", *candidates], rows))

    rows = []
    for wid in wids:
        row = [wid]
        for c in candidates:
            cell = by_key.get((c, wid))
            row.append("–" if cell is None else f"{cell.spans_per_op:g}")
        rows.append(row)
    out.append("\nSpans exported per op:\n")
    out.append(_markdown(["workload", *candidates], rows))

    floor = result.get("floor")
    if floor:
        out.append(
            f"\nFloor (same run): one SDK span with 10 attributes + 2 histogram records = "
            f"{floor['us_median']:.1f} µs (IQR {floor['us_q1']:.1f}–{floor['us_q3']:.1f})."
        )

    memory = result.get("memory") or {}
    if memory:
        rows = []
        for c, m in memory.items():
            if "error" in m:
                rows.append([c, m["error"], "", "", ""])
                continue
            grow_i = (m["after_invokes"]["rss_bytes"] - m["before"]["rss_bytes"]) / 2**20
            grow_s = (m["after_astreams"]["rss_bytes"] - m["after_invokes"]["rss_bytes"]) / 2**20
            open_runs = m["after_astreams"]["open_runs"]
            rows.append(
                [
                    f"{c} ({m['model']})",
                    f"{grow_i:+.1f} MiB after {m['invokes']} invokes",
                    f"{grow_s:+.1f} MiB after {m['astreams']} astreams",
                    str(m["after_astreams"]["registry"]),
                    "–" if open_runs is None else str(open_runs),
                ]
            )
        out.append("\nMemory growth (RSS) and run registry afterwards:\n")
        out.append(
            _markdown(["candidate", "invokes", "astreams", "registry entries", "open_runs"], rows)
        )

    parenting = result.get("parenting") or {}
    if parenting:
        rows = [[c, v.get("llm", "?"), v.get("chat", "?")] for c, v in parenting.items()]
        out.append(
            "\nParenting (one trace per request, model span under the chain span; "
            "invoke, ainvoke, 20 concurrent, after batch):\n"
        )
        out.append(_markdown(["candidate", "text chain", "chat chain"], rows))

    if result.get("errors"):
        out.append("\nErrors:\n")
        out.extend(f"- {c}: {e}" for c, errors in result["errors"].items() for e in errors)
    return "\n".join(out)
