"""The ``llm.end`` level check: remembered only where structlog's answer cannot change."""

from __future__ import annotations

import logging
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
import structlog

from langchain_otel import OTelCallbackHandler
from langchain_otel.callbacks._logs import LevelGate
from langchain_otel.llms import EchoLLM


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


def _configure(level: int, events: list[dict[str, Any]], *, cache: bool) -> None:
    def keep(_: Any, __: str, event: MutableMapping[str, Any]) -> str:
        events.append(dict(event))
        return ""

    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        processors=[keep],
        logger_factory=structlog.ReturnLoggerFactory(),
        cache_logger_on_first_use=cache,
    )


def _ends(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("event") == "llm.end"]


def _run(handler: OTelCallbackHandler) -> None:
    EchoLLM(n=2).invoke("ab", config={"callbacks": [handler]})


def test_an_uncached_proxy_follows_later_configuration() -> None:
    """structlog's default (no caching): WARNING, then INFO, and the event appears."""
    handler = OTelCallbackHandler(use_genai_prices=False)
    quiet: list[dict[str, Any]] = []
    _configure(logging.WARNING, quiet, cache=False)
    _run(handler)
    assert _ends(quiet) == []
    loud: list[dict[str, Any]] = []
    _configure(logging.INFO, loud, cache=False)
    _run(handler)
    assert len(_ends(loud)) == 1
    assert handler._log_gate._known == {}  # asked every time


@pytest.mark.parametrize(("level", "logged"), [(logging.INFO, 2), (logging.WARNING, 0)])
def test_a_cached_proxy_is_resolved_once(level: int, logged: int) -> None:
    """cache_logger_on_first_use: the answer is remembered, events go to that logger."""
    events: list[dict[str, Any]] = []
    _configure(level, events, cache=True)
    handler = OTelCallbackHandler(use_genai_prices=False)
    _run(handler)
    _run(handler)
    assert len(_ends(events)) == logged
    gate = handler._log_gate
    assert gate._known == {logging.INFO: bool(logged)}
    assert type(gate.logger) is structlog.make_filtering_bound_logger(level)


def test_other_loggers_are_asked_every_time() -> None:
    """A stdlib logger's level can change at any time: never remembered."""
    logger = logging.getLogger("langchain_otel.test_log_gate")
    gate = LevelGate(logger)
    logger.setLevel(logging.WARNING)
    assert gate.enabled(logging.INFO) is False
    logger.setLevel(logging.INFO)
    assert gate.enabled(logging.INFO) is True
    assert gate._known == {}


def test_a_broken_logger_is_assumed_to_log() -> None:
    class Broken:
        def is_enabled_for(self, level: int) -> bool:
            raise RuntimeError(level)

    assert LevelGate(Broken()).enabled(logging.INFO) is True
