"""Runs the service benchmark: each variant saturated in turn, in interleaved rounds.

For each round, in a freshly shuffled variant order: start the variant's server (its
own process), warm it up, then per route (``/invoke``, ``/stream``) read the lag probe
(which resets it), saturate the route, read the probe again (lag p50/p99 during the
load, CPU seconds the server spent), and stop the server (it flushes its telemetry).
One OTLP/HTTP sink (its own process) receives every OTLP export of the run.

After each saturated route, the same route gets a fixed rate well below every variant's
saturation (:data:`LAG_RATES`, open loop): there the lag probe shows what *blocks* the
loop (an export thread holding the GIL, a long callback) rather than how much work is
queued on a loop that is busy all the time.

Ratios are to ``bare`` in the same round (median over rounds), so the rest of the
machine's load hits every variant alike. CPU per request is the server process's CPU
time (all its threads: the event loop and the export threads) over the requests served.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from benchmarks.service.app import VARIANTS
from benchmarks.service.load import LoadResult, rate_load, run_load

__all__ = ["GOAL_RPS", "ROUTES", "judge", "render", "run", "sink_process", "worker_env"]

ROUTES = ("invoke", "stream")
ROOT = Path(__file__).resolve().parents[2]
GOAL_RPS = {"ours-none": 0.8, "ours-otlp": 0.7, "ours-otlp-json": 0.7, "ours-embedded": 0.7}
LAG_SLACK_MS = 2.0
LAG_RATES = {"invoke": 100.0, "stream": 20.0}
"""Fixed request rates (per second) for the below-saturation lag phase, per route.

About a quarter to a third of what every variant sustains at saturation on this
machine (bare ≈ 400 and 85, the dearest variant ≈ 230 and 57).
"""


def worker_env() -> dict[str, str]:
    """The environment of the service's processes.

    The project importable, and none of the caller's ``OTEL_*`` or ``LANGCHAIN_OTEL_*``
    (each variant configures itself).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LANGCHAIN_OTEL_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _port(process: subprocess.Popen[str], what: str) -> int:
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("port "):
        msg = f"{what} did not start (exit code {process.poll()}): {line!r}"
        raise RuntimeError(msg)
    return int(line.split()[1])


