"""The langchain-otel command line: in-process main([...]) and the console script once."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from langchain_otel import reset_defaults
from langchain_otel._cli import main


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("OTEL_", "LANGCHAIN_OTEL_")):
            monkeypatch.delenv(name)
    monkeypatch.delenv("NOX_CURRENT_SESSION", raising=False)  # set when nox runs the tests
    monkeypatch.chdir(tmp_path)
    reset_defaults()
    yield
    reset_defaults()


def test_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    """--help exits 0 and shows examples of every command."""
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    for command in ("langchain-otel demo", "langchain-otel report", "langchain-otel config"):
        assert command in out
    assert main(["report", "--help"]) == 0
    assert "--html FILE" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """No command, an unknown command, or a bad number exit 2 with the message on stderr."""
    assert main([]) == 2
    assert "usage: langchain-otel" in capsys.readouterr().err
    assert main(["launch"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main(["demo", "--requests", "0"]) == 2
    assert "must be at least 1" in capsys.readouterr().err
    assert main(["report"]) == 2


def test_demo_then_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo writes OTLP JSON Lines and says how to read them; report reads them."""
    out_dir = tmp_path / "telemetry"
    assert main(["demo", "--requests", "20", "--concurrency", "5", "--out", str(out_dir)]) == 0
    captured = capsys.readouterr()
    assert "requests   20 in" in captured.out
    assert "cancelled" in captured.out
    assert "p50" in captured.out
    assert f"langchain-otel report {out_dir}" in captured.out
    assert "20/20 requests" in captured.err  # the progress bar
    assert (out_dir / "traces.jsonl").exists()
    assert (out_dir / "logs.jsonl").exists()
    logs = [json.loads(line) for line in (out_dir / "logs.jsonl").read_text().splitlines()]
    records = [
        record
        for line in logs
        for resource in line["resourceLogs"]
        for scope in resource["scopeLogs"]
        for record in scope["logRecords"]
    ]
    bodies = {record["body"]["stringValue"] for record in records}
    assert {"request.done", "request.failed", "request.cancelled"} <= bodies
    assert all(len(record["traceId"]) == 32 for record in records)  # inside demo.request spans

    # The handler's model spans, with the demo's prices, outcomes and streamed TTFT.
    from langchain_otel._report import build_traces, load_report, summarize

    report = load_report(out_dir)
    rows = {row.model: row for row in summarize(report.records)}
    assert {"echo-small", "echo-large", "echo-chat", "all"} <= set(rows)
    assert {r.outcome for r in report.records if r.model == "echo-chat"} >= {"ok", "error"}
    traces = build_traces(report.spans)
    assert len(traces) == 20
    # Requests 4, 10 and 16 ask the support agent: two model calls and two tool calls each.
    agent_traces = [t for t in traces if t.root.attributes.get("demo.request.index") in {4, 10, 16}]
    assert [t.model_calls for t in agent_traces] == [2, 2, 2]
    assert all(
        [r.span.name for r in t.rows if r.span.name.startswith("execute_tool")]
        == ["execute_tool search_docs", "execute_tool estimate_cost"]
        for t in agent_traces
    )
    assert all(t.model_calls == 1 for t in traces if t not in agent_traces)
    assert rows["all"].requests == 23
    assert "support_agent" in (out_dir / "traces.jsonl").read_text()
    assert rows["all"].errors >= 1
    assert rows["all"].cancelled >= 1
    assert rows["all"].ttfts
    assert rows["all"].cost_usd
    assert (out_dir / "metrics.jsonl").exists()

    html = tmp_path / "report.html"
    assert main(["report", str(out_dir), "--html", str(html)]) == 0
    captured = capsys.readouterr()
    assert "model spans from" in captured.out
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert main(["report", str(out_dir), "--json"]) == 0
    assert "models" in json.loads(capsys.readouterr().out)


