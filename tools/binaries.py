"""Build the real backends `nox -s collector` runs, once, into a cache folder outside the repo.

The pinned versions live here and nowhere else:

- our Collector distribution (`otelcol-langchain-otel`): core + contrib modules of one release,
  built with the Collector builder from a manifest rendered from `COLLECTOR_COMPONENTS`;
- the agent distribution (`otelcol-langchain-otel-agent`), the same builder with the
  `loadbalancing` exporter (see `AGENT_RELEASE` for why it is its own release);
- Prometheus 3 (`go build ./cmd/prometheus`, no web UI assets: the HTTP API is all we use);
- Jaeger v2 (`go build ./cmd/jaeger`, in-memory storage at run time).

Each binary lands in `${LANGCHAIN_OTEL_BIN_DIR:-${XDG_CACHE_HOME:-~/.cache}/langchain-otel/bin}`
as `NAME-VERSION` (the Collector ones also carry a hash of their manifest), so a second run
reuses it and a fresh machine builds it. Go's module cache (`go env GOMODCACHE`) and build
cache (`go env GOCACHE`) are the user's own and are kept, so a rebuild after a version bump
only compiles what changed. Modules come through the Go module proxy only.

    python tools/binaries.py build          # build what is missing, print the paths
    python tools/binaries.py paths          # print the paths (built or not)
    python tools/binaries.py manifest NAME  # print a Collector builder manifest
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

GO = "go"

# One release for the whole Collector distribution: core v0.165.0, contrib v0.165.1 (the last
# v0.165.x patch of contrib; it requires core v0.165.0).
COLLECTOR_CORE = "v0.165.0"
COLLECTOR_CONTRIB = "v0.165.1"
# The contrib `loadbalancing` exporter is not served by the Go module proxy for v0.162.0 to
# v0.165.1 (it answers 403 "This module version is not available"); v0.161.0 is the newest
# release it serves. The agent Collector, the only one that needs the exporter, is therefore
# a distribution of its own, of one release too (core and contrib v0.161.0).
AGENT_RELEASE = "v0.161.0"
# The stable (v1.x) core modules of each release: the confmap providers main.go imports.
STABLE = {COLLECTOR_CORE: "v1.71.0", AGENT_RELEASE: "v1.67.0"}
PROVIDERS = ["envprovider", "fileprovider", "httpprovider", "httpsprovider", "yamlprovider"]
PROMETHEUS = "v0.316.0"  # Prometheus 3.x (the Go module's v0.3MM.P is 3.MM.P)
JAEGER = "v1.76.0"  # the Go module's tag of Jaeger v2 (v2.13.0); cmd/jaeger is v2

CORE = "go.opentelemetry.io/collector"
CONTRIB = "github.com/open-telemetry/opentelemetry-collector-contrib"

# Exactly the components the shipped configs (dashboards/collector*.yaml) use.
COLLECTOR_COMPONENTS = {
    "receivers": [f"{CORE}/receiver/otlpreceiver {COLLECTOR_CORE}"],
    "processors": [
        f"{CORE}/processor/batchprocessor {COLLECTOR_CORE}",
        f"{CORE}/processor/memorylimiterprocessor {COLLECTOR_CORE}",
    ],
    "exporters": [
        f"{CORE}/exporter/otlpexporter {COLLECTOR_CORE}",
        f"{CONTRIB}/exporter/prometheusexporter {COLLECTOR_CONTRIB}",
        f"{CONTRIB}/exporter/prometheusremotewriteexporter {COLLECTOR_CONTRIB}",
        f"{CONTRIB}/exporter/fileexporter {COLLECTOR_CONTRIB}",
    ],
    "extensions": [f"{CONTRIB}/extension/healthcheckextension {COLLECTOR_CONTRIB}"],
}
AGENT_COMPONENTS = {
    "receivers": [f"{CORE}/receiver/otlpreceiver {AGENT_RELEASE}"],
    "processors": [
        f"{CORE}/processor/batchprocessor {AGENT_RELEASE}",
        f"{CORE}/processor/memorylimiterprocessor {AGENT_RELEASE}",
    ],
    "exporters": [
        f"{CORE}/exporter/otlpexporter {AGENT_RELEASE}",
        f"{CONTRIB}/exporter/loadbalancingexporter {AGENT_RELEASE}",
    ],
    "extensions": [f"{CONTRIB}/extension/healthcheckextension {AGENT_RELEASE}"],
}
# loadbalancingexporter v0.161.0 requires aws-sdk-go-v2/service/servicediscovery v1.48.0 (its
# AWS Cloud Map resolver), whose zip the module proxy does not serve (403); v1.49.0 it does.
AGENT_EXTRA_REQUIRES = ["github.com/aws/aws-sdk-go-v2/service/servicediscovery v1.49.0"]


@dataclass(frozen=True)
class Binary:
    """One program we build: its name, pinned version and how to build it."""

    name: str
    version: str
    kind: str  # "collector" (Collector builder) or "module" (go build in a module's source)
    module: str = ""
    package: str = ""
    components: dict[str, list[str]] | None = None
    builder_version: str = ""
    extra_requires: tuple[str, ...] = ()

    @property
    def tag(self) -> str:
        """`VERSION`, plus a hash of the manifest for Collector distributions."""
        if self.components is None:
            return self.version
        digest = hashlib.sha256((manifest(self, "") + go_mod(self)).encode()).hexdigest()[:8]
        return f"{self.version}-{digest}"

    @property
    def path(self) -> Path:
        """Where the built program lives."""
        return bin_dir() / f"{self.name}-{self.tag}"


BINARIES = {
    "otelcol": Binary(
        "otelcol-langchain-otel",
        COLLECTOR_CORE,
        "collector",
        components=COLLECTOR_COMPONENTS,
        builder_version=COLLECTOR_CORE,
    ),
    "otelcol-agent": Binary(
        "otelcol-langchain-otel-agent",
        AGENT_RELEASE,
        "collector",
        components=AGENT_COMPONENTS,
        builder_version=AGENT_RELEASE,
        extra_requires=tuple(AGENT_EXTRA_REQUIRES),
    ),
    "prometheus": Binary(
        "prometheus",
        PROMETHEUS,
        "module",
        module="github.com/prometheus/prometheus",
        package="./cmd/prometheus",
    ),
    "jaeger": Binary(
        "jaeger", JAEGER, "module", module="github.com/jaegertracing/jaeger", package="./cmd/jaeger"
    ),
}


def cache_dir() -> Path:
    """`${XDG_CACHE_HOME:-~/.cache}/langchain-otel`."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "langchain-otel"


