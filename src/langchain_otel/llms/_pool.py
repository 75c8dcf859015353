"""The client pool of one HTTP model: a sync client and one async client per event loop.

Connections belong to the event loop that opened them, so async clients are kept per loop
(weakly: a finished loop's client is dropped). Every client shares the model's connection
limits, timeouts and TLS context; they are created on first use, so building a model costs
no sockets.

Example:
    >>> pool = ClientPool(lambda: {"timeout": 5.0}, owner="MyModel")
    >>> pool.sync() is pool.sync()
    True
    >>> pool.close()
    >>> pool.sync()
    Traceback (most recent call last):
    ...
    langchain_otel.exceptions.LLMError: Cannot use a closed MyModel client; create a new instance
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable
from typing import Any

import httpx
import structlog

from langchain_otel.exceptions import LLMError

__all__ = ["ClientPool"]

_logger = structlog.get_logger("langchain_otel")


class _NotAsyncio:
    """Stands for "an event loop that is not asyncio's" (trio through anyio)."""


_NOT_ASYNCIO = _NotAsyncio()


def _loop_key() -> object:
    """The running asyncio loop, or one shared key for any other async library."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return _NOT_ASYNCIO


class ClientPool:
    """One ``httpx.Client`` and one ``httpx.AsyncClient`` per event loop, made on first use.

    ``options`` gives the client keyword arguments (read when a client is created);
    ``transport`` / ``async_transport`` are optional custom transports; ``owner`` names the
    model in errors.
    """

    def __init__(
        self,
        options: Callable[[], dict[str, Any]],
        *,
        owner: str,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._options = options
        self._owner = owner
        self._transport = transport
        self._async_transport = async_transport
        self._client: httpx.Client | None = None
        self.async_clients: weakref.WeakKeyDictionary[object, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )
        """The async clients, by event loop."""
        self._lock = threading.Lock()
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise LLMError(f"Cannot use a closed {self._owner} client; create a new instance")

    def sync(self) -> httpx.Client:
        """The sync client."""
        self._check_open()
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(transport=self._transport, **self._options())
            return self._client

    def for_this_loop(self) -> httpx.AsyncClient:
        """The async client of the running event loop."""
        self._check_open()
        loop = _loop_key()
        with self._lock:
            client = self.async_clients.get(loop)
            if client is None:
                self._drop_dead_loops()
                client = httpx.AsyncClient(transport=self._async_transport, **self._options())
                self.async_clients[loop] = client
            return client

    def _drop_dead_loops(self) -> None:
        """Forget the clients of closed event loops (e.g. one per ``asyncio.run``).

        A client references its loop, so the weak key alone never lets go of either: every
        finished ``asyncio.run(llm.ainvoke(...))`` kept its client and open connections.
        Dropped, they are garbage-collected and their sockets closed.
        """
        for key in list(self.async_clients):
            is_closed = getattr(key, "is_closed", None)  # asyncio loops; not other keys
            if is_closed is not None and is_closed():
                self.async_clients.pop(key, None)

    def close(self) -> None:
        """Close the sync client; the pool refuses clients afterwards."""
        with self._lock:
            self._closed = True
            client, self._client = self._client, None
            self._drop_dead_loops()
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the async client of this event loop, and the sync client."""
        loop = _loop_key()
        with self._lock:
            aclient = self.async_clients.pop(loop, None)
            others = list(self.async_clients.values())
            self.async_clients.clear()
        self.close()
        if aclient is not None:
            await aclient.aclose()
        if others:  # clients of other (usually finished) loops cannot be awaited from here
            _logger.debug("llm.clients_dropped", owner=self._owner, count=len(others))
