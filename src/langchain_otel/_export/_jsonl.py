"""The embedded default: OTLP JSON Lines files, one export request per line.

Each line of ``traces.jsonl`` / ``metrics.jsonl`` / ``logs.jsonl`` is one
``ExportTraceServiceRequest`` / ``ExportMetricsServiceRequest`` / ``ExportLogsServiceRequest``
in the OTLP JSON encoding (the format of the OpenTelemetry file exporter specification and of
the Collector's ``otlpjsonfile`` receiver): lowerCamelCase keys, enums as integers, 64-bit
integers as strings, and ``traceId``/``spanId``/``parentSpanId`` as lowercase **hex** (not
protobuf's base64). The lines are encoded by :mod:`langchain_otel._export._lines` (the
same lines OTLP/HTTP JSON posts): metrics through the official encoders of
``opentelemetry-exporter-otlp-proto-common`` (then protobuf's JSON printer); spans and log
records, exported at request rate, built straight from the SDK objects by
:mod:`langchain_otel._export._otlp_json`, byte-for-byte the same line, about six times less
CPU. Should that fast path raise (a lone surrogate in a string, say), the batch goes through
the official encoders instead. ``configure()`` queues each span already encoded
(:mod:`langchain_otel._export._prepared`); the exporter stitches those into the same line.

The folder is created ``0700`` and the files ``0600`` (rotated files keep that mode): with
content capture on they hold prompts and completions. A folder that already exists keeps its
mode.

Files are capped: when a line would push a file over ``max_bytes``, it is renamed to
``NAME.1`` (older backups shift to ``.2`` …, the oldest beyond ``backup_count`` is deleted).
Lines are never split, so a file exceeds ``max_bytes`` only when it holds one line (one
export batch) larger than the cap.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from langchain_otel._export._files import open_private
from langchain_otel._export._lines import LineLogExporter, LineMetricExporter, LineSpanExporter
from langchain_otel._export._official_json import from_otlp_json, to_otlp_json

__all__ = [
    "DEFAULT_BACKUP_COUNT",
    "DEFAULT_MAX_BYTES",
    "JsonlLogExporter",
    "JsonlMetricExporter",
    "JsonlSpanExporter",
    "RotatingJsonlWriter",
    "from_otlp_json",
    "to_otlp_json",
]

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
"""Size cap of one file before it rotates (50 MiB)."""

DEFAULT_BACKUP_COUNT = 3
"""How many rotated files (``NAME.1`` … ``NAME.N``) are kept."""


class RotatingJsonlWriter:
    """Append JSON lines to one file, thread-safe, rotating at ``max_bytes``.

    Args:
        path: The file to append to (its folder must exist).
        max_bytes: Size cap of the live file; ``0`` disables rotation.
        backup_count: How many rotated files to keep; ``0`` means the live file is
            truncated instead of rotated.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> writer = RotatingJsonlWriter(folder / "t.jsonl", max_bytes=20, backup_count=1)
        >>> for n in range(3):
        ...     writer.write({"n": n, "pad": "xxxx"})
        >>> sorted(p.name for p in folder.iterdir())
        ['t.jsonl', 't.jsonl.1']
    """

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backup_count: int = DEFAULT_BACKUP_COUNT,
    ) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self._lock = threading.Lock()

    def write(self, obj: dict[str, Any]) -> None:
        """Append ``obj`` as one line (raises ``OSError`` when the disk refuses)."""
        self.write_line(
            (json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
        )

    def write_line(self, line: bytes) -> None:
        """Append ``line`` (one encoded JSON line, newline included) as it is."""
        with self._lock:
            if self.max_bytes > 0:
                try:
                    size = self.path.stat().st_size
                except FileNotFoundError:
                    size = 0
                if size and size + len(line) > self.max_bytes:
                    self._rotate()
            with open_private(self.path) as file:
                file.write(line)

    def _rotate(self) -> None:
        if self.backup_count <= 0:
            self.path.unlink(missing_ok=True)
            return
        for index in range(self.backup_count - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))

    def close(self) -> None:
        """Nothing to release: each line opens and closes the file."""


class JsonlSpanExporter(LineSpanExporter):
    """Write spans as ``ExportTraceServiceRequest`` lines (OTLP JSON) to ``path``.

    Example:
        >>> import json, tempfile, pathlib
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "traces.jsonl"
        >>> provider = TracerProvider()
        >>> provider.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(path)))
        >>> provider.get_tracer("doc").start_span("hello").end()
        >>> line = json.loads(path.read_text().splitlines()[0])
        >>> line["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"]
        'hello'
    """

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backup_count: int = DEFAULT_BACKUP_COUNT,
    ) -> None:
        super().__init__(RotatingJsonlWriter(path, max_bytes=max_bytes, backup_count=backup_count))


class JsonlMetricExporter(LineMetricExporter):
    """Write metrics as ``ExportMetricsServiceRequest`` lines (OTLP JSON) to ``path``.

    Temporality is cumulative (the OTLP default and what Prometheus expects).

    Example:
        >>> import json, tempfile, pathlib
        >>> from opentelemetry.sdk.metrics import MeterProvider
        >>> from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "metrics.jsonl"
        >>> reader = PeriodicExportingMetricReader(JsonlMetricExporter(path), 60_000)
        >>> provider = MeterProvider(metric_readers=[reader])
        >>> provider.get_meter("doc").create_counter("hits").add(2)
        >>> provider.shutdown()
        >>> line = json.loads(path.read_text().splitlines()[0])
        >>> metric = line["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]
        >>> metric["name"], metric["sum"]["dataPoints"][0]["asInt"]
        ('hits', '2')
    """

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backup_count: int = DEFAULT_BACKUP_COUNT,
    ) -> None:
        super().__init__(RotatingJsonlWriter(path, max_bytes=max_bytes, backup_count=backup_count))


class JsonlLogExporter(LineLogExporter):
    """Write log records as ``ExportLogsServiceRequest`` lines (OTLP JSON) to ``path``.

    Example:
        >>> import json, tempfile, pathlib
        >>> from opentelemetry.sdk._logs import LoggerProvider
        >>> from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "logs.jsonl"
        >>> provider = LoggerProvider()
        >>> provider.add_log_record_processor(SimpleLogRecordProcessor(JsonlLogExporter(path)))
        >>> provider.get_logger("doc").emit(body="hello")
        >>> line = json.loads(path.read_text().splitlines()[0])
        >>> line["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["body"]
        {'stringValue': 'hello'}
    """

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backup_count: int = DEFAULT_BACKUP_COUNT,
    ) -> None:
        super().__init__(RotatingJsonlWriter(path, max_bytes=max_bytes, backup_count=backup_count))
