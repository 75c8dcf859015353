"""The "same outputs" floor: our spans, attributes and metric points, with no logic.

What does the OpenTelemetry SDK itself cost for exactly what our handler emits? The
floor answers it for each workload. It is derived from a recorded run of ours, so it
stays exact as ours changes:

1. :func:`record` runs one op of the workload under our real handler, on a tracer
   provider whose processor keeps every ended span and a meter provider that records
   every instrument call (and still forwards it to a real SDK meter).
2. Each span is turned into a :class:`SpanTemplate`: name, kind, every attribute
   (the start ones and the end ones, in one dict), status, and the metric points our
   handler recorded right after ending it (same thread, before the next span ended),
   each with whether a sampled span was current (the SDK then records an exemplar).
3. :class:`FloorHandler` replays the templates: ``start_span`` with the whole attribute
   dict at a run's start (under its parent run's span), ``end()`` and the recorded
   points at its end, in the run span's context where ours had a sampled span current
   (same exemplars). Every value is precomputed; the only work per callback is two
   dict look-ups.

Templates are keyed by ``(run type, has a parent)``: one key per kind of run in every
workload (W6's 16 model runs share one), and :func:`record` refuses a recording where
two runs under one key differ in shape.

The *causal* floor (``FloorHandler(..., causal=True)``, candidate ``floor-causal``) pays
the two costs that any handler emitting our outputs must pay on top, and nothing else:
what ours learns only at a run's end (usage, cost, response model, outcome) is set at
its end, in one ``set_attributes`` call, as ours does (the recording notes which keys
ours gave ``start_span``); and our context propagation is installed, with each run's
span claimed in ``_runs.CLAIMS`` where propagation finds it, so a run's span is current
inside the run (goal 6: "every goal holds with context propagation on").

Example:
    >>> from benchmarks import candidates, workloads as wl
    >>> models = wl.build_models()
    >>> script = record(wl.WORKLOADS["W2"], models)
    >>> sorted(script.templates)
    [('chain', False), ('llm', True)]
    >>> [(i.kind, i.name) for i in script.instruments][:2]
    [('histogram', 'gen_ai.client.operation.duration'), ('histogram', 'gen_ai.client.token.usage')]
    >>> sorted(script.templates[("llm", True)].end_attributes)[:2]
    ['gen_ai.response.finish_reasons', 'gen_ai.response.model']
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import structlog
from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode

from langchain_otel.callbacks import _semconv as sc
from langchain_otel.callbacks._runs import CLAIMS, RunState

__all__ = [
    "FloorHandler",
    "InstrumentSpec",
    "Script",
    "SpanTemplate",
    "build_instruments",
    "record",
]


@dataclass(frozen=True)
class InstrumentSpec:
    """One instrument our handler created: how to create the same one."""

    kind: str  # "histogram", "counter" or "observable_counter" (fed by a CounterTotals)
    name: str
    unit: str
    description: str
    boundaries: tuple[float, ...] | None


@dataclass(frozen=True)
class SpanTemplate:
    """One recorded span of ours and the metric points recorded after it ended."""

    name: str
    kind: SpanKind
    attributes: Mapping[str, Any]
    status: Status | None
    points: tuple[tuple[int, float, Mapping[str, Any], bool], ...]
    """(instrument, value, attributes, recorded with a sampled span current)."""
    start_keys: frozenset[str] = frozenset()
    """The attribute keys ours gave ``start_span``; the rest it set at the run's end."""

    @property
    def start_attributes(self) -> dict[str, Any]:
        """What ours knew at the run's start (the causal floor's ``start_span`` dict)."""
        return {k: v for k, v in self.attributes.items() if k in self.start_keys}

    @property
    def end_attributes(self) -> dict[str, Any]:
        """What ours set at the run's end (the causal floor's one ``set_attributes``)."""
        return {k: v for k, v in self.attributes.items() if k not in self.start_keys}

    def shape(self) -> tuple[Any, ...]:
        """What must agree between two runs under one key (values may differ)."""
        return (
            self.name,
            self.kind,
            tuple(sorted(self.attributes)),
            tuple(sorted(self.start_keys)),
            None if self.status is None else self.status.status_code,
            tuple((i, tuple(sorted(a.items())), e) for i, _, a, e in self.points),
        )


