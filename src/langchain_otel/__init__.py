"""langchain-otel: OpenTelemetry spans, metrics and structlog logs for LangChain.

Example:
    >>> import langchain_otel
    >>> isinstance(langchain_otel.__version__, str)
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from langchain_otel._instrument import (
    LangChainInstrumentor,
    instrument,
    is_instrumented,
    uninstrument,
)
from langchain_otel._version import __version__
from langchain_otel.callbacks import ModelPrice, OTelCallbackHandler

if TYPE_CHECKING:
    from langchain_otel.config import (
        Telemetry,
        configure,
        get_config,
        is_configured,
        reset_defaults,
        shutdown,
    )
    from langchain_otel.processors import OTelLogsBridge, add_otel_context

# The names backed by the OpenTelemetry SDK load on first use, so that importing a
# submodule (``import langchain_otel.llms`` runs this module first) does not import the SDK.
_LAZY = {
    "OTelLogsBridge": "langchain_otel.processors",
    "Telemetry": "langchain_otel.config",
    "configure": "langchain_otel.config",
    "get_config": "langchain_otel.config",
    "is_configured": "langchain_otel.config",
    "reset_defaults": "langchain_otel.config",
    "shutdown": "langchain_otel.config",
    "add_otel_context": "langchain_otel.processors",
}


def __getattr__(name: str) -> Any:
    """Import an SDK-backed public name on first access (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'langchain_otel' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
