"""The service chain counted by exporter (``benchmarks/service/instructions.py``, issue 18)."""

# ruff: noqa: RUF001 - the report's dashes and multiplication signs are what is checked

from __future__ import annotations

import contextvars
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from benchmarks.service import driver
from benchmarks.service import instructions as si

ROOT = Path(__file__).resolve().parents[1]


def _worker(variant: str, requests: int, port: int, directory: Path, route: str = "invoke") -> None:
    """The counted worker as callgrind starts it, without callgrind."""
    env = {
        **driver.worker_env(),
        "OTEL_BSP_SCHEDULE_DELAY": si.PAST_THE_RUN_MS,
        "OTEL_METRIC_EXPORT_INTERVAL": si.PAST_THE_RUN_MS,
    }
    env["PYTHONPATH"] += os.pathsep + str(ROOT / "src")
    command = [sys.executable, "-m", "benchmarks.service.instructions", "--worker"]
    done = subprocess.run(
        [*command, variant, route, str(requests), str(port), str(directory)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]


class TestWorker:
    def test_otlp_exports_every_span_in_one_batch_at_the_end(self, tmp_path: Path) -> None:
        """Schedule and interval past the run: one traces request and one metrics request."""
        with driver.sink_process() as port:
            _worker("ours-otlp", 3, port, tmp_path)
            stats = driver._get(port, "/stats")
        assert stats["requests"] == {"/v1/traces": 1, "/v1/metrics": 1}
        assert stats["bytes"]["/v1/traces"] > 0

    @pytest.mark.parametrize("route", si.ROUTES)
    def test_embedded_writes_the_run_to_its_directory(self, tmp_path: Path, route: str) -> None:
        """The embedded default: every span of warm-up and run in one batch of lines."""
        with driver.sink_process() as port:
            _worker("ours-embedded", 3, port, tmp_path, route)
        lines = (tmp_path / "traces.jsonl").read_text(encoding="utf-8").splitlines()
        spans = [
            span
            for line in lines
            for resource in json.loads(line)["resourceSpans"]
            for scope in resource["scopeSpans"]
            for span in scope["spans"]
        ]
        assert len(lines) == 1
        assert len(spans) == 2 * (si.WARM_REQUESTS + 3)  # the chain and the model, folded
        streamed = [s for s in spans if s["name"].startswith("text_completion")]
        ttft = [a for s in streamed for a in s["attributes"] if "time_to_first" in a["key"]]
        assert len(ttft) == (len(streamed) if route == "stream" else 0)

    def test_usage(self) -> None:
        assert si.main(["--worker", "ours-none"]) == 2

    def test_an_unknown_route_is_refused(self) -> None:
        with pytest.raises(ValueError, match="route 'chat': not one of invoke, stream"):
            si.worker("bare", "chat", 1, 1, "unused")


class TestReport:
    def _result(self, totals: dict[str, dict[str, Any]], route: str = "invoke") -> dict[str, Any]:
        routes = {route: {"totals": totals, "summary": si.summarise(totals)}}
        return {"short": si.SHORT, "long": si.LONG, "routes": routes}

    @staticmethod
    def _sizes(per_request: float, start: int = 10_000_000) -> dict[str, Any]:
        return {
            str(si.SHORT): start + int(per_request * si.SHORT),
            str(si.LONG): start + int(per_request * si.LONG),
        }

    def test_goals_judged_per_variant(self) -> None:
        """Shares of bare against 80% (exporters off) and 70% (OTLP, embedded)."""
        totals = {
            "bare": self._sizes(3_000_000),
            "ours-none": self._sizes(3_700_000),  # 81%
            "ours-otlp": self._sizes(4_400_000),  # 68%
            "ours-embedded": self._sizes(4_200_000),  # 71%
        }
        result = self._result(totals, "stream")
        summary = result["routes"]["stream"]["summary"]
        assert summary["ours-none"]["per_request"] == pytest.approx(3_700_000)
        assert summary["ours-otlp"]["times_bare"] == pytest.approx(4.4 / 3.0)
        table = si.render(result)
        assert "\n/stream:\n" in table
        assert "| ours-none | 3.70 M | 1.23 | 81% | ≥ 80%: met |" in table
        assert "| ours-otlp | 4.40 M | 1.47 | 68% | ≥ 70%: NOT met |" in table
        assert "| ours-embedded | 4.20 M | 1.40 | 71% | ≥ 70%: met |" in table
        assert "| bare | 3.00 M | 1.00 | 100% | – |" in table
        assert "never costs more than OTLP: 0.955× OTLP (met)" in table

    def test_embedded_dearer_than_otlp_is_not_met(self) -> None:
        totals = {
            "bare": self._sizes(3_000_000),
            "ours-otlp": self._sizes(4_000_000),
            "ours-embedded": self._sizes(4_100_000),
        }
        assert "1.025× OTLP (NOT met)" in si.render(self._result(totals))

    def test_a_failed_worker_is_reported_not_counted(self) -> None:
        totals = {
            "bare": self._sizes(3_000_000),
            "openllmetry": {str(si.SHORT): 5, str(si.LONG): "worker exited 1: boom\nTraceback"},
        }
        result = self._result(totals)
        summary = result["routes"]["invoke"]["summary"]
        assert summary["openllmetry"] == {"error": "worker exited 1: boom\nTraceback"}
        assert "| openllmetry | worker exited 1: boom | – | – | – |" in si.render(result)


def test_run_counts_both_sizes_of_every_variant_on_every_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each variant on each route at both sizes, against one sink; summaries per route."""
    seen: list[tuple[str, str, int]] = []

    def count(variant: str, route: str, requests: int, port: int, folder: Path) -> int:
        assert port > 0
        assert folder.is_dir()
        seen.append((route, variant, requests))
        dearer = 3 if route == "invoke" else 4
        return 1_000 * requests * (2 if variant == "bare" else dearer)

    monkeypatch.setattr(si, "_count", count)
    result = si.run(("bare", "ours-none"))
    assert sorted(seen) == [
        (route, variant, size)
        for route in ("invoke", "stream")
        for variant in ("bare", "ours-none")
        for size in (si.SHORT, si.LONG)
    ]
    assert list(result["routes"]) == ["invoke", "stream"]
    shares = {r: result["routes"][r]["summary"]["ours-none"]["share_of_bare"] for r in si.ROUTES}
    assert shares == pytest.approx({"invoke": 2 / 3, "stream": 1 / 2})


def test_the_noop_variant_puts_one_inline_do_nothing_handler_on_every_run() -> None:
    """The floor under ``ours-none``: LangChain's dispatch to a handler that does nothing."""
    from benchmarks.service import app
    from langchain_core.callbacks import CallbackManager

    def configured() -> tuple[list[tuple[str, bool]], list[str]]:
        stop = app._noop_handler()
        try:
            handlers = CallbackManager.configure().handlers
            on = [(type(h).__name__, h.run_inline) for h in handlers]
        finally:
            stop()
        return on, [type(h).__name__ for h in CallbackManager.configure().handlers]

    during, after = contextvars.copy_context().run(configured)
    assert during == [("NoopHandler", True)]
    assert after == []
    assert "noop" in si.VARIANTS
    assert "noop" in app.VARIANTS
