"""The fast OTLP JSON encoder writes byte-for-byte the official encoders' line."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)
from structlog.testing import capture_logs

from langchain_otel._export._counting import CountingBatchSpanProcessor, DropCounter
from langchain_otel._export._jsonl import JsonlLogExporter, JsonlSpanExporter, to_otlp_json
from langchain_otel._export._otlp_json import logs_to_otlp_json, spans_to_otlp_json
from langchain_otel._export._prepared import PreparedSpan, prepare, prepared_line

REMOTE = SpanContext(
    trace_id=0x0AF7651916CD43DD8448EB211C80319C,
    span_id=0xB7AD6B7169203331,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("vendor", "opaque=1"), ("rojo", "00f067aa0ba902b7")]),
)
FLOATS = (0.1, 1e20, -0.0, 0.0, float("nan"), float("inf"), float("-inf"), 5e-324, 1 / 3)
EVERY_TYPE: dict[str, Any] = {
    "str": 'échø 🦜 "quoted" \\ \n\t\x00\u2028',
    "empty.str": "",
    "bool.true": True,
    "bool.false": False,
    "int.zero": 0,
    "int.min": -(2**63),
    "int.max": 2**63 - 1,
    "int.huge": 2**64,  # outside int64: the official encoder leaves it out
    "int.negative.huge": -(2**63) - 1,
    **{f"float.{index}": value for index, value in enumerate(FLOATS)},
    "seq.str": ("a", "", "ü"),
    "seq.bool": [True, False],
    "seq.int": [1, -2, 2**63 - 1],
    "seq.int.huge": [1, 2**70],  # the whole attribute is left out
    "seq.float": list(FLOATS),
    "seq.none": [None, "x", None],
    "seq.empty": [],
    "bytes.utf8": b"decoded by the SDK",
}


def _line(request: dict[str, Any]) -> str:
    return json.dumps(request, separators=(",", ":"), ensure_ascii=False)


def _same_line(
    fast: Callable[[Any], dict[str, Any]], official: Callable[[Any], Any], batch: Any
) -> None:
    """The fast request dumps to exactly the official line, or both refuse the batch."""
    try:
        expected = _line(to_otlp_json(official(batch)))
    except Exception:
        with pytest.raises(ValueError):  # noqa: PT011 - the official ValueError varies
            fast(batch)
        return
    assert _line(fast(batch)) == expected


def _assert_same_spans(spans: Sequence[ReadableSpan]) -> None:
    _same_line(spans_to_otlp_json, encode_spans, spans)
    prepared = [prepare(span) for span in spans]
    if all(isinstance(item, PreparedSpan) for item in prepared):  # encoded as they end
        assert prepared_line(prepared) == (_line(spans_to_otlp_json(spans)) + "\n").encode()


def _assert_same_logs(records: Sequence[ReadableLogRecord]) -> None:
    _same_line(logs_to_otlp_json, encode_logs, records)


def _provider(resource: Resource, **limits: Any) -> tuple[TracerProvider, InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=resource, span_limits=SpanLimits(**limits))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return provider, memory


def _zoo() -> list[ReadableSpan]:
    """Spans of two resources and four scopes, interleaved, with every field set somewhere."""
    first, first_memory = _provider(Resource.create({"service.name": "one", "n": 1}))
    second, second_memory = _provider(
        Resource({"service.name": "two", "ratio": 0.5}, schema_url="https://example.com/r/1"),
        max_attributes=4,
        max_events=1,
        max_links=1,
        max_event_attributes=1,
        max_link_attributes=1,
    )
    scoped = first.get_tracer(
        "scoped", "1.2.3", schema_url="https://opentelemetry.io/schemas/1.37.0", attributes={"a": 1}
    )
    bare = first.get_tracer("")
    other = second.get_tracer("other", "0.1")
    remote = set_span_in_context(NonRecordingSpan(REMOTE))
    with scoped.start_as_current_span(
        "root ünïcode", context=remote, kind=SpanKind.SERVER, attributes=EVERY_TYPE
    ) as root:
        root.add_event("event", {"at": 1.5, "names": ("x", "y")}, timestamp=1_000)
        root.add_event("")
        root.set_status(Status(StatusCode.ERROR, "boom: ünïcode"))
        for kind in SpanKind:
            with bare.start_as_current_span(f"kind {kind.name}", kind=kind) as child:
                child.set_status(StatusCode.OK)
        with other.start_as_current_span(
            "",
            links=[Link(REMOTE, {"why": "retry", "n": 2}), Link(root.get_span_context())],
            attributes={f"k{index}": index for index in range(9)},
        ) as limited:
            for index in range(3):
                limited.add_event(f"e{index}", {"a": 1, "b": 2})
        with scoped.start_as_current_span("error without message") as failed:
            failed.record_exception(RuntimeError("it broke"))
            failed.set_status(StatusCode.ERROR)
    unfinished = ReadableSpan(name="never started", context=REMOTE, parent=REMOTE)
    spans = [*first_memory.get_finished_spans(), *second_memory.get_finished_spans()]
    spans.sort(key=lambda span: span.end_time or 0)  # interleave the two resources
    return [*spans, unfinished]


def test_every_span_field_matches_the_official_line() -> None:
    """Two resources, four scopes, every attribute type and field: the same line."""
    spans = _zoo()
    request = spans_to_otlp_json(spans)
    assert len(request["resourceSpans"]) == 3  # two providers, plus the bare ReadableSpan's
    _assert_same_spans(spans)
    for span in spans:  # and one span at a time
        _assert_same_spans([span])


def test_the_zoo_really_sets_the_rare_fields() -> None:
    """The fields the fixture is there for are really in the line (it is not vacuous)."""
    line = _line(spans_to_otlp_json(_zoo()))
    state = ",".join(f"{key}={value}" for key, value in REMOTE.trace_state.items())
    for field in (
        f'"traceState":"{state}"',
        '"flags":768',
        '"droppedAttributesCount"',
        '"droppedEventsCount"',
        '"droppedLinksCount"',
        '"schemaUrl":"https://example.com/r/1"',
        '"doubleValue":"NaN"',
        '"doubleValue":"-Infinity"',
        '"doubleValue":1e+20',
        '"doubleValue":-0.0',
        '"arrayValue":{}',
        '"status":{"message":"boom: ünïcode","code":2}',
        '"scope":{}',
    ):
        assert field in line
    assert '"int.huge"' not in line
    assert '"seq.int.huge"' not in line


def test_an_unencodable_attribute_is_logged_once() -> None:
    """An integer OTLP cannot carry is left out, logged once per process at most."""
    from langchain_otel._export import _otlp_json

    _otlp_json._DropLog.logged = False
    with capture_logs() as logs:
        spans_to_otlp_json(_zoo())
        spans_to_otlp_json(_zoo())
    assert [log["event"] for log in logs] == ["telemetry.attribute_dropped"]
    assert logs[0]["key"] == "int.huge"


def test_no_spans_is_an_empty_request() -> None:
    """Like the official path: an empty object, which the exporter does not write."""
    assert spans_to_otlp_json([]) == to_otlp_json(encode_spans([])) == {}
    assert logs_to_otlp_json([]) == to_otlp_json(encode_logs([])) == {}


# SDK-valid span attribute values: scalars and homogeneous sequences (None allowed inside).
_INTS = st.integers(min_value=-(2**64), max_value=2**64)
_TEXT = st.text(max_size=12)
_SCALARS: list[st.SearchStrategy[Any]] = [_TEXT, st.booleans(), _INTS, st.floats()]
_SPAN_VALUES = st.one_of(
    *_SCALARS,
    *(st.lists(st.none() | scalar, max_size=4) for scalar in _SCALARS),
    *(st.tuples(scalar, scalar) for scalar in _SCALARS),
)
_SPAN_ATTRIBUTES = st.dictionaries(st.text(min_size=1, max_size=8), _SPAN_VALUES, max_size=6)


def random_spans(
    attributes: dict[str, Any],
    event_attributes: dict[str, Any],
    name: str,
    description: str | None,
    remote: bool,
) -> Sequence[ReadableSpan]:
    """A parent (with an event and a status) and a linked child, from hypothesis' values."""
    provider, memory = _provider(Resource.create({"r": name}))
    tracer = provider.get_tracer(name, name or None)
    context = set_span_in_context(NonRecordingSpan(REMOTE)) if remote else None
    with tracer.start_as_current_span(name, context=context, attributes=attributes) as span:
        span.add_event(name, event_attributes)
        span.set_status(StatusCode.ERROR if description is not None else StatusCode.OK)
        if description is not None:
            span.set_status(Status(StatusCode.ERROR, description))
        with tracer.start_as_current_span("child", links=[Link(REMOTE, event_attributes)]):
            pass
    return memory.get_finished_spans()