@dataclass(frozen=True)
class Script:
    """Everything the floor replays for one workload."""

    instruments: tuple[InstrumentSpec, ...]
    templates: Mapping[tuple[str, bool], SpanTemplate]
    spans_per_op: int
    points_per_op: int


# -- recording ----------------------------------------------------------------------------


class _Events:
    """Span ends and instrument calls in the order they happened, per thread."""

    def __init__(self) -> None:
        self.specs: list[InstrumentSpec] = []
        self.log: list[tuple[int, str, Any]] = []
        self.start_keys: dict[int, frozenset[str]] = {}  # span id -> keys given at start

    def add(self, what: str, item: Any) -> None:
        self.log.append((threading.get_ident(), what, item))


class _KeepEnded(SpanProcessor):
    def __init__(self, events: _Events) -> None:
        self._events = events

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self._events.start_keys[span.context.span_id] = frozenset(span.attributes or {})

    def on_end(self, span: ReadableSpan) -> None:
        self._events.add("span", span)


def _exemplar_context(context: Any) -> bool:
    """Whether the SDK's default (trace-based) exemplar filter samples in ``context``."""
    span_context = trace.get_current_span(context).get_span_context()
    return bool(span_context.is_valid and span_context.trace_flags.sampled)


class _RecordingInstrument:
    def __init__(self, events: _Events, index: int, real: Any) -> None:
        self._events, self._index = events, index
        self._real_record = getattr(real, "record", None)
        self._real_add = getattr(real, "add", None)

    def _note(self, amount: float, attributes: Any, context: Any) -> None:
        point = (self._index, amount, dict(attributes or {}), _exemplar_context(context))
        self._events.add("point", point)

    def record(self, amount: float, attributes: Any = None, context: Any = None) -> None:
        self._note(amount, attributes, context)
        self._real_record(amount, attributes, context)

    def add(self, amount: float, attributes: Any = None, context: Any = None) -> None:
        self._note(amount, attributes, context)
        self._real_add(amount, attributes, context)


class _RecordingMeter:
    def __init__(self, events: _Events, real: Any) -> None:
        self._events, self._real = events, real

    def _wrap(self, spec: InstrumentSpec, real: Any) -> _RecordingInstrument:
        self._events.specs.append(spec)
        return _RecordingInstrument(self._events, len(self._events.specs) - 1, real)

    def create_histogram(
        self,
        name: str,
        unit: str = "",
        description: str = "",
        *,
        explicit_bucket_boundaries_advisory: Sequence[float] | None = None,
    ) -> _RecordingInstrument:
        bounds = explicit_bucket_boundaries_advisory
        spec = InstrumentSpec(
            "histogram", name, unit, description, None if bounds is None else tuple(bounds)
        )
        real = self._real.create_histogram(
            name, unit, description, explicit_bucket_boundaries_advisory=bounds
        )
        return self._wrap(spec, real)

    def create_counter(self, name: str, unit: str = "", description: str = "") -> Any:
        spec = InstrumentSpec("counter", name, unit, description, None)
        return self._wrap(spec, self._real.create_counter(name, unit, description))

    def create_observable_counter(
        self, name: str, callbacks: Sequence[Any] = (), unit: str = "", description: str = ""
    ) -> Any:
        """Our observable counters read a ``CounterTotals``: record what is added to it."""
        (callback,) = callbacks
        totals = callback.__self__  # the bound CounterTotals.observe
        spec = InstrumentSpec("observable_counter", name, unit, description, None)
        recorder = self._wrap(spec, totals)
        totals.add = recorder.add  # the instance's add now records, then adds
        return self._real.create_observable_counter(name, [totals.observe], unit, description)

    def __getattr__(self, name: str) -> Any:
        msg = f"the floor cannot replay {name}: teach benchmarks/floor.py about it"
        raise NotImplementedError(msg)


class _RecordingMeterProvider:
    """Duck-typed ``MeterProvider``: every meter records into one event log."""

    def __init__(self, events: _Events) -> None:
        self._events = events
        self._real = MeterProvider()

    def get_meter(self, *args: Any, **kwargs: Any) -> _RecordingMeter:
        return _RecordingMeter(self._events, self._real.get_meter(*args, **kwargs))


