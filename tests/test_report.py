"""langchain-otel report: per-model numbers from spans made with the real SDK."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from langchain_otel._export._jsonl import JsonlSpanExporter
from langchain_otel._report import load_report, percentile, render_html, render_text, summarize

_NS = 1_000_000_000


def _model_span(
    tracer: Any,
    *,
    model: str,
    start: float,
    duration: float,
    outcome: str = "ok",
    ttft: float | None = None,
    tokens: tuple[int, int] = (10, 20),
    cost: float | None = 0.001,
    operation: str = "text_completion",
) -> None:
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": "echo",
        "gen_ai.request.model": model,
        "gen_ai.usage.input_tokens": tokens[0],
        "gen_ai.usage.output_tokens": tokens[1],
        "langchain_otel.outcome": outcome,
    }
    if ttft is not None:
        attributes["gen_ai.request.stream"] = True
        attributes["gen_ai.response.time_to_first_chunk"] = ttft
    if cost is not None:
        attributes["langchain_otel.cost.total"] = cost
    begin = int((1_800_000_000 + start) * _NS)
    span = tracer.start_span(
        f"{operation} {model}", kind=SpanKind.CLIENT, attributes=attributes, start_time=begin
    )
    if outcome == "error":
        span.set_attribute("error.type", "builtins.ConnectionError")
        span.set_status(StatusCode.ERROR, "boom")
    span.end(end_time=begin + int(duration * _NS))


@pytest.fixture
def telemetry_dir(tmp_path: Path) -> Path:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(tmp_path / "traces.jsonl")))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("RunnableSequence"):  # a chain span: not a model span
        for i in range(10):
            _model_span(
                tracer, model="echo-small", start=i, duration=0.1 * (i + 1), ttft=0.01 * (i + 1)
            )
    _model_span(
        tracer,
        model="echo-small",
        start=20,
        duration=5.0,
        outcome="error",
        cost=None,
        tokens=(7, 0),
    )
    _model_span(tracer, model="echo-large", start=21, duration=2.0, outcome="cancelled", cost=0.5)
    _model_span(tracer, model="echo-large", start=22, duration=1.0, operation="chat", cost=0.25)
    provider.shutdown()
    return tmp_path


def test_per_model_numbers(telemetry_dir: Path) -> None:
    """Requests, errors, cancelled, percentiles, tokens and cost per model match the spans."""
    report = load_report(telemetry_dir)
    assert report.other_spans == 1
    assert report.skipped_lines == 0
    large, small, total = summarize(report.records)
    assert (small.model, small.requests, small.errors, small.cancelled) == ("echo-small", 11, 1, 0)
    assert (large.model, large.requests, large.errors, large.cancelled) == ("echo-large", 2, 0, 1)
    assert total.requests == 13
    assert percentile(small.durations, 50) == pytest.approx(0.6)
    assert percentile(small.durations, 99) == pytest.approx(4.6)  # the failed 5 s call
    assert len(small.ttfts) == 10
    assert percentile(small.ttfts, 95) == pytest.approx(0.0955)
    assert large.ttfts == []
    assert (small.input_tokens, small.output_tokens) == (107, 200)
    assert small.cost_usd == pytest.approx(0.01)  # the failed call has no cost, not 0
    assert large.cost_usd == pytest.approx(0.75)


def test_text_table(telemetry_dir: Path) -> None:
    """The table has one line per model plus the total, values in ms."""
    text = render_text(load_report(telemetry_dir))
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["model", "requests", "errors", "cancelled"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert rows["echo-small"][1:4] == ["11", "1", "0"]
    assert rows["echo-small"][4] == "600"
    assert rows["all"][1] == "13"
    assert rows["echo-large"][-1] == "$0.750000"


def test_html_is_self_contained(telemetry_dir: Path) -> None:
    """The page has the table and three inline SVG charts, and loads nothing from outside."""
    page = render_html(load_report(telemetry_dir))
    assert page.count("<svg") == 3
    assert "Latency distribution" in page
    assert "Time to first chunk" in page
    assert "Cumulative cost over time" in page
    assert "<polyline" in page
    assert not re.search(r"(src|href)\s*=", page)
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert page.count("<tr") == 4  # header + 2 models + all
    # Every chart is well-formed SVG (parsed as XML), with a bar or line per model.
    import xml.etree.ElementTree as ET

    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(svgs) == 3
    trees = [ET.fromstring(svg) for svg in svgs]
    ns = "{http://www.w3.org/2000/svg}"
    assert trees[0].findall(f"{ns}rect")
    assert trees[1].findall(f"{ns}rect")
    assert len(trees[2].findall(f"{ns}polyline")) == 2


def test_rotated_files_and_bad_lines(telemetry_dir: Path) -> None:
    """Rotated backups are read too (oldest first); unreadable lines are skipped and counted."""
    live = telemetry_dir / "traces.jsonl"
    lines = live.read_text().splitlines()
    (telemetry_dir / "traces.jsonl.1").write_text("\n".join(lines[:5]) + "\nnot json\n")
    live.write_text("\n".join(lines[5:]) + "\n")
    report = load_report(telemetry_dir)
    assert [p.name for p in report.files] == ["traces.jsonl.1", "traces.jsonl"]
    assert len(report.records) == 13
    assert report.skipped_lines == 1


def test_missing_file(tmp_path: Path) -> None:
    """No traces.jsonl is a FileNotFoundError naming the folder."""
    with pytest.raises(FileNotFoundError, match=r"no traces\.jsonl"):
        load_report(tmp_path)


def test_spans_without_outcome_fall_back_to_status(tmp_path: Path) -> None:
    """A foreign span (no langchain_otel.outcome) with status ERROR counts as an error."""
    line = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "name": "chat gpt-4o",
                                "startTimeUnixNano": "1000000000",
                                "endTimeUnixNano": "1500000000",
                                "status": {"code": 2},
                                "attributes": [
                                    {
                                        "key": "gen_ai.operation.name",
                                        "value": {"stringValue": "chat"},
                                    },
                                    {
                                        "key": "gen_ai.response.model",
                                        "value": {"stringValue": "gpt-4o"},
                                    },
                                ],
                            }
                        ]
                    }
                ]
            }
        ]
    }
    (tmp_path / "traces.jsonl").write_text(json.dumps(line) + "\n")
    (row,) = summarize(load_report(tmp_path).records)
    assert (row.model, row.errors, row.durations) == ("gpt-4o", 1, [0.5])


# -- unreadable input (issue 16.5): skipped and counted, never a traceback -------------------


def test_invalid_utf8_and_truncated_lines_are_skipped_and_counted(telemetry_dir: Path) -> None:
    """Bytes that are not UTF-8 and a line cut mid-character are unreadable lines like any other."""
    live = telemetry_dir / "traces.jsonl"
    good = live.read_bytes()
    cut = good.splitlines()[0][:60] + "é".encode()[:1]  # cut inside a two-byte character
    live.write_bytes(b"\xff\xfe\x00garbage\n" + good + cut + b"\n" + b"\x80\n")
    report = load_report(telemetry_dir)
    assert report.skipped_lines == 3
    assert len(report.records) == 13
    assert "echo-small" in render_text(report)


def test_cli_warns_about_unreadable_lines_and_exits_0(
    telemetry_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`report` on a file with invalid UTF-8 prints the table, warns with the count, exits 0."""
    from langchain_otel._cli import main

    with (telemetry_dir / "traces.jsonl").open("ab") as f:
        f.write(b'\xc3\x28 not utf-8\n{"resourceSpans": [\n')
    assert main(["report", str(telemetry_dir)]) == 0
    captured = capsys.readouterr()
    assert "echo-small" in captured.out
    assert captured.err.strip() == "warning: skipped 2 unreadable lines"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


