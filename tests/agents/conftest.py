from __future__ import annotations

from collections.abc import Iterator

import pytest

from langchain_otel import ModelPrice
from langchain_otel.testing import CapturedTelemetry, capture_telemetry

SCRIPTED_PRICE = ModelPrice(input_per_million=1.0, output_per_million=2.0)


@pytest.fixture(name="telemetry")
def _telemetry() -> Iterator[CapturedTelemetry]:
    """A strict handler (our bugs raise) that knows the scripted model's price."""
    with capture_telemetry(strict=True, prices={"scripted": SCRIPTED_PRICE}) as telemetry:
        yield telemetry


@pytest.fixture(name="telemetry_all_runs")
def _telemetry_all_runs() -> Iterator[CapturedTelemetry]:
    """The same handler keeping every run as a span (no folding)."""
    with capture_telemetry(
        strict=True, prices={"scripted": SCRIPTED_PRICE}, keep_all_runs=True
    ) as telemetry:
        yield telemetry
