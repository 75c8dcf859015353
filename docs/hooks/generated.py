"""mkdocs hook: reference pages generated from the code, never written by hand.

``generated_pages()`` maps a page path (relative to ``docs/``) to its Markdown; the hook
adds each page to the site, and ``tests/test_docs.py`` checks the nav against it. A page
appears only when the module it documents exists, so the site builds at every stage.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any, NamedTuple

__all__ = ["generated_pages", "on_files"]


def _import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


_GENERATORS: dict[str, Callable[[], str | None]] = {}


# -- reference/semconv.md: from langchain_otel.callbacks._semconv ------------------------

_SEMCONV_INTRO = """\
# Semantic conventions

This page is **generated from the code** (`langchain_otel.callbacks._semconv`, the one module
that holds every name we emit) when the site is built, so it cannot drift from what the
handler does. Names come from the OpenTelemetry
[GenAI semantic conventions](https://opentelemetry.io/docs/specs/semconv/gen-ai/) (status:
development); where they have no name (cost, LangChain context, outcome) we use our own
`langchain_otel.*` / `langchain.*` namespaces, never invented `gen_ai.*` names.
"""


class _MetricFacts(NamedTuple):
    """What the real instruments report: buckets and Prometheus names per metric."""

    buckets: dict[str, str]
    prometheus: dict[str, str]
    labels: frozenset[str]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _metric_facts(sc: ModuleType) -> _MetricFacts:
    """Bucket boundaries and Prometheus names, read back from the real instruments.

    The handler's instruments record one value each into a real ``MeterProvider``; an
    ``InMemoryMetricReader`` gives the bucket boundaries, and (when the ``prometheus``
    extra is installed) a ``PrometheusMetricReader`` on a private registry gives the
    names and labels exactly as Prometheus scrapes them.
    """
    instruments_cls = getattr(_import("langchain_otel.callbacks._metrics"), "Instruments", None)
    if instruments_cls is None:
        return _MetricFacts({}, {}, frozenset())
    from opentelemetry.sdk.metrics import MeterProvider  # noqa: PLC0415
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: PLC0415

    memory = InMemoryMetricReader()
    readers: list[Any] = [memory]
    registry = None
    try:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader  # noqa: PLC0415
        from prometheus_client import CollectorRegistry  # noqa: PLC0415

        registry = CollectorRegistry()
        readers.append(PrometheusMetricReader(registry=registry))
    except (ImportError, TypeError):  # no extra, or an exporter without `registry=`
        registry = None
    provider = MeterProvider(metric_readers=readers)
    attributes = dict.fromkeys(sorted(getattr(sc, "METRIC_ATTRIBUTES", ())), "x")
    try:
        instruments = instruments_cls(provider.get_meter("langchain_otel.docs"))
        for slot in getattr(instruments_cls, "__slots__", ()):
            instrument = getattr(instruments, slot)
            if hasattr(instrument, "record"):
                instrument.record(1, attributes)
            else:
                instrument.add(1, attributes)
        buckets: dict[str, str] = {}
        data = memory.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    point = next(iter(metric.data.data_points))
                    bounds = getattr(point, "explicit_bounds", None) or ()
                    buckets[metric.name] = ", ".join(_number(b) for b in bounds)
        if registry is None:
            return _MetricFacts(buckets, {}, frozenset())
        from prometheus_client import generate_latest  # noqa: PLC0415

        prometheus, labels = _parse_exposition(generate_latest(registry).decode(), buckets)
        return _MetricFacts(buckets, prometheus, labels)
    finally:
        provider.shutdown()


def _parse_exposition(text: str, names: Iterable[str]) -> tuple[dict[str, str], frozenset[str]]:
    """Prometheus family name per OpenTelemetry metric name, and every label seen."""
    families = [line.split(" ")[2:4] for line in text.splitlines() if line.startswith("# TYPE ")]
    prometheus: dict[str, str] = {}
    for name in names:
        stem = name.replace(".", "_")
        for family, kind in families:
            if family.startswith(stem):
                suffixes = " (`_bucket`, `_sum`, `_count`)" if kind == "histogram" else ""
                prometheus[name] = f"`{family}`{suffixes}"
    labels: set[str] = set()
    for line in text.splitlines():
        if line and not line.startswith("#") and "{" in line:
            inside = line[line.index("{") + 1 : line.rindex("}")]
            labels.update(pair.split("=", 1)[0] for pair in inside.split('",') if "=" in pair)
    return prometheus, frozenset(labels)


def _semconv_page() -> str | None:
    sc = _import("langchain_otel.callbacks._semconv")
    if sc is None:
        return None
    lines = [_SEMCONV_INTRO]
    lines += ["## Span attributes", ""]
    lines += ["| attribute | type | spans | description |", "|---|---|---|---|"]
    lines += [
        f"| `{a.name}` | {_cell(a.type)} | {_cell(a.spans)} | {_cell(a.description)} |"
        for a in sc.ATTRIBUTES
    ]
    facts = _metric_facts(sc)
    lines += ["", "## Metrics", ""]
    lines += [
        "Histograms carry the conventions' explicit bucket advice. The Prometheus column is",
        "what Prometheus stores when it scrapes our exporter (`OTEL_METRICS_EXPORTER=prometheus`),",
        "read from the real exporter at build time; the dashboards query these names.",
        "",
        "| metric | instrument | unit | description | buckets | Prometheus |",
        "|---|---|---|---|---|---|",
    ]
    for m in sc.METRICS:
        lines.append(
            f"| `{m.name}` | {_cell(m.instrument)} | `{_cell(m.unit)}` | {_cell(m.description)} "
            f"| {facts.buckets.get(m.name) or '—'} | {facts.prometheus.get(m.name, '—')} |"
        )
    allowed = sorted(getattr(sc, "METRIC_ATTRIBUTES", ()))
    lines += ["", "### Metric attributes", ""]
    lines += [
        "Metric points carry only these low-cardinality attributes, never run ids, prompts,",
        "user ids or free-form metadata:",
        "",
        "| attribute | Prometheus label |",
        "|---|---|",
    ]
    for name in allowed:
        label = name.replace(".", "_")
        shown = f"`{label}`" if not facts.labels or label in facts.labels else "—"
        lines.append(f"| `{name}` | {shown} |")
    lines += ["", "## Values", ""]
    for title, prefix in (
        ("`gen_ai.operation.name`", "OPERATION_"),
        ("`langchain_otel.outcome`", "OUTCOME_"),
        ("`gen_ai.token.type`", "TOKEN_TYPE_"),
        ("`langchain.run.type`", "RUN_TYPE_"),
    ):
        values = [
            value
            for name, value in vars(sc).items()
            if name.startswith(prefix) and isinstance(value, str)
        ]
        if values:
            lines.append(f"- {title}: " + ", ".join(f"`{v}`" for v in values))
    providers = getattr(sc, "PROVIDER_NAMES", None)
    if providers:
        lines += [
            "",
            "## Providers",
            "",
            "`gen_ai.provider.name` comes from LangChain's `ls_provider` metadata, mapped onto the",
            "conventions' values; other models are their own provider (their `_llm_type`).",
            "",
            "| LangChain `ls_provider` | `gen_ai.provider.name` |",
            "|---|---|",
        ]
        lines += [f"| `{k}` | `{v}` |" for k, v in providers.items()]
    events = [
        value
        for name, value in vars(sc).items()
        if name.startswith("EVENT_") and isinstance(value, str)
    ]
    keys = getattr(sc, "LOG_KEYS", ())
    if events or keys:
        lines += ["", "## Log events", ""]
        if events:
            lines.append("structlog event names: " + ", ".join(f"`{e}`" for e in events) + ".")
            lines.append("")
        if keys:
            lines.append(
                "Keys of the `llm.end` / `llm.error` events: "
                + ", ".join(f"`{k}`" for k in keys)
                + "."
            )
    return "\n".join(lines) + "\n"


_GENERATORS["reference/semconv.md"] = _semconv_page


def generated_pages() -> dict[str, str]:
    """Every generated page whose source module exists: ``{path: markdown}``."""
    pages: dict[str, str] = {}
    for path, generate in _GENERATORS.items():
        content = generate()
        if content is not None:
            pages[path] = content
    return pages


def on_files(files: Any, config: Any) -> Any:
    """The mkdocs `on_files` event: add the generated pages to the site."""
    from mkdocs.structure.files import File  # noqa: PLC0415 - only mkdocs needs it

    for path, content in generated_pages().items():
        files.append(File.generated(config, path, content=content))
    return files
