"""Parsers of ``configure()``'s settings: ``(raw value, setting name) -> value``.

Each raises :class:`~langchain_otel.exceptions.ConfigurationError` naming the setting (the
argument or the variable the value came from) and the valid values.

Example:
    >>> parse_port("9464", "OTEL_EXPORTER_PROMETHEUS_PORT")
    9464
"""

from __future__ import annotations

import math
import os
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector
from opentelemetry.util.re import parse_env_headers

from langchain_otel._export._otlp import PROTOCOLS
from langchain_otel.exceptions import ConfigurationError

__all__ = [
    "EXPORTERS",
    "parse_attributes",
    "parse_count",
    "parse_directory",
    "parse_endpoint",
    "parse_exporters",
    "parse_flag",
    "parse_headers",
    "parse_milliseconds",
    "parse_port",
    "parse_protocol",
    "parse_seconds",
    "parse_service_name",
    "parse_text",
    "read_service_name",
]

EXPORTERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "traces": ("otlp", "jsonl", "console", "none"),
        "metrics": ("otlp", "jsonl", "prometheus", "console", "none"),
        "logs": ("otlp", "jsonl", "console", "none"),
    }
)
"""The exporter names each signal accepts."""
_TRUE = frozenset({"true", "1", "yes", "on"})


def parse_flag(raw: Any, setting: str) -> bool:
    return raw if isinstance(raw, bool) else str(raw).strip().lower() in _TRUE


def parse_text(raw: Any, setting: str) -> str:
    if not isinstance(raw, str):
        raise ConfigurationError(f"{setting}: expected a string, got {type(raw).__name__}")
    return raw


def parse_service_name(raw: Any, setting: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigurationError(f"{setting}: must be a non-empty string")
    return raw


def parse_attributes(raw: Any, setting: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{setting}: expected a mapping of attribute names to values")
    return MappingProxyType(dict(raw))


def parse_protocol(raw: Any, setting: str) -> str:
    protocol = str(raw).strip().lower()
    if protocol not in PROTOCOLS:
        raise ConfigurationError(
            f"{setting}: unsupported OTLP protocol {protocol!r}; use one of: {', '.join(PROTOCOLS)}"
        )
    return protocol


def parse_endpoint(raw: Any, setting: str) -> str:
    url = str(raw)
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


def parse_exporters(signal: str) -> Callable[[Any, str], tuple[str, ...]]:
    valid = EXPORTERS[signal]

    def parse(raw: Any, setting: str) -> tuple[str, ...]:
        if setting == "exporter" and raw == "prometheus":  # metrics to Prometheus, nothing else
            raw = "prometheus" if signal == "metrics" else "none"
        items = raw.split(",") if isinstance(raw, str) else list(raw)
        names = tuple(str(item).strip().lower() for item in items if str(item).strip())
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

    return parse


def parse_headers(raw: Any, setting: str) -> Mapping[str, str]:
    if isinstance(raw, str):
        return MappingProxyType(dict(parse_env_headers(raw, liberal=True)))
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{setting}: expected a mapping of header names to values")
    return MappingProxyType({str(key).lower(): str(value) for key, value in raw.items()})


def _duration(raw: Any, setting: str, *, unit: str, scale: float) -> float:
    try:
        value = float(raw) / scale
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{setting}: {raw!r} is not a number of {unit}") from exc
    if not value > 0 or not math.isfinite(value):
        raise ConfigurationError(f"{setting}: must be a positive, finite duration, got {raw!r}")
    return value


def parse_seconds(raw: Any, setting: str) -> float:
    return _duration(raw, setting, unit="seconds", scale=1.0)


def parse_milliseconds(raw: Any, setting: str) -> float:
    return _duration(raw, setting, unit="milliseconds", scale=1000.0)


def parse_directory(raw: Any, setting: str) -> str:
    return str(Path(raw).expanduser().absolute())


def parse_count(hint: str) -> Callable[[Any, str], int]:
    def parse(raw: Any, setting: str) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            raise ConfigurationError(f"{setting}: must be an int >= 0{hint}")
        return raw

    return parse


def parse_port(raw: Any, setting: str) -> int:
    try:
        port = int(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{setting}: {raw!r} is not a port number (0-65535)") from exc
    if not 0 <= port <= 65535:
        raise ConfigurationError(f"{setting}: port {port} is outside 0-65535")
    return port


def read_service_name(variable: str) -> str:
    """``service.name`` as the SDK's resource detector reads it from ``variable``."""
    if variable != "OTEL_RESOURCE_ATTRIBUTES":
        return os.environ.get(variable, "")
    return str(OTELResourceDetector().detect().attributes.get(SERVICE_NAME, ""))
