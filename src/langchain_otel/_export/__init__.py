"""How telemetry leaves the process: OTLP JSON Lines files, drop counting, the logs bridge."""

from __future__ import annotations
