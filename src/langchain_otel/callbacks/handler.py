"""OTelCallbackHandler: LangChain callbacks → GenAI-semconv spans, metrics and logs."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import traceback
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar, cast
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry import metrics, trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider

from langchain_otel.callbacks import _logs, _runs
from langchain_otel.callbacks import _semconv as sc
from langchain_otel.callbacks._attributes import ResponseInfo, model_request, response_info
from langchain_otel.callbacks._content import ContentPolicy, clean_text
from langchain_otel.callbacks._cost import ModelPrice, PriceBook
from langchain_otel.callbacks._metrics import Instruments
from langchain_otel.callbacks._runs import RunRegistry, RunState
from langchain_otel.exceptions import ConfigurationError

__all__ = ["OTelCallbackHandler"]

try:
    _VERSION = version("langchain-otel")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    _VERSION = "0.0.0"
_SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"
_SCOPE = "langchain_otel"
_MAX_CACHED_ATTRIBUTES = 4096

_F = TypeVar("_F", bound=Callable[..., None])


def _safe(method: _F) -> _F:
    """The one guard of every callback: our failures are counted and logged, never raised."""
    where = method.__name__

    @functools.wraps(method)
    def guarded(self: OTelCallbackHandler, *args: Any, **kwargs: Any) -> None:
        try:
            method(self, *args, **kwargs)
        except Exception as exc:  # telemetry never raises into the app
            self._internal_error(where, exc)

    return cast("_F", guarded)


def _error_type(error: BaseException) -> str:
    """Fully qualified class name; builtins keep their bare name (``ValueError``)."""
    cls = type(error)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_cancellation(error: BaseException) -> bool:
    """CancelledError, GeneratorExit (a consumer closed the stream) or trio/anyio cancel."""
    if isinstance(error, asyncio.CancelledError | GeneratorExit):
        return True
    cls = type(error)
    return cls.__name__ == "Cancelled" and cls.__module__.split(".", 1)[0] in {"trio", "anyio"}


def _describe(error: BaseException, error_type: str) -> str:
    """``"{type}: {message}"`` for the span status; the type alone if ``str()`` raises."""
    try:
        return clean_text(f"{error_type}: {error}")[:256]
    except Exception:  # an exception whose __str__ raises
        return error_type


def _clean_exception(error: BaseException) -> dict[str, str] | None:
    """Message and stack trace without lone surrogates, which OTLP cannot encode.

    None (the SDK's own attributes) for the usual clean message; only an exception whose
    text holds invalid unicode pays for a second formatting of its traceback.
    """
    message = str(error)
    if message.isascii() or clean_text(message) == message:
        return None
    trace_text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return {
        "exception.message": clean_text(message),
        "exception.stacktrace": clean_text(trace_text),
    }


def _record_error(span: Any, error: BaseException, error_type: str) -> None:
    """Status ERROR and the ``exception`` event, even for an unprintable exception."""
    try:
        span.record_exception(error, escaped=True, attributes=_clean_exception(error))
    except Exception:  # the SDK calls str(error), which may raise
        span.add_event(
            "exception",
            {"exception.type": error_type, "exception.message": "<unprintable exception>"},
        )
    span.set_status(Status(StatusCode.ERROR, _describe(error, error_type)))


def _finish(span: Any, outcome: str) -> None:
    """End ``span`` if the normal end path failed before ending it."""
    if span.is_recording():
        span.set_attribute(sc.OUTCOME, outcome)
        span.end()


def _estimate_tokens(chars: int) -> int:
    """Counted usage when the model reports none: one token per 4 characters, rounded up."""
    return math.ceil(chars / 4)


def _run_name(serialized: Any, kwargs: Mapping[str, Any], default: str) -> str:
    name = kwargs.get("name")
    if isinstance(name, str) and name:
        return clean_text(name)
    if isinstance(serialized, Mapping):
        name = serialized.get("name")
        if isinstance(name, str) and name:
            return clean_text(name)
        ids = serialized.get("id")
        if isinstance(ids, list) and ids and isinstance(ids[-1], str):
            return clean_text(ids[-1])
    return default


def _chars(items: Any) -> int:
    """Characters of prompts (strings) or chat messages (their text content)."""
    total = 0
    if not isinstance(items, list | tuple):
        return 0
    for item in items:
        if isinstance(item, str):
            total += len(item)
            continue
        content = getattr(item, "content", None)
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            for block in content:
                if isinstance(block, str):
                    total += len(block)
                elif isinstance(block, dict) and isinstance(block.get("text"), str):
                    total += len(block["text"])
    return total


class OTelCallbackHandler(BaseCallbackHandler):
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
        meter_provider: Where metrics go; the global provider when None.
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
        self._tracer = trace.get_tracer(
            _SCOPE, _VERSION, tracer_provider=tracer_provider, schema_url=_SCHEMA_URL
        )
        meter = metrics.get_meter(
            _SCOPE, _VERSION, meter_provider=meter_provider, schema_url=_SCHEMA_URL
        )
        self._instruments = Instruments(meter)
        self._logger = _logs.default_logger() if logger is None else logger
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
        self._strict = strict
        if strict:
            self.raise_error = True
        self._runs = RunRegistry(
            max_runs=max_runs, ttl=float(run_ttl), expire=self._abandon, evict=self._evict
        )
        self._runs_get = self._runs.get
        self._metric_attrs: dict[tuple[Any, ...], tuple[dict[str, Any], ...]] = {}
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

    @_safe
    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """A text-completion model run starts: a ``text_completion`` CLIENT span."""
        self._start_model(
            sc.OPERATION_TEXT_COMPLETION, sc.RUN_TYPE_LLM, serialized, prompts,
            run_id, parent_run_id, tags, metadata, kwargs,
        )  # fmt: skip

    @_safe
    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """A chat model run starts: a ``chat`` CLIENT span (messages, not strings)."""
        flat = [m for batch in messages if isinstance(batch, list) for m in batch]
        self._start_model(
            sc.OPERATION_CHAT, sc.RUN_TYPE_CHAT_MODEL, serialized, flat,
            run_id, parent_run_id, tags, metadata, kwargs,
        )  # fmt: skip

    def on_llm_new_token(
        self,
        token: Any,
        *,
        chunk: Any = None,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """A streamed chunk: note the first one's time and count them, nothing else."""
        try:
            state = self._runs_get(run_id)
            if state is not None:
                if not state.chunks:
                    state.first_chunk = _runs.clock()
                state.chunks += 1
        except Exception as exc:  # e.g. an unhashable run id
            self._internal_error("on_llm_new_token", exc)

    @_safe
    def on_llm_end(
        self,
        response: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """A model run ends: response attributes, usage, cost; metrics and ``llm.end``."""
        state = self._runs.pop(run_id, None)
        if state is None:
            self._orphan("on_llm_end")
            return
        try:
            self._end_model(run_id, state, response, sc.OUTCOME_OK, None)
        finally:
            _finish(state.span, sc.OUTCOME_OK)

    @_safe
    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """A model run fails (status ERROR, ``llm.error``) or is cancelled (not an error)."""
        state = self._runs.pop(run_id, None)
        if state is None:
            self._orphan("on_llm_error")
            return
        outcome = sc.OUTCOME_CANCELLED if _is_cancellation(error) else sc.OUTCOME_ERROR
        try:
            if outcome == sc.OUTCOME_CANCELLED:
                self._end_model(run_id, state, kwargs.get("response"), outcome, None)
            else:
                self._end_model(run_id, state, kwargs.get("response"), outcome, error)
        finally:
            _finish(state.span, outcome)

    # -- chains, tools, retrievers -------------------------------------------------------

    @_safe
    def on_chain_start(
        self,
        serialized: dict[str, Any],
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """A chain (runnable, graph node) starts: an INTERNAL span named after the run."""
        name = _run_name(serialized, kwargs, "chain")
        attrs: dict[str, Any] = {}
        self._run_attributes(attrs, run_id, sc.RUN_TYPE_CHAIN, name, tags, metadata)
        attrs[sc.OUTCOME] = sc.OUTCOME_OK  # set now, in the one start dict; replaced if not ok
        self._start(run_id, parent_run_id, name, SpanKind.INTERNAL, attrs, sc.RUN_TYPE_CHAIN)

    @_safe
    def on_chain_end(
        self, outputs: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """A chain ends."""
        self._end_other(run_id, None, "on_chain_end")

    @_safe
    def on_chain_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """A chain fails or is cancelled."""
        self._end_other(run_id, error, "on_chain_error")

    @_safe
    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """A tool starts: an ``execute_tool`` INTERNAL span."""
        name = _run_name(serialized, kwargs, "tool")
        attrs: dict[str, Any] = {
            sc.GEN_AI_OPERATION_NAME: sc.OPERATION_EXECUTE_TOOL,
            sc.GEN_AI_TOOL_NAME: name,
        }
        ser = serialized if isinstance(serialized, Mapping) else {}
        description = ser.get("description")
        if isinstance(description, str) and description:
            attrs[sc.GEN_AI_TOOL_DESCRIPTION] = clean_text(description)
        call_id = kwargs.get("tool_call_id")
        if isinstance(call_id, str) and call_id:
            attrs[sc.GEN_AI_TOOL_CALL_ID] = clean_text(call_id)
        if self._content.on_spans:
            attrs[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = self._content.text(
                inputs if inputs is not None else input_str
            )
        self._run_attributes(attrs, run_id, sc.RUN_TYPE_TOOL, name, tags, metadata)
        attrs[sc.OUTCOME] = sc.OUTCOME_OK  # set now, in the one start dict; replaced if not ok
        span_name = f"{sc.OPERATION_EXECUTE_TOOL} {name}"
        self._start(run_id, parent_run_id, span_name, SpanKind.INTERNAL, attrs, sc.RUN_TYPE_TOOL)

    @_safe
    def on_tool_end(
        self, output: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """A tool ends (its result is recorded only with content capture on)."""
        result = None
        if self._content.on_spans:
            result = {
                sc.GEN_AI_TOOL_CALL_RESULT: self._content.text(getattr(output, "content", output))
            }
        self._end_other(run_id, None, "on_tool_end", result)

    @_safe
    def on_tool_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """A tool fails or is cancelled."""
        self._end_other(run_id, error, "on_tool_error")

    @_safe
    def on_retriever_start(
        self,
        serialized: dict[str, Any],
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """A retriever starts: a ``retrieval`` CLIENT span."""
        name = _run_name(serialized, kwargs, "retriever")
        attrs: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OPERATION_RETRIEVAL}
        if self._content.on_spans:
            attrs[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] = self._content.text(query)
        self._run_attributes(attrs, run_id, sc.RUN_TYPE_RETRIEVER, name, tags, metadata)
        attrs[sc.OUTCOME] = sc.OUTCOME_OK  # set now, in the one start dict; replaced if not ok
        span_name = f"{sc.OPERATION_RETRIEVAL} {name}"
        self._start(run_id, parent_run_id, span_name, SpanKind.CLIENT, attrs, sc.RUN_TYPE_RETRIEVER)

    @_safe
    def on_retriever_end(
        self, documents: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """A retriever ends."""
        self._end_other(run_id, None, "on_retriever_end")

    @_safe
    def on_retriever_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """A retriever fails or is cancelled."""
        self._end_other(run_id, error, "on_retriever_error")

    # -- the core -----------------------------------------------------------------------

    def _start(  # noqa: PLR0917 - private, called from four places with all of them
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        name: str,
        kind: SpanKind,
        attributes: dict[str, Any],
        run_type: str,
    ) -> RunState:
        """Start a span under the parent run's span, else under the current context."""
        context = None
        if parent_run_id is not None:
            parent = self._runs_get(parent_run_id)
            if parent is not None:
                context = parent.context
                if context is None:
                    context = parent.context = trace.set_span_in_context(parent.span)
        # A second start of a run id ends the first run (else its span would never end).
        previous = self._runs.pop(run_id, None)
        if previous is not None:
            self._duplicate_start(run_id, previous)
        start = _runs.clock()
        span = self._tracer.start_span(name, context=context, kind=kind, attributes=attributes)
        state = RunState(span, run_type, start)
        state.run_id = attributes.get(sc.LANGCHAIN_RUN_ID, "")
        try:
            self._runs.add(run_id, state)
        except BaseException:  # never leave the span open
            span.end()
            raise
        return state

    def _run_attributes(  # noqa: PLR0917 - private helper mirroring the callbacks
        self,
        attrs: dict[str, Any],
        run_id: UUID,
        run_type: str,
        name: str,
        tags: Any,
        metadata: Any,
    ) -> None:
        attrs[sc.LANGCHAIN_RUN_ID] = str(run_id)
        attrs[sc.LANGCHAIN_RUN_TYPE] = run_type
        attrs[sc.LANGCHAIN_RUN_NAME] = name
        if isinstance(tags, list) and tags:
            clean = [clean_text(t) for t in tags if isinstance(t, str)]
            if clean:
                attrs[sc.LANGCHAIN_TAGS] = clean
        if isinstance(metadata, Mapping) and metadata:
            conversation = metadata.get("conversation_id") or metadata.get("thread_id")
            if isinstance(conversation, str | int) and not isinstance(conversation, bool):
                attrs[sc.GEN_AI_CONVERSATION_ID] = clean_text(str(conversation))
            if self._capture_metadata:
                for key, value in metadata.items():
                    if not isinstance(key, str) or key.startswith("ls_"):
                        continue
                    if isinstance(value, str):
                        attrs[sc.LANGCHAIN_METADATA_PREFIX + clean_text(key)] = clean_text(value)
                    elif isinstance(value, bool | int | float):
                        attrs[sc.LANGCHAIN_METADATA_PREFIX + clean_text(key)] = value

    def _start_model(  # noqa: PLR0917 - private, forwards a callback's arguments
        self,
        operation: str,
        run_type: str,
        serialized: Any,
        inputs: Any,
        run_id: UUID,
        parent_run_id: UUID | None,
        tags: Any,
        metadata: Any,
        kwargs: dict[str, Any],
    ) -> None:
        meta = metadata if isinstance(metadata, Mapping) else {}
        request = model_request(operation, serialized, kwargs.get("invocation_params"), meta)
        attrs = request.attributes
        name = _run_name(serialized, kwargs, request.model)
        self._run_attributes(attrs, run_id, run_type, name, tags, meta)
        content = self._content
        if content.on_spans and isinstance(inputs, list):
            self._input_content(attrs, operation, inputs)
        span_name = f"{operation} {request.model}"
        state = self._start(run_id, parent_run_id, span_name, SpanKind.CLIENT, attrs, run_type)
        state.operation = operation
        state.provider = request.provider
        state.model = request.model
        state.input_messages = inputs
        state.metric_key, state.base_metric_attributes = self._base_metric_attributes(request)

    def _input_content(self, attrs: dict[str, Any], operation: str, inputs: list[Any]) -> None:
        if operation == sc.OPERATION_CHAT:
            messages, system = self._content.chat_messages(inputs)
            attrs[sc.GEN_AI_INPUT_MESSAGES] = messages
            if system is not None:
                attrs[sc.GEN_AI_SYSTEM_INSTRUCTIONS] = system
        else:
            prompts = [p for p in inputs if isinstance(p, str)]
            attrs[sc.GEN_AI_INPUT_MESSAGES] = self._content.prompt_messages(prompts)

    def _base_metric_attributes(self, request: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        key = (request.operation, request.provider, request.model, request.server)
        cached = self._metric_attrs.get(key)
        if cached is not None:
            return key, cached[0]
        base: dict[str, Any] = {
            sc.GEN_AI_OPERATION_NAME: request.operation,
            sc.GEN_AI_PROVIDER_NAME: request.provider,
            sc.GEN_AI_REQUEST_MODEL: request.model,
        }
        if request.server is not None:
            base[sc.SERVER_ADDRESS], base[sc.SERVER_PORT] = request.server
        self._cache_attributes(key, (base,))
        return key, base

    def _cache_attributes(self, key: tuple[Any, ...], value: tuple[dict[str, Any], ...]) -> None:
        if len(self._metric_attrs) >= _MAX_CACHED_ATTRIBUTES:
            self._metric_attrs.clear()
        self._metric_attrs[key] = value

    def _point_attributes(
        self,
        state: RunState,
        outcome: str,
        response_model: str | None,
        error_type: str | None,
    ) -> tuple[dict[str, Any], ...]:
        """(plain, input tokens, output tokens) metric attributes, cached."""
        key = (state.metric_key, outcome, response_model, error_type)
        cached = self._metric_attrs.get(key)
        if cached is not None:
            return cached
        base = state.base_metric_attributes or {}
        plain = {**base, sc.OUTCOME: outcome}
        if response_model:
            plain[sc.GEN_AI_RESPONSE_MODEL] = response_model
        if error_type:
            plain[sc.ERROR_TYPE] = error_type
        value = (
            plain,
            {**plain, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_INPUT},
            {**plain, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_OUTPUT},
        )
        self._cache_attributes(key, value)
        return value

    def _end_model(  # noqa: PLR0912, PLR0915 - one straight pass keeps the end path fast
        self,
        run_id: UUID,
        state: RunState,
        response: Any,
        outcome: str,
        error: BaseException | None,
    ) -> None:
        end = _runs.clock()
        duration = end - state.start
        span = state.span
        info = response_info(response) if response is not None else ResponseInfo()
        attrs: dict[str, Any] = {sc.OUTCOME: outcome}
        ttfc = None
        if state.chunks:
            ttfc = state.first_chunk - state.start
            attrs[sc.GEN_AI_REQUEST_STREAM] = True
            attrs[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = ttfc
        if info.response_model:
            attrs[sc.GEN_AI_RESPONSE_MODEL] = info.response_model
        if info.response_id:
            attrs[sc.GEN_AI_RESPONSE_ID] = info.response_id
        if info.finish_reasons:
            attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] = info.finish_reasons

        input_tokens, output_tokens = info.input_tokens, info.output_tokens
        estimated = False
        if outcome == sc.OUTCOME_OK and (input_tokens is None or output_tokens is None):
            estimated = True
            if input_tokens is None:
                input_tokens = _estimate_tokens(_chars(state.input_messages))
            if output_tokens is None:
                output_tokens = _estimate_tokens(info.output_text_length())
        if input_tokens is not None:
            attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] = input_tokens
        if output_tokens is not None:
            attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] = output_tokens
        if info.cache_read_tokens is not None:
            attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = info.cache_read_tokens
        if info.reasoning_tokens is not None:
            attrs[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = info.reasoning_tokens
        if estimated:
            attrs[sc.USAGE_ESTIMATED] = True

        cost = None
        if input_tokens is not None or output_tokens is not None:
            price = self._prices.price(state.provider, state.model, info.response_model)
            if price is not None:
                cost = price.cost(input_tokens=input_tokens or 0, output_tokens=output_tokens or 0)
                attrs[sc.COST_INPUT], attrs[sc.COST_OUTPUT] = cost
                attrs[sc.COST_TOTAL] = cost[0] + cost[1]

        content = self._content
        output_json = None
        if content.enabled and info.generations:
            output_json = content.output_messages(info.generations, info.finish_reasons)
            if content.on_spans:
                attrs[sc.GEN_AI_OUTPUT_MESSAGES] = output_json

        error_type = None
        if error is not None:
            error_type = _error_type(error)
            attrs[sc.ERROR_TYPE] = error_type
            _record_error(span, error, error_type)
        span.set_attributes(attrs)
        span.end()

        plain, as_input, as_output = self._point_attributes(
            state, outcome, info.response_model, error_type
        )
        inst = self._instruments
        inst.duration.record(duration, plain)
        if input_tokens is not None:
            inst.token_usage.record(input_tokens, as_input)
        if output_tokens is not None:
            inst.token_usage.record(output_tokens, as_output)
        if ttfc is not None:
            inst.ttfc.record(ttfc, plain)
            if state.chunks > 1:
                inst.time_per_chunk.record((end - state.first_chunk) / (state.chunks - 1), plain)
        if cost is not None:
            inst.cost.add(cost[0] + cost[1], plain)

        if error is not None:
            level, event = _logs.ERROR, sc.EVENT_LLM_ERROR
        elif outcome == sc.OUTCOME_OK:
            level, event = _logs.INFO, sc.EVENT_LLM_END
        else:
            level, event = _logs.WARNING, sc.EVENT_LLM_END
        logger = self._logger
        if not _logs.enabled(logger, level):
            return
        span_context = span.get_span_context()
        trace_id = span_id = None  # a non-recording (no-op) tracer has no ids to join on
        if span_context.is_valid:
            trace_id, span_id = _logs.format_ids(span_context.trace_id, span_context.span_id)
        fields: dict[str, Any] = {
            "trace_id": trace_id,
            "span_id": span_id,
            "run_id": state.run_id,
            "operation": state.operation,
            "provider": state.provider,
            "model": state.model,
            "response_model": info.response_model,
            "duration_s": duration,
            "ttft_s": ttfc,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "tokens_estimated": estimated,
            "cost_usd": None if cost is None else cost[0] + cost[1],
            "outcome": outcome,
            "error_type": error_type,
        }
        if content.on_logs:
            inputs = state.input_messages
            if isinstance(inputs, list):
                if state.operation == sc.OPERATION_CHAT:
                    fields["input_messages"] = content.chat_messages(inputs)[0]
                else:
                    prompts = [p for p in inputs if isinstance(p, str)]
                    fields["input_messages"] = content.prompt_messages(prompts)
            fields["output_messages"] = output_json
        _logs.emit(logger, level, event, fields)

    def _end_other(
        self,
        run_id: UUID,
        error: BaseException | None,
        where: str,
        extra: dict[str, Any] | None = None,
    ) -> None:
        state = self._runs.pop(run_id, None)
        if state is None:
            self._orphan(where)
            return
        span = state.span
        if error is None:
            outcome = sc.OUTCOME_OK  # already set at start
        elif _is_cancellation(error):
            outcome = sc.OUTCOME_CANCELLED
        else:
            outcome = sc.OUTCOME_ERROR
        try:
            if outcome == sc.OUTCOME_CANCELLED:
                span.set_attribute(sc.OUTCOME, outcome)
            elif error is not None:
                error_type = _error_type(error)
                span.set_attributes({sc.OUTCOME: outcome, sc.ERROR_TYPE: error_type})
                _record_error(span, error, error_type)
            if extra:
                span.set_attributes(extra)
            span.end()
        finally:
            _finish(span, outcome)  # only if the path above failed before ending it

    def _abandon(self, run_id: Any, state: RunState) -> None:
        """End a run whose end never came (TTL sweep, eviction, close)."""
        try:
            if state.kind in (sc.RUN_TYPE_LLM, sc.RUN_TYPE_CHAT_MODEL):
                self._end_model(run_id, state, None, sc.OUTCOME_ABANDONED, None)
            else:
                state.span.set_attribute(sc.OUTCOME, sc.OUTCOME_ABANDONED)
                state.span.end()
        except Exception as exc:
            self._internal_error("abandon", exc)
        finally:
            with contextlib.suppress(Exception):
                _finish(state.span, sc.OUTCOME_ABANDONED)

    # -- reporting our own troubles, once per kind ------------------------------------

    def _report_once(
        self, key: tuple[str, str], event: str, level: str = "warning", **fields: Any
    ) -> None:
        if key in self._reported:
            return
        self._reported.add(key)
        with contextlib.suppress(Exception):  # a broken logger: nothing left to tell
            getattr(self._logger, level)(event, **fields)

    def _internal_error(self, where: str, exc: Exception) -> None:
        self.internal_errors += 1
        self._report_once(
            (where, type(exc).__name__),
            sc.EVENT_INTERNAL_ERROR,
            callback=where,
            error=repr(exc),
            note="counted in handler.internal_errors; reported once per kind",
        )
        if self._strict:
            raise exc

    def _orphan(self, where: str) -> None:
        self.orphan_callbacks += 1
        self._report_once(
            ("orphan", where),
            sc.EVENT_INTERNAL_ERROR,
            callback=where,
            error="unknown run id (a duplicate or late callback, or an expired run)",
            note="counted in handler.orphan_callbacks; reported once per callback",
        )

    def _evict(self, run_id: Any, state: RunState) -> None:
        """The registry is full: the oldest run in flight is ended as abandoned (said once)."""
        self.evicted_runs += 1
        self._abandon(run_id, state)
        self._report_once(
            ("registry", "full"),
            sc.EVENT_INTERNAL_ERROR,
            callback="on_*_start",
            error=f"more than max_runs={self._runs.max_runs} runs in flight; the oldest"
            " was ended as abandoned",
            note="raise max_runs above your peak of concurrent runs (a chain run counts"
            " each of its steps); counted in handler.evicted_runs",
        )

    def _duplicate_start(self, run_id: UUID, previous: RunState) -> None:
        self.orphan_callbacks += 1
        self._abandon(run_id, previous)
        self._report_once(
            ("duplicate", "start"),
            sc.EVENT_INTERNAL_ERROR,
            callback="on_*_start",
            error="a run id started twice; the earlier run was ended as abandoned",
            note="counted in handler.orphan_callbacks; reported once",
        )

    def _unknown_price(self, provider: str, model: str) -> None:
        self._report_once(
            ("price", f"{provider}/{model}"),
            sc.EVENT_UNKNOWN_PRICE,
            "info",
            provider=provider,
            model=model,
            note="no cost recorded; pass prices={model: ModelPrice(...)} to the handler",
        )

    def _missing_prices_package(self) -> None:
        self._report_once(
            ("price", "genai-prices"),
            sc.EVENT_UNKNOWN_PRICE,
            note="genai-prices is not installed: pip install 'langchain-otel[prices]'",
        )
