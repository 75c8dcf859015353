"""The candidates: plain LangChain, ours, and the leading LangChain instrumentations.

Every candidate runs in its own worker process (the peers patch LangChain globally) on
the same OpenTelemetry SDK setup: a ``TracerProvider`` with a ``BatchSpanProcessor`` in
front of an exporter that only counts, and a ``MeterProvider`` with an
``InMemoryMetricReader``. Providers are injected, never set globally.

``setup(name, sdk)`` installs one candidate in the current process and returns the
LangChain ``config`` each workload passes (``None`` when the candidate instruments
LangChain globally) and the object whose run maps the memory check measures.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import Sampler, TraceIdRatioBased

__all__ = [
    "CANDIDATES",
    "PRICES",
    "SAMPLED_RATIO",
    "Candidate",
    "CountingExporter",
    "Installed",
    "Sdk",
    "make_sdk",
    "ours_handler",
    "registry_size",
    "setup",
]

SAMPLED_RATIO = 0.1
"""``ours-sampled`` keeps this share of traces (``TraceIdRatioBased``)."""


class CountingExporter(SpanExporter):
    """A span exporter that counts what it is given, and keeps it only when asked.

    Example:
        >>> exporter = CountingExporter()
        >>> exporter.count
        0
    """

    def __init__(self) -> None:
        self.count = 0
        self.keep = False
        self.kept: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Count ``spans`` (and keep them while ``keep`` is set)."""
        self.count += len(spans)
        if self.keep:
            self.kept.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing to release."""


@dataclass
class Sdk:
    """The OpenTelemetry SDK objects of one worker process."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    exporter: CountingExporter
    reader: InMemoryMetricReader


def make_sdk(*, with_processor: bool = True, sampler: Sampler | None = None) -> Sdk:
    """A tracer provider batching into a counting exporter, and an in-memory meter.

    Example:
        >>> sdk = make_sdk()
        >>> with sdk.tracer_provider.get_tracer("bench").start_as_current_span("s"):
        ...     pass
        >>> _ = sdk.tracer_provider.force_flush()
        >>> sdk.exporter.count
        1
    """
    exporter = CountingExporter()
    tracer_provider = TracerProvider(sampler=sampler)
    if with_processor:
        tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    return Sdk(tracer_provider, MeterProvider(metric_readers=[reader]), exporter, reader)


@dataclass
class Installed:
    """A candidate installed in this process.

    Attributes:
        config: The LangChain config every workload passes (``None``: nothing passed).
        registry: The object(s) whose run maps the memory check counts.
        open_runs: A callable giving the candidate's own count of runs in flight, if any.
        models: Which models the candidate instruments (``"llm"``, ``"chat"``).
        workloads: The only workloads it runs (``None``: every one of its models).
        config_for: The config of one workload, when it differs per workload (the floor).
    """

    config: dict[str, Any] | None
    registry: list[Any] = field(default_factory=list)
    open_runs: Callable[[], int] | None = None
    models: tuple[str, ...] = ("llm", "chat")
    workloads: tuple[str, ...] | None = None
    config_for: Callable[[str], dict[str, Any] | None] | None = None

    def workload_config(self, workload: str) -> dict[str, Any] | None:
        """The config workload ``workload`` passes."""
        return self.config if self.config_for is None else self.config_for(workload)


@dataclass(frozen=True)
class Candidate:
    """One row group of the table: a name, what it is, and the packages it runs."""

    name: str
    description: str
    packages: tuple[str, ...]
    is_reference: bool = False
    checks_parenting: bool = True


CANDIDATES: dict[str, Candidate] = {
    c.name: c
    for c in (
        Candidate("bare", "plain LangChain, no callbacks", ("langchain-core",)),
        Candidate(
            "noop",
            "a do-nothing run_inline handler: LangChain's own dispatch cost",
            ("langchain-core",),
            is_reference=True,
        ),
        Candidate(
            "floor",
            "ours' exact spans, attributes and points, precomputed: the SDK's cost",
            ("langchain-otel",),
            is_reference=True,
        ),
        Candidate(
            "floor-causal",
            "the floor, end attributes set at the end and our context propagation on:"
            " what any handler with our outputs pays",
            ("langchain-otel",),
            is_reference=True,
        ),
        Candidate("ours", "OTelCallbackHandler in config", ("langchain-otel",)),
        Candidate(
            "ours-sampled",
            f"ours under a {SAMPLED_RATIO:.0%} TraceIdRatioBased sampler (W1 only)",
            ("langchain-otel",),
            checks_parenting=False,  # most requests leave no trace at all, by design
        ),
        Candidate("ours-instrument", "langchain_otel.instrument()", ("langchain-otel",)),
        Candidate(
            "ours-structlog",
            "OTelCallbackHandler, structlog JSON events to a file",
            ("langchain-otel", "structlog"),
        ),
        Candidate(
            "openinference",
            "OpenInference LangChainInstrumentor",
            ("openinference-instrumentation-langchain",),
        ),
        Candidate(
            "openllmetry",
            "OpenLLMetry (Traceloop) LangchainInstrumentor",
            ("opentelemetry-instrumentation-langchain",),
        ),
        Candidate(
            "otel-genai",
            "official OTel GenAI LangChainInstrumentor",
            ("opentelemetry-instrumentation-genai-langchain",),
        ),
        Candidate("langfuse", "Langfuse CallbackHandler", ("langfuse",)),
    )
}
"""Every candidate, in table order."""