def test_demo_prints_one_set_of_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo's numbers are the table read from the files, plus one line on the client's view."""
    from langchain_otel._report import load_report, summarize

    out_dir = tmp_path / "telemetry"
    assert main(["demo", "-n", "20", "-c", "5", "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "counted by the client" not in out
    assert "latency    p50" not in out
    assert out.count("tokens in") == 1  # the table's header, once
    total = summarize(load_report(out_dir).records)[-1]
    (all_row,) = (line.split() for line in out.splitlines() if line.startswith("all "))
    assert all_row[1] == "23"  # 17 chain requests, 3 agent requests of two model calls
    assert all_row[-3:] == [
        str(total.input_tokens),
        str(total.output_tokens),
        f"${total.cost_usd:.6f}",
    ]
    (client,) = (line for line in out.splitlines() if line.startswith("client "))
    # Requests 3 (stream stopped early), 9 (stream reset) and 14 (deadline) reached the model,
    # which reported no usage: the client counted their prompts, the spans could not.
    match = re.search(r"counted (\d+) input and (\d+) output tokens more than the spans", client)
    assert match is not None, client
    assert int(match[1]) > 0
    assert int(match[2]) > 0
    assert "the 3 requests cut short (a stream stopped or reset, a deadline)" in client
    assert "agent      3 requests went to support_agent" in out


def test_demo_under_nox_points_at_the_nox_report_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run by `nox -s demo`, the summary shows the command that works from a fresh clone."""
    monkeypatch.setenv("NOX_CURRENT_SESSION", "demo")
    assert main(["demo", "-n", "2", "--out", str(tmp_path / "t")]) == 0
    assert f"python3 -m nox -s report -- {tmp_path / 't'}" in capsys.readouterr().out


def test_demo_over_otlp_to_a_real_receiver(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--endpoint sends the demo's telemetry over OTLP/HTTP and writes no files."""
    from tests._collector import otlp_collector

    with otlp_collector() as collector:
        assert main(["demo", "-n", "6", "-c", "3", "--endpoint", collector.url]) == 0
        names = {span.name for span in collector.spans()}
    assert "demo.request" in names
    assert f"sent over OTLP to {collector.url}" in capsys.readouterr().out
    assert not (tmp_path / "langchain-otel-telemetry").exists()


def test_report_errors_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing folder or missing traces.jsonl exits 1 with a hint on stderr."""
    assert main(["report", str(tmp_path / "nope")]) == 1
    assert "run 'langchain-otel demo' first" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 1
    assert "no traces.jsonl" in capsys.readouterr().err


def test_bad_configuration_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad OTEL_* variable stops the demo with the ConfigurationError message, exit 1."""
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    assert main(["demo", "-n", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("langchain-otel: error: OTEL_TRACES_EXPORTER: unknown traces exporter")
    assert main(["config"]) == 1


def test_config_masks_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """config prints the effective settings and their sources, header values masked."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20topsecret")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "checkout")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "topsecret" not in out
    assert "{'authorization': '****'}" in out
    assert "http://collector:4318/v1/traces  (OTEL_EXPORTER_OTLP_ENDPOINT)" in out
    assert "checkout  (OTEL_SERVICE_NAME)" in out
    assert "traces_exporter         otlp" in out


def test_console_script_and_python_m(tmp_path: Path) -> None:
    """The installed console script and python -m langchain_otel run the real thing."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "LANGCHAIN_OTEL", "NOX_CURRENT_SESSION"))
    }
    script = shutil.which("langchain-otel", path=str(Path(sys.executable).parent))
    assert script is not None
    demo = subprocess.run(
        [script, "demo", "-n", "4", "-c", "2", "--out", str(tmp_path / "t")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    assert "langchain-otel report" in demo.stdout
    version = subprocess.run(
        [sys.executable, "-m", "langchain_otel", "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert version.returncode == 0
    assert version.stdout.startswith("langchain-otel ")
    bad = subprocess.run(
        [sys.executable, "-m", "langchain_otel", "report", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith("langchain-otel: error:")


def test_report_html_to_an_unwritable_place_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--html into a folder that does not exist fails cleanly, after printing the table."""
    (tmp_path / "traces.jsonl").write_text("")
    assert main(["report", str(tmp_path), "--html", str(tmp_path / "no" / "r.html")]) == 1
    captured = capsys.readouterr()
    assert "(no model spans)" in captured.out
    assert captured.err.startswith("langchain-otel: error: cannot write")


def test_demo_into_an_unwritable_folder_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--out that cannot be created is the ConfigurationError of configure(), exit 1."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["demo", "-n", "1", "--out", str(blocker / "sub")]) == 1
    assert "directory: cannot write telemetry files" in capsys.readouterr().err
