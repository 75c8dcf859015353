"""EchoLLM: the guide's outputs, all four paths, callbacks, stop sequences and usage."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.llms import LLM
from langchain_core.outputs import LLMResult
from langchain_core.prompts import ChatPromptTemplate

from langchain_otel.llms import EchoLLM


class _Recorder(BaseCallbackHandler):
    """Records callback events in order, with what the consumer had seen at that time."""

    run_inline = True

    def __init__(self, seen: list[str] | None = None) -> None:
        self.events: list[tuple[str, Any]] = []
        self.seen = seen if seen is not None else []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.events.append(("token", (token, len(self.seen))))

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        self.events.append(("end", response))


class TestGuideOutputs:
    """The outputs LangChain's custom-LLM guide shows for its echo model."""

    def test_invoke(self) -> None:
        """invoke returns the first n characters."""
        assert EchoLLM(n=5).invoke("This is a foobar thing") == "This "

    async def test_ainvoke(self) -> None:
        """ainvoke returns the first n characters."""
        assert await EchoLLM(n=5).ainvoke("world") == "world"

    def test_batch(self) -> None:
        """batch answers each prompt."""
        assert EchoLLM(n=5).batch(["woof woof woof", "meow meow meow"]) == ["woof ", "meow "]

    async def test_abatch(self) -> None:
        """abatch answers each prompt."""
        assert await EchoLLM(n=5).abatch(["woof woof woof", "meow meow meow"]) == [
            "woof ",
            "meow ",
        ]

    async def test_astream_one_character_per_chunk(self) -> None:
        """astream yields one character per chunk."""
        assert [c async for c in EchoLLM(n=5).astream("hello")] == ["h", "e", "l", "l", "o"]

    def test_stream_one_character_per_chunk(self) -> None:
        """stream yields one character per chunk."""
        assert list(EchoLLM(n=3).stream("hello")) == ["h", "e", "l"]

    async def test_astream_events_of_a_chain(self) -> None:
        """prompt | EchoLLM(n=7) streams the chunks of "System:" as chain events."""
        prompt = ChatPromptTemplate.from_messages([("system", "you are a bot"), ("human", "{x}")])
        chain = prompt | EchoLLM(n=7)
        chunks = [
            event["data"]["chunk"]
            async for event in chain.astream_events({"x": "hi"}, version="v2")
            if event["event"] == "on_chain_stream" and event["name"] == "RunnableSequence"
        ]
        assert chunks == list("System:")

    def test_identifying_params_and_type(self) -> None:
        """The model names itself and its parameters."""
        llm = EchoLLM(n=4, model_name="echo-large")
        assert llm._llm_type == "echo"
        assert llm._identifying_params == {"model_name": "echo-large", "n": 4}


class TestNativeAsync:
    """The async paths are native, not the base class's thread-pool fallback."""

    def test_overrides(self) -> None:
        """_acall and _astream are EchoLLM's own."""
        assert EchoLLM._acall is not LLM._acall
        assert EchoLLM._astream is not LLM._astream

    async def test_no_executor_hop(self) -> None:
        """ainvoke and astream run on the event loop's thread."""
        import threading

        seen: list[int] = []

        class _ThreadRecorder(BaseCallbackHandler):
            run_inline = True

            def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
                seen.append(threading.get_ident())

        loop_thread = threading.get_ident()
        async for _ in EchoLLM(n=3).astream("abc", config={"callbacks": [_ThreadRecorder()]}):
            pass
        assert seen == [loop_thread] * 3

    async def test_concurrent_streams_interleave(self) -> None:
        """Simulated latency sleeps without blocking the loop: 50 calls overlap.

        Event ordering, not a wall-clock bound: every call has started before the first
        one ends (one by one, each would end before the next starts).
        """
        events: list[str] = []

        class _Order(BaseCallbackHandler):
            run_inline = True

            def on_llm_start(self, serialized: Any, prompts: Any, **kwargs: Any) -> None:
                events.append("start")

            def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
                events.append("end")

        llm = EchoLLM(n=5, time_to_first_token=0.05, time_per_token=0.01)
        config: Any = {"callbacks": [_Order()]}
        results = await asyncio.gather(*(llm.ainvoke("hello", config=config) for _ in range(50)))
        assert results == ["hello"] * 50
        assert events == ["start"] * 50 + ["end"] * 50


