"""Sizing: how many spans a second one Collector (dashboards/collector.yaml) takes here.

A load generator posts pre-encoded OTLP/HTTP requests of 500 spans shaped like ours (a
model span's gen_ai.* attributes) from 4 threads for a fixed time; the Collector exports to
Jaeger v2. The Collector's own counters give accepted, refused and exported spans per
second. The figure is for this machine (2 cores shared by the generator, the Collector,
Jaeger and whatever else runs), recorded, not asserted beyond sanity.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from tests.collector._servers import MISSING_REASON, SKIP, Collector, Jaeger, wait_for
from tests.reliability._support import record

pytestmark = [pytest.mark.collector, pytest.mark.skipif(SKIP, reason=MISSING_REASON)]

SPANS_PER_REQUEST = 500
THREADS = 4
DURATION_S = 10.0


def _attribute(key: str, value: str | int | float) -> common_pb2.KeyValue:
    if isinstance(value, str):
        any_value = common_pb2.AnyValue(string_value=value)
    elif isinstance(value, int):
        any_value = common_pb2.AnyValue(int_value=value)
    else:
        any_value = common_pb2.AnyValue(double_value=value)
    return common_pb2.KeyValue(key=key, value=any_value)


def _payload(seed: int) -> bytes:
    attributes = [
        _attribute("gen_ai.operation.name", "chat"),
        _attribute("gen_ai.provider.name", "openai"),
        _attribute("gen_ai.request.model", "gpt-4o-mini"),
        _attribute("gen_ai.response.model", "gpt-4o-mini-2024-07-18"),
        _attribute("gen_ai.usage.input_tokens", 812),
        _attribute("gen_ai.usage.output_tokens", 164),
        _attribute("gen_ai.request.temperature", 0.2),
        _attribute("gen_ai.response.finish_reasons", "stop"),
        _attribute("langchain_otel.outcome", "ok"),
        _attribute("langchain_otel.cost.usd", 0.000220),
    ]
    spans = [
        trace_pb2.Span(
            trace_id=os.urandom(16),
            span_id=os.urandom(8),
            name="chat gpt-4o-mini",
            kind=trace_pb2.Span.SPAN_KIND_CLIENT,
            start_time_unix_nano=time.time_ns(),
            end_time_unix_nano=time.time_ns() + 1_000_000,
            attributes=attributes,
        )
        for _ in range(SPANS_PER_REQUEST)
    ]
    resource = resource_pb2.Resource(attributes=[_attribute("service.name", f"sizing-{seed}")])
    request = trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(
                resource=resource, scope_spans=[trace_pb2.ScopeSpans(spans=spans)]
            )
        ]
    )
    return request.SerializeToString()


def test_spans_per_second_one_collector_takes(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Accepted and exported spans/s of one Collector under a 10 s OTLP/HTTP load."""
    jaeger = Jaeger(tmp_path / "jaeger")
    collector = Collector(
        tmp_path / "collector", env={"COLLECTOR_TRACES_ENDPOINT": jaeger.otlp_address}
    )
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def generate(seed: int) -> None:
        body = _payload(seed)
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                code = client.post(
                    f"{collector.http_endpoint}/v1/traces",
                    content=body,
                    headers={"Content-Type": "application/x-protobuf"},
                ).status_code
                with lock:
                    statuses[code] = statuses.get(code, 0) + 1

    with jaeger, collector:
        threads = [threading.Thread(target=generate, args=(i,)) for i in range(THREADS)]
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(DURATION_S)
        stop.set()
        for thread in threads:
            thread.join(30)
        elapsed = time.monotonic() - started
        accepted = collector.own_metrics().get("otelcol_receiver_accepted_spans", 0.0)
        wait_for(
            lambda: collector.own_metrics().get("otelcol_exporter_sent_spans", 0.0) >= accepted,
            timeout=60,
            interval=1,
        )
        drained = time.monotonic() - started
        own = collector.own_metrics()
    record(
        request,
        accepted_spans_per_s=accepted / elapsed,
        exported_spans_per_s=own.get("otelcol_exporter_sent_spans", 0.0) / drained,
        refused_spans=own.get("otelcol_receiver_refused_spans", 0.0),
        export_failed_spans=own.get("otelcol_exporter_send_failed_spans", 0.0),
        http_statuses=statuses,
        load_average_before=load_before,
        load_average_after=os.getloadavg()[0],
    )
    assert statuses.get(200, 0) > 0
    assert accepted >= statuses[200] * SPANS_PER_REQUEST