def bin_dir() -> Path:
    """The folder of built programs (`LANGCHAIN_OTEL_BIN_DIR` overrides it)."""
    override = os.environ.get("LANGCHAIN_OTEL_BIN_DIR")
    return Path(override) if override else cache_dir() / "bin"


def manifest(binary: Binary, output_path: str) -> str:
    """The Collector builder manifest of a distribution."""
    assert binary.components is not None
    lines = [
        "dist:",
        f"  module: github.com/langchain-otel/{binary.name}",
        f"  name: {binary.name}",
        "  description: langchain-otel's minimal OpenTelemetry Collector distribution",
        f"  version: {binary.version.lstrip('v')}",
        f"  output_path: {output_path}",
    ]
    for section, modules in binary.components.items():
        lines.append(f"{section}:")
        lines.extend(f"  - gomod: {module}" for module in modules)
    return "\n".join(lines) + "\n"


def go_env() -> dict[str, str]:
    """The environment of every `go` command: module proxy only, modules resolved freely."""
    env = dict(os.environ)
    env.setdefault("GOPROXY", "https://proxy.golang.org")
    env["GOFLAGS"] = (env.get("GOFLAGS", "") + " -mod=mod").strip()
    env.setdefault("CGO_ENABLED", "0")
    env.setdefault("GOTOOLCHAIN", "local")
    env["GOWORK"] = "off"  # Prometheus ships a go.work; -mod=mod is refused in workspace mode
    return env


def run(cmd: list[str], cwd: Path | None = None) -> None:
    """Run a command, echoing it; raise with its output on failure."""
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=cwd, env=go_env(), check=True)


