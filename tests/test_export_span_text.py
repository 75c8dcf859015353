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
from opentelemetry.sdk.trace import ReadableSpan

from langchain_otel._export import _otlp_json, _span_text
from langchain_otel._export._otlp_json import encode_span
from langchain_otel._export._span_text import ENCODER, attributes_text, span_text
from tests.test_export_otlp_json import RANDOM, RANDOM_SPANS, REMOTE, _zoo, random_spans


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
