"""The pure parts of OpenAICompatibleLLM: wire format, stop rule, retry policy."""

from __future__ import annotations

import email.utils
import json
import ssl
from typing import Any

import httpx
import pytest

from langchain_otel.exceptions import (
    LLMConnectionError,
    LLMResponseError,
    LLMTimeoutError,
    RateLimitError,
    UpstreamHTTPError,
)
from langchain_otel.llms import OpenAICompatibleLLM
from langchain_otel.llms._http import (
    RetryPolicy,
    error_for_status,
    is_retryable,
    map_httpx_errors,
    retry_after_seconds,
    ssl_context,
    unused_ssl_context,
)
from langchain_otel.llms._wire import StreamState, parse_completion, stripped_stop

NOW = 1_795_694_400.0  # 2026-11-26 12:00:00 UTC


def _event(text: str | None = None, finish: str | None = None, **extra: Any) -> str:
    choices = (
        []
        if text is None and finish is None
        else [{"text": text or "", "index": 0, "finish_reason": finish}]
    )
    return json.dumps({"id": "cmpl-1", "model": "served", "choices": choices, **extra})


class TestStrippedStop:
    """Which stop sequence to append when the server stripped it."""

    @pytest.mark.parametrize(
        ("text", "stop", "finish", "stop_reason", "expected"),
        [
            ("hello world", ["."], "stop", None, ""),  # vLLM: null → natural end
            ("hello world", ["."], "stop", ".", "."),
            ("hello world", [".", "!"], "stop", "!", "!"),
            ("hello world", ["."], "stop", "?", ""),  # not one we asked for
            ("hello world", ["."], "stop", 50256, ""),  # a stop token id
            ("hello world.", ["."], "stop", ".", ""),  # already there
            ("hello world", ["", "."], "stop", "MISSING", "."),
            ("hello world", [".", "."], "stop", "MISSING", "."),  # duplicates are one
            ("hello world", [], "stop", "MISSING", ""),
            ("hello world", ["."], None, "MISSING", ""),
            ("hello world", ["."], "content_filter", "MISSING", ""),
        ],
    )
    def test_rule(
        self, text: str, stop: list[str], finish: str | None, stop_reason: Any, expected: str
    ) -> None:
        """The documented rule, case by case."""
        if stop_reason == "MISSING":
            assert stripped_stop(text, stop, finish) == expected
        else:
            assert stripped_stop(text, stop, finish, stop_reason) == expected


class TestParseCompletion:
    """JSON answers become Completions, or errors quoting what came."""

    def parse(self, body: Any, stop: list[str] | None = None) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return parse_completion(
            raw,
            url="http://h/v1/completions",
            content_type="application/json",
            stop=stop,
            requested_model="asked",
        )

    def test_fields(self) -> None:
        """Usage is normalised; total computed when missing; model falls back to the request."""
        completion = self.parse(
            {
                "choices": [{"text": "x", "finish_reason": "length"}],
                "usage": {"prompt_tokens": 2, "completion_tokens": 1},
            }
        )
        assert completion.generation_info() == {
            "finish_reason": "length",
            "model_name": "asked",
            "id": None,
            "token_usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3},
        }

    def test_client_side_cut(self) -> None:
        """A server that ignored stop is cut after the earliest stop sequence."""
        completion = self.parse(
            {"choices": [{"text": "a. b! c", "finish_reason": "length"}]}, stop=["!", "."]
        )
        assert completion.text == "a."

    def test_only_choice_zero_counts(self) -> None:
        """Choices are matched by index."""
        completion = self.parse(
            {"choices": [{"text": "second", "index": 1}, {"text": "first", "index": 0}]}
        )
        assert completion.text == "first"

    @pytest.mark.parametrize(
        ("body", "match"),
        [
            (b"<html>oops</html>", "received application/json '<html>oops</html>'"),
            ([1, 2], "expected a JSON object"),
            ({"choices": []}, "choices\\[0\\].text"),
            ({"choices": [{"text": 5}]}, "choices\\[0\\].text"),
            ({"error": {"message": "no such model"}}, "no such model"),
        ],
    )
    def test_errors(self, body: Any, match: str) -> None:
        """Each unusable answer names what was received."""
        with pytest.raises(LLMResponseError, match=match):
            self.parse(body)

    def test_long_bodies_are_truncated(self) -> None:
        """Error messages quote at most 200 characters."""
        with pytest.raises(LLMResponseError) as info:
            self.parse(b"x" * 5000)
        assert "4800 more characters" in str(info.value)
        assert len(str(info.value)) < 600


