"""What every OpenAI-compatible HTTP model shares: fields, validation, pool, retries, I/O.

:class:`HTTPModelBase` is a pydantic mixin put before LangChain's ``LLM`` or
``BaseChatModel``. It holds the connection settings (URL, key, timeouts, retries, pool
size, sampling parameters), builds the :class:`~langchain_otel.llms._exchange.Endpoint` and
the clients, and runs a plan with the sync or the async driver. A model adds only its wire
format (the request body, a body parser, a stream decoder) and LangChain's methods.
"""

from __future__ import annotations

import copy
import ssl
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx
from langchain_core.language_models import LangSmithParams
from langchain_core.utils import secret_from_env
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_serializer,
    field_validator,
)
from typing_extensions import Self

from langchain_otel._version import __version__
from langchain_otel.llms._drivers import adrive, drive
from langchain_otel.llms._exchange import Endpoint, StreamDecoder, exchange
from langchain_otel.llms._http import RetryPolicy, ssl_context, unused_ssl_context
from langchain_otel.llms._pool import ClientPool

__all__ = ["HTTPModelBase"]

_SAMPLING_PARAMS = (
    "max_tokens",
    "temperature",
    "top_p",
    "frequency_penalty",
    "presence_penalty",
    "seed",
)


class HTTPModelBase(BaseModel):
    """The shared fields and HTTP machinery of the OpenAI-compatible models."""

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
    propagate_trace_context: bool = Field(
        default=True,
        description="Send the current trace context (traceparent) with each request, through"
        " the global OpenTelemetry propagator; turn off for a third-party API that should not"
        " see your trace ids.",
    )
    verify: bool | str = Field(
        default=True,
        description="Verify TLS certificates: True, False, or the path of a CA bundle.",
    )
    transport: httpx.BaseTransport | None = Field(default=None, exclude=True, repr=False)
    """A custom httpx transport for the sync client (unit tests, proxies)."""
    async_transport: httpx.AsyncBaseTransport | None = Field(default=None, exclude=True, repr=False)
    """A custom httpx transport for the async clients."""

    _pool: ClientPool = PrivateAttr()

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

    def model_post_init(self, context: Any, /) -> None:
        """Load the CA bundle now, in the caller's thread, not later on an event loop."""
        super().model_post_init(context)
        self._ssl_context()
        self._pool = self._new_pool()

    @property
    def _httpx_timeout(self) -> httpx.Timeout:
        if isinstance(self.timeout, httpx.Timeout):
            return self.timeout
        return httpx.Timeout(self.timeout, connect=self.connect_timeout)

    # -- what the model tells LangChain ----------------------------------------------------

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Where LangChain's serializer looks for the secret: ``OPENAI_API_KEY``.

        Example:
            >>> from langchain_otel.llms import OpenAICompatibleLLM
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

    def _ls_params(
        self, model_type: str, stop: list[str] | None, kwargs: Mapping[str, Any]
    ) -> LangSmithParams:
        is_openai = urlsplit(self.base_url).hostname == "api.openai.com"
        params = LangSmithParams(
            ls_provider="openai" if is_openai else (self.provider or "openai_compatible"),
            ls_model_name=str(kwargs.get("model") or self.model),
            ls_model_type="chat" if model_type == "chat" else "llm",
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

    def _client_options(self) -> dict[str, Any]:
        headers = {"User-Agent": f"langchain-otel/{__version__}"}
        if self.api_key is not None and self.api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {self.api_key.get_secret_value()}"
        keepalive = self.max_keepalive_connections
        return {
            "headers": headers,
            "verify": self._ssl_context(),
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

    def _new_pool(self) -> ClientPool:
        return ClientPool(
            self._client_options,
            owner=type(self).__name__,
            transport=self.transport,
            async_transport=self.async_transport,
        )

    @property
    def _aclients(self) -> weakref.WeakKeyDictionary[object, httpx.AsyncClient]:
        """The async clients, by event loop (for tests)."""
        return self._pool.async_clients

    def _endpoint(self, path: str) -> Endpoint:
        return Endpoint(
            url=f"{self.base_url}/{path}",
            base_url=self.base_url,
            secret=self.api_key.get_secret_value() if self.api_key is not None else None,
            retry=RetryPolicy(
                max_retries=self.max_retries,
                backoff=self.retry_backoff,
                backoff_max=self.retry_backoff_max,
                max_retry_after=self.max_retry_after,
            ),
            read_timeout=self._httpx_timeout.read,
            propagate_trace_context=self.propagate_trace_context,
        )

    # -- the wire format's plumbing, the same for every model ---------------------------

    def _wire_options(self, path: str, stop: list[str] | None) -> dict[str, Any]:
        return {
            "url": f"{self.base_url}/{path}",
            "stop": stop,
            "requested_model": self.model,
            "restore_stop": self.restore_stripped_stop,
        }

    def _body(
        self,
        build: Callable[..., dict[str, Any]],
        stop: list[str] | None,
        kwargs: Mapping[str, Any],
        *,
        stream: bool,
        **inputs: Any,
    ) -> dict[str, Any]:
        """The request body by the wire format's ``build`` (fields, then call kwargs)."""
        return build(
            model=self.model,
            stop=stop,
            params={**self._sampling, **kwargs},
            stream=stream,
            stream_usage=self.stream_usage,
            **inputs,
        )

    def _body_parser(
        self, path: str, parse: Callable[..., Any], stop: list[str] | None
    ) -> Callable[[bytes, str], Any]:
        """``parse(content, content_type=..., url=..., stop=..., ...)`` for this call."""
        options = self._wire_options(path, stop)

        def run(content: bytes, content_type: str) -> Any:
            return parse(content, content_type=content_type, **options)

        return run

    def _stream_decoder(
        self,
        path: str,
        state: Callable[..., Any],
        adapt: Callable[[Any], StreamDecoder],
        stop: list[str] | None,
    ) -> Callable[[], StreamDecoder]:
        """A factory of ``adapt(state(url=..., stop=..., ...))``, one per attempt."""
        options = self._wire_options(path, stop)
        return lambda: adapt(state(**options))

    # -- running one exchange -------------------------------------------------------------

    def _post(self, path: str, body: Mapping[str, Any], parse: Callable[[bytes, str], Any]) -> Any:
        """POST ``body`` (blocking, with retries) and return ``parse(content, content_type)``."""
        plan = exchange(self._endpoint(path), body, parse=parse)
        (answer,) = drive(plan, self._pool.sync())
        return answer

    async def _apost(
        self, path: str, body: Mapping[str, Any], parse: Callable[[bytes, str], Any]
    ) -> Any:
        """The native async :meth:`_post`."""
        plan = exchange(self._endpoint(path), body, parse=parse)
        answers = [answer async for answer in adrive(plan, self._pool.for_this_loop())]
        return answers[0]

    def _post_stream(
        self, path: str, body: Mapping[str, Any], decoder: Callable[[], StreamDecoder]
    ) -> Iterator[Any]:
        """POST ``body`` for server-sent events (blocking); yields the decoder's chunks."""
        plan = exchange(self._endpoint(path), body, decoder=decoder)
        return drive(plan, self._pool.sync())

    def _apost_stream(
        self, path: str, body: Mapping[str, Any], decoder: Callable[[], StreamDecoder]
    ) -> AsyncIterator[Any]:
        """The native async :meth:`_post_stream` (call it inside the event loop)."""
        plan = exchange(self._endpoint(path), body, decoder=decoder)
        return adrive(plan, self._pool.for_this_loop())

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the sync client's connections; the model cannot be used afterwards.

        Async clients are closed by :meth:`aclose` (they need their event loop).

        Example:
            >>> from langchain_otel.llms import OpenAICompatibleLLM
            >>> with OpenAICompatibleLLM(base_url="http://h/v1", model="m") as llm:
            ...     pass
            >>> llm.invoke("hi")
            Traceback (most recent call last):
            ...
            langchain_otel.exceptions.LLMError: Cannot use a closed OpenAICompatibleLLM client; create a new instance
        """  # noqa: E501
        self._pool.close()

    async def aclose(self) -> None:
        """Close the async client of this event loop, and the sync client.

        Example:
            >>> import asyncio
            >>> from langchain_otel.llms import OpenAICompatibleLLM
            >>> async def main() -> None:
            ...     async with OpenAICompatibleLLM(base_url="http://h/v1", model="m") as llm:
            ...         pass
            >>> asyncio.run(main())
        """
        await self._pool.aclose()

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        """A copy with its own (not yet created) clients; the fields are copied deeply."""
        update = {
            name: copy.deepcopy(getattr(self, name), memo) for name in ("model_kwargs", "timeout")
        }
        clone = self.model_copy(update=update)
        clone._pool = clone._new_pool()
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
