"""Instructions per service request by exporter, every thread counted (issue 18).

The workloads' counts (``benchmarks/instructions.py``) count the calling thread inside
each block, so an exporter's own threads (the batch span processor's, the periodic
metric reader's) are outside them. This count runs the service's chain (``prompt |
EchoLLM(n=40) | parser``, no simulated delays) for each of the service's routes
(:data:`ROUTES`: awaited as ``/invoke`` does, streamed as ``/stream`` does) configured
as each service variant configures it (``benchmarks/service/app.py``'s ``setup``:
``configure()`` then ``instrument()``, exporting to a local sink), in one process per
variant, route and size under
``valgrind --tool=callgrind``, every thread counted from start to exit. Each variant
runs :data:`SHORT` and :data:`LONG` requests after the same warm-up; the difference of
the two totals over :data:`LONG` − :data:`SHORT` is what one request costs, with
start-up, imports, the first export and shutdown cancelled out.

So that both sizes export the same way, the batch span processor's schedule and the
metric reader's interval are set past the run (``OTEL_BSP_SCHEDULE_DELAY``,
``OTEL_METRIC_EXPORT_INTERVAL``): every span is exported by the final flush, in one
batch (:data:`LONG` requests make 500 spans, under the batch size of 512), and metrics
once. The heap is frozen after the warm-up, as in the workloads' counts.

``python -m benchmarks.run --instructions --service-only`` (``nox -s bench --
--instructions``, after the workloads). Instructions are not time, but they repeat from
run to run: the "share of bare if CPU-bound" column is what the service would serve
at saturation if nothing but these instructions mattered.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.service import driver

__all__ = ["LONG", "ROUTES", "SHORT", "VARIANTS", "render", "run", "summarise", "worker"]

VARIANTS = (
    "bare",
    "noop",
    "ours-none",
    "ours-otlp",
    "ours-otlp-json",
    "ours-embedded",
    "openllmetry",
)
"""What is counted: the service benchmark's variants, FastAPI's own telemetry aside."""

ROUTES = driver.ROUTES
"""The service's routes: ``/invoke`` awaits ``chain.ainvoke``, ``/stream`` iterates
``chain.astream`` (40 chunks from the model through the parser)."""

SHORT = 50
LONG = 250
"""Requests counted per variant, after the warm-up: two runs, the difference is per request."""

WARM_REQUESTS = 64
"""Requests before the counted ones: every function quickened and specialized (as in
``benchmarks/instructions.py``)."""

PAST_THE_RUN_MS = "86400000"
"""The batch schedule and metric interval of the counted workers: a day, past any run."""


def worker(variant: str, route: str, requests: int, sink_port: int, directory: str) -> None:
    """In the process callgrind runs: set ``variant`` up, warm up, serve, flush and stop."""
    from benchmarks.service.app import QUESTION, setup
    from benchmarks.workloads import build_models

    if route not in ROUTES:
        msg = f"route {route!r}: not one of {', '.join(ROUTES)}"
        raise ValueError(msg)
    stop = setup(variant, sink_port=sink_port, directory=directory)
    chain = build_models().service_chain
    question = {"question": QUESTION}

    async def serve(count: int) -> None:
        for _ in range(count):
            if route == "invoke":
                await chain.ainvoke(question)
            else:
                async for _chunk in chain.astream(question):
                    pass

    loop = asyncio.new_event_loop()
    loop.run_until_complete(serve(WARM_REQUESTS))
    gc.collect()
    gc.freeze()
    loop.run_until_complete(serve(requests))
    stop()  # flush and shut down: every span and point of the run exported
    loop.close()


def _count(variant: str, route: str, requests: int, sink_port: int, folder: Path) -> int | str:
    """Every instruction of one worker process (all threads): the total, or an error."""
    from benchmarks import instructions

    out = folder / f"callgrind.{variant}.{route}.{requests}"
    directory = folder / f"files.{variant}.{route}.{requests}"
    directory.mkdir()
    env = {
        **driver.worker_env(),  # the service's own environment, none of the caller's OTEL_*
        "OTEL_BSP_SCHEDULE_DELAY": PAST_THE_RUN_MS,
        "OTEL_METRIC_EXPORT_INTERVAL": PAST_THE_RUN_MS,
    }
    arguments = ["-m", "benchmarks.service.instructions", "--worker", variant, route]
    arguments += [str(requests), str(sink_port), str(directory)]
    done = instructions.callgrind(arguments, out, env, python=sys.executable)
    if isinstance(done, str):
        return done
    counted = instructions.totals(out)
    return f"no totals in {out.name}" if counted is None else counted


def run(
    variants: tuple[str, ...] = VARIANTS,
    routes: tuple[str, ...] = ROUTES,
    *,
    progress: Any = lambda _: None,
) -> dict[str, Any]:
    """Count every variant on every route at both sizes; per route, totals and summary.

    Two processes run at a time: the machine has two cores.
    """
    from benchmarks import candidates

    wanted = [v for v in variants if v != "openllmetry" or candidates.available("openllmetry")]
    totals: dict[str, dict[str, dict[str, Any]]] = {r: {v: {} for v in wanted} for r in routes}
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="langchain-otel-service-callgrind-") as tmp,
        driver.sink_process() as port,
        concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool,
    ):
        futures = {
            (route, variant, size): pool.submit(_count, variant, route, size, port, Path(tmp))
            for route in routes
            for variant in wanted
            for size in (SHORT, LONG)
        }
        for (route, variant, size), future in futures.items():
            totals[route][variant][str(size)] = future.result()
            progress(f"service instructions: /{route} {variant} × {size} counted")
    return {
        "short": SHORT,
        "long": LONG,
        "routes": {
            route: {"totals": by_variant, "summary": summarise(by_variant)}
            for route, by_variant in totals.items()
        },
        "seconds": time.monotonic() - started,
    }


def summarise(totals: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per variant: instructions per request, × bare and share of bare (or the error).

    Example:
        >>> rows = summarise({"bare": {"50": 1_000, "250": 3_000},
        ...                   "ours-none": {"50": 1_200, "250": 3_700}})
        >>> rows["ours-none"]
        {'per_request': 12.5, 'times_bare': 1.25, 'share_of_bare': 0.8}
    """
    summary: dict[str, dict[str, Any]] = {}
    for variant, by_size in totals.items():
        short, long = by_size.get(str(SHORT)), by_size.get(str(LONG))
        if not isinstance(short, int) or not isinstance(long, int):
            errors = [v for v in (short, long) if not isinstance(v, int)]
            summary[variant] = {"error": str(errors[0])}
            continue
        summary[variant] = {"per_request": (long - short) / (LONG - SHORT)}
    bare = summary.get("bare", {}).get("per_request")
    for row in summary.values():
        if bare and "per_request" in row:
            row["times_bare"] = row["per_request"] / bare
            row["share_of_bare"] = bare / row["per_request"]
    return summary


