"""Exceptions raised by langchain-otel.

The hierarchy::

    LangchainOtelError
    ├── ConfigurationError (also a ValueError)     invalid arguments or OTEL_* settings
    ├── MissingDependencyError (also ImportError)  an optional extra is not installed
    └── LLMError                                   a model call failed
        ├── LLMConnectionError                     the server could not be reached
        ├── LLMTimeoutError                        the server did not answer in time
        ├── LLMResponseError                       the server answered something unusable
        └── UpstreamHTTPError                      the server answered with an HTTP error
            ├── AuthenticationError                401 / 403
            └── RateLimitError                     429, after the retries ran out

Telemetry code never raises into the application at run time; these exceptions are
raised where the user called us (a constructor, ``configure()``, a model call).

Example:
    >>> from langchain_otel.exceptions import ConfigurationError
    >>> issubclass(ConfigurationError, ValueError)
    True
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "LLMConnectionError",
    "LLMError",
    "LLMResponseError",
    "LLMTimeoutError",
    "LangchainOtelError",
    "MissingDependencyError",
    "RateLimitError",
    "UpstreamHTTPError",
]


class LangchainOtelError(Exception):
    """Base class of every exception raised by langchain-otel.

    Example:
        >>> try:
        ...     raise ConfigurationError("exporter: unknown name 'x'")
        ... except LangchainOtelError as exc:
        ...     print(exc)
        exporter: unknown name 'x'
    """


class ConfigurationError(LangchainOtelError, ValueError):
    """An argument or ``OTEL_*`` setting is invalid; the message names it and the valid values.

    Example:
        >>> raise ConfigurationError("exporter: unknown 'zipkin'; use one of: otlp, console")
        Traceback (most recent call last):
        ...
        langchain_otel.exceptions.ConfigurationError: exporter: unknown 'zipkin'; use one of: otlp, console
    """  # noqa: E501


class MissingDependencyError(LangchainOtelError, ImportError):
    """An optional dependency is missing; the message gives the ``pip install`` command.

    Example:
        >>> str(MissingDependencyError("pip install 'langchain-otel[otlp]'"))
        "pip install 'langchain-otel[otlp]'"
    """


class LLMError(LangchainOtelError):
    """A call to a model failed.

    Example:
        >>> isinstance(LLMConnectionError("unreachable"), LLMError)
        True
    """


class LLMConnectionError(LLMError):
    """The model server could not be reached (the message names the URL).

    Example:
        >>> LLMConnectionError("cannot connect to http://127.0.0.1:9/v1/completions")
        LLMConnectionError('cannot connect to http://127.0.0.1:9/v1/completions')
    """


class LLMTimeoutError(LLMError):
    """The model server did not answer within the configured timeout.

    Example:
        >>> isinstance(LLMTimeoutError("timed out"), LLMError)
        True
    """


class LLMResponseError(LLMError):
    """The server answered, but with something that is not a valid completion.

    Example:
        >>> LLMResponseError("expected JSON, received 'oops'")
        LLMResponseError("expected JSON, received 'oops'")
    """


class UpstreamHTTPError(LLMError):
    """The model server answered with an HTTP error status.

    Args:
        message: What happened and what to do.
        status_code: The HTTP status code.
        url: The URL that was called (never contains credentials).
        body: The start of the response body, truncated.
        retry_after: Seconds the server asked to wait (``Retry-After``), if it said.

    Example:
        >>> err = UpstreamHTTPError("bad request", status_code=400, url="http://h/v1", body="{}")
        >>> err.status_code
        400
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        url: str,
        body: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.url = url
        self.body = body
        self.retry_after = retry_after


class AuthenticationError(UpstreamHTTPError):
    """The server refused the credentials (401/403); the message names the base URL, never the key.

    Example:
        >>> issubclass(AuthenticationError, UpstreamHTTPError)
        True
    """


class RateLimitError(UpstreamHTTPError):
    """The server kept answering 429 after every retry.

    Example:
        >>> issubclass(RateLimitError, UpstreamHTTPError)
        True
    """
