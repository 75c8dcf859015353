"""EchoChatModel: every path, callbacks, stop sequences, usage, knobs and scripted tool calls."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import LLMResult
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from pydantic import ValidationError

from langchain_otel.llms import EchoChatModel


class _Recorder(BaseCallbackHandler):
    """Callback events in order, with how many chunks the consumer had seen."""

    run_inline = True

    def __init__(self, seen: list[Any] | None = None) -> None:
        self.events: list[tuple[str, Any]] = []
        self.seen = seen if seen is not None else []
        self.threads: set[int] = set()

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.events.append(("start", kwargs.get("invocation_params", {}).get("model_name")))

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.events.append(("token", (token, len(self.seen))))
        self.threads.add(threading.get_ident())

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        self.events.append(("end", response))

    @property
    def message(self) -> Any:
        (end,) = [payload for kind, payload in self.events if kind == "end"]
        return end.generations[0][0].message


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def _aggregate(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    return total


class TestPaths:
    """Every LangChain entry point answers with the echo of the last human message."""

    def test_invoke(self) -> None:
        """invoke returns an AIMessage with the first n characters."""
        message = EchoChatModel(n=5).invoke("This is a foobar thing")
        assert isinstance(message, AIMessage)
        assert message.content == "This "

    async def test_ainvoke(self) -> None:
        """ainvoke answers the same."""
        assert (await EchoChatModel(n=5).ainvoke("world")).content == "world"

    def test_batch(self) -> None:
        """batch answers each input, in order."""
        answers = EchoChatModel(n=4).batch(["woof woof", "meow meow"])
        assert [a.content for a in answers] == ["woof", "meow"]

    async def test_abatch(self) -> None:
        """abatch answers each input, in order."""
        answers = await EchoChatModel(n=4).abatch(["woof woof", "meow meow"])
        assert [a.content for a in answers] == ["woof", "meow"]

    def test_stream(self) -> None:
        """stream yields one character per chunk; the last carries the metadata."""
        chunks = list(EchoChatModel(n=3).stream("hello"))
        assert [c.content for c in chunks] == ["h", "e", "l"]
        assert chunks[-1].usage_metadata == {
            "input_tokens": 5,
            "output_tokens": 3,
            "total_tokens": 8,
        }
        assert chunks[-1].response_metadata == {
            "model_name": "echo-chat",
            "finish_reason": "length",
        }

    async def test_astream(self) -> None:
        """astream yields one character per chunk."""
        chunks = [c async for c in EchoChatModel(n=3).astream("hello")]
        assert [c.content for c in chunks] == ["h", "e", "l"]

    async def test_astream_events_of_a_chain(self) -> None:
        """prompt | chat under astream_events(v2) streams the model's chunks."""
        prompt = ChatPromptTemplate.from_messages([("system", "be brief"), ("human", "{x}")])
        chain = prompt | EchoChatModel(n=10)
        events = [e async for e in chain.astream_events({"x": "hi there"}, version="v2")]
        streamed = [
            e["data"]["chunk"].content for e in events if e["event"] == "on_chat_model_stream"
        ]
        assert "".join(streamed) == "hi there"
        (end,) = [e for e in events if e["event"] == "on_chat_model_end"]
        assert end["data"]["output"].usage_metadata["output_tokens"] == 8

    def test_the_last_human_message_is_echoed(self) -> None:
        """System and earlier messages are not echoed; list content gives its text parts."""
        messages: list[BaseMessage] = [
            SystemMessage("you are a bot"),
            HumanMessage("first question"),
            AIMessage("first answer"),
            HumanMessage([{"type": "text", "text": "second "}, {"type": "text", "text": "one"}]),
        ]
        assert EchoChatModel(n=100).invoke(messages).content == "second one"

    def test_identifying_params_and_type(self) -> None:
        """_identifying_params has model_name; _llm_type is EchoLLM's "echo" (one provider)."""
        model = EchoChatModel(n=4, model_name="echo-large")
        assert model._llm_type == "echo"
        assert model._identifying_params == {"model_name": "echo-large", "n": 4}

    def test_invocation_params_reach_callbacks(self) -> None:
        """on_chat_model_start sees the model name."""
        recorder = _Recorder()
        EchoChatModel(n=2, model_name="m-1").invoke("hi", config={"callbacks": [recorder]})
        assert recorder.events[0] == ("start", "m-1")


