"""Real servers the tests start as subprocesses: wait until ready, stop cleanly."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx


def wait_until_ready(
    process: subprocess.Popen[bytes],
    client: httpx.Client,
    path: str,
    *,
    name: str,
    log: Path,
    timeout: float,
    interval: float,
    log_tail: int | None = None,
) -> None:
    """Poll ``path`` until it answers 200; fail with the server's log if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            msg = f"{name} exited with {process.returncode}: {log.read_text()}"
            raise RuntimeError(msg)
        try:
            if client.get(path).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(interval)
    text = log.read_text()
    msg = f"{name} not ready after {timeout} s: {text if log_tail is None else text[-log_tail:]}"
    raise RuntimeError(msg)


def stop_process(
    process: subprocess.Popen[bytes] | None, client: httpx.Client, *, grace: float
) -> None:
    """Close the client, then SIGTERM the server and SIGKILL it after ``grace`` seconds."""
    client.close()
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
