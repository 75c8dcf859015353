"""OTLP protobuf messages as their OTLP JSON objects, and back (the official path).

The OTLP JSON encoding is protobuf's JSON mapping with two changes: enums as integers and
``traceId``/``spanId``/``parentSpanId`` as lowercase hex (protobuf's printer gives base64).
Metrics always take this path (one export per interval); spans and log records take it
only when the fast encoder of :mod:`langchain_otel._export._otlp_json` cannot. protobuf and
the official encoders are imported on first use: with no exporter that writes OTLP JSON
(exporters ``none``, say) they never enter the process, which keeps ≈ 6.6 k objects out of
every full garbage collection (``docs/performance.md``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.protobuf.message import Message
    from opentelemetry.sdk._logs import ReadableLogRecord
    from opentelemetry.sdk.metrics.export import MetricsData
    from opentelemetry.sdk.trace import ReadableSpan

__all__ = [
    "from_otlp_json",
    "logs_request",
    "metrics_request",
    "spans_request",
    "to_otlp_json",
]

# Fields that carry trace/span ids (bytes in protobuf) anywhere in the three requests:
# spans, span links, log records and metric exemplars.
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId"})


def _map_ids(node: Any, convert: Callable[[str], str]) -> Any:
    """``node`` with every id string (a ``_ID_KEYS`` value) replaced by ``convert(id)``."""
    if isinstance(node, dict):
        return {
            key: (
                convert(value)
                if key in _ID_KEYS and isinstance(value, str)
                else _map_ids(value, convert)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_map_ids(item, convert) for item in node]
    return node


def _base64_to_hex(value: str) -> str:
    return base64.b64decode(value).hex()


def _hex_to_base64(value: str) -> str:
    return base64.b64encode(bytes.fromhex(value)).decode("ascii")


def _hex_in_place(node: dict[str, Any]) -> None:
    for key in _ID_KEYS:
        value = node.get(key)
        if isinstance(value, str):
            node[key] = _base64_to_hex(value)


def _fix_spans(data: dict[str, Any]) -> None:
    for resource in data["resourceSpans"]:
        for scope in resource.get("scopeSpans", ()):
            for span in scope.get("spans", ()):
                _hex_in_place(span)
                for link in span.get("links", ()):
                    _hex_in_place(link)


def _fix_logs(data: dict[str, Any]) -> None:
    for resource in data["resourceLogs"]:
        for scope in resource.get("scopeLogs", ()):
            for record in scope.get("logRecords", ()):
                _hex_in_place(record)


def _fix_metrics(data: dict[str, Any]) -> None:
    for resource in data["resourceMetrics"]:
        for scope in resource.get("scopeMetrics", ()):
            for metric in scope.get("metrics", ()):
                for kind in ("sum", "gauge", "histogram", "exponentialHistogram"):
                    for point in metric.get(kind, {}).get("dataPoints", ()):
                        for exemplar in point.get("exemplars", ()):
                            _hex_in_place(exemplar)


_FIXERS = {"resourceSpans": _fix_spans, "resourceLogs": _fix_logs, "resourceMetrics": _fix_metrics}


def _fix_request_ids(data: dict[str, Any]) -> bool:
    """Hex the ids of an export request where they can occur; False if not a request."""
    for key, fix in _FIXERS.items():
        if key in data:
            fix(data)
            return True
    return False


def to_otlp_json(message: Message) -> dict[str, Any]:
    r"""An OTLP protobuf message as its OTLP JSON object (hex ids, integer enums).

    Example:
        >>> from opentelemetry.proto.trace.v1.trace_pb2 import Span
        >>> span = Span(trace_id=bytes(range(16)), span_id=b"\x01" * 8, kind=3, name="x")
        >>> to_otlp_json(span)["traceId"], to_otlp_json(span)["kind"]
        ('000102030405060708090a0b0c0d0e0f', 3)
    """
    from google.protobuf import json_format  # noqa: PLC0415 - on first use (module doc)

    as_dict: dict[str, Any] = json_format.MessageToDict(message, use_integers_for_enums=True)
    if _fix_request_ids(as_dict):  # the three export requests: only where ids can be
        return as_dict
    result: dict[str, Any] = _map_ids(as_dict, _base64_to_hex)  # any other message: walk it all
    return result


def from_otlp_json(data: dict[str, Any], message: Message) -> Message:
    r"""Parse an OTLP JSON object (hex ids) into ``message`` and return it.

    Example:
        >>> from opentelemetry.proto.trace.v1.trace_pb2 import Span
        >>> span = from_otlp_json({"spanId": "0101010101010101", "name": "x"}, Span())
        >>> span.span_id
        b'\x01\x01\x01\x01\x01\x01\x01\x01'
    """
    from google.protobuf import json_format  # noqa: PLC0415 - on first use (module doc)

    return json_format.ParseDict(_map_ids(data, _hex_to_base64), message)


def spans_request(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """The ``ExportTraceServiceRequest`` of ``spans`` by the official encoder, as OTLP JSON.

    Example:
        >>> spans_request([])
        {}
    """
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import (  # noqa: PLC0415
        encode_spans,
    )

    return to_otlp_json(encode_spans(spans))


def logs_request(records: Sequence[ReadableLogRecord]) -> dict[str, Any]:
    """The ``ExportLogsServiceRequest`` of ``records`` by the official encoder, as OTLP JSON.

    Example:
        >>> logs_request([])
        {}
    """
    from opentelemetry.exporter.otlp.proto.common._log_encoder import (  # noqa: PLC0415
        encode_logs,
    )

    return to_otlp_json(encode_logs(records))


def metrics_request(data: MetricsData) -> dict[str, Any]:
    """The ``ExportMetricsServiceRequest`` of ``data`` by the official encoder, as OTLP JSON."""
    from opentelemetry.exporter.otlp.proto.common.metrics_encoder import (  # noqa: PLC0415
        encode_metrics,
    )

    return to_otlp_json(encode_metrics(data))
