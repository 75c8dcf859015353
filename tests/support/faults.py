"""The loopback server's vocabulary: scripted faults, recorded requests, tokens, bodies."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["REASONS", "Fault", "RecordedRequest", "error_body", "tokenize", "usage", "write_chunk"]

_TOKEN = re.compile(r"\s*\w+|\s*[^\w\s]|\s+")

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def tokenize(text: str) -> list[str]:
    """Split ``text`` into the server's tokens; ``"".join(tokenize(t)) == t``.

    >>> tokenize("hello world. bye")
    ['hello', ' world', '.', ' bye']
    """
    return _TOKEN.findall(text)


@dataclass
class Fault:
    """One scripted misbehaviour, used for one completions request.

    Build them with the class methods: ``Fault.http(429, retry_after="1")``,
    ``Fault.drop(after_tokens=2)``, ``Fault.malformed_sse()``, ``Fault.non_json()``,
    ``Fault.stall(5.0)``, ``Fault.hang_up()``.
    """

    status: int | None = None
    """Answer with this HTTP status (and an OpenAI-style JSON error unless ``body``)."""
    body: str | None = None
    """Raw body to send instead of the normal answer."""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    echo_authorization: bool = False
    """Put the request's Authorization header into the error body (a leaky proxy)."""
    drop_after_tokens: int | None = None
    """Stream: abort the connection after this many token events."""
    malformed_after_tokens: int | None = None
    """Stream: send a data line that is not JSON after this many token events."""
    stall: float = 0.0
    """Seconds to wait (before the headers, or after ``stall_after_tokens`` token events)."""
    stall_after_tokens: int | None = None
    hang_up: bool = False
    """Close the connection without any answer."""

    @classmethod
    def http(
        cls,
        status: int,
        *,
        retry_after: str | None = None,
        body: str | None = None,
        echo_authorization: bool = False,
    ) -> Fault:
        """An HTTP error answer (``retry_after`` becomes the Retry-After header)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return cls(status=status, body=body, headers=headers, echo_authorization=echo_authorization)

    @classmethod
    def drop(cls, *, after_tokens: int = 1) -> Fault:
        """A stream whose connection is aborted after ``after_tokens`` token events."""
        return cls(drop_after_tokens=after_tokens)

    @classmethod
    def malformed_sse(cls, *, after_tokens: int = 1) -> Fault:
        """A stream that sends a non-JSON data line after ``after_tokens`` token events."""
        return cls(malformed_after_tokens=after_tokens)

    @classmethod
    def non_json(cls, body: str = "<html>502 Bad Gateway</html>", status: int = 200) -> Fault:
        """A body that is not JSON (an HTML error page from a proxy, by default)."""
        return cls(status=status, body=body, content_type="text/html")

    @classmethod
    def stalled(cls, seconds: float, *, after_tokens: int | None = None) -> Fault:
        """Wait ``seconds`` before answering, or after ``after_tokens`` token events."""
        return cls(stall=seconds, stall_after_tokens=after_tokens)

    @classmethod
    def hang_up_now(cls) -> Fault:
        """Close the connection without answering."""
        return cls(hang_up=True)


@dataclass
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    """Header names in lower case."""
    body: Any
    """The parsed JSON body (None if the body was empty or not JSON)."""
    raw_body: bytes
    at: float
    """``time.monotonic()`` when the request was complete."""


async def write_chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    await writer.drain()


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def error_body(message: str, kind: str) -> str:
    return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": None}})
