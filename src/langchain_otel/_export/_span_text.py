"""A span's OTLP JSON object as text, its attributes written straight to text.

The embedded default and ``http/json`` queue each span as its JSON text
(``_export/_prepared.py``). Dumping the span's object with the JSON encoder walks two
small objects per attribute (``{"key": ..., "value": {"stringValue": ...}}``) and
escapes every one of their keys: for the model span of a chain, half the span's encoding
cost. Here the attribute list is written as text instead, each key's ``{"key":"...",
"value":`` prefix kept once encoded (at most :data:`KEY_PREFIXES_MAX` keys), each string
value escaped by the JSON encoder's own C function. A span with no events, links,
dropped counts or trace state (every span the handler ends) is written as text whole: ids
in hex, times and enums as numbers, the name and status message escaped by the same C
function. Any other span's fields around the attributes
(:func:`~langchain_otel._export._otlp_json.span_parts`) go through the encoder. The text is
byte for byte the encoder's dump of :func:`~langchain_otel._export._otlp_json.encode_span`
(``tests/test_export_span_text.py``).

Example:
    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    ...     InMemorySpanExporter,
    ... )
    >>> memory = InMemorySpanExporter()
    >>> provider = TracerProvider()
    >>> provider.add_span_processor(SimpleSpanProcessor(memory))
    >>> provider.get_tracer("doc").start_span("hello", attributes={"n": 2}).end()
    >>> from langchain_otel._export._otlp_json import encode_span
    >>> text = span_text(memory.get_finished_spans()[0])
    >>> text == ENCODER.encode(encode_span(memory.get_finished_spans()[0]))
    True
    >>> text[text.index('"attributes"'):text.index(',"status"')]
    '"attributes":[{"key":"n","value":{"intValue":"2"}}]'
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring  # the encoder's own escape (C), ensure_ascii=False
from math import isfinite
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from langchain_otel._export._otlp_json import (
    _INT64_MAX,
    _INT64_MIN,
    _DropLog,
    _flags,
    _UnencodableError,
    _value,
    span_parts,
)
from langchain_otel._export._span_fields import span_collections

__all__ = ["ENCODER", "KEY_PREFIXES_MAX", "attributes_text", "span_text"]

ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False)
"""The lines' encoder: compact, UTF-8 text as is, no cycle check (our objects are acyclic
by construction, and the check is a quarter of a dump)."""

KEY_PREFIXES_MAX = 4096
"""Attribute keys whose encoded prefix is kept; past that, a key is encoded each time."""

_TRACE_ID_MAX = (1 << 128) - 1
_SPAN_ID_MAX = (1 << 64) - 1

_KEY_PREFIXES: dict[str, str] = {"": '{"value":'}  # an empty key is omitted (proto3)


def _c_dump() -> Callable[[Any], str]:
    """``ENCODER.encode``, with the C encoder built once instead of per call."""
    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if c_make_encoder is None:  # pragma: no cover - CPython always has _json
        return ENCODER.encode
    # What JSONEncoder.iterencode builds for ENCODER on every call (no markers: no cycle check).
    make = c_make_encoder(
        None,
        ENCODER.default,
        encode_basestring,
        ENCODER.indent,
        ENCODER.key_separator,
        ENCODER.item_separator,
        ENCODER.sort_keys,
        ENCODER.skipkeys,
        ENCODER.allow_nan,
    )

    def dump(obj: Any) -> str:
        return "".join(make(obj, 0))

    return dump


_dump = _c_dump()


def _key_prefix(key: str) -> str:
    prefix = _KEY_PREFIXES.get(key)
    if prefix is None:
        prefix = '{"key":' + encode_basestring(key) + ',"value":'
        if len(_KEY_PREFIXES) <= KEY_PREFIXES_MAX:
            _KEY_PREFIXES[key] = prefix
    return prefix


def attributes_text(attributes: Mapping[str, Any]) -> str:
    """The attribute list's elements as JSON text, comma-separated ("" for none encoded).

    Example:
        >>> attributes_text({"a": "x", "b": True})
        '{"key":"a","value":{"stringValue":"x"}},{"key":"b","value":{"boolValue":true}}'
        >>> attributes_text({"c": 1.5, "d": [1]})
        '{"key":"c","value":{"doubleValue":1.5}},{"key":"d","value":{"arrayValue":{"values":[{"intValue":"1"}]}}}'
    """
    parts = []
    for key, value in attributes.items():
        kind = type(value)  # the usual types inline, each as the encoder writes it
        if kind is str:
            parts.append(_key_prefix(key) + '{"stringValue":' + encode_basestring(value) + "}}")
        elif kind is int and _INT64_MIN <= value <= _INT64_MAX:
            parts.append(_key_prefix(key) + '{"intValue":"' + int.__repr__(value) + '"}}')
        elif kind is bool:
            parts.append(
                _key_prefix(key) + ('{"boolValue":true}}' if value else '{"boolValue":false}}')
            )
        elif kind is float and isfinite(value):
            parts.append(_key_prefix(key) + '{"doubleValue":' + float.__repr__(value) + "}}")
        elif kind is tuple and value and all(type(item) is str for item in value):
            strings = '},{"stringValue":'.join(map(encode_basestring, value))
            parts.append(
                _key_prefix(key) + '{"arrayValue":{"values":[{"stringValue":' + strings + "}]}}}"
            )
        else:
            try:
                item = _value(value)
            except _UnencodableError as error:
                _DropLog.once(key, error)
                continue
            parts.append(_key_prefix(key) + _dump(item) + "}")
    return ",".join(parts)


def span_text(span: ReadableSpan) -> str:
    """``ENCODER.encode(encode_span(span))``, the attributes written as text.

    A span with no events, links, dropped counts or trace state (what the handler ends)
    is written as text whole; any other goes through :func:`_parts_text`.

    Raises what :func:`~langchain_otel._export._otlp_json.encode_span` raises (the caller
    falls back to the official path).
    """
    context = span.get_span_context()
    assert context is not None  # an SDK span always has one
    attributes, dropped_attributes, events, dropped_events, links, dropped_links = span_collections(
        span
    )
    trace_id = context.trace_id
    span_id = context.span_id
    if (
        dropped_attributes
        or events
        or dropped_events
        or links
        or dropped_links
        or context.trace_state
        or not (0 <= trace_id <= _TRACE_ID_MAX and 0 <= span_id <= _SPAN_ID_MAX)
    ):
        return _parts_text(span)
    # The fields of span_parts, in its order, as the encoder writes them.
    text = f'{{"traceId":"{trace_id:032x}","spanId":"{span_id:016x}"'
    parent = span.parent
    if parent:
        parent_id = parent.span_id
        if not 0 <= parent_id <= _SPAN_ID_MAX:
            return _parts_text(span)
        text += f',"parentSpanId":"{parent_id:016x}"'
    name = span.name
    if name:
        text += ',"name":' + encode_basestring(name)
    text += f',"kind":{span.kind._value_ + 1}'
    start_time = span.start_time
    if start_time:
        text += f',"startTimeUnixNano":"{start_time}"'
    end_time = span.end_time
    if end_time:
        text += f',"endTimeUnixNano":"{end_time}"'
    if attributes:
        encoded = attributes_text(attributes)
        if encoded:
            text += ',"attributes":[' + encoded + "]"
    status = span.status
    if status is not None:
        description = status.description
        code = status.status_code._value_
        if description:
            message = '"message":' + encode_basestring(description)
            status_text = f'{message},"code":{code}}}' if code else message + "}"
            text += ',"status":{' + status_text
        elif code:
            text += f',"status":{{"code":{code}}}'
        else:
            text += ',"status":{}'
    return f'{text},"flags":{_flags(parent)}}}'


def _parts_text(span: ReadableSpan) -> str:
    """Any span's text: :func:`span_parts` with the attributes written between its parts."""
    head, attributes, tail = span_parts(span)
    text = attributes_text(attributes) if attributes else ""
    head_text = _dump(head)[:-1]
    tail_text = _dump(tail)[1:]  # never empty: it always holds flags
    if text:
        return head_text + ',"attributes":[' + text + "]," + tail_text
    return head_text + "," + tail_text