class TestStreamState:
    """SSE events fold into pieces of text and one final Completion."""

    def test_openai_stream_with_usage(self) -> None:
        """Text pieces, the finish chunk and the usage chunk."""
        state = StreamState(url="u", stop=None, requested_model="asked")
        pieces = [
            state.feed(_event("Hel")),
            state.feed(_event("lo")),
            state.feed(_event("", "stop")),
            state.feed(
                _event(
                    None, usage={"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}
                )
            ),
            state.feed("[DONE]"),
            state.feed(_event("after done")),
        ]
        assert pieces == ["Hel", "lo", "", "", "", ""]
        completion = state.finish()
        assert completion.text == "Hello"
        assert completion.generation_info() == {
            "finish_reason": "stop",
            "model_name": "served",
            "id": "cmpl-1",
            "token_usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16},
        }

    def test_stop_sequence_across_chunks(self) -> None:
        """A stop sequence split over two events still ends the stream, kept."""
        state = StreamState(url="u", stop=["STOP"], requested_model="m")
        assert state.feed(_event("abc ST")) == "abc ST"
        assert state.feed(_event("OP and more")) == "OP"
        assert state.cut
        assert state.feed(_event("ignored")) == ""
        assert state.finish().text == "abc STOP"
        assert state.finish().finish_reason == "stop"

    def test_stripped_stop_comes_as_tail(self) -> None:
        """The restored stop sequence is the final chunk's text."""
        state = StreamState(url="u", stop=["."], requested_model="m")
        state.feed(_event("Hi"))
        state.feed(_event("", "stop"))
        state.feed("[DONE]")
        assert state.tail() == "."
        assert state.finish().text == "Hi."

    def test_malformed(self) -> None:
        """Non-JSON data names what came and after how many chunks."""
        state = StreamState(url="http://h/v1/completions", stop=None, requested_model="m")
        state.feed(_event("a"))
        with pytest.raises(LLMResponseError, match=r"received data: '\{oops' after 1 chunk"):
            state.feed("{oops")

    def test_ended_early(self) -> None:
        """No [DONE] and no finish_reason is an error."""
        state = StreamState(url="u", stop=None, requested_model="m")
        state.feed(_event("a"))
        with pytest.raises(LLMResponseError, match="without a finish_reason"):
            state.finish()


class TestRetryAfter:
    """Retry-After in seconds or as an HTTP date."""

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("3", 3.0),
            (" 1.5 ", 1.5),
            ("-4", 0.0),
            (email.utils.formatdate(NOW + 7, usegmt=True), 7.0),
            (email.utils.formatdate(NOW - 30, usegmt=True), 0.0),
            ("Thu, 26 Nov 2026 12:00:10", None),  # no zone: ambiguous
            ("nan", None),
            ("soon", None),
            ("", None),
            (None, None),
        ],
    )
    def test_values(self, value: str | None, expected: float | None) -> None:
        """Seconds, dates relative to now, garbage ignored."""
        assert retry_after_seconds(value, now=NOW) == expected


class TestRetryPolicy:
    """What is retried, and how long to wait."""

    POLICY = RetryPolicy(max_retries=5, backoff=0.5, backoff_max=4.0, max_retry_after=10.0)

    @pytest.mark.parametrize(
        ("error", "retryable"),
        [
            (LLMConnectionError("x"), True),
            (UpstreamHTTPError("x", status_code=500, url="u"), True),
            (UpstreamHTTPError("x", status_code=503, url="u"), True),
            (RateLimitError("x", status_code=429, url="u"), True),
            (UpstreamHTTPError("x", status_code=400, url="u"), False),
            (UpstreamHTTPError("x", status_code=404, url="u"), False),
            (UpstreamHTTPError("x", status_code=422, url="u"), False),
            (LLMTimeoutError("x"), False),
            (LLMResponseError("x"), False),
        ],
    )
    def test_what_is_retried(self, error: Any, retryable: bool) -> None:
        """Connection errors, 429 and 5xx only."""
        assert is_retryable(error) is retryable
        assert (self.POLICY.delay(error, 0) is not None) is retryable

    def test_exponential_with_jitter_and_ceiling(self) -> None:
        """Attempt n waits between half and all of min(backoff_max, backoff * 2**n)."""
        for attempt, ceiling in enumerate([0.5, 1.0, 2.0, 4.0, 4.0]):
            delays = {self.POLICY.delay(LLMConnectionError("x"), attempt) for _ in range(50)}
            assert all(d is not None and ceiling / 2 <= d <= ceiling for d in delays)
            assert len(delays) > 1  # jittered
        assert self.POLICY.delay(LLMConnectionError("x"), 5) is None

    def test_retry_after_wins_and_is_capped(self) -> None:
        """The server's wait is used as is, up to max_retry_after."""
        error = RateLimitError("x", status_code=429, url="u", retry_after=3.0)
        assert self.POLICY.delay(error, 0) == 3.0
        error.retry_after = 99.0
        assert self.POLICY.delay(error, 0) == 10.0


