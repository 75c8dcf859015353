"""``langchain-otel report`` has a per-agent table, from real agent runs' JSONL spans."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from langchain.agents import create_agent
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from structlog.testing import CapturingLogger

from langchain_otel import OTelCallbackHandler
from langchain_otel._export._jsonl import JsonlSpanExporter
from langchain_otel._report import load_report
from langchain_otel._report._agents import summarize_agents
from langchain_otel._report._command import report_command
from tests.agents._fakes import (
    ScriptedChatModel,
    answer,
    call,
    get_weather,
    soft_failing_tool,
)
from tests.agents.conftest import SCRIPTED_PRICE

QUESTION = {"messages": [("user", "Weather in Paris?")]}


@pytest.fixture(name="agent_dir")
def _agent_dir(tmp_path: Path) -> Path:
    """3 runs of weather_agent (one with a failing tool) and 1 of helper, as traces.jsonl."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(tmp_path / "traces.jsonl")))
    handler = OTelCallbackHandler(
        tracer_provider=provider,
        meter_provider=MeterProvider(),
        logger=CapturingLogger(),
        prices={"scripted": SCRIPTED_PRICE},
        strict=True,
    )
    config = {"callbacks": [handler]}
    weather = create_agent(
        ScriptedChatModel(script=[call("get_weather", "c1", city="Paris"), answer("Sunny.")]),
        [get_weather],
        name="weather_agent",
    )
    for _ in range(2):
        weather.invoke(QUESTION, config)
    failing = create_agent(
        ScriptedChatModel(script=[call("soft_failing_tool", "c2", city="X"), answer("Sorry.")]),
        [soft_failing_tool],
        name="weather_agent",
    )
    failing.invoke(QUESTION, config)
    create_agent(ScriptedChatModel(script=[answer("Hi.")]), [], name="helper").invoke(
        QUESTION, config
    )
    provider.shutdown()
    return tmp_path


def test_per_agent_numbers(agent_dir: Path) -> None:
    """Runs, calls per run, tool errors, tokens and cost per agent name."""
    rows = {row.agent: row for row in summarize_agents(load_report(agent_dir).spans)}
    assert set(rows) == {"weather_agent", "helper"}
    weather, helper = rows["weather_agent"], rows["helper"]
    assert (weather.runs, weather.model_calls, weather.tool_calls, weather.tool_errors) == (
        3,
        6,
        3,
        1,
    )
    assert (weather.input_tokens, weather.output_tokens) == (60, 30)
    assert weather.cost_per_run == pytest.approx(2 * (10e-6 + 10e-6))
    assert (helper.runs, helper.model_calls, helper.tool_calls) == (1, 1, 0)


def test_the_report_prints_and_renders_the_table(agent_dir: Path, tmp_path: Path) -> None:
    """The text report and the HTML page both have the per-agent table."""
    out, err = io.StringIO(), io.StringIO()
    page = tmp_path / "report.html"
    assert report_command(agent_dir, html=str(page), stdout=out, stderr=err) == 0
    text = out.getvalue()
    assert "per agent" in text
    header = next(line for line in text.splitlines() if line.startswith("agent "))
    assert "model calls/run" in header
    assert "cost/run USD" in header
    weather = next(line for line in text.splitlines() if line.startswith("weather_agent"))
    assert weather.split()[1:4] == ["3", "0", "0"]  # runs, errors, interrupted
    html = page.read_text()
    assert "id='agents'" in html
    assert "weather_agent" in html
