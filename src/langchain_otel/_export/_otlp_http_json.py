"""OTLP/HTTP with the JSON encoding (``OTEL_EXPORTER_OTLP_PROTOCOL=http/json``).

The specification's third protocol, next to ``http/protobuf`` and ``grpc``: each export
request is POSTed as OTLP JSON (``Content-Type: application/json``) to the signal's URL,
which every OpenTelemetry Collector's ``otlp`` receiver accepts. The requests are the lines
the embedded default writes (:mod:`langchain_otel._export._lines`), so spans are encoded as
they end and queued as text, like the embedded default's (fewer objects for the garbage
collector than SDK spans waiting in the queue; ``docs/performance.md``), and no protobuf
runs per span. It needs no extra: the client is ``httpx``.

Delivery (the specification's retries, compression, certificates) is
:class:`~langchain_otel._export._otlp_http.OtlpHttpWriter`'s, shared with ``http/protobuf``.

Example:
    >>> writer = OtlpHttpJsonWriter("http://127.0.0.1:9/v1/traces", timeout=0.2)
    >>> try:
    ...     writer.write_line(b"{}")
    ... except ConnectionError as exc:
    ...     print("not delivered")
    not delivered
    >>> writer.close()
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from langchain_otel._export._lines import LineLogExporter, LineMetricExporter, LineSpanExporter
from langchain_otel._export._otlp_http import OtlpHttpWriter

__all__ = ["OtlpHttpJsonWriter", "otlp_json_exporter"]


def _json_rejected(content: bytes) -> tuple[int, str] | None:
    """The partial success of a JSON answer (a Collector answers ``{"partialSuccess":{}}``)."""
    if b"partialSuccess" not in content:
        return None
    partial = json.loads(content)["partialSuccess"]
    rejected = sum(int(v) for k, v in partial.items() if k.startswith("rejected"))
    return rejected, str(partial.get("errorMessage") or "")


class OtlpHttpJsonWriter(OtlpHttpWriter):
    """POST each line as one OTLP/HTTP JSON request to ``endpoint``, with the spec's retries.

    ``write_line`` raises ``ConnectionError`` when the request was not delivered. Arguments
    as :class:`~langchain_otel._export._otlp_http.OtlpHttpWriter`'s, but for the content
    type (``application/json``).

    Raises:
        ConfigurationError: A compression, timeout or certificate variable is invalid.

    Example:
        >>> OtlpHttpJsonWriter("http://127.0.0.1:4318/v1/logs", compression="zstd")
        Traceback (most recent call last):
        ...
        langchain_otel.exceptions.ConfigurationError: OTEL_EXPORTER_OTLP_COMPRESSION: unsupported compression 'zstd'; use one of: gzip, none
    """  # noqa: E501

    def __init__(
        self,
        endpoint: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        compression: str | None = None,
        signal: str = "traces",
    ) -> None:
        super().__init__(
            endpoint,
            "application/json",
            headers=headers,
            timeout=timeout,
            compression=compression,
            signal=signal,
            rejected=_json_rejected,
        )

    def write_line(self, line: bytes) -> None:
        """POST ``line`` (its newline dropped); raise ``ConnectionError`` if not delivered."""
        self.send(line.rstrip(b"\n"))


_EXPORTERS: dict[str, type[LineSpanExporter | LineMetricExporter | LineLogExporter]] = {
    "traces": LineSpanExporter,
    "metrics": LineMetricExporter,
    "logs": LineLogExporter,
}


def otlp_json_exporter(
    signal: str,
    endpoint: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    compression: str | None = None,
) -> LineSpanExporter | LineMetricExporter | LineLogExporter:
    """The OTLP/HTTP JSON exporter of ``signal`` (``traces``, ``metrics`` or ``logs``).

    Arguments as :class:`OtlpHttpJsonWriter`'s; metrics are cumulative.

    Raises:
        ConfigurationError: A compression, timeout or certificate variable is invalid.

    Example:
        >>> exporter = otlp_json_exporter("traces", "http://127.0.0.1:4318/v1/traces")
        >>> exporter.export([]).name  # nothing to send
        'SUCCESS'
        >>> exporter.shutdown()
    """
    writer = OtlpHttpJsonWriter(
        endpoint, headers=headers, timeout=timeout, compression=compression, signal=signal
    )
    return _EXPORTERS[signal](writer)
