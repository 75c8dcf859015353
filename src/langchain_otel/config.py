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
import os
import threading
from collections.abc import Mapping
from typing import Any

from langchain_otel._config_build import Providers, build, install_globals
from langchain_otel._settings import DEFAULT_DIRECTORY, Settings, SignalSettings, resolve
from langchain_otel.environment_variables import LANGCHAIN_OTEL_DIRECTORY
from langchain_otel.exceptions import ConfigurationError
from langchain_otel.processors import OTelLogsBridge as OTelLogsBridge  # noqa: PLC0414 - 0.1.0 path

__all__ = [
    "DEFAULT_DIRECTORY",
    "LANGCHAIN_OTEL_DIRECTORY",
    "Settings",
    "SignalSettings",
    "Telemetry",
    "configure",
    "get_config",
    "is_configured",
    "reset_defaults",
    "shutdown",
]


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

    def __init__(self, settings: Settings, providers: Providers) -> None:
        self._settings = settings
        self.tracer_provider = providers.tracer_provider
        """The tracer provider (an SDK ``TracerProvider``, or a no-op one when disabled)."""
        self.meter_provider = providers.meter_provider
        """The meter provider (an SDK ``MeterProvider``, or a no-op one when disabled)."""
        self.logger_provider = providers.logger_provider
        """The logger provider (an SDK ``LoggerProvider``, or a no-op one when disabled)."""
        self.directory = providers.directory
        """The embedded default's folder, or ``None`` when no signal writes files."""
        self._counter = providers.counter
        self._prometheus_server = providers.prometheus_server
        self._log_filter = providers.log_filter
        self._closed = False
        self._lock = threading.Lock()

    @property
    def settings(self) -> Settings:
        """The resolved settings: frozen, typed (``config`` is the same as a ``dict``)."""
        return self._settings

    @property
    def config(self) -> dict[str, Any]:
        """A copy of the effective configuration (changing it has no effect)."""
        return self._settings.as_dict()

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
        return f"<Telemetry service={self._settings.service_name!r} {state}>"


_lock = threading.RLock()
_active: Telemetry | None = None


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
        protocol: ``http/protobuf`` (default), ``grpc`` or ``http/json``
            (``OTEL_EXPORTER_OTLP_PROTOCOL``).
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
    arguments = dict(locals())  # exactly the options of _settings.OPTIONS (tested)
    global _active  # noqa: PLW0603 - the one process-wide configuration
    settings = resolve(arguments)
    with _lock:
        if _active is not None and not _active.closed:
            previous, current = _active.config, settings.as_dict()
            differing = sorted(
                key for key in current if key != "sources" and current[key] != previous.get(key)
            )
            if not differing:
                return _active
            raise ConfigurationError(
                "configure() already ran with other settings (differing: "
                f"{', '.join(differing)}); call langchain_otel.shutdown() first to reconfigure"
            )
        telemetry = Telemetry(settings, build(settings))
        if settings.set_global and not settings.disabled:
            try:
                install_globals(
                    telemetry.tracer_provider,
                    telemetry.meter_provider,
                    telemetry.logger_provider,
                )
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
    return resolve({}).as_dict()


def reset_defaults() -> None:
    """Shut down what ``configure()`` set up and forget it (tests call this between cases).

    Example:
        >>> from langchain_otel import reset_defaults, is_configured
        >>> reset_defaults()
        >>> is_configured()
        False
    """
    shutdown()
