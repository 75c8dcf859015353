"""Fixtures of the browser tests: a headless system Chromium and a folder for screenshots.

Without ``chromium`` on PATH (or ``$CHROMIUM``) these tests skip, so ``nox -s tests`` runs on
any machine; ``nox -s browser`` installs Debian's ``chromium`` and sets
``LANGCHAIN_OTEL_REQUIRE_BROWSER=1``, which turns the skip into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser._cdp import Browser, chromium_path


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole session (a fresh profile, closed at the end)."""
    executable = chromium_path()
    if executable is None:
        if os.environ.get("LANGCHAIN_OTEL_REQUIRE_BROWSER"):
            pytest.fail("chromium is not installed; `nox -s browser` installs it")
        pytest.skip("chromium is not installed (`nox -s browser` installs Debian's chromium)")
    running = Browser(executable)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots and pages go: ``$LANGCHAIN_OTEL_BROWSER_ARTIFACTS`` (nox), else tmp."""
    explicit = os.environ.get("LANGCHAIN_OTEL_BROWSER_ARTIFACTS")
    folder = Path(explicit) if explicit else tmp_path_factory.mktemp("browser-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