def _get(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as reply:
        return json.loads(reply.read())


def _wait_ready(port: int, process: subprocess.Popen[str], *, timeout: float = 120.0) -> None:
    """Until the server answers ``/probe`` (uvicorn listens only after its startup)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            _get(port, "/probe")
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                msg = f"the server on port {port} never answered (exit code {process.poll()})"
                raise RuntimeError(msg) from None
            time.sleep(0.1)


def _stop(process: subprocess.Popen[str], *, timeout: float = 30.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # uvicorn's graceful shutdown, then our flush
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def _process(command: list[str], what: str, stderr: IO[str] | None) -> Iterator[tuple[Any, int]]:
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=ROOT, env=worker_env()
    )
    try:
        yield process, _port(process, what)
    finally:
        _stop(process)


@contextlib.contextmanager
def sink_process() -> Iterator[int]:
    """The local OTLP sink (``benchmarks.service.sink``) in a process of its own: its port."""
    command = [sys.executable, "-m", "benchmarks.service.sink"]
    with _process(command, "the OTLP sink", None) as (_, port):
        yield port


def _figures(load: LoadResult, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """One load phase: the load's figures, the lag probe's and the CPU per request."""
    cpu = after["cpu_s"] - before["cpu_s"]
    return {
        **asdict(load),
        "lag_p50_ms": after.get("p50_ms"),
        "lag_p99_ms": after.get("p99_ms"),
        "lag_max_ms": after.get("max_ms"),
        "cpu_us_per_request": cpu / load.requests * 1e6 if load.requests else None,
        "gc_ms": after.get("gc_ms"),
        "gc_full": after.get("gc_full"),
        "gc_full_max_ms": after.get("gc_full_max_ms"),
    }


def _measure_variant(
    variant: str,
    sink_port: int,
    *,
    connections: int,
    duration: float,
    warmup: float,
    directory: str,
    rate_duration: float,
    gc_freeze: bool = False,
) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.service.app", variant]
    command += [f"--sink-port={sink_port}", f"--directory={directory}"]
    out: dict[str, Any] = {}
    with _process(command, f"the {variant} server", None) as (process, port):
        _wait_ready(port, process)
        for route in ROUTES:
            url = f"http://127.0.0.1:{port}/{route}"
            run_load(url, connections=connections, duration=warmup)
            if gc_freeze and route == ROUTES[0]:
                _get(port, "/freeze")  # start-up and warm-up done: freeze, as a service may
            before = _get(port, "/probe")
            load = run_load(url, connections=connections, duration=duration)
            after = _get(port, "/probe")  # resets the probe: the next phase starts here
            out[route] = _figures(load, before, after)
            if rate_duration:
                fixed = rate_load(url, rate=LAG_RATES[route], duration=rate_duration)
                phase = _figures(fixed, after, _get(port, "/probe"))
                out[route].update({f"rate_{key}": value for key, value in phase.items()})
    return out


def run(
    *,
    quick: bool = False,
    rounds: int | None = None,
    duration: float | None = None,
    connections: int | None = None,
    variants: tuple[str, ...] = VARIANTS,
    seed: int = 20261201,
    gc_freeze: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Every variant × route × round; returns the samples, summary and goals.

    ``gc_freeze``: every variant (bare too) calls ``gc.freeze()`` after its first warm-up,
    the start-up recipe of ``docs/performance.md``'s knobs.
    """
    rounds = rounds or (1 if quick else 2)
    duration = duration or (2.0 if quick else 15.0)
    connections = connections or (16 if quick else 64)
    warmup = 1.0 if quick else 3.0
    rate_duration = 2.0 if quick else 10.0
    wanted = tuple(v for v in VARIANTS if v in variants)
    if "bare" not in wanted:
        wanted = ("bare", *wanted)
    rng = random.Random(seed)
    samples: list[dict[str, Any]] = []
    started = time.time()
    with (
        tempfile.TemporaryDirectory(prefix="langchain-otel-service-") as tmp,
        sink_process() as sink_port,
    ):
        for index in range(rounds):
            for variant in rng.sample(wanted, len(wanted)):
                sink_before = _get(sink_port, "/stats")
                directory = os.path.join(tmp, f"{variant}-{index}")
                load_before = os.getloadavg()[0]
                figures = _measure_variant(
                    variant,
                    sink_port,
                    connections=connections,
                    duration=duration,
                    warmup=warmup,
                    directory=directory,
                    rate_duration=rate_duration,
                    gc_freeze=gc_freeze,
                )
                sink_after = _get(sink_port, "/stats")
                exported = {
                    path: n - sink_before["bytes"].get(path, 0)
                    for path, n in sink_after["bytes"].items()
                }
                files = {p.name: p.stat().st_size for p in Path(directory).glob("*.jsonl*")}
                for route, figure in figures.items():
                    samples.append(
                        {
                            "variant": variant,
                            "route": route,
                            "round": index,
                            "loadavg": load_before,
                            "otlp_bytes": exported,
                            "jsonl_bytes": files,
                            **figure,
                        }
                    )
                progress(f"service round {index + 1}/{rounds}: {variant} done")
    result: dict[str, Any] = {
        "rounds": rounds,
        "duration_s": duration,
        "connections": connections,
        "gc_freeze": gc_freeze,
        "variants": list(wanted),
        "samples": samples,
        "seconds": time.time() - started,
    }
    result["summary"] = summarise(samples)
    result["goals"] = judge(result["summary"])
    return result


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarise(samples: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per route and variant: medians over rounds, and throughput as a ratio to bare."""
    bare = {(s["route"], s["round"]): s for s in samples if s["variant"] == "bare"}
    summary: dict[str, dict[str, dict[str, Any]]] = {}
    for route in ROUTES:
        for variant in dict.fromkeys(s["variant"] for s in samples):
            mine = [s for s in samples if s["variant"] == variant and s["route"] == route]
            if not mine:
                continue
            pairs = [(s, bare[route, s["round"]]) for s in mine if (route, s["round"]) in bare]

            def med(key: str, rows: list[dict[str, Any]] = mine) -> float | None:
                return _median([r[key] for r in rows if r.get(key) is not None])

            def over_bare(key: str, pairs: list[Any] = pairs) -> float | None:
                """Median over rounds of this variant's ``key`` minus bare's, same round."""
                return _median(
                    [
                        s[key] - b[key]
                        for s, b in pairs
                        if s.get(key) is not None and b.get(key) is not None
                    ]
                )

            summary.setdefault(route, {})[variant] = {
                "rps": med("rps"),
                "rps_ratio": _median([s["rps"] / b["rps"] for s, b in pairs if b["rps"]]),
                "p50_ms": med("p50_ms"),
                "p99_ms": med("p99_ms"),
                "lag_p50_ms": med("lag_p50_ms"),
                "lag_p99_ms": med("lag_p99_ms"),
                "lag_p99_over_bare_ms": over_bare("lag_p99_ms"),
                "cpu_us_per_request": med("cpu_us_per_request"),
                "rate_rps": med("rate_rps"),
                "rate_p50_ms": med("rate_p50_ms"),
                "rate_p99_ms": med("rate_p99_ms"),
                "rate_lag_p50_ms": med("rate_lag_p50_ms"),
                "rate_lag_p99_ms": med("rate_lag_p99_ms"),
                "rate_lag_max_ms": med("rate_lag_max_ms"),
                "rate_lag_p99_over_bare_ms": over_bare("rate_lag_p99_ms"),
                "rate_cpu_us_per_request": med("rate_cpu_us_per_request"),
                "rate_gc_full": sum(s.get("rate_gc_full") or 0 for s in mine),
                "rate_gc_full_max_ms": max(
                    (s.get("rate_gc_full_max_ms") or 0.0 for s in mine), default=0.0
                ),
                "errors": sum(s["errors"] for s in mine),
                "requests": sum(s["requests"] for s in mine),
                "tool": mine[0]["tool"],
            }
    return summary


def judge(summary: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Issue 18's goals per route: throughput ratios, embedded ≤ OTLP, loop lag."""
    goals: dict[str, dict[str, Any]] = {}
    for route, by_variant in summary.items():
        verdicts: dict[str, Any] = {}
        for variant, floor in GOAL_RPS.items():
            ratio = by_variant.get(variant, {}).get("rps_ratio")
            verdicts[f"{variant} ≥ {floor:.0%} of bare"] = (
                None if ratio is None else {"value": ratio, "met": ratio >= floor, "unit": "%"}
            )
        otlp = by_variant.get("ours-otlp", {}).get("rps_ratio")
        embedded = by_variant.get("ours-embedded", {}).get("rps_ratio")
        verdicts["embedded ≤ OTLP in cost"] = (
            None
            if otlp is None or embedded is None
            else {"value": embedded - otlp, "met": embedded >= otlp, "unit": "points"}
        )
        for variant in GOAL_RPS:
            over = by_variant.get(variant, {}).get("lag_p99_over_bare_ms")
            verdicts[f"{variant} lag p99 ≤ bare + {LAG_SLACK_MS:g} ms"] = (
                None if over is None else {"value": over, "met": over <= LAG_SLACK_MS, "unit": "ms"}
            )
        for variant in GOAL_RPS:
            over = by_variant.get(variant, {}).get("rate_lag_p99_over_bare_ms")
            name = f"{variant} lag p99 ≤ bare + {LAG_SLACK_MS:g} ms at a fixed rate"
            verdicts[name] = (
                None if over is None else {"value": over, "met": over <= LAG_SLACK_MS, "unit": "ms"}
            )
        goals[route] = verdicts
    return goals


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def render(result: dict[str, Any]) -> str:
    """The service tables and goals as Markdown."""
    out = [
        f"Service: FastAPI on uvicorn, `prompt | EchoLLM(n=40, 20 ms + 0.5 ms/token) | parser`,"
        f" {result['connections']} connections × {result['duration_s']:g} s per route,"
        f" {result['rounds']} round(s); ratios to bare in the same round (median)"
        + (
            "; every variant calls `gc.freeze()` after its warm-up"
            if result.get("gc_freeze")
            else ""
        )
        + ".\n"
    ]
    header = "| variant | req/s | vs bare | p50 | p99 | loop lag p50 / p99 | CPU µs/req |"
    for route, by_variant in result["summary"].items():
        tool = next(iter(by_variant.values()))["tool"]
        out += [f"\n`GET /{route}` (load: {tool}):\n", header, "|---|---|---|---|---|---|---|"]
        for variant, s in by_variant.items():
            ratio = s["rps_ratio"]
            lag = f"{_fmt(s['lag_p50_ms'], '.2f')} / {_fmt(s['lag_p99_ms'], '.2f')} ms"
            out.append(
                f"| {variant} | {_fmt(s['rps'], '.0f')} | "
                + ("–" if ratio is None else f"{ratio:.0%}")
                + f" | {_fmt(s['p50_ms'], '.0f')} ms | {_fmt(s['p99_ms'], '.0f')} ms | {lag} | "
                + f"{_fmt(s['cpu_us_per_request'], '.0f')} |"
                + (f" errors: {s['errors']}" if s["errors"] else "")
            )
    rated = (
        "| variant | req/s | p50 | p99 | loop lag p50 / p99 / max | CPU µs/req"
        " | full GCs (longest) |"
    )
    for route, by_variant in result["summary"].items():
        if all(s.get("rate_rps") is None for s in by_variant.values()):
            continue
        out += [
            f"\n`GET /{route}` at a fixed {LAG_RATES[route]:g} req/s (open loop, below"
            " saturation; latency counted from when each request was due):\n",
            rated,
            "|---|---|---|---|---|---|---|",
        ]
        for variant, s in by_variant.items():
            lag = " / ".join(_fmt(s[f"rate_lag_{q}_ms"], ".2f") for q in ("p50", "p99", "max"))
            out.append(
                f"| {variant} | {_fmt(s['rate_rps'], '.0f')} | {_fmt(s['rate_p50_ms'], '.0f')} ms"
                f" | {_fmt(s['rate_p99_ms'], '.0f')} ms | {lag} ms"
                f" | {_fmt(s['rate_cpu_us_per_request'], '.0f')}"
                f" | {s.get('rate_gc_full', 0)} ({_fmt(s.get('rate_gc_full_max_ms'), '.0f')} ms) |"
            )
    out.append("\nGoals of issue 18:\n")
    routes = list(result["goals"])
    out += ["| goal | " + " | ".join(f"/{r}" for r in routes) + " |"]
    out.append("|---|" + "---|" * len(routes))
    names = dict.fromkeys(n for g in result["goals"].values() for n in g)
    for name in names:
        cells = []
        for route in result["goals"]:
            verdict = result["goals"][route].get(name)
            if verdict is None:
                cells.append("–")
            else:
                value, unit = verdict["value"], verdict["unit"]
                shown = {
                    "%": f"{value:.0%}",
                    "points": f"{value * 100:+.0f} points",
                    "ms": f"{value:+.2f} ms",
                }[unit]
                cells.append(f"{shown}: {'met' if verdict['met'] else 'NOT met'}")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out)
