"""The real OpenTelemetry Collector, Jaeger v2 and Prometheus 3, as test subprocesses.

The binaries are the ones `tools/binaries.py` builds into its cache (`nox -s collector`
builds them first); `LANGCHAIN_OTEL_BIN_<KEY>` (e.g. `LANGCHAIN_OTEL_BIN_OTELCOL`) points a
test at another build. Every server listens on 127.0.0.1 only, on free ports, with its data
in the test's temporary folder, and is stopped by the test that started it.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from tools import binaries

from tests.dashboards._prometheus import REQUIRED, PrometheusServer, free_port
from tests.support.processes import stop_process, wait_until_ready

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "dashboards"
SHIPPED_CONFIGS = {
    "collector": DASHBOARDS / "collector.yaml",
    "agent": DASHBOARDS / "collector-agent.yaml",
    "gateway": DASHBOARDS / "collector-gateway.yaml",
}
#: Which binary runs which shipped config.
CONFIG_BINARY = {"collector": "otelcol", "agent": "otelcol-agent", "gateway": "otelcol"}


def binary(key: str) -> str | None:
    """The path of a built binary, or None when it is not built."""
    override = os.environ.get(f"LANGCHAIN_OTEL_BIN_{key.upper().replace('-', '_')}")
    path = Path(override) if override else binaries.BINARIES[key].path
    return str(path) if path.is_file() else None


MISSING = [key for key in binaries.BINARIES if binary(key) is None]
SKIP = bool(MISSING) and not REQUIRED
MISSING_REASON = (
    f"not built: {', '.join(MISSING)}; `nox -s collector` builds them "
    "(python tools/binaries.py build) and runs these tests"
)


def _require(key: str) -> str:
    path = binary(key)
    assert path is not None, MISSING_REASON
    return path


class Server:
    """A subprocess with a log file, started, killed and restarted on the same ports."""

    name = "server"
    ready_path = "/"

    def __init__(self, workdir: Path, argv: list[str], env: Mapping[str, str], port: int) -> None:
        self.workdir = workdir
        self.argv = argv
        self.env = {**os.environ, **env}
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        self.log = workdir / f"{self.name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 60) -> None:
        """Start (again) and wait until the readiness path answers 200."""
        self.starts += 1
        with self.log.open("ab") as log:
            log.write(f"--- start {self.starts} ---\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.workdir
            )
        wait_until_ready(
            self.process, self.client, self.ready_path,
            name=self.name, log=self.log, timeout=timeout, interval=0.2, log_tail=4000,
        )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL: the process dies with whatever it holds in memory."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM (a clean shutdown flushes), SIGKILL after 15 s; closes the client."""
        stop_process(self.process, self.client, grace=15)

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Collector(Server):
    """Our Collector distribution running one of the shipped configs, every address templated.

    The config file is the shipped one, unchanged: only its `${env:...}` variables are set
    (loopback ports, the backends' addresses, the logs file).
    """

    name = "otelcol"
    ready_path = "/"

    def __init__(
        self, workdir: Path, config: str = "collector", env: Mapping[str, str] | None = None
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.grpc_port = free_port()
        self.http_port = free_port()
        self.prometheus_port = free_port()
        self.telemetry_port = free_port()
        health_port = free_port()
        self.logs_file = workdir / "logs.jsonl"
        variables = {
            "COLLECTOR_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{self.grpc_port}",
            "COLLECTOR_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{self.http_port}",
            "COLLECTOR_PROMETHEUS_ENDPOINT": f"127.0.0.1:{self.prometheus_port}",
            "COLLECTOR_HEALTH_ENDPOINT": f"127.0.0.1:{health_port}",
            "COLLECTOR_TELEMETRY_HOST": "127.0.0.1",
            "COLLECTOR_TELEMETRY_PORT": str(self.telemetry_port),
            "COLLECTOR_LOGS_FILE": str(self.logs_file),
            "COLLECTOR_BATCH_TIMEOUT": "200ms",
            **(env or {}),
        }
        self.variables = variables
        self.config_path = SHIPPED_CONFIGS[config]
        argv = [_require(CONFIG_BINARY[config]), f"--config={self.config_path}"]
        super().__init__(workdir, argv, variables, health_port)
        self.name = f"otelcol-{config}"
        self.log = workdir / f"{self.name}.log"

    @property
    def http_endpoint(self) -> str:
        """The OTLP http/protobuf base URL."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_endpoint(self) -> str:
        """The OTLP gRPC URL."""
        return f"http://127.0.0.1:{self.grpc_port}"

    def own_metrics(self) -> dict[str, float]:
        """The Collector's internal metrics (`otelcol_*`), summed over their labels.

        Names without `_total` (v0.165 exposes `otelcol_receiver_refused_spans`, older
        releases `otelcol_receiver_refused_spans_total`).
        """
        text = httpx.get(f"http://127.0.0.1:{self.telemetry_port}/metrics", timeout=10).text
        return parse_metrics(text)


_SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text format -> name (without a `_total` suffix): sum of its samples."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match:
            name = match[1].removesuffix("_total")
            totals[name] = totals.get(name, 0.0) + float(match[3])
    return totals


def validate(
    config: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`otelcol validate --config=FILE`, output captured."""
    key = "otelcol-agent" if config.name == "collector-agent.yaml" else "otelcol"
    return subprocess.run(
        [_require(key), "validate", f"--config={config}"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


class Jaeger(Server):
    """Jaeger v2 with in-memory storage: OTLP/gRPC in, the query HTTP API out."""

    name = "jaeger"
    ready_path = "/api/services"

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.otlp_port = free_port()
        self.query_port = free_port()
        config = workdir / "jaeger.yaml"
        config.write_text(
            f"""\
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: []
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memory_store:
        memory:
          max_traces: 200000
  jaeger_query:
    storage:
      traces: memory_store
    http:
      endpoint: 127.0.0.1:{self.query_port}
    grpc:
      endpoint: 127.0.0.1:{free_port()}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{self.otlp_port}
exporters:
  jaeger_storage_exporter:
    trace_storage: memory_store
""",
            encoding="utf-8",
        )
        super().__init__(workdir, [_require("jaeger"), f"--config={config}"], {}, self.query_port)

    @property
    def otlp_address(self) -> str:
        """host:port of its OTLP/gRPC receiver (what a Collector's `otlp` exporter takes)."""
        return f"127.0.0.1:{self.otlp_port}"

    def traces(self, service: str, limit: int = 100_000) -> list[dict[str, Any]]:
        """Every trace of a service, through the query API (`GET /api/traces`)."""
        response = self.client.get(
            "/api/traces", params={"service": service, "limit": limit, "lookback": "1h"}
        )
        response.raise_for_status()
        data: list[dict[str, Any]] = response.json()["data"] or []
        return data

    def span_count(self, service: str) -> int:
        """How many spans of a service it stores."""
        return sum(len(trace["spans"]) for trace in self.traces(service))


def prometheus3(workdir: Path, *receivers: str, target: str | None = None) -> PrometheusServer:
    """A Prometheus 3 server (our build) with the given receivers enabled.

    ``receivers``: ``otlp`` (`--web.enable-otlp-receiver`, its defaults untouched) and/or
    ``remote-write`` (`--web.enable-remote-write-receiver`).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    flags = {
        "otlp": "--web.enable-otlp-receiver",
        "remote-write": "--web.enable-remote-write-receiver",
    }
    return PrometheusServer(
        workdir,
        target=target,
        job="otel-collector",
        binary=_require("prometheus"),
        args=tuple(flags[name] for name in receivers),
    )


def wait_for(predicate: Any, timeout: float, interval: float = 0.5) -> bool:
    """Poll ``predicate()`` until truthy or ``timeout`` seconds passed; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
