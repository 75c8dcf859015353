"""OpenAICompatibleLLM against a real OpenAI-style server on 127.0.0.1.

Every path (invoke/ainvoke/batch/abatch/stream/astream/astream_events), generation_info,
callback order, stop sequences, retries, every error, secret hygiene and the shared pool.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest
import structlog
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.llms import LLM
from langchain_core.load import dumps
from langchain_core.outputs import LLMResult
from langchain_core.prompts import PromptTemplate
from pydantic import ValidationError

from langchain_otel.exceptions import (
    AuthenticationError,
    LLMConnectionError,
    LLMError,
    LLMResponseError,
    LLMTimeoutError,
    RateLimitError,
    UpstreamHTTPError,
)
from langchain_otel.llms import OpenAICompatibleLLM
from tests.support import Fault, OpenAIServer, tokenize

KEY = "sk-test-DO-NOT-LEAK-0123456789"
PROMPT = "hello world. goodbye"


class _Recorder(BaseCallbackHandler):
    """Records tokens (with how many chunks the consumer had seen) and the end result."""

    run_inline = True

    def __init__(self, seen: list[Any] | None = None) -> None:
        self.tokens: list[tuple[str, int]] = []
        self.ends: list[LLMResult] = []
        self.threads: list[int] = []
        self.seen = seen if seen is not None else []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append((token, len(self.seen)))
        self.threads.append(threading.get_ident())

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        self.ends.append(response)


def make_llm(server: OpenAIServer, **kwargs: Any) -> OpenAICompatibleLLM:
    options: dict[str, Any] = {
        "base_url": server.base_url,
        "model": "test-model",
        "api_key": KEY,
        "retry_backoff": 0.01,
        "retry_backoff_max": 0.05,
        "timeout": 5.0,
    }
    options.update(kwargs)
    return OpenAICompatibleLLM(**options)


@pytest.fixture
def llm(openai_server: OpenAIServer) -> Iterator[OpenAICompatibleLLM]:
    model = make_llm(openai_server)
    yield model
    model.close()


# Four ways to run one prompt, all returning (text, generation_info seen by on_llm_end).
Runner = Callable[[OpenAICompatibleLLM, str, list[str] | None], Any]


def _info(recorder: _Recorder) -> dict[str, Any]:
    (end,) = recorder.ends
    info = end.generations[0][0].generation_info
    assert info is not None
    return info


async def run_invoke(llm: OpenAICompatibleLLM, prompt: str, stop: list[str] | None) -> Any:
    rec = _Recorder()
    text = llm.invoke(prompt, stop=stop, config={"callbacks": [rec]})
    return text, _info(rec)


async def run_ainvoke(llm: OpenAICompatibleLLM, prompt: str, stop: list[str] | None) -> Any:
    rec = _Recorder()
    text = await llm.ainvoke(prompt, stop=stop, config={"callbacks": [rec]})
    return text, _info(rec)


async def run_stream(llm: OpenAICompatibleLLM, prompt: str, stop: list[str] | None) -> Any:
    rec = _Recorder()
    text = "".join(llm.stream(prompt, stop=stop, config={"callbacks": [rec]}))
    return text, _info(rec)


async def run_astream(llm: OpenAICompatibleLLM, prompt: str, stop: list[str] | None) -> Any:
    rec = _Recorder()
    chunks = [c async for c in llm.astream(prompt, stop=stop, config={"callbacks": [rec]})]
    return "".join(chunks), _info(rec)


PATHS = pytest.mark.parametrize(
    "run",
    [run_invoke, run_ainvoke, run_stream, run_astream],
    ids=["invoke", "ainvoke", "stream", "astream"],
)


class TestPaths:
    """Every LangChain entry point answers, over real HTTP."""

    def test_invoke(self, llm: OpenAICompatibleLLM) -> None:
        """invoke returns the server's answer."""
        assert llm.invoke("hello world") == "hello world"

    async def test_ainvoke(self, llm: OpenAICompatibleLLM) -> None:
        """ainvoke returns the server's answer."""
        assert await llm.ainvoke("hello world") == "hello world"

    def test_batch(self, llm: OpenAICompatibleLLM) -> None:
        """batch answers each prompt, in order."""
        assert llm.batch(["woof woof", "meow meow", "moo"]) == ["woof woof", "meow meow", "moo"]

    async def test_abatch(self, llm: OpenAICompatibleLLM, openai_server: OpenAIServer) -> None:
        """abatch answers each prompt, in order, concurrently."""
        openai_server.time_to_first_token = 0.2
        prompts = [f"prompt number {i}" for i in range(8)]
        assert await llm.abatch(prompts) == prompts
        # One after the other would have needed a single connection.
        assert openai_server.max_open_connections > 1

    def test_stream(self, llm: OpenAICompatibleLLM) -> None:
        """stream yields the server's tokens, then an empty final chunk carrying the info."""
        assert list(llm.stream("one two three")) == [*tokenize("one two three"), ""]

    async def test_astream(self, llm: OpenAICompatibleLLM) -> None:
        """astream yields the server's tokens, then an empty final chunk."""
        chunks = [c async for c in llm.astream("one two three")]
        assert chunks == ["one", " two", " three", ""]

    async def test_astream_events_of_a_chain(self, llm: OpenAICompatibleLLM) -> None:
        """prompt | llm under astream_events(v2) streams the model's chunks and its end."""
        chain = PromptTemplate.from_template("Say {x}") | llm
        events = [e async for e in chain.astream_events({"x": "hi there"}, version="v2")]
        chunks = [e["data"]["chunk"].text for e in events if e["event"] == "on_llm_stream"]
        assert "".join(chunks) == "Say hi there"
        chain_chunks = [
            e["data"]["chunk"]
            for e in events
            if e["event"] == "on_chain_stream" and e["name"] == "RunnableSequence"
        ]
        assert "".join(chain_chunks) == "Say hi there"
        (end,) = [e for e in events if e["event"] == "on_llm_end"]
        info = end["data"]["output"]["generations"][0][0]["generation_info"]
        assert info["finish_reason"] == "stop"
        assert info["token_usage"]["completion_tokens"] == 3

    def test_request_payload_and_headers(self, openai_server: OpenAIServer) -> None:
        """The body carries model, prompt, set sampling params, stop; the key is a bearer."""
        model = make_llm(openai_server, max_tokens=50, temperature=0.2, top_p=0.9, seed=7)
        model.invoke("hi", stop=["\n"])
        (request,) = openai_server.completion_requests
        assert request.body == {
            "model": "test-model",
            "prompt": "hi",
            "max_tokens": 50,
            "temperature": 0.2,
            "top_p": 0.9,
            "seed": 7,
            "stop": ["\n"],
        }
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert request.headers["content-type"] == "application/json"
        model.close()

    def test_per_call_parameters_and_model_kwargs(self, openai_server: OpenAIServer) -> None:
        """invoke(..., temperature=...) overrides the field; model_kwargs add body params."""
        model = make_llm(openai_server, temperature=0.2, model_kwargs={"top_k": 40})
        model.invoke("hi", temperature=0.9)
        body = openai_server.completion_requests[0].body
        assert body["temperature"] == 0.9
        assert body["top_k"] == 40
        model.close()

    def test_stream_request_asks_for_usage(
        self, llm: OpenAICompatibleLLM, openai_server: OpenAIServer
    ) -> None:
        """Streams ask for SSE and a usage chunk."""
        list(llm.stream("hi"))
        request = openai_server.completion_requests[0]
        assert request.body["stream"] is True
        assert request.body["stream_options"] == {"include_usage": True}
        assert request.headers["accept"] == "text/event-stream"

    def test_no_api_key_sends_no_authorization(
        self, openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without a key (and no OPENAI_API_KEY) no Authorization header is sent."""
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        model = OpenAICompatibleLLM(base_url=openai_server.base_url, model="m")
        assert model.api_key is None
        model.invoke("hi")
        assert "authorization" not in openai_server.completion_requests[0].headers
        model.close()

    def test_max_tokens_gives_length(self, openai_server: OpenAIServer) -> None:
        """max_tokens is honoured and finish_reason says length."""
        model = make_llm(openai_server, max_tokens=2)
        result = model.generate(["one two three four"])
        generation = result.generations[0][0]
        assert generation.text == "one two"
        assert generation.generation_info is not None
        assert generation.generation_info["finish_reason"] == "length"
        model.close()


class TestGenerationInfo:
    """finish_reason, response model, id, usage and fingerprint on every path."""

    @PATHS
    async def test_every_path(self, openai_server: OpenAIServer, run: Runner) -> None:
        """The server's numbers and names arrive in generation_info, streamed or not."""
        openai_server.usage = (11, 5)
        openai_server.response_model = "served-model-2026-11-26"
        model = make_llm(openai_server)
        text, info = await run(model, "hello there", None)
        assert text == "hello there"
        assert info["finish_reason"] == "stop"
        assert info["model_name"] == "served-model-2026-11-26"
        assert info["id"].startswith("cmpl-")
        assert info["token_usage"] == {
            "prompt_tokens": 11,
            "completion_tokens": 5,
            "total_tokens": 16,
        }
        assert info["system_fingerprint"] == "fp_loopback"
        await model.aclose()

    @PATHS
    async def test_without_usage_or_fingerprint(
        self, openai_server: OpenAIServer, run: Runner
    ) -> None:
        """When the server reports no usage, token_usage is absent rather than invented."""
        openai_server.system_fingerprint = None
        model = make_llm(openai_server, stream_usage=False)
        openai_server.usage = None
        _, info = await run(model, "hi", None)
        assert "system_fingerprint" not in info
        if "stream_options" in (openai_server.completion_requests[0].body or {}):
            pytest.fail("stream_options sent although stream_usage=False")
        if openai_server.completion_requests[0].body.get("stream"):
            assert "token_usage" not in info
        await model.aclose()

    def test_llm_output_of_a_batch(
        self, llm: OpenAICompatibleLLM, openai_server: OpenAIServer
    ) -> None:
        """Non-streamed results also sum the usage into llm_output."""
        openai_server.usage = (3, 2)
        result = llm.generate(["a", "b"])
        assert result.llm_output == {
            "model_name": "test-model",
            "token_usage": {"prompt_tokens": 6, "completion_tokens": 4, "total_tokens": 10},
        }


class TestCallbacks:
    """on_llm_new_token comes before each chunk is handed to the consumer."""

    def test_stream_token_before_yield(self, llm: OpenAICompatibleLLM) -> None:
        """When token i is reported the consumer has seen exactly i chunks."""
        seen: list[str] = []
        rec = _Recorder(seen)
        for chunk in llm.stream("a b c", config={"callbacks": [rec]}):
            seen.append(chunk)
        assert rec.tokens == [("a", 0), (" b", 1), (" c", 2), ("", 3)]
        assert seen == ["a", " b", " c", ""]

    async def test_astream_token_before_yield(self, llm: OpenAICompatibleLLM) -> None:
        """Same on the async path."""
        seen: list[str] = []
        rec = _Recorder(seen)
        async for chunk in llm.astream("a b c", config={"callbacks": [rec]}):
            seen.append(chunk)
        assert rec.tokens == [("a", 0), (" b", 1), (" c", 2), ("", 3)]


class TestStop:
    """Output ends after the earliest stop sequence, kept, whatever the server does."""

    @PATHS
    @pytest.mark.parametrize("strip", [True, False], ids=["server-strips", "server-keeps"])
    async def test_stop_kept(self, openai_server: OpenAIServer, run: Runner, strip: bool) -> None:
        """The stop sequence is in the output whether or not the server stripped it."""
        openai_server.strip_stop = strip
        model = make_llm(openai_server)
        text, info = await run(model, PROMPT, ["."])
        assert text == "hello world."
        assert info["finish_reason"] == "stop"
        assert openai_server.completion_requests[0].body["stop"] == ["."]
        await model.aclose()

    @PATHS
    async def test_server_ignoring_stop_is_cut_client_side(
        self, openai_server: OpenAIServer, run: Runner
    ) -> None:
        """A server without stop support still gives the cut answer, on every path."""
        openai_server.honour_stop = False
        model = make_llm(openai_server)
        text, info = await run(model, PROMPT, [" wor"])
        assert text == "hello wor"
        assert info["finish_reason"] == "stop"
        await model.aclose()

    def test_stream_ends_at_the_stop_sequence(self, openai_server: OpenAIServer) -> None:
        """The stream's last text chunk ends with the stop sequence."""
        openai_server.honour_stop = False
        model = make_llm(openai_server)
        chunks = list(model.stream("one two. three four", stop=["."]))
        assert chunks == ["one", " two", ".", ""]
        model.close()

    @PATHS
    async def test_several_sequences_are_not_guessed(
        self, openai_server: OpenAIServer, run: Runner
    ) -> None:
        """With several stop sequences and no stop_reason the stripped one is unknowable."""
        model = make_llm(openai_server)
        text, _ = await run(model, PROMPT, [".", "!"])
        assert text == "hello world"
        await model.aclose()

    @PATHS
    async def test_stop_reason_names_the_sequence(
        self, openai_server: OpenAIServer, run: Runner
    ) -> None:
        """A server reporting stop_reason (vLLM) lets the right sequence be restored."""
        openai_server.report_stop_reason = True
        model = make_llm(openai_server)
        text, _ = await run(model, "hello world! bye. x", [".", "!"])
        assert text == "hello world!"
        await model.aclose()

    async def test_natural_end_with_stop_reason_null_appends_nothing(
        self, openai_server: OpenAIServer
    ) -> None:
        """stop_reason null means the model ended on its own: nothing is appended."""
        openai_server.report_stop_reason = True
        model = make_llm(openai_server)
        assert await model.ainvoke("no full stop here", stop=["."]) == "no full stop here"
        await model.aclose()

    def test_length_appends_nothing(self, openai_server: OpenAIServer) -> None:
        """finish_reason length never gets a stop sequence appended."""
        model = make_llm(openai_server, max_tokens=2)
        assert model.invoke(PROMPT, stop=["."]) == "hello world"
        model.close()

    def test_restore_can_be_turned_off(self, openai_server: OpenAIServer) -> None:
        """restore_stripped_stop=False returns what the server sent."""
        model = make_llm(openai_server, restore_stripped_stop=False)
        assert model.invoke(PROMPT, stop=["."]) == "hello world"
        assert "".join(model.stream(PROMPT, stop=["."])) == "hello world"
        model.close()


class TestRetries:
    """Backoff on connection errors, 429 and 5xx, honouring Retry-After; never on 4xx."""

    def test_429_retry_after_is_honoured(self, openai_server: OpenAIServer) -> None:
        """The wait is the server's Retry-After, logged as llm.retry."""
        openai_server.script(Fault.http(429, retry_after="1"))
        model = make_llm(openai_server)
        with structlog.testing.capture_logs() as logs:
            assert model.invoke("hi") == "hi"
        first, second = openai_server.completion_requests
        assert second.at - first.at >= 1.0
        (retry,) = [e for e in logs if e["event"] == "llm.retry"]
        assert retry["delay_s"] == 1.0
        assert retry["status_code"] == 429
        model.close()

    async def test_retry_after_is_capped(self, openai_server: OpenAIServer) -> None:
        """A huge Retry-After is capped at max_retry_after."""
        openai_server.script(Fault.http(429, retry_after="3600"))
        model = make_llm(openai_server, max_retry_after=0.05)
        with structlog.testing.capture_logs() as logs:
            assert await model.ainvoke("hi") == "hi"
        assert [e["delay_s"] for e in logs if e["event"] == "llm.retry"] == [0.05]
        await model.aclose()

    @PATHS
    async def test_503_then_success(self, openai_server: OpenAIServer, run: Runner) -> None:
        """5xx answers are retried with backoff until one succeeds."""
        openai_server.script(Fault.http(503), Fault.http(500))
        model = make_llm(openai_server)
        text, _ = await run(model, "hi there", None)
        assert text == "hi there"
        assert len(openai_server.completion_requests) == 3
        await model.aclose()

    @PATHS
    async def test_400_is_not_retried(self, openai_server: OpenAIServer, run: Runner) -> None:
        """A 400 fails at once with the status, URL and the server's message."""
        openai_server.script(Fault.http(400))
        model = make_llm(openai_server)
        with pytest.raises(UpstreamHTTPError) as info:
            await run(model, "hi", None)
        assert len(openai_server.completion_requests) == 1
        assert info.value.status_code == 400
        assert info.value.url == openai_server.url
        assert "scripted failure 400" in info.value.body
        assert "HTTP 400" in str(info.value)
        await model.aclose()

    async def test_5xx_retries_run_out(self, openai_server: OpenAIServer) -> None:
        """After max_retries the last error is raised, saying how many attempts were made."""
        openai_server.script(*[Fault.http(503)] * 3)
        model = make_llm(openai_server, max_retries=2)
        with pytest.raises(UpstreamHTTPError, match="after 3 attempts") as info:
            await model.ainvoke("hi")
        assert info.value.status_code == 503
        assert len(openai_server.completion_requests) == 3
        await model.aclose()

    def test_429_retries_run_out(self, openai_server: OpenAIServer) -> None:
        """Persistent 429 ends in RateLimitError."""
        openai_server.script(*[Fault.http(429, retry_after="0")] * 2)
        model = make_llm(openai_server, max_retries=1)
        with pytest.raises(RateLimitError, match="rate limiting"):
            model.invoke("hi")
        assert len(openai_server.completion_requests) == 2
        model.close()

    def test_max_retries_zero(self, openai_server: OpenAIServer) -> None:
        """max_retries=0 makes exactly one attempt."""
        openai_server.script(Fault.http(503))
        model = make_llm(openai_server, max_retries=0)
        with pytest.raises(UpstreamHTTPError):
            model.invoke("hi")
        assert len(openai_server.completion_requests) == 1
        model.close()

    @PATHS
    async def test_connection_closed_before_answer_is_retried(
        self, openai_server: OpenAIServer, run: Runner
    ) -> None:
        """A connection dropped before any answer counts as a connection error: retried."""
        openai_server.script(Fault.hang_up_now())
        model = make_llm(openai_server)
        text, _ = await run(model, "hi", None)
        assert text == "hi"
        assert len(openai_server.completion_requests) == 2
        await model.aclose()

    def test_stream_dropped_before_first_token_is_retried(
        self, openai_server: OpenAIServer
    ) -> None:
        """A stream that breaks before yielding anything is retried."""
        openai_server.script(Fault.drop(after_tokens=0))
        model = make_llm(openai_server)
        assert list(model.stream("a b")) == ["a", " b", ""]
        assert len(openai_server.completion_requests) == 2
        model.close()


class TestErrors:
    """Failures raise clear errors from langchain_otel.exceptions."""

    @PATHS
    async def test_401(self, openai_server: OpenAIServer, run: Runner) -> None:
        """401 → AuthenticationError naming the base URL, not retried."""
        openai_server.script(Fault.http(401))
        model = make_llm(openai_server)
        with pytest.raises(AuthenticationError) as info:
            await run(model, "hi", None)
        assert openai_server.base_url in str(info.value)
        assert "api_key" in str(info.value)
        assert len(openai_server.completion_requests) == 1
        await model.aclose()

    def test_403(self, llm: OpenAICompatibleLLM, openai_server: OpenAIServer) -> None:
        """403 is an authentication error too."""
        openai_server.script(Fault.http(403))
        with pytest.raises(AuthenticationError):
            llm.invoke("hi")

    @PATHS
    async def test_unreachable(self, run: Runner) -> None:
        """Nothing listening → LLMConnectionError naming the URL, after the retries."""
        with OpenAIServer() as server:
            base_url = server.base_url
        model = OpenAICompatibleLLM(base_url=base_url, model="m", max_retries=1, retry_backoff=0.01)
        with (
            structlog.testing.capture_logs() as logs,
            pytest.raises(LLMConnectionError, match="cannot connect to") as info,
        ):
            await run(model, "hi", None)
        assert f"{base_url}/completions" in str(info.value)
        assert [e["event"] for e in logs] == ["llm.retry"]
        await model.aclose()

    @PATHS
    async def test_non_json(self, openai_server: OpenAIServer, run: Runner) -> None:
        """An HTML page instead of JSON/SSE → LLMResponseError quoting it."""
        openai_server.script(Fault.non_json())
        model = make_llm(openai_server)
        with pytest.raises(LLMResponseError, match="502 Bad Gateway"):
            await run(model, "hi", None)
        await model.aclose()

    def test_json_that_is_not_a_completion(
        self, llm: OpenAICompatibleLLM, openai_server: OpenAIServer
    ) -> None:
        """JSON without choices → LLMResponseError naming what was received."""
        openai_server.script(Fault(status=200, body='{"object": "list", "data": []}'))
        with pytest.raises(LLMResponseError, match="choices"):
            llm.invoke("hi")

    def test_error_status_with_html_body(
        self, llm: OpenAICompatibleLLM, openai_server: OpenAIServer
    ) -> None:
        """An error page body is quoted, truncated, in the error."""
        openai_server.script(*[Fault.non_json("<html>" + "x" * 2000, status=502)] * 3)
        with pytest.raises(UpstreamHTTPError) as info:
            llm.invoke("hi")
        assert info.value.status_code == 502
        assert len(info.value.body) == 500
        assert "more characters" in str(info.value)

    @pytest.mark.parametrize("run", [run_stream, run_astream], ids=["stream", "astream"])
    async def test_malformed_sse(self, openai_server: OpenAIServer, run: Runner) -> None:
        """A data line that is not JSON → LLMResponseError quoting it, not retried."""
        openai_server.script(Fault.malformed_sse(after_tokens=1))
        model = make_llm(openai_server)
        with pytest.raises(LLMResponseError, match=r"malformed SSE.*broken"):
            await run(model, "a b c", None)
        assert len(openai_server.completion_requests) == 1
        await model.aclose()

    async def test_stream_answered_with_json(self, openai_server: OpenAIServer) -> None:
        """A 200 JSON answer to a stream request → LLMResponseError naming the content type."""
        openai_server.script(Fault(status=200, body='{"choices": []}'))
        model = make_llm(openai_server)
        with pytest.raises(LLMResponseError, match="application/json"):
            await _collect(model.astream("hi"))
        await model.aclose()

    @pytest.mark.parametrize("run", [run_stream, run_astream], ids=["stream", "astream"])
    async def test_dropped_mid_stream(self, openai_server: OpenAIServer, run: Runner) -> None:
        """A connection lost after tokens → LLMConnectionError, never retried."""
        openai_server.script(Fault.drop(after_tokens=2))
        model = make_llm(openai_server)
        with pytest.raises(LLMConnectionError, match="mid-stream after 2 chunk"):
            await run(model, "a b c d", None)
        assert len(openai_server.completion_requests) == 1
        await model.aclose()

    async def test_dropped_mid_stream_keeps_what_was_yielded(
        self, openai_server: OpenAIServer
    ) -> None:
        """The consumer keeps the chunks it got before the failure."""
        openai_server.script(Fault.drop(after_tokens=2))
        model = make_llm(openai_server)
        got: list[str] = []

        async def consume() -> None:
            async for chunk in model.astream("a b c d"):
                got.append(chunk)

        with pytest.raises(LLMConnectionError):
            await consume()
        assert got == ["a", " b"]
        await model.aclose()

    @PATHS
    async def test_timeout_before_answer(self, openai_server: OpenAIServer, run: Runner) -> None:
        """A server stalling past the timeout → LLMTimeoutError, not retried."""
        openai_server.script(Fault.stalled(3.0))
        model = make_llm(openai_server, timeout=0.2)
        with pytest.raises(LLMTimeoutError, match=r"timeout of 0\.2 s"):
            await run(model, "hi", None)
        assert len(openai_server.completion_requests) == 1
        await model.aclose()

    @pytest.mark.parametrize("run", [run_stream, run_astream], ids=["stream", "astream"])
    async def test_stall_mid_stream(self, openai_server: OpenAIServer, run: Runner) -> None:
        """A stream that stalls between tokens → LLMTimeoutError saying how far it got."""
        openai_server.script(Fault.stalled(3.0, after_tokens=1))
        model = make_llm(openai_server, timeout=0.2)
        with pytest.raises(LLMTimeoutError, match="after 1 chunk"):
            await run(model, "a b c", None)
        await model.aclose()

    def test_wrong_path_gives_404_advice(self, openai_server: OpenAIServer) -> None:
        """A base_url without /v1 → 404 whose message says how to fix base_url."""
        model = make_llm(openai_server, base_url=openai_server.base_url.removesuffix("/v1"))
        with pytest.raises(UpstreamHTTPError, match="base_url") as info:
            model.invoke("hi")
        assert info.value.status_code == 404
        model.close()

    def test_error_mid_stream_event(
        self, llm: OpenAICompatibleLLM, openai_server: OpenAIServer
    ) -> None:
        """An error object sent as an SSE event → LLMResponseError with its message."""
        body = 'data: {"error": {"message": "model overloaded"}}\n\n'
        openai_server.script(Fault(status=200, body=body, content_type="text/event-stream"))
        with pytest.raises(LLMResponseError, match="model overloaded"):
            list(llm.stream("hi"))

    def test_stream_without_done(
        self, llm: OpenAICompatibleLLM, openai_server: OpenAIServer
    ) -> None:
        """A stream that ends without finish_reason or [DONE] is reported, not hidden."""
        body = 'data: {"choices": [{"text": "partial", "index": 0}]}\n\n'
        openai_server.script(Fault(status=200, body=body, content_type="text/event-stream"))
        with pytest.raises(LLMResponseError, match="without a finish_reason"):
            list(llm.stream("hi"))


class TestValidation:
    """Invalid constructor arguments fail at construction with pydantic's error."""

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"base_url": "localhost:8000/v1"},
            {"base_url": "ftp://host/v1"},
            {"base_url": "http://user:pw@host/v1"},
            {"model": ""},
            {"temperature": 3.0},
            {"top_p": 1.5},
            {"max_tokens": 0},
            {"timeout": 0},
            {"max_retries": -1},
            {"max_connections": 0},
        ],
    )
    def test_invalid(self, kwargs: dict[str, Any]) -> None:
        """Each bad value raises ValidationError naming the field."""
        options = {"base_url": "http://127.0.0.1:1/v1", "model": "m", **kwargs}
        with pytest.raises(ValidationError) as info:
            OpenAICompatibleLLM(**options)
        assert next(iter(kwargs)) in str(info.value)

    def test_missing_required(self) -> None:
        """base_url and model are required."""
        with pytest.raises(ValidationError, match="model"):
            OpenAICompatibleLLM(base_url="http://h/v1")  # type: ignore[call-arg]

    def test_trailing_slash_is_dropped(self) -> None:
        """base_url is normalised."""
        assert OpenAICompatibleLLM(base_url="http://h/v1/", model="m").base_url == "http://h/v1"


