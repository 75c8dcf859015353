"""A real Prometheus server on 127.0.0.1 for the tests, and its HTTP API."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.processes import stop_process, wait_until_ready

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
#: The dedicated nox sessions set this: a missing server then fails instead of skipping.
REQUIRED = os.environ.get("LANGCHAIN_OTEL_REQUIRE_SERVERS") == "1"
SKIP = (PROMETHEUS is None or PROMTOOL is None) and not REQUIRED
MISSING_REASON = (
    "the `prometheus`/`promtool` binaries are not installed; "
    "`nox -s dashboards` installs them (apt-get install -y prometheus) and runs this test"
)


def _ephemeral_range() -> tuple[int, int]:
    """The kernel's range for ``bind(0)`` and outgoing connections' source ports."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


_EPHEMERAL = _ephemeral_range()
_handed_out: set[int] = set()
_random = random.Random()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, and not handed out before.

    Servers get their ports before any of them starts, and a server started first opens
    connections whose source ports come from the kernel's ephemeral range: a port picked
    there with ``bind(0)`` could be taken by one of them before its own server binds it
    ("address already in use"). So ports come from outside that range, where neither
    ``bind(0)`` nor an outgoing connection lands, and never twice in one test run.
    """
    first, last = _EPHEMERAL
    for _ in range(1000):
        port = _random.randint(10000, 65535)
        if port in _handed_out or first <= port <= last:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    msg = f"no free port on 127.0.0.1 in 10000-65535 outside {first}-{last}"
    raise RuntimeError(msg)


class PrometheusServer:
    """`prometheus` scraping one target every second, with a throwaway data directory."""

    def __init__(
        self,
        workdir: Path,
        *,
        target: str | None = None,
        job: str = "",
        binary: str | None = None,
        args: tuple[str, ...] = (),
        config: str = "",
    ) -> None:
        """Scrape ``target`` as ``job`` (or nothing), with ``binary`` and extra ``args``.

        ``config`` is appended to the generated prometheus.yml (e.g. an ``otlp:`` section).
        """
        self.workdir = workdir
        self.binary = binary or PROMETHEUS
        self.args = args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = workdir / "prometheus.yml"
        scrape = (
            "scrape_configs:\n"
            f"  - job_name: {job}\n"
            "    honor_labels: true\n"
            "    static_configs:\n"
            f"      - targets: ['{target}']\n"
            if target
            else ""
        )
        self.config.write_text(
            "global:\n"
            "  scrape_interval: 1s\n"
            "  scrape_timeout: 1s\n"
            "  evaluation_interval: 1s\n" + scrape + config,
            encoding="utf-8",
        )
        self.log = workdir / "prometheus.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.url, timeout=10)

    def start(self, timeout: float = 30) -> None:
        """Start the server and wait until it answers `/-/ready`."""
        assert self.binary, MISSING_REASON
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={self.config}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--storage.tsdb.retention.time=1h",
                    "--log.level=warn",
                    *self.args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until_ready(
            self._process, self.client, "/-/ready",
            name="prometheus", log=self.log, timeout=timeout, interval=0.2,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s)."""
        stop_process(self._process, self.client, grace=10)

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        response = self.client.get(path, params=params)
        body = response.json()
        if response.status_code != 200 or body.get("status") != "success":
            msg = f"{path} {params} -> {response.status_code}: {body}"
            raise AssertionError(msg)
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Evaluate an instant query now; the result vector."""
        data = self._get("/api/v1/query", {"query": expr})
        assert data["resultType"] == "vector", data
        result: list[dict[str, Any]] = data["result"]
        return result

    def query_range(self, expr: str, seconds: int) -> list[dict[str, Any]]:
        """Evaluate a range query over the last `seconds`, one step a second."""
        end = time.time()
        data = self._get(
            "/api/v1/query_range",
            {"query": expr, "start": end - seconds, "end": end, "step": "1s"},
        )
        result: list[dict[str, Any]] = data["result"]
        return result

    def label_values(self, label: str, match: str) -> list[str]:
        """What Grafana's `label_values(match, label)` lists."""
        values: list[str] = self._get(f"/api/v1/label/{label}/values", {"match[]": match})
        return values

    def targets_up(self) -> bool:
        """Whether every scrape target is up."""
        data = self._get("/api/v1/targets", {"state": "active"})
        active = data["activeTargets"]
        return bool(active) and all(target["health"] == "up" for target in active)