def _any_value() -> st.SearchStrategy[Any]:
    """OTLP AnyValue-ish dicts, with leaves of any JSON type."""
    keys = st.sampled_from(["stringValue", "intValue", "doubleValue", "boolValue", "arrayValue"])
    return st.dictionaries(keys, _JSON | st.builds(lambda v: {"values": v}, _JSON), max_size=2)


_KEYS = st.sampled_from(
    [
        "gen_ai.operation.name",
        "gen_ai.request.model",
        "gen_ai.usage.input_tokens",
        "gen_ai.response.time_to_first_chunk",
        "langchain_otel.cost.total",
        "langchain_otel.outcome",
        "error.type",
    ]
)
_SPAN = st.fixed_dictionaries(
    {},
    optional={
        "traceId": _JSON,
        "spanId": _JSON,
        "parentSpanId": _JSON,
        "name": _JSON,
        "startTimeUnixNano": _JSON | st.integers(0, 2**70).map(str),
        "endTimeUnixNano": _JSON | st.integers(-(2**70), 2**70),
        "status": st.fixed_dictionaries({}, optional={"code": _JSON, "message": _JSON}) | _JSON,
        "attributes": st.lists(
            st.fixed_dictionaries({"key": _KEYS | _JSON, "value": _any_value() | _JSON}),
            max_size=6,
        )
        | _JSON,
    },
)
_OTLP_SHAPED = st.builds(
    lambda spans, wrap: wrap(spans),
    st.lists(_SPAN | _JSON, max_size=4),
    st.sampled_from(
        [
            lambda s: {"resourceSpans": [{"scopeSpans": [{"spans": s}]}]},
            lambda s: {"resourceSpans": [{"scopeSpans": s}]},
            lambda s: {"resourceSpans": s},
            lambda s: s,
        ]
    ),
)


def _never_crashes(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "traces.jsonl").write_bytes(content)
        report = load_report(Path(folder))
        assert report.skipped_lines >= 0
        render_text(report)
        render_html(report)


@settings(max_examples=120, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=6))
def test_fuzz_random_bytes(lines: list[bytes]) -> None:
    """Random bytes never crash the reader or the renderers."""
    _never_crashes(b"\n".join(lines))


@settings(max_examples=120, deadline=None)
@given(st.lists(_OTLP_SHAPED | _JSON, min_size=1, max_size=4))
def test_fuzz_json_of_the_wrong_shape(lines: list[Any]) -> None:
    """Valid JSON shaped almost like (or nothing like) an OTLP request never crashes anything."""
    _never_crashes(b"\n".join(json.dumps(line).encode() for line in lines))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_fuzz_truncated_files(data: st.DataObject) -> None:
    """A good file cut at any byte loses at most the line it was cut in."""
    provider = TracerProvider()
    with tempfile.TemporaryDirectory() as folder:
        provider.add_span_processor(
            SimpleSpanProcessor(JsonlSpanExporter(Path(folder) / "traces.jsonl"))
        )
        tracer = provider.get_tracer("t")
        for i in range(4):
            _model_span(tracer, model="m", start=i, duration=0.5, ttft=0.1)
        provider.shutdown()
        good = (Path(folder) / "traces.jsonl").read_bytes()
    cut = data.draw(st.integers(0, len(good)))
    whole_lines = good[:cut].count(b"\n")
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "traces.jsonl").write_bytes(good[:cut])
        report = load_report(Path(folder))
    assert len(report.records) >= whole_lines
    assert report.skipped_lines <= 1
    render_html(report)
