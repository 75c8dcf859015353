"""The two thin drivers of a plan (:mod:`~langchain_otel.llms._exchange`): sync and async.

Each driver only performs the I/O a plan asks for: ``httpx.Client`` and ``time.sleep`` for
:func:`drive`, ``httpx.AsyncClient`` and ``anyio.sleep`` for :func:`adrive` (native async, no
thread hop, no asyncio-only call: it runs under trio too). What to do with each reply,
including an httpx error, is the plan's business: a :class:`Conductor` steps the plan, and
:func:`dispatch` picks the I/O method of a step, the same for both drivers, whose
loops differ only by ``await``.

A response is released (closed, its connection back in the pool) as soon as its body or its
last event was read, before a new request or a wait, and when the caller stops early.

Example:
    >>> from langchain_otel.llms._exchange import Emit
    >>> def plan():
    ...     yield Emit("no I/O needed")
    >>> with httpx.Client() as client:
    ...     list(drive(plan(), client))
    ['no I/O needed']
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import httpx_sse

from langchain_otel.llms._exchange import Emit, NextEvent, Plan, ReadBody, Send, Step

__all__ = ["Conductor", "Outcome", "adrive", "dispatch", "drive"]

TRANSPORT_ERRORS = (httpx.HTTPError, httpx_sse.SSEError)
"""What the I/O may raise; thrown into the plan, which maps it to our exceptions."""


@dataclass(frozen=True)
class Outcome:
    """What one step's I/O gave: its result, or the transport error it raised."""

    value: Any = None
    error: BaseException | None = None


class Conductor:
    """Steps a plan: iterate over the steps it asks for, :meth:`settle` the I/O ones.

    An :class:`Emit` step is settled by the iteration itself (its reply is None); leaving
    the ``with`` block stops the plan.

    Example:
        >>> def plan():
        ...     reply = yield Send("http://h/v1/x", {})
        ...     yield Emit(reply)
        >>> with Conductor(plan()) as conductor:
        ...     for step in conductor:
        ...         if isinstance(step, Send):
        ...             conductor.settle(Outcome("back"))
        ...         else:
        ...             print(step.value)
        back
    """

    def __init__(self, plan: Plan) -> None:
        self._plan = plan
        self._step: Step | None = None
        self._advance(plan.send, None)

    def __iter__(self) -> Iterator[Step]:
        while (step := self._step) is not None:
            yield step
            if isinstance(step, Emit):
                self._advance(self._plan.send, None)

    def settle(self, outcome: Outcome) -> None:
        """Give the plan the current step's outcome; it moves to its next step (or raises)."""
        if outcome.error is not None:
            self._advance(self._plan.throw, outcome.error)
        else:
            self._advance(self._plan.send, outcome.value)

    def __enter__(self) -> Conductor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._plan.close()

    def _advance(self, move: Callable[[Any], Step], value: Any) -> None:
        try:
            self._step = move(value)
        except StopIteration:
            self._step = None


def dispatch(io: Any, step: Step) -> Any:
    """``io``'s method call for ``step``: its result, or its awaitable for the async I/O."""
    if isinstance(step, Send):
        return io.send(step)
    if isinstance(step, ReadBody):
        return io.read()
    if isinstance(step, NextEvent):
        return io.next_event()
    assert not isinstance(step, Emit)
    return io.wait(step.seconds)


class _SyncIO:
    """Blocking I/O on an ``httpx.Client``; at most one response open at a time."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client
        self._response: httpx.Response | None = None
        self._events: Iterator[httpx_sse.ServerSentEvent] | None = None

    def send(self, step: Send) -> httpx.Response:
        self.release()
        request = self._client.build_request("POST", step.url, json=step.body, headers=step.headers)
        self._response = self._client.send(request, stream=True)
        return self._response

    def read(self) -> bytes:
        assert self._response is not None
        try:
            return self._response.read()
        finally:
            self.release()

    def next_event(self) -> str | None:
        assert self._response is not None
        if self._events is None:
            self._events = httpx_sse.EventSource(self._response).iter_sse()
        if (event := next(self._events, None)) is None:
            self.release()
            return None
        return event.data

    def wait(self, seconds: float) -> None:
        self.release()
        time.sleep(seconds)

    def release(self) -> None:
        response, self._response, self._events = self._response, None, None
        if response is not None:
            response.close()

    def __enter__(self) -> _SyncIO:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class _AsyncIO:
    """Native async I/O on an ``httpx.AsyncClient``; at most one response open at a time."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self._response: httpx.Response | None = None
        self._events: AsyncIterator[httpx_sse.ServerSentEvent] | None = None

    async def send(self, step: Send) -> httpx.Response:
        await self.release()
        request = self._client.build_request("POST", step.url, json=step.body, headers=step.headers)
        self._response = await self._client.send(request, stream=True)
        return self._response

    async def read(self) -> bytes:
        assert self._response is not None
        try:
            return await self._response.aread()
        finally:
            await self.release()

    async def next_event(self) -> str | None:
        assert self._response is not None
        if self._events is None:
            self._events = httpx_sse.EventSource(self._response).aiter_sse()
        event = await anext(self._events, None)
        if event is None:
            await self.release()
        return None if event is None else event.data

    async def wait(self, seconds: float) -> None:
        await self.release()
        await anyio.sleep(seconds)

    async def release(self) -> None:
        response, self._response = self._response, None
        events, self._events = self._events, None
        if events is not None:
            await events.aclose()  # type: ignore[attr-defined]
        if response is not None:
            await response.aclose()

    async def __aenter__(self) -> _AsyncIO:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.release()


def _outcome(step: Step, io: _SyncIO) -> Outcome:
    try:
        return Outcome(dispatch(io, step))
    except TRANSPORT_ERRORS as error:
        return Outcome(error=error)


async def _aoutcome(step: Step, io: _AsyncIO) -> Outcome:
    try:
        return Outcome(await dispatch(io, step))
    except TRANSPORT_ERRORS as error:
        return Outcome(error=error)


def drive(plan: Plan, client: httpx.Client) -> Iterator[Any]:
    """Run ``plan`` with blocking I/O; yields what it emits."""
    with _SyncIO(client) as io, Conductor(plan) as conductor:
        for step in conductor:
            if isinstance(step, Emit):
                yield step.value
            else:
                conductor.settle(_outcome(step, io))


async def adrive(plan: Plan, client: httpx.AsyncClient) -> AsyncIterator[Any]:
    """Run ``plan`` with native async I/O; yields what it emits."""
    async with _AsyncIO(client) as io:
        with Conductor(plan) as conductor:
            for step in conductor:
                if isinstance(step, Emit):
                    yield step.value
                else:
                    conductor.settle(await _aoutcome(step, io))
