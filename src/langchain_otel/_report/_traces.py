"""Traces from spans: the span tree of each trace, and which traces are worth a look.

A span whose parent is not in the files (a dropped span, a trace continued from another
service, a corrupted line) becomes a root of its trace, and the trace says so
(``Trace.orphans``); parent cycles, which only corrupted files can hold, are broken the
same way. Nothing here recurses, so a deep or malformed tree cannot exhaust the stack.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from langchain_otel._report._reader import TraceSpan, model_record
from langchain_otel._report._summary import CANCELLED
from langchain_otel.callbacks import _semconv as sc

__all__ = ["Row", "Trace", "build_traces", "interesting_traces"]

#: How much worse one outcome is than another, for a trace's overall outcome.
_SEVERITY = {sc.OUTCOME_ERROR: 3, sc.OUTCOME_ABANDONED: 2, sc.OUTCOME_CANCELLED: 2}


@dataclass(frozen=True)
class Row:
    """One span in its trace's tree, in display order (parents before their children)."""

    span: TraceSpan
    depth: int
    orphan: bool = False
    """The span's parent is not in the files (or is its own descendant)."""


@dataclass
class Trace:
    """The spans of one trace id, as a tree flattened into display rows."""

    trace_id: str
    rows: list[Row] = field(default_factory=list)

    @property
    def start_ns(self) -> int:
        """The earliest span start."""
        return min(row.span.start_ns for row in self.rows)

    @property
    def end_ns(self) -> int:
        """The latest span end."""
        return max(row.span.end_ns for row in self.rows)

    @property
    def duration_s(self) -> float:
        """Seconds from the first start to the last end."""
        return (self.end_ns - self.start_ns) / 1e9

    @property
    def root(self) -> TraceSpan:
        """The first root span (the request, usually)."""
        return self.rows[0].span

    @property
    def orphans(self) -> int:
        """Spans whose parent is missing from the files."""
        return sum(row.orphan for row in self.rows)

    @property
    def outcome(self) -> str:
        """The worst outcome of any span: ``error``, then ``cancelled``/``abandoned``, ``ok``."""
        worst = max(self.rows, key=lambda row: _SEVERITY.get(row.span.outcome, 0))
        return worst.span.outcome if _SEVERITY.get(worst.span.outcome) else sc.OUTCOME_OK

    @property
    def model_calls(self) -> int:
        """How many model spans the trace has."""
        return sum(row.span.is_model for row in self.rows)

    def totals(self) -> tuple[int, int, float | None]:
        """Input tokens, output tokens and cost (``None``: no price known) of its models."""
        records = [model_record(row.span) for row in self.rows if row.span.is_model]
        costs = [r.cost_usd for r in records if r.cost_usd is not None]
        return (
            sum(r.input_tokens for r in records),
            sum(r.output_tokens for r in records),
            sum(costs) if costs else None,
        )


def _rows(spans: Sequence[TraceSpan]) -> list[Row]:
    """Depth-first display order: roots by start time, children by start time."""
    ids = {span.span_id for span in spans if span.span_id}
    children: dict[str, list[int]] = {}
    roots: list[int] = []
    for index, span in enumerate(spans):
        if span.parent_id and span.parent_id in ids and span.parent_id != span.span_id:
            children.setdefault(span.parent_id, []).append(index)
        else:
            roots.append(index)
    rows: list[Row] = []
    seen: set[int] = set()
    expanded: set[str] = set()

    def walk(root: int) -> None:
        stack = [(root, 0)]
        while stack:
            index, depth = stack.pop()
            if index in seen:
                continue
            seen.add(index)
            span = spans[index]
            orphan = depth == 0 and span.parent_id is not None
            rows.append(Row(span, depth, orphan))
            if span.span_id in expanded:  # a duplicate span id: its children are shown once
                continue
            expanded.add(span.span_id)
            kids = sorted(children.get(span.span_id, ()), key=lambda i: spans[i].start_ns)
            stack.extend((kid, depth + 1) for kid in reversed(kids))

    for root in sorted(roots, key=lambda i: spans[i].start_ns):
        walk(root)
    # Whatever was not reached hangs in a parent cycle: break it at its earliest span.
    for index in sorted(set(range(len(spans))) - seen, key=lambda i: spans[i].start_ns):
        walk(index)
    return rows


def build_traces(spans: Iterable[TraceSpan]) -> list[Trace]:
    """Group ``spans`` by trace id into trees, in order of each trace's start.

    Example:
        >>> from langchain_otel._report import TraceSpan
        >>> spans = [
        ...     TraceSpan("t", "a", None, "request", 0, 900, "ok"),
        ...     TraceSpan("t", "b", "a", "model", 100, 800, "error"),
        ...     TraceSpan("t", "c", "gone", "late", 850, 880, "ok"),
        ... ]
        >>> (trace,) = build_traces(spans)
        >>> [(row.span.name, row.depth, row.orphan) for row in trace.rows]
        [('request', 0, False), ('model', 1, False), ('late', 0, True)]
        >>> trace.outcome, trace.orphans
        ('error', 1)
    """
    by_trace: dict[str, list[TraceSpan]] = {}
    for span in spans:
        by_trace.setdefault(span.trace_id, []).append(span)
    traces = [Trace(trace_id, _rows(members)) for trace_id, members in by_trace.items()]
    return sorted(traces, key=lambda trace: trace.start_ns)


def interesting_traces(traces: Sequence[Trace], slowest: int) -> tuple[list[Trace], list[Trace]]:
    """The ``slowest`` slowest traces, and every trace that erred or was cancelled.

    A trace is in one list only: the failures list leaves out those already among the slowest.

    Example:
        >>> from langchain_otel._report import TraceSpan
        >>> traces = build_traces([
        ...     TraceSpan("a", "1", None, "fast", 0, 100, "ok"),
        ...     TraceSpan("b", "2", None, "slow", 0, 900, "ok"),
        ...     TraceSpan("c", "3", None, "failed", 0, 950, "error"),
        ... ])
        >>> slow, failed = interesting_traces(traces, slowest=1)
        >>> [t.root.name for t in slow], [t.root.name for t in failed]
        (['failed'], [])
        >>> slow, failed = interesting_traces(traces, slowest=0)
        >>> [t.root.name for t in slow], [t.root.name for t in failed]
        ([], ['failed'])
    """
    slow = sorted(traces, key=lambda trace: trace.duration_s, reverse=True)[: max(0, slowest)]
    shown = {id(trace) for trace in slow}
    failed = [t for t in traces if t.outcome != sc.OUTCOME_OK and id(t) not in shown]
    failed.sort(key=lambda trace: (trace.outcome not in CANCELLED, trace.duration_s), reverse=True)
    return slow, failed
