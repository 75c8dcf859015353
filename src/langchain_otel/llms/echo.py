"""EchoLLM: the reference model, LangChain's custom-LLM guide made production-grade."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import anyio
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models.llms import LLM
from langchain_core.outputs import Generation, GenerationChunk, LLMResult
from pydantic import Field

from langchain_otel.llms._stop import cut_at_stop

__all__ = ["EchoLLM"]


class EchoLLM(LLM):
    """A model that answers with the first ``n`` characters of its prompt.

    It is the model the tests, the demo and the benchmarks run: deterministic, free, and
    complete. It implements ``_call`` and ``_stream`` and, natively, ``_acall`` and
    ``_astream`` (no thread-pool fallback). Streams carry one character per chunk, and
    ``on_llm_new_token`` is called before each chunk is yielded. Stop sequences cut the
    output after the earliest stop sequence, which is kept.

    Token usage is *counted*, not measured: one token per character of the prompt
    (input) and of the answer (output). It is reported in each generation's
    ``generation_info["token_usage"]`` (OpenAI's shape: ``prompt_tokens``,
    ``completion_tokens``, ``total_tokens``), on the last chunk of a stream.

    Optional simulated latency (``time_to_first_token``, ``time_per_token``, in seconds)
    sleeps with ``anyio.sleep`` on the async paths and ``time.sleep`` on the sync ones.

    Attributes:
        n: How many characters of the prompt to echo (>= 0).
        model_name: Reported as the model's name (``_identifying_params["model_name"]``).
        time_to_first_token: Simulated seconds before the first token (>= 0).
        time_per_token: Simulated seconds between two tokens (>= 0).
        error_on_chunk: Fail a stream instead of emitting chunk number N (and a
            non-streamed call whose answer would have had that chunk).
        fail_with: The exception to raise: before answering, or at ``error_on_chunk``
            (a ``RuntimeError`` when unset).

    Example:
        >>> llm = EchoLLM(n=5)
        >>> llm.invoke("This is a foobar thing")
        'This '
        >>> llm.invoke("hello world. goodbye", stop=["."])
        'hello'
        >>> EchoLLM(n=100).invoke("hello world. goodbye", stop=["."])
        'hello world.'
    """

    n: int = Field(ge=0, description="How many characters of the prompt to echo.")
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

    @property
    def _llm_type(self) -> str:
        return "echo"

    @property
    def _identifying_params(self) -> Mapping[str, Any]:
        return {"model_name": self.model_name, "n": self.n}

    # -- the one core shared by all four paths ---------------------------------------

    def _answer(self, prompt: str, stop: list[str] | None) -> str:
        """The text to answer with: the echo, cut at the earliest stop sequence."""
        return cut_at_stop(prompt[: self.n], stop)

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
                f"EchoLLM: simulated failure at chunk {self.error_on_chunk}"
            )

    def _delays(self, count: int) -> Iterator[float]:
        """Seconds to wait before each of ``count`` tokens."""
        for index in range(count):
            yield self.time_to_first_token if index == 0 else self.time_per_token

    def _total_delay(self, count: int) -> float:
        if count == 0:
            return self.time_to_first_token
        return self.time_to_first_token + self.time_per_token * (count - 1)

    def _generation_info(self, prompt: str, text: str, *, finish_reason: str) -> dict[str, Any]:
        prompt_tokens, completion_tokens = len(prompt), len(text)
        return {
            "finish_reason": finish_reason,
            "model_name": self.model_name,
            "token_usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _finish_reason(self, prompt: str, text: str) -> str:
        return "length" if len(text) == self.n and len(prompt) > self.n else "stop"

    def _chunks(
        self, prompt: str, stop: list[str] | None
    ) -> Iterator[tuple[float, GenerationChunk]]:
        """(delay, chunk) pairs: one character per chunk, usage on the last one."""
        self._raise_if_failing()
        text = self._answer(prompt, stop)
        last = len(text) - 1
        for index, delay in enumerate(self._delays(len(text))):
            self._raise_if_failing(chunk=index)
            info = (
                self._generation_info(prompt, text, finish_reason=self._finish_reason(prompt, text))
                if index == last
                else None
            )
            yield delay, GenerationChunk(text=text[index], generation_info=info)

    # -- LangChain's LLM interface ----------------------------------------------------

    def _call(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> str:
        """Answer ``prompt`` in one piece (sync)."""
        text = self._answer(prompt, stop)
        self._raise_if_failing(answer_length=len(text))
        if delay := self._total_delay(len(text)):
            time.sleep(delay)
        return text

    async def _acall(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> str:
        """Answer ``prompt`` in one piece (native async)."""
        text = self._answer(prompt, stop)
        self._raise_if_failing(answer_length=len(text))
        if delay := self._total_delay(len(text)):
            await anyio.sleep(delay)
        return text

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        """Stream the answer one character at a time (sync)."""
        for delay, chunk in self._chunks(prompt, stop):
            if delay:
                time.sleep(delay)
            if run_manager is not None:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        """Stream the answer one character at a time (native async)."""
        for delay, chunk in self._chunks(prompt, stop):
            if delay:
                await anyio.sleep(delay)
            if run_manager is not None:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    # Non-streamed calls go through _call/_acall; these two add the counted usage.

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        generations = []
        for prompt in prompts:
            text = self._call(prompt, stop=stop, run_manager=run_manager, **kwargs)
            generations.append([self._generation(prompt, text)])
        return LLMResult(generations=generations)

    async def _agenerate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        generations = []
        for prompt in prompts:
            text = await self._acall(prompt, stop=stop, run_manager=run_manager, **kwargs)
            generations.append([self._generation(prompt, text)])
        return LLMResult(generations=generations)

    def _generation(self, prompt: str, text: str) -> Generation:
        info = self._generation_info(prompt, text, finish_reason=self._finish_reason(prompt, text))
        return Generation(text=text, generation_info=info)