class TestDescription:
    """What the telemetry handler reads: _llm_type, identifying and LangSmith params."""

    def test_identifying_params(self) -> None:
        """model_name, base_url and only the sampling params that are set."""
        model = OpenAICompatibleLLM(
            base_url="http://10.0.0.5:8000/v1", model="llama", max_tokens=10, top_p=0.5
        )
        assert model._llm_type == "openai_compatible"
        assert dict(model._identifying_params) == {
            "model_name": "llama",
            "base_url": "http://10.0.0.5:8000/v1",
            "max_tokens": 10,
            "top_p": 0.5,
        }

    def test_invocation_params_reach_callbacks(
        self, llm: OpenAICompatibleLLM, openai_server: OpenAIServer
    ) -> None:
        """on_llm_start gets base_url and model_name in invocation_params."""
        seen: list[dict[str, Any]] = []

        class _Start(BaseCallbackHandler):
            def on_llm_start(self, serialized: Any, prompts: Any, **kwargs: Any) -> None:
                seen.append({**kwargs["invocation_params"], **kwargs["metadata"]})

        llm.invoke("hi", config={"callbacks": [_Start()]})
        (params,) = seen
        assert params["base_url"] == openai_server.base_url
        assert params["model_name"] == "test-model"
        assert params["ls_provider"] == "openai_compatible"
        assert params["ls_model_name"] == "test-model"

    @pytest.mark.parametrize(
        ("base_url", "provider", "expected"),
        [
            ("https://api.openai.com/v1", None, "openai"),
            ("https://api.openai.com/v1", "vllm", "openai"),
            ("http://gpu-box:8000/v1", "vllm", "vllm"),
            ("http://gpu-box:8000/v1", None, "openai_compatible"),
        ],
    )
    def test_ls_provider(self, base_url: str, provider: str | None, expected: str) -> None:
        """api.openai.com is openai; otherwise the provider field, else openai_compatible."""
        model = OpenAICompatibleLLM(base_url=base_url, model="m", provider=provider)
        params = model._get_ls_params(stop=["x"], temperature=0.3)
        assert params["ls_provider"] == expected
        assert params["ls_model_name"] == "m"
        assert params["ls_model_type"] == "llm"
        assert params["ls_temperature"] == 0.3
        assert params["ls_stop"] == ["x"]


