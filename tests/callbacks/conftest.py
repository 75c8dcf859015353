from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler

from langchain_otel import ModelPrice
from langchain_otel.testing import CapturedTelemetry, FakeClock, capture_telemetry, fake_clock

ECHO_PRICE = ModelPrice(input_per_million=1.0, output_per_million=2.0)


@pytest.fixture(name="telemetry")
def _telemetry() -> Iterator[CapturedTelemetry]:
    """A strict handler (our bugs raise) wired to in-memory providers."""
    with capture_telemetry(strict=True, prices={"echo": ECHO_PRICE}) as telemetry:
        yield telemetry


@pytest.fixture(name="clock")
def _clock() -> Iterator[FakeClock]:
    with fake_clock(start=100.0) as clock:
        yield clock


class Ticker(BaseCallbackHandler):
    """Advances the fake clock when a model run starts and on each token.

    Put it after our handler in the callbacks: our handler sees the time before the
    ticker moves it (start at the clock's time, first token ``start`` later).
    """

    run_inline = True

    def __init__(self, clock: FakeClock, start: float, per_token: float) -> None:
        self.clock, self.start, self.per_token = clock, start, per_token

    def on_llm_start(self, *args: Any, **kwargs: Any) -> None:
        """Chat models reach this too (the base ``on_chat_model_start`` falls back)."""
        self.clock.advance(self.start)

    def on_llm_new_token(self, *args: Any, **kwargs: Any) -> None:
        """One token later."""
        self.clock.advance(self.per_token)
