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
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from langchain_otel._export._jsonl import JsonlSpanExporter
from langchain_otel._report import (
    build_traces,
    load_report,
    percentile,
    render_html,
    render_text,
    render_trees,
    summarize,
)

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
    begin = int(1_800_000_000 * _NS)
    chain = tracer.start_span("RunnableSequence", start_time=begin)  # not a model span
    with trace.use_span(chain, end_on_exit=False):
        for i in range(10):
            _model_span(
                tracer, model="echo-small", start=i, duration=0.1 * (i + 1), ttft=0.01 * (i + 1)
            )
    chain.end(end_time=begin + 10 * _NS)
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
    """The page has the table, six well-formed SVG charts, waterfalls, and loads nothing."""
    page = render_html(load_report(telemetry_dir))
    assert not re.search(r"(src|href)\s*=\s*['\"](?!#)", page)  # only in-page anchors
    assert "<script" not in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "prefers-color-scheme:dark" in page
    table = re.search(r"<table class='models'>.*?</table>", page, flags=re.S)
    assert table is not None
    assert table[0].count("<tr") == 4  # header + 2 models + all
    for title in (
        "Requests per second",
        "Error and cancel rate",
        "Latency p50 and p95",
        "Cost per minute",
        "Latency distribution",
        "Time to first chunk",
    ):
        assert f"<figcaption>{title}</figcaption>" in page
    import xml.etree.ElementTree as ET

    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(svgs) == 6
    ns = "{http://www.w3.org/2000/svg}"
    trees = [ET.fromstring(svg) for svg in svgs]
    requests = trees[0]
    assert len(requests.findall(f"{ns}polyline")) >= 1
    tick_labels = [t.text for t in requests.findall(f"{ns}text") if t.get("class") == "tick"]
    assert "0 s" in tick_labels
    assert len(tick_labels) >= 6  # y and x ticks, not just min/max
    assert trees[4].findall(f"{ns}rect")  # the latency histogram's bars


def test_waterfalls_of_slowest_and_failed_traces(telemetry_dir: Path) -> None:
    """Slowest N traces plus every erroring/cancelled one get a waterfall with their spans."""
    report = load_report(telemetry_dir)
    traces = build_traces(report.spans)
    # The chain span with its 10 children is one trace; each later span is a trace of its own.
    assert sorted(len(t.rows) for t in traces) == [1, 1, 1, 11]
    page = render_html(report, slowest=1)
    articles = re.findall(r"<article class='trace'.*?</article>", page, flags=re.S)
    names = [re.findall(r"</span>([^<]*) <span class='total'>", a)[0] for a in articles]
    # The 10 s chain is the slowest; then the failures: the error first, then the cancelled.
    assert names == ["RunnableSequence", "text_completion echo-small", "text_completion echo-large"]
    assert "Slowest 1 of 4 traces" in page
    assert "2 more traces that erred or were cancelled" in page
    chain = next(t for t in traces if len(t.rows) == 11)
    assert [row.depth for row in chain.rows] == [0] + [1] * 10
    assert [row.span.start_ns for row in chain.rows[1:]] == sorted(
        row.span.start_ns for row in chain.rows[1:]
    )
    assert render_html(report, slowest=0).count("<article class='trace'") == 2
    assert render_html(report, slowest=9).count("<article class='trace'") == 4


