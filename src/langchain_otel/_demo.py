"""``langchain-otel demo``: the instrumented demo workload, then one screen of numbers.

``langchain-otel demo`` (what ``nox -s demo`` runs) calls :func:`run_demo`: it configures
telemetry, runs the workload of :mod:`langchain_otel._demo_workload` (text and chat models,
``ainvoke`` and ``astream``, failures and cancellations) with structlog events bridged to
OpenTelemetry logs and the ``OTelCallbackHandler`` turning the LangChain runs into GenAI spans
and metrics, then prints the per-model table read back from the files. Telemetry goes to the
embedded default (OTLP JSON Lines files) or, with ``--endpoint``, over OTLP.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import Any, TextIO

import structlog

from langchain_otel._demo_agent import AGENT_NAME
from langchain_otel._demo_workload import (
    DEMO_MODELS,
    DemoModel,
    DemoResult,
    build_chain,
    build_chat_chain,
    plan_is_agent,
    run_workload,
)
from langchain_otel._report import (
    ModelSummary,
    Report,
    load_report,
    percentile,
    render_text,
    summarize,
)
from langchain_otel.callbacks import ModelPrice, OTelCallbackHandler
from langchain_otel.config import OTelLogsBridge, Telemetry, configure
from langchain_otel.config import shutdown as shutdown_telemetry
from langchain_otel.processors import add_otel_context

__all__ = [
    "DEMO_MODELS",
    "DemoModel",
    "DemoResult",
    "build_chain",
    "build_chat_chain",
    "run_demo",
    "run_workload",
]


class _Progress:
    """A plain progress bar on stderr (redrawn in place on a terminal, else every 25 %)."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self._stream = stream
        self._width = width
        self._tty = stream.isatty()
        self._last_quarter = -1

    def __call__(self, done: int, total: int) -> None:
        filled = int(self._width * done / max(1, total))
        bar = "#" * filled + "." * (self._width - filled)
        text = f"demo [{bar}] {done}/{total} requests"
        if self._tty:
            end = "\n" if done == total else ""
            self._stream.write(f"\r{text}{end}")
            self._stream.flush()
            return
        quarter = 4 * done // max(1, total)
        if quarter != self._last_quarter:
            self._last_quarter = quarter
            self._stream.write(text + "\n")


def _handler(telemetry: Telemetry) -> OTelCallbackHandler:
    """The handler on the demo's providers, with the demo models in its price table."""
    prices = {
        model.name: ModelPrice(
            input_per_million=model.input_per_million,
            output_per_million=model.output_per_million,
        )
        for model in DEMO_MODELS
    }
    return OTelCallbackHandler(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        prices=prices,
    )


def _configure_structlog(telemetry: Telemetry) -> dict[str, Any]:
    """Route the demo's structlog events to OpenTelemetry logs only; return the old config."""
    previous = structlog.get_config()
    processors: list[Any] = [structlog.processors.add_log_level, add_otel_context]

    def drop(_logger: Any, _name: str, _event: Any) -> Any:
        raise structlog.DropEvent

    processors += [OTelLogsBridge(telemetry.logger_provider), drop]
    structlog.configure(processors=processors, cache_logger_on_first_use=False)
    return previous


def _reconcile(result: DemoResult, total: ModelSummary) -> str | None:
    """One line on how the client's count differs from the spans' (``None``: it does not).

    The client counts the prompt and the characters it received for every request it sent;
    a model that fails or is cancelled reports no usage, so its span carries none, and a
    request cancelled before its model started has no model span at all. The client also
    times the whole chain, the span only the model call.

    Example:
        >>> client = DemoResult(requests=2, ok=1, errors=1, latencies=[0.2, 0.4],
        ...                     input_tokens=30, output_tokens=50, unreported=1, model_calls=2)
        >>> spans = ModelSummary("all", requests=2, durations=[0.2, 0.4],
        ...                      input_tokens=20, output_tokens=40)
        >>> print(_reconcile(client, spans))  # doctest: +ELLIPSIS
        client     counted 10 input and 10 output tokens more than the spans: the 1 requests cut ...
        >>> _reconcile(client, ModelSummary("all", requests=2, durations=[0.2, 0.4],
        ...                                 input_tokens=30, output_tokens=50)) is None
        True
    """
    extra_in = result.input_tokens - total.input_tokens
    extra_out = result.output_tokens - total.output_tokens
    client_p50 = percentile(result.latencies, 50)
    spans_p50 = percentile(total.durations, 50)
    slower_ms = round(((client_p50 or 0.0) - (spans_p50 or 0.0)) * 1000)
    parts = []
    unstarted = result.model_calls - total.requests
    if unstarted > 0:
        parts.append(
            f"counted {unstarted} more model calls than model spans: cancelled before their "
            "model started"
        )
    if extra_in or extra_out:
        parts.append(
            f"counted {extra_in} input and {extra_out} output tokens more than the spans: "
            f"the {result.unreported} requests cut short (a stream stopped or reset, a deadline) "
            "got no usage from their model"
        )
    if slower_ms:
        parts.append(
            f"its p50 latency is {abs(slower_ms)} ms {'higher' if slower_ms > 0 else 'lower'}: "
            "it times the whole request (steps, tools and the gaps between them), "
            "the table only the model call"
        )
    return "client     " + "; ".join(parts) if parts else None


