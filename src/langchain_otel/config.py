"""``configure()``: tracer, meter and logger providers wired to exporters, in one call.

Arguments win over the standard ``OTEL_*`` environment variables, which are read when
``configure()`` is called (never at import). An argument left as ``None`` means "take it
from the environment, else the default". With no endpoint configured anywhere, telemetry
goes to the **embedded default**: OTLP JSON Lines files in a local folder
(``./langchain-otel-telemetry/`` unless ``directory=`` or ``LANGCHAIN_OTEL_DIRECTORY`` say
otherwise), which ``langchain-otel report DIR`` summarises and a Collector's
``otlpjsonfile`` receiver can replay.

``configure()`` is idempotent: a second call that resolves to the same settings returns
the same :class:`Telemetry`; a call that resolves to different settings raises
:class:`~langchain_otel.exceptions.ConfigurationError` naming them (call ``shutdown()``
first to reconfigure).

Example:
    >>> import tempfile
    >>> from langchain_otel import configure, shutdown
    >>> telemetry = configure(service_name="doc", directory=tempfile.mkdtemp(), set_global=False)
    >>> telemetry.config["traces_exporter"], telemetry.config["service_name"]
    (('jsonl',), 'doc')
    >>> configure(service_name="doc", directory=telemetry.directory, set_global=False) is telemetry
    True
    >>> shutdown()
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry._logs import LoggerProvider as APILoggerProvider
from opentelemetry._logs import NoOpLoggerProvider, get_logger_provider, set_logger_provider
from opentelemetry.metrics import MeterProvider as APIMeterProvider
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, ConsoleLogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter
from opentelemetry.trace import NoOpTracerProvider
from opentelemetry.trace import TracerProvider as APITracerProvider
from opentelemetry.util.re import parse_env_headers

from langchain_otel._export._counting import (
    OTLP_LOGGERS,
    CountingBatchSpanProcessor,
    CountingLogExporter,
    CountingMetricExporter,
    CountingSpanExporter,
    DropCounter,
    OnceFilter,
)
from langchain_otel._export._jsonl import (
    DEFAULT_BACKUP_COUNT,
    DEFAULT_MAX_BYTES,
    JsonlLogExporter,
    JsonlMetricExporter,
    JsonlSpanExporter,
)
from langchain_otel._export._logs_bridge import OTelLogsBridge
from langchain_otel._export._otlp import PROTOCOLS, otlp_exporter
from langchain_otel.environment_variables import LANGCHAIN_OTEL_DIRECTORY
from langchain_otel.exceptions import ConfigurationError, MissingDependencyError

__all__ = [
    "DEFAULT_DIRECTORY",
    "LANGCHAIN_OTEL_DIRECTORY",
    "OTelLogsBridge",
    "Telemetry",
    "configure",
    "get_config",
    "is_configured",
    "reset_defaults",
    "shutdown",
]

DEFAULT_DIRECTORY = "langchain-otel-telemetry"
"""The embedded default's folder when neither ``directory=`` nor the variable is set."""

SIGNALS = ("traces", "metrics", "logs")
_EXPORTERS = {
    "traces": ("otlp", "jsonl", "console", "none"),
    "metrics": ("otlp", "jsonl", "prometheus", "console", "none"),
    "logs": ("otlp", "jsonl", "console", "none"),
}
_DEFAULT_INTERVAL_S = 60.0
_DEFAULT_PROMETHEUS_HOST = "localhost"
_DEFAULT_PROMETHEUS_PORT = 9464
_HTTP_PATHS = {"traces": "v1/traces", "metrics": "v1/metrics", "logs": "v1/logs"}
_DEFAULT_ENDPOINTS = {"http/protobuf": "http://localhost:4318", "grpc": "http://localhost:4317"}
_TRUE = frozenset({"true", "1", "yes", "on"})


