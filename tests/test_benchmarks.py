"""The benchmark harness (benchmarks/): workloads, candidates, checks, statistics, driver.

Small sizes only: timings are never asserted, behaviour is.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from benchmarks import candidates, floor, goals, instructions, measuring, reporting, run
from benchmarks import workloads as wl
from benchmarks.service import app, driver, load, sink
from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

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


def _ticks(*values: int) -> Any:
    """A fake nanosecond clock returning ``values`` in turn."""
    return iter(values).__next__


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
        handler = OTelCallbackHandler(
            tracer_provider=sdk.tracer_provider, meter_provider=sdk.meter_provider
        )
        concurrency = workload.concurrency_in(quick=True)
        elapsed = wl.run_block(
            workload,
            models,
            {"callbacks": [handler]},
            2,
            concurrency=concurrency,
            loop=loop,
            clock=_ticks(1_000, 4_500),  # the block reads the clock once before, once after
        )
        sdk.tracer_provider.force_flush()
        per_op = {"W2": 2, "W6": 16, "W8": 2, "W11": 2}.get(wid, 1)  # prompts, parsers folded
        assert elapsed == 3_500
        assert sdk.exporter.count == 2 * concurrency * per_op
        assert handler.open_runs == 0


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
        assert (ours.ratio_min, ours.ratio_max) == (pytest.approx(1.2), pytest.approx(1.5))  # type: ignore[comparison-overlap]
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
            "--candidates=floor,ours",
            "--workloads=W1,W2",
            "--invokes=20",
            "--astreams=2",
            "--no-service",
            f"--out={tmp_path}",
        ]
    )
    assert code == 0
    result = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert result["candidates"] == ["bare", "floor", "ours"]
    spans = {(c["candidate"], c["workload"]): c["spans_per_op"] for c in result["cells"]}
    assert spans == {
        ("bare", "W1"): 0,
        ("bare", "W2"): 0,
        ("floor", "W1"): 1,
        ("floor", "W2"): 2,
        ("ours", "W1"): 1,
        ("ours", "W2"): 2,
    }
    assert "floor" not in result["parenting"]  # a reference, like noop
    assert result["parenting"]["ours"] == {"llm": "ok", "chat": "ok"}
    assert result["memory"]["ours"]["after_astreams"]["open_runs"] == 0
    assert result["floor"]["rounds"] == 1
    assert result["floor"]["us_q1"] <= result["floor"]["us_median"] <= result["floor"]["us_q3"]
    assert set(result["goals_issue15"]["workloads"]) == {"W1", "W2"}
    assert result["goals_issue15"]["workloads"]["W1"]["goal7"]["met"] is True


def _span_shapes(sdk: candidates.Sdk) -> list[tuple[Any, ...]]:
    """Every kept span as (name, kind, attribute keys, parent's name), sorted."""
    spans = list(sdk.exporter.kept)
    names = {span.context.span_id: span.name for span in spans}
    return sorted(
        (
            span.name,
            span.kind.name,
            tuple(sorted(span.attributes or {})),
            names.get(span.parent.span_id) if span.parent else None,
        )
        for span in spans
    )


def _points(sdk: candidates.Sdk) -> dict[str, list[tuple[Any, ...]]]:
    """Metric name -> sorted (attributes, count of points, has exemplars) over every scope."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    data = sdk.reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else []:
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    count = getattr(point, "count", None)
                    found.setdefault(metric.name, []).append(
                        (tuple(sorted(point.attributes.items())), count, bool(point.exemplars))
                    )
    return {name: sorted(points) for name, points in found.items()}


class TestFloor:
    @pytest.mark.parametrize("causal", [False, True], ids=["floor", "floor-causal"])
    @pytest.mark.parametrize("wid", list(wl.WORKLOADS))
    def test_emits_exactly_what_ours_emits(
        self, wid: str, causal: bool, models: wl.Models, loop: asyncio.AbstractEventLoop
    ) -> None:
        """Same spans (names, kinds, attribute keys, tree), metric points and exemplars."""
        workload = wl.WORKLOADS[wid]
        concurrency = workload.concurrency_in(quick=True)
        seen = []
        for build in (
            lambda sdk: candidates.ours_handler(sdk.tracer_provider, sdk.meter_provider),
            lambda sdk: floor.FloorHandler(floor.record(workload, models), sdk, causal=causal),
        ):
            sdk = candidates.make_sdk()
            sdk.exporter.keep = True
            handler = build(sdk)
            wl.run_block(
                workload,
                models,
                {"callbacks": [handler]},
                2,
                concurrency=concurrency,
                loop=loop,
                clock=measuring.CLOCK,
            )
            sdk.tracer_provider.force_flush()
            assert handler.open_runs == 0
            seen.append((_span_shapes(sdk), _points(sdk)))
        (ours_spans, ours_points), (floor_spans, floor_points) = seen
        per_op = {"W2": 2, "W6": 16, "W8": 2, "W11": 2}.get(wid, 1)  # prompts, parsers folded
        assert len(ours_spans) == 2 * concurrency * per_op
        assert floor_spans == ours_spans
        assert floor_points == ours_points
        assert set(ours_points) >= {
            "gen_ai.client.operation.duration",
            "gen_ai.client.token.usage",
            "langchain_otel.client.cost",
        }

    def test_values_come_from_the_recording(self, models: wl.Models) -> None:
        """Every attribute value is the recorded one: the run id, the usage, the cost."""
        script = floor.record(wl.WORKLOADS["W1"], models)
        (template,) = script.templates.values()
        assert template.name == "text_completion echo"
        assert template.attributes["gen_ai.usage.output_tokens"] == wl.STREAM_TOKENS
        assert template.attributes["langchain_otel.cost.total"] == pytest.approx(
            319 * 0.15e-6 + 256 * 0.6e-6
        )
        names = [script.instruments[i].name for i, _, _, _ in template.points]
        assert names == [
            "gen_ai.client.operation.duration",
            "gen_ai.client.token.usage",
            "gen_ai.client.token.usage",
            "langchain_otel.client.cost",
        ]
        assert (script.spans_per_op, script.points_per_op) == (1, 4)

    def test_causal_floor_sets_at_the_end_what_ours_learns_there(self, models: wl.Models) -> None:
        """The recording splits each span's attributes where ours gave them to the SDK."""
        script = floor.record(wl.WORKLOADS["W2"], models)
        model = script.templates[("llm", True)]
        start, end = model.start_attributes, model.end_attributes
        assert {"gen_ai.request.model", "langchain.run.id"} <= start.keys()
        assert {"gen_ai.usage.output_tokens", "langchain_otel.cost.total"} <= end.keys()
        assert "langchain_otel.outcome" in end  # a model run's outcome is known at its end
        assert {**start, **end} == dict(model.attributes)
        chain = script.templates[("chain", False)]
        assert chain.end_attributes == {}  # a chain's outcome goes in its start dict

    @pytest.mark.parametrize("causal", [False, True])
    def test_causal_floor_makes_the_run_span_current_inside_the_run(
        self, causal: bool, models: wl.Models, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """floor-causal pays for propagation for real: the model span is current in it."""
        from langchain_otel.callbacks import _propagation
        from langchain_otel.llms import EchoLLM

        _propagation.install()  # as the floor-causal candidate does
        current: list[Any] = []
        generate = EchoLLM._generate

        def spying(self: Any, *args: Any, **kwargs: Any) -> Any:
            current.append(trace.get_current_span())
            return generate(self, *args, **kwargs)

        monkeypatch.setattr(EchoLLM, "_generate", spying)
        sdk = candidates.make_sdk()
        handler = floor.FloorHandler(floor.record(wl.WORKLOADS["W2"], models), sdk, causal=causal)
        current.clear()  # the recording ran the model too
        models.llm_chain.invoke({"question": wl.PROMPT}, config={"callbacks": [handler]})
        (inside,) = current
        assert handler.open_runs == 0
        if causal:
            assert inside.name == "text_completion echo"  # type: ignore[attr-defined]
            assert inside.parent is not None  # under the chain's span
        else:
            assert not inside.get_span_context().is_valid

    def test_refuses_runs_of_one_kind_with_different_shapes(self) -> None:
        """Two model runs under one key that differ in attributes cannot share a template."""
        events = floor._Events()
        sdk = candidates.make_sdk()
        tracer = sdk.tracer_provider.get_tracer("t")
        for extra in ({}, {"gen_ai.response.id": "x"}):
            span = tracer.start_span("m", attributes={"langchain.run.type": "llm", **extra})
            span.end()
            events.add("span", span)
        with pytest.raises(RuntimeError, match="differ in shape"):
            floor._templates(events)


class TestSampled:
    def test_ours_sampled_runs_w1_under_a_ratio_sampler(self) -> None:
        """ours-sampled: TraceIdRatioBased(0.1), W1 only, and no parenting check."""
        sdk, installed = candidates.setup("ours-sampled")
        sampler = sdk.tracer_provider.sampler
        assert isinstance(sampler, TraceIdRatioBased)
        assert sampler.rate == candidates.SAMPLED_RATIO == 0.1
        assert installed.workloads == ("W1",)
        assert candidates.CANDIDATES["ours-sampled"].checks_parenting is False
        worker = measuring.Worker("ours-sampled", None, ("llm", "chat"), ("W1",))  # type: ignore[arg-type]
        assert worker.runs(wl.WORKLOADS["W1"]) is True
        assert worker.runs(wl.WORKLOADS["W2"]) is False


def _sample(candidate: str, wid: str, rnd: int, us: float, open_runs: int = 0) -> Any:
    return measuring.Sample(candidate, wid, rnd, int(us * 1000), 1, 1, [], open_runs)


class TestGoals:
    def _samples(self) -> list[measuring.Sample]:
        # Round 0 and 1; bare 100 µs. Overheads: floor 40, ours 48/60, openllmetry 100.
        samples = []
        for rnd, ours in enumerate((148, 160)):
            samples += [
                _sample("bare", "W1", rnd, 100),
                _sample("noop", "W1", rnd, 110),
                _sample("floor", "W1", rnd, 140),
                _sample("floor-causal", "W1", rnd, 145),
                _sample("ours", "W1", rnd, ours),
                _sample("openllmetry", "W1", rnd, 200),
                _sample("ours-structlog", "W1", rnd, ours * 1.5),
                _sample("bare", "W4", rnd, 1000),
                _sample("noop", "W4", rnd, 1256),
                _sample("floor", "W4", rnd, 1300),
                _sample("ours", "W4", rnd, 1320 + 256 * rnd, open_runs=rnd),
                _sample("openllmetry", "W4", rnd, 1310),
            ]
        return samples

    def test_each_goal_per_workload(self) -> None:
        """Goal 2 (median of 1.2 and 1.5), 3, 4 (per token over noop), 5 and 7."""
        memory = {
            "ours": {
                "invokes": 1000,
                "after_tenth": {"rss_bytes": 100 * 2**20},
                "after_invokes": {"rss_bytes": 101 * 2**20},
                "after_astreams": {"rss_bytes": 101 * 2**20, "registry": 0, "open_runs": 0},
            }
        }
        wanted = {w: wl.WORKLOADS[w] for w in ("W1", "W4")}
        verdicts = goals.judge(self._samples(), wanted, memory)
        w1, w4 = verdicts["workloads"]["W1"], verdicts["workloads"]["W4"]
        assert w1["ours_over_floor"] == pytest.approx(1.35)
        assert w1["goal2"]["met"] is False
        assert w1["goal3"]["value"] == pytest.approx(0.54)
        assert w1["goal3"]["met"] is True
        assert w1["goal5"]["value"] == pytest.approx(1.5)
        assert w1["goal5"]["met"] is False
        assert w1["goal7"]["met"] is True
        assert "goal2" not in w4  # streams are judged by goal 4
        assert w4["goal3"]["met"] is False  # openllmetry is cheaper on W4
        assert w4["goal3"]["text"] == "cheaper: openllmetry"
        # per token over the floor: (20/256, 276/256) -> median 0.58 µs > 0.5;
        # over noop: (64/256, 320/256) -> 0.75
        assert w4["goal4"]["met"] is False
        assert w4["goal4"]["text"].startswith("+0.58 µs/tok over floor (+0.75 over noop)")
        assert w4["goal7"] == {"met": False, "text": "open_runs 1"}
        assert verdicts["memory"]["met"] is True
        assert verdicts["memory"]["value"] == pytest.approx(1.0)
        table = goals.render(verdicts, wl.WORKLOADS)
        assert w1["floor_over_peer"] == pytest.approx(0.4)  # floor 40 µs, OpenLLMetry 100
        assert w1["causal_floor_over_peer"] == pytest.approx(0.45)  # floor-causal 45 µs
        assert w4["causal_floor_over_peer"] is None  # not in the run
        assert "| W1 EchoLLM.invoke | 1.35× | 0.40× | 0.45× | 1.35× floor: NOT met |" in table  # noqa: RUF001

    def test_no_data_is_not_a_verdict(self) -> None:
        """Without a floor in the run, goal 2 is neither met nor missed."""
        samples = [_sample("bare", "W1", 0, 100), _sample("ours", "W1", 0, 150)]
        verdicts = goals.judge(samples, {"W1": wl.WORKLOADS["W1"]}, {})
        assert verdicts["workloads"]["W1"]["goal2"]["met"] is None
        assert verdicts["memory"] is None


async def _serve_sink(
    requests: Counter[str], received: Counter[str]
) -> tuple[asyncio.Server, list[asyncio.Task[Any]]]:
    """A real sink on a free port, and the tasks of the connections it served."""
    handlers: list[asyncio.Task[Any]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        await sink._handle(reader, writer, requests, received)

    return await asyncio.start_server(handle, "127.0.0.1", 0), handlers


class TestService:
    """The service benchmark's parts that need no web framework (the app runs in bench)."""

    def test_parse_wrk(self) -> None:
        """Requests, req/s, p50/p99 in ms (from µs, ms and s), socket errors + non-2xx."""
        text = (
            "Running 2s test @ http://127.0.0.1:1/invoke\n"
            "  Latency Distribution\n"
            "     50%  780.00us\n"
            "     75%   10.00ms\n"
            "     99%    1.50s\n"
            "  1466 requests in 2.00s, 250.00KB read\n"
            "  Socket errors: connect 1, read 2, write 0, timeout 3\n"
            "  Non-2xx or 3xx responses: 4\n"
            "Requests/sec:    732.97\n"
        )
        assert load.parse_wrk(text) == load.LoadResult(
            "wrk", 1466, 2.0, 732.97, pytest.approx(0.78), 1500.0, 10
        )

    def test_unreadable_wrk_output_is_an_error(self) -> None:
        with pytest.raises(RuntimeError, match="cannot read wrk's output"):
            load.parse_wrk("wrk: connection refused")

    def test_client_load_against_the_real_sink(self, loop: asyncio.AbstractEventLoop) -> None:
        """The asyncio client posts nothing, GETs /stats on a real sink, bounded by count."""

        async def scenario() -> load.LoadResult:
            server, handlers = await _serve_sink(Counter(), Counter())
            port = server.sockets[0].getsockname()[1]
            async with server:
                result = await load.client_load(
                    f"http://127.0.0.1:{port}/stats",
                    connections=3,
                    duration=30.0,
                    max_requests=30,
                )
                await asyncio.gather(*handlers)  # each ends when its client hangs up
            return result

        result = loop.run_until_complete(scenario())
        assert result.tool == "asyncio-client"
        assert 30 <= result.requests <= 32  # each connection checks the bound before sending
        assert result.errors == 0
        assert result.p50_ms is not None
        assert result.p99_ms is not None
        assert result.p50_ms <= result.p99_ms

    def test_client_rate_keeps_a_fixed_rate(self, loop: asyncio.AbstractEventLoop) -> None:
        """Open loop: 40 requests due over 0.4 s at 100/s take about 0.4 s, not less."""

        async def scenario() -> load.LoadResult:
            server, handlers = await _serve_sink(Counter(), Counter())
            port = server.sockets[0].getsockname()[1]
            async with server:
                result = await load.client_rate(
                    f"http://127.0.0.1:{port}/stats", rate=100.0, duration=0.4, connections=4
                )
                await asyncio.gather(*handlers)
            return result

        result = loop.run_until_complete(scenario())
        assert result.tool == "asyncio-rate"
        assert result.requests == 40
        assert result.errors == 0
        assert result.seconds >= 0.39  # the last request is due at 0.39 s
        assert result.p50_ms is not None
        assert result.p99_ms is not None
        assert result.p50_ms <= result.p99_ms

    def test_sink_counts_exports_per_path(self, loop: asyncio.AbstractEventLoop) -> None:
        """POST /v1/traces is answered 200 with an empty body and counted in bytes."""
        requests: Counter[str] = Counter()
        received: Counter[str] = Counter()

        async def scenario() -> bytes:
            server, handlers = await _serve_sink(requests, received)
            port = server.sockets[0].getsockname()[1]
            async with server:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                body = b"\x0a\x03abc"
                writer.write(
                    b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                head = await reader.readuntil(b"\r\n\r\n")
                writer.close()
                await writer.wait_closed()
                await asyncio.gather(*handlers)
            return head

        head = loop.run_until_complete(scenario())
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"Content-Length: 0" in head
        assert requests == {"/v1/traces": 1}
        assert received == {"/v1/traces": 5}

    def test_lag_probe_measures_oversleep(self, loop: asyncio.AbstractEventLoop) -> None:
        """A callback that blocks the loop for 30 ms shows up as ≥ 30 ms of lag."""
        probe = app.LagProbe(interval=0.001)

        async def scenario() -> None:
            task = asyncio.create_task(probe.run())
            await asyncio.sleep(0.01)
            asyncio.get_running_loop().call_soon(time.sleep, 0.03)  # a blocking callback
            await asyncio.sleep(0.01)
            task.cancel()

        loop.run_until_complete(scenario())
        figures = probe.take()
        assert figures["max_ms"] >= 30 - 1  # the pending sleep began at most 1 ms before
        assert figures["count"] >= 2
        assert probe.take()["count"] == 0  # taken: reset

    def test_lag_probe_times_full_collections(self) -> None:
        """A full collection is counted and timed once, then reset by take()."""
        import gc

        probe = app.LagProbe()
        probe.watch_gc()
        try:
            gc.collect()
            figures = probe.take()
        finally:
            gc.callbacks.remove(probe._on_gc)
        assert figures["gc_full"] == 1
        assert figures["gc_full_max_ms"] > 0
        assert figures["gc_ms"] >= figures["gc_full_max_ms"]
        assert probe.take()["gc_full"] == 0

    def test_goals_per_route(self) -> None:
        """Throughput ratios to bare per round, embedded vs OTLP, lag over bare."""

        def sample(variant: str, rnd: int, rps: float, lag: float) -> dict[str, Any]:
            rate_phase = {
                "rate_rps": 100.0,
                "rate_p50_ms": 40.0,
                "rate_p99_ms": 50.0,
                "rate_lag_p50_ms": 0.5,
                "rate_lag_p99_ms": lag / 5,
                "rate_lag_max_ms": 4.0,
                "rate_cpu_us_per_request": 90.0,
                "rate_gc_full": 1,
                "rate_gc_full_max_ms": 100.0 + rnd * 20,
            }
            return {
                **rate_phase,
                "variant": variant,
                "route": "invoke",
                "round": rnd,
                "rps": rps,
                "p50_ms": 10.0,
                "p99_ms": 20.0,
                "lag_p50_ms": 1.0,
                "lag_p99_ms": lag,
                "cpu_us_per_request": 100.0,
                "errors": 0,
                "requests": 1000,
                "tool": "wrk",
            }

        samples = []
        for rnd, scale in enumerate((1.0, 2.0)):
            samples += [
                sample("bare", rnd, 1000 * scale, 5.0),
                sample("ours-none", rnd, 850 * scale, 6.0),
                sample("ours-otlp", rnd, 700 * scale, 8.0),
                sample("ours-embedded", rnd, 650 * scale, 6.5),
            ]
        summary = driver.summarise(samples)
        assert summary["invoke"]["ours-none"]["rps_ratio"] == pytest.approx(0.85)
        assert summary["invoke"]["bare"]["rps"] == 1500
        goals = driver.judge(summary)["invoke"]
        assert goals["ours-none ≥ 80% of bare"]["met"] is True
        assert goals["ours-otlp ≥ 70% of bare"]["met"] is True
        assert goals["ours-embedded ≥ 70% of bare"]["met"] is False
        assert goals["embedded ≤ OTLP in cost"]["value"] == pytest.approx(-0.05)
        assert goals["embedded ≤ OTLP in cost"]["met"] is False
        assert goals["ours-otlp lag p99 ≤ bare + 2 ms"] == {
            "value": 3.0,
            "met": False,
            "unit": "ms",
        }
        at_rate = goals["ours-otlp lag p99 ≤ bare + 2 ms at a fixed rate"]
        assert at_rate == {"value": pytest.approx(0.6), "met": True, "unit": "ms"}
        table = driver.render(
            {
                "connections": 64,
                "duration_s": 15,
                "rounds": 2,
                "summary": summary,
                "goals": {"invoke": goals},
            }
        )
        assert "| ours-none | 1275 | 85% | 10 ms | 20 ms | 1.00 / 6.00 ms | 100 |" in table
        assert "| embedded ≤ OTLP in cost | -5 points: NOT met |" in table
        assert "`GET /invoke` at a fixed 100 req/s" in table
        row = "| ours-otlp | 100 | 40 ms | 50 ms | 0.50 / 1.60 / 4.00 ms | 90 | 2 (120 ms) |"
        assert row in table
        assert "gc.freeze()" not in table
        frozen = driver.render(
            {"connections": 64, "duration_s": 15, "rounds": 2, "gc_freeze": True,
             "summary": summary, "goals": {"invoke": goals}}
        )  # fmt: skip
        assert "every variant calls `gc.freeze()` after its warm-up" in frozen


class TestInstructions:
    """The callgrind mode's parts that need no valgrind: the counted worker, the sums."""

    def test_worker_runs_each_block_once_counted(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Each workload: a warm-up, then one block inside ``sys.call_tracing``."""
        counted: list[Any] = []
        original = getattr(sys, "call_tracing")  # noqa: B009 - not in typeshed

        def spy(function: Any, args: tuple[Any, ...]) -> Any:
            counted.append(args)
            return original(function, args)

        monkeypatch.setattr(sys, "call_tracing", spy)
        blocks = instructions.worker("ours", ["W1", "W7"])
        reps = wl.WORKLOADS["W1"].reps_full // 4
        assert blocks == [
            {"workload": "W1", "ops": reps},
            {"workload": "W7", "ops": wl.WORKLOADS["W7"].reps_full // 4},
        ]
        assert counted == [(reps,), (wl.WORKLOADS["W7"].reps_full // 4,)]

    def test_summary_and_table(self) -> None:
        """Overheads over bare, ours ÷ floor and ÷ OpenLLMetry, per token on streams."""
        per_op = {
            "bare": {"W1": 1000.0, "W4": 10_000.0},
            "noop": {"W1": 1100.0, "W4": 11_000.0},
            "floor": {"W1": 2000.0, "W4": 12_000.0},
            "floor-causal": {"W1": 2100.0, "W4": 12_128.0},
            "ours": {"W1": 2200.0, "W4": 12_256.0},
            "openllmetry": {"W1": 3000.0, "W4": 13_000.0},
        }
        results = {name: {"per_op": values} for name, values in per_op.items()}
        summary = instructions.summarise(results)
        assert summary["W1"]["overhead"] == {
            "noop": 100.0,
            "floor": 1000.0,
            "floor-causal": 1100.0,
            "ours": 1200.0,
            "openllmetry": 2000.0,
        }
        assert summary["W1"]["causal_floor_over_openllmetry"] == pytest.approx(0.55)
        assert summary["W1"]["ours_over_causal_floor"] == pytest.approx(1200 / 1100)
        assert summary["W4"]["per_token_over_causal_floor"] == pytest.approx(0.5)  # 128 / 256
        assert summary["W1"]["ours_over_floor"] == pytest.approx(1.2)
        assert summary["W1"]["ours_over_openllmetry"] == pytest.approx(0.6)
        assert summary["W1"]["floor_over_openllmetry"] == pytest.approx(0.5)
        assert "per_token_over_floor" not in summary["W1"]
        assert summary["W4"]["per_token_over_floor"] == pytest.approx(1.0)  # 256 / 256
        assert summary["W4"]["per_token_over_noop"] == pytest.approx(1256 / 256)
        table = instructions.render({"candidates": results, "summary": summary})
        row = (
            "| W1 EchoLLM.invoke | 1 k | 0 k | 1 k | 1 k | 1 k | 2 k"
            " | 1.20× | 0.60× | 0.50× | 0.55× | 1.09× | – |"  # noqa: RUF001
        )
        assert row in table
        assert "| +1 / +0 / +5 |" in table
        broken = {**results, "openllmetry": {"error": "worker exited 1: boom"}}
        assert "openllmetry: worker exited 1: boom" in instructions.render(
            {"candidates": broken, "summary": instructions.summarise(broken)}
        )
        assert "W11 as a share of bare" not in table

    def test_service_chain_shares(self) -> None:
        """W11: each candidate's share of bare; the 80% goal is left to the by-exporter count."""
        per_op = {"bare": 3000.0, "floor": 3900.0, "ours": 4000.0}
        results = {name: {"per_op": {"W11": value}} for name, value in per_op.items()}
        summary = instructions.summarise(results)
        assert summary["W11"]["share_of_bare"]["ours"] == pytest.approx(3000 / 4000)
        table = instructions.render({"candidates": results, "summary": summary})
        assert table.rstrip().endswith("floor 77%, ours 75%")
        assert "judged by exporter" in table
        assert "met" not in table.rsplit("\n", 1)[-1]


def _exemplars_recorded() -> int:
    """Exemplars on one point recorded inside a sampled span, with the environment's filter."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider

    reader = InMemoryMetricReader()
    histogram = MeterProvider(metric_readers=[reader]).get_meter("t").create_histogram("h")
    with TracerProvider().get_tracer("t").start_as_current_span("run"):
        histogram.record(1.0, {"k": "v"})
    data = reader.get_metrics_data()
    assert data is not None
    (point,) = data.resource_metrics[0].scope_metrics[0].metrics[0].data.data_points
    return len(point.exemplars)


def test_exemplar_filter_reaches_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """--exemplar-filter sets the SDK's variable, which the workers inherit."""
    monkeypatch.delenv("OTEL_METRICS_EXEMPLAR_FILTER", raising=False)
    run._exemplar_filter(run._parse([]))
    assert _exemplars_recorded() == 1  # the SDK's default: trace_based
    monkeypatch.setenv("OTEL_METRICS_EXEMPLAR_FILTER", "trace_based")  # undone after the test
    run._exemplar_filter(run._parse(["--exemplar-filter", "always_off"]))
    assert _exemplars_recorded() == 0
