"""OTLP/HTTP delivery: POST one encoded export request, with the specification's retries.

What both of our OTLP/HTTP exporters share, ``http/json``
(:mod:`langchain_otel._export._otlp_http_json`) and the traces of ``http/protobuf``
(:mod:`langchain_otel._export._otlp_http_proto`): a 2xx answer is success (a partial
success is logged, not retried), 429, 502, 503 and 504 and connection errors are retried
with exponential backoff and jitter (or after the server's ``Retry-After``) until the
timeout, any other status fails at once. Compression (``gzip``), the CA certificate and the
client certificate are read from the same variables the official exporters read. The
client is ``httpx``.

Example:
    >>> writer = OtlpHttpWriter("http://127.0.0.1:9/v1/traces", "application/x-protobuf",
    ...                         timeout=0.2)
    >>> try:
    ...     writer.send(b"")
    ... except ConnectionError as exc:
    ...     print("not delivered")
    not delivered
    >>> writer.close()
"""

from __future__ import annotations

import gzip
import logging
import os
import random
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from typing import Final

import httpx
from opentelemetry.instrumentation.utils import suppress_instrumentation

from langchain_otel._settings_parsers import parse_seconds
from langchain_otel._version import __version__
from langchain_otel.exceptions import ConfigurationError

__all__ = [
    "DEFAULT_TIMEOUT",
    "OTEL_EXPORTER_OTLP_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_CLIENT_KEY",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OtlpHttpWriter",
    "Rejected",
]

DEFAULT_TIMEOUT = 10.0
"""Seconds one export may take, retries included (the OTLP default)."""

_RETRYABLE = frozenset({429, 502, 503, 504})
_FIRST_BACKOFF = 1.0
_MAX_BACKOFF = 32.0
_USER_AGENT = f"langchain-otel/{__version__}"

_logger = logging.getLogger(__name__)


OTEL_EXPORTER_OTLP_COMPRESSION: Final = "OTEL_EXPORTER_OTLP_COMPRESSION"
"""``gzip`` or ``none`` (default): how our OTLP/HTTP exporters compress its request bodies.

A standard variable, read by the official exporters for their protocols too; per signal,
``OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_COMPRESSION`` wins over it. Any other value
raises ``ConfigurationError`` at ``configure()``.
"""

OTEL_EXPORTER_OTLP_CERTIFICATE: Final = "OTEL_EXPORTER_OTLP_CERTIFICATE"
"""A PEM file of the CA certificates our OTLP/HTTP exporters trust (default: the system's).

A standard variable, read by the official exporters too; per signal,
``OTEL_EXPORTER_OTLP_{SIGNAL}_CERTIFICATE`` wins over it. A file that cannot be loaded
raises ``ConfigurationError`` at ``configure()``.
"""

OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: Final = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"
"""A PEM client certificate our OTLP/HTTP exporters present (mutual TLS), with ``..._CLIENT_KEY``.

A standard variable; per signal, ``OTEL_EXPORTER_OTLP_{SIGNAL}_CLIENT_CERTIFICATE`` wins.
"""

OTEL_EXPORTER_OTLP_CLIENT_KEY: Final = "OTEL_EXPORTER_OTLP_CLIENT_KEY"
"""The PEM private key of ``OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`` (if not in that file).

A standard variable; per signal, ``OTEL_EXPORTER_OTLP_{SIGNAL}_CLIENT_KEY`` wins.
"""


def _read(general: str, per_signal: str | None) -> str | None:
    """The per-signal variable, else the general one; ``None`` when neither is set."""
    for name in (per_signal, general):
        value = os.environ.get(name, "").strip() if name else ""
        if value:
            return value
    return None


def _compression(value: str | None, signal: str) -> bool:
    if value is None:
        per_signal = f"OTEL_EXPORTER_OTLP_{signal}_COMPRESSION"
        value = _read(OTEL_EXPORTER_OTLP_COMPRESSION, per_signal) or "none"
    chosen = value.lower()
    if chosen not in ("gzip", "none"):
        raise ConfigurationError(
            f"OTEL_EXPORTER_OTLP_COMPRESSION: unsupported compression {chosen!r}; "
            "use one of: gzip, none"
        )
    return chosen == "gzip"


def _timeout(value: float | None, signal: str) -> float:
    if value is not None:
        return value
    raw = _read("OTEL_EXPORTER_OTLP_TIMEOUT", f"OTEL_EXPORTER_OTLP_{signal}_TIMEOUT")
    if raw is None:
        return DEFAULT_TIMEOUT
    return parse_seconds(raw, "OTEL_EXPORTER_OTLP_TIMEOUT")  # as the `timeout` setting