def package_version(name: str) -> str | None:
    """The installed version of distribution ``name``, or ``None``."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def available(name: str) -> bool:
    """Whether candidate ``name``'s packages are installed here.

    For ours, also whether this version of langchain-otel has the handler yet.
    """
    if not all(package_version(p) is not None for p in CANDIDATES[name].packages):
        return False
    if name.startswith("ours"):
        import langchain_otel

        return hasattr(langchain_otel, "OTelCallbackHandler")
    return True


def _quiet_structlog() -> None:
    """Structlog drops info events cheaply: the candidate's logs are off."""
    import structlog

    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        cache_logger_on_first_use=True,
    )


def _json_structlog() -> str:
    """Structlog writes JSON lines to a temporary file; returns its path."""
    import structlog

    fd, path = tempfile.mkstemp(prefix="langchain-otel-bench-", suffix=".jsonl")
    os.close(fd)
    out = open(path, "w", encoding="utf-8")  # noqa: SIM115 - open for the process's life
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.WriteLoggerFactory(file=out),
        cache_logger_on_first_use=True,
    )
    return path


def _patched_manager_handlers() -> list[Any]:
    """The handlers a global instrumentation adds to every new callback manager."""
    from langchain_core.callbacks import CallbackManager

    return list(CallbackManager(handlers=[]).handlers)


def _setup_bare(sdk: Sdk) -> Installed:
    return Installed(config=None)


def _setup_noop(sdk: Sdk) -> Installed:
    from benchmarks.noop import NoopHandler

    return Installed(config={"callbacks": [NoopHandler()]})


def _prices() -> dict[str, Any]:
    from langchain_otel import ModelPrice

    # Real models have a price (genai-prices knows them); ours then emits cost too.
    return {
        "echo": ModelPrice(input_per_million=0.15, output_per_million=0.6),
        "fake-chat": ModelPrice(input_per_million=2.5, output_per_million=10.0),
    }


PRICES = ("echo", "fake-chat")
"""The models ours is given a price for (as a real model has one), so it emits cost."""


def ours_handler(tracer_provider: Any, meter_provider: Any, logger: Any = None) -> Any:
    """Our handler as every ``ours*`` candidate (and the floor's recording) builds it."""
    from langchain_otel import OTelCallbackHandler

    return OTelCallbackHandler(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        prices=_prices(),
        logger=logger,
    )


def _installed_ours(handler: Any, **kwargs: Any) -> Installed:
    return Installed(
        config={"callbacks": [handler]},
        registry=[handler],
        open_runs=lambda: int(handler.open_runs),
        **kwargs,
    )


def _setup_ours(sdk: Sdk) -> Installed:
    _quiet_structlog()
    return _installed_ours(ours_handler(sdk.tracer_provider, sdk.meter_provider))


def _setup_ours_sampled(sdk: Sdk) -> Installed:
    _quiet_structlog()
    handler = ours_handler(sdk.tracer_provider, sdk.meter_provider)
    return _installed_ours(handler, workloads=("W1",))


def _setup_floor(sdk: Sdk, *, causal: bool = False) -> Installed:
    """The floor: a handler per workload replaying ours' recorded outputs.

    ``causal``: the causal floor, with our context propagation installed (the handler
    claims its runs where propagation finds them).
    """
    from benchmarks import floor
    from benchmarks import workloads as wl

    _quiet_structlog()
    if causal:
        from langchain_otel.callbacks import _propagation

        _propagation.install()  # before any recording: record() then leaves it installed
    models = wl.build_models()
    configs: dict[str, dict[str, Any]] = {}
    handlers: list[Any] = []

    def config_for(workload: str) -> dict[str, Any]:
        if workload not in configs:
            script = floor.record(wl.WORKLOADS[workload], models)
            handler = floor.FloorHandler(script, sdk, causal=causal)
            handlers.append(handler)
            configs[workload] = {"callbacks": [handler]}
        return configs[workload]

    return Installed(
        config=config_for("W1"),
        registry=handlers,
        open_runs=lambda: sum(h.open_runs for h in handlers),
        config_for=config_for,
    )


def _setup_floor_causal(sdk: Sdk) -> Installed:
    return _setup_floor(sdk, causal=True)


def _setup_ours_structlog(sdk: Sdk) -> Installed:
    _json_structlog()
    return _installed_ours(ours_handler(sdk.tracer_provider, sdk.meter_provider))


def _setup_ours_instrument(sdk: Sdk) -> Installed:
    _quiet_structlog()
    from langchain_otel import instrument

    handler = instrument(
        tracer_provider=sdk.tracer_provider, meter_provider=sdk.meter_provider, prices=_prices()
    )
    handlers = [handler] if handler is not None else []
    open_runs = (lambda: int(handler.open_runs)) if hasattr(handler, "open_runs") else None
    return Installed(config=None, registry=handlers, open_runs=open_runs)


