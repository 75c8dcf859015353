"""OpenAICompatibleChatModel against a real OpenAI-style server on 127.0.0.1.

Every path, the request body for every message type, tools (streamed deltas aggregated,
invalid calls), structured output, usage and metadata, stop sequences, callback order, the
shared pool, every error class, secret hygiene and bad input from the server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumps
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import LLMResult
from langchain_core.prompts import ChatPromptTemplate
from pydantic import BaseModel, ValidationError

from langchain_otel.exceptions import (
    AuthenticationError,
    LLMConnectionError,
    LLMError,
    LLMResponseError,
    LLMTimeoutError,
    RateLimitError,
    UpstreamHTTPError,
)
from langchain_otel.llms import OpenAICompatibleChatModel
from tests.support import Fault, OpenAIServer

KEY = "sk-chat-DO-NOT-LEAK-9876543210"


def make_chat(server: OpenAIServer, **kwargs: Any) -> OpenAICompatibleChatModel:
    options: dict[str, Any] = {
        "base_url": server.base_url,
        "model": "chat-model",
        "api_key": KEY,
        "retry_backoff": 0.01,
        "retry_backoff_max": 0.05,
        "timeout": 5.0,
    }
    options.update(kwargs)
    return OpenAICompatibleChatModel(**options)


@pytest.fixture
def chat(openai_server: OpenAIServer) -> Iterator[OpenAICompatibleChatModel]:
    model = make_chat(openai_server)
    yield model
    model.close()


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


class Joke(BaseModel):
    """A joke."""

    setup: str
    punchline: str


def _aggregate(chunks: list[Any]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    return total  # type: ignore[no-any-return]


# Four ways to ask, each returning the (aggregated) AIMessage.
async def run_invoke(model: Any, messages: Any, **kwargs: Any) -> Any:
    return model.invoke(messages, **kwargs)


async def run_ainvoke(model: Any, messages: Any, **kwargs: Any) -> Any:
    return await model.ainvoke(messages, **kwargs)


async def run_stream(model: Any, messages: Any, **kwargs: Any) -> Any:
    return _aggregate(list(model.stream(messages, **kwargs)))


async def run_astream(model: Any, messages: Any, **kwargs: Any) -> Any:
    return _aggregate([c async for c in model.astream(messages, **kwargs)])


Runner = Callable[..., Any]
PATHS = pytest.mark.parametrize(
    "run",
    [run_invoke, run_ainvoke, run_stream, run_astream],
    ids=["invoke", "ainvoke", "stream", "astream"],
)


class TestPaths:
    """Every LangChain entry point, over real HTTP."""

    @PATHS
    async def test_answer_usage_and_metadata(
        self, openai_server: OpenAIServer, run: Runner
    ) -> None:
        """Text, usage_metadata and response_metadata arrive the same on every path."""
        openai_server.usage = (11, 5)
        openai_server.response_model = "served-chat-2026"
        model = make_chat(openai_server)
        message = await run(model, "hello there")
        assert message.content == "hello there"
        assert message.usage_metadata == {
            "input_tokens": 11,
            "output_tokens": 5,
            "total_tokens": 16,
        }
        metadata = message.response_metadata
        assert metadata["model_name"] == "served-chat-2026"
        assert metadata["finish_reason"] == "stop"
        assert metadata["id"].startswith("chatcmpl-")
        await model.aclose()

    def test_batch(self, chat: OpenAICompatibleChatModel) -> None:
        """batch answers each input, in order."""
        assert [m.content for m in chat.batch(["woof", "meow", "moo"])] == ["woof", "meow", "moo"]

    async def test_abatch_is_concurrent(self, openai_server: OpenAIServer) -> None:
        """abatch sends its inputs concurrently over the shared pool."""
        openai_server.time_to_first_token = 0.2
        model = make_chat(openai_server)
        prompts = [f"prompt {i}" for i in range(6)]
        assert [m.content for m in await model.abatch(prompts)] == prompts
        assert openai_server.max_open_connections > 1
        await model.aclose()

    async def test_astream_events(self, chat: OpenAICompatibleChatModel) -> None:
        """prompt | chat under astream_events(v2) streams the model's chunks and its end."""
        chain = ChatPromptTemplate.from_messages([("human", "Say {x}")]) | chat
        events = [e async for e in chain.astream_events({"x": "hi there"}, version="v2")]
        streamed = [
            e["data"]["chunk"].content for e in events if e["event"] == "on_chat_model_stream"
        ]
        assert "".join(streamed) == "Say hi there"
        (end,) = [e for e in events if e["event"] == "on_chat_model_end"]
        assert end["data"]["output"].usage_metadata["output_tokens"] == 3

    @PATHS
    async def test_usage_details(self, openai_server: OpenAIServer, run: Runner) -> None:
        """Cached and reasoning token counts, when the server sends them, on every path."""
        openai_server.cached_tokens, openai_server.reasoning_tokens = 2, 1
        model = make_chat(openai_server)
        usage = (await run(model, "a b c")).usage_metadata
        assert usage["input_token_details"] == {"cache_read": 2}
        assert usage["output_token_details"] == {"reasoning": 1}
        await model.aclose()

    def test_stream_request_and_last_chunk(
        self, chat: OpenAICompatibleChatModel, openai_server: OpenAIServer
    ) -> None:
        """Streams ask for usage; only the last chunk carries usage and metadata."""
        chunks = list(chat.stream("one two"))
        body = openai_server.chat_requests[0].body
        assert body["stream"] is True
        assert body["stream_options"] == {"include_usage": True}
        assert [c.content for c in chunks] == ["one", " two", ""]
        assert [c.usage_metadata is not None for c in chunks] == [False, False, True]
        assert [bool(c.response_metadata) for c in chunks] == [False, False, True]


