"""The callback handler that turns LangChain runs into OpenTelemetry telemetry.

Example:
    >>> from langchain_otel.callbacks import OTelCallbackHandler
    >>> OTelCallbackHandler.run_inline
    True
"""

from __future__ import annotations

from langchain_otel.callbacks._cost import ModelPrice
from langchain_otel.callbacks.handler import OTelCallbackHandler

__all__ = ["ModelPrice", "OTelCallbackHandler"]
