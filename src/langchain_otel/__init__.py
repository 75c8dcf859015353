"""langchain-otel: OpenTelemetry spans, metrics and structlog logs for LangChain.

Example:
    >>> import langchain_otel
    >>> isinstance(langchain_otel.__version__, str)
    True
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("langchain-otel")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

from langchain_otel._instrument import (
    LangChainInstrumentor,
    instrument,
    is_instrumented,
    uninstrument,
)
from langchain_otel.callbacks import ModelPrice, OTelCallbackHandler
from langchain_otel.config import (
    Telemetry,
    configure,
    get_config,
    is_configured,
    reset_defaults,
    shutdown,
)
from langchain_otel.processors import OTelLogsBridge, add_otel_context

__all__ = [
    "LangChainInstrumentor",
    "ModelPrice",
    "OTelCallbackHandler",
    "OTelLogsBridge",
    "Telemetry",
    "__version__",
    "add_otel_context",
    "configure",
    "get_config",
    "instrument",
    "is_configured",
    "is_instrumented",
    "reset_defaults",
    "shutdown",
    "uninstrument",
]
