"""Dropped log records are counted like spans: a full queue, a backend that is down or hangs."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from structlog.testing import capture_logs

from langchain_otel import configure, shutdown
from langchain_otel._export._counting import (
    CountingBatchLogRecordProcessor,
    CountingLogExporter,
    DropCounter,
)
from tests._collector import closed_port_url


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


class HoldingCollector:
    """An OTLP/HTTP endpoint on 127.0.0.1 that takes each request and holds the answer.

    Until ``release`` is set the backend is a black hole: requests arrive (``received``)
    and hang, so the SDK's export thread is stuck and its queue fills. Once released it
    answers 200 to everything, as a healthy Collector would.
    """

    def __init__(self) -> None:
        self.received = threading.Event()
        self.release = threading.Event()
        self.records = 0
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportLogsServiceRequest.FromString(body)
                collector.records += sum(
                    len(scope.log_records)
                    for resource in request.resource_logs
                    for scope in resource.scope_logs
                )
                collector.received.set()
                collector.release.wait(30)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @contextmanager
    def running(self) -> Iterator[HoldingCollector]:
        """Serve in a thread; on exit release every held request and stop."""
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.release.set()
            self.server.shutdown()
            self.server.server_close()
            thread.join()


def test_logs_to_a_black_holed_collector_are_counted_and_logged_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """configure(): while the Collector swallows a request, each record past the full queue
    is one drop in ``Telemetry.dropped["logs"]``, logged once; the rest arrive afterwards.
    """
    monkeypatch.setenv("OTEL_BLRP_MAX_QUEUE_SIZE", "4")
    monkeypatch.setenv("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "2")
    with HoldingCollector().running() as collector:
        telemetry = configure(
            endpoint=collector.url,
            traces_exporter="none",
            metrics_exporter="none",
            timeout=30.0,
            set_global=False,
        )
        logger = telemetry.logger_provider.get_logger("t")
        with capture_logs() as logs:
            logger.emit(body="record 0")
            logger.emit(body="record 1")  # a full batch: the export thread sends it, and hangs
            assert collector.received.wait(30)
            for index in range(2, 20):  # 4 fill the queue, each of the 14 after evicts one
                logger.emit(body=f"record {index}")
            assert telemetry.dropped["logs"] == 14
            collector.release.set()
            shutdown()
    assert telemetry.dropped == {"traces": 0, "metrics": 0, "logs": 14}
    assert collector.records == 2 + 4  # the held batch, then what the full queue kept
    drops = [log for log in logs if log["event"] == "telemetry.dropped"]
    assert [(log["signal"], log["count"]) for log in drops] == [("logs", 1)]


def test_logs_to_a_collector_that_is_down_are_counted() -> None:
    """Nothing listens at the endpoint: each record of the failed exports is one drop."""
    telemetry = configure(
        endpoint=closed_port_url(),
        traces_exporter="none",
        metrics_exporter="none",
        timeout=0.5,
        set_global=False,
    )
    logger = telemetry.logger_provider.get_logger("t")
    with capture_logs() as logs:
        for index in range(3):
            logger.emit(body=f"record {index}")
        assert telemetry.force_flush(5_000) is True
        assert telemetry.dropped["logs"] == 3
        shutdown()
    drops = [log for log in logs if log["event"] == "telemetry.dropped"]
    assert [(log["signal"], log["count"]) for log in drops] == [("logs", 3)]
