"""OTelCallbackHandler: LangChain callbacks → GenAI-semconv spans, metrics and logs.

Each callback is a few lines handing its arguments to the run core
(:mod:`langchain_otel.callbacks._core`); see ``docs/architecture.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any, cast
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry import metrics, trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from langchain_otel._unread_meters import points_meter_provider
from langchain_otel.callbacks import _logs, _propagation, _runs
from langchain_otel.callbacks import _semconv as sc
from langchain_otel.callbacks._attributes import RequestCache
from langchain_otel.callbacks._content import ContentPolicy
from langchain_otel.callbacks._cost import ModelPrice, PriceBook
from langchain_otel.callbacks._metrics import Instruments, PointAttributes
from langchain_otel.callbacks._runs import RunRegistry
from langchain_otel.callbacks._step_callbacks import StepCallbacks
from langchain_otel.exceptions import ConfigurationError

__all__ = ["OTelCallbackHandler"]

try:
    _VERSION = version("langchain-otel")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    _VERSION = "0.0.0"
_SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"
_SCOPE = "langchain_otel"


def _pack(kwargs: dict[str, Any], invocation_params: Any, name: Any) -> None:
    """Put back the model-start keywords the run core reads from ``kwargs``.

    The callbacks name every keyword LangChain passes: CPython binds a keyword that
    lands in ``**kwargs`` by comparing it with every parameter name (the slow path of
    its argument binding): ``tags`` alone cost ≈ 950 instructions per streamed token
    (W4, ``docs/performance.md``).
    """
    if invocation_params is not None:
        kwargs["invocation_params"] = invocation_params
    if name is not None:
        kwargs["name"] = name


class OTelCallbackHandler(StepCallbacks, BaseCallbackHandler):
    """Turns LangChain runs into OpenTelemetry spans, metrics and structlog events.

    Model runs become CLIENT spans named ``"{operation} {model}"`` with the GenAI
    semantic conventions' attributes (model, provider, request parameters, response
    model/id/finish reasons, token usage, time to first chunk, cost); chains, tools and
    retrievers get spans too, so a chain run is one trace. Each finished model run
    records the duration, token usage, time-to-first-chunk, time-per-chunk and cost
    metrics and logs one ``llm.end`` / ``llm.error`` event.

    One handler serves sync and async code: ``run_inline = True`` makes both callback
    managers call it in the caller's thread or task, with no executor hop per token.
    Its methods do no I/O and take no lock on the per-token path. ``raise_error =
    False``: whatever goes wrong inside the handler is counted (``internal_errors``),
    logged once per kind, and never reaches your chain.

    Args:
        tracer_provider: Where spans go; the global provider when None.
        meter_provider: Where metrics go; the global provider when None. One that
            ``configure()`` built with no metric exporter gets no points: no reader
            can ever read it.
        logger: A structlog-style logger; ``structlog.get_logger("langchain_otel")``
            when None. The handler never calls ``structlog.configure()``.
        capture_content: Record prompts and completions (``True``), or not
            (``False``); None reads ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``
            once, here. Off by default; content never goes into metrics.
        prices: USD prices per model name, checked before the ``genai-prices`` package.
        content_max_length: Characters kept of each captured text part.
        redact: Called on every captured text before truncation.
        use_genai_prices: Look up models missing from ``prices`` in ``genai-prices``
            (the optional extra ``prices``), loaded in a background thread by the first
            handler built with it, then looked up once per model.
        capture_metadata: Add the run's scalar metadata as ``langchain.metadata.*``.
        run_ttl: Seconds after which a run whose end never came is ended as
            ``abandoned``; checked on later starts and by :meth:`sweep`.
        max_runs: Most runs in flight; beyond it the oldest is ended as ``abandoned``
            (counted in ``evicted_runs``, logged once). A chain run counts each of its
            steps: 10,000 concurrent ``prompt | llm | parser`` streams need 40,000.
        keep_all_runs: Keep every run as a span. By default prompt templates, output
            parsers and LangGraph's plumbing runs (``__start__``, channel writes, routing
            functions such as ``should_continue``) are folded: no span (a failing one
            still gets its span), their time in the parent's, their children under the
            nearest kept span.
        strict: Re-raise our own internal errors (for tests; never in production).

    Raises:
        ConfigurationError: An argument is invalid.

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
        ...     InMemorySpanExporter)
        >>> from opentelemetry.sdk.metrics import MeterProvider
        >>> from structlog.testing import CapturingLogger
        >>> from langchain_otel import ModelPrice
        >>> from langchain_otel.llms import EchoLLM
        >>> exporter = InMemorySpanExporter()
        >>> tracer_provider = TracerProvider()
        >>> tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
        >>> handler = OTelCallbackHandler(tracer_provider=tracer_provider,
        ...     meter_provider=MeterProvider(), logger=CapturingLogger(),
        ...     prices={"echo": ModelPrice(input_per_million=1.0, output_per_million=2.0)})
        >>> EchoLLM(n=2).invoke("hello", config={"callbacks": [handler]})
        'he'
        >>> span = exporter.get_finished_spans()[0]
        >>> span.name, span.attributes["gen_ai.usage.output_tokens"], handler.open_runs
        ('text_completion echo', 2, 0)
        >>> span.attributes["langchain_otel.cost.total"]  # 5 x $1/1M + 2 x $2/1M
        9e-06
    """

    run_inline: bool = True
    """Called inline by both callback managers: no thread-pool hop, caller's context."""

    raise_error: bool = False
    """LangChain never re-raises from this handler (``strict=True`` sets it for tests)."""

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        logger: Any = None,
        capture_content: bool | None = None,
        prices: Mapping[str, ModelPrice] | None = None,
        content_max_length: int = 8192,
        redact: Callable[[str], str] | None = None,
        use_genai_prices: bool = True,
        capture_metadata: bool = False,
        run_ttl: float = 600.0,
        max_runs: int = 10_000,
        keep_all_runs: bool = False,
        strict: bool = False,
    ) -> None:
        if isinstance(run_ttl, bool) or not isinstance(run_ttl, int | float) or run_ttl <= 0:
            msg = f"run_ttl: expected seconds > 0, got {run_ttl!r}"
            raise ConfigurationError(msg)
        if isinstance(max_runs, bool) or not isinstance(max_runs, int) or max_runs < 1:
            msg = f"max_runs: expected an int >= 1, got {max_runs!r}"
            raise ConfigurationError(msg)
        if prices is not None and not isinstance(cast("object", prices), Mapping):
            msg = f"prices: expected a mapping of model name to ModelPrice, got {prices!r}"
            raise ConfigurationError(msg)
        _propagation.install()  # the run's span is current inside the run
        self._tracer = trace.get_tracer(
            _SCOPE, _VERSION, tracer_provider=tracer_provider, schema_url=_SCHEMA_URL
        )
        meter = metrics.get_meter(
            _SCOPE,
            _VERSION,
            meter_provider=points_meter_provider(meter_provider),
            schema_url=_SCHEMA_URL,
        )
        self._instruments = Instruments(meter)
        self._logger = _logs.default_logger() if logger is None else logger
        self._log_gate = _logs.LevelGate(self._logger)
        self._content = ContentPolicy.resolve(
            capture_content, max_length=content_max_length, redact=redact
        )
        self._prices = PriceBook(
            prices,
            use_genai_prices=use_genai_prices,
            on_unknown=self._unknown_price,
            on_missing_package=self._missing_prices_package,
        )
        self._capture_metadata = capture_metadata
        self._keep_all_runs = bool(keep_all_runs)
        self._strict = strict
        if strict:
            self.raise_error = True
        self._runs = RunRegistry(
            max_runs=max_runs, ttl=float(run_ttl), expire=self._abandon, evict=self._evict
        )
        self._runs_get = self._runs.get
        self._points = PointAttributes()
        self._requests = RequestCache()
        self._last_streamed: tuple[Any, Any] = (None, None)  # (run id, its state)
        self._reported: set[tuple[str, str]] = set()
        self.internal_errors = 0
        """Failures inside the handler, caught and counted (each kind logged once)."""
        self.evicted_runs = 0
        """Runs in flight ended as abandoned because more than ``max_runs`` were open."""
        self.orphan_callbacks = 0
        """End/error callbacks for runs the handler does not know (duplicates, late ends),
        and starts of a run id already in flight."""

    # -- public helpers ---------------------------------------------------------------

    @property
    def open_runs(self) -> int:
        """Runs in flight: started and not yet ended."""
        return len(self._runs)

    @property
    def content_policy(self) -> ContentPolicy:
        """The resolved content capture policy."""
        return self._content

    def sweep(self) -> int:
        """End, as ``abandoned``, every run older than ``run_ttl``; return how many."""
        return self._runs.sweep()

    def close(self) -> int:
        """End every run in flight as ``abandoned`` (at shutdown); return how many."""
        drained = self._runs.drain()
        for run_id, state in drained:
            self._abandon(run_id, state)
        return len(drained)

    def __copy__(self) -> OTelCallbackHandler:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> OTelCallbackHandler:
        return self

    def __repr__(self) -> str:
        return (
            f"<OTelCallbackHandler open_runs={self.open_runs} "
            f"internal_errors={self.internal_errors}>"
        )

    # -- model runs ---------------------------------------------------------------------

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        invocation_params: dict[str, Any] | None = None,
        options: Any = None,
        name: str | None = None,
        batch_size: Any = None,
        **kwargs: Any,
    ) -> None:
        """A text-completion model run starts: a ``text_completion`` CLIENT span."""
        try:
            _pack(kwargs, invocation_params, name)
            self._start_model(
                sc.OPERATION_TEXT_COMPLETION, sc.RUN_TYPE_LLM, serialized, prompts,
                run_id, parent_run_id, tags, metadata, kwargs,
            )  # fmt: skip
        except Exception as exc:  # telemetry never raises into the app
            self._internal_error("on_llm_start", exc)

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        invocation_params: dict[str, Any] | None = None,
        options: Any = None,
        name: str | None = None,
        batch_size: Any = None,
        **kwargs: Any,
    ) -> None:
        """A chat model run starts: a ``chat`` CLIENT span (messages, not strings)."""
        try:
            _pack(kwargs, invocation_params, name)
            flat = [m for batch in messages if isinstance(batch, list) for m in batch]
            self._start_model(
                sc.OPERATION_CHAT, sc.RUN_TYPE_CHAT_MODEL, serialized, flat,
                run_id, parent_run_id, tags, metadata, kwargs,
            )  # fmt: skip
        except Exception as exc:  # telemetry never raises into the app
            self._internal_error("on_chat_model_start", exc)

    def on_llm_new_token(
        self,
        token: Any,
        *,
        chunk: Any = None,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """A streamed chunk: note the first one's time and count them, nothing else."""
        try:
            # The run of the previous token, most of the time: skip hashing the UUID (a
            # Python-level __hash__) on every chunk. One tuple, swapped atomically.
            last_id, state = self._last_streamed
            if last_id is not run_id:
                state = self._runs_get(run_id)
                self._last_streamed = (run_id, state)
            if state is not None:
                if not state.chunks:
                    state.first_chunk = _runs.clock()
                state.chunks += 1
        except Exception as exc:  # e.g. an unhashable run id
            self._internal_error("on_llm_new_token", exc)

    def on_llm_end(
        self,
        response: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """A model run ends: response attributes, usage, cost; metrics and ``llm.end``."""
        try:
            self._model_ended(run_id, response, None, "on_llm_end")
        except Exception as exc:  # telemetry never raises into the app
            self._internal_error("on_llm_end", exc)

    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        response: Any = None,
        **kwargs: Any,
    ) -> None:
        """A model run fails (status ERROR, ``llm.error``) or is cancelled (not an error)."""
        try:
            self._model_ended(run_id, response, error, "on_llm_error")
        except Exception as exc:  # telemetry never raises into the app
            self._internal_error("on_llm_error", exc)

    # -- chains (tools and retrievers: callbacks/_step_callbacks.py) ----------------------

    def on_chain_start(
        self,
        serialized: dict[str, Any],
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        name: str | None = None,
        run_type: str | None = None,
        **kwargs: Any,
    ) -> None:
        """A chain (runnable, graph node) starts: an INTERNAL span named after the run."""
        try:
            if name is not None:
                kwargs["name"] = name
            if run_type is not None:
                kwargs["run_type"] = run_type
            self._start_chain(serialized, inputs, run_id, parent_run_id, tags, metadata, kwargs)
        except Exception as exc:  # telemetry never raises into the app
            self._internal_error("on_chain_start", exc)

    def on_chain_end(
        self,
        outputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """A chain ends."""
        try:
            self._ended(run_id, None, "on_chain_end")
        except Exception as exc:  # telemetry never raises into the app
            self._internal_error("on_chain_end", exc)

    def on_chain_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """A chain fails or is cancelled."""
        try:
            self._ended(run_id, error, "on_chain_error")
        except Exception as exc:  # telemetry never raises into the app
            self._internal_error("on_chain_error", exc)
