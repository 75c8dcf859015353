"""The OTLP exporters of each protocol.

``http/json`` is ours (:mod:`langchain_otel._export._otlp_http_json`), built on the
embedded default's encoder, and so are the traces of ``http/protobuf`` (the default;
:mod:`langchain_otel._export._otlp_http_proto`, spans encoded as they end): neither needs
an extra. Metrics and logs over ``http/protobuf`` and everything over ``grpc`` are the
official packages' (the ``otlp`` and ``grpc`` extras).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_otel.exceptions import MissingDependencyError

__all__ = ["PROTOCOLS", "otlp_exporter"]

PROTOCOLS = ("http/protobuf", "grpc", "http/json")
"""The ``OTEL_EXPORTER_OTLP_PROTOCOL`` values we support."""

_HTTP = "opentelemetry.exporter.otlp.proto.http"
_GRPC = "opentelemetry.exporter.otlp.proto.grpc"
_MODULES = {
    ("http/protobuf", "metrics"): (f"{_HTTP}.metric_exporter", "OTLPMetricExporter"),
    ("http/protobuf", "logs"): (f"{_HTTP}._log_exporter", "OTLPLogExporter"),
    ("grpc", "traces"): (f"{_GRPC}.trace_exporter", "OTLPSpanExporter"),
    ("grpc", "metrics"): (f"{_GRPC}.metric_exporter", "OTLPMetricExporter"),
    ("grpc", "logs"): (f"{_GRPC}._log_exporter", "OTLPLogExporter"),
}

_EXTRAS = {"http/protobuf": "otlp", "grpc": "grpc"}


def otlp_exporter(
    signal: str,
    *,
    protocol: str,
    endpoint: str,
    headers: Mapping[str, str],
    timeout: float | None,
) -> Any:
    """Build the OTLP exporter of ``signal`` for ``protocol``.

    Raises:
        MissingDependencyError: The package of ``protocol`` is not installed.

    Example:
        >>> exporter = otlp_exporter(
        ...     "metrics", protocol="http/protobuf", endpoint="http://127.0.0.1:4318/v1/metrics",
        ...     headers={}, timeout=1.0)
        >>> type(exporter).__name__
        'OTLPMetricExporter'
        >>> exporter = otlp_exporter(
        ...     "traces", protocol="http/protobuf", endpoint="http://127.0.0.1:4318/v1/traces",
        ...     headers={}, timeout=1.0)
        >>> type(exporter).__name__
        'OtlpHttpProtoSpanExporter'
        >>> exporter.shutdown()
        >>> exporter = otlp_exporter(
        ...     "logs", protocol="http/json", endpoint="http://127.0.0.1:4318/v1/logs",
        ...     headers={}, timeout=1.0)
        >>> type(exporter).__name__
        'LineLogExporter'
    """
    if protocol == "http/json":
        from langchain_otel._export._otlp_http_json import (  # noqa: PLC0415 - as the official ones: when used
            otlp_json_exporter,
        )

        return otlp_json_exporter(signal, endpoint, headers=headers, timeout=timeout)
    if (protocol, signal) == ("http/protobuf", "traces"):
        from langchain_otel._export._otlp_http_proto import (  # noqa: PLC0415 - when used
            otlp_proto_span_exporter,
        )

        return otlp_proto_span_exporter(endpoint, headers=headers, timeout=timeout)
    module_name, class_name = _MODULES[protocol, signal]
    try:
        module = __import__(module_name, fromlist=[class_name])
    except ImportError as exc:
        extra = _EXTRAS[protocol]
        raise MissingDependencyError(
            f"OTLP over {protocol} needs the '{extra}' extra: pip install 'langchain-otel[{extra}]'"
        ) from exc
    kwargs: dict[str, Any] = {"endpoint": endpoint, "headers": dict(headers)}
    if timeout is not None:
        kwargs["timeout"] = timeout
    if protocol == "grpc":
        kwargs["insecure"] = endpoint.startswith("http://")
    return getattr(module, class_name)(**kwargs)
