"""The settings of ``configure()``, each declared once: name, variables, default, parser.

:data:`OPTIONS` is the single list. ``configure()``'s keyword arguments, the validation
errors (:class:`~langchain_otel.exceptions.ConfigurationError` naming the argument or the
variable, and the valid values), ``get_config()`` / ``Telemetry.config`` and
``langchain-otel config`` are all derived from it; ``tests/test_config.py`` checks that
``configure()``'s signature is exactly the arguments declared here.

What the OpenTelemetry SDK and exporters already parse, they keep parsing, and we only
read the result:

- ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES``: ``Resource.create()`` applies them;
  the service name we report comes from the SDK's ``OTELResourceDetector``.
- ``OTEL_EXPORTER_OTLP_*HEADERS``: the SDK's ``parse_env_headers`` (URL-decoded values).
- ``OTEL_EXPORTER_OTLP_TIMEOUT``, ``..._COMPRESSION``, ``..._CERTIFICATE``,
  ``OTEL_BSP_*``, ``OTEL_BLRP_*``: read by the exporters and batch processors themselves.

We parse the rest ourselves because the SDK either has no public parser for it
(``_configuration`` is private, and its default protocol is ``grpc``, not the
specification's ``http/protobuf``) or tolerates a bad value with a log line
(``OTEL_METRIC_EXPORT_INTERVAL``), where we promise a ``ConfigurationError`` at the call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from langchain_otel._export._jsonl import DEFAULT_BACKUP_COUNT, DEFAULT_MAX_BYTES
from langchain_otel._settings_parsers import (
    EXPORTERS,
    parse_attributes,
    parse_count,
    parse_directory,
    parse_endpoint,
    parse_exporters,
    parse_flag,
    parse_headers,
    parse_milliseconds,
    parse_port,
    parse_protocol,
    parse_seconds,
    parse_service_name,
    parse_text,
    read_service_name,
)
from langchain_otel.environment_variables import LANGCHAIN_OTEL_DIRECTORY

__all__ = [
    "DEFAULT_DIRECTORY",
    "EXPORTERS",
    "OPTIONS",
    "SIGNALS",
    "Option",
    "Settings",
    "SignalSettings",
    "resolve",
]

DEFAULT_DIRECTORY = "langchain-otel-telemetry"
"""The embedded default's folder when neither ``directory=`` nor the variable is set."""

SIGNALS = ("traces", "metrics", "logs")

UNKNOWN_SERVICE = "unknown_service"
_HTTP_PATHS = {"traces": "v1/traces", "metrics": "v1/metrics", "logs": "v1/logs"}
_DEFAULT_ENDPOINTS = {
    "http/protobuf": "http://localhost:4318",
    "http/json": "http://localhost:4318",
    "grpc": "http://localhost:4317",
}

Resolved = Mapping[str, Any]
"""The values resolved so far (options are resolved in the order of :data:`OPTIONS`)."""


