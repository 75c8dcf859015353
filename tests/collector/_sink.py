"""A slow OTLP/gRPC trace backend: a real gRPC server that takes its time to answer."""

from __future__ import annotations

import threading
import time
from concurrent import futures
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from tests.dashboards._prometheus import free_port


class SlowTraceBackend(trace_service_pb2_grpc.TraceServiceServicer):
    """Accepts every export after ``delay`` seconds and counts the spans it got."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.port = free_port()
        self.spans = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self, self._server)
        self._server.add_insecure_port(f"127.0.0.1:{self.port}")

    @property
    def address(self) -> str:
        """host:port, what a Collector's `otlp` exporter takes."""
        return f"127.0.0.1:{self.port}"

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        """Sleep, count, accept."""
        time.sleep(self.delay)
        count = sum(
            len(scope.spans)
            for resource in request.resource_spans
            for scope in resource.scope_spans
        )
        with self._lock:
            self.spans += count
            self.requests += 1
        return trace_service_pb2.ExportTraceServiceResponse()

    def __enter__(self) -> SlowTraceBackend:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None)