class TestRequestBody:
    """What is sent: every message type, sampling parameters, tools."""

    def test_every_message_type(
        self, chat: OpenAICompatibleChatModel, openai_server: OpenAIServer
    ) -> None:
        """System, human (name, text and image parts), AI with tool calls, tool, function, chat."""
        messages: list[BaseMessage] = [
            SystemMessage("be brief"),
            HumanMessage("first", name="ann"),
            AIMessage("", tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "c1"}]),
            ToolMessage("3", tool_call_id="c1"),
            FunctionMessage("ok", name="legacy"),
            ChatMessage("note", role="developer"),
            HumanMessage(
                [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                    {"type": "image", "base64": "iVBORw0", "mime_type": "image/png"},
                    {"type": "image", "url": "https://example.com/b.png"},
                ]
            ),
        ]
        assert chat.invoke(messages).content == "what is this?"
        sent = openai_server.chat_requests[0].body["messages"]
        assert sent == [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first", "name": "ann"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "3"},
            {"role": "function", "name": "legacy", "content": "ok"},
            {"role": "developer", "content": "note"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/b.png"}},
                ],
            },
        ]

    def test_parameters(self, openai_server: OpenAIServer) -> None:
        """Set sampling fields, call kwargs (override) and model_kwargs reach the body."""
        model = make_chat(
            openai_server, max_tokens=50, temperature=0.2, seed=7, model_kwargs={"top_k": 4}
        )
        model.invoke("hi", temperature=0.9, stop=["\n"])
        body = openai_server.chat_requests[0].body
        assert {
            k: body[k] for k in ("model", "max_tokens", "temperature", "seed", "top_k", "stop")
        } == {
            "model": "chat-model",
            "max_tokens": 50,
            "temperature": 0.9,
            "seed": 7,
            "top_k": 4,
            "stop": ["\n"],
        }
        assert openai_server.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"
        model.close()

    def test_bind_tools_and_tool_choice(
        self, chat: OpenAICompatibleChatModel, openai_server: OpenAIServer
    ) -> None:
        """Tools go as OpenAI function tools; "any" is sent as "required", a name as forced."""
        chat.bind_tools([add], tool_choice="any").invoke("x")
        chat.bind_tools([add, Joke], tool_choice="Joke").invoke("x")
        first, second = (r.body for r in openai_server.chat_requests)
        assert first["tools"][0]["function"]["name"] == "add"
        assert first["tool_choice"] == "required"
        assert second["tool_choice"] == {"type": "function", "function": {"name": "Joke"}}

    def test_bad_tool_choice(self, chat: OpenAICompatibleChatModel) -> None:
        """tool_choice=True with several tools is refused at the call, clearly."""
        with pytest.raises(ValueError, match="exactly one tool"):
            chat.bind_tools([add, Joke], tool_choice=True)


