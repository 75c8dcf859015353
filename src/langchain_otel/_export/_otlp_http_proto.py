"""OTLP/HTTP protobuf traces (``http/protobuf``, the default protocol) from prepared spans.

The official ``OTLPSpanExporter`` takes SDK spans, so its batch queue holds them until the
export thread encodes them: up to 512 spans for up to 5 s, a few dozen objects each for the
garbage collector, which in a service at a steady rate is what makes its full collections
(one ~210 ms pause every ~15 s at 100 requests/s, measured; ``docs/performance.md``). Ours
queues each span's protobuf bytes, encoded as it ends (:mod:`langchain_otel._export._otlp_proto`),
and sends the stitched ``ExportTraceServiceRequest``: the same bytes the official exporter
sends, to the same URL, with the same headers, retries, compression and certificates
(:class:`~langchain_otel._export._otlp_http.OtlpHttpWriter`). Metrics and logs over
``http/protobuf`` stay the official exporters' (the ``otlp`` extra).

Example:
    >>> exporter = otlp_proto_span_exporter("http://127.0.0.1:4318/v1/traces")
    >>> exporter.export([]).name  # nothing to send
    'SUCCESS'
    >>> exporter.shutdown()
    >>> exporter.export([]).name
    'FAILURE'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from langchain_otel._export._otlp_http import OtlpHttpWriter
from langchain_otel._export._otlp_proto import proto_request

__all__ = ["OtlpHttpProtoSpanExporter", "otlp_proto_span_exporter"]


def _proto_rejected(content: bytes) -> tuple[int, str] | None:
    """The partial success of an ``ExportTraceServiceResponse`` (none in an empty answer)."""
    if not content:
        return None
    partial = ExportTraceServiceResponse.FromString(content).partial_success
    return int(partial.rejected_spans), str(partial.error_message)


class OtlpHttpProtoSpanExporter(SpanExporter):
    """POST spans (prepared or SDK ones) as one ``ExportTraceServiceRequest`` each batch.

    Example:
        >>> writer = OtlpHttpWriter("http://127.0.0.1:4318/v1/traces", "application/x-protobuf")
        >>> exporter = OtlpHttpProtoSpanExporter(writer)
        >>> exporter.export([]).name
        'SUCCESS'
        >>> exporter.shutdown()
    """

    def __init__(self, writer: OtlpHttpWriter) -> None:
        self._writer = writer
        self._closed = False

    @property
    def timeout(self) -> float:
        """Seconds one export may take, retries included."""
        return self._writer.timeout

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        """Send the request of ``spans``; FAILURE when shut down or not delivered."""
        if self._closed:
            return SpanExportResult.FAILURE
        try:
            body = proto_request(spans)
            if body:
                self._writer.send(body)
        except (OSError, ValueError, TypeError):  # ConnectionError is an OSError
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Refuse later exports, stop retrying and close the connections."""
        self._closed = True
        self._writer.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Requests are sent synchronously: nothing to flush."""
        return True


def otlp_proto_span_exporter(
    endpoint: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    compression: str | None = None,
) -> OtlpHttpProtoSpanExporter:
    """The ``http/protobuf`` span exporter; arguments as ``OtlpHttpWriter``'s.

    Raises:
        ConfigurationError: A compression, timeout or certificate variable is invalid.

    Example:
        >>> exporter = otlp_proto_span_exporter("http://127.0.0.1:4318/v1/traces", timeout=2)
        >>> type(exporter).__name__
        'OtlpHttpProtoSpanExporter'
        >>> exporter.shutdown()
    """
    writer = OtlpHttpWriter(
        endpoint,
        "application/x-protobuf",
        headers=headers,
        timeout=timeout,
        compression=compression,
        signal="traces",
        rejected=_proto_rejected,
    )
    return OtlpHttpProtoSpanExporter(writer)
