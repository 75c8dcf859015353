"""The Collector, Prometheus, Tempo, Grafana and compose files fit together.

Docker and Grafana cannot run on the test machines, so these tests check what can be checked
without them: every file parses, every path compose mounts exists, the Collector's pipelines
use only components it defines, Prometheus scrapes the Collector's exporter port with
`honor_labels`, Grafana provisions the datasources the dashboards expect and loads the
dashboards from where compose mounts them, and `promtool check config` accepts prometheus.yml.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.dashboards._dashboards import DASHBOARD_DIR, dashboard_files
from tests.dashboards._prometheus import MISSING_REASON, PROMTOOL, SKIP

_ENV_REFERENCE = re.compile(r"\$\{env:(\w+):-([^}]*)\}")
COLLECTOR_CONFIGS = ["collector.yaml", "collector-agent.yaml", "collector-gateway.yaml"]


def _yaml(name: str) -> Any:
    return yaml.safe_load((DASHBOARD_DIR / name).read_text(encoding="utf-8"))


def _with_defaults(name: str) -> Any:
    """A Collector config as the Collector reads it with no variable set (the defaults)."""
    text = (DASHBOARD_DIR / name).read_text(encoding="utf-8")
    return yaml.safe_load(_ENV_REFERENCE.sub(lambda m: m[2], text))


COMPOSE = _yaml("compose.yaml")
COLLECTOR = _with_defaults("collector.yaml")
PROMETHEUS = _yaml("prometheus.yml")
DATASOURCES = _yaml("grafana/provisioning/datasources/langchain-otel.yaml")
PROVIDERS = _yaml("grafana/provisioning/dashboards/langchain-otel.yaml")


def _mounts(service: str) -> dict[str, str]:
    """container path -> host path of a service's bind mounts."""
    mounts = {}
    for volume in COMPOSE["services"][service].get("volumes", []):
        host, container = volume.split(":")[:2]
        if host.startswith("."):
            mounts[container] = host
    return mounts


def test_compose_runs_the_four_services() -> None:
    """Collector, Prometheus, Tempo and Grafana, each on a pinned image."""
    services = COMPOSE["services"]
    assert set(services) == {"otel-collector", "prometheus", "tempo", "grafana"}
    for service in services.values():
        image = service["image"]
        assert ":" in image
        assert not image.endswith(":latest")


@pytest.mark.parametrize("service", ["otel-collector", "prometheus", "tempo", "grafana"])
def test_compose_mounts_files_that_exist(service: str) -> None:
    """Every file or folder compose bind-mounts is in the repository."""
    for host in _mounts(service).values():
        assert (DASHBOARD_DIR / host).exists(), host


def test_grafana_gets_every_dashboard() -> None:
    """Compose mounts each dashboard where the provisioning provider reads them."""
    (provider,) = PROVIDERS["providers"]
    folder = provider["options"]["path"]
    mounted = {
        Path(host).name
        for container, host in _mounts("grafana").items()
        if container.startswith(folder)
    }
    assert mounted == {path.name for path in dashboard_files()}
    assert _mounts("grafana")["/etc/grafana/provisioning"] == "./grafana/provisioning"


def test_grafana_datasources_match_the_dashboards() -> None:
    """Prometheus (default) and Tempo are provisioned at the compose service addresses."""
    by_type = {source["type"]: source for source in DATASOURCES["datasources"]}
    assert by_type["prometheus"]["isDefault"] is True
    assert by_type["prometheus"]["url"] == "http://prometheus:9090"
    assert by_type["tempo"]["url"] == "http://tempo:3200"


@pytest.mark.parametrize("name", COLLECTOR_CONFIGS)
def test_collector_pipelines_use_defined_components(name: str) -> None:
    """Every pipeline uses defined components, through memory_limiter then batch."""
    config = _with_defaults(name)
    pipelines = config["service"]["pipelines"]
    assert set(pipelines) == {"traces", "metrics", "logs"}
    for pipeline in pipelines.values():
        for kind in ("receivers", "processors", "exporters"):
            assert set(pipeline[kind]) <= set(config[kind]), (kind, pipeline)
        assert pipeline["processors"] == ["memory_limiter", "batch"]
    assert set(config["service"]["extensions"]) <= set(config["extensions"])


def test_collector_sends_traces_metrics_and_logs() -> None:
    """Traces to the trace backend (Tempo in compose), metrics to the exporter, logs to file."""
    pipelines = COLLECTOR["service"]["pipelines"]
    assert pipelines["traces"]["exporters"] == ["otlp/traces"]
    assert pipelines["metrics"]["exporters"] == ["prometheus"]
    assert pipelines["logs"]["exporters"] == ["file/logs"]
    assert COLLECTOR["exporters"]["otlp/traces"]["endpoint"] == "tempo:4317"


def test_agent_balances_by_trace_id() -> None:
    """The agent routes traces and logs by trace id, metrics by service, to the gateways."""
    agent = _with_defaults("collector-agent.yaml")
    pipelines = agent["service"]["pipelines"]
    assert pipelines["traces"]["exporters"] == pipelines["logs"]["exporters"] == ["loadbalancing"]
    assert agent["exporters"]["loadbalancing"]["routing_key"] == "traceID"
    assert agent["exporters"]["loadbalancing/metrics"]["routing_key"] == "service"
    gateway = _with_defaults("collector-gateway.yaml")
    port = gateway["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].rsplit(":", 1)[1]
    hostnames = agent["exporters"]["loadbalancing"]["resolver"]["static"]["hostnames"]
    assert len(hostnames) == 2
    assert all(hostname.endswith(f":{port}") for hostname in hostnames)


def _leaves(node: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [leaf for key, value in node.items() for leaf in _leaves(value, f"{path}.{key}")]
    if isinstance(node, list):
        return [(path, node)]
    return [(path, node)]


@pytest.mark.parametrize("name", COLLECTOR_CONFIGS)
def test_every_address_is_an_environment_variable(name: str) -> None:
    """Endpoints, hosts, ports, gateways and paths are `${env:NAME:-default}` (tests set them)."""
    raw = _yaml(name)
    keys = ("endpoint", "host", "port", "hostnames", "path")
    addresses = [(path, value) for path, value in _leaves(raw) if path.rsplit(".", 1)[1] in keys]
    assert addresses
    for path, value in addresses:
        assert isinstance(value, str), (path, value)
        assert _ENV_REFERENCE.fullmatch(value), (path, value)


def test_prometheus_scrapes_the_collector() -> None:
    """Prometheus scrapes the Collector's exporter port and keeps its job/instance labels."""
    port = COLLECTOR["exporters"]["prometheus"]["endpoint"].rsplit(":", 1)[1]
    (job,) = [j for j in PROMETHEUS["scrape_configs"] if j["job_name"] == "otel-collector"]
    assert job["honor_labels"] is True
    assert job["static_configs"][0]["targets"] == [f"otel-collector:{port}"]
    assert f"{port}:{port}" in COMPOSE["services"]["otel-collector"]["ports"]


def test_tempo_receives_the_collector_traces() -> None:
    """Tempo listens for OTLP/gRPC on the port the Collector sends to."""
    tempo = _yaml("tempo.yaml")
    endpoint = tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert endpoint.endswith(":4317")


@pytest.mark.prometheus
@pytest.mark.skipif(SKIP, reason=MISSING_REASON)
def test_promtool_accepts_prometheus_yml() -> None:
    """`promtool check config` accepts the shipped prometheus.yml."""
    assert PROMTOOL is not None, MISSING_REASON
    result = subprocess.run(
        [PROMTOOL, "check", "config", str(DASHBOARD_DIR / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
