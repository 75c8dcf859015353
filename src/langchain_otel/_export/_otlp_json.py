"""OTLP JSON export requests built straight from the SDK's spans and log records.

The official path (``encode_spans`` / ``encode_logs`` builds protobuf messages, then
``json_format.MessageToDict``, then the ids are hexed) costs more CPU per span than the whole
callback handler. The functions here build the same JSON objects directly from
``ReadableSpan`` / ``ReadableLogRecord``; ``json.dumps(..., separators=(",", ":"),
ensure_ascii=False)`` of their result is byte-for-byte the line of the official path
(``tests/test_export_otlp_json.py`` checks that on random spans). The mapping, mirrored from
``opentelemetry-exporter-otlp-proto-common`` and protobuf's JSON printer:

* Grouping: one ``resourceSpans`` entry per ``Resource`` and, inside it, one ``scopeSpans`` per
  instrumentation scope, in first-seen order (dicts keyed by the SDK objects, as the encoder).
* Keys in protobuf field-number order (``flags``, field 16 of ``Span``, comes last); proto3
  defaults are omitted (empty strings, zero counts and times, empty lists), while message
  fields the encoder always sets stay even when empty (``"status": {}``, ``"scope": {}``,
  ``"body": {}``).
* 64-bit integers (times, ``intValue``) as strings; 32-bit ones (counts, ``flags``, enums) as
  numbers; span kind is the SDK's value + 1, status code the SDK's value.
* ``traceId`` / ``spanId`` / ``parentSpanId`` as lowercase hex (the OTLP JSON rule), while
  ``bytesValue`` stays base64 (protobuf's ``bytes`` mapping).
* ``doubleValue``: non-finite floats as the strings ``"NaN"``, ``"Infinity"``,
  ``"-Infinity"``; others as JSON numbers (``-0.0`` and ``1e+20`` as Python writes them).
* Attribute values: ``None`` is ``{}``, sequences are ``arrayValue`` (an empty one is
  ``{"arrayValue": {}}``), mappings ``kvlistValue``; an attribute the official encoder cannot
  encode (an integer outside int64, an unknown type) is left out, as it does, and logged once.
  A key that is the empty string is omitted from its ``KeyValue`` (proto3 default).

What this module cannot mirror cheaply raises (a lone surrogate surfaces when the line is
encoded to UTF-8); the caller then falls back to the official path, which decides.

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
    >>> request = spans_to_otlp_json(memory.get_finished_spans())
    >>> span = request["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    >>> span["name"], span["kind"], span["attributes"], span["flags"]
    ('hello', 1, [{'key': 'n', 'value': {'intValue': '2'}}], 256)
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterable, Mapping, Sequence
from math import isfinite
from typing import Any, TypeVar

import structlog
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext

from langchain_otel._export._span_fields import span_collections

__all__ = [
    "encode_resource",
    "encode_scope",
    "encode_span",
    "group_by_resource_and_scope",
    "logs_to_otlp_json",
    "span_parts",
    "spans_to_otlp_json",
]

_logger = structlog.get_logger("langchain_otel")

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

# SpanFlags: the parent's is_remote is known (always), and it is true.
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200


class _UnencodableError(ValueError):
    """A value the official encoder rejects (it leaves that attribute out)."""


def _non_finite(value: float) -> str:
    if value != value:  # noqa: PLR0124 - NaN
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _int(value: int) -> dict[str, Any]:
    if _INT64_MIN <= value <= _INT64_MAX:
        return {"intValue": str(value)}
    raise _UnencodableError(f"Value out of range: {value}")


def _value(value: Any) -> dict[str, Any]:
    """One ``AnyValue``; the checks run in the official encoder's order."""
    kind = type(value)
    if kind is str:
        return {"stringValue": value}
    if kind is bool:
        return {"boolValue": value}
    if kind is int:
        return _int(value)
    if kind is float:
        return {"doubleValue": value if isfinite(value) else _non_finite(value)}
    if kind is tuple or kind is list:
        return {"arrayValue": {"values": [_value(item) for item in value]} if value else {}}
    return _other_value(value)


