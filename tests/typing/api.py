"""The public API as users write it, type-checked by ``nox -s typecheck`` (mypy --strict).

Nothing here runs (pytest only imports it): each function is a typing test. A change that
breaks a user's type-checked code (a renamed argument, a narrower return type, a lost
export) fails ``nox -s typecheck``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import structlog
from opentelemetry.sdk.trace import ReadableSpan
from typing_extensions import assert_type

import langchain_otel
from langchain_otel import (
    LangChainInstrumentor,
    ModelPrice,
    OTelCallbackHandler,
    OTelLogsBridge,
    Telemetry,
    add_otel_context,
    configure,
    get_config,
    instrument,
    is_configured,
    is_instrumented,
    reset_defaults,
    shutdown,
    uninstrument,
)
from langchain_otel import environment_variables as ev
from langchain_otel.config import Settings, SignalSettings
from langchain_otel.exceptions import (
    ConfigurationError,
    LangchainOtelError,
    MissingDependencyError,
    UpstreamHTTPError,
)
from langchain_otel.llms import EchoLLM, OpenAICompatibleLLM
from langchain_otel.testing import CapturedTelemetry, FakeClock, capture_telemetry, fake_clock


def configure_and_shut_down() -> None:
    """configure() takes keyword arguments and returns the Telemetry handle."""
    telemetry = configure(
        service_name="checkout",
        directory=Path(tempfile.mkdtemp()),
        protocol="http/protobuf",
        headers={"authorization": "Bearer x"},
        resource_attributes={"deployment.environment": "test"},
        metric_export_interval=5.0,
        timeout=2.0,
        max_file_bytes=1 << 20,
        backup_count=1,
        set_global=False,
    )
    assert_type(telemetry, Telemetry)
    assert_type(telemetry.dropped, dict[str, int])
    assert_type(telemetry.config, dict[str, Any])
    assert_type(telemetry.settings, Settings)
    assert_type(telemetry.settings.signal("logs"), SignalSettings)
    assert_type(telemetry.settings.traces.exporters, tuple[str, ...])
    assert_type(telemetry.settings.timeout, float | None)
    assert_type(telemetry.directory, Path | None)
    assert_type(telemetry.prometheus_address, tuple[str, int] | None)
    assert_type(telemetry.force_flush(1_000), bool)
    assert_type(is_configured(), bool)
    assert_type(get_config(), dict[str, Any])
    telemetry.shutdown()
    shutdown()
    reset_defaults()


def handler_and_instrumentation() -> None:
    """The handler's keyword-only constructor, prices and the global instrumentation."""
    price = ModelPrice(input_per_million=1.0, output_per_million=2.0)
    assert_type(price.cost(input_tokens=10, output_tokens=5), tuple[float, float])
    handler = OTelCallbackHandler(capture_content=False, prices={"echo": price}, strict=True)
    assert_type(handler.open_runs, int)
    instrument(handler=handler)
    assert_type(is_instrumented(), bool)
    uninstrument()
    LangChainInstrumentor().instrument()


def models() -> None:
    """The two models are LangChain LLMs."""
    echo = EchoLLM(n=3)
    assert_type(echo.invoke("hello"), str)
    remote = OpenAICompatibleLLM(base_url="http://127.0.0.1:8000/v1", model="m")
    assert_type(remote.model, str)


def capture() -> None:
    """testing: capture_telemetry yields CapturedTelemetry; fake_clock a FakeClock."""
    with fake_clock(start=1.0) as clock, capture_telemetry(use_genai_prices=False) as captured:
        assert_type(clock, FakeClock)
        assert_type(captured, CapturedTelemetry)
        assert_type(captured.handler, OTelCallbackHandler)
        assert_type(captured.spans, tuple[ReadableSpan, ...])
        assert_type(captured.metrics(), dict[str, list[Any]])
        clock.advance(0.5)
        assert_type(clock(), float)


def logging() -> None:
    """The structlog processors fit structlog's processor chain."""
    structlog.configure(processors=[add_otel_context, OTelLogsBridge()])
    variable: str = ev.LANGCHAIN_OTEL_DIRECTORY
    assert variable == "LANGCHAIN_OTEL_DIRECTORY"


def errors() -> None:
    """The exception hierarchy: ConfigurationError is also a ValueError."""
    error: LangchainOtelError = ConfigurationError("x")
    value_error: ValueError = ConfigurationError("x")
    import_error: ImportError = MissingDependencyError("x")
    assert isinstance(error, LangchainOtelError)
    assert isinstance(value_error, ValueError)
    assert isinstance(import_error, ImportError)
    assert issubclass(UpstreamHTTPError, LangchainOtelError)
    assert_type(langchain_otel.__version__, str)
