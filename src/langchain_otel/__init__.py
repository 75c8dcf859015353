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

__all__ = ["__version__"]
