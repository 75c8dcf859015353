"""The loopback OpenAI server itself, driven with plain httpx: what other suites rely on."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support import Fault, OpenAIServer


def _events(response: httpx.Response) -> list[Any]:
    datas = [line[len("data: ") :] for line in response.text.split("\n") if line]
    return [d if d == "[DONE]" else json.loads(d) for d in datas]


class TestAnswers:
    """Deterministic OpenAI-shaped answers."""

    def test_json_answer(self, openai_server: OpenAIServer) -> None:
        """A legacy completions object echoing the prompt, with usage."""
        openai_server.response_model = "served-1"
        openai_server.usage = (11, 5)
        answer = httpx.post(openai_server.url, json={"model": "m", "prompt": "hi there"}).json()
        assert answer["object"] == "text_completion"
        assert answer["model"] == "served-1"
        assert answer["id"] == "cmpl-1"
        assert answer["choices"] == [
            {"text": "hi there", "index": 0, "logprobs": None, "finish_reason": "stop"}
        ]
        assert answer["usage"] == {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}
        assert answer["system_fingerprint"] == "fp_loopback"

    def test_counted_usage_and_fixed_answer(self, openai_server: OpenAIServer) -> None:
        """Without a usage override tokens are counted; answer may be fixed or computed."""
        openai_server.answer = str.upper
        answer = httpx.post(openai_server.url, json={"model": "m", "prompt": "a b, c"}).json()
        assert answer["choices"][0]["text"] == "A B, C"
        assert answer["usage"]["prompt_tokens"] == 4
        assert answer["model"] == "m"

    def test_sse_stream_with_usage(self, openai_server: OpenAIServer) -> None:
        """Token events, a finish event, a usage event, then [DONE]."""
        body = {"model": "m", "prompt": "a b", "stream": True}
        body["stream_options"] = {"include_usage": True}
        response = httpx.post(openai_server.url, json=body)
        assert response.headers["content-type"] == "text/event-stream"
        events = _events(response)
        assert [e["choices"][0]["text"] for e in events[:2]] == ["a", " b"]
        assert events[2]["choices"][0]["finish_reason"] == "stop"
        assert events[3]["choices"] == []
        assert events[3]["usage"]["completion_tokens"] == 2
        assert all(e["usage"] is None for e in events[:3])
        assert events[4] == "[DONE]"

    def test_sse_stream_without_usage(self, openai_server: OpenAIServer) -> None:
        """No usage chunk unless asked for."""
        body = {"model": "m", "prompt": "a b", "stream": True}
        events = _events(httpx.post(openai_server.url, json=body))
        assert len(events) == 4
        assert "usage" not in events[0]

    @pytest.mark.parametrize(
        ("strip", "stop_reason", "text", "choice_stop_reason"),
        [(True, False, "x y", None), (False, True, "x y.", ".")],
    )
    def test_stop(
        self,
        openai_server: OpenAIServer,
        strip: bool,
        stop_reason: bool,
        text: str,
        choice_stop_reason: str | None,
    ) -> None:
        """Stop sequences end the answer, stripped or kept; vLLM's stop_reason optional."""
        openai_server.strip_stop = strip
        openai_server.report_stop_reason = stop_reason
        body = {"model": "m", "prompt": "x y. z", "stop": ["."]}
        choice = httpx.post(openai_server.url, json=body).json()["choices"][0]
        assert choice["text"] == text
        assert choice.get("stop_reason") == choice_stop_reason

    def test_unknown_route(self, openai_server: OpenAIServer) -> None:
        """Other paths are 404 with an OpenAI-style error."""
        response = httpx.get(f"{openai_server.base_url}/models")
        assert response.status_code == 404
        assert "error" in response.json()


class TestScriptAndObservations:
    """Faults are consumed in order; requests and connections are observable."""

    def test_faults_in_order(self, openai_server: OpenAIServer) -> None:
        """Scripted faults apply to the next requests, then normal answers resume."""
        openai_server.script(Fault.http(503, retry_after="2"), None, Fault.http(400))
        with httpx.Client() as client:
            statuses = [
                client.post(openai_server.url, json={"model": "m", "prompt": "x"}) for _ in range(4)
            ]
        assert [r.status_code for r in statuses] == [503, 200, 400, 200]
        assert statuses[0].headers["retry-after"] == "2"

    def test_request_log_and_connections(self, openai_server: OpenAIServer) -> None:
        """Headers and bodies are recorded; keep-alive connections are counted."""
        with httpx.Client(headers={"Authorization": "Bearer k"}) as client:
            for _ in range(3):
                client.post(openai_server.url, json={"model": "m", "prompt": "x"})
            assert openai_server.open_connections == 1
        assert openai_server.wait_until_idle()
        assert openai_server.total_connections == 1
        assert openai_server.max_open_connections == 1
        assert [r.body["prompt"] for r in openai_server.completion_requests] == ["x"] * 3
        assert openai_server.requests[0].headers["authorization"] == "Bearer k"

    def test_hang_up(self, openai_server: OpenAIServer) -> None:
        """hang_up_now closes the connection without an answer."""
        openai_server.script(Fault.hang_up_now())
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(openai_server.url, json={"model": "m", "prompt": "x"})

    def test_drop_mid_stream(self, openai_server: OpenAIServer) -> None:
        """drop aborts a stream after the given number of token events."""
        openai_server.script(Fault.drop(after_tokens=1))
        body = {"model": "m", "prompt": "a b c", "stream": True}
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(openai_server.url, json=body)

    def test_delays(self, openai_server: OpenAIServer) -> None:
        """time_to_first_token delays the first event."""
        openai_server.time_to_first_token = 0.2
        body = {"model": "m", "prompt": "a", "stream": True}
        response = httpx.post(openai_server.url, json=body)
        assert response.elapsed.total_seconds() >= 0.2
