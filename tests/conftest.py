"""Fixtures shared by the whole test suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.openai_server import OpenAIServer


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A real OpenAI-style completions server on 127.0.0.1 (fresh per test).

    Configure it through its attributes (``response_model``, ``usage``, delays, ...) and
    script failures with ``openai_server.script(Fault.http(503), None)``.
    """
    with OpenAIServer() as server:
        yield server
