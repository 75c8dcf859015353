"""Dropped log records are counted like spans: a full queue, a backend that is down or hangs."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from structlog.testing import capture_logs

from langchain_otel import configure, shutdown
from langchain_otel._export._counting import (
    CountingBatchLogRecordProcessor,
    CountingLogExporter,
    DropCounter,
)


class BlackHoleExporter(LogRecordExporter):
    """Swallows every batch, and holds the export thread until ``release`` is set."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.received = 0

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        self.entered.set()
        self.release.wait()
        self.received += len(batch)
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        self.release.set()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def test_full_log_queue_evictions_are_counted_and_logged_once() -> None:
    """With the export thread stuck, each record past the queue's size is one counted drop."""
    counter = DropCounter()
    exporter = BlackHoleExporter()
    processor = CountingBatchLogRecordProcessor(
        CountingLogExporter(exporter, counter),
        counter,
        max_queue_size=4,
        max_export_batch_size=2,
        schedule_delay_millis=60_000,
    )
    provider = LoggerProvider()
    provider.add_log_record_processor(processor)
    logger = provider.get_logger("t")
    with capture_logs() as logs:
        logger.emit(body="0")
        logger.emit(body="1")  # a full batch: the export thread takes both and blocks
        assert exporter.entered.wait(30)
        for index in range(10):  # 4 fill the queue, the 6 after each evict the oldest
            logger.emit(body=str(2 + index))
        assert counter.snapshot()["logs"] == 6
        exporter.release.set()
        provider.shutdown()
    assert counter.snapshot() == {"traces": 0, "metrics": 0, "logs": 6}
    assert exporter.received == 2 + 4  # the first batch, then the queue the drops left
    drops = [log for log in logs if log["event"] == "telemetry.dropped"]
    assert [(log["signal"], log["count"]) for log in drops] == [("logs", 1)]  # logged once


@contextmanager
def black_hole_server() -> Iterator[str]:
    """An HTTP endpoint on 127.0.0.1 that accepts connections, reads, and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    stop = threading.Event()
    connections: list[socket.socket] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            connections.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in connections:
            connection.close()
        server.close()


def test_logs_to_a_black_holed_collector_are_all_counted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """configure(): every record sent to a Collector that never answers is counted as dropped.

    Some are pushed out of the full queue, the others time out in the exporter; either way
    ``Telemetry.dropped["logs"]`` ends equal to what was emitted, and it is logged once.
    """
    monkeypatch.setenv("OTEL_BLRP_MAX_QUEUE_SIZE", "4")
    monkeypatch.setenv("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "2")
    with black_hole_server() as url:
        telemetry = configure(
            endpoint=url,
            traces_exporter="none",
            metrics_exporter="none",
            timeout=0.5,
            set_global=False,
        )
        logger = telemetry.logger_provider.get_logger("t")
        with capture_logs() as logs:
            for index in range(20):
                logger.emit(body=f"record {index}")
            shutdown()
    assert telemetry.dropped == {"traces": 0, "metrics": 0, "logs": 20}
    drops = [log for log in logs if log["event"] == "telemetry.dropped"]
    assert [log["signal"] for log in drops] == ["logs"]
