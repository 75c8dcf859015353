"""OpenAICompatibleLLM: a real model over HTTP, OpenAI's legacy completions API.

Works with OpenAI itself and with self-hosted servers that speak the same API (vLLM,
llama.cpp server, Ollama, LM Studio, TGI): ``POST {base_url}/completions``, JSON or
Server-Sent Events.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import ssl
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import structlog
from httpx_sse import EventSource
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LangSmithParams
from langchain_core.language_models.llms import LLM
from langchain_core.outputs import Generation, GenerationChunk, LLMResult
from langchain_core.utils import secret_from_env
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, field_serializer, field_validator
from typing_extensions import Self

from langchain_otel import __version__
from langchain_otel.exceptions import LLMError
from langchain_otel.llms._http import (
    RetryPolicy,
    error_for_status,
    map_httpx_errors,
    ssl_context,
    unused_ssl_context,
)
from langchain_otel.llms._wire import (
    Completion,
    StreamState,
    build_payload,
    is_event_stream,
    not_an_event_stream,
    parse_completion,
)

__all__ = ["OpenAICompatibleLLM"]

_logger = structlog.get_logger("langchain_otel")

_SAMPLING_PARAMS = (
    "max_tokens",
    "temperature",
    "top_p",
    "frequency_penalty",
    "presence_penalty",
    "seed",
)
_SSE_HEADERS = {"Accept": "text/event-stream", "Cache-Control": "no-store"}


class _NotAsyncio:
    """Stands for "an event loop that is not asyncio's" (trio through anyio)."""


_NOT_ASYNCIO = _NotAsyncio()


def _loop_key() -> object:
    """The running asyncio loop, or one shared key for any other async library."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return _NOT_ASYNCIO


