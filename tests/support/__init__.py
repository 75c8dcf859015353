"""Reusable test infrastructure: real servers on 127.0.0.1, no mocks."""

from __future__ import annotations

from tests.support.openai_server import Fault, OpenAIServer, RecordedRequest, tokenize

__all__ = ["Fault", "OpenAIServer", "RecordedRequest", "tokenize"]