def test_text_report_prints_the_slowest_traces_as_trees(
    telemetry_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`report --slowest 1` prints the slowest trace as an indented span tree, model facts too."""
    from langchain_otel._cli import main

    assert main(["report", str(telemetry_dir), "--slowest", "1"]) == 0
    out = capsys.readouterr().out
    tree = out[out.index("slowest 1 of 4 traces") :].splitlines()
    assert tree[2].split()[2:] == ["10", "s", "ok"]
    assert tree[3].split() == ["+0", "ms", "10", "s", "RunnableSequence"]
    first = tree[4]
    assert first.split()[:6] == ["+0", "ms", "100", "ms", "text_completion", "echo-small"]
    assert first.index("text_completion") == tree[3].index("RunnableSequence") + 2  # indented
    assert first.split()[6:] == ["ttft", "10", "ms", "10→20", "tok", "$0.001"]
    assert tree[5].split()[:4] == ["+1", "s", "200", "ms"]
    assert len(tree) == 3 + 11 + 2
    assert tree[-1] == "2 more traces erred or were cancelled (--html shows them all)"
    assert main(["report", str(telemetry_dir), "--slowest", "0"]) == 0
    assert "slowest" not in capsys.readouterr().out


def test_missing_parents_cycles_and_duplicates_render(tmp_path: Path) -> None:
    """Orphans, parent cycles and duplicate span ids become roots, and the page says so."""

    def span(span_id: str, parent: str | None, start: int) -> dict[str, Any]:
        raw: dict[str, Any] = {
            "traceId": "t" * 32,
            "spanId": span_id,
            "name": f"s{span_id}",
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(start + 10),
        }
        if parent:
            raw["parentSpanId"] = parent
        return raw

    spans = [
        span("a", "gone", 0),
        span("b", "c", 1),
        span("c", "b", 2),  # a cycle
        span("d", "d", 3),  # its own parent
        span("a", None, 4),  # a duplicate id
        span("e", "a", 5),
    ]
    line = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
    (tmp_path / "traces.jsonl").write_text(json.dumps(line) + "\n")
    report = load_report(tmp_path)
    (trace,) = build_traces(report.spans)
    assert sorted(row.span.name for row in trace.rows) == ["sa", "sa", "sb", "sc", "sd", "se"]
    assert trace.orphans >= 2
    page = render_html(report)
    assert "have a parent that is not in the files" in page
    assert "parent missing" in page
    assert "(parent missing)" in render_trees([trace], slowest=1)


def test_bad_input_pages_say_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An empty folder, an empty file and a corrupted file each give a page that says why."""
    from langchain_otel._cli import main

    page = tmp_path / "page.html"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", str(empty), "--html", str(page)]) == 1
    assert "No <code>traces.jsonl</code> in" in page.read_text()
    assert "no traces.jsonl" in capsys.readouterr().err
    (empty / "traces.jsonl").write_bytes(b"")
    assert main(["report", str(empty), "--html", str(page)]) == 0
    assert "The files hold no readable spans." in page.read_text()
    (empty / "traces.jsonl").write_bytes(b"\xff\xfe\n{not json\n")
    assert main(["report", str(empty), "--html", str(page)]) == 0
    text = page.read_text()
    assert "2 unreadable line(s) skipped" in text
    assert "The files hold no readable spans." in text
    assert "warning: skipped 2 unreadable lines" in capsys.readouterr().err


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


def test_failed_waterfalls_are_capped_with_a_notice() -> None:
    """Thousands of failed traces do not make a page that will not open: 200, then a note."""
    from langchain_otel._report import Report, TraceSpan
    from langchain_otel._report._html import MAX_FAILED

    spans = [
        TraceSpan(f"{i:032x}", f"{i:016x}", None, f"req {i}", i * _NS, i * _NS + 1000, "error")
        for i in range(MAX_FAILED + 3)
    ]
    page = render_html(Report(Path("d"), [], [], spans=spans), slowest=0)
    assert page.count("<article class='trace'") == MAX_FAILED
    assert f"{MAX_FAILED + 3} more traces that erred or were cancelled" in page
    assert "3 more failed traces are left out" in page


def test_agent_runs_get_a_table_and_purple_bars(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """invoke_agent spans: a per-agent row in the text and the page, agent bars in waterfalls."""
    from langchain_otel._cli import main

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(tmp_path / "traces.jsonl")))
    tracer = provider.get_tracer("t")
    begin = int(1_800_000_000 * _NS)
    for run, (seconds, cost) in enumerate([(1.0, 0.002), (3.0, 0.004)]):
        agent = tracer.start_span(
            "invoke_agent support_agent",
            start_time=begin + run * 10 * _NS,
            attributes={
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "support_agent",
                "langchain_otel.agent.model_calls": 2,
                "langchain_otel.agent.tool_calls": 3,
                "gen_ai.usage.input_tokens": 100,
                "gen_ai.usage.output_tokens": 40,
                "langchain_otel.cost.total": cost,
                "langchain_otel.outcome": "ok",
            },
        )
        agent.end(end_time=begin + run * 10 * _NS + int(seconds * _NS))
    provider.shutdown()
    assert main(["report", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    (row,) = (line.split() for line in out.splitlines() if line.startswith("support_agent "))
    assert row == ["support_agent", "2", "0", "0", "2000", "2900", "2.0", "3.0", "0", "200",
                   "80", "$0.003000"]  # fmt: skip
    page = render_html(load_report(tmp_path))
    assert "<h2 id='agents'>Per agent</h2>" in page
    assert "<a href='#agents'>Agents</a>" in page
    assert "<details class='span agent ok'" in page