class TestErrorMapping:
    """httpx errors and HTTP statuses become our exceptions."""

    def _response(self, status: int, body: str = "", **headers: str) -> httpx.Response:
        request = httpx.Request("POST", "http://h/v1/completions")
        return httpx.Response(status, text=body, headers=headers, request=request)

    def test_status_classes(self) -> None:
        """401/403 auth, 429 rate limit (with Retry-After), others upstream errors."""
        args = {"base_url": "http://h/v1", "secret": "sk-x", "attempts": 1}
        auth = error_for_status(self._response(401, "key sk-x is bad"), **args)
        assert type(auth).__name__ == "AuthenticationError"
        assert "sk-x" not in str(auth)
        assert "sk-x" not in auth.body
        limited = error_for_status(self._response(429, **{"Retry-After": "2"}), **args)
        assert isinstance(limited, RateLimitError)
        assert limited.retry_after == 2.0
        server = error_for_status(self._response(502), **{**args, "attempts": 3})
        assert type(server) is UpstreamHTTPError
        assert "after 3 attempts" in str(server)

    @pytest.mark.parametrize(
        ("raised", "expected", "match"),
        [
            (httpx.ConnectError("refused"), LLMConnectionError, "cannot connect"),
            (httpx.ConnectTimeout("slow"), LLMConnectionError, "timed out connecting"),
            (httpx.ReadTimeout("slow"), LLMTimeoutError, "did not answer"),
            (httpx.PoolTimeout("busy"), LLMTimeoutError, "max_connections"),
            (httpx.RemoteProtocolError("gone"), LLMConnectionError, "before it answered"),
            (httpx.ReadError("reset"), LLMConnectionError, "lost"),
            (httpx.DecodingError("gzip"), LLMResponseError, "unusable"),
        ],
    )
    def test_httpx_errors(self, raised: Exception, expected: type, match: str) -> None:
        """Each httpx failure maps to one of ours, naming the URL, with the cause kept."""
        url = "http://h/v1/completions"
        with (
            pytest.raises(expected, match=match) as info,
            map_httpx_errors(url, timeout=1.0, chunks=lambda: 0),
        ):
            raise raised
        assert url in str(info.value)
        assert info.value.__cause__ is raised

    def test_other_exceptions_pass_through(self) -> None:
        """Only httpx errors are translated."""
        with pytest.raises(KeyError), map_httpx_errors("u", timeout=1.0, chunks=lambda: 0):
            raise KeyError("x")


class TestTimeoutField:
    """timeout takes seconds or a full httpx.Timeout."""

    def test_seconds(self) -> None:
        """A number sets read/write/pool; connect_timeout sets connect."""
        llm = OpenAICompatibleLLM(base_url="http://h/v1", model="m", timeout=3, connect_timeout=1)
        assert llm._httpx_timeout == httpx.Timeout(3.0, connect=1.0)

    def test_httpx_timeout(self) -> None:
        """An httpx.Timeout is used as is, and still serializes."""
        timeout = httpx.Timeout(5.0, read=30.0)
        llm = OpenAICompatibleLLM(base_url="http://h/v1", model="m", timeout=timeout)
        assert llm._httpx_timeout is timeout
        assert json.loads(llm.model_dump_json())["timeout"]["read"] == 30.0


class TestTLS:
    """The CA bundle is loaded once per process, at construction, and only for https."""

    def test_https_loads_the_shared_context_at_construction(self) -> None:
        """Two https models share one verifying context, built before any event loop."""
        ssl_context.cache_clear()
        first = OpenAICompatibleLLM(base_url="https://h/v1", model="m")
        assert ssl_context.cache_info().currsize == 1
        second = OpenAICompatibleLLM(base_url="https://other/v1", model="m")
        assert first._ssl_context() is second._ssl_context() is ssl_context()
        assert ssl_context().verify_mode == ssl.CERT_REQUIRED

    def test_plain_http_needs_no_ca_bundle(self) -> None:
        """http:// clients get the cheap context; verify=False is honoured for https."""
        assert OpenAICompatibleLLM(base_url="http://h/v1", model="m")._ssl_context() is (
            unused_ssl_context()
        )
        insecure = OpenAICompatibleLLM(base_url="https://h/v1", model="m", verify=False)
        assert insecure._ssl_context() is False
