"""A real OpenAI-style completions server on 127.0.0.1, for tests and benchmarks.

It speaks real HTTP/1.1 on an ephemeral loopback port (keep-alive, chunked transfer for
streams), from its own event loop in a background thread, so sync and async clients of any
event loop can use it. It answers ``POST /v1/completions`` like OpenAI's legacy completions
API: a JSON body, or Server-Sent Events (``data: {...}`` … ``data: [DONE]``) when
``"stream": true``, with a final usage chunk when ``stream_options.include_usage`` is set.

Answers are deterministic: by default the prompt is echoed back, split into "tokens" by
:func:`tokenize` (words with their leading space, punctuation marks), limited by
``max_tokens`` (``finish_reason="length"``) and cut at the first stop sequence
(``finish_reason="stop"``; stripped like OpenAI does unless ``strip_stop=False``).

Everything a test may want to choose is a plain attribute, read at each request:
``response_model``, ``usage``, ``answer``, ``time_to_first_token``, ``time_per_token``,
``strip_stop``, ``report_stop_reason``, ``honour_stop``, ``system_fingerprint``.
Misbehaviour is scripted per request with :class:`Fault`:
``server.script(Fault.http(503), None)`` → the first request gets a 503, the second (and
every later one) a normal answer.

Observations: ``server.requests`` (every request: path, headers, parsed JSON body),
``completion_requests``, ``open_connections``, ``max_open_connections`` and
``total_connections``.

Example::

    with OpenAIServer(response_model="gpt-test-001", usage=(11, 5)) as server:
        llm = OpenAICompatibleLLM(base_url=server.base_url, model="gpt-test")
        llm.invoke("hello world")          # -> "hello world"
        server.requests[0].body["model"]   # -> "gpt-test"
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Fault", "OpenAIServer", "RecordedRequest", "tokenize"]

_TOKEN = re.compile(r"\s*\w+|\s*[^\w\s]|\s+")

_REASONS = {
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


class _HangUp(Exception):
    """Abort the connection."""


class OpenAIServer:
    """An OpenAI-style ``/v1/completions`` server on 127.0.0.1 (see the module docstring).

    Use it as a context manager, or call :meth:`start` / :meth:`stop`.
    """

    def __init__(
        self,
        *,
        response_model: str | None = None,
        usage: tuple[int, int] | None = None,
        answer: str | Callable[[str], str] | None = None,
        time_to_first_token: float = 0.0,
        time_per_token: float = 0.0,
        strip_stop: bool = True,
        report_stop_reason: bool = False,
        honour_stop: bool = True,
        system_fingerprint: str | None = "fp_loopback",
    ) -> None:
        self.response_model = response_model
        """Model name in answers; None echoes the requested model."""
        self.usage = usage
        """(prompt_tokens, completion_tokens) to report; None counts tokens."""
        self.answer = answer
        """Fixed answer, or a function of the prompt; None echoes the prompt."""
        self.time_to_first_token = time_to_first_token
        self.time_per_token = time_per_token
        self.strip_stop = strip_stop
        """Strip the matched stop sequence from the answer, as OpenAI does."""
        self.report_stop_reason = report_stop_reason
        """Report the matched stop sequence as ``choices[0].stop_reason``, as vLLM does."""
        self.honour_stop = honour_stop
        """Stop at stop sequences; False ignores ``stop`` (a server without support)."""
        self.system_fingerprint = system_fingerprint
        self.requests: list[RecordedRequest] = []
        self.open_connections = 0
        self.max_open_connections = 0
        self.total_connections = 0
        self._faults: deque[Fault | None] = deque()
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = threading.Lock()
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: what a client takes as its base URL."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def url(self) -> str:
        """The completions endpoint."""
        return f"{self.base_url}/completions"

    def start(self) -> OpenAIServer:
        """Start serving in a background thread; returns when the port is bound."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=2048)
                )
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:  # pragma: no cover - reported to start()
                errors.append(exc)
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="openai-loopback-server", daemon=True)
        self._thread.start()
        ready.wait()
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        """Close every connection and stop the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        thread.join(timeout=10)
        self._loop = self._thread = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- scripting and observation --------------------------------------------------

    def script(self, *faults: Fault | None) -> None:
        """Queue behaviours for the next completions requests (None = a normal answer)."""
        with self._lock:
            self._faults.extend(faults)

    @property
    def completion_requests(self) -> list[RecordedRequest]:
        """The requests made to ``/v1/completions``."""
        return [r for r in self.requests if r.path == "/v1/completions"]

    def wait_until_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no connection is open; True if that happened within ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.open_connections == 0:
                return True
            time.sleep(0.005)
        return self.open_connections == 0

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    # -- HTTP -------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        self.open_connections += 1
        self.total_connections += 1
        self.max_open_connections = max(self.max_open_connections, self.open_connections)
        try:
            while await self._serve_one(reader, writer):
                pass
        except (_HangUp, ConnectionError, asyncio.IncompleteReadError):
            writer.transport.abort()
        except asyncio.CancelledError:
            writer.transport.abort()
        finally:
            self.open_connections -= 1
            self._tasks.discard(task)  # type: ignore[arg-type]
            with contextlib.suppress(Exception):
                writer.close()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection should close."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        raw = await reader.readexactly(int(headers.get("content-length", "0")))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self.requests.append(RecordedRequest(method, path, headers, body, raw, time.monotonic()))
        keep_alive = headers.get("connection", "").lower() != "close"

        if method != "POST" or path != "/v1/completions":
            await self._send(writer, 404, _error_body(f"no route {method} {path}", "not_found"))
            return keep_alive
        fault = self._next_fault()
        if fault is not None:
            if fault.hang_up:
                raise _HangUp
            if fault.stall and fault.stall_after_tokens is None:
                await asyncio.sleep(fault.stall)
            if fault.status is not None or fault.body is not None:
                await self._send_fault(writer, fault, headers)
                return keep_alive
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            await self._send(writer, 400, _error_body("body must be JSON with a model", "bad"))
            return keep_alive
        if body.get("stream"):
            await self._stream(writer, body, fault)
        else:
            await self._complete(writer, body)
        return keep_alive

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: str,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body.encode()
        head = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(data)}",
            *(f"{k}: {v}" for k, v in (headers or {}).items()),
        ]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        await writer.drain()

    async def _send_fault(
        self, writer: asyncio.StreamWriter, fault: Fault, request_headers: dict[str, str]
    ) -> None:
        status = fault.status if fault.status is not None else 200
        if fault.body is not None:
            body = fault.body
        else:
            message = f"scripted failure {status}"
            if fault.echo_authorization:
                message += f" (authorization: {request_headers.get('authorization', '')})"
            body = _error_body(message, "server_error" if status >= 500 else "invalid_request")
        await self._send(
            writer, status, body, content_type=fault.content_type, headers=fault.headers
        )

    # -- completions --------------------------------------------------------------------

    def _generate(self, body: dict[str, Any]) -> tuple[str, str, str | None, int, int]:
        """(text, finish_reason, stop_reason, prompt_tokens, completion_tokens)."""
        prompt = body.get("prompt", "")
        if isinstance(prompt, list):
            prompt = "".join(str(p) for p in prompt)
        prompt = str(prompt)
        if self.answer is None:
            full = prompt
        elif callable(self.answer):
            full = self.answer(prompt)
        else:
            full = self.answer
        tokens = tokenize(full)
        max_tokens = body.get("max_tokens")
        stop = (body.get("stop") or []) if self.honour_stop else []
        if isinstance(stop, str):
            stop = [stop]
        text, finish, stop_reason = "", "stop", None
        for index, token in enumerate(tokens):
            if max_tokens is not None and index >= max_tokens:
                finish = "length"
                break
            text += token
            found = [(text.find(s), s) for s in stop if s and s in text]
            if found:
                start, stop_reason = min(found)
                text = text[:start] if self.strip_stop else text[: start + len(stop_reason)]
                break
        prompt_tokens, completion_tokens = self.usage or (
            len(tokenize(prompt)),
            len(tokenize(text)),
        )
        return text, finish, stop_reason, prompt_tokens, completion_tokens

    def _envelope(self, body: dict[str, Any], completion_id: str) -> dict[str, Any]:
        envelope: dict[str, Any] = {
            "id": completion_id,
            "object": "text_completion",
            "created": int(time.time()),
            "model": self.response_model or body["model"],
        }
        if self.system_fingerprint is not None:
            envelope["system_fingerprint"] = self.system_fingerprint
        return envelope

    def _choice(self, text: str, finish: str | None, stop_reason: str | None) -> dict[str, Any]:
        choice: dict[str, Any] = {
            "text": text,
            "index": 0,
            "logprobs": None,
            "finish_reason": finish,
        }
        if self.report_stop_reason and finish is not None:
            choice["stop_reason"] = stop_reason
        return choice

    async def _complete(self, writer: asyncio.StreamWriter, body: dict[str, Any]) -> None:
        text, finish, stop_reason, prompt_tokens, completion_tokens = self._generate(body)
        count = len(tokenize(text))
        delay = self.time_to_first_token + self.time_per_token * max(count - 1, 0)
        if delay:
            await asyncio.sleep(delay)
        answer = self._envelope(body, f"cmpl-{next(self._ids)}")
        answer["choices"] = [self._choice(text, finish, stop_reason)]
        answer["usage"] = _usage(prompt_tokens, completion_tokens)
        await self._send(writer, 200, json.dumps(answer))

    async def _stream(
        self, writer: asyncio.StreamWriter, body: dict[str, Any], fault: Fault | None
    ) -> None:
        text, finish, stop_reason, prompt_tokens, completion_tokens = self._generate(body)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        envelope = self._envelope(body, f"cmpl-{next(self._ids)}")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        await writer.drain()

        async def event(payload: dict[str, Any] | str) -> None:
            data = payload if isinstance(payload, str) else json.dumps(payload)
            await _write_chunk(writer, f"data: {data}\n\n".encode())

        def chunk(piece: str, finish_reason: str | None) -> dict[str, Any]:
            out = dict(envelope)
            out["choices"] = [self._choice(piece, finish_reason, stop_reason)]
            if include_usage:
                out["usage"] = None
            return out

        for index, piece in enumerate(tokenize(text)):
            if fault is not None:
                if fault.drop_after_tokens == index:
                    raise _HangUp
                if fault.malformed_after_tokens == index:
                    await event('{"choices": [{"text": "broken')
                if fault.stall_after_tokens == index:
                    await asyncio.sleep(fault.stall)
            delay = self.time_to_first_token if index == 0 else self.time_per_token
            if delay:
                await asyncio.sleep(delay)
            await event(chunk(piece, None))
        if fault is not None and fault.drop_after_tokens is not None:
            raise _HangUp
        await event(chunk("", finish))
        if include_usage:
            last = dict(envelope)
            last["choices"] = []
            last["usage"] = _usage(prompt_tokens, completion_tokens)
            await event(last)
        await event("[DONE]")
        writer.write(b"0\r\n\r\n")
        await writer.drain()


async def _write_chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    await writer.drain()


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _error_body(message: str, kind: str) -> str:
    return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": None}})
