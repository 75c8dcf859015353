"""The HTML report in a real headless Chromium: layout, colour schemes, the waterfall's geometry.

The page is made from the real demo's files plus one trace of known timings (written with the
real SDK as a rotated backup, ``traces.jsonl.1``). Screenshots of every width and scheme are
kept in the artifacts folder (``.nox/browser/artifacts/`` under ``nox -s browser``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from langchain_otel._export._jsonl import JsonlSpanExporter
from langchain_otel._report import load_report, render_html
from langchain_otel.callbacks import _semconv as sc
from tests.browser._cdp import Browser, Page

_MS = 1_000_000
#: The known trace: (name, parent, start ms, end ms, attributes), in display order.
KNOWN = (
    ("checkout.request", None, 0, 4000, {}),
    ("RunnableSequence", "checkout.request", 40, 3960, {sc.LANGCHAIN_RUN_TYPE: "chain"}),
    ("PromptTemplate", "RunnableSequence", 60, 160, {sc.LANGCHAIN_RUN_TYPE: "chain"}),
    (
        "execute_tool search",
        "RunnableSequence",
        200,
        1200,
        {sc.GEN_AI_OPERATION_NAME: sc.OPERATION_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME: "search"},
    ),
    (
        "chat echo-large",
        "RunnableSequence",
        1300,
        3700,
        {
            sc.GEN_AI_OPERATION_NAME: sc.OPERATION_CHAT,
            sc.GEN_AI_REQUEST_MODEL: "echo-large",
            sc.GEN_AI_REQUEST_STREAM: True,
            sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: 0.6,
            sc.GEN_AI_USAGE_INPUT_TOKENS: 420,
            sc.GEN_AI_USAGE_OUTPUT_TOKENS: 180,
            sc.COST_TOTAL: 0.00285,
            sc.OUTCOME: sc.OUTCOME_OK,
            # Captured content: a long JSON value, which must wrap inside the details.
            sc.GEN_AI_INPUT_MESSAGES: json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": "why? " * 120}]}]
            ),
        },
    ),
    ("StrOutputParser", "RunnableSequence", 3720, 3940, {sc.LANGCHAIN_RUN_TYPE: "chain"}),
)


def _write_known_trace(path: Path, t0: int | None = None) -> str:
    """Write KNOWN with exact timings from ``t0`` (default: now); return its trace id (hex)."""
    t0 = time.time_ns() if t0 is None else t0
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(path)))
    tracer = provider.get_tracer("known")
    spans: dict[str, Any] = {}
    for name, parent, start, _end, attributes in KNOWN:
        context = trace.set_span_in_context(spans[parent]) if parent else None
        kind = SpanKind.CLIENT if sc.GEN_AI_REQUEST_MODEL in attributes else SpanKind.INTERNAL
        spans[name] = span = tracer.start_span(
            name, context=context, kind=kind, attributes=attributes, start_time=t0 + start * _MS
        )
        span.set_status(StatusCode.OK)
    for name, _, _, end, _ in reversed(KNOWN):
        spans[name].end(end_time=t0 + end * _MS)
    trace_id = format(spans["checkout.request"].get_span_context().trace_id, "032x")
    provider.shutdown()
    return trace_id


@pytest.fixture(scope="module")
def report_page(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> tuple[Path, str]:
    """The demo's page with the known trace in it; the page is kept with the screenshots."""
    folder = tmp_path_factory.mktemp("telemetry")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LANGCHAIN_OTEL"))}
    demo = subprocess.run(
        [
            sys.executable,
            "-m",
            "langchain_otel",
            "demo",
            "-n",
            "40",
            "-c",
            "6",
            "--out",
            str(folder),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    first = load_report(folder).spans[0].start_ns  # the known trace starts with the demo
    trace_id = _write_known_trace(folder / "traces.jsonl.1", first)
    page = artifacts / "report.html"
    page.write_text(render_html(load_report(folder), slowest=5), encoding="utf-8")
    return page, trace_id


def _check_layout(page: Page) -> None:
    """No console error, nothing fetched but the file itself, no horizontal scrolling."""
    assert page.console_errors == []
    assert [url for url in page.requests if not url.startswith("file:")] == []
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"scroll width {width} > viewport {viewport}"
    overflowing = page.evaluate(
        "[...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)"
        ".map(e => e.tagName + '.' + e.className).slice(0, 5)"
    )
    assert overflowing == []


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("width", [1280, 390])
def test_page_fits_and_loads_clean(
    browser: Browser, report_page: tuple[Path, str], artifacts: Path, width: int, dark: bool
) -> None:
    """At 1280 and 390 px, light and dark: no console error, no network, no sideways scroll."""
    path, _ = report_page
    with browser.page() as page:
        page.open(path.as_uri(), width=width, dark=dark)
        _check_layout(page)
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert (background == "rgb(14, 17, 22)") is dark
        assert page.evaluate("document.querySelectorAll('figure.chart svg').length") == 6
        page.screenshot(artifacts / f"report-{width}-{'dark' if dark else 'light'}.png")
        if width == 1280 and not dark:  # the one in docs/cli.md: the top of the page
            page.screenshot(artifacts / "docs-report-top.png", height=1240, scale=0.75)
        # Every span opened (attributes, long captured content): still no sideways scroll.
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        _check_layout(page)


@pytest.mark.parametrize("width", [1280, 390])
def test_known_waterfall_order_and_widths(
    browser: Browser, report_page: tuple[Path, str], artifacts: Path, width: int
) -> None:
    """The known trace's spans are in tree order, bars placed and sized by their timings."""
    path, trace_id = report_page
    with browser.page() as page:
        page.open(path.as_uri(), width=width)
        rows = page.evaluate(
            f"""[...document.querySelectorAll("article[data-trace-id='{trace_id}'] details.span")]
            .map(d => {{
                const track = d.querySelector('.track').getBoundingClientRect();
                const bar = d.querySelector('.bar').getBoundingClientRect();
                const ttft = d.querySelector('.ttft');
                return {{
                    name: d.querySelector('.name').lastChild.textContent,
                    depth: +d.dataset.depth,
                    indent: parseFloat(getComputedStyle(d.querySelector('.name')).paddingLeft),
                    left: (bar.left - track.left) / track.width,
                    width: bar.width, track: track.width,
                    ttft: ttft ? ttft.getBoundingClientRect().width / bar.width : null,
                }};
            }})"""
        )
        assert [row["name"] for row in rows] == [name for name, *_ in KNOWN]
        assert [row["depth"] for row in rows] == [0, 1, 2, 2, 2, 2]
        assert rows[2]["indent"] > rows[1]["indent"] > rows[0]["indent"]
        total = 4000
        for row, (name, _, start, end, _) in zip(rows, KNOWN, strict=True):
            expected = (end - start) / total * row["track"]
            assert abs(row["width"] - expected) <= 1.5, (name, row["width"], expected)
            assert abs(row["left"] - start / total) * row["track"] <= 1.5, name
        model = rows[4]
        assert model["ttft"] == pytest.approx(600 / 2400, abs=0.01)
        assert all(row["ttft"] is None for row in rows if row is not model)
        clip = page.evaluate(
            f"(() => {{ const r = document.querySelector(\"article[data-trace-id='{trace_id}']\")"
            ".getBoundingClientRect(); return [r.top + scrollY, r.height]; })()"
        )
        page.screenshot(artifacts / f"waterfall-{width}.png", top=clip[0], height=clip[1])


@pytest.mark.parametrize("case", ["empty-folder", "corrupted", "missing-parent"])
def test_bad_input_pages_say_so_in_the_browser(
    browser: Browser, tmp_path: Path, artifacts: Path, case: str
) -> None:
    """Bad input renders a page with a notice, laid out like the others, with no error."""
    from langchain_otel._cli import main

    folder = tmp_path / "telemetry"
    folder.mkdir()
    if case == "corrupted":
        (folder / "traces.jsonl").write_bytes(b'\xff\xfe\x00\n{"resourceSpans": [\n')
    elif case == "missing-parent":
        _write_known_trace(folder / "traces.jsonl")
        lines = (folder / "traces.jsonl").read_bytes().splitlines()
        # Drop the export line holding the root span: its children lose their parent.
        kept = [line for line in lines if b"checkout.request" not in line]
        (folder / "traces.jsonl").write_bytes(b"\n".join(kept) + b"\n")
    page_file = artifacts / f"bad-{case}.html"
    code = main(["report", str(folder), "--html", str(page_file)])
    assert code == (1 if case == "empty-folder" else 0)
    expected = {
        "empty-folder": "No traces.jsonl in",
        "corrupted": "2 unreadable line(s) skipped",
        "missing-parent": "have a parent that is not in the files",
    }[case]
    with browser.page() as page:
        page.open(page_file.as_uri(), width=390)
        _check_layout(page)
        assert expected in page.evaluate("document.body.innerText")
        page.screenshot(artifacts / f"bad-{case}-390.png")
