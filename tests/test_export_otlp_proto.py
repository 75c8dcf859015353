"""``http/protobuf`` traces: prepared protobuf spans stitch into the official request's bytes.

Every check compares with ``encode_spans(spans).SerializeToString()``, the bytes the official
``OTLPSpanExporter`` posts; the exporter itself is checked against a real HTTP receiver on
127.0.0.1 (the one of ``tests/test_export_otlp_http_json.py``) and through ``configure()``.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan

import langchain_otel
from langchain_otel._export._otlp_http_proto import otlp_proto_span_exporter
from langchain_otel._export._otlp_proto import ProtoSpan, prepare_proto, proto_request, proto_span
from tests.test_export_otlp_http_json import Receiver, _spans
from tests.test_export_otlp_http_json import receiver as receiver  # noqa: PLC0414 - the fixture
from tests.test_export_otlp_json import (
    RANDOM,
    RANDOM_SPANS,
    _provider,
    _two_resources_two_scopes,
    _zoo,
    random_spans,
)


def _official(spans: Sequence[ReadableSpan]) -> bytes:
    return bytes(encode_spans(spans).SerializeToString())


def _assert_same_bytes(spans: Sequence[ReadableSpan]) -> None:
    """Prepared one by one and stitched, or encoded in the batch: the official bytes."""
    prepared = [prepare_proto(span) for span in spans]
    assert all(type(item) is ProtoSpan for item in prepared)
    assert proto_request(prepared) == _official(spans)
    assert proto_request(spans) == _official(spans)


def test_every_span_field_matches_the_official_bytes() -> None:
    """Two resources, four scopes, every attribute type and field: the same bytes."""
    spans = _zoo()
    _assert_same_bytes(spans)
    for span in spans:  # and one span at a time
        _assert_same_bytes([span])


def test_resources_and_scopes_interleaved() -> None:
    """Schema URLs on resources and scopes, spans grouped in first-seen order."""
    _assert_same_bytes(_two_resources_two_scopes())


def test_the_fast_encoder_writes_the_usual_spans_itself() -> None:
    """The usual values are ours, not the fallback's: the zoo's spans without its odd values."""
    fallback = []
    for span in _zoo():
        try:
            proto_span(span)
        except (TypeError, ValueError) as error:
            fallback.append((span.name, type(error).__name__))
    # Only the root (integers outside int64 and a mapping-free zoo of the rest) falls back.
    assert fallback == [("root ünïcode", "ValueError")]
    for name, attributes in (
        ("chat m", {"gen_ai.request.model": "m", "n": 3, "neg": -5, "f": 0.5, "ok": True}),
        ("seq", {"l": ["a", "b"], "li": (1, 2), "e": [], "none": [None, "x"], "b": b"\x00"}),
    ):
        provider, memory = _provider(Resource.create({}))
        provider.get_tracer("t").start_span(name, attributes=attributes).end()
        (span,) = memory.get_finished_spans()
        assert proto_span(span) == _official([span])[-len(proto_span(span)) :]
        _assert_same_bytes([span])


def test_a_lone_surrogate_takes_the_official_encoder() -> None:
    """What the fast path refuses is the official encoder's to decide, for that span only."""
    provider, memory = _provider(Resource.create({}))
    tracer = provider.get_tracer("t")
    for attributes in ({"a": 1}, {"map.like": "\ud800"}, {"c": 3}):
        tracer.start_span("s", attributes=attributes).end()
    spans = memory.get_finished_spans()
    with pytest.raises(UnicodeEncodeError):
        proto_span(spans[1])
    prepared = [prepare_proto(span) for span in spans]
    try:
        expected = _official(spans)
    except Exception:  # protobuf refuses invalid UTF-8 too: that span is queued as it is
        assert [type(item) for item in prepared] == [ProtoSpan, ReadableSpan, ProtoSpan]
        assert proto_request(prepared) == _official([spans[0], spans[2]])
    else:
        assert proto_request(prepared) == expected


def test_no_spans_is_no_request() -> None:
    assert proto_request([]) == b"" == _official([])


@RANDOM
@given(arguments=RANDOM_SPANS)
def test_random_spans_match_the_official_bytes(arguments: dict[str, Any]) -> None:
    """Random names, attribute values, events, links and statuses: the same bytes."""
    _assert_same_bytes(random_spans(**arguments))


# -- the exporter, on the wire ------------------------------------------------------------


def test_the_exporter_posts_the_official_request(receiver: Receiver) -> None:
    """Prepared spans, as configure() queues them: the official bytes, protobuf content type."""
    spans = _spans()
    exporter = otlp_proto_span_exporter(receiver.url("traces"), compression="gzip")
    try:
        assert exporter.export([prepare_proto(span) for span in spans]).name == "SUCCESS"
    finally:
        exporter.shutdown()
    (request,) = receiver.requests
    assert request.path == "/v1/traces"
    assert request.headers["content-type"] == "application/x-protobuf"
    assert request.headers["content-encoding"] == "gzip"
    assert gzip.decompress(request.body) == _official(spans)
    assert exporter.export(spans).name == "FAILURE"  # shut down


def test_a_partial_success_is_logged(receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    """The backend's protobuf answer names rejected spans: logged, not retried."""
    answer = ExportTraceServiceResponse(
        partial_success=ExportTracePartialSuccess(rejected_spans=2, error_message="too old")
    ).SerializeToString()
    receiver.payload = answer
    exporter = otlp_proto_span_exporter(receiver.url("traces"), timeout=2)
    with caplog.at_level(logging.WARNING, "langchain_otel._export._otlp_http"):
        assert exporter.export(_spans()).name == "SUCCESS"
    exporter.shutdown()
    assert len(receiver.requests) == 1
    (message,) = [r.getMessage() for r in caplog.records if "partly rejected" in r.getMessage()]
    assert "2 item(s) rejected; too old" in message


def test_configure_sends_http_protobuf_traces_prepared(receiver: Receiver) -> None:
    """The default protocol: configure() queues protobuf bytes and posts the official request."""
    telemetry = langchain_otel.configure(
        exporter="otlp",
        endpoint=receiver.base,
        metrics_exporter="none",
        logs_exporter="none",
        set_global=False,
    )
    try:
        (processor,) = telemetry.tracer_provider._active_span_processor._span_processors  # type: ignore[attr-defined]
        queued: list[Any] = []
        emit = processor._emit

        def spy(item: Any) -> None:
            queued.append(item)
            emit(item)

        processor._emit = spy
        tracer = telemetry.tracer_provider.get_tracer("t")
        with tracer.start_as_current_span("parent"):
            tracer.start_span("child").end()
        assert telemetry.force_flush(5_000)
    finally:
        langchain_otel.shutdown()
    assert [type(item) for item in queued] == [ProtoSpan, ProtoSpan]
    (request,) = [r for r in receiver.requests if r.path == "/v1/traces"]
    assert request.headers["content-type"] == "application/x-protobuf"
    assert request.body == proto_request(queued)
