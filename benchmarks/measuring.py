"""Worker processes, interleaved rounds, the floor, memory growth and parenting checks.

The driver starts one worker process per candidate and talks to each over a pipe (JSON
lines). Only one worker runs at a time: in each round, every workload is run by every
candidate, one timed block each, in a freshly shuffled order, so whatever else the
machine is doing hits all candidates alike. Ratios to bare are taken per round. A
worker freezes its heap (``gc.collect()``, ``gc.freeze()``) before its timed blocks: a
full collection walks the whole heap (the harness, every imported module) for 50-100 ms
and lands in one block and not another; frozen, it walks only what the blocks made.
Young collections, which cost what each op allocates, are timed as they come.

Run a worker by hand with ``python -m benchmarks.measuring CANDIDATE``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

__all__ = [
    "Worker",
    "floor_block",
    "frozen_heap",
    "main",
    "parenting_check",
    "rss_bytes",
    "run_rounds",
]

ROOT = Path(__file__).resolve().parent.parent
CLOCK = time.perf_counter_ns
CLOCKS = {"wall": time.perf_counter_ns, "cpu": time.process_time_ns}
"""What a timed block reads: wall time, or the worker process's CPU time (all its threads,
the export thread included), which preemption by other processes does not inflate."""


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Collect, then freeze the heap for the blocks run inside (unfrozen after).

    A full collection inside then walks what those blocks made, not the harness's whole
    heap (50-100 ms, landing in one block and not another); young collections are
    untouched.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def rss_bytes() -> int:
    """The resident set size of this process in bytes (Linux ``/proc``; else peak RSS).

    Example:
        >>> rss_bytes() > 0
        True
    """
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # pragma: no cover - not Linux
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -- inside a worker process ---------------------------------------------------------


def floor_block(sdk: Any, reps: int, clock: Callable[[], int] = CLOCK) -> int:
    """The physical floor, timed: ``reps`` x (one span + 2 histogram records).

    One span with 10 attributes and two histogram records, on the same SDK setup as the
    candidates. Returns elapsed nanoseconds.
    """
    from opentelemetry.trace import SpanKind

    tracer = sdk.tracer_provider.get_tracer("langchain_otel.bench.floor")
    meter = sdk.meter_provider.get_meter("langchain_otel.bench.floor")
    duration = meter.create_histogram("gen_ai.client.operation.duration", unit="s")
    tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
    attributes = {
        "gen_ai.operation.name": "text_completion",
        "gen_ai.provider.name": "echo",
        "gen_ai.request.model": "echo",
        "gen_ai.response.model": "echo",
        "gen_ai.response.finish_reasons": ("length",),
        "gen_ai.usage.input_tokens": 319,
        "gen_ai.usage.output_tokens": 256,
        "langchain.run.id": "6f1c8d4e-5a5b-4f0e-9a43-6f0f7f1d2c3b",
        "langchain.run.type": "llm",
        "langchain.run.name": "EchoLLM",
    }
    metric_attributes = {"gen_ai.operation.name": "text_completion", "gen_ai.request.model": "echo"}
    start = clock()
    for _ in range(reps):
        span = tracer.start_span(
            "text_completion echo", kind=SpanKind.CLIENT, attributes=attributes
        )
        span.end()
        duration.record(0.001, metric_attributes)
        tokens.record(256, metric_attributes)
    return clock() - start


def _trees(spans: list[Any]) -> dict[int, list[Any]]:
    by_trace: dict[int, list[Any]] = {}
    for span in spans:
        by_trace.setdefault(span.context.trace_id, []).append(span)
    return by_trace


_LLM_MARKERS = (
    ("gen_ai.operation.name", ("chat", "text_completion")),
    ("openinference.span.kind", ("LLM",)),
    ("llm.request.type", ("chat", "completion")),
    ("langfuse.observation.type", ("generation",)),
)


def _is_llm_span(span: Any) -> bool:
    attributes = span.attributes or {}
    return any(attributes.get(key) in values for key, values in _LLM_MARKERS)


def _check_trace(spans: list[Any]) -> str | None:
    """What is wrong with the spans of one request, or ``None``.

    Right is: one trace, one root (the chain span), the model span under it.
    """
    if not spans:
        return "no spans"
    if len({s.context.trace_id for s in spans}) != 1:
        return f"{len({s.context.trace_id for s in spans})} traces for one request"
    ids = {s.context.span_id for s in spans}
    roots = [s for s in spans if s.parent is None or s.parent.span_id not in ids]
    if len(roots) != 1:
        return f"{len(roots)} roots in one trace"
    llm = [s for s in spans if _is_llm_span(s)]
    if len(llm) != 1:
        return f"{len(llm)} model spans"
    if llm[0] is roots[0]:
        return "model span is the root: no chain span above it"
    by_id = {s.context.span_id: s for s in spans}
    node = llm[0]
    while node.parent is not None and node.parent.span_id in by_id:
        node = by_id[node.parent.span_id]
    return None if node is roots[0] else "model span not under the chain span"


def parenting_check(
    sdk: Any, installed: Any, models: Any, loop: asyncio.AbstractEventLoop
) -> dict[str, str]:
    """Parenting of the candidate's spans for a text chain and a chat chain.

    For each chain: a sync ``invoke``, an ``ainvoke``, 20 concurrent ``ainvoke``s, and an
    ``invoke`` after a ``batch`` (a leaked context would nest it under the batch). Each
    request must be exactly one trace whose root is the chain span, with the model span
    under it, and no span may be left current in the caller's context afterwards. Each
    case runs in a fresh ``contextvars.Context``, so one case's leak cannot spoil the
    next. Returns ``{"llm": verdict, "chat": verdict}``; a verdict is ``"ok"``, ``"n/a"``
    (the candidate does not instrument that model) or what went wrong.
    """
    from opentelemetry import trace

    exporter = sdk.exporter
    config = installed.config
    question = {"question": "Is this one trace?"}

    def collect(action: Callable[[], object]) -> tuple[list[list[Any]], bool]:
        sdk.tracer_provider.force_flush()
        exporter.kept.clear()
        exporter.keep = True

        def isolated() -> bool:
            action()
            return bool(trace.get_current_span().get_span_context().is_valid)

        try:
            leaked = contextvars.Context().run(isolated)
            sdk.tracer_provider.force_flush()
        finally:
            exporter.keep = False
        return list(_trees(list(exporter.kept)).values()), leaked

    verdicts: dict[str, str] = {}
    for kind, chain in (("llm", models.llm_chain), ("chat", models.chat_chain)):
        if kind not in installed.models:
            verdicts[kind] = "n/a"
            continue

        def invoke(chain: Any = chain) -> None:
            chain.invoke(question, config=config)

        def ainvoke(chain: Any = chain) -> None:
            loop.run_until_complete(chain.ainvoke(question, config=config))

        def concurrent(chain: Any = chain) -> None:
            async def many() -> None:
                await asyncio.gather(*(chain.ainvoke(question, config=config) for _ in range(20)))

            loop.run_until_complete(many())

        def after_batch(chain: Any = chain) -> None:
            chain.batch([question] * 4, config=config)
            sdk.tracer_provider.force_flush()
            exporter.kept.clear()
            chain.invoke(question, config=config)

        problems: list[str] = []
        cases: list[tuple[str, Callable[[], None], int]] = [
            ("invoke", invoke, 1),
            ("ainvoke", ainvoke, 1),
            ("20 concurrent ainvoke", concurrent, 20),
            ("invoke after batch", after_batch, 1),
        ]
        for label, action, requests in cases:
            traces, leaked = collect(action)
            if leaked:
                problems.append(f"{label}: leaves a span current in the caller's context")
            if len(traces) != requests:
                problems.append(f"{label}: {len(traces)} traces for {requests} requests")
                continue
            wrong = {w for w in (_check_trace(spans) for spans in traces) if w}
            problems.extend(f"{label}: {w}" for w in sorted(wrong))
        verdicts[kind] = "ok" if not problems else "; ".join(problems)
    return verdicts


def memory_check(
    installed: Any, models: Any, loop: asyncio.AbstractEventLoop, *, invokes: int, astreams: int
) -> dict[str, Any]:
    """RSS and run-registry size after ``invokes`` invokes and ``astreams`` astreams."""
    config = installed.config
    halfway = max(1, invokes // 10)

    async def streams() -> None:
        for _ in range(astreams):
            async for _chunk in models.llm.astream("short prompt", config=config):
                pass

    def snapshot() -> dict[str, Any]:
        gc.collect()
        from benchmarks.candidates import registry_size

        return {
            "rss_bytes": rss_bytes(),
            "registry": registry_size(installed.registry),
            "open_runs": installed.open_runs() if installed.open_runs else None,
        }

    kind = "llm" if "llm" in installed.models else "chat"
    model = models.llm if kind == "llm" else models.chat
    before = snapshot()
    for _ in range(halfway):
        model.invoke("short prompt", config=config)
    warmed = snapshot()
    for _ in range(invokes - halfway):
        model.invoke("short prompt", config=config)
    after_invokes = snapshot()
    if kind == "llm":
        loop.run_until_complete(streams())
    after_streams = snapshot()
    return {
        "model": kind,
        "invokes": invokes,
        "astreams": astreams if kind == "llm" else 0,
        "before": before,
        "after_tenth": warmed,
        "after_invokes": after_invokes,
        "after_astreams": after_streams,
    }


def profile_block(request: dict[str, Any], sdk: Any, installed: Any, models: Any, loop: Any) -> str:
    """Run one block under cProfile; save the stats, return the top functions as text."""
    import cProfile
    import io
    import pstats

    from benchmarks import workloads as wl

    workload = wl.WORKLOADS[request["workload"]]
    profiler = cProfile.Profile()
    profiler.enable()
    wl.run_block(
        workload,
        models,
        installed.workload_config(workload.id),
        request["reps"],
        concurrency=workload.concurrency,
        loop=loop,
        clock=CLOCK,
    )
    profiler.disable()
    sdk.tracer_provider.force_flush()
    out_dir = Path(request["out"])
    out_dir.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(out_dir / f"profile-{request['candidate']}-{workload.id}.pstats")
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats(request.get("sort", "tottime")).print_stats(request.get("top", 25))
    return text.getvalue()


def _serve(name: str, requests: IO[str], replies: IO[str]) -> None:
    from benchmarks import workloads as wl
    from benchmarks.candidates import setup

    sdk, installed = setup(name)
    models = wl.build_models()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def reply(message: dict[str, Any]) -> None:
        replies.write(json.dumps(message) + "\n")
        replies.flush()

    from benchmarks.candidates import CANDIDATES, package_version

    versions = {p: package_version(p) for p in CANDIDATES[name].packages}
    reply(
        {
            "ready": True,
            "models": list(installed.models),
            "workloads": installed.workloads,
            "versions": versions,
        }
    )
    for line in requests:
        request = json.loads(line)
        command = request["cmd"]
        try:
            if command == "run":
                workload = wl.WORKLOADS[request["workload"]]
                config = installed.workload_config(workload.id)
                sdk.tracer_provider.force_flush()
                spans_before = sdk.exporter.count
                with frozen_heap():
                    elapsed = [
                        wl.run_block(
                            workload,
                            models,
                            config,
                            request["reps"],
                            concurrency=request["concurrency"],
                            loop=loop,
                            clock=CLOCKS[request.get("clock", "wall")],
                        )
                        for _ in range(request.get("repeats", 1))
                    ]
                sdk.tracer_provider.force_flush()
                open_runs = installed.open_runs() if installed.open_runs else None
                reply(
                    {
                        "ns": elapsed,
                        "spans": sdk.exporter.count - spans_before,
                        "open_runs": open_runs,
                    }
                )
            elif command == "profile":
                reply({"profile": profile_block(request, sdk, installed, models, loop)})
            elif command == "floor":
                clock = CLOCKS[request.get("clock", "wall")]
                reply({"ns": floor_block(sdk, request["reps"], clock)})
            elif command == "parenting":
                reply({"parenting": parenting_check(sdk, installed, models, loop)})
            elif command == "memory":
                reply(
                    {
                        "memory": memory_check(
                            installed,
                            models,
                            loop,
                            invokes=request["invokes"],
                            astreams=request["astreams"],
                        )
                    }
                )
            elif command == "exit":
                reply({"bye": True})
                break
            else:
                reply({"error": f"unknown command {command!r}"})
        except Exception as error:
            reply({"error": f"{type(error).__name__}: {error}"})
    sdk.tracer_provider.shutdown()
    sdk.meter_provider.shutdown()


def main(argv: list[str] | None = None) -> int:
    """Worker entry point: serve the driver's requests on stdin, replies on the real stdout.

    Anything the candidate prints goes to stderr, so it cannot corrupt the replies.
    """
    args = sys.argv[1:] if argv is None else argv
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    _serve(args[0], sys.stdin, replies)
    return 0


# -- in the driver -------------------------------------------------------------------


@dataclass
class Worker:
    """The driver's handle on one candidate's worker process."""

    name: str
    process: subprocess.Popen[str]
    models: tuple[str, ...] = ()
    workloads: tuple[str, ...] | None = None
    versions: dict[str, str | None] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, name: str, python: str = sys.executable) -> Worker:
        """Start candidate ``name``'s worker; ``ready()`` waits for it."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        process = subprocess.Popen(
            [python, "-m", "benchmarks.measuring", name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            text=True,
            cwd=ROOT,
            env=env,
        )
        return cls(name, process)

    def ready(self) -> None:
        """Wait until the worker has set its candidate up (RuntimeError if it failed)."""
        hello = self._read()
        if not hello.get("ready"):
            raise RuntimeError(f"worker {self.name} did not start: {hello}")
        self.models = tuple(hello["models"])
        self.workloads = None if hello.get("workloads") is None else tuple(hello["workloads"])
        self.versions = dict(hello.get("versions") or {})

    def runs(self, workload: Any) -> bool:
        """Whether this candidate runs ``workload`` (its model, its workload list)."""
        if workload.model not in self.models:
            return False
        return self.workloads is None or workload.id in self.workloads

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.name} exited (code {self.process.wait()})")
        return dict(json.loads(line))

    def send(self, **request: Any) -> None:
        """Send one request; ``receive()`` reads its reply."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()

    def receive(self) -> dict[str, Any]:
        """Wait for the reply to the request sent last."""
        return self._read()

    def ask(self, **request: Any) -> dict[str, Any]:
        """Send one request and wait for its reply."""
        self.send(**request)
        return self._read()

    def stop(self) -> None:
        """Ask the worker to exit; kill it if it does not."""
        with contextlib.suppress(Exception):
            self.ask(cmd="exit")
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck worker
            self.process.kill()
            self.process.wait()


@dataclass
class Sample:
    """One timed block: a candidate, a workload, a round."""

    candidate: str
    workload: str
    round: int
    ns: int
    ops: int
    spans: float
    ns_repeats: list[int]
    open_runs: int | None = None


def run_rounds(
    workers: dict[str, Worker],
    workload_ids: list[str],
    *,
    rounds: int,
    quick: bool,
    seed: int,
    clock: str = "wall",
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[list[Sample], list[dict[str, Any]]]:
    """Interleaved rounds; returns the samples and the floor's timed blocks."""
    from benchmarks.workloads import WORKLOADS

    rng = random.Random(seed)
    samples: list[Sample] = []
    floors: list[dict[str, Any]] = []
    floor_reps = 500 if quick else 2000
    for worker in workers.values():  # warm-up: imports, caches, first-call costs
        for wid in workload_ids:
            workload = WORKLOADS[wid]
            if worker.runs(workload):
                worker.ask(
                    cmd="run",
                    workload=wid,
                    reps=1,
                    concurrency=workload.concurrency_in(quick=quick),
                )
    for index in range(rounds):
        for wid in rng.sample(workload_ids, len(workload_ids)):
            workload = WORKLOADS[wid]
            reps = workload.reps(quick=quick)
            concurrency = workload.concurrency_in(quick=quick)
            ops = reps * concurrency
            names = [n for n, w in workers.items() if w.runs(workload)]
            for name in rng.sample(names, len(names)):
                reply = workers[name].ask(
                    cmd="run",
                    workload=wid,
                    reps=reps,
                    concurrency=concurrency,
                    repeats=workload.repeats(quick=quick),
                    clock=clock,
                )
                if "error" in reply:
                    workers[name].errors.append(f"{wid}: {reply['error']}")
                    continue
                times = list(reply["ns"])
                spans = reply["spans"] / len(times)
                open_runs = reply.get("open_runs")
                samples.append(Sample(name, wid, index, min(times), ops, spans, times, open_runs))
        if "bare" in workers:
            floors.append(
                {
                    "round": index,
                    "ns": min(
                        workers["bare"].ask(cmd="floor", reps=floor_reps, clock=clock)["ns"]
                        for _ in range(3)
                    ),
                    "reps": floor_reps,
                }
            )
        progress(f"round {index + 1}/{rounds} done")
    return samples, floors


@contextlib.contextmanager
def started(
    names: list[str], pythons: dict[str, str] | None = None
) -> Iterator[tuple[dict[str, Worker], dict[str, str]]]:
    """Start a worker per candidate (in order) and stop them all at the end.

    Yields the workers that started and, for those that did not, why (their
    traceback is on stderr).

    ``pythons`` maps a candidate to the interpreter of its own venv.
    """
    workers: dict[str, Worker] = {}
    failed: dict[str, str] = {}
    try:
        launched = [Worker.start(n, (pythons or {}).get(n, sys.executable)) for n in names]
        for worker in launched:  # they set up in parallel
            try:
                worker.ready()
                workers[worker.name] = worker
            except RuntimeError as error:
                failed[worker.name] = str(error)
                worker.stop()
        yield workers, failed
    finally:
        for worker in workers.values():
            worker.stop()


if __name__ == "__main__":
    raise SystemExit(main())
