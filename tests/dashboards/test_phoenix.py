"""The workload's spans, exported over OTLP/HTTP, arrive intact in a real Arize Phoenix.

Runs `phoenix serve` on 127.0.0.1 (free ports, throwaway working directory), sends the spans
of the instrumented EchoLLM workload (through the real handler) with the official
`opentelemetry-exporter-otlp-proto-http` exporter, and reads them back through Phoenix's REST
API (`GET /v1/projects/{project}/spans`). Each span is compared with the copy an in-memory
exporter kept: ids, names, parents, status and every `gen_ai.*` / `langchain_otel.*`
attribute must survive the trip.

A second test runs the CLI itself, `langchain-otel demo --endpoint URL`, against the same
server and checks the demo's traces.

Skipped when the `phoenix` command is missing; `nox -s phoenix` installs `arize-phoenix`
into its own environment and runs this test.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from langchain_otel import OTelCallbackHandler
from tests.dashboards._prometheus import REQUIRED, free_port
from tests.dashboards._workload import MODELS, Workload, WorkloadError
from tests.support.processes import stop_process, wait_until_ready

PHOENIX = shutil.which("phoenix")
MISSING_REASON = (
    "the `phoenix` command (arize-phoenix) is not installed; "
    "`nox -s phoenix` installs it and runs this test"
)
pytestmark = [
    pytest.mark.phoenix,
    pytest.mark.skipif(PHOENIX is None and not REQUIRED, reason=MISSING_REASON),
]

PROJECT = "langchain-otel-tests"
START_TIMEOUT_S = 180
OURS = ("gen_ai.", "langchain_otel.", "langchain.", "error.type")


class Phoenix:
    """`phoenix serve` on 127.0.0.1 with its own ports and working directory."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "phoenix.log"
        self.env = {
            **os.environ,
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_PORT": str(self.port),
            "PHOENIX_GRPC_PORT": str(free_port()),
            "PHOENIX_WORKING_DIR": str(workdir),
            "PHOENIX_TELEMETRY_ENABLED": "false",
        }
        self.client = httpx.Client(base_url=self.url, timeout=30)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until `/healthz` answers."""
        assert PHOENIX is not None, MISSING_REASON
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                [PHOENIX, "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_until_ready(
            self._process, self.client, "/healthz",
            name="phoenix", log=self.log, timeout=START_TIMEOUT_S, interval=0.5, log_tail=4000,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 20 s)."""
        stop_process(self._process, self.client, grace=20)

    def spans(self, project: str) -> list[dict[str, Any]]:
        """Every span of a project, through the REST API (following the cursor)."""
        spans: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 1000}
            if cursor:
                params["cursor"] = cursor
            response = self.client.get(f"/v1/projects/{project}/spans", params=params)
            if response.status_code == 404:
                return []
            response.raise_for_status()
            body = response.json()
            spans += body["data"]
            cursor = body.get("next_cursor")
            if not cursor:
                return spans


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phoenix]:
    """A running Phoenix server."""
    server = Phoenix(tmp_path_factory.mktemp("phoenix"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _make_handler(tracer_provider: TracerProvider) -> OTelCallbackHandler:
    return OTelCallbackHandler(tracer_provider=tracer_provider, meter_provider=MeterProvider())


@pytest.fixture(scope="module")
def exported(phoenix: Phoenix) -> tuple[list[ReadableSpan], dict[str, dict[str, Any]]]:
    """(the spans as the SDK ended them, Phoenix's copies by span id)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": "langchain-otel-tests", "openinference.project.name": PROJECT}
        )
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{phoenix.url}/v1/traces"))
    )
    workload = Workload([_make_handler(provider)])
    for _ in range(2):
        asyncio.run(workload.run_round())
    assert provider.force_flush(30_000)
    provider.shutdown()
    sent = list(memory.get_finished_spans())
    deadline = time.monotonic() + 60
    received: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        received = {span["context"]["span_id"]: span for span in phoenix.spans(PROJECT)}
        if len(received) >= len(sent):
            break
        time.sleep(0.5)
    return sent, received


def _hex_span(span_id: int) -> str:
    return f"{span_id:016x}"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    if isinstance(a, tuple | list):
        return list(a) == list(b)
    return bool(a == b)


def test_every_span_arrives(exported: tuple[list[ReadableSpan], dict[str, Any]]) -> None:
    """Phoenix holds exactly the spans the SDK ended, with the same trace ids."""
    sent, received = exported
    assert len(sent) > 40
    assert {_hex_span(s.context.span_id) for s in sent} == set(received)
    for span in sent:
        copy = received[_hex_span(span.context.span_id)]
        assert copy["context"]["trace_id"] == f"{span.context.trace_id:032x}"


def test_names_and_parents_are_intact(exported: tuple[list[ReadableSpan], dict[str, Any]]) -> None:
    """Span names and parent links survive; model spans hang under their chain's span."""
    sent, received = exported
    by_id = {_hex_span(s.context.span_id): s for s in sent}
    for span_id, span in by_id.items():
        copy = received[span_id]
        assert copy["name"] == span.name
        parent = _hex_span(span.parent.span_id) if span.parent else None
        assert copy["parent_id"] == parent
    model_spans = [c for c in received.values() if c["name"].startswith("text_completion ")]
    assert {c["name"] for c in model_spans} == {f"text_completion {m}" for m in MODELS}
    for copy in model_spans:
        assert received[copy["parent_id"]]["name"] == "RunnableSequence"


def test_genai_attributes_are_intact(
    exported: tuple[list[ReadableSpan], dict[str, Any]],
) -> None:
    """Every gen_ai.* / langchain_otel.* / langchain.* attribute arrives with its value."""
    sent, received = exported
    compared = 0
    for span in sent:
        copy = received[_hex_span(span.context.span_id)]["attributes"]
        for key, value in (span.attributes or {}).items():
            if key.startswith(OURS):
                assert key in copy, (span.name, key)
                assert _same(value, copy[key]), (span.name, key, value, copy[key])
                compared += 1
    assert compared > 500
    model = next(
        c["attributes"] for c in received.values() if c["name"] == f"text_completion {MODELS[0]}"
    )
    assert model["gen_ai.operation.name"] == "text_completion"
    assert model["gen_ai.provider.name"] == "echo"
    assert model["gen_ai.request.model"] == MODELS[0]


def test_failures_and_cancellations(exported: tuple[list[ReadableSpan], dict[str, Any]]) -> None:
    """Failed runs arrive as ERROR with error.type; cancelled ones as UNSET, not errors."""
    _, received = exported
    model_spans = [c for c in received.values() if c["name"].startswith("text_completion ")]
    outcomes = {c["attributes"]["langchain_otel.outcome"] for c in model_spans}
    assert outcomes == {"ok", "error", "cancelled"}
    for copy in model_spans:
        outcome = copy["attributes"]["langchain_otel.outcome"]
        if outcome == "error":
            assert copy["status_code"] == "ERROR"
            assert copy["attributes"]["error.type"] == (
                f"{WorkloadError.__module__}.{WorkloadError.__qualname__}"
            )
        else:
            assert copy["status_code"] != "ERROR"
            assert "error.type" not in copy["attributes"]


DEMO_PROJECT = "langchain-otel-demo"
DEMO_REQUESTS = 20


def test_the_demo_cli_exports_its_traces_to_phoenix(phoenix: Phoenix, tmp_path: Path) -> None:
    """`langchain-otel demo --endpoint URL` sends whole traces Phoenix can show.

    Phoenix takes traces only (it answers 405 to metrics and logs): the demo must still
    succeed, and every request must arrive as a trace demo.request → chain → model span
    whose outcomes match the demo's own summary.
    """
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        "OTEL_RESOURCE_ATTRIBUTES": f"openinference.project.name={DEMO_PROJECT}",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "langchain_otel",
            "demo",
            "--requests",
            str(DEMO_REQUESTS),
            "--endpoint",
            phoenix.url,
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = re.search(r"(\d+) ok, (\d+) errors?, (\d+) cancelled", result.stdout)
    assert summary, result.stdout
    expected = Counter(
        {"ok": int(summary[1]), "error": int(summary[2]), "cancelled": int(summary[3])}
    )

    deadline = time.monotonic() + 60
    spans: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        spans = {s["context"]["span_id"]: s for s in phoenix.spans(DEMO_PROJECT)}
        roots = [s for s in spans.values() if s["name"] == "demo.request"]
        # An agent request (every sixth) is one invoke_agent span over two model calls.
        agents = [s for s in spans.values() if s["name"].startswith("invoke_agent ")]
        agent_traces = {a["context"]["trace_id"] for a in agents}
        models = [
            s
            for s in spans.values()
            if s["name"].startswith(("text_completion ", "chat "))
            and s["context"]["trace_id"] not in agent_traces
        ]
        if len(roots) == DEMO_REQUESTS and len(models) + len(agents) == DEMO_REQUESTS:
            break
        time.sleep(0.5)
    assert len(roots) == DEMO_REQUESTS
    assert all(root["parent_id"] is None for root in roots)
    assert agents, "the demo sends every sixth request to its agent"
    assert len(models) + len(agents) == DEMO_REQUESTS
    for agent in agents:
        assert spans[agent["parent_id"]]["name"] == "demo.request"
    for model in models:
        chain = spans[model["parent_id"]]
        assert chain["name"] == "RunnableSequence"
        assert spans[chain["parent_id"]]["name"] == "demo.request"
        assert chain["context"]["trace_id"] == model["context"]["trace_id"]
        attributes = model["attributes"]
        operation = attributes["gen_ai.operation.name"]  # the demo has text and chat models
        assert operation in {"text_completion", "chat"}
        assert attributes["gen_ai.provider.name"] == "echo"  # EchoChatModel is EchoLLM's kind
        assert model["name"] == f"{operation} {attributes['gen_ai.request.model']}"
        if attributes["langchain_otel.outcome"] == "ok":
            assert attributes["gen_ai.usage.input_tokens"] > 0
            assert attributes["gen_ai.usage.output_tokens"] > 0
    outcomes = Counter(s["attributes"]["langchain_otel.outcome"] for s in [*models, *agents])
    assert outcomes == expected
    assert set(outcomes) == {"ok", "error", "cancelled"}