def _templates(events: _Events) -> tuple[dict[tuple[str, bool], SpanTemplate], int, int]:
    pending: dict[int, tuple[ReadableSpan, list[Any]]] = {}
    done: list[tuple[ReadableSpan, list[Any]]] = []
    points = 0
    for thread, what, item in events.log:
        if what == "span":
            if thread in pending:
                done.append(pending[thread])
            pending[thread] = (item, [])
        else:
            if thread not in pending:
                msg = f"a metric point before any span ended: {item}"
                raise RuntimeError(msg)
            pending[thread][1].append(item)
            points += 1
    done.extend(pending.values())
    templates: dict[tuple[str, bool], SpanTemplate] = {}
    for span, span_points in done:
        attributes = dict(span.attributes or {})
        status = span.status if span.status.status_code is not StatusCode.UNSET else None
        start_keys = events.start_keys.get(span.context.span_id, frozenset(attributes))
        template = SpanTemplate(
            span.name, span.kind, attributes, status, tuple(span_points), start_keys
        )
        key = (str(attributes.get(sc.LANGCHAIN_RUN_TYPE)), span.parent is not None)
        first = templates.setdefault(key, template)
        if first.shape() != template.shape():
            msg = f"two runs of kind {key} differ in shape: {first.shape()} != {template.shape()}"
            raise RuntimeError(msg)
    return templates, len(done), points


def record(workload: Any, models: Any) -> Script:
    """Run one op of ``workload`` under our handler and script what it emitted."""
    from benchmarks import workloads as wl
    from benchmarks.candidates import ours_handler
    from langchain_otel.callbacks import _propagation  # after the worker set it up

    was_installed = _propagation.installed()
    events = _Events()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(_KeepEnded(events))
    quiet = structlog.make_filtering_bound_logger(logging.WARNING)(None, [], {})  # as ours runs
    handler = ours_handler(tracer_provider, _RecordingMeterProvider(events), quiet)
    loop = asyncio.new_event_loop()
    try:
        wl.run_block(
            workload,
            models,
            {"callbacks": [handler]},
            1,
            concurrency=1,
            loop=loop,
            clock=lambda: 0,
        )
    finally:
        loop.close()
        if not was_installed:  # our handler patched LangChain's boundaries: the floor does not
            _propagation.uninstall()
    templates, spans, points = _templates(events)
    return Script(tuple(events.specs), templates, spans, points)


# -- replaying ----------------------------------------------------------------------------


def build_instruments(meter: Any, specs: Sequence[InstrumentSpec]) -> list[Callable[..., None]]:
    """The recording method (``record`` / ``add``) of each instrument, created alike."""
    methods: list[Callable[..., None]] = []
    for spec in specs:
        if spec.kind == "observable_counter":  # ours' accumulator, read at collection
            from langchain_otel.callbacks._metrics import CounterTotals

            totals = CounterTotals()
            meter.create_observable_counter(
                spec.name, [totals.observe], unit=spec.unit, description=spec.description
            )
            methods.append(totals.add)
        elif spec.kind == "histogram":
            histogram = meter.create_histogram(
                spec.name,
                spec.unit,
                spec.description,
                explicit_bucket_boundaries_advisory=spec.boundaries,
            )
            methods.append(histogram.record)
        else:
            methods.append(meter.create_counter(spec.name, spec.unit, spec.description).add)
    return methods


