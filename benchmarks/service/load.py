"""The load generator: Debian's ``wrk`` when installed, else a bounded asyncio client.

Both keep ``connections`` keep-alive HTTP/1.1 connections busy on one URL for
``duration`` seconds and report requests per second and latency percentiles. The
asyncio client also stops after ``max_requests``; run it in a process of its own
(``python -m benchmarks.service.load URL ...`` prints its result as JSON) so it does not
share the service's GIL.

:func:`rate_load` is the other mode: a fixed request rate (open loop: request ``i`` is
due at ``i / rate`` seconds, whatever the earlier ones did), below saturation, so that
the service's event-loop lag shows what blocks the loop rather than how much work is
queued on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

__all__ = [
    "LoadResult",
    "client_load",
    "client_rate",
    "parse_wrk",
    "rate_load",
    "run_load",
    "wrk_load",
]


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured."""

    tool: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip()).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> LoadResult:
    """Parse ``wrk --latency`` output.

    Example:
        >>> text = '''Running 2s test @ http://127.0.0.1:1/invoke
        ...   Latency Distribution
        ...      50%   78.10ms
        ...      99%    1.02s
        ...   1466 requests in 2.00s, 250.00KB read
        ...   Socket errors: connect 0, read 0, write 0, timeout 3
        ...   Non-2xx or 3xx responses: 2
        ... Requests/sec:    732.97'''
        >>> r = parse_wrk(text)
        >>> r.requests, r.rps, r.p50_ms, r.p99_ms, r.errors
        (1466, 732.97, 78.1, 1020.0, 5)
    """
    percentiles = dict(re.findall(r"^\s*(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not (done and rps):
        msg = f"cannot read wrk's output:\n{output}"
        raise RuntimeError(msg)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors += int(bad.group(1)) if bad else 0
    return LoadResult(
        tool="wrk",
        requests=int(done.group(1)),
        seconds=_ms(done.group(2) + done.group(3)) / 1000,
        rps=float(rps.group(1)),
        p50_ms=_ms(percentiles["50"]) if "50" in percentiles else None,
        p99_ms=_ms(percentiles["99"]) if "99" in percentiles else None,
        errors=errors,
    )


def wrk_load(url: str, *, connections: int, duration: float) -> LoadResult:
    """``wrk -t1 -cN -dSs --latency URL`` (one thread: the machine has two cores)."""
    seconds = max(1, round(duration))
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    done = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode:
        msg = f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
        raise RuntimeError(msg)
    return parse_wrk(done.stdout)


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response (Content-Length or chunked); return its status."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status = int(head.split(" ", 2)[1])
    lower = head.lower()
    match = re.search(r"content-length:\s*(\d+)", lower)
    if match:
        await reader.readexactly(int(match.group(1)))
    elif "transfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


def _get_request(url: str) -> tuple[str, int, bytes]:
    """``url``'s host and port, and the keep-alive ``GET`` request sent for it."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    return host, port, request


def _result(tool: str, latencies: list[float], seconds: float, errors: int) -> LoadResult:
    """Requests per second and the p50/p99 latency (ms) of one load run."""
    ordered = sorted(latencies)

    def pct(q: float) -> float | None:
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000 if ordered else None

    return LoadResult(
        tool, len(ordered), seconds, len(ordered) / seconds, pct(0.5), pct(0.99), errors
    )


async def client_load(
    url: str, *, connections: int, duration: float, max_requests: int = 1_000_000
) -> LoadResult:
    """Keep ``connections`` connections busy until ``duration`` or ``max_requests``."""
    host, port, request = _get_request(url)
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    deadline = started + duration

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline and len(latencies) < max_requests:
                sent = time.perf_counter()
                writer.write(request)
                status = await _read_response(reader)
                latencies.append(time.perf_counter() - sent)
                errors += status >= 400
        except (OSError, asyncio.IncompleteReadError):
            errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return _result("asyncio-client", latencies, time.perf_counter() - started, errors)


async def client_rate(
    url: str, *, rate: float, duration: float, connections: int = 64
) -> LoadResult:
    """Send ``rate`` requests per second for ``duration`` seconds (open loop).

    Request ``i`` is due at ``i / rate``; it waits for a free keep-alive connection of
    the pool (``connections``), and its latency counts from when it was due, so a
    service that falls behind shows it in p99.
    """
    host, port, request = _get_request(url)
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection(host, port))
    latencies: list[float] = []
    errors = 0

    async def one(due: float) -> None:
        nonlocal errors
        reader, writer = await pool.get()
        try:
            writer.write(request)
            status = await _read_response(reader)
            latencies.append(time.perf_counter() - due)
            errors += status >= 400
        except (OSError, asyncio.IncompleteReadError):
            errors += 1
            reader, writer = await asyncio.open_connection(host, port)
        finally:
            pool.put_nowait((reader, writer))

    started = time.perf_counter()
    tasks = []
    for index in range(max(1, round(rate * duration))):
        due = started + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - started
    while not pool.empty():
        pool.get_nowait()[1].close()
    return _result("asyncio-rate", latencies, seconds, errors)


def rate_load(url: str, *, rate: float, duration: float) -> LoadResult:
    """:func:`client_rate` in a process of its own (so it does not share the GIL)."""
    command = [sys.executable, "-m", "benchmarks.service.load", url]
    command += [f"--rate={rate}", f"--duration={duration}"]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 60, check=True
    )
    return LoadResult(**json.loads(done.stdout))


def run_load(url: str, *, connections: int, duration: float, tool: str = "auto") -> LoadResult:
    """Saturate ``url``: ``wrk`` if installed (or ``tool="wrk"``), else the asyncio client."""
    if tool == "wrk" or (tool == "auto" and shutil.which("wrk")):
        return wrk_load(url, connections=connections, duration=duration)
    command = [sys.executable, "-m", "benchmarks.service.load", url]
    command += [f"--connections={connections}", f"--duration={duration}"]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 60, check=True
    )
    return LoadResult(**json.loads(done.stdout))


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.service.load URL``: the asyncio client; JSON on stdout.

    ``--rate R``: a fixed rate of R requests per second instead of saturating.
    """
    parser = argparse.ArgumentParser(prog="benchmarks.service.load")
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, help="fixed requests per second (open loop)")
    args = parser.parse_args(argv)
    if args.rate:
        rated = client_rate(
            args.url, rate=args.rate, duration=args.duration, connections=args.connections
        )
        print(json.dumps(asdict(asyncio.run(rated))))
        return 0
    result = asyncio.run(
        client_load(
            args.url,
            connections=args.connections,
            duration=args.duration,
            max_requests=args.max_requests,
        )
    )
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
