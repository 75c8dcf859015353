"""Our encoders read a span's collections without the SDK's copies, and only where that is safe.

``span_collections`` takes the SDK's containers as they are for an exact ``ReadableSpan``
(what ``Span.end()`` gives processors) and the public properties for anything else; both
encoders must give the official bytes / line either way.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from langchain_otel._export import _otlp_proto
from langchain_otel._export._otlp_proto import proto_request
from langchain_otel._export._span_fields import span_collections
from tests.test_export_otlp_json import REMOTE, _assert_same_spans, _zoo


def _public(span: ReadableSpan) -> tuple[Any, ...]:
    return (
        dict(span.attributes or {}),
        span.dropped_attributes,
        list(span.events),
        span.dropped_events,
        list(span.links),
        span.dropped_links,
    )


def _read(span: ReadableSpan) -> tuple[Any, ...]:
    attributes, dropped_attributes, events, dropped_events, links, dropped_links = span_collections(
        span
    )
    return (
        dict(attributes),
        dropped_attributes,
        list(events),
        dropped_events,
        list(links),
        dropped_links,
    )


def test_ended_sdk_spans_are_read_as_the_public_properties_give() -> None:
    """Limits hit (dropped attributes, events, links), events, links, an unstarted span."""
    spans = _zoo()
    assert any(span.dropped_attributes and span.dropped_events for span in spans)
    for span in spans:
        assert type(span) is ReadableSpan
        assert _read(span) == _public(span)


class _OwnSpan(ReadableSpan):
    """A processor's own span type: its properties are what count, not the SDK's fields."""

    @property
    def attributes(self) -> Any:
        return {"from": "property"}


def _hand_built(cls: type[ReadableSpan] = ReadableSpan) -> ReadableSpan:
    """A span built by hand: plain dict attributes, tuples of events and links."""
    return cls(
        name="by hand",
        context=REMOTE,
        kind=SpanKind.CLIENT,
        attributes={"n": 2, "names": ("a", "b")},
        links=(Link(REMOTE, {"why": "retry"}),),
        status=Status(StatusCode.ERROR, "no"),
        start_time=1,
        end_time=2,
    )


def test_other_spans_are_read_through_their_properties() -> None:
    """A hand-built ReadableSpan and a subclass: the public properties' values."""
    built = _hand_built()
    assert _read(built) == _public(built)
    own = _hand_built(_OwnSpan)
    assert _read(own)[0] == {"from": "property"}


def test_both_encoders_match_the_official_encoding_of_hand_built_spans() -> None:
    """The property path gives the official bytes and line too."""
    spans = [_hand_built(), _hand_built(_OwnSpan)]
    assert proto_request(spans) == encode_spans(spans).SerializeToString()
    _assert_same_spans(spans)


def test_the_key_cache_is_bounded(monkeypatch: Any) -> None:
    """Unbounded key sets are encoded each time past the bound, and still correctly."""
    monkeypatch.setattr(_otlp_proto, "_KEY_FIELDS", {})
    monkeypatch.setattr(_otlp_proto, "KEY_FIELDS_MAX", 3)
    span = _hand_built()
    many = ReadableSpan(name="many", context=REMOTE, attributes={f"k{i}": i for i in range(10)})
    for _ in range(2):
        assert proto_request([span, many]) == encode_spans([span, many]).SerializeToString()
    assert len(_otlp_proto._KEY_FIELDS) == 3
