"""HTTP plumbing shared by the sync and async paths: error mapping and the retry policy.

:func:`map_httpx_errors` turns httpx's exceptions into ours (one place, both paths);
:func:`error_for_status` does the same for HTTP error answers; :class:`RetryPolicy` decides
whether and how long to wait before the next attempt: exponential backoff with jitter on
connection errors, 429 and 5xx, honouring ``Retry-After`` (seconds or an HTTP date, capped).

Example:
    >>> policy = RetryPolicy(max_retries=2, backoff=0.5, backoff_max=8.0, max_retry_after=60.0)
    >>> err = UpstreamHTTPError("busy", status_code=503, url="u", retry_after=1.5)
    >>> policy.delay(err, attempt=0)
    1.5
    >>> policy.delay(err, attempt=2) is None  # the retries ran out
    True
"""

from __future__ import annotations

import email.utils
import functools
import math
import random
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import httpx_sse

from langchain_otel.exceptions import (
    AuthenticationError,
    LLMConnectionError,
    LLMError,
    LLMResponseError,
    LLMTimeoutError,
    RateLimitError,
    UpstreamHTTPError,
)
from langchain_otel.llms._envelope import preview

__all__ = [
    "RetryPolicy",
    "error_for_status",
    "is_retryable",
    "map_httpx_errors",
    "redact",
    "retry_after_seconds",
    "ssl_context",
    "unused_ssl_context",
]

_BODY_CHARS = 500


@functools.cache
def ssl_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """One verifying SSL context per CA bundle for the whole process.

    httpx builds a new context (≈ 70 ms: it loads the CA bundle) for every client it creates
    unless given one; contexts are safe to share between clients and threads.

    Example:
        >>> ssl_context() is ssl_context()
        True
    """
    return httpx.create_ssl_context(verify=ca_bundle or True)


@functools.cache
def unused_ssl_context() -> ssl.SSLContext:
    """A context for plain-http clients, which never handshake: verifying, with no CA loaded.

    It costs microseconds instead of the CA bundle's ≈ 70 ms, and it could not accept any
    certificate if it were ever used.

    Example:
        >>> unused_ssl_context().verify_mode == ssl.CERT_REQUIRED
        True
    """
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` masked (a leaky proxy may echo it).

    Example:
        >>> redact("bad key sk-123", "sk-123")
        'bad key **********'
    """
    if not secret:
        return text
    return text.replace(secret, "**********")


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header (seconds or HTTP date).

    Example:
        >>> retry_after_seconds("2")
        2.0
        >>> retry_after_seconds("Thu, 26 Nov 2026 12:00:10 GMT", now=1795694400.0)
        10.0
        >>> retry_after_seconds("soon") is None
        True
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


def error_for_status(
    response: httpx.Response, *, base_url: str, secret: str | None, attempts: int
) -> UpstreamHTTPError:
    """Our exception for an HTTP error answer; the response body must have been read."""
    status = response.status_code
    url = str(response.request.url)
    body = redact(response.text, secret)[:_BODY_CHARS]
    tried = f" (after {attempts} attempts)" if attempts > 1 else ""
    retry_after = retry_after_seconds(response.headers.get("retry-after"))
    if status in (401, 403):
        return AuthenticationError(
            f"{base_url} refused the credentials (HTTP {status}): check api_key or the"
            f" OPENAI_API_KEY environment variable; server said: {preview(body)}",
            status_code=status,
            url=url,
            body=body,
        )
    if status == 429:
        return RateLimitError(
            f"{url} is rate limiting requests (HTTP 429){tried}: slow down, raise max_retries,"
            f" or ask for a higher limit; server said: {preview(body)}",
            status_code=status,
            url=url,
            body=body,
            retry_after=retry_after,
        )
    if status >= 500:
        advice = "the server failed; retry later or check its logs"
    elif status == 404:
        advice = "check base_url (it usually ends in /v1) and the model name"
    else:
        advice = "the server rejected the request; check the model name and parameters"
    return UpstreamHTTPError(
        f"{url} answered HTTP {status}{tried}: {advice}; server said: {preview(body)}",
        status_code=status,
        url=url,
        body=body,
        retry_after=retry_after,
    )


@contextmanager
def map_httpx_errors(
    url: str, *, timeout: float | None, chunks: Callable[[], int]
) -> Iterator[None]:
    """Translate httpx exceptions raised inside the block into ours, naming ``url``.

    ``chunks`` tells how many chunks a stream had handed out when the error happened.

    Example:
        >>> with map_httpx_errors("http://h/v1/completions", timeout=1.0, chunks=lambda: 0):
        ...     raise httpx.ConnectError("refused")
        Traceback (most recent call last):
        ...
        langchain_otel.exceptions.LLMConnectionError: cannot connect to http://h/v1/completions: refused; check base_url and that the server is running
    """  # noqa: E501
    try:
        yield
    except httpx_sse.SSEError as exc:
        raise LLMResponseError(f"expected a server-sent event stream from {url}: {exc}") from exc
    except httpx.ConnectTimeout as exc:
        raise LLMConnectionError(
            f"timed out connecting to {url}; check base_url and that the server is running"
        ) from exc
    except httpx.PoolTimeout as exc:
        raise LLMTimeoutError(
            f"no free connection to {url} within {timeout} s: all are busy; raise"
            " max_connections or timeout"
        ) from exc
    except httpx.TimeoutException as exc:
        raise LLMTimeoutError(
            f"{url} did not answer within the timeout of {timeout} s"
            f" (after {chunks()} chunk(s)); raise `timeout` if the model is slow"
        ) from exc
    except httpx.ConnectError as exc:
        raise LLMConnectionError(
            f"cannot connect to {url}: {exc}; check base_url and that the server is running"
        ) from exc
    except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
        where = f"mid-stream after {chunks()} chunk(s)" if chunks() else "before it answered"
        raise LLMConnectionError(f"the connection to {url} was lost {where}: {exc}") from exc
    except httpx.HTTPError as exc:
        raise LLMResponseError(f"unusable answer from {url}: {exc}") from exc


def is_retryable(error: LLMError) -> bool:
    """Connection errors, 429 and 5xx are worth another attempt; nothing else is.

    Example:
        >>> is_retryable(UpstreamHTTPError("bad", status_code=400, url="u"))
        False
        >>> is_retryable(LLMConnectionError("refused"))
        True
    """
    if isinstance(error, LLMConnectionError):
        return True
    if isinstance(error, UpstreamHTTPError):
        return error.status_code == 429 or error.status_code >= 500
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, honouring ``Retry-After`` up to ``max_retry_after``.

    Example:
        >>> policy = RetryPolicy(max_retries=3, backoff=1.0, backoff_max=4.0, max_retry_after=9)
        >>> 0.5 <= policy.delay(LLMConnectionError("x"), attempt=1) <= 2.0
        True
    """

    max_retries: int
    backoff: float
    backoff_max: float
    max_retry_after: float

    def delay(self, error: LLMError, attempt: int) -> float | None:
        """Seconds to wait before retrying after ``attempt`` (0-based) failed; None: give up."""
        if attempt >= self.max_retries or not is_retryable(error):
            return None
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, float):
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.backoff_max, self.backoff * 2.0**attempt)
        return ceiling * (0.5 + random.random() / 2)  # jitter, not cryptography