class Telemetry:
    """What ``configure()`` set up: the three providers, where files go, and drop counts.

    Example:
        >>> import tempfile
        >>> from langchain_otel import configure
        >>> telemetry = configure(directory=tempfile.mkdtemp(), set_global=False)
        >>> tracer = telemetry.tracer_provider.get_tracer("doc")
        >>> with tracer.start_as_current_span("work"):
        ...     pass
        >>> telemetry.shutdown()
        >>> (telemetry.directory / "traces.jsonl").exists(), telemetry.dropped["traces"]
        (True, 0)
    """

    def __init__(
        self,
        *,
        config: dict[str, Any],
        tracer_provider: APITracerProvider,
        meter_provider: APIMeterProvider,
        logger_provider: APILoggerProvider,
        directory: Path | None,
        counter: DropCounter,
        prometheus_server: Any = None,
        log_filter: OnceFilter | None = None,
    ) -> None:
        self._config = config
        self.tracer_provider = tracer_provider
        """The tracer provider (an SDK ``TracerProvider``, or a no-op one when disabled)."""
        self.meter_provider = meter_provider
        """The meter provider (an SDK ``MeterProvider``, or a no-op one when disabled)."""
        self.logger_provider = logger_provider
        """The logger provider (an SDK ``LoggerProvider``, or a no-op one when disabled)."""
        self.directory = directory
        """The embedded default's folder, or ``None`` when no signal writes files."""
        self._counter = counter
        self._prometheus_server = prometheus_server
        self._log_filter = log_filter
        self._closed = False
        self._lock = threading.Lock()

    @property
    def config(self) -> dict[str, Any]:
        """A copy of the effective configuration (changing it has no effect)."""
        return _copy(self._config)

    @property
    def dropped(self) -> dict[str, int]:
        """How many spans / metric points / log records a failing backend made us drop."""
        return self._counter.snapshot()

    @property
    def prometheus_address(self) -> tuple[str, int] | None:
        """``(host, port)`` of the Prometheus ``/metrics`` server, when one runs."""
        if self._prometheus_server is None:
            return None
        host, port = self._prometheus_server.server_address[:2]
        return str(host), int(port)

    @property
    def closed(self) -> bool:
        """Whether ``shutdown()`` ran."""
        return self._closed

    def force_flush(self, timeout_millis: int = 10_000) -> bool:
        """Export everything buffered now; ``False`` if some exporter did not finish."""
        ok = True
        for provider in (self.tracer_provider, self.meter_provider, self.logger_provider):
            flush = getattr(provider, "force_flush", None)
            if flush is not None:
                try:
                    ok = bool(flush(timeout_millis)) and ok
                except Exception:
                    ok = False
        return ok

    def shutdown(self) -> None:
        """Flush and close the providers (and the Prometheus server); idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for provider in (self.tracer_provider, self.meter_provider, self.logger_provider):
            close = getattr(provider, "shutdown", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()
        if self._prometheus_server is not None:
            self._prometheus_server.shutdown()
            self._prometheus_server.server_close()
        if self._log_filter is not None:
            self._log_filter.remove()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Telemetry service={self._config['service_name']!r} {state}>"


_lock = threading.RLock()
_active: Telemetry | None = None


def _copy(config: Mapping[str, Any]) -> dict[str, Any]:
    return {key: dict(value) if isinstance(value, dict) else value for key, value in config.items()}


# -- resolution: arguments > environment > defaults --------------------------------------


class _Resolver:
    """Resolve settings and remember where each came from (for ``langchain-otel config``)."""

    def __init__(self) -> None:
        self.sources: dict[str, str] = {}

    def pick(self, key: str, argument: Any, *env_names: str, default: Any = None) -> Any:
        if argument is not None:
            self.sources[key] = "argument"
            return argument
        for name in env_names:
            value = os.environ.get(name, "").strip()
            if value:
                self.sources[key] = name
                return value
        self.sources[key] = "default"
        return default


def _exporter_names(
    signal: str, raw: str | tuple[str, ...] | list[str], setting: str
) -> tuple[str, ...]:
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    names = tuple(item.strip().lower() for item in items if item.strip())
    valid = _EXPORTERS[signal]
    for name in names:
        if name not in valid:
            raise ConfigurationError(
                f"{setting}: unknown {signal} exporter {name!r}; use one of: {', '.join(valid)}"
            )
    if not names:
        raise ConfigurationError(f"{setting}: empty; use one of: {', '.join(valid)}")
    if "none" in names and len(names) > 1:
        raise ConfigurationError(f"{setting}: 'none' cannot be combined with other exporters")
    return names


def _check_endpoint(url: str, setting: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise ConfigurationError(
            f"{setting}: malformed endpoint {url!r}; use an http:// or https:// URL "
            "such as http://localhost:4318"
        )
    try:
        _ = parsed.port
    except ValueError as exc:
        raise ConfigurationError(f"{setting}: malformed port in {url!r}") from exc
    return url


def _headers(raw: Mapping[str, str] | str | None, setting: str) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, str):
        return dict(parse_env_headers(raw, liberal=True))
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{setting}: expected a mapping of header names to values")
    return {str(key).lower(): str(value) for key, value in raw.items()}


def _seconds(raw: Any, setting: str, *, from_millis: bool) -> float:
    try:
        value = float(raw) / (1000.0 if from_millis else 1.0)
    except (TypeError, ValueError) as exc:
        unit = "milliseconds" if from_millis else "seconds"
        raise ConfigurationError(f"{setting}: {raw!r} is not a number of {unit}") from exc
    if not value > 0 or not math.isfinite(value):
        raise ConfigurationError(f"{setting}: must be a positive, finite duration, got {raw!r}")
    return value


def _port(raw: Any, setting: str) -> int:
    try:
        port = int(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{setting}: {raw!r} is not a port number (0-65535)") from exc
    if not 0 <= port <= 65535:
        raise ConfigurationError(f"{setting}: port {port} is outside 0-65535")
    return port


def _resolve(  # noqa: PLR0912, PLR0915 - one flat list of settings reads best
    *,
    service_name: str | None,
    exporter: str | None,
    traces_exporter: str | None,
    metrics_exporter: str | None,
    logs_exporter: str | None,
    endpoint: str | None,
    protocol: str | None,
    headers: Mapping[str, str] | None,
    directory: str | os.PathLike[str] | None,
    resource_attributes: Mapping[str, Any] | None,
    metric_export_interval: float | None,
    timeout: float | None,
    max_file_bytes: int | None,
    backup_count: int | None,
    prometheus_host: str | None,
    prometheus_port: int | None,
    disabled: bool | None,
    set_global: bool,
) -> tuple[dict[str, Any], dict[str, str]]:
    r = _Resolver()
    config: dict[str, Any] = {}
    raw_disabled = r.pick("disabled", disabled, "OTEL_SDK_DISABLED", default=False)
    config["disabled"] = (
        raw_disabled if isinstance(raw_disabled, bool) else raw_disabled.lower() in _TRUE
    )
    if service_name is not None and not service_name.strip():
        raise ConfigurationError("service_name: must be a non-empty string")
    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are applied by Resource.create();
    # we record them here so the effective configuration shows them.
    config["service_name"] = r.pick(
        "service_name", service_name, "OTEL_SERVICE_NAME", default="unknown_service"
    )
    if config["service_name"] == "unknown_service":
        env_attrs = os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
        for pair in env_attrs.split(","):
            key, _, value = pair.partition("=")
            if key.strip() == "service.name" and value.strip():
                config["service_name"] = urllib.parse.unquote(value.strip())
                r.sources["service_name"] = "OTEL_RESOURCE_ATTRIBUTES"
    config["resource_attributes"] = dict(resource_attributes or {})
    r.sources["resource_attributes"] = "argument" if resource_attributes else "default"

    if exporter is not None:
        config["exporter"] = exporter
    per_signal = {"traces": traces_exporter, "metrics": metrics_exporter, "logs": logs_exporter}
    for signal in SIGNALS:
        upper = signal.upper()
        proto_setting = f"OTEL_EXPORTER_OTLP_{upper}_PROTOCOL"
        sig_protocol = r.pick(
            f"{signal}_protocol",
            protocol,
            proto_setting,
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            default="http/protobuf",
        ).lower()
        if sig_protocol not in PROTOCOLS:
            source = r.sources[f"{signal}_protocol"]
            raise ConfigurationError(
                f"{'protocol' if source == 'argument' else source}: unsupported OTLP protocol "
                f"{sig_protocol!r}; use one of: {', '.join(PROTOCOLS)}"
            )
        # Endpoint: the argument and OTEL_EXPORTER_OTLP_ENDPOINT are base URLs (the signal
        # path is appended for http); the per-signal variable is used as it is.
        sig_endpoint: str | None
        if endpoint is not None:
            base = _check_endpoint(endpoint, "endpoint")
            sig_endpoint = _signal_url(base, signal, sig_protocol)
            r.sources[f"{signal}_endpoint"] = "argument"
        elif value := os.environ.get(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT", "").strip():
            sig_endpoint = _check_endpoint(value, f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT")
            r.sources[f"{signal}_endpoint"] = f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT"
        elif value := os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip():
            base = _check_endpoint(value, "OTEL_EXPORTER_OTLP_ENDPOINT")
            sig_endpoint = _signal_url(base, signal, sig_protocol)
            r.sources[f"{signal}_endpoint"] = "OTEL_EXPORTER_OTLP_ENDPOINT"
        else:
            sig_endpoint = None
            r.sources[f"{signal}_endpoint"] = "default"
        names_raw = r.pick(
            f"{signal}_exporter",
            per_signal[signal] if per_signal[signal] is not None else exporter,
            f"OTEL_{upper}_EXPORTER",
            default="otlp" if sig_endpoint else "jsonl",
        )
        if exporter is not None and per_signal[signal] is None and exporter == "prometheus":
            names_raw = "prometheus" if signal == "metrics" else "none"
        setting = r.sources[f"{signal}_exporter"]  # the variable's name, or "argument"
        if setting == "argument":
            setting = f"{signal}_exporter" if per_signal[signal] is not None else "exporter"
        names = _exporter_names(signal, names_raw, setting)
        if "otlp" in names and sig_endpoint is None:
            sig_endpoint = _signal_url(_DEFAULT_ENDPOINTS[sig_protocol], signal, sig_protocol)
        config[f"{signal}_exporter"] = names
        config[f"{signal}_protocol"] = sig_protocol
        config[f"{signal}_endpoint"] = sig_endpoint if "otlp" in names else None
        sig_headers = r.pick(
            f"{signal}_headers",
            headers,
            f"OTEL_EXPORTER_OTLP_{upper}_HEADERS",
            "OTEL_EXPORTER_OTLP_HEADERS",
        )
        config[f"{signal}_headers"] = _headers(sig_headers, r.sources[f"{signal}_headers"])

    raw_interval = r.pick(
        "metric_export_interval", metric_export_interval, "OTEL_METRIC_EXPORT_INTERVAL"
    )
    if raw_interval is None:
        config["metric_export_interval"] = _DEFAULT_INTERVAL_S
    else:
        config["metric_export_interval"] = _seconds(
            raw_interval,
            "metric_export_interval"
            if metric_export_interval is not None
            else "OTEL_METRIC_EXPORT_INTERVAL",
            from_millis=metric_export_interval is None,
        )
    config["timeout"] = (
        _seconds(timeout, "timeout", from_millis=False) if timeout is not None else None
    )
    r.sources["timeout"] = "argument" if timeout is not None else "default"

    uses_files = any("jsonl" in config[f"{signal}_exporter"] for signal in SIGNALS)
    raw_directory = r.pick(
        "directory", directory, LANGCHAIN_OTEL_DIRECTORY, default=DEFAULT_DIRECTORY
    )
    config["directory"] = str(Path(raw_directory).expanduser().absolute()) if uses_files else None
    config["max_file_bytes"] = DEFAULT_MAX_BYTES if max_file_bytes is None else max_file_bytes
    config["backup_count"] = DEFAULT_BACKUP_COUNT if backup_count is None else backup_count
    r.sources["max_file_bytes"] = "default" if max_file_bytes is None else "argument"
    r.sources["backup_count"] = "default" if backup_count is None else "argument"
    if not isinstance(config["max_file_bytes"], int) or config["max_file_bytes"] < 0:
        raise ConfigurationError("max_file_bytes: must be an int >= 0 (0 = no rotation)")
    if not isinstance(config["backup_count"], int) or config["backup_count"] < 0:
        raise ConfigurationError("backup_count: must be an int >= 0")

    uses_prometheus = "prometheus" in config["metrics_exporter"]
    host = r.pick(
        "prometheus_host",
        prometheus_host,
        "OTEL_EXPORTER_PROMETHEUS_HOST",
        default=_DEFAULT_PROMETHEUS_HOST,
    )
    port_raw = r.pick(
        "prometheus_port",
        prometheus_port,
        "OTEL_EXPORTER_PROMETHEUS_PORT",
        default=_DEFAULT_PROMETHEUS_PORT,
    )
    port_setting = (
        "prometheus_port" if prometheus_port is not None else "OTEL_EXPORTER_PROMETHEUS_PORT"
    )
    config["prometheus_host"] = host if uses_prometheus else None
    config["prometheus_port"] = _port(port_raw, port_setting) if uses_prometheus else None
    config["set_global"] = set_global
    r.sources["set_global"] = "argument"
    return config, r.sources


def _signal_url(base: str, signal: str, protocol: str) -> str:
    if protocol == "grpc":
        return base
    return base.rstrip("/") + "/" + _HTTP_PATHS[signal]


def _check_directory(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".langchain-otel-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigurationError(
            f"directory: cannot write telemetry files to {str(path)!r} ({exc.strerror or exc}); "
            f"pass a writable directory= or set {LANGCHAIN_OTEL_DIRECTORY}"
        ) from exc


# -- building ----------------------------------------------------------------------------


def _build(config: dict[str, Any]) -> Telemetry:
    counter = DropCounter()
    if config["disabled"]:
        return Telemetry(
            config=config,
            tracer_provider=NoOpTracerProvider(),
            meter_provider=NoOpMeterProvider(),
            logger_provider=NoOpLoggerProvider(),
            directory=None,
            counter=counter,
        )
    directory = Path(config["directory"]) if config["directory"] else None
    if directory is not None:
        _check_directory(directory)
    attributes = {**config["resource_attributes"]}
    if config["service_name"] != "unknown_service":
        attributes["service.name"] = config["service_name"]
    resource = Resource.create(attributes)

    def otlp(signal: str) -> Any:
        return otlp_exporter(
            signal,
            protocol=config[f"{signal}_protocol"],
            endpoint=config[f"{signal}_endpoint"],
            headers=config[f"{signal}_headers"],
            timeout=config["timeout"],
        )

    tracer_provider = TracerProvider(resource=resource)
    for name in config["traces_exporter"]:
        if name == "none":
            continue
        span_exporter = _exporter("traces", name, config, directory, otlp)
        tracer_provider.add_span_processor(
            CountingBatchSpanProcessor(CountingSpanExporter(span_exporter, counter), counter)
        )

    readers: list[MetricReader] = []
    prometheus_server = None
    interval_ms = config["metric_export_interval"] * 1000.0
    for name in config["metrics_exporter"]:
        if name == "none":
            continue
        if name == "prometheus":
            reader, prometheus_server = _prometheus(config)
            readers.append(reader)
            continue
        metric_exporter = _exporter("metrics", name, config, directory, otlp)
        readers.append(
            PeriodicExportingMetricReader(
                CountingMetricExporter(metric_exporter, counter),
                export_interval_millis=interval_ms,
            )
        )
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)

    logger_provider = LoggerProvider(resource=resource)
    for name in config["logs_exporter"]:
        if name == "none":
            continue
        log_exporter = _exporter("logs", name, config, directory, otlp)
        logger_provider.add_log_record_processor(
            BatchLogRecordProcessor(CountingLogExporter(log_exporter, counter))
        )
    log_filter = None
    if any("otlp" in config[f"{signal}_exporter"] for signal in SIGNALS):
        log_filter = OnceFilter()
        log_filter.install(OTLP_LOGGERS)
    return Telemetry(
        config=config,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
        directory=directory,
        counter=counter,
        prometheus_server=prometheus_server,
        log_filter=log_filter,
    )


def _exporter(
    signal: str,
    name: str,
    config: dict[str, Any],
    directory: Path | None,
    otlp: Callable[[str], Any],
) -> Any:
    if name == "otlp":
        return otlp(signal)
    if name == "console":
        console: dict[str, Any] = {
            "traces": ConsoleSpanExporter,
            "metrics": ConsoleMetricExporter,
            "logs": ConsoleLogRecordExporter,
        }
        return console[signal]()
    assert directory is not None  # jsonl always has a folder
    path = directory / f"{signal}.jsonl"
    files = {"max_bytes": config["max_file_bytes"], "backup_count": config["backup_count"]}
    jsonl: dict[str, Any] = {
        "traces": JsonlSpanExporter,
        "metrics": JsonlMetricExporter,
        "logs": JsonlLogExporter,
    }
    return jsonl[signal](path, **files)


def _prometheus(config: dict[str, Any]) -> tuple[MetricReader, Any]:
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
    registry = CollectorRegistry(auto_describe=True)
    reader = PrometheusMetricReader(registry=registry)
    try:
        server, _thread = start_http_server(
            config["prometheus_port"], addr=config["prometheus_host"], registry=registry
        )
    except OSError as exc:
        reader.shutdown()
        raise ConfigurationError(
            f"prometheus_host/prometheus_port: cannot serve /metrics on "
            f"{config['prometheus_host']}:{config['prometheus_port']} ({exc}); set "
            "OTEL_EXPORTER_PROMETHEUS_HOST/OTEL_EXPORTER_PROMETHEUS_PORT (port 0 = any free port)"
        ) from exc
    return reader, server


def _install_globals(telemetry: Telemetry) -> None:
    current = trace.get_tracer_provider()
    if not isinstance(current, trace.ProxyTracerProvider):
        raise ConfigurationError(
            "set_global: the global OpenTelemetry providers are already set (OpenTelemetry "
            "allows that once per process); pass set_global=False and give the handler "
            "telemetry.tracer_provider / telemetry.meter_provider"
        )
    trace.set_tracer_provider(telemetry.tracer_provider)
    metrics.set_meter_provider(telemetry.meter_provider)
    if type(get_logger_provider()).__name__ == "ProxyLoggerProvider":
        set_logger_provider(telemetry.logger_provider)


# -- public API --------------------------------------------------------------------------


def configure(
    *,
    service_name: str | None = None,
    exporter: str | None = None,
    endpoint: str | None = None,
    directory: str | os.PathLike[str] | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | None = None,
    traces_exporter: str | None = None,
    metrics_exporter: str | None = None,
    logs_exporter: str | None = None,
    resource_attributes: Mapping[str, Any] | None = None,
    metric_export_interval: float | None = None,
    timeout: float | None = None,
    max_file_bytes: int | None = None,
    backup_count: int | None = None,
    prometheus_host: str | None = None,
    prometheus_port: int | None = None,
    disabled: bool | None = None,
    set_global: bool = True,
) -> Telemetry:
    """Set up tracer, meter and logger providers and their exporters; return the handle.

    Every ``None`` argument falls back to its environment variable, then to the default.

    Args:
        service_name: ``service.name`` (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``).
        exporter: One exporter for every signal: ``otlp``, ``jsonl`` (the embedded default's
            files), ``console``, ``none``; ``prometheus`` = metrics only.
        endpoint: OTLP base URL, e.g. ``http://collector:4318`` (``OTEL_EXPORTER_OTLP_ENDPOINT``;
            per-signal ``OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT`` are full URLs).
            When no endpoint is set anywhere, the default exporter is ``jsonl``.
        directory: The embedded default's folder (``LANGCHAIN_OTEL_DIRECTORY``, default
            ``./langchain-otel-telemetry``).
        protocol: ``http/protobuf`` (default) or ``grpc`` (``OTEL_EXPORTER_OTLP_PROTOCOL``).
        headers: OTLP request headers (``OTEL_EXPORTER_OTLP_HEADERS``, ``k=v,k2=v2``).
        traces_exporter: Comma-separated exporters for traces (``OTEL_TRACES_EXPORTER``).
        metrics_exporter: For metrics, also ``prometheus`` (``OTEL_METRICS_EXPORTER``).
        logs_exporter: For logs (``OTEL_LOGS_EXPORTER``).
        resource_attributes: Extra resource attributes (merged over
            ``OTEL_RESOURCE_ATTRIBUTES``).
        metric_export_interval: Seconds between metric exports
            (``OTEL_METRIC_EXPORT_INTERVAL`` is in milliseconds; default 60 s).
        timeout: Seconds an OTLP export may take, retries included (default: the exporter's,
            ``OTEL_EXPORTER_OTLP_TIMEOUT``, 10 s). Bounds how long ``shutdown()`` can wait for
            a dead backend.
        max_file_bytes: Size at which a ``.jsonl`` file rotates (default 50 MiB; 0 = never).
        backup_count: Rotated files kept per signal (default 3).
        prometheus_host: Address of the ``/metrics`` server (``OTEL_EXPORTER_PROMETHEUS_HOST``,
            default ``localhost``).
        prometheus_port: Its port (``OTEL_EXPORTER_PROMETHEUS_PORT``, default 9464; 0 = any).
        disabled: No-op providers, nothing exported (``OTEL_SDK_DISABLED=true``).
        set_global: Also install the providers as OpenTelemetry's global ones (default).

    Returns:
        The :class:`Telemetry` handle; the same object again for an identical second call.

    Raises:
        ConfigurationError: A setting is invalid (the message names it and the valid values),
            the folder is unwritable, or ``configure()`` already ran with other settings.
        MissingDependencyError: The exporter needs an extra that is not installed.

    Example:
        >>> import tempfile
        >>> from langchain_otel import configure, shutdown
        >>> configure(exporter="zipkin", set_global=False)
        Traceback (most recent call last):
        ...
        langchain_otel.exceptions.ConfigurationError: exporter: unknown traces exporter 'zipkin'; use one of: otlp, jsonl, console, none
        >>> telemetry = configure(directory=tempfile.mkdtemp(), set_global=False)
        >>> sorted(p.name for p in telemetry.directory.iterdir())
        []
        >>> shutdown()
    """  # noqa: E501
    global _active  # noqa: PLW0603 - the one process-wide configuration
    config, sources = _resolve(
        service_name=service_name,
        exporter=exporter,
        traces_exporter=traces_exporter,
        metrics_exporter=metrics_exporter,
        logs_exporter=logs_exporter,
        endpoint=endpoint,
        protocol=protocol,
        headers=headers,
        directory=directory,
        resource_attributes=resource_attributes,
        metric_export_interval=metric_export_interval,
        timeout=timeout,
        max_file_bytes=max_file_bytes,
        backup_count=backup_count,
        prometheus_host=prometheus_host,
        prometheus_port=prometheus_port,
        disabled=disabled,
        set_global=set_global,
    )
    config["sources"] = sources
    with _lock:
        if _active is not None and not _active.closed:
            previous = _active._config
            differing = sorted(
                key for key in config if key != "sources" and config[key] != previous.get(key)
            )
            if not differing:
                return _active
            raise ConfigurationError(
                "configure() already ran with other settings (differing: "
                f"{', '.join(differing)}); call langchain_otel.shutdown() first to reconfigure"
            )
        telemetry = _build(config)
        if set_global and not config["disabled"]:
            try:
                _install_globals(telemetry)
            except ConfigurationError:
                telemetry.shutdown()
                raise
        _active = telemetry
        return telemetry


def shutdown() -> None:
    """Flush and close what ``configure()`` set up; a no-op when nothing is configured.

    Example:
        >>> from langchain_otel import shutdown, is_configured
        >>> shutdown()
        >>> is_configured()
        False
    """
    global _active
    with _lock:
        telemetry, _active = _active, None
    if telemetry is not None:
        telemetry.shutdown()


def is_configured() -> bool:
    """Whether ``configure()`` ran and ``shutdown()`` did not since.

    Example:
        >>> from langchain_otel import is_configured
        >>> is_configured()
        False
    """
    with _lock:
        return _active is not None and not _active.closed


def get_config() -> dict[str, Any]:
    """A copy of the effective configuration (changing it has no effect).

    When ``configure()`` ran, its settings; otherwise what ``configure()`` with no arguments
    would use now (from the environment). ``sources`` tells where each value came from.
    Header values are secrets: print them masked (``langchain-otel config`` does).

    Example:
        >>> from langchain_otel import get_config
        >>> config = get_config()
        >>> isinstance(config["traces_exporter"], tuple), "sources" in config
        (True, True)
    """
    with _lock:
        if _active is not None and not _active.closed:
            return _active.config
    config, sources = _resolve(
        service_name=None,
        exporter=None,
        traces_exporter=None,
        metrics_exporter=None,
        logs_exporter=None,
        endpoint=None,
        protocol=None,
        headers=None,
        directory=None,
        resource_attributes=None,
        metric_export_interval=None,
        timeout=None,
        max_file_bytes=None,
        backup_count=None,
        prometheus_host=None,
        prometheus_port=None,
        disabled=None,
        set_global=True,
    )
    config["sources"] = sources
    return config


def reset_defaults() -> None:
    """Shut down what ``configure()`` set up and forget it (tests call this between cases).

    Example:
        >>> from langchain_otel import reset_defaults, is_configured
        >>> reset_defaults()
        >>> is_configured()
        False
    """
    shutdown()