def _other_value(value: Any) -> dict[str, Any]:  # noqa: PLR0911 - one return per AnyValue case
    """Subclasses and the rarer types, with the official ``isinstance`` chain."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"boolValue": bool(value)}
    if isinstance(value, str):
        return {"stringValue": str.__str__(value)}
    if isinstance(value, int):
        return _int(int(value))
    if isinstance(value, float):
        number = float(value)
        return {"doubleValue": number if isfinite(number) else _non_finite(number)}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Sequence):
        return {"arrayValue": {"values": [_value(item) for item in value]} if value else {}}
    if isinstance(value, Mapping):
        pairs = [_key_value(str(key), item) for key, item in value.items()]
        return {"kvlistValue": {"values": pairs} if pairs else {}}
    raise _UnencodableError(f"Invalid type {type(value)} of value {value}")


def _key_value(key: str, value: Any) -> dict[str, Any]:
    return {"key": key, "value": _value(value)} if key else {"value": _value(value)}


class _DropLog:
    """Log the first attribute the encoder has to leave out, once per process."""

    logged = False

    @classmethod
    def once(cls, key: str, error: Exception) -> None:
        if cls.logged:
            return
        cls.logged = True
        with contextlib.suppress(Exception):
            _logger.warning(
                "telemetry.attribute_dropped",
                key=key,
                reason=str(error),
                note="OTLP cannot encode this value; logged once",
            )


def _attributes(attributes: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not attributes:
        return []
    encoded = []
    for key, value in attributes.items():
        kind = type(value)  # the two commonest cases inline: this loop is the hot path
        if kind is str:
            item: dict[str, Any] = {"stringValue": value}
        elif kind is int and _INT64_MIN <= value <= _INT64_MAX:
            item = {"intValue": str(value)}
        else:
            try:
                item = _value(value)
            except _UnencodableError as error:
                _DropLog.once(key, error)
                continue
        encoded.append({"key": key, "value": item} if key else {"value": item})
    return encoded


def _put_attributes(
    encoded: dict[str, Any], attributes: Mapping[str, Any] | None, dropped: int = 0
) -> None:
    """``attributes`` then ``droppedAttributesCount``, each only when not empty (proto3)."""
    values = _attributes(attributes)
    if values:
        encoded["attributes"] = values
    if dropped:
        encoded["droppedAttributesCount"] = dropped


def _resource(resource: Resource) -> dict[str, Any]:
    attributes = _attributes(resource.attributes)
    return {"attributes": attributes} if attributes else {}


def _scope(scope: InstrumentationScope | None) -> dict[str, Any]:
    if scope is None:
        return {}
    encoded: dict[str, Any] = {}
    if scope.name:
        encoded["name"] = scope.name
    if scope.version:
        encoded["version"] = scope.version
    _put_attributes(encoded, scope.attributes)
    return encoded


def _flags(context: SpanContext | None) -> int:
    if context is not None and context.is_remote:
        return _HAS_IS_REMOTE | _IS_REMOTE
    return _HAS_IS_REMOTE


def _trace_id(trace_id: int) -> str:
    return trace_id.to_bytes(16, "big").hex()


def _span_id(span_id: int) -> str:
    return span_id.to_bytes(8, "big").hex()


def span_parts(
    span: ReadableSpan,
) -> tuple[dict[str, Any], Mapping[str, Any] | None, dict[str, Any]]:
    """A span's OTLP JSON object in three parts, in field order.

    The fields before its attributes, the attributes themselves (not encoded), the fields
    after them; the tail always holds ``flags``. :func:`encode_span` joins the parts as one object;
    ``_export/_span_text.py`` writes the attributes straight to text between them.
    """
    context = span.get_span_context()
    assert context is not None  # an SDK span always has one
    head: dict[str, Any] = {
        "traceId": _trace_id(context.trace_id),
        "spanId": _span_id(context.span_id),
    }
    trace_state = context.trace_state
    if trace_state:
        head["traceState"] = ",".join([f"{key}={value}" for key, value in trace_state.items()])
    parent = span.parent
    if parent:
        head["parentSpanId"] = _span_id(parent.span_id)
    if span.name:
        head["name"] = span.name
    head["kind"] = span.kind._value_ + 1  # the enum's plain field, not its descriptor
    if span.start_time:
        head["startTimeUnixNano"] = str(span.start_time)
    if span.end_time:
        head["endTimeUnixNano"] = str(span.end_time)
    attributes, dropped_attributes, events, dropped_events, links, dropped_links = span_collections(
        span
    )
    tail: dict[str, Any] = {}
    if dropped_attributes:
        tail["droppedAttributesCount"] = dropped_attributes
    if events:
        tail["events"] = [_event(event) for event in events]
    if dropped_events:
        tail["droppedEventsCount"] = dropped_events
    if links:
        tail["links"] = [_link(link) for link in links]
    if dropped_links:
        tail["droppedLinksCount"] = dropped_links
    status = span.status
    if status is not None:
        tail["status"] = _status(status.description, status.status_code._value_)
    tail["flags"] = _flags(parent)
    return head, attributes, tail


def _span(span: ReadableSpan) -> dict[str, Any]:
    encoded, attributes, tail = span_parts(span)
    values = _attributes(attributes)
    if values:
        encoded["attributes"] = values
    encoded.update(tail)
    return encoded


def _status(description: str | None, code: int) -> dict[str, Any]:
    encoded: dict[str, Any] = {}
    if description:
        encoded["message"] = description
    if code:
        encoded["code"] = code
    return encoded


def _event(event: Any) -> dict[str, Any]:
    encoded: dict[str, Any] = {}
    if event.timestamp:
        encoded["timeUnixNano"] = str(event.timestamp)
    if event.name:
        encoded["name"] = event.name
    _put_attributes(encoded, event.attributes, event.dropped_attributes)
    return encoded


def _link(link: Any) -> dict[str, Any]:
    context = link.context
    encoded: dict[str, Any] = {
        "traceId": _trace_id(context.trace_id),
        "spanId": _span_id(context.span_id),
    }
    _put_attributes(encoded, link.attributes, link.dropped_attributes)
    encoded["flags"] = _flags(context)
    return encoded


def _log(readable: ReadableLogRecord) -> dict[str, Any]:
    record = readable.log_record
    encoded: dict[str, Any] = {}
    if record.timestamp:
        encoded["timeUnixNano"] = str(record.timestamp)
    severity = getattr(record.severity_number, "value", None)
    if severity:
        encoded["severityNumber"] = severity
    if record.severity_text:
        encoded["severityText"] = record.severity_text
    encoded["body"] = _value(record.body)
    _put_attributes(encoded, record.attributes, readable.dropped_attributes)
    flags = int(record.trace_flags)  # None raises, as officially
    if flags:
        encoded["flags"] = flags
    if record.trace_id != 0:  # None raises (the caller falls back), as officially
        encoded["traceId"] = _trace_id(record.trace_id)
    if record.span_id != 0:
        encoded["spanId"] = _span_id(record.span_id)
    if record.observed_timestamp:
        encoded["observedTimeUnixNano"] = str(record.observed_timestamp)
    if record.event_name:
        encoded["eventName"] = record.event_name
    return encoded


_T = TypeVar("_T")


def group_by_resource_and_scope(
    items: Iterable[tuple[Resource, InstrumentationScope | None, _T]],
) -> dict[Resource, dict[InstrumentationScope | None, list[_T]]]:
    """Items by resource, then scope, in first-seen order, as the official encoder groups.

    The dicts are keyed by the SDK objects themselves.

    Example:
        >>> resource = Resource.create({})
        >>> grouped = group_by_resource_and_scope([(resource, None, 1), (resource, None, 2)])
        >>> grouped[resource][None]
        [1, 2]
    """
    grouped: dict[Resource, dict[InstrumentationScope | None, list[_T]]] = {}
    last_resource: Resource | None = None
    last_scope: InstrumentationScope | None = None
    last: list[_T] | None = None
    for resource, scope, item in items:
        # The same objects as the previous item land in the same list: skip the lookups
        # (hashing a Resource JSON-dumps its attributes).
        if last is None or resource is not last_resource or scope is not last_scope:
            last = grouped.setdefault(resource, {}).setdefault(scope, [])
            last_resource, last_scope = resource, scope
        last.append(item)
    return grouped


def _request(
    items: Iterable[tuple[Resource, InstrumentationScope | None, dict[str, Any]]],
    signal: str,
    field: str,
) -> dict[str, Any]:
    """The export request of encoded items, grouped as the encoder groups them."""
    grouped = group_by_resource_and_scope(items)
    if not grouped:
        return {}
    resources = []
    for resource, scopes in grouped.items():
        scoped = []
        for scope, encoded in scopes.items():
            entry: dict[str, Any] = {"scope": _scope(scope), field: encoded}
            if scope is not None and scope.schema_url:
                entry["schemaUrl"] = scope.schema_url
            scoped.append(entry)
        outer: dict[str, Any] = {"resource": _resource(resource), f"scope{signal}": scoped}
        if resource.schema_url:
            outer["schemaUrl"] = resource.schema_url
        resources.append(outer)
    return {f"resource{signal}": resources}


def spans_to_otlp_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """``to_otlp_json(encode_spans(spans))``, built without protobuf (``{}`` for no spans).

    Example:
        >>> spans_to_otlp_json([])
        {}
    """
    return _request(
        ((span.resource, span.instrumentation_scope or None, _span(span)) for span in spans),
        "Spans",
        "spans",
    )


def logs_to_otlp_json(records: Sequence[ReadableLogRecord]) -> dict[str, Any]:
    """``to_otlp_json(encode_logs(records))``, built without protobuf (``{}`` for none).

    Example:
        >>> logs_to_otlp_json([])
        {}
    """
    return _request(
        (
            (record.resource, record.instrumentation_scope or None, _log(record))
            for record in records
        ),
        "Logs",
        "logRecords",
    )


# One span's, resource's and scope's JSON object, for the spans encoded as they end
# (``_prepared``), which stitches their dumps into the same line.
encode_span = _span
encode_resource = _resource
encode_scope = _scope