RANDOM_SPANS = st.fixed_dictionaries(
    {
        "attributes": _SPAN_ATTRIBUTES,
        "event_attributes": _SPAN_ATTRIBUTES,
        "name": _TEXT,
        "description": st.none() | _TEXT,
        "remote": st.booleans(),
    }
)
"""The arguments of ``random_spans`` (spans are made in the test: ids use ``random``)."""
RANDOM = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@RANDOM
@given(arguments=RANDOM_SPANS)
def test_random_spans_match_the_official_line(arguments: dict[str, Any]) -> None:
    """Random names, attribute values and statuses: the same line."""
    _assert_same_spans(random_spans(**arguments))


def _logged(emit: Callable[[Any], None]) -> list[ReadableLogRecord]:
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=Resource({"service.name": "logs"}, "https://x/2"))
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    emit(provider)
    return list(memory.get_finished_logs())


def test_every_log_field_matches_the_official_line() -> None:
    """Bodies of every shape, severities, trace context, event names: the same line."""
    tracer_provider, _ = _provider(Resource.create({}))

    def emit(provider: Any) -> None:
        scoped = provider.get_logger("scoped", "2.0", "https://x/s", {"scope": True})
        bare = provider.get_logger("")
        bare.emit(body=None)
        scoped.emit(
            body={"a": [1, {"b": b"\x00\xff"}], "": 2.5, "nan": float("nan")},
            severity_number=SeverityNumber.WARN,
            severity_text="WARN",
            attributes={"k": {"n": 1}, "l": [1, 2], "huge": 2**65, "bytes": b"", "s": "ü"},
            event_name="gen_ai.client.inference.operation.details",
            timestamp=5,
        )
        with tracer_provider.get_tracer("t").start_as_current_span("inside"):
            bare.emit(body="in a span", severity_number=SeverityNumber.ERROR)
        scoped.emit(body=[True, None, "x", 7, -0.0, b"raw"], observed_timestamp=9)

    records = _logged(emit)
    line = _line(logs_to_otlp_json(records))
    assert '"traceId"' in line
    assert '{"value":{"doubleValue":2.5}}' in line  # the empty key is left out
    assert '"bytesValue":"AP8="' in line
    _assert_same_logs(records)
    for record in records:
        _assert_same_logs([record])


