"""Failures, garbage callbacks, TTL sweeps and eviction: every span ends, nothing raises."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import Generation, LLMResult
from opentelemetry.trace import StatusCode

from langchain_otel import OTelCallbackHandler
from langchain_otel._demo import build_chain
from langchain_otel.exceptions import LLMTimeoutError
from langchain_otel.llms import EchoLLM
from langchain_otel.testing import CapturedTelemetry, FakeClock, capture_telemetry


def test_llm_error_span_metric_and_log(telemetry: CapturedTelemetry) -> None:
    """A failing model: status ERROR, exception event, error.type everywhere, llm.error."""
    llm = EchoLLM(n=3, fail_with=LLMTimeoutError("slow"))
    with pytest.raises(LLMTimeoutError):
        llm.invoke("abc", config={"callbacks": [telemetry.handler]})
    (span,) = telemetry.spans
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "langchain_otel.exceptions.LLMTimeoutError: slow"
    assert span.attributes["error.type"] == "langchain_otel.exceptions.LLMTimeoutError"
    assert span.attributes["langchain_otel.outcome"] == "error"
    assert "gen_ai.usage.input_tokens" not in span.attributes  # nothing reported, no guess
    (event,) = span.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "langchain_otel.exceptions.LLMTimeoutError"
    (duration,) = telemetry.metrics()["gen_ai.client.operation.duration"]
    assert duration.attributes["error.type"] == "langchain_otel.exceptions.LLMTimeoutError"
    assert duration.attributes["langchain_otel.outcome"] == "error"
    (log,) = [e for e in telemetry.logs if e["event"] == "llm.error"]
    assert log["log_level"] == "error"
    assert log["error_type"] == "langchain_otel.exceptions.LLMTimeoutError"
    assert log["outcome"] == "error"
    assert telemetry.handler.open_runs == 0


def test_error_mid_stream_in_a_chain(telemetry: CapturedTelemetry) -> None:
    """A stream failing at chunk 2: the LLM and its chain end in error; registry empty."""
    chain = build_chain(EchoLLM(n=10, error_on_chunk=2))
    with pytest.raises(RuntimeError):
        list(chain.stream({"question": "q"}, config={"callbacks": [telemetry.handler]}))
    spans = {s.name: s for s in telemetry.spans}
    llm = spans["text_completion echo"]
    assert llm.attributes["error.type"] == "RuntimeError"
    assert llm.attributes["gen_ai.request.stream"] is True
    assert spans["RunnableSequence"].status.status_code is StatusCode.ERROR
    assert telemetry.handler.open_runs == 0


def test_ttl_sweep_ends_abandoned_runs(telemetry: CapturedTelemetry, clock: FakeClock) -> None:
    """A run whose end never comes is ended as abandoned once its TTL has passed."""
    with capture_telemetry(strict=True, run_ttl=30.0, use_genai_prices=False) as t:
        handler = t.handler
        gen = EchoLLM(n=5).stream("hello", config={"callbacks": [handler]})
        next(gen)  # left suspended: no end, no error
        assert handler.open_runs == 1
        clock.advance(10.0)
        assert handler.sweep() == 0
        clock.advance(25.0)
        EchoLLM(n=1).invoke("x", config={"callbacks": [handler]})  # a start sweeps
        assert handler.open_runs == 0
        abandoned = [s for s in t.spans if s.attributes["langchain_otel.outcome"] == "abandoned"]
        assert len(abandoned) == 1
        assert abandoned[0].status.status_code is StatusCode.UNSET
        (log,) = [e for e in t.logs if e.get("outcome") == "abandoned"]
        assert log["log_level"] == "warning"
        assert log["event"] == "llm.end"
        gen.close()  # type: ignore[attr-defined]  # the late error is an orphan: counted, not raised
        assert handler.orphan_callbacks == 1


def test_registry_is_bounded(telemetry: CapturedTelemetry) -> None:
    """Beyond max_runs the oldest run is ended as abandoned."""
    with capture_telemetry(strict=True, max_runs=2, use_genai_prices=False) as t:
        ids = [uuid4() for _ in range(3)]
        for run_id in ids:
            t.handler.on_chain_start({}, {}, run_id=run_id, name="c")
        assert t.handler.open_runs == 2
        (span,) = t.spans
        assert span.attributes["langchain.run.id"] == str(ids[0])
        assert span.attributes["langchain_otel.outcome"] == "abandoned"
        assert t.handler.close() == 2
        assert t.handler.open_runs == 0
        assert len(t.spans) == 3


def test_garbage_callbacks_never_raise() -> None:
    """Unknown ids, duplicates, None results, odd metadata, bad unicode: tolerated."""
    with capture_telemetry(use_genai_prices=False) as t:
        h = t.handler
        h.on_llm_end(LLMResult(generations=[]), run_id=uuid4())  # unknown run
        h.on_llm_error(ValueError("x"), run_id=uuid4())
        h.on_chain_end({}, run_id=uuid4())
        h.on_llm_new_token("t", run_id=uuid4())
        run_id = uuid4()
        h.on_llm_start(
            None,  # type: ignore[arg-type]
            ["bad \ud800 unicode", 3],  # type: ignore[list-item]
            run_id=run_id,
            tags="not-a-list",  # type: ignore[arg-type]
            metadata=object(),  # type: ignore[arg-type]
            invocation_params="garbage",
            name="na\udc80me",
        )
        h.on_llm_new_token("x", run_id=run_id)
        h.on_llm_end(None, run_id=run_id)  # type: ignore[arg-type]
        h.on_llm_end(None, run_id=run_id)  # type: ignore[arg-type] # duplicate
        h.on_llm_new_token("t", run_id=[1, 2])  # type: ignore[arg-type] # unhashable
        h.on_chain_start({}, {}, run_id=[1])  # type: ignore[arg-type]
        weird: Any = LLMResult(
            generations=[
                [Generation(text="ok", generation_info={"token_usage": "zz", "finish_reason": 3})]
            ]
        )
        run2 = uuid4()
        h.on_llm_start(
            {}, ["p"], run_id=run2, invocation_params={"model_name": 42, "temperature": "hot"}
        )
        h.on_llm_end(weird, run_id=run2)
        assert h.open_runs == 0
        assert h.orphan_callbacks == 4
        assert h.internal_errors == 2
        spans = {s.attributes["langchain.run.id"]: s for s in t.spans}
        bad = spans[str(run_id)]
        assert bad.name == "text_completion unknown"
        assert bad.attributes["langchain.run.name"] == "na?me"
        assert bad.attributes["langchain_otel.outcome"] == "ok"
        odd = spans[str(run2)]
        assert "gen_ai.request.temperature" not in odd.attributes
        assert odd.attributes["langchain_otel.usage.estimated"] is True
        reports = [e for e in t.logs if e["event"] == "langchain_otel.internal_error"]
        # once per kind: 3 orphan callbacks kinds + 2 exception kinds
        assert len(reports) == 5


def test_broken_logger_never_affects_the_chain(telemetry: CapturedTelemetry) -> None:
    """Even a logger that raises leaves the chain's result untouched."""

    class Broken:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError("logging is down")

    handler = OTelCallbackHandler(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        logger=Broken(),
        use_genai_prices=False,
    )
    out = build_chain(EchoLLM(n=3)).invoke({"question": "q"}, config={"callbacks": [handler]})
    assert out == "Ans"
    assert handler.internal_errors == 1
    assert handler.open_runs == 0
    assert len(telemetry.spans) == 2  # the sequence and the model (prompt, parser folded)


