"""Hostile input: garbage, out-of-order and duplicated callbacks never escape, spans end.

A span processor tracks every span the handler starts; after each sequence (and
``handler.close()`` for runs whose end never came) none may be left open, and every
finished span must encode as OTLP protobuf (invalid unicode would break the exporter).
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.outputs import Generation, LLMResult
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from langchain_otel import OTelCallbackHandler
from langchain_otel.llms import EchoLLM
from tests.reliability._support import CountingLogger, record, rss_bytes, sizes


class OpenSpans(SpanProcessor):
    """Span ids started and not yet ended."""

    def __init__(self) -> None:
        self.open: set[int] = set()
        self.started = 0

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        assert span.context is not None
        self.open.add(span.context.span_id)
        self.started += 1

    def on_end(self, span: ReadableSpan) -> None:
        assert span.context is not None
        self.open.discard(span.context.span_id)


def _assert_encodable(value: Any) -> None:
    """Every string in ``value`` encodes as UTF-8 (no lone surrogates)."""
    if isinstance(value, str):
        value.encode("utf-8")
    elif isinstance(value, dict):
        for item in value.values():
            _assert_encodable(item)
    elif isinstance(value, tuple | list):
        for item in value:
            _assert_encodable(item)


class Evil:
    """Every dunder a handler might touch raises."""

    def __repr__(self) -> str:
        raise RuntimeError("repr of Evil")

    __str__ = __repr__

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"getattr {name}")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq")

    def __hash__(self) -> int:
        raise RuntimeError("hash")

    def __len__(self) -> int:
        raise RuntimeError("len")

    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError("iter")


class UnprintableError(Exception):
    """An exception whose ``str()`` and ``repr()`` raise."""

    def __str__(self) -> str:
        raise RuntimeError("str of UnprintableError")

    __repr__ = __str__


class Rig:
    """A handler on real providers with an open-span tracker and an in-memory exporter."""

    def __init__(self, **options: Any) -> None:
        self.open = OpenSpans()
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(self.open)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
        self.logger = CountingLogger()
        self.handler = OTelCallbackHandler(
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
            logger=self.logger,
            **options,
        )

    def finish(self) -> list[ReadableSpan]:
        """Close the handler; assert no span is open and every span encodes as OTLP."""
        self.handler.close()
        assert self.handler.open_runs == 0
        assert not self.open.open, f"{len(self.open.open)} span(s) never ended"
        spans = list(self.exporter.get_finished_spans())
        for span in spans:  # the OTLP encoder would drop (and log) an unencodable value
            _assert_encodable(span.name)
            _assert_encodable(span.status.description)
            _assert_encodable(dict(span.attributes or {}))
            for event in span.events:
                _assert_encodable(dict(event.attributes or {}))
        encode_spans(spans).SerializeToString()
        self.exporter.clear()
        return spans

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


@pytest.fixture(name="rig")
def _rig() -> Iterator[Rig]:
    rig = Rig(capture_content=True, capture_metadata=True)
    yield rig
    rig.shutdown()


# -- regressions found by this suite --------------------------------------------------


def test_duplicate_start_ends_the_first_span(rig: Rig) -> None:
    """A run id started twice: the first span is ended (abandoned), not leaked."""
    run_id = uuid4()
    rig.handler.on_llm_start({}, ["a"], run_id=run_id)
    rig.handler.on_llm_start({}, ["a"], run_id=run_id)
    rig.handler.on_llm_end(None, run_id=run_id)
    spans = rig.finish()
    outcomes = sorted(str((s.attributes or {})["langchain_otel.outcome"]) for s in spans)
    assert outcomes == ["abandoned", "ok"]
    assert rig.handler.orphan_callbacks == 1


def test_response_whose_attributes_raise_still_ends_the_span(rig: Rig) -> None:
    """on_llm_end with a response whose attribute access raises: the span still ends."""
    run_id = uuid4()
    rig.handler.on_llm_start({}, ["a"], run_id=run_id)
    rig.handler.on_llm_end(Evil(), run_id=run_id)
    (span,) = rig.finish()
    assert (span.attributes or {})["langchain_otel.outcome"] == "ok"
    assert rig.handler.internal_errors == 1


def test_unprintable_exception_is_recorded_and_ends_the_span(rig: Rig) -> None:
    """An error whose str() raises: status ERROR, error.type, exception event, span ended."""
    llm_id, chain_id = uuid4(), uuid4()
    rig.handler.on_chain_start({}, {}, run_id=chain_id)
    rig.handler.on_llm_start({}, ["a"], run_id=llm_id, parent_run_id=chain_id)
    rig.handler.on_llm_error(UnprintableError(), run_id=llm_id)
    rig.handler.on_chain_error(UnprintableError(), run_id=chain_id)
    spans = rig.finish()
    assert len(spans) == 2
    for span in spans:
        assert span.status.status_code.name == "ERROR"
        assert str((span.attributes or {})["error.type"]).endswith("UnprintableError")
        assert [event.name for event in span.events] == ["exception"]
    assert rig.handler.internal_errors == 0


def test_exception_text_with_lone_surrogates_stays_encodable(rig: Rig) -> None:
    """An error message with a lone surrogate: the exception event is cleaned for OTLP."""
    run_id = uuid4()
    rig.handler.on_llm_start({}, ["a"], run_id=run_id)
    try:
        raise RuntimeError("bad \ud800 text")
    except RuntimeError as error:
        rig.handler.on_llm_error(error, run_id=run_id)
    (span,) = rig.finish()  # asserts every value encodes
    (event,) = span.events
    assert str((event.attributes or {})["exception.message"]) == "bad ? text"
    assert "RuntimeError" in str((event.attributes or {})["exception.stacktrace"])


def test_unhashable_run_id_starts_no_lasting_span(rig: Rig) -> None:
    """A list as run id: counted as an internal error, and no span is left open."""
    rig.handler.on_llm_start({}, ["a"], run_id=[1])  # type: ignore[arg-type]
    rig.handler.on_llm_new_token("x", run_id=[1])  # type: ignore[arg-type]
    rig.handler.on_llm_end(None, run_id=[1])  # type: ignore[arg-type]
    rig.finish()
    assert rig.handler.internal_errors >= 1


def test_hostile_values_through_a_real_chain() -> None:
    """Lone surrogates, raising objects and deep metadata through EchoLLM: answer unchanged."""
    rig = Rig(capture_content=True, capture_metadata=True)
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(500):
        node["k"] = {}
        node = node["k"]
    prompt = "bad \ud800 unicode \udfff" + "x" * 100_000
    llm = EchoLLM(n=20)
    config: Any = {
        "callbacks": [rig.handler],
        "tags": ["t\ud800", "ok"],
        "metadata": {"evil": Evil(), "deep": deep, "conversation_id": "c\udfff", "s": "\ud83d"},
        "run_name": "name \udfff",
    }
    assert llm.invoke(prompt, config=config) == prompt[:20]
    assert "".join(llm.stream(prompt, config=config)) == prompt[:20]
    assert asyncio.run(llm.ainvoke(prompt, config=config)) == prompt[:20]
    spans = rig.finish()
    assert len(spans) == 3
    for span in spans:
        assert (span.attributes or {})["langchain_otel.outcome"] == "ok"
    rig.shutdown()


# -- property: arbitrary callback sequences --------------------------------------------

_POOL = [UUID(int=i + 1) for i in range(4)]
_HUGE = "h" * 100_000
_DEEP: dict[str, Any] = {}
_node = _DEEP
for _ in range(1_000):
    _node["d"] = {}
    _node = _node["d"]

any_text = st.text(alphabet=st.characters(blacklist_categories=()), max_size=30)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    any_text,
    st.binary(max_size=8),
    st.just(_HUGE),
    st.builds(Evil),
    st.uuids(),
)
payload = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(any_text, st.integers()), inner, max_size=4),
    ),
    max_leaves=12,
) | st.just(_DEEP)
_pooled = st.sampled_from(_POOL)
run_ids = st.one_of(
    _pooled,
    _pooled,
    _pooled,
    _pooled,
    st.none(),
    st.just("not-a-uuid"),
    st.just([1]),
    st.builds(Evil),
)
parents = st.one_of(st.none(), _pooled, _pooled, st.builds(Evil))
serialized = st.one_of(
    st.fixed_dictionaries({"name": any_text}),
    st.fixed_dictionaries({"id": st.lists(any_text, max_size=3), "kwargs": payload}),
    payload,
)
errors = (
    st.sampled_from(
        [
            ValueError("boom"),
            asyncio.CancelledError(),
            GeneratorExit(),
            UnprintableError(),
            KeyError(_HUGE),
            RuntimeError("bad \ud800"),
        ]
    )
    | payload
)
generation_info = st.dictionaries(
    st.sampled_from(["finish_reason", "model_name", "token_usage", "id", "usage"]),
    payload
    | st.fixed_dictionaries(
        {"prompt_tokens": st.integers(), "completion_tokens": st.integers() | payload}
    ),
    max_size=4,
)
responses = st.one_of(
    payload,
    st.builds(
        lambda text, info, out: LLMResult(
            generations=[[Generation(text=text, generation_info=info)]], llm_output=out
        ),
        any_text,
        generation_info,
        st.none() | st.dictionaries(any_text, payload, max_size=3),
    ),
)
common = {"run_id": run_ids, "parent_run_id": parents}
starts = {"tags": payload | st.lists(any_text, max_size=3), "metadata": payload}


def _call(name: str, args: st.SearchStrategy[tuple[Any, ...]], **kw: Any) -> Any:
    return st.tuples(st.just(name), args, st.fixed_dictionaries({**common, **kw}))


steps = st.one_of(
    _call(
        "on_llm_start",
        st.tuples(serialized, payload | st.lists(any_text, max_size=3)),
        **starts,
        invocation_params=payload,
    ),
    _call("on_chat_model_start", st.tuples(serialized, payload), **starts),
    _call("on_chain_start", st.tuples(serialized, payload), **starts),
    _call("on_tool_start", st.tuples(serialized, payload), **starts, inputs=payload),
    _call("on_retriever_start", st.tuples(serialized, payload), **starts),
    _call("on_llm_new_token", st.tuples(payload), chunk=payload),
    _call("on_llm_end", st.tuples(responses)),
    _call("on_llm_error", st.tuples(errors), response=responses),
    _call("on_chain_end", st.tuples(payload)),
    _call("on_chain_error", st.tuples(errors)),
    _call("on_tool_end", st.tuples(payload)),
    _call("on_tool_error", st.tuples(errors)),
    _call("on_retriever_end", st.tuples(payload)),
    _call("on_retriever_error", st.tuples(errors)),
)


@sizes(200, 10_000, "examples")
def test_arbitrary_callback_sequences_never_escape(
    examples: int, request: pytest.FixtureRequest
) -> None:
    """Any sequence of (garbage) callbacks: nothing escapes, every span ends, memory bounded."""
    max_runs = 8
    rig = Rig(capture_content=True, capture_metadata=True, max_runs=max_runs)
    tried = {"examples": 0, "calls": 0}
    rss_before = rss_bytes()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(sequence=st.lists(steps, max_size=25), capture=st.booleans())
    def sequences(
        sequence: list[tuple[str, tuple[Any, ...], dict[str, Any]]], capture: bool
    ) -> None:
        tried["examples"] += 1
        if len(saved) < 100:
            saved.append(sequence)
        play(sequence, capture)

    def play(sequence: list[tuple[str, tuple[Any, ...], dict[str, Any]]], capture: bool) -> None:
        handler = rig.handler
        object.__setattr__(handler, "_content", handler.content_policy.__class__(capture, capture))
        for name, args, kwargs in sequence:
            tried["calls"] += 1
            getattr(handler, name)(*args, **kwargs)  # must never raise
            assert handler.open_runs <= max_runs
        rig.finish()

    saved: list[list[tuple[str, tuple[Any, ...], dict[str, Any]]]] = []
    sequences()
    growth = rss_bytes() - rss_before
    # The handler's own share: replay saved sequences many times (no generation): flat RSS.
    # Python allocations still held after the replays (tracemalloc, not RSS: after
    # hypothesis' own churn, RSS moves by tens of MiB with the allocator alone).
    for sequence in saved:
        play(sequence, True)
    gc.collect()
    tracemalloc.start()
    try:
        replay_before = tracemalloc.get_traced_memory()[0]
        replays = 0
        for _ in range(max(1, examples // 100)):
            for index, sequence in enumerate(saved):
                play(sequence, index % 2 == 0)
                replays += 1
        gc.collect()
        replay_growth = tracemalloc.get_traced_memory()[0] - replay_before
    finally:
        tracemalloc.stop()
    record(
        request,
        examples_tried=tried["examples"],
        callbacks=tried["calls"],
        spans_started=rig.open.started,
        internal_errors=rig.handler.internal_errors,
        orphan_callbacks=rig.handler.orphan_callbacks,
        rss_growth_mib_incl_hypothesis=growth / 2**20,
        replays=replays,
        replay_retained_kib=replay_growth / 1024,
    )
    assert replay_growth < 2 * 2**20, "the handler keeps memory across runs"
    assert tried["examples"] >= min(examples, 100)
    assert len(rig.handler._points) <= 4096
    assert len(rig.handler._reported) < 200
    rig.shutdown()
