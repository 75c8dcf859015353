"""mkdocs hook: reference pages generated from the code, never written by hand.

``generated_pages()`` maps a page path (relative to ``docs/``) to its Markdown; the hook
adds each page to the site, and ``tests/test_docs.py`` checks the nav against it. A page
appears only when the module it documents exists, so the site builds at every stage.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Callable, Iterable
from pathlib import Path
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


def _observed_spans() -> list[tuple[str, str, str, str]]:
    """(run, span name, kind, operation) of real runs of each kind through a handler.

    A chain, an LLM, a chat model, a tool and a retriever run through an
    ``OTelCallbackHandler`` wired to an in-memory exporter; the table shows what the
    handler really produced.
    """
    from langchain_core.callbacks import CallbackManagerForRetrieverRun  # noqa: PLC0415
    from langchain_core.documents import Document  # noqa: PLC0415
    from langchain_core.language_models.fake_chat_models import (  # noqa: PLC0415
        FakeListChatModel,
    )
    from langchain_core.retrievers import BaseRetriever  # noqa: PLC0415
    from langchain_core.runnables import RunnableLambda  # noqa: PLC0415
    from langchain_core.tools import tool  # noqa: PLC0415

    from langchain_otel.llms import EchoLLM  # noqa: PLC0415
    from langchain_otel.testing import capture_telemetry  # noqa: PLC0415

    class DocsRetriever(BaseRetriever):
        def _get_relevant_documents(
            self, query: str, *, run_manager: CallbackManagerForRetrieverRun
        ) -> list[Document]:
            return [Document(page_content=query)]

    @tool
    def lookup(city: str) -> str:
        """Look a city up."""
        return city

    runs: list[tuple[str, Any, Any]] = [
        ("chain (any runnable)", RunnableLambda(lambda x: x, name="my_step"), "x"),
        ("LLM (`on_llm_start`)", EchoLLM(n=2), "hi"),
        ("chat model (`on_chat_model_start`)", FakeListChatModel(responses=["hi"]), "hi"),
        ("tool", lookup, {"city": "Paris"}),
        ("retriever", DocsRetriever(name="docs_retriever"), "query"),
        (
            "agent (`create_agent`, a named graph, or the `langchain_otel.agent` metadata key)",
            RunnableLambda(lambda x: x, name="my_agent").with_config(
                metadata={"langchain_otel.agent": "my_agent"}
            ),
            "x",
        ),
    ]
    rows: list[tuple[str, str, str, str]] = []
    with capture_telemetry(use_genai_prices=False) as telemetry:
        for label, runnable, value in runs:
            telemetry.clear()
            runnable.invoke(value, config={"callbacks": [telemetry.handler]})
            span = telemetry.spans[-1]
            attributes = span.attributes or {}
            operation = attributes.get("gen_ai.operation.name")
            rows.append(
                (
                    label,
                    str(span.name),
                    span.kind.name,
                    f"`{operation}`" if operation else "—",
                )
            )
    return rows


def _semconv_page() -> str | None:
    sc = _import("langchain_otel.callbacks._semconv")
    if sc is None:
        return None
    lines = [_SEMCONV_INTRO]
    lines += [
        "## Spans",
        "",
        "One span per LangChain run, parented by the run's parent (so a chain is one trace).",
        "Model spans are named `{gen_ai.operation.name} {gen_ai.request.model}`. The examples",
        "are the spans of real runs (an `EchoLLM`, LangChain's `FakeListChatModel`, a tool",
        "named `lookup`, a retriever named `docs_retriever`, a runnable named `my_step`, one named",
        "as the agent `my_agent`). A root LangGraph graph that is not an agent is an INTERNAL",
        "`invoke_workflow {name}` span (see the handler guide's *Agents and LangGraph*).",
        "",
        "| run | span name (example) | kind | `gen_ai.operation.name` |",
        "|---|---|---|---|",
    ]
    lines += [f"| {run} | `{name}` | {kind} | {op} |" for run, name, kind, op in _observed_spans()]
    lines += ["", "## Span attributes", ""]
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
        ("`gen_ai.tool.type`", "TOOL_TYPE_"),
        (
            '`error.type` of a tool that returned a `ToolMessage` with `status="error"`',
            "ERROR_TYPE_TOOL_",
        ),
        ("run metadata key naming a run as an agent (see the handler guide)", "AGENT_METADATA_"),
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


# -- reference/environment-variables.md: from the modules that read them -----------------

_ENV_INTRO = """\
# Environment variables

