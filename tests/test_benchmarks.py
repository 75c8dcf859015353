"""The benchmark harness (benchmarks/): workloads, candidates, checks, statistics, driver.

Small sizes only: timings are never asserted, behaviour is.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from benchmarks import candidates, measuring, reporting, run
from benchmarks import workloads as wl
from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry import context as otel_context
from opentelemetry import trace

from langchain_otel import OTelCallbackHandler


@pytest.fixture(name="loop")
def _loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(name="models", scope="module")
def _models() -> wl.Models:
    return wl.build_models()


def _ours(sdk: candidates.Sdk) -> candidates.Installed:
    handler = OTelCallbackHandler(
        tracer_provider=sdk.tracer_provider, meter_provider=sdk.meter_provider
    )
    return candidates.Installed(
        config={"callbacks": [handler]}, registry=[handler], open_runs=lambda: handler.open_runs
    )


class TestWorkloads:
    def test_streams_have_256_tokens(
        self, models: wl.Models, loop: asyncio.AbstractEventLoop
    ) -> None:
        """Both models stream the 256 tokens the per-token figures divide by."""
        text = wl.async_unit(wl.WORKLOADS["W4"], models, None)
        chat = wl.async_unit(wl.WORKLOADS["W9"], models, None)
        assert loop.run_until_complete(text()) == wl.STREAM_TOKENS
        # GenericFakeChatModel adds one empty closing chunk.
        assert loop.run_until_complete(chat()) == wl.STREAM_TOKENS + 1

    def test_chat_model_reports_a_model_name(self, models: wl.Models) -> None:
        """The chat model has a model name, so the official instrumentation traces it."""
        assert models.chat._get_invocation_params()["model_name"] == "fake-chat"

    @pytest.mark.parametrize("wid", list(wl.WORKLOADS))
    def test_spans_per_op_with_our_handler(
        self, wid: str, models: wl.Models, loop: asyncio.AbstractEventLoop
    ) -> None:
        """Every workload runs under our handler with the span count its shape implies."""
        workload = wl.WORKLOADS[wid]
        sdk = candidates.make_sdk()
        installed = _ours(sdk)
        concurrency = workload.concurrency_in(quick=True)
        elapsed = wl.run_block(
            workload,
            models,
            installed.config,
            2,
            concurrency=concurrency,
            loop=loop,
            clock=measuring.CLOCK,
        )
        sdk.tracer_provider.force_flush()
        per_op = {"W2": 3, "W6": 16, "W8": 3}.get(wid, 1)
        assert elapsed > 0
        assert sdk.exporter.count == 2 * concurrency * per_op
        assert installed.open_runs is not None
        assert installed.open_runs() == 0


class TestParentingCheck:
    def test_our_handler_passes(self, models: wl.Models, loop: asyncio.AbstractEventLoop) -> None:
        """Ours: one trace per request, the model span under the chain span, no leak."""
        sdk = candidates.make_sdk()
        verdicts = measuring.parenting_check(sdk, _ours(sdk), models, loop)
        assert verdicts == {"llm": "ok", "chat": "ok"}

    def test_a_leaking_handler_fails(
        self, models: wl.Models, loop: asyncio.AbstractEventLoop
    ) -> None:
        """A handler that attaches its chain span as current and never detaches is caught."""
        sdk = candidates.make_sdk()
        tracer = sdk.tracer_provider.get_tracer("leaky")

        class Leaky(BaseCallbackHandler):
            run_inline = True

            def on_chain_start(self, *args: Any, **kwargs: Any) -> None:
                otel_context.attach(trace.set_span_in_context(tracer.start_span("chain")))

        installed = candidates.Installed(config={"callbacks": [Leaky()]})
        verdicts = measuring.parenting_check(sdk, installed, models, loop)
        assert "leaves a span current" in verdicts["llm"]
        assert "leaves a span current" in verdicts["chat"]

    def test_check_trace_names_the_problem(self) -> None:
        """A model span that is the root (no chain span above it) is reported."""
        sdk = candidates.make_sdk()
        sdk.exporter.keep = True
        tracer = sdk.tracer_provider.get_tracer("t")
        tracer.start_span("chat m", attributes={"gen_ai.operation.name": "chat"}).end()
        sdk.tracer_provider.force_flush()
        assert measuring._check_trace(sdk.exporter.kept) == (
            "model span is the root: no chain span above it"
        )


class TestRegistrySize:
    def test_counts_runs_in_flight_inside_our_handler(self) -> None:
        """A started, unfinished run is one registry entry; ending it empties the registry."""
        sdk = candidates.make_sdk()
        handler = OTelCallbackHandler(
            tracer_provider=sdk.tracer_provider, meter_provider=sdk.meter_provider
        )
        run_id = uuid.uuid4()
        handler.on_llm_start({"name": "EchoLLM"}, ["hi"], run_id=run_id)
        assert candidates.registry_size([handler]) == handler.open_runs == 1
        handler.on_llm_error(RuntimeError("x"), run_id=run_id)
        assert candidates.registry_size([handler]) == handler.open_runs == 0


class TestReporting:
    def _samples(self) -> list[measuring.Sample]:
        samples = []
        for rnd, (bare, ours) in enumerate([(100, 150), (200, 260), (100, 120)]):
            samples.append(measuring.Sample("bare", "W4", rnd, bare * 1000, 1, 0, [bare * 1000]))
            samples.append(measuring.Sample("ours", "W4", rnd, ours * 1000, 1, 1, [ours * 1000]))
        return samples

    def test_ratios_are_per_round(self) -> None:
        """Median of per-round ratios, extra µs per token from per-round differences."""
        cells = {c.candidate: c for c in reporting.cells(self._samples(), {"W4": 10})}
        ours = cells["ours"]
        assert ours.ratio == pytest.approx(1.3)  # ratios 1.5, 1.3, 1.2
        assert (ours.ratio_min, ours.ratio_max) == (pytest.approx(1.2), pytest.approx(1.5))
        assert ours.extra_us_per_token == pytest.approx(5.0)  # 5, 6, 2 µs per token
        assert ours.spans_per_op == 1
        assert cells["bare"].ratio == 1

    def test_goal_verdicts(self) -> None:
        """W4's goal needs both the ratio (≤ 1.6) and the per-token cost (≤ 4.5 µs)."""
        table = reporting.cells(self._samples(), {"W4": 10})
        verdict = reporting.goal_verdicts(table, wl.WORKLOADS)["ours"]["W4"]
        assert verdict["ratio"] == pytest.approx(1.3)
        assert verdict["met"] is False  # 5 µs per token > 4.5


def test_quick_run_end_to_end(tmp_path: Any) -> None:
    """The driver runs bare and ours in worker processes and writes the JSON."""
    code = run.main(
        [
            "--quick",
            "--rounds=1",
            "--candidates=ours",
            "--workloads=W1,W2",
            "--invokes=20",
            "--astreams=2",
            f"--out={tmp_path}",
        ]
    )
    assert code == 0
    result = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert result["candidates"] == ["bare", "ours"]
    spans = {(c["candidate"], c["workload"]): c["spans_per_op"] for c in result["cells"]}
    assert spans == {("bare", "W1"): 0, ("bare", "W2"): 0, ("ours", "W1"): 1, ("ours", "W2"): 3}
    assert result["parenting"]["ours"] == {"llm": "ok", "chat": "ok"}
    assert result["memory"]["ours"]["after_astreams"]["open_runs"] == 0
    assert result["floor"]["us_median"] > 0
