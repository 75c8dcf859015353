"""OTLP protobuf export requests from spans encoded as they end.

``http/protobuf`` spans take the same path as the embedded default's
(:mod:`langchain_otel._export._prepared`): each span is encoded when it ends into its
``Span`` message's bytes (:func:`prepare_proto`), the batch queue holds those bytes instead
of the SDK span, and the export thread only stitches them into the
``ExportTraceServiceRequest`` (:func:`proto_request`). Protobuf's wire format makes that
exact: a repeated message field is each element's tag, length and bytes one after the
other, so the stitched request is byte-for-byte the official encoder's serialization of
the same spans (``tests/test_export_otlp_proto.py`` checks it on random spans).

The ``Span`` message is written here for the usual values (strings, bools, int64s, floats,
bytes, ``None`` and flat sequences of them), fields in field-number order, proto3 defaults
left out, as protobuf serializes it. Anything else (a mapping value, an integer outside
int64, a lone surrogate) raises, and that span is encoded by the official encoder instead
(``opentelemetry-exporter-otlp-proto-common``, which decides what to keep). Resources and
scopes, once per batch, always take the official encoder.

Example:
    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    ...     InMemorySpanExporter,
    ... )
    >>> from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    >>> memory = InMemorySpanExporter()
    >>> provider = TracerProvider()
    >>> provider.add_span_processor(SimpleSpanProcessor(memory))
    >>> provider.get_tracer("doc").start_span("hello", attributes={"n": 2}).end()
    >>> spans = memory.get_finished_spans()
    >>> proto_request([prepare_proto(span) for span in spans]) == (
    ...     encode_spans(spans).SerializeToString())
    True
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from opentelemetry.exporter.otlp.proto.common._internal import (
    _encode_instrumentation_scope,
    _encode_resource,
)
from opentelemetry.exporter.otlp.proto.common._internal.trace_encoder import _encode_span
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from langchain_otel._export._otlp_json import group_by_resource_and_scope
from langchain_otel._export._span_fields import span_collections

__all__ = ["ProtoSpan", "prepare_proto", "proto_request", "proto_span"]

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_UINT64 = 2**64 - 1
_FIXED64 = struct.Struct("<Q").pack
_DOUBLE = struct.Struct("<d").pack
_FIXED32 = struct.Struct("<I").pack
_SMALL = [bytes((n,)) for n in range(128)]  # one-byte varints

# SpanFlags: the parent's is_remote is known (always), and it is true.
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200
_FLAGS = b"\x85\x01" + _FIXED32(_HAS_IS_REMOTE)  # Span.flags (field 16, fixed32)
_REMOTE_FLAGS = b"\x85\x01" + _FIXED32(_HAS_IS_REMOTE | _IS_REMOTE)


class ProtoSpan(NamedTuple):
    """A span's ``Span`` message as bytes, with the resource and scope it is grouped by."""

    resource: Resource
    scope: InstrumentationScope | None
    data: bytes


def _varint(value: int) -> bytes:
    if value < 0x80:
        return _SMALL[value]
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: bytes, data: bytes) -> bytes:
    """A length-delimited field: its tag, the length of ``data``, ``data``."""
    size = len(data)
    return tag + (_SMALL[size] if size < 0x80 else _varint(size)) + data


def _scalar(value: Any) -> bytes:
    """An ``AnyValue`` of one scalar (oneof members are written even when zero)."""
    kind = type(value)
    if kind is str:
        return _field(b"\x0a", value.encode())
    if kind is bool:
        return b"\x10\x01" if value else b"\x10\x00"
    if kind is int:
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"Value out of range: {value}")
        return b"\x18" + _varint(value & _UINT64)
    if kind is float:
        return b"\x21" + _DOUBLE(value)
    if kind is bytes:
        return _field(b"\x3a", value)
    if value is None:
        return b""
    raise TypeError(f"not a plain value: {kind.__name__}")  # the official encoder decides


def _any_value(value: Any) -> bytes:
    kind = type(value)
    if kind is tuple or kind is list:
        array = b"".join([_field(b"\x0a", _scalar(item)) for item in value])
        return _field(b"\x2a", array)  # ArrayValue.values (field 1)
    return _scalar(value)


_KEY_FIELDS: dict[str, bytes] = {}
"""Each attribute key's ``KeyValue.key`` field, encoded once (the same keys recur)."""

KEY_FIELDS_MAX = 4096
"""Keys remembered at most: past it a new key is encoded each time (unbounded key sets)."""


def _key_field(key: str) -> bytes:
    name = key.encode()
    field = _field(b"\x0a", name) if name else b""  # KeyValue.key (field 1)
    if len(_KEY_FIELDS) < KEY_FIELDS_MAX:
        _KEY_FIELDS[key] = field
    return field


def _attributes(tag: bytes, attributes: Mapping[str, Any] | None) -> list[bytes]:
    """Each ``KeyValue`` as a ``tag`` field (key omitted when empty, value always set).

    The hot path of the encoder: a key's field is encoded once per process, and a string
    value's four nested lengths are worked out first and the field is joined once.
    """
    if not attributes:
        return []
    encoded = []
    keys = _KEY_FIELDS
    for key, value in attributes.items():
        head = keys.get(key)
        if head is None:
            head = _key_field(key)
        if type(value) is str:
            data = value.encode()
            size = len(data)
            text = _SMALL[size] if size < 0x80 else _varint(size)
            item = len(text) + size + 1  # AnyValue: string_value (field 1)
            pair = _SMALL[item] if item < 0x80 else _varint(item)
            total = len(head) + 1 + len(pair) + item  # KeyValue: key, value (field 2)
            outer = _SMALL[total] if total < 0x80 else _varint(total)
            encoded.append(b"".join((tag, outer, head, b"\x12", pair, b"\x0a", text, data)))
        else:
            encoded.append(_field(tag, head + _field(b"\x12", _any_value(value))))
    return encoded


