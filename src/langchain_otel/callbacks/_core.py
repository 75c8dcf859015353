"""The run core: start, end, error and abandon a run; the handler's callbacks delegate here.

A run's life:

- **start**: its parent is the span of its parent run when known (a folded parent gives
  its nearest kept ancestor's), else the context current at the callback. A model run
  passes everything it knows at start to ``start_span`` in one dict.
- **end**: a model run reads ``usage → cost → span attributes → metrics → log``; any
  other run sets its outcome (and error) and ends its span.
- **abandon**: a run whose end never came (TTL, eviction, ``close()``) ends
  ``abandoned``.
- **fold**: a prompt template or output parser run (and LangGraph's plumbing) is
  registered without a span; if it fails, it gets one then, with its own start time.

Every path ends the span, even when an attribute or the exception itself misbehaves.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Tracer

from langchain_otel.callbacks import _logs, _runs
from langchain_otel.callbacks import _semconv as sc
from langchain_otel.callbacks._agent_runs import GRAPH_METADATA_KEYS, AgentRuns, fail_softly
from langchain_otel.callbacks._attributes import RequestCache, ResponseInfo, response_info
from langchain_otel.callbacks._chains import classify_chain, folds_step
from langchain_otel.callbacks._content import ContentPolicy
from langchain_otel.callbacks._cost import PriceBook
from langchain_otel.callbacks._errors import (
    error_type,
    finish,
    is_cancellation,
    outcome_of,
    record_error,
)
from langchain_otel.callbacks._metrics import Instruments, PointAttributes
from langchain_otel.callbacks._reporting import SelfReport
from langchain_otel.callbacks._runs import (
    CLAIMS,
    ModelEnd,
    RunRegistry,
    RunState,
    children_context,
)
from langchain_otel.callbacks._spans import (
    model_end_attributes,
    retriever_attributes,
    run_attributes,
    run_name,
    tool_attributes,
)
from langchain_otel.callbacks._usage import resolve_usage

__all__ = ["RunCore"]

_NO_RESPONSE = ResponseInfo()
_NO_KWARGS: Mapping[str, Any] = {}


class RunCore(AgentRuns, SelfReport):
    """Run bookkeeping shared by every callback (sync and async, text and chat models).

    The handler's constructor sets the attributes declared here.
    """

    _tracer: Tracer
    _instruments: Instruments
    _points: PointAttributes
    _logger: Any
    _log_gate: _logs.LevelGate
    _content: ContentPolicy
    _prices: PriceBook
    _capture_metadata: bool
    _keep_all_runs: bool
    _runs: RunRegistry
    _runs_get: Callable[[Any], RunState | None]
    _requests: RequestCache
    _last_streamed: tuple[Any, Any]

    # -- start ----------------------------------------------------------------------------

    def _parent_context(self, parent_run_id: Any) -> Context | None:
        """The parent run's span as a context (built once per parent); None: current.

        The parent is looked up process-wide: it may belong to another handler.
        """
        return None if parent_run_id is None else children_context(CLAIMS.get(parent_run_id))

    def _declined(self, run_id: Any) -> bool:
        """Another handler telemeters this run: remember it without a span, emit nothing."""
        claim = CLAIMS.get(run_id)
        if claim is None or claim.owner is self:
            return False
        if self._runs_get(run_id) is None:  # its end then finds it: no orphan, no telemetry
            self._runs.add(run_id, RunState(None, "", _runs.clock()))
        return True

    def _register(self, run_id: Any, state: RunState) -> None:
        # A second start of a run id ends the first run (else its span would never end).
        previous = self._runs.pop(run_id, None)
        if previous is not None:
            self._duplicate_start(run_id, previous)
        state.owner = self
        self._runs.add(run_id, state)
        CLAIMS[run_id] = state

    @staticmethod
    def _release(run_id: Any, state: RunState) -> None:
        """Drop the process-wide claim of a run that ended (if it is still this one's).

        One look-up in the usual case (a UUID's hash is a Python call): pop, and put
        back a claim that turns out to be someone else's.
        """
        claim = CLAIMS.pop(run_id, None)
        if claim is not None and claim is not state:
            CLAIMS[run_id] = claim

    def _start(  # noqa: PLR0917 - private, called with all of them
        self,
        run_id: Any,
        parent_run_id: Any,
        name: str,
        kind: SpanKind,
        attributes: dict[str, Any],
        run_type: str,
    ) -> RunState:
        """Start a span under the parent run's span, else under the current context.

        The hot path of every run: the parent's claim gives its context and, when this
        handler owns it, its state (each look-up hashes a UUID in Python).
        """
        claim = parent = None
        if parent_run_id is not None:
            claim = CLAIMS.get(parent_run_id)
            owned = claim is not None and claim.owner is self
            parent = claim if owned else self._runs_get(parent_run_id)
        context = children_context(claim)
        start = _runs.clock()
        span = self._tracer.start_span(name, context=context, kind=kind, attributes=attributes)
        state = RunState(span, run_type, start)
        state.run_id = attributes.get(sc.LANGCHAIN_RUN_ID, "")
        if parent is not None:  # the enclosing agent and the parent itself
            state.agent, state.parent_state = parent.agent, parent
        try:
            self._register(run_id, state)
        except BaseException:  # never leave the span open
            span.end()
            raise
        return state

    def _fold(self, run_id: Any, parent_run_id: Any, run_type: str) -> RunState:
        """Register a run without a span: its children go under its nearest kept ancestor."""
        state = RunState(None, run_type, _runs.clock())
        state.context = self._parent_context(parent_run_id)
        state.agent = self._enclosing(parent_run_id)
        self._register(run_id, state)
        return state

    def _start_chain(  # noqa: PLR0917 - forwards a callback's arguments
        self,
        serialized: Any,
        inputs: Any,
        run_id: Any,
        parent_run_id: Any,
        tags: Any,
        metadata: Any,
        kwargs: Mapping[str, Any],
    ) -> None:
        if self._declined(run_id):
            return
        if folds_step(kwargs, self._keep_all_runs):  # a prompt or a parser
            state = self._fold(run_id, parent_run_id, sc.RUN_TYPE_CHAIN)
            state.start_args = (serialized, kwargs, tags, metadata)
            return
        spec = classify_chain(
            serialized, inputs, run_id, tags, metadata, kwargs, self._capture_metadata
        )
        if spec.folded:
            self._fold(run_id, parent_run_id, sc.RUN_TYPE_CHAIN)
        elif type(metadata) is dict and metadata and not GRAPH_METADATA_KEYS.isdisjoint(metadata):
            # LangGraph graphs, nodes and plumbing, and runs named as agents.
            self._start_graph_chain(
                spec.name, spec.attributes, run_id, parent_run_id, tags, metadata
            )
        else:
            attrs, kind = spec.attributes, spec.kind
            self._start(run_id, parent_run_id, spec.name, kind, attrs, sc.RUN_TYPE_CHAIN)

    def _start_step(  # noqa: PLR0917 - forwards a callback's arguments
        self,
        run_type: str,
        serialized: Any,
        payload: Any,
        run_id: Any,
        parent_run_id: Any,
        tags: Any,
        metadata: Any,
        kwargs: Mapping[str, Any],
    ) -> None:
        """A tool (``execute_tool``, INTERNAL) or a retriever (``retrieval``, CLIENT)."""
        if self._declined(run_id):
            return
        if run_type == sc.RUN_TYPE_TOOL:
            name = run_name(serialized, kwargs, "tool")
            attrs = tool_attributes(name, serialized, payload, kwargs, self._content)
            span_name, kind = f"{sc.OPERATION_EXECUTE_TOOL} {name}", SpanKind.INTERNAL
        else:
            name = run_name(serialized, kwargs, "retriever")
            attrs = retriever_attributes(payload, self._content)
            span_name, kind = f"{sc.OPERATION_RETRIEVAL} {name}", SpanKind.CLIENT
        run_attributes(attrs, run_id, run_type, name, tags, metadata, self._capture_metadata)
        attrs[sc.OUTCOME] = sc.OUTCOME_OK  # set now, in the one start dict; replaced if not ok
        self._start(run_id, parent_run_id, span_name, kind, attrs, run_type)

    def _start_model(  # noqa: PLR0917 - forwards a callback's arguments
        self,
        operation: str,
        run_type: str,
        serialized: Any,
        inputs: Any,
        run_id: Any,
        parent_run_id: Any,
        tags: Any,
        metadata: Any,
        kwargs: Mapping[str, Any],
    ) -> None:
        if self._declined(run_id):
            return
        meta = metadata if type(metadata) is dict or isinstance(metadata, Mapping) else {}
        request = self._requests.get(operation, serialized, kwargs.get("invocation_params"), meta)
        attrs = dict(request.attributes)  # the request is shared by the model's runs
        name = kwargs.get("name")
        if name is not None:
            name = run_name(serialized, kwargs, request.model)
        elif (name := request.run_name) is None:  # from serialized: once per request
            name = request.run_name = run_name(serialized, _NO_KWARGS, request.model)
        run_attributes(attrs, run_id, run_type, name, tags, meta, self._capture_metadata)
        content = self._content
        if content.on_spans and isinstance(inputs, list):
            messages, system = content.input_messages(operation == sc.OPERATION_CHAT, inputs)
            attrs[sc.GEN_AI_INPUT_MESSAGES] = messages
            if system is not None:
                attrs[sc.GEN_AI_SYSTEM_INSTRUCTIONS] = system
        span_name = request.span_name
        state = self._start(run_id, parent_run_id, span_name, SpanKind.CLIENT, attrs, run_type)
        state.operation = operation
        state.provider = request.provider
        state.model = request.model
        state.input_messages = inputs
        points = request.points
        if points is None:
            points = request.points = self._points.base(request)
        state.metric_key, state.metric_base = points
        parent = state.parent_state
        if parent is not None:  # its cancellation ends this run (see _ended)
            if parent.open_models is None:
                parent.open_models = {}
            parent.open_models[run_id] = state

    # -- end --------------------------------------------------------------------------------

    def _model_ended(
        self, run_id: Any, response: Any, error: BaseException | None, where: str
    ) -> None:
        """``on_llm_end`` / ``on_llm_error``: end the model run (a cancellation is no error)."""
        state = self._runs.pop(run_id, None)
        if self._last_streamed[0] is run_id:  # the per-token cache lets the run go
            self._last_streamed = (None, None)
        if state is None:
            self._orphan(where)
            return
        if state.span is None:  # declined: another handler telemeters it
            return
        self._release(run_id, state)
        parent = state.parent_state
        if parent is not None and parent.open_models is not None:
            parent.open_models.pop(run_id, None)
        outcome = sc.OUTCOME_OK if error is None else outcome_of(error)
        ended = False
        try:
            failure = error if outcome == sc.OUTCOME_ERROR else None
            self._end_model(state, response, outcome, failure)
            ended = True
        finally:
            if not ended:
                finish(state.span, outcome)

    def _end_model(
        self, state: RunState, response: Any, outcome: str, error: BaseException | None
    ) -> None:
        """Usage → cost → span attributes → metrics → log."""
        now = _runs.clock()
        span: Span = state.span  # type: ignore[assignment]  # model runs are never folded
        info = response_info(response) if response is not None else _NO_RESPONSE
        usage = resolve_usage(info, state.input_messages, outcome)
        cost = self._prices.run_cost(state.provider, state.model, info.response_model, usage)
        ttfc = per_chunk = None
        if state.chunks:
            ttfc = state.first_chunk - state.start
            if state.chunks > 1:
                per_chunk = (now - state.first_chunk) / (state.chunks - 1)
        content = self._content
        output_json = None
        if content.enabled and info.generations:
            output_json = content.output_messages(info.generations, info.finish_reasons)
        kind = None if error is None else error_type(error)
        agent = state.agent
        if agent is not None:  # roll up into the agent (and its callers)
            total = None if cost is None else cost[0] + cost[1]
            agent.add_model(
                usage.input_tokens, usage.output_tokens, estimated=usage.estimated, cost=total
            )
        duration = now - state.start
        span.set_attributes(
            model_end_attributes(
                outcome, ttfc, info, usage, cost, output_json if content.on_spans else None, kind
            )
        )
        if error is not None:
            record_error(span, error, kind)  # type: ignore[arg-type]
        span.end()
        points = self._points.points(
            state.metric_key, state.metric_base, outcome, info.response_model, kind
        )
        context = state.context or trace.set_span_in_context(span)  # exemplars: this run
        self._instruments.record_run(points, duration, usage, ttfc, per_chunk, cost, context)
        level = self._log_gate.model_level(outcome, kind)
        if level is not None:
            end = ModelEnd(outcome, duration, ttfc, per_chunk, info, usage, cost, output_json, kind)
            _logs.model_event(self._log_gate, level, state, end, content)

    def _ended(
        self,
        run_id: Any,
        error: BaseException | None,
        where: str,
        extra: dict[str, Any] | None = None,
        soft_error: str | None = None,
    ) -> None:
        """A chain, tool or retriever ends: outcome (and error), extra attributes, end.

        ``soft_error``: the ``error.type`` of a failure without an exception (a tool's
        ``ToolMessage`` with ``status="error"``).
        """
        state = self._runs.pop(run_id, None)
        if state is None:
            self._orphan(where)
            return
        self._release(run_id, state)
        if state.open_models and error is not None and is_cancellation(error):
            self._cancel_open_models(state, error, where)
        span = state.span
        if span is None:  # folded or declined: nothing to end
            if error is not None and state.start_args is not None:
                self._folded_step_failed(run_id, state, error)
            return
        outcome = outcome_of(error)
        if outcome == sc.OUTCOME_ERROR and state.agent is not None:
            outcome = self._control_flow(state, error)  # type: ignore[arg-type]
        kind = None
        ended = False
        try:
            if outcome == sc.OUTCOME_ERROR:
                kind = error_type(error)  # type: ignore[arg-type]
                span.set_attributes({sc.OUTCOME: outcome, sc.ERROR_TYPE: kind})
                record_error(span, error, kind)  # type: ignore[arg-type]
            elif soft_error is not None and error is None:
                outcome, kind = sc.OUTCOME_ERROR, soft_error
                fail_softly(span, soft_error)
            elif outcome != sc.OUTCOME_OK:
                span.set_attribute(sc.OUTCOME, outcome)
            if state.agent is not None or state.kind == sc.RUN_TYPE_TOOL:
                outcome = self._agent_run_ended(state, outcome, kind)
            if extra:
                span.set_attributes(extra)
            span.end()
            ended = True
        finally:
            if not ended:  # the path above failed before ending it
                finish(span, outcome)

    def _cancel_open_models(self, state: RunState, error: BaseException, where: str) -> None:
        """A run was cancelled with model runs still in flight under it: end them.

        LangChain gives a model run cancelled inside ``ainvoke`` no end callback when the
        cancellation lands outside its error handler (a chat model's ``asyncio.gather``,
        a text model between its start callback and its call); its parent's
        cancellation is then the last word on it.
        """
        for run_id, child in list((state.open_models or {}).items()):
            if self._runs_get(run_id) is child:  # not ended meanwhile (TTL, eviction)
                self._model_ended(run_id, None, error, where)

    def _folded_step_failed(self, run_id: Any, state: RunState, error: BaseException) -> None:
        """A folded prompt or parser failed: give it its span now, back-dated to its start."""
        if outcome_of(error) != sc.OUTCOME_ERROR:  # a cancellation is its parent's story
            return
        serialized, kwargs, tags, metadata = state.start_args  # type: ignore[misc]
        spec = classify_chain(
            serialized, None, run_id, tags, metadata, kwargs, self._capture_metadata
        )
        kind = error_type(error)
        spec.attributes[sc.OUTCOME] = sc.OUTCOME_ERROR
        spec.attributes[sc.ERROR_TYPE] = kind
        started = time.time_ns() - int((_runs.clock() - state.start) * 1e9)
        span = self._tracer.start_span(
            spec.name,
            context=state.context,
            kind=spec.kind,
            attributes=spec.attributes,
            start_time=started,
        )
        try:
            record_error(span, error, kind)
        finally:
            span.end()

    def _abandon(self, run_id: Any, state: RunState) -> None:
        """End a run whose end never came (TTL sweep, eviction, close)."""
        self._release(run_id, state)
        span = state.span
        if span is None:
            return
        try:
            if state.kind in (sc.RUN_TYPE_LLM, sc.RUN_TYPE_CHAT_MODEL):
                self._end_model(state, None, sc.OUTCOME_ABANDONED, None)
            else:
                span.set_attribute(sc.OUTCOME, sc.OUTCOME_ABANDONED)
                span.end()
        except Exception as exc:
            self._internal_error("abandon", exc)
        finally:
            with contextlib.suppress(Exception):
                finish(span, sc.OUTCOME_ABANDONED)