def build_collector(binary: Binary, work: Path) -> None:
    """Generate a distribution's sources with the Collector builder, then `go build` them.

    The builder's own `go mod tidy` step is skipped: it resolves the *test* imports of every
    component too, and the module proxy does not serve some of those (contrib's
    `otlpencodingextension` v0.165.x zip answers 403). `go build -mod=mod` resolves only
    what the binary imports.
    """
    run([GO, "install", f"go.opentelemetry.io/collector/cmd/builder@{binary.builder_version}"])
    gopath = subprocess.run(
        [GO, "env", "GOPATH"], env=go_env(), check=True, capture_output=True, text=True
    ).stdout.strip()
    builder = work / "builder"
    shutil.copy2(Path(gopath) / "bin" / "builder", builder)
    source = work / "src"
    config = work / "manifest.yaml"
    config.write_text(manifest(binary, str(source)))
    run([str(builder), "--config", str(config), "--skip-get-modules", "--skip-compilation"])
    (source / "go.mod").write_text(go_mod(binary))
    go_build(source, ".", work / "out", "-s -w")


def go_mod(binary: Binary) -> str:
    """The distribution's go.mod: every component, otelcol, service and the providers pinned."""
    assert binary.components is not None
    release = binary.builder_version
    requires = [module for modules in binary.components.values() for module in modules]
    requires += [f"{CORE}/otelcol {release}", f"{CORE}/service {release}"]
    requires += [f"{CORE}/confmap/provider/{name} {STABLE[release]}" for name in PROVIDERS]
    requires += binary.extra_requires
    lines = "".join(f"\t{module}\n" for module in requires)
    return f"module github.com/langchain-otel/{binary.name}\n\ngo 1.25\n\nrequire (\n{lines})\n"


def go_build(source: Path, package: str, out: Path, ldflags: str) -> None:
    """`go build` one package of a module's source tree (no workspace, modules resolved)."""
    run([GO, "build", "-trimpath", "-ldflags", ldflags, "-o", str(out), package], cwd=source)


def build_module(binary: Binary, work: Path) -> None:
    """`go build` a package inside its module's own source (so its go.mod and replaces hold)."""
    out = subprocess.run(
        [GO, "mod", "download", "-json", f"{binary.module}@{binary.version}"],
        env=go_env(),
        check=True,
        capture_output=True,
        text=True,
        cwd=work,
    ).stdout
    source = work / "src"
    shutil.copytree(json.loads(out)["Dir"], source)
    for root, dirs, files in os.walk(source):
        for name in dirs + files:
            os.chmod(os.path.join(root, name), 0o755)
    ldflags = "-s -w"
    if (source / "VERSION").is_file():  # Prometheus: `prometheus --version` says 3.x.y
        version = (source / "VERSION").read_text().strip()
        ldflags += f" -X github.com/prometheus/common/version.Version={version}"
    go_build(source, binary.package, work / "out", ldflags)


def build(key: str) -> Path:
    """The path of one binary, built first if it is not in the cache yet."""
    binary = BINARIES[key]
    if binary.path.exists():
        return binary.path
    if shutil.which(GO) is None:
        raise SystemExit(f"building {binary.name} needs Go on PATH")
    binary.path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"build-{binary.name}-") as tmp:
        work = Path(tmp)
        if binary.kind == "collector":
            build_collector(binary, work)
        else:
            build_module(binary, work)
        partial = binary.path.with_suffix(".partial")
        shutil.move(work / "out", partial)
        partial.chmod(0o755)
        partial.rename(binary.path)
    elapsed = time.monotonic() - started
    print(f"built {binary.path} in {elapsed:.0f} s (load {os.getloadavg()[0]:.1f})", flush=True)
    return binary.path


def paths() -> dict[str, str]:
    """Every binary's cache path, as `key -> path`."""
    return {key: str(binary.path) for key, binary in BINARIES.items()}


def main(argv: list[str]) -> int:
    """The command line (see the module docstring)."""
    command = argv[0] if argv else "build"
    if command == "build":
        for key in argv[1:] or list(BINARIES):
            print(f"{key}={build(key)}", flush=True)
    elif command == "paths":
        for key, path in paths().items():
            print(f"{key}={path}")
    elif command == "manifest":
        print(manifest(BINARIES[argv[1]], "OUTPUT_PATH"), end="")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