_ANY_SCALAR = st.none() | st.booleans() | _INTS | st.floats() | _TEXT | st.binary(max_size=6)
_ANY_VALUE = st.recursive(
    _ANY_SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_ANY_VALUE, attributes=st.dictionaries(_TEXT, _ANY_VALUE, max_size=4))
def test_random_log_records_match_the_official_line(body: Any, attributes: dict[str, Any]) -> None:
    """Random bodies and (extended) attributes, nested lists and maps: the same line."""
    records = _logged(
        lambda provider: provider.get_logger("r").emit(body=body, attributes=attributes)
    )
    _assert_same_logs(records)


def _read(path: Path) -> list[str]:
    # Not splitlines(): it also splits at U+2028, which JSON leaves unescaped in a string.
    return path.read_bytes().decode("utf-8").split("\n")[:-1]


def test_the_span_exporter_writes_the_official_line(tmp_path: Path) -> None:
    """JsonlSpanExporter's line is the official line (the fast path is the one in use)."""
    spans = _zoo()
    path = tmp_path / "traces.jsonl"
    assert JsonlSpanExporter(path).export(spans).name == "SUCCESS"
    assert _read(path) == [_line(to_otlp_json(encode_spans(spans)))]


def test_the_log_exporter_writes_the_official_line(tmp_path: Path) -> None:
    """JsonlLogExporter's line is the official line."""
    records = _logged(lambda provider: provider.get_logger("x").emit(body={"k": [1, "v"]}))
    path = tmp_path / "logs.jsonl"
    assert JsonlLogExporter(path).export(records).name == "SUCCESS"
    assert _read(path) == [_line(to_otlp_json(encode_logs(records)))]


def test_a_lone_surrogate_falls_back_to_the_official_encoder(tmp_path: Path) -> None:
    """The official encoder drops an attribute with a lone surrogate; the line does too."""
    provider, memory = _provider(Resource.create({}))
    provider.get_tracer("t").start_span("s", attributes={"bad": "\ud800", "good": 1}).end()
    spans = memory.get_finished_spans()
    path = tmp_path / "traces.jsonl"
    assert JsonlSpanExporter(path).export(spans).name == "SUCCESS"
    (line,) = _read(path)
    assert line == _line(to_otlp_json(encode_spans(spans)))
    assert '"good"' in line
    assert '"bad"' not in line


