"""A local OTLP/HTTP sink: accepts every export, answers 200, counts what it got.

Run as ``python -m benchmarks.service.sink``: binds 127.0.0.1 on a free port, prints
``port N`` on its first line, then serves until killed. ``GET /stats`` answers the
counts as JSON: requests and bytes per path (``/v1/traces``, ``/v1/metrics``,
``/v1/logs``). It runs in a process of its own, so it takes no GIL time from the
service under test; an empty body is a valid (empty) ``Export*ServiceResponse``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections import Counter

__all__ = ["main", "serve"]

_OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n"


async def _handle(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    requests: Counter[str],
    received: Counter[str],
) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path = lines[0].split(" ")[:2]
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            body = await reader.readexactly(length) if length else b""
            if method == "GET" and path == "/stats":
                data = json.dumps({"requests": requests, "bytes": received}).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )
            else:
                requests[path] += 1
                received[path] += len(body)
                writer.write(_OK)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def serve() -> None:
    """Serve on a free loopback port until cancelled; print ``port N`` first."""
    requests: Counter[str] = Counter()
    received: Counter[str] = Counter()
    server = await asyncio.start_server(
        lambda r, w: _handle(r, w, requests, received), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    print(f"port {port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> int:
    """Entry point of ``python -m benchmarks.service.sink``."""
    with contextlib.suppress(KeyboardInterrupt):  # stopped by the driver
        asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