def _setup_openinference(sdk: Sdk) -> Installed:
    from openinference.instrumentation.langchain import LangChainInstrumentor

    LangChainInstrumentor().instrument(tracer_provider=sdk.tracer_provider)
    return Installed(config=None, registry=_patched_manager_handlers())


def _setup_openllmetry(sdk: Sdk) -> Installed:
    # Traceloop sends prompts and completions by default; the others do not.
    os.environ.setdefault("TRACELOOP_TRACE_CONTENT", "false")
    from opentelemetry.instrumentation.langchain import LangchainInstrumentor

    LangchainInstrumentor().instrument(
        tracer_provider=sdk.tracer_provider, meter_provider=sdk.meter_provider
    )
    return Installed(config=None, registry=_patched_manager_handlers())


def _setup_otel_genai(sdk: Sdk) -> Installed:
    from opentelemetry.instrumentation.genai.langchain import LangChainInstrumentor

    # It requires the `langchain` package, which these workloads do not need.
    LangChainInstrumentor().instrument(
        tracer_provider=sdk.tracer_provider,
        meter_provider=sdk.meter_provider,
        skip_dep_check=True,
    )
    return Installed(config=None, registry=_patched_manager_handlers(), models=("chat",))


def _setup_langfuse(sdk: Sdk) -> Installed:
    """Langfuse on a provider of its own, exporting nothing.

    The provider's only processor is Langfuse's own, exporting to the counting exporter
    instead of its OTLP endpoint: nothing leaves the process.
    """
    from langfuse import Langfuse
    from langfuse._client.span_processor import LangfuseSpanProcessor
    from langfuse.langchain import CallbackHandler

    keys = {"public_key": "pk-lf-bench", "secret_key": "sk-lf-bench"}  # dummies
    Langfuse(**keys, host="http://127.0.0.1:9", tracer_provider=sdk.tracer_provider)
    processors = sdk.tracer_provider._active_span_processor._span_processors
    swapped = 0
    for processor in processors:
        if isinstance(processor, LangfuseSpanProcessor):
            processor._batch_processor._exporter = sdk.exporter
            swapped += 1
    if swapped != 1:
        raise RuntimeError(f"expected one LangfuseSpanProcessor, found {swapped}")
    handler = CallbackHandler(public_key=keys["public_key"])
    return Installed(config={"callbacks": [handler]}, registry=[handler])


_SETUPS: dict[str, Callable[[Sdk], Installed]] = {
    "bare": _setup_bare,
    "noop": _setup_noop,
    "floor": _setup_floor,
    "floor-causal": _setup_floor_causal,
    "ours": _setup_ours,
    "ours-sampled": _setup_ours_sampled,
    "ours-instrument": _setup_ours_instrument,
    "ours-structlog": _setup_ours_structlog,
    "openinference": _setup_openinference,
    "openllmetry": _setup_openllmetry,
    "otel-genai": _setup_otel_genai,
    "langfuse": _setup_langfuse,
}


def setup(name: str) -> tuple[Sdk, Installed]:
    """Build the SDK and install candidate ``name`` in this process."""
    sampler = TraceIdRatioBased(SAMPLED_RATIO) if name == "ours-sampled" else None
    sdk = make_sdk(with_processor=name != "langfuse", sampler=sampler)
    return sdk, _SETUPS[name](sdk)


def _attribute_values(obj: Any) -> list[Any]:
    """The values of an object's attributes, from its ``__dict__`` and its slots."""
    values = list(getattr(obj, "__dict__", {}).values())
    for klass in type(obj).__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for slot in (slots,) if isinstance(slots, str) else slots:
            with contextlib.suppress(AttributeError):
                values.append(getattr(obj, slot))
    return values


def _has_attributes(value: Any) -> bool:
    return hasattr(value, "__dict__") or bool(getattr(type(value), "__slots__", ()))


def registry_size(objects: list[Any], *, depth: int = 2) -> int:
    """Entries keyed by run id (UUID) in the dicts and sets the objects hold.

    This is what "registry size" means for every candidate: how many runs its handler
    still remembers. It looks ``depth`` attribute levels deep.

    Example:
        >>> class Handler:
        ...     def __init__(self):
        ...         self.runs = {uuid.uuid4(): 1, uuid.uuid4(): 2}
        ...         self.name = "h"
        >>> registry_size([Handler()])
        2
    """
    seen: set[int] = set()
    total = 0

    def visit(obj: Any, level: int) -> None:
        nonlocal total
        if id(obj) in seen or level > depth:
            return
        seen.add(id(obj))
        if isinstance(obj, dict | set | frozenset):
            if any(isinstance(key, uuid.UUID) for key in list(obj)[:1]):
                total += len(obj)
            return
        if isinstance(obj, type):
            return
        for value in _attribute_values(obj):
            if isinstance(value, dict | set | frozenset) or _has_attributes(value):
                visit(value, level + 1)

    for obj in objects:
        visit(obj, 0)
    return total
