"""A real OpenAI-style server on 127.0.0.1 (completions and chat), for tests and benchmarks.

It speaks real HTTP/1.1 on an ephemeral loopback port (keep-alive, chunked transfer for
streams), from its own event loop in a background thread, so sync and async clients of any
event loop can use it. It answers ``POST /v1/completions`` like OpenAI's legacy completions
API: a JSON body, or Server-Sent Events (``data: {...}`` … ``data: [DONE]``) when
``"stream": true``, with a final usage chunk when ``stream_options.include_usage`` is set.
``POST /v1/chat/completions`` answers like OpenAI's chat API (messages validated, tool calls
split across stream deltas, JSON modes, usage details): its rules are in
:mod:`tests.support.chat_completions`.

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
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from tests.support.chat_completions import ChatCompletionsMixin, invalid_request
from tests.support.faults import (
    REASONS,
    Fault,
    RecordedRequest,
    error_body,
    tokenize,
    usage,
    write_chunk,
)

__all__ = ["Fault", "OpenAIServer", "RecordedRequest", "tokenize"]


class _HangUp(Exception):
    """Abort the connection."""


class OpenAIServer(ChatCompletionsMixin):
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
        self.cached_tokens: int | None = None
        """Chat: report ``prompt_tokens_details.cached_tokens`` with this value."""
        self.reasoning_tokens: int | None = None
        """Chat: report ``completion_tokens_details.reasoning_tokens`` with this value."""
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

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The requests made to ``/v1/chat/completions``."""
        return [r for r in self.requests if r.path == "/v1/chat/completions"]

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

    async def _read_request(self, reader: asyncio.StreamReader) -> RecordedRequest | None:
        """The next request on the connection (recorded), or None when the client left."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
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
        request = RecordedRequest(method, path, headers, body, raw, time.monotonic())
        self.requests.append(request)
        return request

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection should close."""
        request = await self._read_request(reader)
        if request is None:
            return False
        method, path, headers, body = request.method, request.path, request.headers, request.body
        keep_alive = headers.get("connection", "").lower() != "close"

        if method != "POST" or path not in ("/v1/completions", "/v1/chat/completions"):
            await self._send(writer, 404, error_body(f"no route {method} {path}", "not_found"))
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
        chat = path == "/v1/chat/completions"
        problem = invalid_request(body) if chat else None
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            problem = "body must be JSON with a model"
        if problem is not None:
            await self._send(writer, 400, error_body(problem, "invalid_request_error"))
            return keep_alive
        if chat:
            await self._chat(writer, body, fault)
        elif body.get("stream"):
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
            f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}",
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
            body = error_body(message, "server_error" if status >= 500 else "invalid_request")
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
        text, finish, stop_reason = self._limit(self._answer_for(prompt), body)
        prompt_tokens, completion_tokens = self.usage or (
            len(tokenize(prompt)),
            len(tokenize(text)),
        )
        return text, finish, stop_reason, prompt_tokens, completion_tokens

    def _answer_for(self, prompt: str) -> str:
        if self.answer is None:
            return prompt
        return self.answer(prompt) if callable(self.answer) else self.answer

    def _limit(self, full: str, body: dict[str, Any]) -> tuple[str, str, str | None]:
        """``full`` limited by max_tokens and cut at the first stop sequence."""
        tokens = tokenize(full)
        max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
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
        return text, finish, stop_reason

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
        answer["usage"] = usage(prompt_tokens, completion_tokens)
        await self._send(writer, 200, json.dumps(answer))

    async def _stream(
        self, writer: asyncio.StreamWriter, body: dict[str, Any], fault: Fault | None
    ) -> None:
        text, finish, stop_reason, prompt_tokens, completion_tokens = self._generate(body)
        envelope = self._envelope(body, f"cmpl-{next(self._ids)}")
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(piece: str, finish_reason: str | None) -> dict[str, Any]:
            out = dict(envelope)
            out["choices"] = [self._choice(piece, finish_reason, stop_reason)]
            if include_usage:
                out["usage"] = None
            return out

        events = [(True, chunk(piece, None)) for piece in tokenize(text)]
        events.append((False, chunk("", finish)))
        if include_usage:
            events.append(
                (
                    False,
                    {**envelope, "choices": [], "usage": usage(prompt_tokens, completion_tokens)},
                )
            )
        await self._write_events(writer, events, fault)

    async def _write_events(
        self,
        writer: asyncio.StreamWriter,
        events: list[tuple[bool, dict[str, Any]]],
        fault: Fault | None,
    ) -> None:
        """Send ``events`` as SSE, then ``[DONE]``; faults and delays act on token events."""
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        await writer.drain()

        async def event(payload: dict[str, Any] | str) -> None:
            data = payload if isinstance(payload, str) else json.dumps(payload)
            await write_chunk(writer, f"data: {data}\n\n".encode())

        index = 0
        last_token = max((i for i, (is_token, _) in enumerate(events) if is_token), default=-1)
        for position, (is_token, payload) in enumerate(events):
            if not is_token:
                dropping = fault is not None and fault.drop_after_tokens is not None
                if dropping and position > last_token:  # the connection breaks after the tokens
                    raise _HangUp
                await event(payload)
                continue
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
            await event(payload)
            index += 1
        await event("[DONE]")
        writer.write(b"0\r\n\r\n")
        await writer.drain()
