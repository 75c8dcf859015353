"""The benchmark driver: ``python -m benchmarks.run [--quick]`` (or ``nox -s bench``).

Starts one worker process per installed candidate, runs W1-W10 in interleaved rounds,
measures the floor in the same run, then memory growth and parenting for every
candidate; prints a Markdown report and writes the JSON to ``bench-results/``.

Exit code 0 when every candidate ran without error and our own rows passed the
parenting check; 1 otherwise. Missed goals are reported, not failed on: timings on a
shared machine are too noisy to gate CI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from opentelemetry.sdk.environment_variables import OTEL_METRICS_EXEMPLAR_FILTER

if __package__ in (None, ""):  # run as a script: python benchmarks/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import candidates as cand
from benchmarks import goals, measuring, reporting
from benchmarks.workloads import STREAM_TOKENS, WORKLOADS

__all__ = ["main"]

PACKAGES = (
    "langchain-core",
    "opentelemetry-sdk",
    "structlog",
    "langchain-otel",
    "openinference-instrumentation-langchain",
    "opentelemetry-instrumentation-langchain",
    "opentelemetry-instrumentation-genai-langchain",
    "langfuse",
)


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            names = [ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name")]
        if names:
            cpu = names[0]
    except OSError:  # pragma: no cover - not Linux
        pass
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run (< 2 min): few rounds, small sizes"
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 10, quick 2)")
    parser.add_argument(
        "--candidates",
        default=",".join(cand.CANDIDATES),
        help="comma-separated candidates (default: all installed)",
    )
    parser.add_argument(
        "--workloads", default=",".join(WORKLOADS), help="comma-separated, e.g. W1,W4"
    )
    parser.add_argument(
        "--invokes",
        type=int,
        help="memory check: invokes (default 100000, 1000000 for ours; quick 2000)",
    )
    parser.add_argument(
        "--astreams", type=int, help="memory check: astreams (default 10000, quick 200)"
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memory check")
    parser.add_argument(
        "--no-timing",
        action="store_true",
        help="skip the timed rounds (memory and parenting need no quiet machine)",
    )
    parser.add_argument("--no-parenting", action="store_true", help="skip the parenting check")
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="CANDIDATE=PATH",
        help="run CANDIDATE's worker with this interpreter (a venv of its own); repeatable",
    )
    parser.add_argument(
        "--profile",
        metavar="W1,W4",
        help="also profile these workloads (cProfile, one block) in every candidate but bare",
    )
    parser.add_argument(
        "--no-service", action="store_true", help="skip the service benchmark (issue 18)"
    )
    parser.add_argument(
        "--service-only", action="store_true", help="run only the service benchmark"
    )
    parser.add_argument(
        "--service-duration", type=float, help="service: seconds of load per route (15, quick 2)"
    )
    parser.add_argument("--service-rounds", type=int, help="service: rounds (default 2, quick 1)")
    parser.add_argument(
        "--service-gc-freeze",
        action="store_true",
        help="service: every variant calls gc.freeze() after its warm-up (a start-up knob)",
    )
    parser.add_argument(
        "--service-variants",
        metavar="ours-none,ours-otlp",
        help="service: only these variants (bare always runs; the by-exporter count of"
        " --instructions too); default all",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="only count instructions under callgrind: per op (steady figures for issue 15;"
        " default candidates bare,noop,floor,floor-causal,ours,openllmetry and workloads"
        " W1-W4,W6-W8,W11),"
        " then per service request by exporter, every thread (issue 18; --no-service skips"
        " it, --service-only runs only it)",
    )
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="what a block's time is: the worker's CPU time (default: steady on a shared"
        " machine, where other processes preempt ours) or wall time",
    )
    parser.add_argument(
        "--exemplar-filter",
        choices=("trace_based", "always_on", "always_off"),
        help="OTEL_METRICS_EXEMPLAR_FILTER for every candidate's worker (default: the SDK's,"
        " trace_based; always_off gives every candidate OpenLLMetry's metric outputs,"
        " which carry no exemplars); the service benchmark keeps its own environment",
    )
    parser.add_argument("--seed", type=int, default=20261126, help="seed of the interleaving order")
    parser.add_argument("--out", default="bench-results", help="folder for the JSON results")
    return parser.parse_args(argv)


def _service(args: argparse.Namespace, progress: Any) -> tuple[dict[str, Any], int]:
    """The service benchmark (issue 18): its result and exit code."""
    from benchmarks.service import driver

    load = os.getloadavg()
    result = driver.run(
        quick=args.quick,
        rounds=args.service_rounds,
        duration=args.service_duration,
        progress=progress,
        gc_freeze=args.service_gc_freeze,
        **({"variants": tuple(args.service_variants.split(","))} if args.service_variants else {}),
    )
    result["loadavg_before"], result["loadavg_after"] = load, os.getloadavg()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "service-latest.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"\n## Service benchmark (load average before/after {load[0]:.2f} / ", end="")
    print(f"{result['loadavg_after'][0]:.2f})\n")
    print(driver.render(result))
    # Timeouts under a loaded machine are reported, not failed on; a variant that served
    # nothing at all is broken.
    served = [s["requests"] for by in result["summary"].values() for s in by.values()]
    return result, 0 if served and min(served) > 0 else 1


def _instructions(args: argparse.Namespace, argv: list[str]) -> int:
    """Instructions under callgrind (``--instructions``): print and save them.

    Per op of each workload, then per request of the service's chain by exporter
    (``--no-service`` skips it, ``--service-only`` runs only it).
    """
    from benchmarks import instructions
    from benchmarks.service import instructions as service_instructions

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    code = 0
    if not args.service_only:
        given = {a.split("=")[0] for a in argv}
        names = args.candidates.split(",") if "--candidates" in given else None
        wids = args.workloads.split(",") if "--workloads" in given else None
        pythons = dict(item.partition("=")[::2] for item in args.python)
        result = instructions.run(
            [c for c in (names or instructions.DEFAULT_CANDIDATES) if cand.available(c)],
            list(wids or instructions.DEFAULT_WORKLOADS),
            pythons=pythons,
            progress=_progress,
        )
        result["exemplar_filter"] = args.exemplar_filter  # None: the SDK's default
        (out / "instructions-latest.json").write_text(
            json.dumps(result, indent=2), encoding="utf-8"
        )
        print("\n## Instructions per op (callgrind)\n")
        if args.exemplar_filter:
            print(f"Every candidate with OTEL_METRICS_EXEMPLAR_FILTER={args.exemplar_filter}.\n")
        print(instructions.render(result))
        code = 1 if any("error" in r for r in result["candidates"].values()) else 0
    if args.no_service:
        return code
    variants = service_instructions.VARIANTS
    if args.service_variants:  # a subset, as for the timed service benchmark (bare always)
        asked = set(args.service_variants.split(","))
        variants = tuple(v for v in variants if v == "bare" or v in asked)
    service = service_instructions.run(variants, progress=_progress)
    (out / "service-instructions-latest.json").write_text(
        json.dumps(service, indent=2), encoding="utf-8"
    )
    print("\n## Instructions per service request, by exporter (callgrind)\n")
    print(service_instructions.render(service))
    failed = any(
        "error" in row for route in service["routes"].values() for row in route["summary"].values()
    )
    return max(code, 1 if failed else 0)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; see ``--help``."""
    args = _parse(argv)
    _exemplar_filter(args)
    if args.instructions:
        return _instructions(args, sys.argv[1:] if argv is None else argv)
    if args.service_only:
        return _service(args, _progress)[1]
    code = _micro(args)
    if args.no_service:
        return code
    return max(code, _service(args, _progress)[1])


