"""The handler's contract: flags, copies, metadata, context hygiene, providers."""

from __future__ import annotations

import copy

from opentelemetry import trace

from langchain_otel import OTelCallbackHandler
from langchain_otel._demo import build_chain
from langchain_otel.llms import EchoLLM
from langchain_otel.testing import CapturedTelemetry, capture_telemetry


def test_flags_and_copies() -> None:
    """run_inline, raise_error=False by default, and copies are the same handler."""
    handler = OTelCallbackHandler(use_genai_prices=False)
    assert handler.run_inline is True
    assert handler.raise_error is False
    assert copy.copy(handler) is handler
    assert copy.deepcopy(handler) is handler
    assert handler.open_runs == 0
    assert "open_runs=0" in repr(handler)
    assert OTelCallbackHandler(strict=True, use_genai_prices=False).raise_error is True


def test_current_context_untouched_after_batch(telemetry: CapturedTelemetry) -> None:
    """batch() leaves no span current in the caller's thread (the peers' trap)."""
    before = trace.get_current_span()
    build_chain(EchoLLM(n=2)).batch(
        [{"question": "a"}, {"question": "b"}], config={"callbacks": [telemetry.handler]}
    )
    assert trace.get_current_span() is before
    assert not trace.get_current_span().get_span_context().is_valid
    roots = [s for s in telemetry.spans if s.parent is None]
    assert len(roots) == 2
    assert roots[0].context.trace_id != roots[1].context.trace_id


def test_metadata_capture_is_opt_in() -> None:
    """Scalar metadata becomes langchain.metadata.* only with capture_metadata=True."""
    config = {"metadata": {"user_tier": "gold", "retries": 2, "obj": object(), "ls_x": "y"}}
    with capture_telemetry(strict=True, use_genai_prices=False) as off:
        EchoLLM(n=2).invoke("abc", config={**config, "callbacks": [off.handler]})
    assert not [k for k in off.spans[0].attributes or {} if k.startswith("langchain.metadata")]
    with capture_telemetry(strict=True, use_genai_prices=False, capture_metadata=True) as on:
        EchoLLM(n=2).invoke("abc", config={**config, "callbacks": [on.handler]})
    attrs = on.spans[0].attributes or {}
    assert attrs["langchain.metadata.user_tier"] == "gold"
    assert attrs["langchain.metadata.retries"] == 2
    assert "langchain.metadata.obj" not in attrs
    assert "langchain.metadata.ls_x" not in attrs
    for points in on.metrics().values():  # never in metrics
        for point in points:
            assert not [k for k in point.attributes if k.startswith("langchain.metadata")]


def test_instrumentation_scope(telemetry: CapturedTelemetry) -> None:
    """Spans come from the langchain_otel instrumentation scope with a schema URL."""
    EchoLLM(n=1).invoke("a", config={"callbacks": [telemetry.handler]})
    scope = telemetry.spans[0].instrumentation_scope
    assert scope is not None
    assert scope.name == "langchain_otel"
    assert scope.schema_url


def test_choice_count_and_sampling_params(telemetry: CapturedTelemetry) -> None:
    """OpenAI-named params in invocation params map onto gen_ai.request.*."""
    handler = telemetry.handler
    from uuid import uuid4

    run_id = uuid4()
    handler.on_llm_start(
        {},
        ["p"],
        run_id=run_id,
        invocation_params={
            "_type": "openai",
            "model": "gpt-x",
            "n": 3,
            "top_p": 0.9,
            "top_k": 40,
            "seed": 7,
            "frequency_penalty": 0.1,
            "presence_penalty": 0.2,
            "max_tokens": 10,
            "stop": "END",
            "base_url": "https://api.example.com/v1",
        },
        metadata={"ls_provider": "openai", "ls_temperature": 0.3},
    )
    handler.on_llm_end(None, run_id=run_id)
    attrs = telemetry.spans[0].attributes or {}
    assert attrs["gen_ai.request.choice.count"] == 3
    assert attrs["gen_ai.request.top_p"] == 0.9
    assert attrs["gen_ai.request.top_k"] == 40.0
    assert attrs["gen_ai.request.seed"] == 7
    assert attrs["gen_ai.request.frequency_penalty"] == 0.1
    assert attrs["gen_ai.request.presence_penalty"] == 0.2
    assert attrs["gen_ai.request.max_tokens"] == 10
    assert attrs["gen_ai.request.temperature"] == 0.3
    assert attrs["gen_ai.request.stop_sequences"] == ("END",)
    assert attrs["server.address"] == "api.example.com"
    assert attrs["server.port"] == 443
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-x"


def test_no_ids_in_logs_without_a_recording_tracer() -> None:
    """With a no-op tracer the llm.end event carries None ids, not zeros."""
    from opentelemetry.trace import NoOpTracerProvider
    from structlog.testing import capture_logs

    handler = OTelCallbackHandler(tracer_provider=NoOpTracerProvider(), use_genai_prices=False)
    with capture_logs() as logs:
        EchoLLM(n=2).invoke("abc", config={"callbacks": [handler]})
    (event,) = [e for e in logs if e["event"] == "llm.end"]
    assert event["trace_id"] is None
    assert event["span_id"] is None
    assert event["output_tokens"] == 2
