"""The demo workload: an async, service-like load on ``prompt | EchoLLM | parser``, instrumented.

``langchain-otel demo`` (what ``nox -s demo`` runs) calls :func:`run_demo`: ``N`` requests
under a semaphore of ``C``, half ``ainvoke`` and half ``astream``, on two simulated models
(``echo-small``, ``echo-large``) with realistic, jittered latency, plus a few failures
(``fail_with``, ``error_on_chunk``) and cancelled streams (a consumer that stops early, a
request cancelled by its deadline). Each request runs inside an application span, logs with
structlog (stamped with the trace context, bridged to OpenTelemetry logs), and the
``OTelCallbackHandler`` turns the LangChain runs into GenAI spans and metrics. Telemetry goes
to the embedded default (OTLP JSON Lines files) or, with ``--endpoint``, over OTLP.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import structlog
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import PromptTemplate
from langchain_core.runnables import Runnable, RunnableConfig

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
from langchain_otel.llms import EchoLLM
from langchain_otel.processors import add_otel_context

__all__ = ["DEMO_MODELS", "DemoModel", "DemoResult", "build_chain", "run_demo", "run_workload"]

_PROMPT = "Answer briefly: {question}"
_QUESTIONS = (
    "why do distributed traces need a parent span id?",
    "what does time to first token measure in a streaming completion?",
    "how should a service count cancelled requests?",
    "which histogram buckets suit LLM latency between ten milliseconds and a minute?",
    "what is the difference between input tokens and output tokens for billing?",
    "when should telemetry be dropped rather than block the application?",
)


@dataclass(frozen=True)
class DemoModel:
    """A simulated model: echo length, latency profile and price (USD per million tokens)."""

    name: str
    n: int
    time_to_first_token: float
    time_per_token: float
    input_per_million: float
    output_per_million: float


DEMO_MODELS = (
    DemoModel("echo-small", 60, 0.040, 0.003, 0.15, 0.60),
    DemoModel("echo-large", 140, 0.120, 0.006, 2.50, 10.00),
)
"""The demo's models; their prices go to the handler's price table."""


def build_chain(llm: EchoLLM | None = None) -> Runnable[dict[str, Any], str]:
    """``prompt | EchoLLM | StrOutputParser``: the chain the demo and the docs use.

    Example:
        >>> build_chain(EchoLLM(n=6)).invoke({"question": "hi"})
        'Answer'
    """
    prompt = PromptTemplate.from_template(_PROMPT)
    return prompt | (llm or EchoLLM(n=40)) | StrOutputParser()


@dataclass
class DemoResult:
    """What the workload did, measured on the client side."""

    requests: int = 0
    ok: int = 0
    errors: int = 0
    cancelled: int = 0
    latencies: list[float] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    elapsed_s: float = 0.0
    unreported: int = 0
    """Requests the client counted tokens for whose model reported none (stopped mid-answer)."""


@dataclass(frozen=True)
class _Plan:
    index: int
    model: DemoModel
    stream: bool
    failure: str | None  # None, "fail", "chunk"
    cancel: str | None  # None, "break", "deadline"
    question: str
    jitter: float


def _plans(requests: int, seed: int) -> list[_Plan]:
    rng = random.Random(seed)
    plans = []
    for index in range(requests):
        stream = index % 2 == 1
        failure = "fail" if index % 13 == 5 else ("chunk" if index % 17 == 9 else None)
        cancel = None
        if failure is None and stream and index % 11 == 3:
            cancel = "break"
        elif failure is None and not stream and index % 19 == 14:
            cancel = "deadline"
        plans.append(
            _Plan(
                index=index,
                model=DEMO_MODELS[0] if rng.random() < 0.7 else DEMO_MODELS[1],
                stream=stream or failure == "chunk" or cancel == "break",
                failure=failure,
                cancel=cancel,
                question=rng.choice(_QUESTIONS),
                jitter=rng.lognormvariate(0.0, 0.35),
            )
        )
    return plans


def _llm(plan: _Plan) -> EchoLLM:
    model = plan.model
    kwargs: dict[str, Any] = {}
    if plan.failure == "fail":
        kwargs["fail_with"] = ConnectionError(f"{model.name}: simulated upstream 503")
    elif plan.failure == "chunk":
        kwargs["error_on_chunk"] = 12
        kwargs["fail_with"] = RuntimeError(f"{model.name}: stream reset by peer")
    return EchoLLM(
        n=model.n,
        model_name=model.name,
        time_to_first_token=model.time_to_first_token * plan.jitter,
        time_per_token=model.time_per_token * plan.jitter,
        **kwargs,
    )


async def _one(
    plan: _Plan,
    config: RunnableConfig,
    tracer: Any,
    result: DemoResult,
) -> None:
    log = structlog.get_logger("langchain_otel.demo")
    chain = build_chain(_llm(plan))
    prompt_tokens = len(_PROMPT.format(question=plan.question))
    received = 0
    outcome = "ok"
    started = time.perf_counter()
    with tracer.start_as_current_span(
        "demo.request",
        attributes={"demo.request.index": plan.index, "demo.request.stream": plan.stream},
    ):
        try:
            if plan.stream:
                stream = chain.astream({"question": plan.question}, config=config)
                try:
                    async for chunk in stream:
                        received += len(chunk)
                        if plan.cancel == "break" and received >= 8:
                            outcome = "cancelled"
                            break
                finally:
                    await stream.aclose()  # type: ignore[attr-defined]
            else:
                coroutine = chain.ainvoke({"question": plan.question}, config=config)
                if plan.cancel == "deadline":
                    # Half-way through the model's answer: the model run is cancelled.
                    model = plan.model
                    answer_time = model.time_to_first_token + model.time_per_token * model.n
                    deadline = 0.02 + answer_time * plan.jitter / 2
                    answer = await asyncio.wait_for(coroutine, timeout=deadline)
                else:
                    answer = await coroutine
                received = len(answer)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            outcome = "cancelled"
        except Exception as exc:
            outcome = "error"
            log.error("request.failed", request=plan.index, model=plan.model.name, error=repr(exc))
        latency = time.perf_counter() - started
        if outcome == "ok":
            log.info("request.done", request=plan.index, model=plan.model.name, chars=received)
        elif outcome == "cancelled":
            log.warning("request.cancelled", request=plan.index, model=plan.model.name)
    result.requests += 1
    result.latencies.append(latency)
    result.ok += outcome == "ok"
    result.errors += outcome == "error"
    result.cancelled += outcome == "cancelled"
    if plan.failure != "fail":
        result.unreported += outcome != "ok"
        result.input_tokens += prompt_tokens
        result.output_tokens += received
        result.cost_usd += (
            prompt_tokens * plan.model.input_per_million + received * plan.model.output_per_million
        ) / 1e6


async def run_workload(
    *,
    requests: int,
    concurrency: int,
    tracer: Any,
    callbacks: Sequence[Any] = (),
    progress: Callable[[int, int], None] | None = None,
    seed: int = 7,
) -> DemoResult:
    """Run ``requests`` requests with at most ``concurrency`` in flight; return the tally.

    Example:
        >>> import asyncio
        >>> from opentelemetry.trace import NoOpTracer
        >>> from structlog.testing import capture_logs
        >>> with capture_logs() as logs:
        ...     result = asyncio.run(run_workload(requests=4, concurrency=2, tracer=NoOpTracer()))
        >>> result.requests, result.ok + result.errors + result.cancelled
        (4, 4)
        >>> sorted({log["event"] for log in logs})
        ['request.cancelled', 'request.done']
    """
    plans = _plans(requests, seed)
    semaphore = asyncio.Semaphore(concurrency)
    result = DemoResult()
    config: RunnableConfig = {"callbacks": list(callbacks), "tags": ["demo"]}
    done = 0
    started = time.perf_counter()

    async def guarded(plan: _Plan) -> None:
        nonlocal done
        async with semaphore:
            await _one(plan, config, tracer, result)
        done += 1
        if progress is not None:
            progress(done, requests)

    await asyncio.gather(*(guarded(plan) for plan in plans))
    result.elapsed_s = time.perf_counter() - started
    return result


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

    The client counts the prompt and the characters it received for every request that
    reached the model; a model that fails or is cancelled reports no usage, so its span
    carries none. The client also times the whole chain, the span only the model call.

    Example:
        >>> client = DemoResult(requests=2, ok=1, errors=1, latencies=[0.2, 0.4],
        ...                     input_tokens=30, output_tokens=50, unreported=1)
        >>> spans = ModelSummary("all", requests=2, durations=[0.2, 0.4],
        ...                      input_tokens=20, output_tokens=40)
        >>> print(_reconcile(client, spans))  # doctest: +ELLIPSIS
        client     counted 10 input and 10 output tokens more than the spans: the 1 requests ...
        >>> _reconcile(client, ModelSummary("all", durations=[0.2, 0.4], input_tokens=30,
        ...                                 output_tokens=50)) is None
        True
    """
    extra_in = result.input_tokens - total.input_tokens
    extra_out = result.output_tokens - total.output_tokens
    client_p50 = percentile(result.latencies, 50)
    spans_p50 = percentile(total.durations, 50)
    slower_ms = round(((client_p50 or 0.0) - (spans_p50 or 0.0)) * 1000)
    parts = []
    if extra_in or extra_out:
        parts.append(
            f"counted {extra_in} input and {extra_out} output tokens more than the spans: "
            f"the {result.unreported} requests stopped mid-answer got no usage from their model"
        )
    if slower_ms:
        parts.append(
            f"its p50 latency is {abs(slower_ms)} ms {'higher' if slower_ms > 0 else 'lower'}: "
            "it times the whole request (the chain's steps and the gaps between them), "
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
