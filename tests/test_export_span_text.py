"""A span's JSON text with its attributes written as text: byte for byte the encoder's dump.

``span_text`` is what the embedded default and ``http/json`` queue for each ended span
(``_export/_prepared.py``); it must be exactly ``ENCODER.encode(encode_span(span))``, which
``tests/test_export_otlp_json.py`` ties to the official line.
"""

from __future__ import annotations

import enum
from typing import Any

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from langchain_otel._export import _otlp_json, _span_text
from langchain_otel._export._otlp_json import encode_span
from langchain_otel._export._span_text import ENCODER, attributes_text, span_text
from tests.test_export_otlp_json import (
    _SPAN_ATTRIBUTES,
    _TEXT,
    RANDOM,
    RANDOM_SPANS,
    REMOTE,
    _zoo,
    random_spans,
)


def _same(span: ReadableSpan) -> None:
    assert span_text(span) == ENCODER.encode(encode_span(span))


def test_every_span_field() -> None:
    """The zoo: limits hit, events, links, statuses, every attribute type."""
    for span in _zoo():
        _same(span)


@RANDOM
@given(arguments=RANDOM_SPANS)
def test_random_spans(arguments: dict[str, Any]) -> None:
    """Random keys and values (out-of-range ints, NaN, nested sequences, any text)."""
    for span in random_spans(**arguments):
        _same(span)


class _Colour(str, enum.Enum):
    RED = "red"


class _Level(enum.IntEnum):
    HIGH = 3


@pytest.mark.parametrize(
    "value",
    [
        _Colour.RED,  # a str subclass: the official isinstance chain, as the dict encoder
        _Level.HIGH,
        True,
        False,
        0,
        -(2**63),
        2**63 - 1,
        -0.0,
        1e20,
        float("nan"),
        float("-inf"),
        'quote " backslash \\ newline \n tab \t nul \x00 é 漢 🙂',
        b"\x00\xff",
        (),
        ["a", None, 1],
        None,
    ],
)
def test_each_value_as_the_encoder_writes_it(value: Any) -> None:
    span = ReadableSpan(name="v", context=REMOTE, attributes={"k": value, "": value})
    _same(span)


def test_no_attributes() -> None:
    _same(ReadableSpan(name="bare", context=REMOTE))
    assert attributes_text({}) == ""


def test_an_unencodable_value_is_left_out_and_logged_once(monkeypatch: Any) -> None:
    monkeypatch.setattr(_otlp_json._DropLog, "logged", False)
    with structlog.testing.capture_logs() as logs:
        text = attributes_text({"big": 2**64, "ok": 1, "bigger": 2**65})
    assert text == '{"key":"ok","value":{"intValue":"1"}}'
    assert [entry["event"] for entry in logs] == ["telemetry.attribute_dropped"]


def test_the_key_prefixes_are_bounded(monkeypatch: Any) -> None:
    """Past the bound a key is encoded each time, and still correctly."""
    monkeypatch.setattr(_span_text, "_KEY_PREFIXES", {"": '{"value":'})
    monkeypatch.setattr(_span_text, "KEY_PREFIXES_MAX", 3)
    many = ReadableSpan(name="many", context=REMOTE, attributes={f'k"{i}': i for i in range(10)})
    for _ in range(2):
        _same(many)
    assert len(_span_text._KEY_PREFIXES) == 1 + 3


def _context(trace_id: int, span_id: int, *, remote: bool = False) -> SpanContext:
    return SpanContext(trace_id, span_id, is_remote=remote, trace_flags=TraceFlags(1))


PLAIN_SPANS = st.fixed_dictionaries(
    {
        "name": _TEXT,
        "attributes": _SPAN_ATTRIBUTES,
        "kind": st.sampled_from(SpanKind),
        "trace_id": st.sampled_from([0, 1, 2**127, 2**128 - 1]) | st.integers(0, 2**128 - 1),
        "span_id": st.sampled_from([0, 1, 2**64 - 1]) | st.integers(0, 2**64 - 1),
        "parent": st.none() | st.tuples(st.integers(0, 2**64 - 1), st.booleans()),
        "times": st.tuples(st.sampled_from([None, 0, 1, 2**63 - 1]), st.none() | st.integers(0)),
        "status": st.sampled_from(StatusCode),
        "description": st.none() | _TEXT,
    }
)
"""Spans with no events, links, drops or trace state: the ones written as text whole."""


@RANDOM
@given(arguments=PLAIN_SPANS)
def test_random_plain_spans_are_written_as_text_whole(arguments: dict[str, Any]) -> None:
    """What the handler ends: every field of the whole-text path, as the encoder writes it."""
    parent = arguments["parent"]
    start, end = arguments["times"]
    span = ReadableSpan(
        name=arguments["name"],
        context=_context(arguments["trace_id"], arguments["span_id"]),
        parent=None if parent is None else _context(7, parent[0], remote=parent[1]),
        attributes=arguments["attributes"],
        kind=arguments["kind"],
        start_time=start,
        end_time=end,
        status=Status(arguments["status"], arguments["description"]),
    )

    def no_parts(span: ReadableSpan) -> str:
        raise AssertionError("the whole-text path was expected")

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(_span_text, "_parts_text", no_parts)
        text = span_text(span)
    assert text == ENCODER.encode(encode_span(span))


@pytest.mark.parametrize(
    ("trace_id", "span_id", "parent_id"),
    [(2**128, 1, None), (-1, 1, None), (1, 2**64, None), (1, -1, None), (1, 1, 2**64)],
)
def test_ids_out_of_range_raise_as_the_dict_encoder_does(
    trace_id: int, span_id: int, parent_id: int | None
) -> None:
    """The caller then takes the official path, which decides."""
    parent = None if parent_id is None else _context(1, parent_id)
    span = ReadableSpan(name="odd", context=_context(trace_id, span_id), parent=parent)
    with pytest.raises(OverflowError):
        encode_span(span)
    with pytest.raises(OverflowError):
        span_text(span)