class TestNativeAsync:
    """The async paths are the model's own, on the loop's thread."""

    def test_overrides(self) -> None:
        """_agenerate and _astream are overridden."""
        assert EchoChatModel._agenerate is not BaseChatModel._agenerate
        assert EchoChatModel._astream is not BaseChatModel._astream

    async def test_no_thread_hop(self) -> None:
        """Tokens are reported on the event loop's thread."""
        recorder = _Recorder()
        async for _ in EchoChatModel(n=3).astream("abc", config={"callbacks": [recorder]}):
            pass
        assert recorder.threads == {threading.get_ident()}

    async def test_concurrent_calls_overlap(self) -> None:
        """Simulated latency does not block the loop: all 20 start before any ends."""
        events: list[str] = []

        class _Order(BaseCallbackHandler):
            run_inline = True

            def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
                events.append("start")

            def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
                events.append("end")

        model = EchoChatModel(n=3, time_to_first_token=0.05, time_per_token=0.01)
        config: Any = {"callbacks": [_Order()]}
        await asyncio.gather(*(model.ainvoke("abc", config=config) for _ in range(20)))
        assert events == ["start"] * 20 + ["end"] * 20


class TestStopAndUsage:
    """Stop sequences cut and are kept; usage is counted; metadata is reported."""

    PROMPT = "hello world. goodbye"

    def test_invoke_keeps_the_stop_sequence(self) -> None:
        """The output ends with the earliest stop sequence."""
        assert EchoChatModel(n=100).invoke(self.PROMPT, stop=["."]).content == "hello world."

    async def test_astream_keeps_the_stop_sequence(self) -> None:
        """The stream ends with the stop sequence."""
        chunks = [c async for c in EchoChatModel(n=100).astream(self.PROMPT, stop=["bye", " w"])]
        assert "".join(str(c.content) for c in chunks) == "hello w"

    def test_usage_and_metadata_on_invoke(self) -> None:
        """One token per character in and out; model_name and finish_reason."""
        message = EchoChatModel(n=100).invoke([SystemMessage("sys"), HumanMessage("hi.")])
        assert message.usage_metadata == {
            "input_tokens": 6,
            "output_tokens": 3,
            "total_tokens": 9,
        }
        assert message.response_metadata["finish_reason"] == "stop"
        assert message.response_metadata["model_name"] == "echo-chat"

    def test_stream_and_invoke_agree(self) -> None:
        """The aggregated stream has the same content and usage as invoke."""
        model = EchoChatModel(n=7)
        whole = model.invoke("hello world")
        streamed = _aggregate(list(model.stream("hello world")))
        assert streamed.content == whole.content
        assert streamed.usage_metadata == whole.usage_metadata

    def test_token_before_yield(self) -> None:
        """on_llm_new_token for chunk i fires before the consumer sees chunk i."""
        seen: list[Any] = []
        recorder = _Recorder(seen)
        for chunk in EchoChatModel(n=3).stream("abc", config={"callbacks": [recorder]}):
            seen.append(chunk)
        tokens = [payload for kind, payload in recorder.events if kind == "token"]
        assert tokens == [("a", 0), ("b", 1), ("c", 2)]
        assert [kind for kind, _ in recorder.events] == ["start", "token", "token", "token", "end"]


