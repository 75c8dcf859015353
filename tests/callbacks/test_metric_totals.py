"""The cost counter's in-process sums, and the same exemplars on every model run's points."""

from __future__ import annotations

import math
import threading
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, Sum
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from langchain_otel import ModelPrice, OTelCallbackHandler
from langchain_otel.callbacks import _semconv as sc
from langchain_otel.callbacks._metrics import CounterTotals, Instruments
from langchain_otel.llms import EchoChatModel, EchoLLM


def _metrics(reader: InMemoryMetricReader) -> dict[str, Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return {
        metric.name: metric.data
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }


class TestCounterTotals:
    def test_exact_sums_from_many_threads(self) -> None:
        """8 threads x 1,000 adds of 0.25: exactly 2,000, one monotonic cumulative series."""
        reader = InMemoryMetricReader()
        inst = Instruments(MeterProvider(metric_readers=[reader]).get_meter("t"))
        attrs = {sc.GEN_AI_REQUEST_MODEL: "m"}

        def work() -> None:
            for _ in range(1000):
                inst.cost.add(0.25, attrs)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cost = _metrics(reader)[sc.METRIC_COST]
        assert isinstance(cost, Sum)
        assert cost.is_monotonic is True
        [point] = cost.data_points
        assert (point.value, dict(point.attributes)) == (2000.0, attrs)
        inst.cost.add(1.0, attrs)
        [point] = _metrics(reader)[sc.METRIC_COST].data_points
        assert point.value == 2001.0  # cumulative across collections

    def test_equal_dicts_are_one_series_and_bad_amounts_are_dropped(self) -> None:
        totals = CounterTotals()
        first, second, other = {"a": "x"}, {"a": "x"}, {"a": "y"}
        for amount in (1.0, -1.0, math.nan, math.inf):
            totals.add(amount, first)
        totals.add(2.0, second)
        totals.add(4.0, other)
        totals.add(8.0)
        observed = sorted((o.value, sorted(o.attributes.items())) for o in totals.observe(None))
        assert observed == [(3.0, [("a", "x")]), (4.0, [("a", "y")]), (8.0, [])]


@pytest.mark.parametrize("model", [EchoLLM(n=3), EchoChatModel(n=3)], ids=["text", "chat"])
def test_every_model_run_has_exemplars_of_its_own_span(model: Any) -> None:
    """Duration and token points carry an exemplar pointing at the run's span, on both paths."""
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    handler = OTelCallbackHandler(
        tracer_provider=tracer_provider,
        meter_provider=MeterProvider(metric_readers=[reader]),
        prices={
            name: ModelPrice(input_per_million=1.0, output_per_million=2.0)
            for name in ("echo", "echo-chat")
        },
        use_genai_prices=False,
    )
    model.invoke("hello", config={"callbacks": [handler]})
    [span] = exporter.get_finished_spans()
    found = _metrics(reader)
    for name in (sc.METRIC_OPERATION_DURATION, sc.METRIC_TOKEN_USAGE):
        for point in found[name].data_points:
            assert [e.span_id for e in point.exemplars] == [span.context.span_id]
    [cost] = found[sc.METRIC_COST].data_points
    assert cost.value == pytest.approx(5e-6 + 3 * 2e-6)