# -- the declaration -----------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One setting: its key, the arguments and variables that set it, its default, its parser.

    The first argument that is not ``None`` wins, then the first variable that is set and
    not blank, then ``default`` (a value, or a function of the values resolved so far).
    ``env_parse`` parses a variable's text when it differs from the argument's parser
    (e.g. milliseconds instead of seconds). ``needed`` says whether the setting applies
    (else its value is ``None``, and a bad value is not an error).

    Example:
        >>> [option.key for option in OPTIONS][:3]
        ['disabled', 'service_name', 'resource_attributes']
    """

    key: str
    arguments: tuple[str, ...]
    parse: Callable[[Any, str], Any]
    default: Any = None
    env: tuple[str, ...] = ()
    env_parse: Callable[[Any, str], Any] | None = None
    read_env: Callable[[str], str] = lambda name: os.environ.get(name, "")
    needed: Callable[[Resolved], bool] | None = None

    def pick(self, arguments: Mapping[str, Any]) -> tuple[Any, str, str] | None:
        """``(raw value, setting name, source)`` of the winning input; ``None`` = default."""
        for name in self.arguments:
            if arguments.get(name) is not None:
                return arguments[name], name, "argument"
        for variable in self.env:
            value = self.read_env(variable).strip()
            if value:
                return value, variable, variable
        return None

    def resolve(self, arguments: Mapping[str, Any], resolved: Resolved) -> tuple[Any, str]:
        """``(value, source)``: parsed input, or the default."""
        picked = self.pick(arguments)
        source = "default" if picked is None else picked[2]
        if self.needed is not None and not self.needed(resolved):
            return None, source
        if picked is None:
            default = self.default(resolved) if callable(self.default) else self.default
            return default, source
        raw, setting, _ = picked
        parse = self.env_parse if source != "argument" and self.env_parse else self.parse
        return parse(raw, setting), source


def _uses(exporter: str) -> Callable[[Resolved], bool]:
    return lambda resolved: any(exporter in resolved[f"{s}_exporter"] for s in SIGNALS)


def _default_exporter(signal: str) -> Callable[[Resolved], tuple[str, ...]]:
    return lambda resolved: ("otlp",) if resolved[f"{signal}_endpoint"] else ("jsonl",)


def _signal_options(signal: str) -> list[Option]:
    upper = signal.upper()
    return [
        Option(
            f"{signal}_protocol",
            ("protocol",),
            parse_protocol,
            default="http/protobuf",
            env=(f"OTEL_EXPORTER_OTLP_{upper}_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"),
        ),
        # The argument and OTEL_EXPORTER_OTLP_ENDPOINT are base URLs (the signal's path is
        # appended for http); the per-signal variable is a full URL, used as it is.
        Option(
            f"{signal}_endpoint",
            ("endpoint",),
            parse_endpoint,
            env=(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        ),
        Option(
            f"{signal}_exporter",
            (f"{signal}_exporter", "exporter"),
            parse_exporters(signal),
            default=_default_exporter(signal),
            env=(f"OTEL_{upper}_EXPORTER",),
        ),
        Option(
            f"{signal}_headers",
            ("headers",),
            parse_headers,
            default=MappingProxyType({}),
            env=(f"OTEL_EXPORTER_OTLP_{upper}_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"),
        ),
    ]


OPTIONS: tuple[Option, ...] = (
    Option("disabled", ("disabled",), parse_flag, default=False, env=("OTEL_SDK_DISABLED",)),
    Option(
        "service_name",
        ("service_name",),
        parse_service_name,
        default=UNKNOWN_SERVICE,
        env=("OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"),
        read_env=read_service_name,
    ),
    Option(
        "resource_attributes",
        ("resource_attributes",),
        parse_attributes,
        default=MappingProxyType({}),
    ),
    Option("exporter", ("exporter",), parse_text),
    *(option for signal in SIGNALS for option in _signal_options(signal)),
    Option(
        "metric_export_interval",
        ("metric_export_interval",),
        parse_seconds,
        default=60.0,
        env=("OTEL_METRIC_EXPORT_INTERVAL",),
        env_parse=parse_milliseconds,
    ),
    Option("timeout", ("timeout",), parse_seconds),
    Option(
        "directory",
        ("directory",),
        parse_directory,
        default=lambda resolved: parse_directory(DEFAULT_DIRECTORY, "directory"),
        env=(LANGCHAIN_OTEL_DIRECTORY,),
        needed=_uses("jsonl"),
    ),
    Option(
        "max_file_bytes",
        ("max_file_bytes",),
        parse_count(" (0 = no rotation)"),
        default=DEFAULT_MAX_BYTES,
    ),
    Option("backup_count", ("backup_count",), parse_count(""), default=DEFAULT_BACKUP_COUNT),
    Option(
        "prometheus_host",
        ("prometheus_host",),
        parse_text,
        default="localhost",
        env=("OTEL_EXPORTER_PROMETHEUS_HOST",),
        needed=_uses("prometheus"),
    ),
    Option(
        "prometheus_port",
        ("prometheus_port",),
        parse_port,
        default=9464,
        env=("OTEL_EXPORTER_PROMETHEUS_PORT",),
        needed=_uses("prometheus"),
    ),
    Option("set_global", ("set_global",), parse_flag, default=True),
)
"""Every setting, in the order they are resolved and shown."""

ARGUMENTS = tuple(dict.fromkeys(name for option in OPTIONS for name in option.arguments))
"""``configure()``'s keyword arguments, in declaration order."""


# -- the frozen, typed result --------------------------------------------------------------


