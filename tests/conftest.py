"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.openai_server import OpenAIServer

SUITE_KNOBS = ("LANGCHAIN_OTEL_REQUIRE_", "LANGCHAIN_OTEL_STRESS_", "LANGCHAIN_OTEL_BIN_")
"""Prefixes of variables that steer the test suite itself (set by nox), never the library."""


def _reset_global_state() -> None:
    import structlog

    import langchain_otel  # imported when the first test runs, not at collection

    if langchain_otel.is_instrumented():
        langchain_otel.uninstrument()
    langchain_otel.reset_defaults()
    structlog.reset_defaults()  # a test that configures structlog (a level filter) is undone


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts without the user's OTEL_* / LANGCHAIN_OTEL_* settings, unconfigured.

    ``configure()``, ``instrument()`` and ``structlog.configure()`` are undone before and
    after each test, so one test's global state cannot leak into the next.
    """
    for name in list(os.environ):
        if name.startswith(("OTEL_", "LANGCHAIN_OTEL_")) and not name.startswith(SUITE_KNOBS):
            monkeypatch.delenv(name)
    _reset_global_state()
    yield
    _reset_global_state()


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A real OpenAI-style completions server on 127.0.0.1 (fresh per test).

    Configure it through its attributes (``response_model``, ``usage``, delays, ...) and
    script failures with ``openai_server.script(Fault.http(503), None)``.
    """
    with OpenAIServer() as server:
        yield server