class TestTools:
    """Tool calls parsed, streamed deltas aggregated, bad ones invalid (never raised)."""

    @PATHS
    async def test_tool_call(self, chat: OpenAICompatibleChatModel, run: Runner) -> None:
        """The server's tool call arrives in tool_calls, streamed (split deltas) or not."""
        message = await run(chat.bind_tools([add], tool_choice="any"), "add things")
        (call,) = message.tool_calls
        assert (call["name"], call["args"]) == ("add", {"a": 0, "b": 0})
        assert call["id"].startswith("call_")
        assert message.response_metadata["finish_reason"] == "tool_calls"

    def test_streamed_deltas(self, chat: OpenAICompatibleChatModel) -> None:
        """The stream has the tool call's head, then its arguments in pieces."""
        chunks = list(chat.bind_tools([add], tool_choice="any").stream("x"))
        pieces = [tc for c in chunks for tc in c.tool_call_chunks]
        assert pieces[0]["name"] == "add"
        assert pieces[0]["id"] is not None
        assert len(pieces) == 3
        assert "".join(p["args"] or "" for p in pieces) == '{"a": 0, "b": 0}'

    def test_agent_turn(self, chat: OpenAICompatibleChatModel) -> None:
        """After the tool result the server answers with text."""
        bound = chat.bind_tools([add])
        first = bound.invoke("what is 1+2")
        assert isinstance(first, AIMessage)
        (call,) = first.tool_calls
        answer = bound.invoke(
            [HumanMessage("what is 1+2"), first, ToolMessage("3", tool_call_id=call["id"])]
        )
        assert answer.content == "what is 1+2"
        assert answer.tool_calls == []

    @pytest.mark.parametrize(
        ("tool_call", "error"),
        [
            (
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "add", "arguments": "{not json"},
                },
                "not a JSON object",
            ),
            ({"type": "function", "function": {"name": "add", "arguments": "{}"}}, "has no id"),
            ({"id": "c2", "type": "function", "function": {"arguments": "{}"}}, "has no name"),
        ],
        ids=["bad-arguments", "no-id", "no-name"],
    )
    def test_invalid_tool_calls(
        self,
        chat: OpenAICompatibleChatModel,
        openai_server: OpenAIServer,
        tool_call: dict[str, Any],
        error: str,
    ) -> None:
        """A malformed tool call becomes invalid_tool_calls saying what was received."""
        body = {
            "id": "x",
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {"role": "assistant", "content": None, "tool_calls": [tool_call]},
                }
            ],
        }
        openai_server.script(Fault(status=200, body=json.dumps(body)))
        message = chat.invoke("x")
        assert message.tool_calls == []
        (invalid,) = message.invalid_tool_calls
        assert error in invalid["error"]
        assert "received" in invalid["error"]

    def test_streamed_bad_arguments_are_invalid(
        self, chat: OpenAICompatibleChatModel, openai_server: OpenAIServer
    ) -> None:
        """Streamed arguments that are not JSON end in invalid_tool_calls, not an exception."""
        delta = {
            "tool_calls": [
                {"index": 0, "id": "c1", "function": {"name": "add", "arguments": "not json"}}
            ]
        }
        events = [
            {"choices": [{"index": 0, "delta": delta}]},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        ]
        body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        openai_server.script(Fault(status=200, body=body, content_type="text/event-stream"))
        message = _aggregate(list(chat.stream("x")))
        assert message.tool_calls == []
        assert message.invalid_tool_calls[0]["args"] == "not json"


