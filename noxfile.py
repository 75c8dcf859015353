"""Every task of the project: `nox -l` lists them, `nox -s NAME` runs one."""

from __future__ import annotations

import os
import shutil

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_external_run = True
nox.options.sessions = ["lint", "typecheck", "tests", "docs"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
CI = bool(os.environ.get("CI"))


def group(name: str) -> list[str]:
    """The requirements of one `[dependency-groups]` table of pyproject.toml."""
    return list(nox.project.dependency_groups(PYPROJECT, name))


def install_project(session: nox.Session, *extras: str) -> None:
    """Install the project (editable) with the given extras."""
    spec = f".[{','.join(extras)}]" if extras else "."
    session.install("-e", spec)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff: lint and formatting check."""
    session.install(*group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package, tests/typing (the public API as users type it) and tests.

    The tests are checked with the same extras and test libraries they run with; what they
    relax is in pyproject.toml's `[[tool.mypy.overrides]]`.
    """
    install_project(session, "otlp", "grpc", "prometheus", "prices")
    session.install(*group("tests"), *group("typing"))
    session.run("mypy", "src", "tests")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite (fast sizes); extra arguments go to pytest."""
    install_project(session, "otlp", "grpc", "prometheus", "prices")
    session.install(*group("tests"))
    session.run("pytest", "-m", "not stress", *session.posargs)


# The langchain-core range we support (pyproject: langchain-core>=0.3), at both ends.
LANGCHAIN_CORE_BOUNDS = {"lowest": "langchain-core==0.3.0", "newest": "langchain-core"}


@nox.session
@nox.parametrize("bound", list(LANGCHAIN_CORE_BOUNDS))
def langchain_bounds(session: nox.Session, bound: str) -> None:
    """Context propagation (it patches LangChain) against the lowest and newest langchain-core."""
    install_project(session)
    # The packages built on a newer langchain-core (langchain 1.x breaks 0.3.0's globals)
    # are not needed by the context tests: leave them out, and out of a reused venv.
    newer = ("langchain>", "langchain-tests", "langgraph")
    # pytest-benchmark: pyproject's addopts pass --benchmark-disable (langchain-tests uses it).
    session.install(*(r for r in group("tests") if not r.startswith(newer)), "pytest-benchmark")
    session.run(
        "python",
        "-m",
        "pip",
        "uninstall",
        "-q",
        "-y",
        "langchain",
        "langchain-tests",
        "langgraph",
        silent=True,
    )
    session.install("--upgrade", LANGCHAIN_CORE_BOUNDS[bound])
    session.run(
        "pytest",
        "tests/callbacks/test_context.py",
        "-p",
        "no:cacheprovider",
        "-W",
        "ignore::DeprecationWarning",  # old langchain-core on new pydantic
        *session.posargs,
    )


@nox.session
def stress(session: nox.Session) -> None:
    """The heavy sizes of the reliability tests."""
    install_project(session, "otlp", "grpc", "prometheus", "prices")  # the tests session's
    session.install(*group("tests"))
    session.run("pytest", "-m", "stress", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: an instrumented LangChain workload; extra arguments go to the CLI."""
    install_project(session, "otlp", "prices")
    session.install("langchain>=1.0", "langgraph>=1.0")  # the demo's agent traffic
    session.run("langchain-otel", "demo", *session.posargs)


@nox.session
def report(session: nox.Session) -> None:
    """Summarise the demo's telemetry files: `nox -s report -- DIR [--html FILE]`."""
    install_project(session, "otlp", "prices")
    session.run("langchain-otel", "report", *(session.posargs or ["langchain-otel-telemetry"]))


@nox.session
def dashboards(session: nox.Session) -> None:
    """Dashboards: schema checks, then every query against a real Prometheus.

    Installs Debian's `prometheus` package (with `promtool`) when it is missing.
    """
    if not (shutil.which("prometheus") and shutil.which("promtool")):
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        session.run("apt-get", "update", "-q", external=True, env=env)
        session.run("apt-get", "install", "-y", "-q", "prometheus", external=True, env=env)
    install_project(session, "prometheus")
    session.install(*group("tests"))
    session.run(
        "pytest",
        "tests/dashboards",
        "-m",
        "prometheus or not phoenix",
        *session.posargs,
        env={"LANGCHAIN_OTEL_REQUIRE_SERVERS": "1"},
    )


@nox.session
def phoenix(session: nox.Session) -> None:
    """Traces: the demo's spans over OTLP/HTTP into a real Arize Phoenix server, read back."""
    install_project(session, "otlp")
    session.install(*group("tests"), "arize-phoenix")
    session.run(
        "pytest",
        "tests/dashboards/test_phoenix.py",
        "-m",
        "phoenix",
        *session.posargs,
        env={"LANGCHAIN_OTEL_REQUIRE_SERVERS": "1"},
    )


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site with `mkdocs build --strict`; `-- serve` serves it."""
    install_project(session, "otlp", "prometheus", "prices")
    session.install(*group("docs"))
    env = {"NO_MKDOCS_2_WARNING": "1"}  # mkdocs-material's banner about its successor
    if session.posargs and session.posargs[0] == "serve":
        session.run("mkdocs", "serve", *session.posargs[1:], env=env)
    else:
        session.run("mkdocs", "build", "--strict", *session.posargs, env=env)


# The peers the benchmark compares us with (issue 6); versions are printed with the results.
BENCH_PEERS = [
    "openinference-instrumentation-langchain",
    "opentelemetry-instrumentation-langchain",  # OpenLLMetry (Traceloop)
    "opentelemetry-instrumentation-genai-langchain",  # the official OTel GenAI one
]
# Langfuse's LangChain handler imports the `langchain` package, which the others run
# without (the official one then needs skip_dep_check): it gets a venv of its own.
BENCH_LANGFUSE = ["langfuse>=3.15,<4", "langchain"]


@nox.session
def bench(session: nox.Session) -> None:
    """Overhead side by side with the peers (manual); `-- --quick` is the CI smoke run.

    The service benchmark saturates a FastAPI app with Debian's `wrk` (installed here when
    missing; without it, a bounded asyncio client does the load). `-- --instructions`
    counts instructions per op under Debian's `valgrind` (installed here when asked for).
    """
    tools = ["wrk"] + (["valgrind"] if "--instructions" in session.posargs else [])
    missing = [tool for tool in tools if not shutil.which(tool)]
    if missing:
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        session.run("apt-get", "update", "-q", external=True, env=env, success_codes=[0, 100])
        session.run(
            "apt-get", "install", "-y", "-q", *missing, external=True, env=env,
            success_codes=[0, 100],
        )  # fmt: skip
    install_project(session, "otlp", "prices")  # price lookups are part of our hot path
    session.install(*BENCH_PEERS, *group("bench"))
    langfuse_venv = os.path.join(os.path.dirname(session.virtualenv.location), "bench-langfuse")
    langfuse_python = os.path.join(langfuse_venv, "bin", "python")
    if not os.path.exists(langfuse_python):
        session.run("python", "-m", "venv", langfuse_venv)
    session.run(
        langfuse_python, "-m", "pip", "install", "-q", "-e", ".", *BENCH_LANGFUSE, external=True
    )
    session.run(
        "python",
        "-m",
        "benchmarks.run",
        "--python",
        f"langfuse={langfuse_python}",
        *session.posargs,
    )


# -- issue 14: a real OpenTelemetry Collector, Prometheus 3 and Jaeger v2 -------------------
# Built from their Go modules by tools/binaries.py (pinned versions there) into
# ${XDG_CACHE_HOME:-~/.cache}/langchain-otel/bin, once per version; Go's caches are kept.
COLLECTOR_CONFIGS = {
    "dashboards/collector.yaml": "otelcol",
    "dashboards/collector-gateway.yaml": "otelcol",
    "dashboards/collector-agent.yaml": "otelcol-agent",
}
# A Collector config that must fail `otelcol validate` (CI prints the error).
MALFORMED_CONFIG = "tests/collector/malformed.yaml"


@nox.session
def collector(session: nox.Session) -> None:
    """The shipped Collector configs in a real Collector, with Jaeger v2 and Prometheus 3.

    Builds what is missing (needs Go and the Go module proxy; minutes on a fresh machine),
    runs `otelcol validate` on every shipped config (and on a malformed one, which must
    fail), then `pytest -m collector`: end to end, faults, scale-out.
    """
    if not shutil.which("go"):
        session.error("`go` is not on PATH: the Collector, Prometheus and Jaeger build from Go")
    session.run("python", "tools/binaries.py", "build")
    built = dict(
        line.split("=", 1)
        for line in session.run("python", "tools/binaries.py", "paths", silent=True).splitlines()  # type: ignore[union-attr]
        if "=" in line
    )
    for config, binary in COLLECTOR_CONFIGS.items():
        session.run(built[binary], "validate", f"--config={config}", external=True)
    session.log(f"{MALFORMED_CONFIG} must fail `otelcol validate`:")
    session.run(
        built["otelcol"], "validate", f"--config={MALFORMED_CONFIG}",
        external=True, success_codes=[1],
    )  # fmt: skip
    install_project(session, "otlp", "grpc", "prometheus", "prices")
    session.install(*group("tests"))
    session.run(
        "pytest",
        "tests/collector",
        "-m",
        "collector",
        *session.posargs,
        env={"LANGCHAIN_OTEL_REQUIRE_SERVERS": "1"},
    )


@nox.session
def browser(session: nox.Session) -> None:
    """The HTML report in a real headless Chromium: layout, schemes, waterfall geometry.

    Installs Debian's `chromium` when it is missing; no browser is downloaded. Screenshots
    and the pages land in `.nox/browser/artifacts/`.
    """
    if not shutil.which("chromium"):
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        lock = ("-o", "DPkg::Lock::Timeout=600")
        session.run("apt-get", *lock, "update", "-q", external=True, env=env)
        session.run("apt-get", *lock, "install", "-y", "-q", "chromium", external=True, env=env)
    install_project(session, "otlp", "prices")
    session.install(*group("tests"), "websockets>=13")
    artifacts = os.path.join(session.virtualenv.location, "artifacts")
    session.run(
        "pytest",
        "tests/browser",
        *session.posargs,
        env={"LANGCHAIN_OTEL_REQUIRE_BROWSER": "1", "LANGCHAIN_OTEL_BROWSER_ARTIFACTS": artifacts},
    )
    session.log(f"screenshots in {artifacts}")
