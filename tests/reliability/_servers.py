"""Misbehaving OTLP/HTTP backends on 127.0.0.1 for the exporter-fault tests."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.reliability._support import free_port


class _Handler(BaseHTTPRequestHandler):
    server: FaultyCollector

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        server = self.server
        with server.lock:
            server.requests += 1
            server.paths[self.path] = server.paths.get(self.path, 0) + 1
        if server.delay:
            time.sleep(server.delay)
        status = server.status
        self.send_response(status)
        if status == 429 and server.retry_after is not None:
            self.send_header("Retry-After", server.retry_after)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class FaultyCollector(ThreadingHTTPServer):
    """An OTLP/HTTP endpoint answering ``status`` after ``delay`` seconds to every POST."""

    daemon_threads = True

    def __init__(self, status: int = 200, delay: float = 0.0, retry_after: str | None = None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = status
        self.delay = delay
        self.retry_after = retry_after
        self.requests = 0
        self.paths: dict[str, int] = {}
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> FaultyCollector:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()


class BlackHole:
    """Accepts TCP connections and never reads or answers."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self.requests = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _accept(self) -> None:
        self._sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.requests += 1
            self._held.append(conn)

    def __enter__(self) -> BlackHole:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._held:
            conn.close()
        self._sock.close()


class Refused:
    """A loopback port nobody listens on: connection refused."""

    requests = 0

    def __init__(self) -> None:
        self.endpoint = f"http://127.0.0.1:{free_port()}"

    def __enter__(self) -> Refused:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Nothing to close."""
