"""Span trees as plain data, so tests can assert a whole trace at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan


def children(spans: Sequence[ReadableSpan]) -> dict[int | None, list[ReadableSpan]]:
    """Parent span id (None for roots) → its child spans, in start order."""
    by_parent: dict[int | None, list[ReadableSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        parent = span.parent.span_id if span.parent is not None else None
        by_parent.setdefault(parent, []).append(span)
    return by_parent


def tree(spans: Sequence[ReadableSpan]) -> list[Any]:
    """Each root as ``(name, [children...])``, children in start order."""
    by_parent = children(spans)

    def node(span: ReadableSpan) -> Any:
        kids = by_parent.get(span.context.span_id, [])
        return (span.name, [node(k) for k in kids]) if kids else span.name

    return [node(root) for root in by_parent.get(None, [])]


def assert_connected(spans: Sequence[ReadableSpan]) -> None:
    """Every parent of a span is a span we exported in the same trace: nothing orphaned."""
    by_id = {s.context.span_id: s for s in spans}
    for span in spans:
        if span.parent is not None:
            assert span.parent.span_id in by_id, f"{span.name}: parent span missing"
            assert by_id[span.parent.span_id].context.trace_id == span.context.trace_id


def named(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    """The spans called exactly ``name``."""
    return [s for s in spans if s.name == name]