This page is **generated from the code** when the site is built. Variables are read when
you call us (`configure()`, a handler's constructor, `instrument()`), never at import time,
and an argument always wins over its variable. See [Configuration](../configuration.md) for
how they combine.
"""

_SIGNALS = ("TRACES", "METRICS", "LOGS")
_ENV_NAME = re.compile(r"(?:LANGCHAIN_)?OTEL_[A-Z0-9_]*[A-Z0-9]")
_ENV_MODULES = (
    "langchain_otel.environment_variables",
    "langchain_otel.config",
    "langchain_otel._export._otlp_http",
)


def _rst_to_markdown(text: str) -> str:
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", text)
    return " ".join(text.replace("``", "`").split())


def _own_variables() -> list[tuple[str, str, str]]:
    """(variable, module, docstring) of every ``NAME = "NAME"`` constant with a docstring."""
    rows = []
    for module_name in _ENV_MODULES:
        module = _import(module_name)
        if module is None or module.__file__ is None:
            continue
        body = ast.parse(Path(module.__file__).read_text(encoding="utf-8")).body
        for statement, following in zip(body, [*body[1:], None], strict=True):
            target = None
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target = statement.targets[0]
            elif isinstance(statement, ast.AnnAssign):
                target = statement.target
            if not isinstance(target, ast.Name) or not _ENV_NAME.fullmatch(target.id):
                continue
            if getattr(module, target.id, None) != target.id:
                continue
            doc = ""
            if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
                doc = str(following.value.value)
            rows.append((target.id, module_name, _rst_to_markdown(doc)))
    return rows


def _variables_in_source() -> set[str]:
    """Every ``OTEL_*`` name the package's source spells out (f-strings per signal)."""
    package = _import("langchain_otel")
    if package is None or package.__file__ is None:
        return set()
    names: set[str] = set()
    for path in sorted(Path(package.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                candidates = [node.value]
            elif isinstance(node, ast.JoinedStr):
                parts = [
                    "{}" if isinstance(v, ast.FormattedValue) else str(getattr(v, "value", ""))
                    for v in node.values
                ]
                candidates = ["".join(parts).replace("{}", signal) for signal in _SIGNALS]
            else:
                continue
            names.update(c for c in candidates if _ENV_NAME.fullmatch(c))
    return names


def _configure_arguments() -> dict[str, tuple[list[str], str, bool]]:
    """Variable → (``configure()`` arguments naming it, meaning, per-signal form?).

    Read from the ``Args:`` section of ``configure()``'s docstring; when several
    arguments name a variable, the meaning is the one whose name matches it.
    """
    config = _import("langchain_otel.config")
    doc = inspect.getdoc(getattr(config, "configure", None)) or ""
    if "Args:" not in doc:
        return {}
    entries: list[tuple[str, list[str]]] = []
    for line in doc.split("Args:", 1)[1].splitlines():
        if line and not line.startswith(" "):
            break  # the next section
        match = re.match(r"^    (\w+): (.*)$", line)
        if match:
            entries.append((match.group(1), [match.group(2)]))
        elif entries and line.strip():
            entries[-1][1].append(line.strip())
    found: dict[str, tuple[list[str], str, bool]] = {}
    for argument, lines in entries:
        text = _rst_to_markdown(" ".join(lines))
        for token in re.findall(r"(?<![A-Z0-9_])OTEL_[A-Z0-9_{},]*[A-Z0-9}]", text):
            braces = re.search(r"\{([A-Z,]+)\}", token)
            names = (
                [token.replace(braces.group(0), part) for part in braces.group(1).split(",")]
                if braces
                else [token]
            )
            for name in names:
                arguments, meaning, _ = found.get(name, ([], text, bool(braces)))
                if argument.upper() in name:
                    meaning = text
                found[name] = ([*arguments, argument], meaning, bool(braces))
    return found


def _general_form(name: str) -> tuple[str, str] | None:
    """``OTEL_EXPORTER_OTLP_TRACES_HEADERS`` → (``OTEL_EXPORTER_OTLP_HEADERS``, traces)."""
    for signal in _SIGNALS:
        marker = f"_{signal}_"
        if marker in name:
            return name.replace(marker, "_", 1), signal.lower()
    return None


def _environment_page() -> str | None:
    own = _own_variables()
    if not own:
        return None
    lines = [_ENV_INTRO, "## langchain-otel's variables", ""]
    lines += ["| variable | read by | meaning |", "|---|---|---|"]
    lines += [f"| `{name}` | `{module}` | {_cell(doc)} |" for name, module, doc in own]
    documented = _configure_arguments()
    own_names = {name for name, _, _ in own}
    standard = sorted((_variables_in_source() | set(documented)) - own_names)
    if standard:
        lines += [
            "",
            "## Standard OpenTelemetry variables",
            "",
            "`configure()` honours these variables of the OpenTelemetry specification. The",
            "meaning is the docstring of the `configure()` argument that wins over the variable.",
            "",
            "| variable | `configure()` argument | meaning |",
            "|---|---|---|",
        ]
        for name in standard:
            arguments, text, per_signal = documented.get(name, ([], "", False))
            general = _general_form(name)
            if general is not None and (per_signal or not arguments):
                general_name, signal = general
                arguments = arguments or documented.get(general_name, ([], "", False))[0]
                text = f"For {signal} only; wins over `{general_name}`. {text}".strip()
            shown = ", ".join(f"`{argument}`" for argument in arguments) or "none"
            lines.append(f"| `{name}` | {shown} | {_cell(text) or '—'} |")
    return "\n".join(lines) + "\n"


_GENERATORS["reference/environment-variables.md"] = _environment_page


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