class TestStructuredOutput:
    """with_structured_output by function calling and by json_schema."""

    @pytest.mark.parametrize("method", ["function_calling", "json_schema"])
    async def test_methods(
        self, chat: OpenAICompatibleChatModel, openai_server: OpenAIServer, method: str
    ) -> None:
        """Both methods return the schema's object; the request says how."""
        runnable = chat.with_structured_output(Joke, method=method)  # type: ignore[arg-type]
        joke = await runnable.ainvoke("cats")
        assert joke == Joke(setup="cats", punchline="cats")
        body = openai_server.chat_requests[0].body
        if method == "function_calling":
            assert body["tool_choice"] == {"type": "function", "function": {"name": "Joke"}}
        else:
            assert body["response_format"]["type"] == "json_schema"
            assert body["response_format"]["json_schema"]["name"] == "Joke"

    def test_dict_schema_and_include_raw(self, chat: OpenAICompatibleChatModel) -> None:
        """A JSON-schema dict gives a dict; include_raw keeps the message and the error slot."""
        schema = {
            "title": "Pair",
            "description": "Two values.",
            "type": "object",
            "properties": {"x": {"type": "integer"}},
        }
        result = chat.with_structured_output(schema, include_raw=True).invoke("q")
        assert result["parsed"] == {"x": 0}
        assert isinstance(result["raw"], AIMessage)
        assert result["parsing_error"] is None

    def test_unknown_method(self, chat: OpenAICompatibleChatModel) -> None:
        """A method we do not know is refused at the call."""
        with pytest.raises(ValueError, match="method must be"):
            chat.with_structured_output(Joke, method="xml")  # type: ignore[arg-type]


class TestStop:
    """Stop sequences are kept and restored when the server strips them, on every path."""

    @PATHS
    @pytest.mark.parametrize("strip", [True, False], ids=["server-strips", "server-keeps"])
    async def test_kept(self, openai_server: OpenAIServer, run: Runner, strip: bool) -> None:
        """The stop sequence ends the output either way."""
        openai_server.strip_stop = strip
        model = make_chat(openai_server)
        message = await run(model, "hello world. goodbye", stop=["."])
        assert message.content == "hello world."
        await model.aclose()

    @PATHS
    async def test_server_ignoring_stop(self, openai_server: OpenAIServer, run: Runner) -> None:
        """A server without stop support is cut client-side; the field is the default stop."""
        openai_server.honour_stop = False
        model = make_chat(openai_server, stop=[" wor"])
        assert (await run(model, "hello world. goodbye")).content == "hello wor"
        await model.aclose()


class _Order(BaseCallbackHandler):
    """Callback events in order, with how many chunks the consumer had seen."""

    run_inline = True

    def __init__(self, seen: list[Any]) -> None:
        self.events: list[Any] = []
        self.seen = seen

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.events.append("start")

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.events.append((token, len(self.seen)))

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        self.events.append("end")


class TestCallbacks:
    """on_llm_new_token comes before each chunk reaches the consumer."""

    def test_stream_order(self, chat: OpenAICompatibleChatModel) -> None:
        """start, a token per chunk before it is seen, end."""
        seen: list[Any] = []
        order = _Order(seen)
        for chunk in chat.stream("a b", config={"callbacks": [order]}):
            seen.append(chunk)
        assert order.events == ["start", ("a", 0), (" b", 1), ("", 2), "end"]

    async def test_astream_order(self, chat: OpenAICompatibleChatModel) -> None:
        """The same on the async path."""
        seen: list[Any] = []
        order = _Order(seen)
        async for chunk in chat.astream("a b", config={"callbacks": [order]}):
            seen.append(chunk)
        assert order.events == ["start", ("a", 0), (" b", 1), ("", 2), "end"]


