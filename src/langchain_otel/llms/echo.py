"""EchoLLM: the reference model, LangChain's custom-LLM guide made production-grade."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models.llms import LLM
from langchain_core.outputs import Generation, GenerationChunk, LLMResult

from langchain_otel.llms._echo_core import EchoCore, usage_counts

__all__ = ["EchoLLM"]


class EchoLLM(EchoCore, LLM):
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

    @property
    def _llm_type(self) -> str:
        return "echo"

    @property
    def _identifying_params(self) -> Mapping[str, Any]:
        return {"model_name": self.model_name, "n": self.n}

    # -- the one core shared by all four paths ---------------------------------------

    def _generation_info(self, prompt: str, text: str, *, finish_reason: str) -> dict[str, Any]:
        return {
            "finish_reason": finish_reason,
            "model_name": self.model_name,
            "token_usage": usage_counts(len(prompt), len(text)),
        }

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
        text = self._checked_answer(prompt, stop)
        self._sleep(len(text))
        return text

    async def _acall(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> str:
        """Answer ``prompt`` in one piece (native async)."""
        text = self._checked_answer(prompt, stop)
        await self._asleep(len(text))
        return text

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        """Stream the answer one character at a time (sync)."""
        yield from self._pace(self._chunks(prompt, stop), run_manager)

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        """Stream the answer one character at a time (native async)."""
        async for chunk in self._apace(self._chunks(prompt, stop), run_manager):
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
