from __future__ import annotations

from collections.abc import Iterator

import pytest

from langchain_otel import ModelPrice
from langchain_otel.testing import FakeClock, Telemetry, capture_telemetry, fake_clock

ECHO_PRICE = ModelPrice(input_per_million=1.0, output_per_million=2.0)


@pytest.fixture(name="telemetry")
def _telemetry() -> Iterator[Telemetry]:
    """A strict handler (our bugs raise) wired to in-memory providers."""
    with capture_telemetry(strict=True, prices={"echo": ECHO_PRICE}) as telemetry:
        yield telemetry


@pytest.fixture(name="clock")
def _clock() -> Iterator[FakeClock]:
    with fake_clock(start=100.0) as clock:
        yield clock