def _count(tag: bytes, value: int) -> bytes:
    return tag + _varint(value) if value else b""


def _trace_state(trace_state: Any) -> bytes:
    if not trace_state:
        return b""
    return _field(b"\x1a", ",".join([f"{k}={v}" for k, v in trace_state.items()]).encode())


def _event(event: Any) -> bytes:
    parts = [b"\x09" + _FIXED64(event.timestamp)] if event.timestamp else []
    if event.name:
        parts.append(_field(b"\x12", event.name.encode()))
    parts += _attributes(b"\x1a", event.attributes)
    parts.append(_count(b"\x20", event.dropped_attributes))
    return _field(b"\x5a", b"".join(parts))  # Span.events (field 11)


def _link(link: Any) -> bytes:
    context = link.context
    parts = [
        b"\x0a\x10" + context.trace_id.to_bytes(16, "big"),
        b"\x12\x08" + context.span_id.to_bytes(8, "big"),
        *_attributes(b"\x22", link.attributes),
        _count(b"\x28", link.dropped_attributes),
        b"\x35" + _FIXED32(_HAS_IS_REMOTE | (_IS_REMOTE if context.is_remote else 0)),
    ]
    return _field(b"\x6a", b"".join(parts))  # Span.links (field 13)


def _status(status: Any) -> bytes:
    if status is None:
        return b""
    parts = _field(b"\x12", status.description.encode()) if status.description else b""
    code = status.status_code._value_  # the enum's plain field, not its descriptor
    return _field(b"\x7a", parts + (b"\x18" + _varint(code) if code else b""))


def proto_span(span: ReadableSpan) -> bytes:
    r"""The ``Span`` message of ``span``; raises for a value it leaves to the official encoder.

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> span = TracerProvider().get_tracer("doc").start_span("hi")
        >>> span.end()
        >>> proto_span(span)[-6:]  # Span.flags: the parent's is_remote is known
        b'\x85\x01\x00\x01\x00\x00'
    """
    context = span.get_span_context()
    assert context is not None  # an SDK span always has one
    parent = span.parent
    parts = [
        b"\x0a\x10" + context.trace_id.to_bytes(16, "big"),
        b"\x12\x08" + context.span_id.to_bytes(8, "big"),
        _trace_state(context.trace_state),
    ]
    if parent:
        parts.append(b"\x22\x08" + parent.span_id.to_bytes(8, "big"))
    if span.name:
        parts.append(_field(b"\x2a", span.name.encode()))
    parts.append(b"\x30" + _varint(span.kind._value_ + 1))
    if span.start_time:
        parts.append(b"\x39" + _FIXED64(span.start_time))
    if span.end_time:
        parts.append(b"\x41" + _FIXED64(span.end_time))
    attributes, dropped_attributes, events, dropped_events, links, dropped_links = span_collections(
        span
    )
    parts += _attributes(b"\x4a", attributes)
    parts.append(_count(b"\x50", dropped_attributes))
    if events:
        parts += [_event(event) for event in events]
    parts.append(_count(b"\x60", dropped_events))
    if links:
        parts += [_link(link) for link in links]
    parts.append(_count(b"\x70", dropped_links))
    parts.append(_status(span.status))
    parts.append(_REMOTE_FLAGS if parent is not None and parent.is_remote else _FLAGS)
    return b"".join(parts)


def _span_bytes(span: ReadableSpan) -> bytes:
    try:
        return proto_span(span)
    except Exception:  # a value only the official encoder decides on
        return bytes(_encode_span(span).SerializeToString())


def prepare_proto(span: ReadableSpan) -> ProtoSpan | ReadableSpan:
    """``span`` encoded now; the span itself when neither encoder can take it."""
    try:
        return ProtoSpan(span.resource, span.instrumentation_scope or None, _span_bytes(span))
    except Exception:
        return span


def _items(batch: Iterable[Any]) -> Iterable[tuple[Resource, InstrumentationScope | None, bytes]]:
    for item in batch:
        prepared = item if type(item) is ProtoSpan else prepare_proto(item)
        if type(prepared) is ProtoSpan:  # else neither encoder takes it: left out
            yield prepared


def _scope(scope: InstrumentationScope | None) -> bytes:
    if scope is None:
        return b""  # the official encoder's empty InstrumentationScope
    return bytes(_encode_instrumentation_scope(scope).SerializeToString())


def _schema(schema_url: str | None) -> bytes:
    return _field(b"\x1a", schema_url.encode()) if schema_url else b""


def proto_request(batch: Sequence[Any]) -> bytes:
    """The ``ExportTraceServiceRequest`` of prepared spans (SDK spans are encoded here).

    Resources, then scopes, in first-seen order, as the official encoder groups; empty
    bytes for no spans.
    """
    grouped = group_by_resource_and_scope(_items(batch))
    resources = []
    for resource, scopes in grouped.items():
        parts = [_field(b"\x0a", _encode_resource(resource).SerializeToString())]
        for scope, spans in scopes.items():
            scoped = [_field(b"\x0a", _scope(scope))]
            scoped += [_field(b"\x12", data) for data in spans]
            scoped.append(_schema(scope.schema_url if scope is not None else None))
            parts.append(_field(b"\x12", b"".join(scoped)))
        parts.append(_schema(resource.schema_url))
        resources.append(_field(b"\x0a", b"".join(parts)))
    return b"".join(resources)