@dataclass(frozen=True)
class SignalSettings:
    """How one signal (traces, metrics or logs) is exported.

    Example:
        >>> resolve({}).signal("traces").exporters
        ('jsonl',)
    """

    exporters: tuple[str, ...]
    protocol: str
    endpoint: str | None
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Settings:
    """What ``configure()`` resolved from arguments, variables and defaults; immutable.

    ``as_dict()`` is the form ``get_config()`` returns; ``sources`` says where each value
    came from (``"argument"``, a variable's name, or ``"default"``).

    Example:
        >>> settings = resolve({"service_name": "doc"})
        >>> settings.service_name, settings.sources["service_name"]
        ('doc', 'argument')
    """

    disabled: bool
    service_name: str
    resource_attributes: Mapping[str, Any]
    exporter: str | None
    traces: SignalSettings
    metrics: SignalSettings
    logs: SignalSettings
    metric_export_interval: float
    timeout: float | None
    directory: str | None
    max_file_bytes: int
    backup_count: int
    prometheus_host: str | None
    prometheus_port: int | None
    set_global: bool
    sources: Mapping[str, str] = field(compare=False)

    def signal(self, name: str) -> SignalSettings:
        """The settings of signal ``name`` (``traces``, ``metrics`` or ``logs``)."""
        value: SignalSettings = getattr(self, name)
        return value

    def uses(self, exporter: str) -> bool:
        """Whether some signal exports with ``exporter``."""
        return any(exporter in self.signal(signal).exporters for signal in SIGNALS)

    def as_dict(self) -> dict[str, Any]:
        """A fresh, flat ``dict`` (what ``get_config()`` returns), with ``sources``."""
        flat: dict[str, Any] = {
            "disabled": self.disabled,
            "service_name": self.service_name,
            "resource_attributes": dict(self.resource_attributes),
        }
        if self.exporter is not None:
            flat["exporter"] = self.exporter
        for name in SIGNALS:
            signal = self.signal(name)
            flat[f"{name}_exporter"] = signal.exporters
            flat[f"{name}_protocol"] = signal.protocol
            flat[f"{name}_endpoint"] = signal.endpoint
            flat[f"{name}_headers"] = dict(signal.headers)
        for key in (
            "metric_export_interval",
            "timeout",
            "directory",
            "max_file_bytes",
            "backup_count",
            "prometheus_host",
            "prometheus_port",
            "set_global",
        ):
            flat[key] = getattr(self, key)
        flat["sources"] = dict(self.sources)
        return flat


def _signal_url(base: str, signal: str, protocol: str) -> str:
    if protocol == "grpc":
        return base
    return base.rstrip("/") + "/" + _HTTP_PATHS[signal]


def _finish_signal(signal: str, values: dict[str, Any], sources: Mapping[str, str]) -> None:
    """The endpoint: the signal's path on a base URL, the default one, or none."""
    key, protocol = f"{signal}_endpoint", values[f"{signal}_protocol"]
    endpoint = values[key]
    if endpoint is not None and sources[key] != f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT":
        endpoint = _signal_url(endpoint, signal, protocol)
    if "otlp" not in values[f"{signal}_exporter"]:
        endpoint = None
    elif endpoint is None:
        endpoint = _signal_url(_DEFAULT_ENDPOINTS[protocol], signal, protocol)
    values[key] = endpoint


def resolve(arguments: Mapping[str, Any]) -> Settings:
    """Resolve every :data:`OPTIONS` entry: arguments, then variables, then defaults.

    Raises:
        ConfigurationError: A value is invalid; the message names the argument or the
            variable it came from, and the valid values.

    Example:
        >>> resolve({"protocol": "thrift"})
        Traceback (most recent call last):
        ...
        langchain_otel.exceptions.ConfigurationError: protocol: unsupported OTLP protocol 'thrift'; use one of: http/protobuf, grpc, http/json
    """  # noqa: E501
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        values[option.key], sources[option.key] = option.resolve(arguments, values)
    for signal in SIGNALS:
        _finish_signal(signal, values, sources)
    for signal in SIGNALS:
        values[signal] = SignalSettings(
            exporters=values.pop(f"{signal}_exporter"),
            protocol=values.pop(f"{signal}_protocol"),
            endpoint=values.pop(f"{signal}_endpoint"),
            headers=values.pop(f"{signal}_headers"),
        )
    if sources["exporter"] == "default":
        del sources["exporter"]
    return Settings(**values, sources=MappingProxyType(sources))
