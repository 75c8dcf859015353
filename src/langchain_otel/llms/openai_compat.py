"""OpenAICompatibleLLM: a real model over HTTP, OpenAI's legacy completions API.

Works with OpenAI itself and with self-hosted servers that speak the same API (vLLM,
llama.cpp server, Ollama, LM Studio, TGI): ``POST {base_url}/completions``, JSON or
Server-Sent Events. The HTTP machinery (pool, retries, errors, trace context) is shared
with the chat model (:mod:`langchain_otel.llms._http_model`); this module holds only the
completions wire format's use and LangChain's ``LLM`` methods.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import anyio
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LangSmithParams
from langchain_core.language_models.llms import LLM
from langchain_core.outputs import Generation, GenerationChunk, LLMResult

from langchain_otel.llms._exchange import StateAdapter, StreamDecoder
from langchain_otel.llms._http_model import HTTPModelBase
from langchain_otel.llms._wire import Completion, StreamState, build_payload, parse_completion

__all__ = ["OpenAICompatibleLLM"]

_PATH = "completions"


class _TextChunks(StateAdapter):
    """The stream decoder of the completions API: GenerationChunks from a StreamState."""

    _state: StreamState

    def feed(self, data: str) -> GenerationChunk | None:
        piece = self._state.feed(data)
        return GenerationChunk(text=piece) if piece else None

    def finish(self) -> GenerationChunk:
        emitted = self._state.text
        completion = self._state.finish()
        return GenerationChunk(
            text=completion.text[len(emitted) :], generation_info=completion.generation_info()
        )


class OpenAICompatibleLLM(HTTPModelBase, LLM):
    """A LangChain ``LLM`` calling an OpenAI-style ``POST {base_url}/completions`` endpoint.

    All four paths are native: ``_call``/``_stream`` use one ``httpx.Client`` and
    ``_acall``/``_astream`` one ``httpx.AsyncClient`` (per event loop), created on first use
    and reused, so concurrent calls share a connection pool of at most ``max_connections``.
    Close them with :meth:`close` / :meth:`aclose`, or use the model as a (async) context
    manager. Streams use Server-Sent Events with ``stream_options.include_usage``, and
    ``on_llm_new_token`` is called before each chunk is yielded.

    Every path reports ``generation_info`` (on the last chunk of a stream):
    ``finish_reason``, ``model_name`` (the model named in the *answer*), ``id``,
    ``token_usage`` (``prompt_tokens``, ``completion_tokens``, ``total_tokens``; only when
    the server reports usage) and ``system_fingerprint`` when present.

    Stop sequences are sent as ``stop``; the output ends after the earliest stop sequence,
    which is kept, even when the server strips it (see ``restore_stripped_stop`` for the
    exact rule). Connection errors, 429 and 5xx are retried ``max_retries`` times with
    exponential backoff and jitter, honouring ``Retry-After``; other 4xx never, and a stream
    never once it has yielded a token. Failures raise the exceptions of
    :mod:`langchain_otel.exceptions`, whose messages name the URL and never the key.

    ``api_key`` (read from ``OPENAI_API_KEY`` when not given) is sent as
    ``Authorization: Bearer``; it is a ``SecretStr`` and never appears in ``repr``, ``str``,
    serialized output, logs or error messages.

    Example:
        >>> llm = OpenAICompatibleLLM(
        ...     base_url="http://127.0.0.1:8000/v1", model="my-model", api_key="sk-secret",
        ...     max_tokens=64, temperature=0.2,
        ... )
        >>> llm._identifying_params["model_name"], llm._identifying_params["max_tokens"]
        ('my-model', 64)
        >>> "sk-secret" in repr(llm)
        False
        >>> llm.close()
    """

    @property
    def _llm_type(self) -> str:
        return "openai_compatible"

    @property
    def _url(self) -> str:
        return f"{self.base_url}/{_PATH}"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return self._ls_params("llm", stop, kwargs)

    # -- the completions wire format --------------------------------------------------------

    def _payload(
        self, prompt: str, stop: list[str] | None, kwargs: Mapping[str, Any], *, stream: bool
    ) -> dict[str, Any]:
        return self._body(build_payload, stop, kwargs, stream=stream, prompt=prompt)

    def _parser(self, stop: list[str] | None) -> Callable[[bytes, str], Any]:
        return self._body_parser(_PATH, parse_completion, stop)

    def _decoder(self, stop: list[str] | None) -> Callable[[], StreamDecoder]:
        return self._stream_decoder(_PATH, StreamState, _TextChunks, stop)

    @staticmethod
    def _result(completions: list[Completion]) -> LLMResult:
        usage = [c.usage for c in completions if c.usage is not None]
        output: dict[str, Any] = {"model_name": completions[0].model if completions else None}
        if usage and len(usage) == len(completions):
            output["token_usage"] = {
                key: sum(u[key] for u in usage)
                for key in ("prompt_tokens", "completion_tokens", "total_tokens")
            }
        generations = [
            [Generation(text=c.text, generation_info=c.generation_info())] for c in completions
        ]
        return LLMResult(generations=generations, llm_output=output)

    def _complete(
        self, prompt: str, stop: list[str] | None, kwargs: Mapping[str, Any]
    ) -> Completion:
        payload = self._payload(prompt, stop, kwargs, stream=False)
        completion: Completion = self._post(_PATH, payload, self._parser(stop))
        return completion

    async def _acomplete(
        self, prompt: str, stop: list[str] | None, kwargs: Mapping[str, Any]
    ) -> Completion:
        payload = self._payload(prompt, stop, kwargs, stream=False)
        completion: Completion = await self._apost(_PATH, payload, self._parser(stop))
        return completion

    # -- LangChain's LLM interface ------------------------------------------------------

    def _call(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> str:
        """Answer ``prompt`` in one piece (sync)."""
        return self._complete(prompt, stop, kwargs).text

    async def _acall(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> str:
        """Answer ``prompt`` in one piece (native async)."""
        return (await self._acomplete(prompt, stop, kwargs)).text

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        return self._result([self._complete(prompt, stop, kwargs) for prompt in prompts])

    async def _agenerate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        """Answer every prompt concurrently (one anyio task each, sharing the pool).

        The first failure cancels the other requests and is raised as it is (never wrapped
        in an exception group), as a single request would raise it.
        """
        completions: list[Completion | None] = [None] * len(prompts)
        errors: list[Exception] = []

        async def one(index: int, scope: anyio.CancelScope) -> None:
            try:
                completions[index] = await self._acomplete(prompts[index], stop, kwargs)
            except Exception as exc:
                errors.append(exc)
                scope.cancel()

        async with anyio.create_task_group() as group:
            for index in range(len(prompts)):
                group.start_soon(one, index, group.cancel_scope)
        if errors:
            raise errors[0]
        return self._result([c for c in completions if c is not None])

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        """Stream the answer as the server sends it (sync, SSE)."""
        payload = self._payload(prompt, stop, kwargs, stream=True)
        for chunk in self._post_stream(_PATH, payload, self._decoder(stop)):
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
        """Stream the answer as the server sends it (native async, SSE)."""
        payload = self._payload(prompt, stop, kwargs, stream=True)
        async for chunk in self._apost_stream(_PATH, payload, self._decoder(stop)):
            if run_manager is not None:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