class FloorHandler(BaseCallbackHandler):
    """Replays a :class:`Script`: our outputs, precomputed, on the real SDK.

    ``causal=True``: the causal floor (module docstring): the end attributes set at the
    end in one call, and every run claimed for our context propagation (which the
    ``floor-causal`` candidate installs).

    Example:
        >>> from benchmarks import candidates, workloads as wl
        >>> models = wl.build_models()
        >>> sdk = candidates.make_sdk()
        >>> handler = FloorHandler(record(wl.WORKLOADS["W1"], models), sdk)
        >>> _ = models.llm.invoke("hi", config={"callbacks": [handler]})
        >>> _ = sdk.tracer_provider.force_flush()
        >>> sdk.exporter.count, handler.open_runs
        (1, 0)
    """

    run_inline = True
    raise_error = True

    def __init__(self, script: Script, sdk: Any, *, causal: bool = False) -> None:
        self._tracer = sdk.tracer_provider.get_tracer("langchain_otel.bench.floor")
        methods = build_instruments(
            sdk.meter_provider.get_meter("langchain_otel.bench.floor"), script.instruments
        )
        self._causal = causal
        self._templates = {
            key: (
                t,
                tuple((methods[i], v, a, e) for i, v, a, e in t.points),
                t.start_attributes if causal else t.attributes,
                t.end_attributes if causal else {},
            )
            for key, t in script.templates.items()
        }
        # run id -> [span, points, status, context, end attributes]
        self._runs: dict[UUID, list[Any]] = {}

    @property
    def open_runs(self) -> int:
        """Runs started and not yet ended."""
        return len(self._runs)

    def _start(self, run_type: str, run_id: UUID, parent_run_id: UUID | None) -> None:
        context = None
        if parent_run_id is not None:
            parent = self._runs[parent_run_id]
            context = parent[3]
            if context is None and parent[0] is not None:
                context = parent[3] = trace.set_span_in_context(parent[0])
        recorded = self._templates.get((run_type, parent_run_id is not None))
        if recorded is None:  # ours folds this run: no span, children to its ancestor
            self._runs[run_id] = [None, (), None, context, None]
            if self._causal:
                claim = CLAIMS[run_id] = RunState(None, run_type, 0.0)
                claim.context = context
            return
        template, points, start_attributes, end_attributes = recorded
        span = self._tracer.start_span(
            template.name, context=context, kind=template.kind, attributes=start_attributes
        )
        self._runs[run_id] = [span, points, template.status, None, end_attributes]
        if self._causal:
            CLAIMS[run_id] = RunState(span, run_type, 0.0)

    def _end(self, run_id: UUID) -> None:
        span, points, status, context, end_attributes = self._runs.pop(run_id)
        if self._causal:
            CLAIMS.pop(run_id, None)
        if span is None:  # folded
            return
        if end_attributes:
            span.set_attributes(end_attributes)
        if status is not None:
            span.set_status(status)
        span.end()
        for method, value, attributes, exemplar in points:
            if exemplar:  # ours had the run's span current: the SDK keeps an exemplar
                if context is None:
                    context = trace.set_span_in_context(span)
                method(value, attributes, context)
            else:
                method(value, attributes)

    # Every keyword LangChain passes is named: one landing in ``**kw`` is bound by
    # comparing it with each parameter name, a cost of the signature, not of the SDK.

    def on_llm_start(
        self,
        serialized: Any,
        prompts: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: Any = None,
        metadata: Any = None,
        invocation_params: Any = None,
        options: Any = None,
        name: Any = None,
        batch_size: Any = None,
        **kw: Any,
    ) -> None:
        """Start the recorded text-model span."""
        self._start(sc.RUN_TYPE_LLM, run_id, parent_run_id)

    def on_chat_model_start(
        self,
        serialized: Any,
        messages: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: Any = None,
        metadata: Any = None,
        invocation_params: Any = None,
        options: Any = None,
        name: Any = None,
        batch_size: Any = None,
        **kw: Any,
    ) -> None:
        """Start the recorded chat-model span."""
        self._start(sc.RUN_TYPE_CHAT_MODEL, run_id, parent_run_id)

    def on_chain_start(
        self,
        serialized: Any,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: Any = None,
        metadata: Any = None,
        name: Any = None,
        run_type: Any = None,
        **kw: Any,
    ) -> None:
        """Start the recorded chain span."""
        self._start(sc.RUN_TYPE_CHAIN, run_id, parent_run_id)

    def on_llm_end(
        self,
        response: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: Any = None,
        **kw: Any,
    ) -> None:
        """End the span, record the recorded points."""
        self._end(run_id)

    def on_chain_end(
        self,
        outputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: Any = None,
        **kw: Any,
    ) -> None:
        """End the chain span."""
        self._end(run_id)
