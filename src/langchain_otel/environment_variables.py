"""The environment variables langchain-otel reads, with their values and defaults.

They are read when an object is constructed (a handler, ``instrument()``), never at
import time.

Example:
    >>> from langchain_otel import environment_variables as ev
    >>> ev.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT
    'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT'
"""

from __future__ import annotations

from typing import Final

__all__ = ["LANGCHAIN_OTEL_DIRECTORY", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"]

LANGCHAIN_OTEL_DIRECTORY: Final = "LANGCHAIN_OTEL_DIRECTORY"
"""The folder of the embedded default's OTLP JSON Lines files (read by ``configure()``).

Default: ``./langchain-otel-telemetry`` (relative to the working directory when
``configure()`` is called). The ``directory=`` argument of ``configure()`` wins over it; the
folder must be writable, else ``configure()`` raises ``ConfigurationError``.
"""

OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: Final = (
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
)
"""Capture prompts and completions when the handler's ``capture_content`` is None.

Values (case-insensitive): ``true`` or ``SPAN_AND_EVENT`` (span attributes and log
events), ``SPAN_ONLY`` (span attributes), ``EVENT_ONLY`` (the ``llm.end`` / ``llm.error``
log events), ``false`` / ``NO_CONTENT`` / unset (nothing). Default: unset, no content.
Any other value raises ``ConfigurationError`` when the handler is built.
"""
