"""What EchoLLM and EchoChatModel share: the echo, stop sequences, latency, failures, pacing.

:class:`EchoCore` is a pydantic mixin put before LangChain's ``LLM`` or ``BaseChatModel``.
The rules live here once: the answer is the first ``n`` characters of the input, cut after
the earliest stop sequence (kept); usage is one token per character; simulated latency
sleeps ``time_to_first_token`` then ``time_per_token`` between tokens (``time.sleep`` on sync
paths, ``anyio.sleep`` on async ones); ``fail_with`` / ``error_on_chunk`` fail on purpose.
:meth:`EchoCore._pace` / :meth:`EchoCore._apace` turn a model's (delay, chunk) pairs into
a stream, calling ``on_llm_new_token`` before each chunk is yielded.

Example:
    >>> from langchain_otel.llms import EchoLLM
    >>> EchoLLM(n=20).invoke("hello world. bye", stop=["."])
    'hello world.'
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol, TypeVar

import anyio
from pydantic import BaseModel, ConfigDict, Field

from langchain_otel.llms._stop import cut_at_stop

__all__ = ["EchoCore", "usage_counts"]


class _Chunk(Protocol):
    @property
    def text(self) -> str: ...


ChunkT = TypeVar("ChunkT", bound=_Chunk)


def usage_counts(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """OpenAI's usage shape.

    Example:
        >>> usage_counts(3, 2)
        {'prompt_tokens': 3, 'completion_tokens': 2, 'total_tokens': 5}
    """
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


class EchoCore(BaseModel):
    """The fields and rules shared by the echo models (see the module docstring)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    n: int = Field(ge=0, description="How many characters of the input to echo.")
    model_name: str = Field(default="echo", description="Reported as the model's name.")
    time_to_first_token: float = Field(
        default=0.0, ge=0.0, description="Simulated seconds before the first token."
    )
    time_per_token: float = Field(
        default=0.0, ge=0.0, description="Simulated seconds between two tokens."
    )
    error_on_chunk: int | None = Field(
        default=None,
        ge=0,
        description="Raise `fail_with` (or a RuntimeError) instead of emitting chunk number N.",
    )
    fail_with: Exception | None = Field(
        default=None,
        description="Raise this exception instead of answering (or at `error_on_chunk`).",
    )

    def _answer(self, text: str, stop: list[str] | None) -> str:
        """The text to answer with: the echo, cut at the earliest stop sequence."""
        return cut_at_stop(text[: self.n], stop)

    def _finish_reason(self, text: str, answer: str) -> str:
        return "length" if len(answer) == self.n and len(text) > self.n else "stop"

    def _raise_if_failing(self, *, chunk: int | None = None, answer_length: int = 0) -> None:
        """Raise the configured failure before chunk ``chunk``, or before an answer.

        ``fail_with`` alone fails every call before it answers; with ``error_on_chunk=N``
        streams fail instead of emitting chunk N, and non-streamed calls fail when their
        answer would have had that chunk.
        """
        if self.error_on_chunk is None:
            if chunk is None and self.fail_with is not None:
                raise self.fail_with
            return
        if chunk is not None:
            reached = chunk == self.error_on_chunk
        else:
            reached = answer_length > self.error_on_chunk
        if reached:
            raise self.fail_with or RuntimeError(
                f"{type(self).__name__}: simulated failure at chunk {self.error_on_chunk}"
            )

    def _delays(self, count: int) -> Iterator[float]:
        """Seconds to wait before each of ``count`` tokens."""
        for index in range(count):
            yield self.time_to_first_token if index == 0 else self.time_per_token

    def _total_delay(self, count: int) -> float:
        if count == 0:
            return self.time_to_first_token
        return self.time_to_first_token + self.time_per_token * (count - 1)

    def _checked_answer(self, text: str, stop: list[str] | None, chunks: int = 0) -> str:
        """The answer of a non-streamed call, after the failure knobs had their say.

        ``chunks`` counts chunks the stream of this answer would have beyond its text
        (EchoChatModel's tool calls).
        """
        answer = self._answer(text, stop)
        self._raise_if_failing(answer_length=len(answer) + chunks)
        return answer

    def _sleep(self, count: int) -> None:
        if delay := self._total_delay(count):
            time.sleep(delay)

    async def _asleep(self, count: int) -> None:
        if delay := self._total_delay(count):
            await anyio.sleep(delay)

    @staticmethod
    def _pace(pairs: Iterator[tuple[float, ChunkT]], run_manager: Any) -> Iterator[ChunkT]:
        """Sleep, report, yield: each (delay, chunk) pair of a sync stream."""
        for delay, chunk in pairs:
            if delay:
                time.sleep(delay)
            if run_manager is not None:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    @staticmethod
    async def _apace(
        pairs: Iterator[tuple[float, ChunkT]], run_manager: Any
    ) -> AsyncIterator[ChunkT]:
        """The native async :meth:`_pace` (``anyio.sleep``, awaited callbacks)."""
        for delay, chunk in pairs:
            if delay:
                await anyio.sleep(delay)
            if run_manager is not None:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
