"""Spans encoded as they end: the embedded default's batch queue holds text, not SDK objects.

A span waiting in a ``BatchSpanProcessor`` queue (up to 512 spans or 5 s) keeps a few dozen
objects the garbage collector tracks: the span, its attribute mapping, its context, events,
links, status. They live long enough to be promoted to the oldest generation, and in a
service at a steady rate that is what triggers full collections: with the embedded default
queueing SDK spans, one ~120 ms full collection (a pause of the whole event loop) every
~15 s at 100 requests/s, and none without an exporter (measured; ``docs/performance.md``).

So the embedded default encodes each span when it ends (:func:`prepare`: its OTLP JSON
object as text, ``_export/_span_text.py``, ~10 µs) and queues a :class:`PreparedSpan` (one
small tuple of the span's resource, scope and text); the span itself is freed at once.
The export thread only stitches the texts into the request line (:func:`prepared_line`),
byte-for-byte what encoding the spans as one batch gives. A span the fast encoder cannot
take is queued as it is, and its batch is then written by the usual path.

Example:
    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    ...     InMemorySpanExporter,
    ... )
    >>> memory = InMemorySpanExporter()
    >>> provider = TracerProvider()
    >>> provider.add_span_processor(SimpleSpanProcessor(memory))
    >>> provider.get_tracer("doc").start_span("hello").end()
    >>> prepared = [prepare(span) for span in memory.get_finished_spans()]
    >>> prepared_line(prepared).startswith(b'{"resourceSpans":[{"resource":')
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from langchain_otel._export._otlp_json import (
    encode_resource,
    encode_scope,
    group_by_resource_and_scope,
)
from langchain_otel._export._span_text import ENCODER, span_text

__all__ = ["ENCODER", "PreparedSpan", "batch_lines", "prepare", "prepared_line", "split_batch"]


class PreparedSpan(NamedTuple):
    """A span's OTLP JSON object as text, with the resource and scope it is grouped by."""

    resource: Resource
    scope: InstrumentationScope | None
    text: str


def prepare(span: ReadableSpan) -> PreparedSpan | ReadableSpan:
    """``span`` encoded now; the span itself when the fast encoder cannot take it.

    The text is also encoded to UTF-8 once here, so that a lone surrogate surfaces now
    (and the span takes the official path later) rather than when the line is written.
    """
    try:
        text = span_text(span)
        text.encode()
    except Exception:
        return span
    return PreparedSpan(span.resource, span.instrumentation_scope or None, text)


def _schema(entry: list[str], schema_url: str | None) -> None:
    if schema_url:
        entry.append(',"schemaUrl":' + ENCODER.encode(schema_url))


def prepared_line(spans: Sequence[PreparedSpan]) -> bytes:
    """The ``ExportTraceServiceRequest`` line of prepared spans (grouped as the encoder).

    Resources, then scopes, in first-seen order; the same bytes as dumping the request
    of the spans themselves. Nothing for no spans.
    """
    grouped = group_by_resource_and_scope(spans)
    if not grouped:
        return b""
    resources = []
    for resource, scopes in grouped.items():
        scoped = []
        for scope, texts in scopes.items():
            entry = ['{"scope":', ENCODER.encode(encode_scope(scope)), ',"spans":[']
            entry += [",".join(texts), "]"]
            _schema(entry, scope.schema_url if scope is not None else None)
            scoped.append("".join(entry) + "}")
        outer = ['{"resource":', ENCODER.encode(encode_resource(resource))]
        outer += [',"scopeSpans":[', ",".join(scoped), "]"]
        _schema(outer, resource.schema_url)
        resources.append("".join(outer) + "}")
    return ('{"resourceSpans":[' + ",".join(resources) + "]}\n").encode()


def split_batch(batch: Sequence[Any]) -> list[tuple[bool, list[Any]]]:
    """Consecutive runs of prepared spans and of plain ones, in order: ``(prepared, run)``.

    Example:
        >>> split_batch([])
        []
    """
    runs: list[tuple[bool, list[Any]]] = []
    for item in batch:
        kind = type(item) is PreparedSpan
        if runs and runs[-1][0] is kind:
            runs[-1][1].append(item)
        else:
            runs.append((kind, [item]))
    return runs


def batch_lines(
    batch: Sequence[Any], plain_lines: Callable[[Sequence[Any]], list[bytes]]
) -> list[bytes]:
    """A batch's lines: prepared spans stitched, plain spans through ``plain_lines``.

    A batch that mixes them gives one line per run of each.

    Example:
        >>> batch_lines([], lambda spans: [])
        []
    """
    if not any(type(item) is PreparedSpan for item in batch):
        return plain_lines(batch)
    lines: list[bytes] = []
    for prepared, run in split_batch(batch):
        lines += [prepared_line(run)] if prepared else plain_lines(run)
    return lines