def _tls(signal: str) -> ssl.SSLContext | bool:
    """The TLS context from the certificate variables; ``True`` (system CAs) without them."""
    ca_file = _read(OTEL_EXPORTER_OTLP_CERTIFICATE, f"OTEL_EXPORTER_OTLP_{signal}_CERTIFICATE")
    cert_file = _read(
        OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE, f"OTEL_EXPORTER_OTLP_{signal}_CLIENT_CERTIFICATE"
    )
    key_file = _read(OTEL_EXPORTER_OTLP_CLIENT_KEY, f"OTEL_EXPORTER_OTLP_{signal}_CLIENT_KEY")
    if not (ca_file or cert_file):
        return True
    try:
        context = ssl.create_default_context(cafile=ca_file)
        if cert_file:
            context.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            "OTEL_EXPORTER_OTLP_CERTIFICATE / CLIENT_CERTIFICATE / CLIENT_KEY: "
            f"cannot load them ({exc})"
        ) from exc
    return context


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None  # absent, or an HTTP date: use the backoff


Rejected = Callable[[bytes], "tuple[int, str] | None"]
"""Reads a 2xx answer's body: (items rejected, message) of a partial success, else None."""


def _no_partial_success(content: bytes) -> tuple[int, str] | None:
    return None


class OtlpHttpWriter:
    """POST each body as one OTLP/HTTP request to ``endpoint``, with the spec's retries.

    ``send`` raises ``ConnectionError`` when the request was not delivered (after the
    retries the timeout allows), and logs why on this module's logger.

    Args:
        endpoint: The signal's full URL (``.../v1/traces``).
        content_type: ``application/json`` or ``application/x-protobuf``.
        headers: Extra request headers (``OTEL_EXPORTER_OTLP_HEADERS``, already parsed).
        timeout: Seconds per export, retries included; ``None`` reads
            ``OTEL_EXPORTER_OTLP_[SIGNAL_]TIMEOUT`` (seconds, as the official Python
            exporters do), default 10.
        compression: ``"gzip"`` or ``"none"``; ``None`` reads
            ``OTEL_EXPORTER_OTLP_[SIGNAL_]COMPRESSION``.
        signal: ``traces`` (default), ``metrics`` or ``logs``: which per-signal variables
            apply.
        rejected: Reads a partial success from a 2xx answer's body (logged when
            something was rejected); default: none is read.

    Raises:
        ConfigurationError: A compression, timeout or certificate variable is invalid.

    Example:
        >>> OtlpHttpWriter("http://127.0.0.1:4318/v1/logs", "application/json",
        ...                compression="zstd")
        Traceback (most recent call last):
        ...
        langchain_otel.exceptions.ConfigurationError: OTEL_EXPORTER_OTLP_COMPRESSION: unsupported compression 'zstd'; use one of: gzip, none
    """  # noqa: E501

    def __init__(
        self,
        endpoint: str,
        content_type: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        compression: str | None = None,
        signal: str = "traces",
        rejected: Rejected = _no_partial_success,
    ) -> None:
        upper = signal.upper()
        self.endpoint = endpoint
        self.timeout = _timeout(timeout, upper)
        self._gzip = _compression(compression, upper)
        self._rejected = rejected
        self._label = "OTLP/HTTP JSON" if content_type == "application/json" else "OTLP/HTTP"
        request_headers = {"User-Agent": _USER_AGENT, **dict(headers or {})}
        request_headers["Content-Type"] = content_type
        if self._gzip:
            request_headers["Content-Encoding"] = "gzip"
        self._client = httpx.Client(headers=request_headers, verify=_tls(upper))
        self._closed = threading.Event()

    def send(self, body: bytes) -> None:
        """POST ``body``; raise ``ConnectionError`` if it was not delivered.

        Instrumentation is suppressed meanwhile (``opentelemetry-instrumentation-httpx``
        would otherwise trace the export itself, and export that trace in turn).
        """
        if self._gzip:
            body = gzip.compress(body, compresslevel=6)
        with suppress_instrumentation():
            self._deliver(body)

    def _deliver(self, body: bytes) -> None:
        deadline = time.monotonic() + self.timeout
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            if self._closed.is_set() or remaining <= 0:
                error = "shut down" if self._closed.is_set() else "timed out"
                break
            retry_after: float | None = None
            try:
                response = self._client.post(self.endpoint, content=body, timeout=remaining)
            except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: client closed
                error = f"{type(exc).__name__}: {exc}"
            else:
                if response.is_success:
                    self._partial(response)
                    return
                error = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
                if response.status_code not in _RETRYABLE:
                    break
                retry_after = _retry_after(response)
            if retry_after is None:
                backoff = min(_FIRST_BACKOFF * 2**attempt, _MAX_BACKOFF)
                retry_after = backoff * random.uniform(0.8, 1.2)
            attempt += 1
            if time.monotonic() + retry_after >= deadline or self._closed.wait(retry_after):
                break
        _logger.warning("%s export to %s failed: %s", self._label, self.endpoint, error)
        raise ConnectionError(f"{self.endpoint}: {error}")

    def _partial(self, response: httpx.Response) -> None:
        """Log a partial success (items the backend rejected); it is not retried."""
        try:
            partial = self._rejected(response.content)
        except Exception:  # not the response the specification defines: nothing to report
            return
        if partial is None:
            return
        rejected, message = partial
        if rejected or message:
            _logger.warning(
                "%s export to %s partly rejected: %d item(s) rejected; %s",
                self._label,
                self.endpoint,
                rejected,
                message or "no message",
            )

    def close(self) -> None:
        """Stop retrying and close the connections."""
        self._closed.set()
        self._client.close()