class OpenAICompatibleLLM(LLM):
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

    model_config = ConfigDict(arbitrary_types_allowed=True, validate_assignment=True)

    base_url: str = Field(
        description="The API root, e.g. https://api.openai.com/v1 or http://localhost:8000/v1."
    )
    model: str = Field(min_length=1, description="The model to ask for.")
    api_key: SecretStr | None = Field(
        default_factory=secret_from_env("OPENAI_API_KEY", default=None),
        description="Sent as a bearer token; defaults to $OPENAI_API_KEY; None sends none.",
    )
    provider: str | None = Field(
        default=None,
        description='Reported as ls_provider (default "openai_compatible"; "openai" for '
        "api.openai.com).",
    )
    timeout: float | httpx.Timeout = Field(
        default=60.0,
        description="Seconds to wait for each read, write or free connection, or a full"
        " httpx.Timeout (then connect_timeout is ignored).",
    )
    connect_timeout: float = Field(default=10.0, gt=0, description="Seconds to connect.")
    max_retries: int = Field(default=2, ge=0, description="Retries after the first attempt.")
    retry_backoff: float = Field(default=0.5, ge=0, description="First backoff, in seconds.")
    retry_backoff_max: float = Field(default=8.0, ge=0, description="Longest backoff, seconds.")
    max_retry_after: float = Field(
        default=60.0, ge=0, description="Longest wait honoured from a Retry-After header."
    )
    max_connections: int = Field(default=100, ge=1, description="Size of the connection pool.")
    max_keepalive_connections: int | None = Field(
        default=None, ge=0, description="Idle connections kept (default: max_connections)."
    )
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    seed: int | None = None
    model_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="More body parameters, e.g. {'top_k': 40} for servers that accept them.",
    )
    stream_usage: bool = Field(
        default=True, description="Ask for usage on streams (stream_options.include_usage)."
    )
    restore_stripped_stop: bool = Field(
        default=True,
        description="Append the stop sequence the server stripped, when it can be known.",
    )
    verify: bool | str = Field(
        default=True,
        description="Verify TLS certificates: True, False, or the path of a CA bundle.",
    )
    transport: httpx.BaseTransport | None = Field(default=None, exclude=True, repr=False)
    """A custom httpx transport for the sync client (unit tests, proxies)."""
    async_transport: httpx.AsyncBaseTransport | None = Field(default=None, exclude=True, repr=False)
    """A custom httpx transport for the async clients."""

    _client: httpx.Client | None = PrivateAttr(default=None)
    _aclients: weakref.WeakKeyDictionary[object, httpx.AsyncClient] = PrivateAttr(
        default_factory=weakref.WeakKeyDictionary
    )
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _closed: bool = PrivateAttr(default=False)

    # -- validation -----------------------------------------------------------------

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"base_url must be an http(s) URL such as http://localhost:8000/v1, got {value!r}"
            )
        if parts.username or parts.password:
            raise ValueError("base_url must not contain credentials; pass api_key instead")
        if parts.query or parts.fragment:
            raise ValueError("base_url must not have a query or fragment")
        return value.strip().rstrip("/")

    @field_validator("timeout")
    @classmethod
    def _check_timeout(cls, value: float | httpx.Timeout) -> float | httpx.Timeout:
        if isinstance(value, httpx.Timeout):
            return value
        if not value > 0:
            raise ValueError("timeout must be a number of seconds > 0 (or an httpx.Timeout)")
        return float(value)

    @field_serializer("timeout")
    def _serialize_timeout(self, value: float | httpx.Timeout) -> float | dict[str, Any]:
        return value.as_dict() if isinstance(value, httpx.Timeout) else value

    @property
    def _httpx_timeout(self) -> httpx.Timeout:
        if isinstance(self.timeout, httpx.Timeout):
            return self.timeout
        return httpx.Timeout(self.timeout, connect=self.connect_timeout)

    @property
    def _read_timeout(self) -> float | None:
        return self._httpx_timeout.read

    # -- LangChain's model description -------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "openai_compatible"

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Where LangChain's serializer looks for the secret: ``OPENAI_API_KEY``.

        Example:
            >>> OpenAICompatibleLLM(base_url="http://h/v1", model="m").lc_secrets
            {'api_key': 'OPENAI_API_KEY'}
        """
        return {"api_key": "OPENAI_API_KEY"}

    @property
    def _sampling(self) -> dict[str, Any]:
        params = {name: getattr(self, name) for name in _SAMPLING_PARAMS}
        params.update(self.model_kwargs)
        return {name: value for name, value in params.items() if value is not None}

    @property
    def _identifying_params(self) -> Mapping[str, Any]:
        return {"model_name": self.model, "base_url": self.base_url, **self._sampling}

    @property
    def _is_openai(self) -> bool:
        return urlsplit(self.base_url).hostname == "api.openai.com"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider="openai" if self._is_openai else (self.provider or "openai_compatible"),
            ls_model_name=self.model,
            ls_model_type="llm",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if isinstance(temperature, (int, float)):
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if isinstance(max_tokens, int):
            params["ls_max_tokens"] = max_tokens
        if stop:
            params["ls_stop"] = stop
        return params

    # -- clients ----------------------------------------------------------------------

    @property
    def _url(self) -> str:
        return f"{self.base_url}/completions"

    @property
    def _retry(self) -> RetryPolicy:
        return RetryPolicy(
            max_retries=self.max_retries,
            backoff=self.retry_backoff,
            backoff_max=self.retry_backoff_max,
            max_retry_after=self.max_retry_after,
        )

    def _client_options(self) -> dict[str, Any]:
        headers = {"User-Agent": f"langchain-otel/{__version__}"}
        if self.api_key is not None and self.api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {self.api_key.get_secret_value()}"
        keepalive = self.max_keepalive_connections
        verify = self._ssl_context()
        return {
            "headers": headers,
            "verify": verify,
            "timeout": self._httpx_timeout,
            "limits": httpx.Limits(
                max_connections=self.max_connections,
                max_keepalive_connections=self.max_connections if keepalive is None else keepalive,
            ),
        }

    def _ssl_context(self) -> ssl.SSLContext | bool:
        """The TLS setting of the clients (the CA bundle is loaded once per process)."""
        if urlsplit(self.base_url).scheme == "http":
            return unused_ssl_context()
        if self.verify is False:
            return False
        return ssl_context(self.verify) if isinstance(self.verify, str) else ssl_context()

    def model_post_init(self, context: Any, /) -> None:
        """Load the CA bundle now, in the caller's thread, not later on an event loop."""
        super().model_post_init(context)
        self._ssl_context()

    def _check_open(self) -> None:
        if self._closed:
            raise LLMError("Cannot use a closed OpenAICompatibleLLM client; create a new instance")

    def _sync_client(self) -> httpx.Client:
        self._check_open()
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(transport=self.transport, **self._client_options())
            return self._client

    def _async_client(self) -> httpx.AsyncClient:
        """The async client of the running event loop (connections belong to one loop)."""
        self._check_open()
        loop = _loop_key()
        with self._lock:
            client = self._aclients.get(loop)
            if client is None:
                self._drop_dead_loops()
                client = httpx.AsyncClient(transport=self.async_transport, **self._client_options())
                self._aclients[loop] = client
            return client

    def _drop_dead_loops(self) -> None:
        """Forget the clients of closed event loops (e.g. one per ``asyncio.run``).

        A client references its loop, so the weak key alone never lets go of either: every
        finished ``asyncio.run(llm.ainvoke(...))`` kept its client and open connections.
        Dropped, they are garbage-collected and their sockets closed.
        """
        for key in list(self._aclients):
            is_closed = getattr(key, "is_closed", None)  # asyncio loops; not other keys
            if is_closed is not None and is_closed():
                self._aclients.pop(key, None)

    def close(self) -> None:
        """Close the sync client's connections; the model cannot be used afterwards.

        Async clients are closed by :meth:`aclose` (they need their event loop).

        Example:
            >>> with OpenAICompatibleLLM(base_url="http://h/v1", model="m") as llm:
            ...     pass
            >>> llm.invoke("hi")
            Traceback (most recent call last):
            ...
            langchain_otel.exceptions.LLMError: Cannot use a closed OpenAICompatibleLLM client; create a new instance
        """  # noqa: E501
        with self._lock:
            self._closed = True
            client, self._client = self._client, None
            self._drop_dead_loops()
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the async client of this event loop, and the sync client.

        Example:
            >>> import asyncio
            >>> async def main() -> None:
            ...     async with OpenAICompatibleLLM(base_url="http://h/v1", model="m") as llm:
            ...         pass
            >>> asyncio.run(main())
        """
        loop = _loop_key()
        with self._lock:
            aclient = self._aclients.pop(loop, None)
            others = list(self._aclients.values())
            self._aclients.clear()
        self.close()
        if aclient is not None:
            await aclient.aclose()
        if others:  # clients of other (usually finished) loops cannot be awaited from here
            _logger.debug("llm.clients_dropped", url=self._url, count=len(others))

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        """A copy with its own (not yet created) clients; the fields are copied deeply."""
        update = {
            name: copy.deepcopy(getattr(self, name), memo) for name in ("model_kwargs", "timeout")
        }
        clone = self.model_copy(update=update)
        clone._client = None
        clone._aclients = weakref.WeakKeyDictionary()
        clone._lock = threading.Lock()
        clone._closed = False
        return clone

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- the shared core ----------------------------------------------------------------

    def _payload(
        self, prompt: str, stop: list[str] | None, kwargs: Mapping[str, Any], *, stream: bool
    ) -> dict[str, Any]:
        params = {**self._sampling, **kwargs}
        return build_payload(
            model=self.model,
            prompt=prompt,
            stop=stop,
            params=params,
            stream=stream,
            stream_usage=self.stream_usage,
        )

    def _errors(self, state: StreamState | None = None) -> contextlib.AbstractContextManager[None]:
        def chunks() -> int:
            return state.chunks if state is not None else 0

        return map_httpx_errors(self._url, timeout=self._read_timeout, chunks=chunks)

    def _secret(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key is not None else None

    def _failure(self, response: httpx.Response, attempt: int) -> LLMError:
        return error_for_status(
            response, base_url=self.base_url, secret=self._secret(), attempts=attempt + 1
        )

    def _next_delay(self, error: LLMError, attempt: int) -> float | None:
        delay = self._retry.delay(error, attempt)
        if delay is not None:
            _logger.warning(
                "llm.retry",
                url=self._url,
                attempt=attempt + 1,
                delay_s=round(delay, 3),
                error_type=type(error).__name__,
                status_code=getattr(error, "status_code", None),
            )
        return delay

    def _parse(self, response: httpx.Response, stop: list[str] | None) -> Completion:
        return parse_completion(
            response.content,
            url=self._url,
            content_type=response.headers.get("content-type", ""),
            stop=stop,
            requested_model=self.model,
            restore_stop=self.restore_stripped_stop,
        )

    def _new_stream_state(self, stop: list[str] | None) -> StreamState:
        return StreamState(
            url=self._url,
            stop=stop,
            requested_model=self.model,
            restore_stop=self.restore_stripped_stop,
        )

    @staticmethod
    def _final_chunk(state: StreamState) -> GenerationChunk:
        emitted = state.text
        completion = state.finish()
        return GenerationChunk(
            text=completion.text[len(emitted) :], generation_info=completion.generation_info()
        )

    @staticmethod
    def _generation(completion: Completion) -> Generation:
        return Generation(text=completion.text, generation_info=completion.generation_info())

    def _llm_output(self, completions: list[Completion]) -> dict[str, Any]:
        usage = [c.usage for c in completions if c.usage is not None]
        output: dict[str, Any] = {"model_name": completions[0].model if completions else None}
        if usage and len(usage) == len(completions):
            output["token_usage"] = {
                key: sum(u[key] for u in usage)
                for key in ("prompt_tokens", "completion_tokens", "total_tokens")
            }
        return output

    # -- sync I/O -------------------------------------------------------------------------

    def _complete(
        self, prompt: str, stop: list[str] | None, kwargs: Mapping[str, Any]
    ) -> Completion:
        payload = self._payload(prompt, stop, kwargs, stream=False)
        for attempt in itertools.count():
            try:
                with self._errors():
                    response = self._sync_client().post(self._url, json=payload)
                if response.is_error:
                    raise self._failure(response, attempt)
                return self._parse(response, stop)
            except LLMError as error:
                delay = self._next_delay(error, attempt)
                if delay is None:
                    raise
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _call(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> str:
        """Answer ``prompt`` in one piece (sync)."""
        return self._complete(prompt, stop, kwargs).text

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        completions = [self._complete(prompt, stop, kwargs) for prompt in prompts]
        return LLMResult(
            generations=[[self._generation(c)] for c in completions],
            llm_output=self._llm_output(completions),
        )

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        """Stream the answer as the server sends it (sync, SSE)."""
        payload = self._payload(prompt, stop, kwargs, stream=True)
        for attempt in itertools.count():
            state = self._new_stream_state(stop)
            try:
                with (
                    self._errors(state),
                    self._sync_client().stream(
                        "POST", self._url, json=payload, headers=_SSE_HEADERS
                    ) as response,
                ):
                    if response.is_error:
                        response.read()
                        raise self._failure(response, attempt)
                    content_type = response.headers.get("content-type", "")
                    if not is_event_stream(content_type):
                        raise not_an_event_stream(self._url, content_type, response.read())
                    for event in EventSource(response).iter_sse():
                        if piece := state.feed(event.data):
                            chunk = GenerationChunk(text=piece)
                            if run_manager is not None:
                                run_manager.on_llm_new_token(piece, chunk=chunk)
                            yield chunk
                final = self._final_chunk(state)
            except LLMError as error:
                delay = None if state.started else self._next_delay(error, attempt)
                if delay is None:
                    raise
                time.sleep(delay)
                continue
            if run_manager is not None:
                run_manager.on_llm_new_token(final.text, chunk=final)
            yield final
            return

    # -- async I/O (native: anyio sleeps, no thread hop) -------------------------------------

    async def _acomplete(
        self, prompt: str, stop: list[str] | None, kwargs: Mapping[str, Any]
    ) -> Completion:
        payload = self._payload(prompt, stop, kwargs, stream=False)
        for attempt in itertools.count():
            try:
                with self._errors():
                    response = await self._async_client().post(self._url, json=payload)
                if response.is_error:
                    raise self._failure(response, attempt)
                return self._parse(response, stop)
            except LLMError as error:
                delay = self._next_delay(error, attempt)
                if delay is None:
                    raise
                await anyio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _acall(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> str:
        """Answer ``prompt`` in one piece (native async)."""
        return (await self._acomplete(prompt, stop, kwargs)).text

    async def _agenerate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        if len(prompts) == 1:
            completions = [await self._acomplete(prompts[0], stop, kwargs)]
        else:  # concurrently, sharing the pool
            tasks = [asyncio.ensure_future(self._acomplete(p, stop, kwargs)) for p in prompts]
            try:
                completions = list(await asyncio.gather(*tasks))
            finally:
                for task in tasks:
                    task.cancel()
        return LLMResult(
            generations=[[self._generation(c)] for c in completions],
            llm_output=self._llm_output(completions),
        )

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        """Stream the answer as the server sends it (native async, SSE)."""
        payload = self._payload(prompt, stop, kwargs, stream=True)
        for attempt in itertools.count():
            state = self._new_stream_state(stop)
            try:
                with self._errors(state):
                    async with self._async_client().stream(
                        "POST", self._url, json=payload, headers=_SSE_HEADERS
                    ) as response:
                        if response.is_error:
                            await response.aread()
                            raise self._failure(response, attempt)
                        content_type = response.headers.get("content-type", "")
                        if not is_event_stream(content_type):
                            content = await response.aread()
                            raise not_an_event_stream(self._url, content_type, content)
                        events = EventSource(response).aiter_sse()
                        async with contextlib.aclosing(events):
                            async for event in events:
                                if piece := state.feed(event.data):
                                    chunk = GenerationChunk(text=piece)
                                    if run_manager is not None:
                                        await run_manager.on_llm_new_token(piece, chunk=chunk)
                                    yield chunk
                final = self._final_chunk(state)
            except LLMError as error:
                delay = None if state.started else self._next_delay(error, attempt)
                if delay is None:
                    raise
                await anyio.sleep(delay)
                continue
            if run_manager is not None:
                await run_manager.on_llm_new_token(final.text, chunk=final)
            yield final
            return
