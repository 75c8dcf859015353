"""The installed version of langchain-otel, read once from the package metadata.

Modules that need the version import it from here, not from the package face
(``langchain_otel/__init__.py``), so that importing them does not load the whole
OpenTelemetry SDK stack the face re-exports.

Example:
    >>> from langchain_otel._version import __version__
    >>> isinstance(__version__, str)
    True
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__: str = version("langchain-otel")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"
