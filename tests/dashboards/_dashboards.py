"""Reading the Grafana dashboards: panels, PromQL targets, variables, metric names."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = ROOT / "dashboards"
SCHEMA_FILE = DASHBOARD_DIR / "schema" / "grafana-dashboard.schema.json"
PANEL_SCHEMA_DIR = DASHBOARD_DIR / "schema" / "panels"

#: What Grafana substitutes for its built-in interval variables, for evaluation in tests.
BUILTIN_VALUES = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "5m",
}
#: What Grafana sends for a multi-value variable set to "All" (our variables' `allValue`).
ALL_VALUE = ".*"
#: Variables whose `allValue` differs: "every model" is `.+`, so that the model panels leave
#: out the agent and tool points of the duration histogram (they have no model label).
ALL_VALUES = {"model": ".+"}

_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")
# A metric name in a selector: an identifier directly followed by `{` (every panel query of
# ours uses a label selector, so a bare name is caught by the tests), or the first argument
# of a variable's `label_values(...)`.
_METRIC_IN_SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*\{")
_METRIC_IN_LABEL_VALUES = re.compile(r"label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*[,{]")


@dataclass(frozen=True)
class Query:
    """One PromQL expression of a dashboard, with where it comes from."""

    dashboard: str
    where: str
    expr: str

    @property
    def id(self) -> str:
        """A readable test id."""
        return f"{self.dashboard}:{self.where}"


def dashboard_files() -> list[Path]:
    """Every dashboard JSON file we ship."""
    return sorted(DASHBOARD_DIR.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    """One dashboard as a dict."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def iter_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def _is_prometheus(ref: dict[str, Any] | None) -> bool:
    return bool(ref) and ref.get("type") == "prometheus"  # type: ignore[union-attr]


def prometheus_queries(path: Path) -> list[Query]:
    """Every PromQL expression of one dashboard: panel targets and query variables."""
    dashboard = load(path)
    queries: list[Query] = []
    for panel in iter_panels(dashboard):
        for target in panel.get("targets", []):
            ref = target.get("datasource") or panel.get("datasource")
            if _is_prometheus(ref):
                where = f"{panel.get('title')}/{target['refId']}"
                queries.append(Query(path.stem, where, target["expr"]))
    return queries


def variable_queries(path: Path) -> list[Query]:
    """The `label_values(...)` queries of the dashboard's Prometheus query variables."""
    dashboard = load(path)
    return [
        Query(path.stem, f"${variable['name']}", variable["query"])
        for variable in dashboard["templating"]["list"]
        if variable["type"] == "query" and _is_prometheus(variable.get("datasource"))
    ]


def substitute(expr: str, values: dict[str, str] | None = None) -> str:
    """Replace Grafana variables (`$x`, `${x}`, `${x:fmt}`, `[[x]]`) as Grafana would.

    Built-in interval variables get `BUILTIN_VALUES`, every other variable its "All" value
    (`ALL_VALUES`, else `ALL_VALUE`) unless `values` names it.
    """
    given = {**BUILTIN_VALUES, **ALL_VALUES, **(values or {})}

    def replace(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        return given.get(name, ALL_VALUE)

    return _VARIABLE.sub(replace, expr)


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects."""
    return set(_METRIC_IN_SELECTOR.findall(expr)) | set(_METRIC_IN_LABEL_VALUES.findall(expr))


# OpenTelemetry → Prometheus name translation, as the Prometheus exporter and Prometheus's
# own OTLP receiver do it: dots to underscores, the unit as a suffix (annotations like
# `{token}` dropped, `s` spelled `seconds`), `_total` for monotonic counters, and
# `_bucket`/`_sum`/`_count` for histograms.
_UNIT_WORDS = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": ""}


def prometheus_names(name: str, unit: str, kind: str) -> set[str]:
    """The series names Prometheus stores for one OpenTelemetry instrument."""
    base = re.sub(r"[^A-Za-z0-9_:]", "_", name)
    unit_word = _UNIT_WORDS.get(unit, re.sub(r"\{[^}]*\}", "", unit))
    if unit_word and not base.endswith(f"_{unit_word}"):
        base = f"{base}_{unit_word}"
    if kind == "histogram":
        return {f"{base}_bucket", f"{base}_sum", f"{base}_count"}
    if kind == "counter":
        return {f"{base}_total"}
    return {base}
