"""Secrets and content: API keys and prompts never leak; opted-in content is redacted and
truncated.

Every place telemetry or errors could carry text is collected into one haystack: span
names, attributes, events and statuses (``to_json``), metric data (``to_json``), every
structlog event (ours and the model's), ``repr``/``str`` of the model and the handler,
LangChain's serialization of the model, and the message and ``repr`` of every error —
including a 401 from a leaky proxy that echoes the ``Authorization`` header back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.load import dumps

from langchain_otel.exceptions import LLMError
from langchain_otel.llms import OpenAICompatibleLLM
from langchain_otel.testing import CapturedTelemetry, capture_telemetry
from tests.reliability._support import record
from tests.support.openai_server import Fault, OpenAIServer

API_KEY = "sk-live-SECRET0123456789abcdef"
PROMPT = "PROMPTMARKER tell me about otters"


def _haystack(telemetry: CapturedTelemetry, extras: list[str]) -> str:
    parts = [span.to_json(indent=None) for span in telemetry.spans]
    data = telemetry.metric_reader.get_metrics_data()
    if data is not None:
        parts.append(data.to_json(indent=None))
    parts += [repr(log) for log in telemetry.logs]
    parts.append(repr(telemetry.handler))
    parts += extras
    return "\n".join(parts)


def _exercise(server: OpenAIServer, telemetry: CapturedTelemetry) -> list[str]:
    """Calls, streams, async calls and failures; returns reprs and error texts seen."""
    llm = OpenAICompatibleLLM(
        base_url=server.base_url, model="gpt-test", api_key=API_KEY, max_retries=1,
        retry_backoff=0.0,
    )  # fmt: skip
    config: Any = {"callbacks": [telemetry.handler]}
    extras = [repr(llm), str(llm), dumps(llm), llm.model_dump_json()]
    assert llm.invoke(PROMPT, config=config)
    assert "".join(llm.stream(PROMPT, config=config))
    assert asyncio.run(llm.ainvoke(PROMPT, config=config))
    server.script(
        Fault.http(401, echo_authorization=True),
        Fault.http(500, body=f"upstream saw {API_KEY}"),
        Fault.http(500, body=f"upstream saw {API_KEY}"),
        Fault.drop(after_tokens=1),
    )
    for call in (
        lambda: llm.invoke(PROMPT, config=config),
        lambda: llm.invoke(PROMPT, config=config),
        lambda: "".join(llm.stream(PROMPT, config=config)),
    ):
        with pytest.raises(LLMError) as caught:
            call()
        extras += [str(caught.value), repr(caught.value), repr(caught.value.args)]
        extras.append(repr(getattr(caught.value, "__dict__", {})))
    llm.close()
    return extras


@pytest.fixture(name="server")
def _server() -> Iterator[OpenAIServer]:
    with OpenAIServer(response_model="gpt-test-001") as server:
        yield server


def test_no_key_and_no_content_anywhere_by_default(
    server: OpenAIServer, request: pytest.FixtureRequest
) -> None:
    """Content capture off: neither the key nor the prompt nor the answer appears anywhere."""
    with capture_telemetry(capture_content=False) as telemetry:
        extras = _exercise(server, telemetry)
        haystack = _haystack(telemetry, extras)
        spans = len(telemetry.spans)
    assert any(r.headers.get("authorization") == f"Bearer {API_KEY}" for r in server.requests)
    # the haystack is real: it holds the spans, the errors and the upstream bodies
    assert "gpt-test-001" in haystack
    assert "401" in haystack
    assert "upstream saw" in haystack
    assert API_KEY not in haystack
    assert "SECRET0123" not in haystack
    assert "PROMPTMARKER" not in haystack
    assert "otters" not in haystack
    assert "gen_ai.input.messages" not in haystack
    assert "gen_ai.output.messages" not in haystack
    record(request, spans=spans, haystack_chars=len(haystack), key_found=0, prompt_found=0)


def test_key_from_the_environment_never_leaks(
    server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OPENAI_API_KEY from the environment: sent, and nowhere in reprs, logs or spans."""
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    with capture_telemetry(capture_content=True) as telemetry:
        llm = OpenAICompatibleLLM(base_url=server.base_url, model="gpt-test")
        assert llm.invoke("hi", config={"callbacks": [telemetry.handler]})
        haystack = _haystack(telemetry, [repr(llm), str(llm), dumps(llm)])
        llm.close()
    assert server.requests[-1].headers["authorization"] == f"Bearer {API_KEY}"
    assert API_KEY not in haystack


def test_content_on_is_redacted_and_truncated(
    server: OpenAIServer, request: pytest.FixtureRequest
) -> None:
    """Content capture on: the redaction hook runs first, truncation is honoured, metrics stay
    content-free, and the key still never appears."""
    limit = 40
    long_prompt = PROMPT + " and more " * 50

    def redact(text: str) -> str:
        return text.replace("PROMPTMARKER", "[redacted]")

    with capture_telemetry(
        capture_content=True, redact=redact, content_max_length=limit
    ) as telemetry:
        llm = OpenAICompatibleLLM(base_url=server.base_url, model="gpt-test", api_key=API_KEY)
        config: Any = {"callbacks": [telemetry.handler]}
        llm.invoke(long_prompt, config=config)
        "".join(llm.stream(long_prompt, config=config))
        llm.close()
        haystack = _haystack(telemetry, [])
        metrics = telemetry.metric_reader.get_metrics_data()
        spans = telemetry.spans
        logs = list(telemetry.logs)
    assert API_KEY not in haystack
    assert "PROMPTMARKER" not in haystack
    assert len(spans) == 2
    texts = []
    for span in spans:
        attrs = span.attributes or {}
        for key in ("gen_ai.input.messages", "gen_ai.output.messages"):
            messages = json.loads(str(attrs[key]))
            for message in messages:
                for part in message["parts"]:
                    texts.append(part["content"])
    assert texts
    assert any(text.startswith("[redacted]") for text in texts)
    for text in texts:
        assert len(text) <= limit + len("…[truncated]"), text
    assert any(text.endswith("…[truncated]") for text in texts)
    assert metrics is not None
    metric_json = metrics.to_json(indent=None)
    assert "redacted" not in metric_json
    assert "otters" not in metric_json
    ends = [log for log in logs if log["event"] == "llm.end"]
    assert ends
    assert all("input_messages" in log for log in ends)  # logs follow the same opt-in
    record(request, spans=len(spans), texts=len(texts), max_text_len=max(map(len, texts)))
