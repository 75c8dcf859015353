"""configure(): arguments, OTEL_* variables, errors, OTLP to a real loopback receiver."""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.trace import NoOpTracerProvider
from structlog.testing import capture_logs

import langchain_otel
from langchain_otel import configure, get_config, is_configured, reset_defaults, shutdown
from langchain_otel._export._counting import OTLP_LOGGERS
from langchain_otel._settings import ARGUMENTS, OPTIONS
from langchain_otel.exceptions import ConfigurationError, MissingDependencyError
from tests._collector import closed_port_url, otlp_collector


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    # tests/conftest.py has cleared OTEL_* / LANGCHAIN_OTEL_* and reset the global state.
    assert not [name for name in os.environ if name.startswith("OTEL_")]
    monkeypatch.chdir(tmp_path)
    reset_defaults()
    global_provider = trace.get_tracer_provider()
    yield
    reset_defaults()
    # set_global=False everywhere here: OpenTelemetry's global provider is never touched.
    assert trace.get_tracer_provider() is global_provider


def _json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _resource(line: dict[str, Any], key: str) -> dict[str, Any]:
    return {a["key"]: a["value"] for a in line[key][0]["resource"]["attributes"]}


def _work(telemetry: langchain_otel.Telemetry) -> None:
    tracer = telemetry.tracer_provider.get_tracer("t")
    with tracer.start_as_current_span("op"):
        pass
    telemetry.meter_provider.get_meter("t").create_counter("hits").add(1)
    telemetry.logger_provider.get_logger("t").emit(body="hello")


def test_embedded_default_writes_three_files(tmp_path: Path) -> None:
    """No endpoint anywhere: traces, metrics and logs go to OTLP JSON Lines in the folder."""
    telemetry = configure(set_global=False)
    assert telemetry.directory == tmp_path / "langchain-otel-telemetry"
    _work(telemetry)
    shutdown()
    assert not is_configured()
    names = sorted(p.name for p in telemetry.directory.iterdir())
    assert names == ["logs.jsonl", "metrics.jsonl", "traces.jsonl"]
    traces = _json_lines(telemetry.directory / "traces.jsonl")
    assert traces[0]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"] == "op"
    # The file-exporter spec (what otlpjsonfile reads): one request object per line, and
    # exactly one type of data per file.
    for name, key in [
        ("traces.jsonl", "resourceSpans"),
        ("metrics.jsonl", "resourceMetrics"),
        ("logs.jsonl", "resourceLogs"),
    ]:
        lines = _json_lines(telemetry.directory / name)
        assert lines
        assert all(set(line) == {key} for line in lines), name
    assert telemetry.dropped == {"traces": 0, "metrics": 0, "logs": 0}