def render(result: dict[str, Any]) -> str:
    """The by-exporter tables (one per route) as Markdown, issue 18's goals judged on them."""
    out = [
        f"Instructions per request of the service's chain, every thread ({result['long']} − "
        f"{result['short']} requests, callgrind); issue 18's goal as a share of bare."
    ]
    for route, counted in result["routes"].items():
        out += ["", f"/{route}:", "", *_route_table(counted["summary"])]
    return "\n".join(out)


def _route_table(summary: dict[str, dict[str, Any]]) -> list[str]:
    """One route's rows, and the embedded default against OTLP on it."""
    out = [
        "| variant | instructions per request | × bare | share of bare if CPU-bound | goal |",
        "|---|---|---|---|---|",
    ]
    for variant, row in summary.items():
        if "error" in row:
            out.append(f"| {variant} | {row['error'].splitlines()[0]} | – | – | – |")
            continue
        share = row.get("share_of_bare")
        wanted = driver.GOAL_RPS.get(variant)
        verdict = "–"
        if wanted is not None and share is not None:
            verdict = f"≥ {wanted:.0%}: " + ("met" if share >= wanted else "NOT met")
        out.append(
            f"| {variant} | {row['per_request'] / 1e6:.2f} M | {row.get('times_bare', 0):.2f}"
            f" | {'–' if share is None else f'{share:.0%}'} | {verdict} |"
        )
    embedded = summary.get("ours-embedded", {}).get("per_request")
    otlp = summary.get("ours-otlp", {}).get("per_request")
    if embedded and otlp:
        verdict = "met" if embedded <= otlp else "NOT met"
        out.append(
            f"\nThe embedded default never costs more than OTLP: {embedded / otlp:.3f}× OTLP"
            f" ({verdict})"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.service.instructions --worker VARIANT ROUTE N PORT DIR``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 6 or args[0] != "--worker":
        print(
            "usage: python -m benchmarks.service.instructions --worker VARIANT ROUTE N PORT DIR",
            file=sys.stderr,
        )
        return 2
    worker(args[1], args[2], int(args[3]), int(args[4]), args[5])
    return 0


if __name__ == "__main__":
    sys.exit(main())