class TestPool:
    """One instance, one pool."""

    async def test_300_concurrent_astreams_share_the_pool(
        self, openai_server: OpenAIServer
    ) -> None:
        """300 streams over at most 10 connections, all answered correctly."""
        openai_server.time_per_token = 0.001
        model = make_chat(openai_server, max_connections=10, timeout=30.0)

        async def one(i: int) -> str:
            return "".join([str(c.content) async for c in model.astream(f"stream {i} says hi")])

        results = await asyncio.gather(*(one(i) for i in range(300)))
        assert results == [f"stream {i} says hi" for i in range(300)]
        assert len(openai_server.chat_requests) == 300
        assert openai_server.max_open_connections <= 10
        assert openai_server.total_connections <= 30
        await model.aclose()

    def test_closed_model_refuses(self, openai_server: OpenAIServer) -> None:
        """close() ends the pool; a later call says so."""
        model = make_chat(openai_server)
        model.invoke("hi")
        model.close()
        with pytest.raises(LLMError, match="closed OpenAICompatibleChatModel"):
            model.invoke("hi")


class TestErrors:
    """Every error class, on the chat path."""

    @PATHS
    async def test_401_names_the_url_not_the_key(
        self, openai_server: OpenAIServer, run: Runner
    ) -> None:
        """401 → AuthenticationError naming base_url; the echoed key is masked."""
        openai_server.script(Fault.http(401, echo_authorization=True))
        model = make_chat(openai_server)
        with pytest.raises(AuthenticationError) as info:
            await run(model, "hi")
        assert openai_server.base_url in str(info.value)
        for text in (str(info.value), info.value.body, repr(info.value)):
            assert KEY not in text
        await model.aclose()

    async def test_429_then_503_are_retried(self, openai_server: OpenAIServer) -> None:
        """Rate limits and 5xx are retried; the retries are logged."""
        openai_server.script(Fault.http(429, retry_after="0"), Fault.http(503))
        model = make_chat(openai_server)
        with structlog.testing.capture_logs() as logs:
            assert (await model.ainvoke("hi")).content == "hi"
        assert [e["status_code"] for e in logs if e["event"] == "llm.retry"] == [429, 503]
        await model.aclose()

    def test_rate_limit_error(self, openai_server: OpenAIServer) -> None:
        """Persistent 429 → RateLimitError."""
        openai_server.script(*[Fault.http(429, retry_after="0")] * 2)
        model = make_chat(openai_server, max_retries=1)
        with pytest.raises(RateLimitError):
            model.invoke("hi")
        model.close()

    def test_400(self, chat: OpenAICompatibleChatModel, openai_server: OpenAIServer) -> None:
        """A rejected request → UpstreamHTTPError with the server's message."""
        openai_server.script(Fault.http(400))
        with pytest.raises(UpstreamHTTPError, match="HTTP 400") as info:
            chat.invoke("hi")
        assert info.value.url == f"{openai_server.base_url}/chat/completions"

    @PATHS
    async def test_unreachable(self, run: Runner) -> None:
        """Nothing listening → LLMConnectionError naming the URL."""
        with OpenAIServer() as server:
            base_url = server.base_url
        model = OpenAICompatibleChatModel(base_url=base_url, model="m", max_retries=0)
        with pytest.raises(LLMConnectionError, match=f"{base_url}/chat/completions"):
            await run(model, "hi")
        await model.aclose()

    @pytest.mark.parametrize("run", [run_invoke, run_astream], ids=["invoke", "astream"])
    async def test_timeout(self, openai_server: OpenAIServer, run: Runner) -> None:
        """A stalled server → LLMTimeoutError."""
        openai_server.script(Fault.stalled(3.0))
        model = make_chat(openai_server, timeout=0.2)
        with pytest.raises(LLMTimeoutError):
            await run(model, "hi")
        await model.aclose()

    async def test_dropped_mid_stream(self, openai_server: OpenAIServer) -> None:
        """A connection lost after tokens → LLMConnectionError, not retried."""
        openai_server.script(Fault.drop(after_tokens=2))
        model = make_chat(openai_server)
        with pytest.raises(LLMConnectionError, match="mid-stream after 2 chunk"):
            await run_astream(model, "a b c d")
        assert len(openai_server.chat_requests) == 1
        await model.aclose()