class TestStop:
    """Output is cut at the earliest stop sequence, which is kept, on every path."""

    PROMPT = "hello world. goodbye"

    def test_invoke(self) -> None:
        """invoke keeps the stop sequence."""
        assert EchoLLM(n=100).invoke(self.PROMPT, stop=["."]) == "hello world."

    async def test_ainvoke(self) -> None:
        """ainvoke keeps the stop sequence."""
        assert await EchoLLM(n=100).ainvoke(self.PROMPT, stop=["."]) == "hello world."

    def test_stream(self) -> None:
        """stream stops after the stop sequence."""
        assert "".join(EchoLLM(n=100).stream(self.PROMPT, stop=["."])) == "hello world."

    async def test_astream(self) -> None:
        """astream stops after the stop sequence."""
        chunks = [c async for c in EchoLLM(n=100).astream(self.PROMPT, stop=["."])]
        assert "".join(chunks) == "hello world."

    def test_earliest_of_several(self) -> None:
        """The earliest stop sequence wins, whatever the list order."""
        assert EchoLLM(n=100).invoke(self.PROMPT, stop=["bye", "wor"]) == "hello wor"

    def test_stop_beyond_n_is_ignored(self) -> None:
        """Only the echoed characters are searched."""
        assert EchoLLM(n=5).invoke(self.PROMPT, stop=["."]) == "hello"


class TestCallbacks:
    """on_llm_new_token precedes each chunk on every streaming path; usage is reported."""

    def test_stream_token_before_yield(self) -> None:
        """The callback for chunk i fires before the consumer sees chunk i."""
        seen: list[str] = []
        recorder = _Recorder(seen)
        for chunk in EchoLLM(n=3).stream("abc", config={"callbacks": [recorder]}):
            seen.append(chunk)
        tokens = [payload for kind, payload in recorder.events if kind == "token"]
        assert tokens == [("a", 0), ("b", 1), ("c", 2)]

    async def test_astream_token_before_yield(self) -> None:
        """The async callback for chunk i fires before the consumer sees chunk i."""
        seen: list[str] = []
        recorder = _Recorder(seen)
        async for chunk in EchoLLM(n=3).astream("abc", config={"callbacks": [recorder]}):
            seen.append(chunk)
        tokens = [payload for kind, payload in recorder.events if kind == "token"]
        assert tokens == [("a", 0), ("b", 1), ("c", 2)]

    def test_usage_on_invoke(self) -> None:
        """Counted usage (one token per character) is in generation_info."""
        recorder = _Recorder()
        EchoLLM(n=5).invoke("hello world", config={"callbacks": [recorder]})
        (response,) = [p for kind, p in recorder.events if kind == "end"]
        info = response.generations[0][0].generation_info
        assert info["token_usage"] == {
            "prompt_tokens": 11,
            "completion_tokens": 5,
            "total_tokens": 16,
        }
        assert info["finish_reason"] == "length"
        assert info["model_name"] == "echo"

    async def test_usage_on_astream(self) -> None:
        """A stream reports the same usage on its aggregated generation."""
        recorder = _Recorder()
        async for _ in EchoLLM(n=100).astream(
            "hi. there", stop=["."], config={"callbacks": [recorder]}
        ):
            pass
        (response,) = [p for kind, p in recorder.events if kind == "end"]
        info = response.generations[0][0].generation_info
        assert info["token_usage"]["completion_tokens"] == 3
        assert info["token_usage"]["prompt_tokens"] == 9
        assert info["finish_reason"] == "stop"


class TestFailures:
    """Failure knobs for tests and demos."""

    def test_fail_with(self) -> None:
        """fail_with is raised by every call."""
        llm = EchoLLM(n=5, fail_with=ValueError("boom"))
        with pytest.raises(ValueError, match="boom"):
            llm.invoke("hello")

    async def test_error_on_chunk(self) -> None:
        """error_on_chunk fails a stream after the earlier chunks were delivered."""
        got: list[str] = []

        async def consume() -> None:
            async for chunk in EchoLLM(n=5, error_on_chunk=2).astream("hello"):
                got.append(chunk)

        with pytest.raises(RuntimeError, match="chunk 2"):
            await consume()
        assert got == ["h", "e"]

    def test_invalid_arguments(self) -> None:
        """Negative sizes are rejected at construction."""
        from pydantic import ValidationError

        with pytest.raises(ValidationError):
            EchoLLM(n=-1)
        with pytest.raises(ValidationError):
            EchoLLM(n=1, time_per_token=-0.1)