def _exemplar_filter(args: argparse.Namespace) -> None:
    """``--exemplar-filter``: every worker inherits it (their environment is ours)."""
    if args.exemplar_filter:
        os.environ[OTEL_METRICS_EXEMPLAR_FILTER] = args.exemplar_filter


def _progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _micro(args: argparse.Namespace) -> int:
    """The microbenchmarks (issues 6 and 15): W1-W10, floor, memory, parenting."""
    quick = args.quick
    rounds = args.rounds or (2 if quick else 10)
    invokes = args.invokes if args.invokes is not None else (2000 if quick else 100_000)
    # Goal 7 of issue 15: ours stays flat over a million runs.
    ours_invokes = args.invokes if args.invokes is not None else (2000 if quick else 1_000_000)
    astreams = args.astreams if args.astreams is not None else (200 if quick else 10_000)
    wanted = [c.strip() for c in args.candidates.split(",") if c.strip()]
    unknown = [c for c in wanted if c not in cand.CANDIDATES]
    if unknown:
        print(f"unknown candidates {unknown}; known: {', '.join(cand.CANDIDATES)}", file=sys.stderr)
        return 2
    if "bare" not in wanted:
        wanted.insert(0, "bare")
    pythons: dict[str, str] = {}
    for item in args.python:
        name, sep, path = item.partition("=")
        if not sep or name not in cand.CANDIDATES:
            print(f"--python wants CANDIDATE=PATH, got {item!r}", file=sys.stderr)
            return 2
        pythons[name] = path
    names = [c for c in wanted if c in pythons or cand.available(c)]
    missing = sorted(set(wanted) - set(names))
    workload_ids = [w.strip() for w in args.workloads.split(",") if w.strip()]
    bad = [w for w in workload_ids if w not in WORKLOADS]
    if bad:
        print(f"unknown workloads {bad}; known: {', '.join(WORKLOADS)}", file=sys.stderr)
        return 2

    progress = _progress
    started_at = dt.datetime.now(dt.timezone.utc)
    load_before = os.getloadavg()
    if missing:
        progress(f"not installed, skipped: {', '.join(missing)}")
    progress(f"candidates: {', '.join(names)}; {rounds} rounds of {', '.join(workload_ids)}")
    result: dict[str, Any] = {
        "date": started_at.isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "clock": args.clock,
        "rounds": rounds,
        "seed": args.seed,
        "machine": _machine(),
        "versions": {p: cand.package_version(p) for p in PACKAGES},
        "interpreters": {n: pythons.get(n, sys.executable) for n in names},
        "candidates": names,
        "skipped": missing,
        "workloads": workload_ids,
        "stream_tokens": STREAM_TOKENS,
    }
    with measuring.started(names, pythons) as (workers, failed):
        progress("workers ready" + (f"; failed to start: {', '.join(failed)}" if failed else ""))
        if "bare" not in workers:
            progress("the bare worker did not start: nothing to compare with")
            return 1
        for worker in workers.values():
            for package, found in worker.versions.items():
                if found and not result["versions"].get(package):
                    result["versions"][package] = found
        samples, floors = measuring.run_rounds(
            workers,
            [] if args.no_timing else workload_ids,
            rounds=0 if args.no_timing else rounds,
            quick=quick,
            seed=args.seed,
            clock=args.clock,
            progress=progress,
        )
        parenting: dict[str, Any] = {}
        if not args.no_parenting:
            for name, worker in workers.items():
                candidate = cand.CANDIDATES[name]
                if name == "bare" or candidate.is_reference or not candidate.checks_parenting:
                    continue
                reply = worker.ask(cmd="parenting")
                parenting[name] = reply.get("parenting") or {
                    "llm": reply.get("error"),
                    "chat": reply.get("error"),
                }
            progress("parenting checked")
        memory: dict[str, Any] = {}
        if not args.no_memory:  # not timed: all candidates at once
            for name, worker in workers.items():
                count = ours_invokes if name == "ours" else invokes
                worker.send(cmd="memory", invokes=count, astreams=astreams)
            for name, worker in workers.items():
                reply = worker.receive()
                memory[name] = reply.get("memory") or {"error": reply.get("error")}
            progress("memory measured")
        profiles: dict[str, dict[str, str]] = {}
        for wid in [w for w in (args.profile or "").split(",") if w]:
            for name, worker in workers.items():
                if name == "bare" or not worker.runs(WORKLOADS[wid]):
                    continue
                reps = WORKLOADS[wid].reps(quick=quick)
                reply = worker.ask(
                    cmd="profile", workload=wid, reps=reps, candidate=name, out=args.out
                )
                profiles.setdefault(name, {})[wid] = reply.get("profile") or str(reply.get("error"))
            progress(f"profiled {wid}")
        errors = {n: w.errors for n, w in workers.items() if w.errors}
        errors.update({n: [f"did not start: {why}"] for n, why in failed.items()})

    tokens = {w.id: w.tokens for w in WORKLOADS.values()}
    table = reporting.cells(samples, tokens)
    order = {n: i for i, n in enumerate(names)}
    table.sort(key=lambda c: (workload_ids.index(c.workload), order[c.candidate]))
    floor_us = [f["ns"] / f["reps"] / 1000 for f in floors]
    q1, median, q3 = reporting.quartiles(floor_us) if floor_us else (0.0, 0.0, 0.0)
    result.update(
        {
            "cells": [c.as_dict() for c in table],
            "goals": reporting.goal_verdicts(table, WORKLOADS),
            "goals_issue15": goals.judge(samples, {w: WORKLOADS[w] for w in workload_ids}, memory),
            "floor": {"us_median": median, "us_q1": q1, "us_q3": q3, "rounds": len(floor_us)}
            if floor_us
            else None,
            "parenting": parenting,
            "profiles": profiles,
            "memory": memory,
            "errors": errors,
            "samples": [s.__dict__ for s in samples],
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
            "seconds": (dt.datetime.now(dt.timezone.utc) - started_at).total_seconds(),
        }
    )
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    path = out_dir / f"bench-{result['mode']}-{stamp}.json"
    text = json.dumps(result, indent=2, default=str)
    path.write_text(text, encoding="utf-8")
    (out_dir / "latest.json").write_text(text, encoding="utf-8")

    m = result["machine"]
    print(
        f"# langchain-otel benchmark ({result['mode']}, {rounds} rounds, {args.clock} time)"
        f" — {result['date']}"
    )
    print(
        f"\nMachine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, "
        f"Python {m['python']}, {m['platform']}."
    )
    print("Versions: " + ", ".join(f"{p} {v}" for p, v in result["versions"].items() if v) + ".")
    print(f"Load average before/after: {load_before[0]:.2f} / {result['loadavg_after'][0]:.2f}.\n")
    print(reporting.render(result, WORKLOADS))
    print()
    print(goals.render(result["goals_issue15"], WORKLOADS))
    if missing:
        print(f"\nNot installed, skipped: {', '.join(missing)}.")
    for name, by_workload in profiles.items():
        for wid, text in by_workload.items():
            print(f"\n## Profile: {name} {wid} (pstats in {args.out}/)\n\n```\n{text.strip()}\n```")
    print(f"\nJSON: {path}  ({result['seconds']:.0f} s)")

    ours_parenting = [v for n, v in parenting.items() if n.startswith("ours")]
    bad_parenting = any(
        verdict not in ("ok", "n/a") for v in ours_parenting for verdict in v.values()
    )
    ours_errors = any(n.startswith("ours") or n == "bare" for n in errors)
    if errors:
        progress(f"errors: {errors}")
    return 1 if (bad_parenting or ours_errors) else 0


if __name__ == "__main__":
    raise SystemExit(main())