def test_invalid_arguments_raise_configuration_errors() -> None:
    """Bad configuration fails at the call site with a clear message."""
    from langchain_otel.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="run_ttl"):
        OTelCallbackHandler(run_ttl=0)
    with pytest.raises(ConfigurationError, match="max_runs"):
        OTelCallbackHandler(max_runs=0)
    with pytest.raises(ConfigurationError, match="prices"):
        OTelCallbackHandler(prices={"m": (1, 2)})  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError, match="content_max_length"):
        OTelCallbackHandler(content_max_length=0)


@pytest.mark.parametrize("kind", ["chat", "text"])
async def test_a_model_cancelled_inside_a_chain_ainvoke_ends_cancelled(
    telemetry: CapturedTelemetry, kind: str
) -> None:
    """A request cancelled mid-model: chain and model spans end ``cancelled`` at once.

    LangChain gives such a model run no end callback (a chat model in its
    ``asyncio.gather``; a text model cancelled between its start callback and its
    call); the chain's cancellation ends it instead of the TTL sweep, minutes later.
    """
    import asyncio

    from langchain_core.prompts import ChatPromptTemplate, PromptTemplate

    from langchain_otel.llms import EchoChatModel

    if kind == "chat":
        model: Any = EchoChatModel(n=50, time_to_first_token=10.0)
        prompt: Any = ChatPromptTemplate.from_messages([("human", "{q}")])
    else:
        model = EchoLLM(n=50, time_to_first_token=10.0)
        prompt = PromptTemplate.from_template("{q}")
    started = asyncio.Event()

    class Started(BaseCallbackHandler):
        run_inline = True

        def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
            started.set()

        def on_llm_start(self, *args: Any, **kwargs: Any) -> None:
            started.set()

    chain = prompt | model
    task = asyncio.ensure_future(
        chain.ainvoke({"q": "hello"}, config={"callbacks": [telemetry.handler, Started()]})
    )
    await started.wait()
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    outcomes = {
        s.name.split(" ")[0]: (s.attributes or {})["langchain_otel.outcome"]
        for s in telemetry.spans
    }
    operation = "chat" if kind == "chat" else "text_completion"
    assert outcomes == {"RunnableSequence": "cancelled", operation: "cancelled"}
    assert telemetry.handler.open_runs == 0
    assert telemetry.handler.orphan_callbacks == 0
    durations = telemetry.metrics()["gen_ai.client.operation.duration"]
    assert [p.attributes["langchain_otel.outcome"] for p in durations] == ["cancelled"]