def test_a_batch_neither_encoder_can_write_is_a_failed_export(tmp_path: Path) -> None:
    """A span name with a lone surrogate fails the export (as before), without raising."""
    provider, memory = _provider(Resource.create({}))
    provider.get_tracer("t").start_span("\udc80").end()
    path = tmp_path / "traces.jsonl"
    assert JsonlSpanExporter(path).export(memory.get_finished_spans()).name == "FAILURE"
    assert not path.exists()


# -- spans encoded as they end (the embedded default's queue, _export/_prepared.py) -------


def _two_resources_two_scopes() -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    for resource in (Resource.create({"r": "a"}), Resource.create({"r": "b"}, "https://r/1")):
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(SimpleSpanProcessor(memory))
        for scope, schema in (("s1", None), ("s2", "https://s/1")):
            tracer = provider.get_tracer(scope, "1.0", schema_url=schema)
            with tracer.start_as_current_span("parent", attributes={"n": 1}) as span:
                span.add_event("e", {"k": True})
                tracer.start_span("child").end()
    return list(memory.get_finished_spans())


def test_prepared_spans_stitch_into_the_official_line(tmp_path: Path) -> None:
    """Resources and scopes interleaved, schema URLs, the zoo: the exporter's line is official."""
    for spans in (_two_resources_two_scopes(), _zoo()):
        path = tmp_path / "traces.jsonl"
        path.unlink(missing_ok=True)
        prepared = [prepare(span) for span in spans]
        assert all(isinstance(item, PreparedSpan) for item in prepared)
        assert JsonlSpanExporter(path).export(prepared).name == "SUCCESS"  # type: ignore[arg-type]
        assert _read(path) == [_line(to_otlp_json(encode_spans(spans)))]


def test_a_span_the_fast_path_refuses_is_queued_as_it_is(tmp_path: Path) -> None:
    """A lone surrogate: that span stays a span, and its run of the batch is a line of its own."""
    provider, memory = _provider(Resource.create({}))
    tracer = provider.get_tracer("t")
    for attributes in ({"a": 1}, {"bad": "\ud800"}, {"c": 3}):
        tracer.start_span("s", attributes=attributes).end()
    spans = memory.get_finished_spans()
    batch = [prepare(span) for span in spans]
    assert [isinstance(item, PreparedSpan) for item in batch] == [True, False, True]
    path = tmp_path / "traces.jsonl"
    assert JsonlSpanExporter(path).export(batch).name == "SUCCESS"  # type: ignore[arg-type]
    assert _read(path) == [_line(to_otlp_json(encode_spans([span]))) for span in spans]


class _Capture(SpanExporter):
    def __init__(self) -> None:
        self.batches: list[list[Any]] = []

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        self.batches.append(list(spans))
        return SpanExportResult.SUCCESS


def test_the_embedded_processor_queues_prepared_spans() -> None:
    """Sampled spans are queued encoded; unsampled ones not at all; a failing prepare: the span."""
    capture = _Capture()

    def flaky(span: ReadableSpan) -> Any:
        if span.name == "refused":
            raise ValueError(span.name)
        return prepare(span)

    processor = CountingBatchSpanProcessor(capture, DropCounter(), prepare=flaky)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("t")
    tracer.start_span("kept").end()
    tracer.start_span("refused").end()
    unsampled = set_span_in_context(NonRecordingSpan(SpanContext(1, 2, is_remote=True)))
    tracer.start_span("unsampled", context=unsampled).end()
    provider.shutdown()
    (batch,) = capture.batches
    assert [type(item) for item in batch] == [PreparedSpan, ReadableSpan]
    assert json.loads(batch[0].text)["name"] == "kept"
    assert batch[1].name == "refused"


def test_configure_queues_the_embedded_files_prepared(tmp_path: Path) -> None:
    """configure()'s span processor for the embedded files queues prepared spans."""
    from langchain_otel._config_build import build
    from langchain_otel._settings import resolve

    providers = build(resolve({"directory": str(tmp_path)}))
    try:
        (processor,) = providers.tracer_provider._active_span_processor._span_processors  # type: ignore[attr-defined]
        assert processor._prepare is prepare
        assert processor._emit is not None
    finally:
        providers.tracer_provider.shutdown()  # type: ignore[attr-defined]
        providers.meter_provider.shutdown()  # type: ignore[attr-defined]
        providers.logger_provider.shutdown()  # type: ignore[attr-defined]
