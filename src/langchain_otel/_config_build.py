"""Providers and exporters from resolved :class:`~langchain_otel._settings.Settings`.

What is ours lives here: the embedded default's files, drop counting around every exporter,
the Prometheus ``/metrics`` server on a registry of its own, and installing the global
providers once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry._logs import LoggerProvider as APILoggerProvider
from opentelemetry._logs import NoOpLoggerProvider, get_logger_provider, set_logger_provider
from opentelemetry.metrics import MeterProvider as APIMeterProvider
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import ConsoleLogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter
from opentelemetry.trace import NoOpTracerProvider
from opentelemetry.trace import TracerProvider as APITracerProvider

from langchain_otel._export._counting import (
    OTLP_LOGGERS,
    CountingBatchLogRecordProcessor,
    CountingBatchSpanProcessor,
    CountingLogExporter,
    CountingMetricExporter,
    CountingSpanExporter,
    DropCounter,
    OnceFilter,
)
from langchain_otel._export._files import make_private_folder, open_private
from langchain_otel._export._jsonl import JsonlLogExporter, JsonlMetricExporter, JsonlSpanExporter
from langchain_otel._export._lines import LineSpanExporter
from langchain_otel._export._otlp import otlp_exporter
from langchain_otel._export._otlp_http_proto import OtlpHttpProtoSpanExporter
from langchain_otel._export._otlp_proto import prepare_proto
from langchain_otel._export._prepared import prepare as prepare_span
from langchain_otel._settings import UNKNOWN_SERVICE, Settings
from langchain_otel._unread_meters import register as register_unread
from langchain_otel.environment_variables import LANGCHAIN_OTEL_DIRECTORY
from langchain_otel.exceptions import ConfigurationError, MissingDependencyError

__all__ = ["Providers", "build", "install_globals"]

_CONSOLE: dict[str, Any] = {
    "traces": ConsoleSpanExporter,
    "metrics": ConsoleMetricExporter,
    "logs": ConsoleLogRecordExporter,
}
_JSONL: dict[str, Any] = {
    "traces": JsonlSpanExporter,
    "metrics": JsonlMetricExporter,
    "logs": JsonlLogExporter,
}


@dataclass
class Providers:
    """What :func:`build` made: the providers and what must be closed with them."""

    tracer_provider: APITracerProvider
    meter_provider: APIMeterProvider
    logger_provider: APILoggerProvider
    directory: Path | None
    counter: DropCounter
    prometheus_server: Any = None
    log_filter: OnceFilter | None = None


def _check_directory(path: Path) -> None:
    try:
        make_private_folder(path)
        probe = path / ".langchain-otel-write-test"
        open_private(probe).close()
        probe.unlink()
    except OSError as exc:
        raise ConfigurationError(
            f"directory: cannot write telemetry files to {str(path)!r} ({exc.strerror or exc}); "
            f"pass a writable directory= or set {LANGCHAIN_OTEL_DIRECTORY}"
        ) from exc


def _exporter(signal: str, name: str, settings: Settings, directory: Path | None) -> Any:
    if name == "otlp":
        config = settings.signal(signal)
        assert config.endpoint is not None  # resolve() gives otlp an endpoint
        return otlp_exporter(
            signal,
            protocol=config.protocol,
            endpoint=config.endpoint,
            headers=config.headers,
            timeout=settings.timeout,
        )
    if name == "console":
        return _CONSOLE[signal]()
    assert directory is not None  # jsonl always has a folder
    return _JSONL[signal](
        directory / f"{signal}.jsonl",
        max_bytes=settings.max_file_bytes,
        backup_count=settings.backup_count,
    )


def _exporters(signal: str, settings: Settings, directory: Path | None) -> list[tuple[str, Any]]:
    return [
        (name, None if name == "prometheus" else _exporter(signal, name, settings, directory))
        for name in settings.signal(signal).exporters
        if name != "none"
    ]


def _prometheus(settings: Settings) -> tuple[MetricReader, Any]:
    try:
        from opentelemetry.exporter.prometheus import (  # noqa: PLC0415 - optional extra
            PrometheusMetricReader,
        )
        from prometheus_client import (  # noqa: PLC0415 - optional extra
            CollectorRegistry,
            start_http_server,
        )
    except ImportError as exc:
        raise MissingDependencyError(
            "OTEL_METRICS_EXPORTER=prometheus needs the 'prometheus' extra: "
            "pip install 'langchain-otel[prometheus]'"
        ) from exc
    host, port = settings.prometheus_host, settings.prometheus_port
    assert host is not None  # resolved when prometheus is named
    assert port is not None
    registry = CollectorRegistry(auto_describe=True)
    reader = PrometheusMetricReader(registry=registry)
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        reader.shutdown()
        raise ConfigurationError(
            f"prometheus_host/prometheus_port: cannot serve /metrics on {host}:{port} ({exc}); "
            "set OTEL_EXPORTER_PROMETHEUS_HOST/OTEL_EXPORTER_PROMETHEUS_PORT "
            "(port 0 = any free port)"
        ) from exc
    return reader, server


def _prepare_for(exporter: Any) -> Any:
    """What our exporters queue instead of a span: the span encoded as it ends.

    The embedded files and OTLP/HTTP JSON queue its JSON text (``_export/_prepared.py``),
    OTLP/HTTP protobuf its protobuf bytes (``_export/_otlp_proto.py``); the official
    exporters (``grpc``, a console) take the SDK spans themselves.
    """
    if isinstance(exporter, LineSpanExporter):
        return prepare_span
    if isinstance(exporter, OtlpHttpProtoSpanExporter):
        return prepare_proto
    return None


def build(settings: Settings) -> Providers:
    """Build the three providers, their counted exporters and the Prometheus server.

    Raises:
        ConfigurationError: The folder is unwritable or the Prometheus port is taken.
        MissingDependencyError: An exporter's extra is not installed.

    Example:
        >>> from langchain_otel._settings import resolve
        >>> providers = build(resolve({"disabled": True}))
        >>> type(providers.tracer_provider).__name__
        'NoOpTracerProvider'
    """
    counter = DropCounter()
    if settings.disabled:
        return Providers(
            NoOpTracerProvider(), NoOpMeterProvider(), NoOpLoggerProvider(), None, counter
        )
    directory = Path(settings.directory) if settings.directory else None
    if directory is not None:
        _check_directory(directory)
    attributes = dict(settings.resource_attributes)
    if settings.service_name != UNKNOWN_SERVICE:
        attributes[SERVICE_NAME] = settings.service_name
    resource = Resource.create(attributes)

    tracer_provider = TracerProvider(resource=resource)
    for _, span_exporter in _exporters("traces", settings, directory):
        prepare = _prepare_for(span_exporter)
        counted = CountingSpanExporter(span_exporter, counter)
        tracer_provider.add_span_processor(
            CountingBatchSpanProcessor(counted, counter, prepare=prepare)
        )

    readers: list[MetricReader] = []
    prometheus_server = None
    for name, metric_exporter in _exporters("metrics", settings, directory):
        if name == "prometheus":
            reader, prometheus_server = _prometheus(settings)
            readers.append(reader)
            continue
        readers.append(
            PeriodicExportingMetricReader(
                CountingMetricExporter(metric_exporter, counter),
                export_interval_millis=settings.metric_export_interval * 1000.0,
            )
        )
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    if not readers:  # it can never take one: the handler records no points on it
        register_unread(meter_provider)

    logger_provider = LoggerProvider(resource=resource)
    for _, log_exporter in _exporters("logs", settings, directory):
        logger_provider.add_log_record_processor(
            CountingBatchLogRecordProcessor(CountingLogExporter(log_exporter, counter), counter)
        )
    log_filter = None
    if settings.uses("otlp"):
        log_filter = OnceFilter()
        log_filter.install(OTLP_LOGGERS)
    return Providers(
        tracer_provider,
        meter_provider,
        logger_provider,
        directory,
        counter,
        prometheus_server,
        log_filter,
    )


def install_globals(
    tracer_provider: APITracerProvider,
    meter_provider: APIMeterProvider,
    logger_provider: APILoggerProvider,
) -> None:
    """Install the providers as OpenTelemetry's global ones (allowed once per process).

    Raises:
        ConfigurationError: Global providers are already set.
    """
    current = trace.get_tracer_provider()
    if not isinstance(current, trace.ProxyTracerProvider):
        raise ConfigurationError(
            "set_global: the global OpenTelemetry providers are already set (OpenTelemetry "
            "allows that once per process); pass set_global=False and give the handler "
            "telemetry.tracer_provider / telemetry.meter_provider"
        )
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    if type(get_logger_provider()).__name__ == "ProxyLoggerProvider":
        set_logger_provider(logger_provider)