class TestSecrets:
    """The key never shows up anywhere but the Authorization header."""

    def test_from_environment(
        self, openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """OPENAI_API_KEY is used when api_key is not given."""
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        model = OpenAICompatibleLLM(base_url=openai_server.base_url, model="m")
        model.invoke("hi")
        assert openai_server.completion_requests[0].headers["authorization"] == f"Bearer {KEY}"
        model.close()

    def test_not_in_representations(self, llm: OpenAICompatibleLLM) -> None:
        """repr, str, model_dump(_json), dict(), dumps() and params never contain it."""
        texts = [
            repr(llm),
            str(llm),
            str(llm.model_dump()),
            llm.model_dump_json(),
            json.dumps(llm.asdict()),
            dumps(llm),
            str(llm._identifying_params),
            str(llm._get_ls_params()),
        ]
        for text in texts:
            assert KEY not in text

    async def test_not_in_errors_or_logs(self, openai_server: OpenAIServer) -> None:
        """Errors (even when a proxy echoes the header) and retry logs never contain it."""
        openai_server.script(
            Fault.http(503, echo_authorization=True),
            Fault.http(401, echo_authorization=True),
        )
        model = make_llm(openai_server)
        with (
            structlog.testing.capture_logs() as logs,
            pytest.raises(AuthenticationError) as info,
        ):
            await model.ainvoke("hi")
        error = info.value
        assert "authorization: Bearer **********" in error.body  # the echo was masked
        for text in (str(error), repr(error), error.body, str(error.__cause__), str(logs)):
            assert KEY not in text
        await model.aclose()


class TestPool:
    """One instance, one pool: concurrent calls share connections; clients close cleanly."""

    async def test_300_concurrent_astreams_share_the_pool(
        self, openai_server: OpenAIServer
    ) -> None:
        """300 streams over at most 10 connections, all answered correctly."""
        openai_server.time_per_token = 0.001
        model = make_llm(openai_server, max_connections=10, timeout=30.0)

        async def one(i: int) -> str:
            return "".join([c async for c in model.astream(f"stream {i} says hi")])

        results = await asyncio.gather(*(one(i) for i in range(300)))
        assert results == [f"stream {i} says hi" for i in range(300)]
        assert len(openai_server.completion_requests) == 300
        assert openai_server.max_open_connections <= 10  # the pool's bound
        # Reused, not one per request (a loaded machine may let a few idle ones expire).
        assert openai_server.total_connections <= 30
        await model.aclose()
        assert await asyncio.to_thread(openai_server.wait_until_idle)

    @pytest.mark.stress
    async def test_2000_concurrent_astreams(self, openai_server: OpenAIServer) -> None:
        """2000 streams over at most 50 connections."""
        # The last of 2000 queued streams waits for a free connection for most of the run:
        # the pool wait is unbounded here, reads keep their 120 s bound.
        model = make_llm(openai_server, max_connections=50, timeout=httpx.Timeout(120.0, pool=None))

        async def one(i: int) -> str:
            return "".join([c async for c in model.astream(f"stream {i} says hi")])

        results = await asyncio.gather(*(one(i) for i in range(2000)))
        assert results == [f"stream {i} says hi" for i in range(2000)]
        assert openai_server.max_open_connections <= 50  # the pool's bound
        # Reused, not one per request: at least 4 requests per connection on average. A
        # connection the pool finds expired or closed is replaced (226 over 2000 requests
        # in one fresh-clone CI run, under 200 in the others), so this is not an exact count.
        assert openai_server.total_connections <= 500
        await model.aclose()

    def test_sync_calls_reuse_one_connection(
        self, llm: OpenAICompatibleLLM, openai_server: OpenAIServer
    ) -> None:
        """Five invokes and two streams, one connection."""
        for _ in range(5):
            llm.invoke("hi")
        list(llm.stream("hi"))
        list(llm.stream("hi", stop=["h"]))
        assert openai_server.total_connections == 1

    def test_close_closes_connections(self, openai_server: OpenAIServer) -> None:
        """close() releases the connections; the closed model refuses calls clearly."""
        model = make_llm(openai_server)
        model.invoke("hi")
        assert openai_server.open_connections == 1
        model.close()
        assert openai_server.wait_until_idle()
        with pytest.raises(LLMError, match="closed"):
            model.invoke("hi")

    async def test_async_context_manager(self, openai_server: OpenAIServer) -> None:
        """async with closes the async client of the loop."""
        async with make_llm(openai_server) as model:
            assert await model.ainvoke("hi") == "hi"
        assert await asyncio.to_thread(openai_server.wait_until_idle)
        with pytest.raises(LLMError, match="closed"):
            await model.ainvoke("hi")

    def test_sync_context_manager(self, openai_server: OpenAIServer) -> None:
        """with closes the sync client."""
        with make_llm(openai_server) as model:
            assert model.invoke("hi") == "hi"
        assert openai_server.wait_until_idle()

    async def test_consumer_stopping_early(self, openai_server: OpenAIServer) -> None:
        """Breaking out of a stream closes its response; the model keeps working."""
        openai_server.time_per_token = 0.01
        model = make_llm(openai_server)
        stream = model.astream("a b c d e f g h")
        async for _ in stream:
            break
        await stream.aclose()  # type: ignore[attr-defined]
        assert await model.ainvoke("ok") == "ok"
        await model.aclose()

    def test_deepcopy_gets_its_own_pool(self, openai_server: OpenAIServer) -> None:
        """A deep copy works, has its own client, and closing one leaves the other usable."""
        model = make_llm(openai_server, model_kwargs={"top_k": 4})
        model.invoke("hi")
        clone = copy.deepcopy(model)
        model.close()
        assert clone.invoke("hi") == "hi"
        assert clone.model_kwargs == {"top_k": 4}
        assert clone.model_kwargs is not model.model_kwargs
        assert openai_server.total_connections == 2
        clone.close()

    def test_one_client_per_event_loop(self, openai_server: OpenAIServer) -> None:
        """Successive asyncio.run calls each get a working client."""
        model = make_llm(openai_server)

        async def call() -> str:
            return await model.ainvoke("hi")

        assert asyncio.run(call()) == "hi"
        assert asyncio.run(call()) == "hi"
        model.close()


class _CountingExecutor(concurrent.futures.ThreadPoolExecutor):
    """A default executor that counts what is handed to it."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.submitted = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


class TestNativeAsync:
    """The async paths are native: no thread-pool fallback, no thread hop."""

    def test_overrides(self) -> None:
        """_acall and _astream are the model's own."""
        assert OpenAICompatibleLLM._acall is not LLM._acall
        assert OpenAICompatibleLLM._astream is not LLM._astream
        assert OpenAICompatibleLLM._agenerate is not LLM._agenerate

    async def test_no_thread_hop(self, openai_server: OpenAIServer) -> None:
        """ainvoke, abatch, astream and a retry never use the loop's executor or threads."""
        executor = _CountingExecutor()
        asyncio.get_running_loop().set_default_executor(executor)
        openai_server.script(Fault.http(503))
        model = make_llm(openai_server)
        rec = _Recorder()
        assert await model.ainvoke("hi", config={"callbacks": [rec]}) == "hi"
        assert await model.abatch(["a", "b"]) == ["a", "b"]
        async for _ in model.astream("a b", config={"callbacks": [rec]}):
            pass
        await model.aclose()
        assert executor.submitted == 0
        assert set(rec.threads) == {threading.get_ident()}


async def _collect(stream: AsyncIterator[str]) -> list[str]:
    return [chunk async for chunk in stream]


def test_model_paths_run_under_trio(openai_server: OpenAIServer) -> None:
    """_acall/_astream and the retry sleep need no asyncio (anyio): they run under trio."""
    trio = pytest.importorskip("trio")
    openai_server.script(Fault.http(503))
    model = make_llm(openai_server)

    async def main() -> tuple[str, list[str]]:
        text = await model._acall("hello trio")
        chunks = [c.text async for c in model._astream("a b")]
        await model.aclose()
        return text, chunks

    assert trio.run(main) == ("hello trio", ["a", " b", ""])
    assert len(openai_server.completion_requests) == 3