def _client_view(result: DemoResult) -> list[str]:
    """What the client counted, for when there are no files to read (OTLP)."""
    p50 = percentile(result.latencies, 50) or 0.0
    p95 = percentile(result.latencies, 95) or 0.0
    return [
        f"latency    p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (counted by the client)",
        f"tokens     {result.input_tokens} in, {result.output_tokens} out, "
        f"${result.cost_usd:.6f} (counted by the client)",
    ]


def _summary(
    result: DemoResult, telemetry: Telemetry, endpoint: str | None, report: Report | None
) -> list[str]:
    """The closing screen: the table read back from the files, and where they are."""
    lines = [
        "",
        f"requests   {result.requests} in {result.elapsed_s:.1f} s "
        f"({result.ok} ok, {result.errors} errors, {result.cancelled} cancelled)",
    ]
    if report is not None and report.records:
        lines += ["", render_text(report), ""]
        reconciled = _reconcile(result, summarize(report.records)[-1])
        if reconciled:
            lines.append(reconciled)
    else:
        lines += _client_view(result)
    if result.agent_requests:
        lines.append(
            f"agent      {result.agent_requests} requests went to {AGENT_NAME} "
            "(create_agent, two tools): see its row in `report` and its traces"
        )
    elif any(plan_is_agent(i) for i in range(result.requests)):
        lines.append(
            "agent      skipped: install 'langchain>=1.0' and langgraph for the agent traffic"
        )
    lines.append(
        "prices     demo prices per million tokens: "
        + ", ".join(f"{m.name} ${m.input_per_million}/${m.output_per_million}" for m in DEMO_MODELS)
    )
    dropped = telemetry.dropped
    if any(dropped.values()):
        lines.append(
            "dropped    "
            + ", ".join(f"{count} {signal}" for signal, count in dropped.items())
            + " (the backend did not accept them)"
        )
    if telemetry.directory is not None:
        directory = telemetry.directory
        # Under `nox -s demo` the command is not on the user's PATH: show the nox session.
        command = (
            "python3 -m nox -s report --"
            if os.environ.get("NOX_CURRENT_SESSION")
            else "langchain-otel report"
        )
        lines += [
            "",
            f"telemetry  written to {directory}/",
            "           traces.jsonl, metrics.jsonl, logs.jsonl: OTLP JSON Lines, one export",
            "           request per line (a Collector's otlpjsonfile receiver can replay them)",
            f"read it    {command} {directory}",
            f"           {command} {directory} --html report.html",
        ]
    else:
        lines += [
            "",
            f"telemetry  sent over OTLP to {endpoint or telemetry.config.get('traces_endpoint')}",
        ]
    return lines


def run_demo(
    *,
    requests: int = 60,
    concurrency: int = 8,
    out_dir: str | Path | None = None,
    endpoint: str | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    seed: int = 7,
) -> int:
    """Configure telemetry, run the workload, print the summary; return the exit code.

    Example:
        >>> import io, tempfile
        >>> out = io.StringIO()
        >>> run_demo(requests=3, concurrency=3, out_dir=tempfile.mkdtemp(), stdout=out,
        ...          stderr=io.StringIO())
        0
        >>> "read it" in out.getvalue() and "report" in out.getvalue()
        True
    """
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    telemetry = configure(
        service_name="langchain-otel-demo",
        directory=out_dir,
        endpoint=endpoint,
        timeout=5.0 if endpoint else None,
        set_global=False,
    )
    previous = _configure_structlog(telemetry)
    try:
        callbacks = [_handler(telemetry)]
        tracer = telemetry.tracer_provider.get_tracer("langchain_otel.demo")
        result = asyncio.run(
            run_workload(
                requests=requests,
                concurrency=concurrency,
                tracer=tracer,
                callbacks=callbacks,
                progress=_Progress(stderr),
                seed=seed,
            )
        )
    finally:
        structlog.configure(**previous)
        shutdown_telemetry()
    report = None
    if telemetry.directory is not None:
        with contextlib.suppress(OSError):
            report = load_report(telemetry.directory)
    for line in _summary(result, telemetry, endpoint, report):
        print(line, file=stdout)
    return 0
