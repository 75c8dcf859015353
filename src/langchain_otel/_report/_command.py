"""``langchain-otel report DIR [--html FILE] [--json] [--slowest N]``: read, print, write.

Exit codes: 0 when the files were read (unreadable lines are skipped, counted in one warning
on stderr), 1 when there is nothing to read (no folder, no ``traces.jsonl``, an ``OSError``)
or the page cannot be written. With ``--html`` the page is written even then, saying why it
is empty.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from langchain_otel._report._agents import AGENT_CAPTION, agents_text
from langchain_otel._report._html import render_html
from langchain_otel._report._reader import Report, load_report
from langchain_otel._report._summary import percentile, summarize
from langchain_otel._report._text import render_text, render_trees
from langchain_otel._report._traces import Trace, build_traces, interesting_traces

__all__ = ["report_command"]


def _json(report: Report, traces: list[Trace], slowest: int) -> str:
    rows = [
        {
            "model": row.model,
            "requests": row.requests,
            "errors": row.errors,
            "cancelled": row.cancelled,
            **{f"duration_p{q}_s": percentile(row.durations, q) for q in (50, 95, 99)},
            **{f"ttft_p{q}_s": percentile(row.ttfts, q) for q in (50, 95, 99)},
            "input_tokens": row.input_tokens,
            "output_tokens": row.output_tokens,
            "cost_usd": row.cost_usd,
        }
        for row in summarize(report.records)
    ]
    slow, failed = interesting_traces(traces, slowest)

    def brief(trace: Trace) -> dict[str, Any]:
        return {
            "trace_id": trace.trace_id,
            "name": trace.root.name,
            "duration_s": trace.duration_s,
            "outcome": trace.outcome,
            "spans": len(trace.rows),
        }

    return json.dumps(
        {
            "models": rows,
            "traces": len(traces),
            "slowest_traces": [brief(t) for t in slow],
            "failed_traces": [brief(t) for t in failed],
            "skipped_lines": report.skipped_lines,
        },
        indent=2,
    )


def _write_page(report: Report, html: str, slowest: int, stderr: TextIO) -> bool:
    try:
        Path(html).write_text(render_html(report, slowest=slowest), encoding="utf-8")
    except OSError as exc:
        print(f"langchain-otel: error: cannot write {html}: {exc}", file=stderr)
        return False
    print(f"wrote {html}", file=stderr)
    return True


def report_command(
    directory: str | Path,
    *,
    html: str | None = None,
    as_json: bool = False,
    slowest: int = 5,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Print the report of ``directory`` (and write the page); return the exit code.

    Example:
        >>> import io, tempfile
        >>> err = io.StringIO()
        >>> report_command(tempfile.mkdtemp(), stderr=err)
        1
        >>> "no traces.jsonl" in err.getvalue()
        True
    """
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    folder = Path(directory)
    problem = None
    if not folder.is_dir():
        problem = f"{folder} is not a folder; run 'langchain-otel demo' first"
    else:
        try:
            report = load_report(folder)
        except FileNotFoundError:
            problem = f"no traces.jsonl in {folder}; run 'langchain-otel demo' first"
        except OSError as exc:
            problem = f"cannot read {folder}: {exc}"
    if problem is not None:
        print(f"langchain-otel: error: {problem}", file=stderr)
        if html:
            _write_page(Report(folder, [], []), html, slowest, stderr)
        return 1
    traces = build_traces(report.spans)
    if as_json:
        print(_json(report, traces, slowest), file=stdout)
    else:
        files = ", ".join(str(p) for p in report.files)
        print(f"{len(report.records)} model spans from {files}\n", file=stdout)
        print(render_text(report), file=stdout)
        print(
            "\ndurations and TTFT (time to first chunk, streams only) in milliseconds", file=stdout
        )
        agents = agents_text(report.spans)
        if agents:
            print(f"\nper agent\n{agents}\n{AGENT_CAPTION}", file=stdout)
        if traces and slowest > 0:
            print("\n" + render_trees(traces, slowest=slowest), file=stdout)
    if report.skipped_lines:
        print(f"warning: skipped {report.skipped_lines} unreadable lines", file=stderr)
    if html and not _write_page(report, html, slowest, stderr):
        return 1
    return 0