def test_env_is_read_at_call_time_and_arguments_win(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, LANGCHAIN_OTEL_DIRECTORY; args win."""
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test,team=llm")
    monkeypatch.setenv("LANGCHAIN_OTEL_DIRECTORY", str(tmp_path / "env-dir"))
    telemetry = configure(set_global=False)
    assert telemetry.directory == tmp_path / "env-dir"
    assert telemetry.config["sources"]["service_name"] == "OTEL_SERVICE_NAME"
    _work(telemetry)
    shutdown()
    line = _json_lines(tmp_path / "env-dir" / "traces.jsonl")[0]
    resource = _resource(line, "resourceSpans")
    assert resource["service.name"] == {"stringValue": "from-env"}
    assert resource["deployment.environment"] == {"stringValue": "test"}

    telemetry = configure(service_name="from-arg", directory=tmp_path / "arg-dir", set_global=False)
    _work(telemetry)
    shutdown()
    line = _json_lines(tmp_path / "arg-dir" / "traces.jsonl")[0]
    assert _resource(line, "resourceSpans")["service.name"] == {"stringValue": "from-arg"}
    assert not (tmp_path / "env-dir" / "traces.jsonl").read_text().count("\n") > 1


def test_service_name_from_resource_attributes(monkeypatch: pytest.MonkeyPatch) -> None:
    """service.name inside OTEL_RESOURCE_ATTRIBUTES counts when OTEL_SERVICE_NAME is unset."""
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=billing")
    assert get_config()["service_name"] == "billing"


@pytest.mark.parametrize(
    ("env", "value", "fragment"),
    [
        (
            "OTEL_TRACES_EXPORTER",
            "zipkin",
            "OTEL_TRACES_EXPORTER: unknown traces exporter 'zipkin'",
        ),
        ("OTEL_METRICS_EXPORTER", "statsd", "use one of: otlp, jsonl, prometheus, console, none"),
        ("OTEL_LOGS_EXPORTER", "none,otlp", "'none' cannot be combined"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318", "malformed endpoint"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://x/y", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://h:99999", "malformed port"),
        (
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "http/thrift",
            "use one of: http/protobuf, grpc, http/json",
        ),
        (
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "thrift",
            "OTEL_EXPORTER_OTLP_PROTOCOL: unsupported OTLP protocol 'thrift'; "
            "use one of: http/protobuf, grpc, http/json",
        ),
        (
            "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
            "http/xml",
            "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: unsupported OTLP protocol 'http/xml'",
        ),
        ("OTEL_METRIC_EXPORT_INTERVAL", "soon", "OTEL_METRIC_EXPORT_INTERVAL: 'soon' is not"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "0", "positive, finite"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "-5", "positive, finite"),
    ],
)
def test_bad_environment_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, fragment: str
) -> None:
    """Bad OTEL_* values raise ConfigurationError naming the variable and the valid values."""
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigurationError) as info:
        configure(set_global=False)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)
    assert not is_configured()


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"exporter": "jaeger"}, "exporter: unknown traces exporter 'jaeger'"),
        ({"traces_exporter": "prometheus"}, "traces_exporter: unknown traces exporter"),
        ({"endpoint": "not a url"}, "endpoint: malformed endpoint 'not a url'"),
        ({"metric_export_interval": -1}, "metric_export_interval: must be a positive"),
        ({"timeout": 0}, "timeout: must be a positive"),
        ({"max_file_bytes": -1}, "max_file_bytes"),
        ({"prometheus_port": 70000, "metrics_exporter": "prometheus"}, "outside 0-65535"),
        ({"service_name": " "}, "service_name"),
        ({"protocol": "thrift"}, "protocol: unsupported OTLP protocol 'thrift'"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs: dict[str, Any], fragment: str) -> None:
    """Bad arguments raise ConfigurationError naming the argument."""
    with pytest.raises(ConfigurationError, match=None) as info:
        configure(set_global=False, **kwargs)
    assert fragment in str(info.value)


def test_wrong_protocol_fails_even_when_no_signal_uses_otlp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A wrong OTEL_EXPORTER_OTLP_PROTOCOL is bad input: an error, not a silent fallback."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "udp")
    with pytest.raises(ConfigurationError, match="OTEL_EXPORTER_OTLP_PROTOCOL: unsupported"):
        configure(exporter="console", set_global=False)
    with pytest.raises(ConfigurationError, match="OTEL_EXPORTER_OTLP_PROTOCOL"):
        get_config()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", " GRPC ")
    assert get_config()["traces_protocol"] == "grpc"
    assert not is_configured()


def test_settings_are_declared_once() -> None:
    """configure()'s keyword arguments and get_config()'s keys come from one option list."""
    parameters = inspect.signature(configure).parameters
    assert set(parameters) == set(ARGUMENTS)
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())
    keys = {option.key for option in OPTIONS}
    assert {"traces_protocol", "logs_endpoint", "metrics_exporter", "set_global"} <= keys
    config = get_config()  # "exporter" only appears when the argument is given
    assert set(config) == keys - {"exporter"} | {"sources"}
    assert set(config["sources"]) == keys - {"exporter"}
    telemetry = configure(exporter="console", set_global=False)
    assert set(telemetry.config) == keys | {"sources"}


def test_settings_are_frozen_and_typed(tmp_path: Path) -> None:
    """Telemetry.settings is immutable; Telemetry.config is the same values as a fresh dict."""
    telemetry = configure(directory=tmp_path, headers={"X-Key": "v"}, set_global=False)
    settings = telemetry.settings
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.service_name = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.traces.headers["x-key"] = "other"  # type: ignore[index]
    assert settings.traces.exporters == ("jsonl",)
    assert settings.traces.headers == {"x-key": "v"}
    assert settings.directory == str(tmp_path)
    assert telemetry.config == settings.as_dict()
    assert telemetry.config["traces_headers"] == {"x-key": "v"}
    assert telemetry.config["sources"]["traces_headers"] == "argument"


def test_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    """A folder that cannot be created fails at configure(), naming the setting."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigurationError, match="directory: cannot write telemetry files"):
        configure(directory=blocker / "sub", set_global=False)
    assert not is_configured()


def test_idempotent_same_settings_and_error_on_different(tmp_path: Path) -> None:
    """Same settings return the same handle; different ones raise until shutdown()."""
    first = configure(directory=tmp_path / "t", set_global=False)
    assert configure(directory=tmp_path / "t", set_global=False) is first
    with pytest.raises(ConfigurationError, match=r"differing: directory, service_name"):
        configure(directory=tmp_path / "u", service_name="x", set_global=False)
    shutdown()
    second = configure(directory=tmp_path / "u", set_global=False)
    assert second is not first
    assert first.closed
    assert not second.closed


def test_get_config_returns_a_copy() -> None:
    """Changing get_config()'s result changes nothing."""
    telemetry = configure(set_global=False)
    config = get_config()
    config["traces_headers"]["x"] = "y"
    config["service_name"] = "changed"
    assert get_config() == telemetry.config
    assert telemetry.config["service_name"] == "unknown_service"
    assert telemetry.config["traces_headers"] == {}


def test_sdk_disabled_gives_noop_providers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """OTEL_SDK_DISABLED=true: no-op providers, no files."""
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    telemetry = configure(set_global=False)
    assert isinstance(telemetry.tracer_provider, NoOpTracerProvider)
    assert isinstance(telemetry.meter_provider, NoOpMeterProvider)
    _work(telemetry)
    shutdown()
    assert list(tmp_path.iterdir()) == []


def test_none_and_console_exporters(tmp_path: Path) -> None:
    """'none' and 'console' (the SDK's stdout exporters) create no folder and no files."""
    telemetry = configure(
        traces_exporter="console", metrics_exporter="none", logs_exporter="none", set_global=False
    )
    assert telemetry.directory is None
    _work(telemetry)
    shutdown()
    assert telemetry.config["traces_exporter"] == ("console",)
    assert list(tmp_path.iterdir()) == []


def test_otlp_http_reaches_a_real_receiver(monkeypatch: pytest.MonkeyPatch) -> None:
    """With OTEL_EXPORTER_OTLP_ENDPOINT the three signals arrive over OTLP/HTTP, with headers."""
    with otlp_collector() as collector:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20s3cret,x-team=llm")
        telemetry = configure(service_name="svc", set_global=False)
        assert telemetry.config["traces_exporter"] == ("otlp",)
        assert telemetry.config["traces_endpoint"] == f"{collector.url}/v1/traces"
        assert telemetry.directory is None
        _work(telemetry)
        shutdown()
        assert sorted(collector.requests) == ["/v1/logs", "/v1/metrics", "/v1/traces"]
        (span,) = collector.spans()
        assert span.name == "op"
        assert all(h["authorization"] == "Bearer s3cret" for h in collector.headers)
        assert all(h["content-type"] == "application/x-protobuf" for h in collector.headers)
        assert telemetry.dropped == {"traces": 0, "metrics": 0, "logs": 0}


def test_per_signal_endpoint_is_used_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is a full URL; other signals keep the default."""
    with otlp_collector() as collector:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{collector.url}/v1/traces")
        telemetry = configure(set_global=False)
        assert telemetry.config["traces_exporter"] == ("otlp",)
        assert telemetry.config["metrics_exporter"] == ("jsonl",)
        _work(telemetry)
        shutdown()
        assert [span.name for span in collector.spans()] == ["op"]
        assert sorted(collector.requests) == ["/v1/traces"]


def _otlp_span_exporter(telemetry: langchain_otel.Telemetry) -> Any:
    """The OTLP span exporter inside our counting wrappers (SDK internals, tests only)."""
    (processor,) = telemetry.tracer_provider._active_span_processor._span_processors  # type: ignore[attr-defined]
    return processor._batch_processor._exporter.inner


@pytest.mark.parametrize("dead", ["closed port", "HTTP 500"])
def test_dead_backend_drops_counts_logs_once_and_never_raises(
    dead: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A backend that is gone: spans dropped and counted, one log line, bounded shutdown."""
    with otlp_collector(status=500) as collector:
        url = closed_port_url() if dead == "closed port" else collector.url
        telemetry = configure(endpoint=url, timeout=1.0, set_global=False)
        tracer = telemetry.tracer_provider.get_tracer("t")
        with capture_logs() as logs:
            for index in range(3):
                with tracer.start_as_current_span("op"):
                    pass
                # The flush finished (the exporter gave up within its timeout): True, and
                # the batch is already counted as dropped.
                assert telemetry.force_flush(5_000) is True
                assert telemetry.dropped["traces"] == index + 1
            shutdown()
        assert telemetry.force_flush() is False  # shut down: nothing can flush any more
        dropped = telemetry.dropped
        assert dropped["traces"] == 3
        drops = [log for log in logs if log["event"] == "telemetry.dropped"]
        assert [log["signal"] for log in drops] == ["traces"]  # logged once, for traces
        # shutdown() is bounded by the export timeout: the one we set reached the exporter.
        exporter = _otlp_span_exporter(telemetry)
        assert exporter.timeout == 1.0
        # The exporters' own logging: at most the first line per exporter logger.
        otlp_records = [r.name for r in caplog.records if r.name in OTLP_LOGGERS]
        assert len(otlp_records) == len(set(otlp_records))
        if dead == "HTTP 500":
            assert collector.hits >= 3


def test_prometheus_exporter_serves_metrics() -> None:
    """metrics_exporter='prometheus' serves /metrics on the configured host/port (0 = free)."""
    telemetry = configure(
        metrics_exporter="prometheus",
        traces_exporter="none",
        logs_exporter="none",
        prometheus_host="127.0.0.1",
        prometheus_port=0,
        set_global=False,
    )
    address = telemetry.prometheus_address
    assert address is not None
    histogram = telemetry.meter_provider.get_meter("t").create_histogram(
        "gen_ai.client.operation.duration", unit="s"
    )
    histogram.record(0.2, {"gen_ai.request.model": "echo-small"})
    with urllib.request.urlopen(f"http://{address[0]}:{address[1]}/metrics", timeout=5) as page:
        text = page.read().decode()
    assert 'gen_ai_client_operation_duration_seconds_bucket{gen_ai_request_model="echo-small"' in (
        text
    )
    shutdown()


def test_prometheus_from_env_with_busy_port_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OTEL_METRICS_EXPORTER=prometheus on a taken port fails at configure()."""
    first = configure(
        exporter="prometheus", prometheus_host="127.0.0.1", prometheus_port=0, set_global=False
    )
    assert first.config["traces_exporter"] == ("none",)
    address = first.prometheus_address
    assert address is not None
    shutdown()
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        monkeypatch.setenv("OTEL_METRICS_EXPORTER", "prometheus")
        monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1")
        monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_PORT", str(sock.getsockname()[1]))
        with pytest.raises(ConfigurationError, match="OTEL_EXPORTER_PROMETHEUS_PORT"):
            configure(set_global=False)


@pytest.mark.parametrize(
    ("module", "kwargs", "extra"),
    [
        (
            "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
            {"endpoint": "http://127.0.0.1:4317", "protocol": "grpc"},
            "grpc",
        ),
        (  # http/protobuf traces are ours: its metrics and logs need the extra
            "opentelemetry.exporter.otlp.proto.http.metric_exporter",
            {"endpoint": "http://127.0.0.1:4318"},
            "otlp",
        ),
        ("opentelemetry.exporter.prometheus", {"metrics_exporter": "prometheus"}, "prometheus"),
    ],
)
def test_missing_extra_names_the_pip_command(
    monkeypatch: pytest.MonkeyPatch, module: str, kwargs: dict[str, Any], extra: str
) -> None:
    """An exporter whose package cannot be imported raises MissingDependencyError with pip."""
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail, as if absent
    with pytest.raises(MissingDependencyError, match=rf"pip install 'langchain-otel\[{extra}\]'"):
        configure(set_global=False, **kwargs)
    assert not is_configured()


def test_otlp_grpc_reaches_a_real_receiver() -> None:
    """OTEL_EXPORTER_OTLP_PROTOCOL=grpc: spans arrive at a real gRPC TraceService on loopback."""
    grpc = pytest.importorskip("grpc", reason="the grpc extra is not installed")
    from concurrent import futures

    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

    received: list[Any] = []

    class TraceService(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc,unused-ignore]
        def Export(self, request: Any, context: Any) -> Any:
            received.append(request)
            return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        telemetry = configure(
            endpoint=f"http://127.0.0.1:{port}",
            protocol="grpc",
            metrics_exporter="none",
            logs_exporter="none",
            timeout=5.0,
            set_global=False,
        )
        assert telemetry.config["traces_endpoint"] == f"http://127.0.0.1:{port}"
        with telemetry.tracer_provider.get_tracer("t").start_as_current_span("over-grpc"):
            pass
        shutdown()
    finally:
        server.stop(None)
    spans = [
        span.name
        for request in received
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert spans == ["over-grpc"]
    assert telemetry.dropped["traces"] == 0


def test_set_global_installs_the_providers_once() -> None:
    """set_global=True (fresh interpreter) installs the globals; already-set ones are refused."""
    code = """
import tempfile
from opentelemetry import trace, metrics
from langchain_otel import configure, shutdown
from langchain_otel.exceptions import ConfigurationError
t = configure(directory=tempfile.mkdtemp())
assert trace.get_tracer_provider() is t.tracer_provider
assert metrics.get_meter_provider() is t.meter_provider
shutdown()
try:
    configure(directory=tempfile.mkdtemp())
except ConfigurationError as exc:
    print("refused:", exc)
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "refused: set_global: the global OpenTelemetry providers are already set" in (
        result.stdout
    )


def _spans_through_configure(tmp_path: Path, count: int) -> Path:
    telemetry = configure(
        directory=tmp_path / "capped",
        max_file_bytes=20_000,
        backup_count=2,
        metrics_exporter="none",
        logs_exporter="none",
        set_global=False,
    )
    tracer = telemetry.tracer_provider.get_tracer("t")
    for index in range(count):
        with tracer.start_as_current_span("op", attributes={"i": index, "pad": "x" * 200}):
            pass
        if index % 50 == 49:
            telemetry.force_flush()
    shutdown()
    assert telemetry.dropped["traces"] == 0
    return tmp_path / "capped"


def test_files_stay_capped_through_configure(tmp_path: Path) -> None:
    """max_file_bytes/backup_count reach the writers: the folder never exceeds its cap."""
    folder = _spans_through_configure(tmp_path, 400)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["traces.jsonl", "traces.jsonl.1", "traces.jsonl.2"]
    _assert_capped(folder, 20_000)


def _assert_capped(folder: Path, cap: int) -> None:
    """Each file is within the cap, unless it holds a single line longer than the cap."""
    for path in folder.iterdir():
        lines = path.read_bytes().splitlines(keepends=True)
        assert path.stat().st_size <= max([cap, *(len(line) for line in lines)]), path.name
        if len(lines) > 1:
            assert path.stat().st_size <= cap, path.name
        for line in lines:
            assert json.loads(line)["resourceSpans"]


@pytest.mark.stress
def test_files_stay_capped_under_a_long_run(tmp_path: Path) -> None:
    """20 000 spans through configure(): still three files, within the cap, all lines whole."""
    folder = _spans_through_configure(tmp_path, 20_000)
    assert len(list(folder.iterdir())) == 3
    _assert_capped(folder, 20_000)
    last = (folder / "traces.jsonl").read_text().splitlines()[-1]
    spans = json.loads(last)["resourceSpans"][0]["scopeSpans"][0]["spans"]
    indexes = [
        int(a["value"]["intValue"]) for s in spans for a in s["attributes"] if a["key"] == "i"
    ]
    assert indexes[-1] == 19_999
