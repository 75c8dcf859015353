"""No points on a meter provider no reader can read: ``configure()``'s with metrics off.

An SDK ``MeterProvider`` takes its readers when it is built; the one ``configure()``
builds with no metric exporter can never be read, so the handler records its points on a
no-op meter instead (``_unread_meters.py``). Counted here at the SDK's own
``Histogram.record``: what a reader could collect is unchanged, the records are gone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics._internal import instrument as sdk_instrument
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from langchain_otel import OTelCallbackHandler, configure, instrument, shutdown
from langchain_otel.llms import EchoLLM


@pytest.fixture
def records(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the SDK histograms recorded on, in order."""
    seen: list[str] = []
    original = sdk_instrument.Histogram.record

    def record(self: Any, *args: Any, **kwargs: Any) -> None:
        seen.append(self.name)
        original(self, *args, **kwargs)

    monkeypatch.setattr(sdk_instrument.Histogram, "record", record)
    return seen


def _invoke(handler: OTelCallbackHandler | None = None) -> None:
    callbacks = [] if handler is None else [handler]
    assert EchoLLM(n=3).invoke("hello there", config={"callbacks": callbacks})


def _spans(directory: Path) -> list[dict[str, Any]]:
    lines = (directory / "traces.jsonl").read_text().splitlines()
    return [
        span
        for line in lines
        for resource in json.loads(line)["resourceSpans"]
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
    ]


def test_configure_without_metric_exporters_records_no_points(
    tmp_path: Path, records: list[str]
) -> None:
    telemetry = configure(directory=tmp_path, metrics_exporter="none", set_global=False)
    handler = OTelCallbackHandler(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        use_genai_prices=False,
    )
    _invoke(handler)
    shutdown()
    assert records == []
    assert handler.internal_errors == 0
    (span,) = _spans(tmp_path)  # traces are unchanged
    keys = {attribute["key"] for attribute in span["attributes"]}
    assert {"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"} <= keys
    assert not (tmp_path / "metrics.jsonl").exists()


def test_with_a_metric_exporter_the_points_are_recorded(tmp_path: Path, records: list[str]) -> None:
    telemetry = configure(directory=tmp_path, set_global=False)
    handler = OTelCallbackHandler(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        use_genai_prices=False,
    )
    _invoke(handler)
    shutdown()
    assert records == [
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
        "gen_ai.client.token.usage",
    ]
    assert "gen_ai.client.operation.duration" in (tmp_path / "metrics.jsonl").read_text()


def test_the_global_provider_without_metric_exporters(records: list[str]) -> None:
    """configure(exporter="none") installs its providers; the handler and instrument()."""
    configure(exporter="none")
    _invoke(OTelCallbackHandler(use_genai_prices=False))
    instrument(use_genai_prices=False)
    _invoke()
    assert records == []


def test_a_provider_we_did_not_build_is_used_as_given(records: list[str]) -> None:
    """Even a user's provider with no reader: only configure()'s own are known unread."""
    _invoke(OTelCallbackHandler(meter_provider=MeterProvider(), use_genai_prices=False))
    assert records == [
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
        "gen_ai.client.token.usage",
    ]
    reader = InMemoryMetricReader()
    _invoke(
        OTelCallbackHandler(
            meter_provider=MeterProvider(metric_readers=[reader]), use_genai_prices=False
        )
    )
    data = reader.get_metrics_data()
    assert data is not None
    names = {
        metric.name
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    assert "gen_ai.client.operation.duration" in names