class TestToolCalls:
    """Scripted tool calls, one list per turn, so agents run without a server."""

    SCRIPT: list[list[dict[str, Any]]] = [  # noqa: RUF012
        [{"name": "add", "args": {"a": 1, "b": 2}}, {"name": "add", "args": {"a": 3, "b": 4}}],
        [],
    ]

    def test_first_turn_calls_the_tools(self) -> None:
        """Turn 0: the scripted calls, ids filled in, empty text, finish_reason tool_calls."""
        message = EchoChatModel(n=50, tool_calls=self.SCRIPT).invoke("sum things")
        assert [(c["name"], c["args"], c["id"]) for c in message.tool_calls] == [
            ("add", {"a": 1, "b": 2}, "call_0_0"),
            ("add", {"a": 3, "b": 4}, "call_0_1"),
        ]
        assert message.content == ""
        assert message.response_metadata["finish_reason"] == "tool_calls"

    def test_an_agent_loop(self) -> None:
        """A hand-written agent loop: tools run, then the model answers with its echo."""
        model = EchoChatModel(n=50, tool_calls=self.SCRIPT).bind_tools([add])
        messages: list[BaseMessage] = [HumanMessage("sum things")]
        for _ in range(5):
            answer = model.invoke(messages)
            messages.append(answer)
            assert isinstance(answer, AIMessage)
            if not answer.tool_calls:
                break
            for call in answer.tool_calls:
                messages.append(ToolMessage(str(add.invoke(call["args"])), tool_call_id=call["id"]))
        assert [type(m).__name__ for m in messages] == [
            "HumanMessage",
            "AIMessage",
            "ToolMessage",
            "ToolMessage",
            "AIMessage",
        ]
        assert messages[-1].content == "sum things"
        assert [m.content for m in messages if isinstance(m, ToolMessage)] == ["3", "7"]

    def test_a_new_question_restarts_the_script(self) -> None:
        """Turns are counted since the last human message."""
        model = EchoChatModel(n=50, tool_calls=self.SCRIPT)
        history: list[BaseMessage] = [HumanMessage("q1"), AIMessage("a1"), HumanMessage("q2")]
        assert len(model.invoke(history).tool_calls) == 2

    def test_the_script_running_out_echoes(self) -> None:
        """Past the script the model answers with its echo."""
        model = EchoChatModel(n=50, tool_calls=[[{"name": "add", "args": {}}]])
        history: list[BaseMessage] = [HumanMessage("q"), AIMessage("", tool_calls=[])] * 1
        history += [AIMessage("x"), AIMessage("y")]
        assert model.invoke(history).content == "q"

    @pytest.mark.parametrize("path", ["stream", "astream"])
    async def test_streamed_tool_calls_aggregate(self, path: str) -> None:
        """Streams carry tool_call_chunks that aggregate into the same tool calls."""
        model = EchoChatModel(n=50, tool_calls=self.SCRIPT)
        if path == "stream":
            chunks = list(model.stream("sum things"))
        else:
            chunks = [c async for c in model.astream("sum things")]
        assert len(chunks) == 2
        total = _aggregate(chunks)
        assert [(c["name"], c["args"], c["id"]) for c in total.tool_calls] == [
            ("add", {"a": 1, "b": 2}, "call_0_0"),
            ("add", {"a": 3, "b": 4}, "call_0_1"),
        ]
        assert total.response_metadata["finish_reason"] == "tool_calls"
        assert total.usage_metadata is not None
        assert total.usage_metadata["output_tokens"] == 32  # two '{"a": 1, "b": 2}' texts

    def test_bind_tools_with_tool_choice(self) -> None:
        """bind_tools accepts tools in every LangChain form and a tool_choice."""

        def multiply(a: int, b: int) -> int:
            """Multiply two numbers."""
            return a * b

        bound = EchoChatModel(n=5, tool_calls=self.SCRIPT).bind_tools(
            [add, multiply], tool_choice="auto"
        )
        kwargs = bound.kwargs  # type: ignore[attr-defined]
        assert [t["function"]["name"] for t in kwargs["tools"]] == ["add", "multiply"]
        assert kwargs["tool_choice"] == "auto"
        assert bound.invoke("x").tool_calls[0]["name"] == "add"

    @pytest.mark.parametrize(
        ("script", "match"),
        [
            ("add", "one list of tool calls per turn"),
            ([{"name": "add"}], r"tool_calls\[0\] must be a list"),
            ([[{"args": {}}]], r"tool_calls\[0\]\[0\] must be a dict with a 'name'"),
            ([[{"name": "add", "args": [1]}]], r"\['args'\] must be a dict"),
        ],
    )
    def test_bad_scripts(self, script: Any, match: str) -> None:
        """A malformed script is a ValidationError naming the place."""
        with pytest.raises(ValidationError, match=match):
            EchoChatModel(n=1, tool_calls=script)


class TestFailures:
    """The same failure knobs as EchoLLM."""

    def test_fail_with(self) -> None:
        """fail_with is raised by every call."""
        model = EchoChatModel(n=5, fail_with=ValueError("boom"))
        with pytest.raises(ValueError, match="boom"):
            model.invoke("hello")

    async def test_fail_with_async(self) -> None:
        """... on the async paths too."""
        model = EchoChatModel(n=5, fail_with=ValueError("boom"))
        with pytest.raises(ValueError, match="boom"):
            await model.ainvoke("hello")

    async def test_error_on_chunk(self) -> None:
        """error_on_chunk fails a stream after the earlier chunks were delivered."""
        got: list[Any] = []

        async def consume() -> None:
            async for chunk in EchoChatModel(n=5, error_on_chunk=2).astream("hello"):
                got.append(chunk.content)

        with pytest.raises(RuntimeError, match="EchoChatModel: simulated failure at chunk 2"):
            await consume()
        assert got == ["h", "e"]

    def test_error_on_chunk_non_streamed(self) -> None:
        """A non-streamed answer that would have reached the chunk fails; a shorter one not."""
        with pytest.raises(RuntimeError, match="chunk 2"):
            EchoChatModel(n=5, error_on_chunk=2).invoke("hello")
        assert EchoChatModel(n=2, error_on_chunk=2).invoke("hello").content == "he"

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [({"n": -1}, "n"), ({"n": 1, "time_per_token": -0.1}, "time_per_token")],
    )
    def test_invalid_arguments(self, kwargs: dict[str, Any], field: str) -> None:
        """Bad values are rejected at construction, naming the field."""
        with pytest.raises(ValidationError, match=field):
            EchoChatModel(**kwargs)