class TestBadInputFromTheServer:
    """What the server sends wrong is reported, quoting what was received."""

    @pytest.mark.parametrize("run", [run_stream, run_astream], ids=["stream", "astream"])
    async def test_malformed_sse_line(self, openai_server: OpenAIServer, run: Runner) -> None:
        """A data line that is not JSON → LLMResponseError quoting it."""
        openai_server.script(Fault.malformed_sse(after_tokens=1))
        model = make_chat(openai_server)
        with pytest.raises(LLMResponseError, match=r"malformed SSE event .*broken"):
            await run(model, "a b c")
        await model.aclose()

    @PATHS
    async def test_non_json_body(self, openai_server: OpenAIServer, run: Runner) -> None:
        """An HTML page → LLMResponseError quoting it."""
        openai_server.script(Fault.non_json())
        model = make_chat(openai_server)
        with pytest.raises(LLMResponseError, match="502 Bad Gateway"):
            await run(model, "hi")
        await model.aclose()

    def test_unknown_finish_reason(
        self, chat: OpenAICompatibleChatModel, openai_server: OpenAIServer
    ) -> None:
        """An unknown finish_reason → LLMResponseError naming it."""
        body = {
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "exploded",
                    "message": {"role": "assistant", "content": "x"},
                }
            ]
        }
        openai_server.script(Fault(status=200, body=json.dumps(body)))
        with pytest.raises(LLMResponseError, match="unknown finish_reason 'exploded'"):
            chat.invoke("hi")

    def test_unknown_finish_reason_streamed(
        self, chat: OpenAICompatibleChatModel, openai_server: OpenAIServer
    ) -> None:
        """... in a stream too."""
        event = {"choices": [{"index": 0, "delta": {}, "finish_reason": "exploded"}]}
        openai_server.script(
            Fault(
                status=200, body=f"data: {json.dumps(event)}\n\n", content_type="text/event-stream"
            )
        )
        with pytest.raises(LLMResponseError, match="unknown finish_reason 'exploded'"):
            list(chat.stream("hi"))

    def test_json_that_is_not_a_chat_completion(
        self, chat: OpenAICompatibleChatModel, openai_server: OpenAIServer
    ) -> None:
        """A completions-style answer → LLMResponseError naming what is missing."""
        openai_server.script(Fault(status=200, body='{"choices": [{"index": 0, "text": "hi"}]}'))
        with pytest.raises(LLMResponseError, match=r"choices\[0\]\.message"):
            chat.invoke("hi")


class TestSecretsAndValidation:
    """The key stays secret; bad constructor arguments name their field."""

    def test_key_from_environment(
        self, openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """OPENAI_API_KEY is used when api_key is not given."""
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        model = OpenAICompatibleChatModel(base_url=openai_server.base_url, model="m")
        model.invoke("hi")
        assert openai_server.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"
        model.close()

    def test_not_in_representations(self, chat: OpenAICompatibleChatModel) -> None:
        """repr, str, dumps, model_dump(_json) and the LangSmith params never contain it."""
        for text in (
            repr(chat),
            str(chat),
            dumps(chat),
            chat.model_dump_json(),
            str(chat.model_dump()),
            str(chat._get_ls_params()),
        ):
            assert KEY not in text

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"base_url": "localhost:8000/v1"},
            {"model": ""},
            {"temperature": 3.0},
            {"max_tokens": 0},
            {"timeout": 0},
            {"max_connections": 0},
        ],
    )
    def test_invalid_arguments(self, kwargs: dict[str, Any]) -> None:
        """Each bad value raises ValidationError naming the field."""
        options = {"base_url": "http://127.0.0.1:1/v1", "model": "m", **kwargs}
        with pytest.raises(ValidationError) as info:
            OpenAICompatibleChatModel(**options)
        assert next(iter(kwargs)) in str(info.value)

    def test_ls_params(self) -> None:
        """The chat model reports itself as a chat model of its provider."""
        model = OpenAICompatibleChatModel(
            base_url="http://gpu:8000/v1", model="llama", provider="vllm", stop=["x"]
        )
        params = model._get_ls_params(temperature=0.3)
        assert (params["ls_provider"], params["ls_model_type"], params["ls_model_name"]) == (
            "vllm",
            "chat",
            "llama",
        )
        assert params["ls_stop"] == ["x"]
