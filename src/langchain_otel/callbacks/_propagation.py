"""The run's span is current inside the run; the caller's context is never changed.

The one module that patches LangChain (``install()``; ``uninstall()`` undoes it, and
``uninstrument()`` calls it). Four kinds of boundary, each changing the OpenTelemetry
context only where it cannot leak:

- **Inside LangChain's context copies.** A chain step, a tool, a lambda, a parallel
  branch or a graph node runs in the ``contextvars`` copy that LangChain makes for it
  (``runnables.config._set_config_context`` runs inside that copy). We attach the span of
  the copy's parent run there, in the copy only. The copy is thrown away after the child
  ran, so there is nothing to detach, in any task.
- **Around a call, in one frame.** A model's generate path (``_generate_helper``,
  ``_generate_with_cache`` and their async twins) and a retriever's ``invoke`` run the
  model or retriever in the caller's context: we set the run's context before the call
  and reset it after, in the same frame, so the caller's context is restored before it
  sees a result.
- **A sync stream runs in a private copy.** ``stream``'s body is a generator that runs
  inside whoever calls ``__next__``. We take one ``contextvars`` copy when the stream
  starts and run every step inside it (``ctx.run(next, inner)``, the way LangChain runs a
  chain's streamed steps): the run's span is attached in the copy and never detached,
  the copy is discarded with the stream, and the consumer's context is never touched.
  After the first step the steps are driven by ``map(ctx.run, ...)`` under ``yield from``:
  no Python call per chunk.
- **An async stream sets the run's context around each step.** ``__anext__`` runs in the
  consumer's task, and an awaitable cannot be driven inside a copy without a Python call
  per send, so each step sets the run's context and resets it, in the same frame, before
  the chunk is yielded. With OpenTelemetry's stock runtime context (the only one it ships)
  that is the runtime's ``ContextVar`` itself (one ``set`` and one ``reset``, no Python
  call); with any other runtime, the public ``attach``/``detach``.

The run starts inside the first step of a stream (or inside a retriever call): when the
callback manager's start method returns there, the run claims the step's scope
(:func:`claim`) and is current for the rest of it and, on a stream, for every later step.

Runs are found by run id in the process-wide claims (``_runs.CLAIMS``), whichever handler
owns them. Anything that goes wrong here is swallowed: propagation is lost, the run is not.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from importlib import import_module
from itertools import repeat
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext

from langchain_otel.callbacks import _semconv as sc
from langchain_otel.callbacks._runs import CLAIMS, RunState, children_context

__all__ = ["SCOPE", "claim", "install", "installed", "uninstall"]

_MODELS = frozenset({sc.RUN_TYPE_LLM, sc.RUN_TYPE_CHAT_MODEL})
_RETRIEVERS = frozenset({sc.RUN_TYPE_RETRIEVER})
_lock = threading.Lock()
_patched: list[tuple[Any, str, Any]] = []  # (owner, attribute, original)


def _runtime() -> tuple[Callable[[], Any], Callable[[Any], Any], Callable[[Any], Any]]:
    """OpenTelemetry's current-context ``get``/``set``/``reset``, as cheap as they come.

    The stock ``ContextVarsRuntimeContext`` keeps the context in one ``ContextVar``: we
    use its methods directly (the public functions add two Python calls each). Any other
    runtime (``OTEL_PYTHON_CONTEXT``) goes through the public API.
    """
    runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    var = getattr(runtime, "_current_context", None)
    if type(runtime) is ContextVarsRuntimeContext and isinstance(var, ContextVar):
        return var.get, var.set, var.reset
    return otel_context.get_current, otel_context.attach, otel_context.detach


_get, _set, _reset = _runtime()  # resolved again by install()


def _detach(token: Any) -> None:
    """Reset what we set in this frame (a step torn down elsewhere: nothing to undo)."""
    try:  # noqa: SIM105 - hot path: no context manager
        _reset(token)
    except (ValueError, RuntimeError):
        pass


def _attach(state: RunState | None) -> Any:
    """Make ``state``'s span current; the token, or None when nothing was set."""
    context = children_context(state)
    if context is None or _get() is context:
        return None
    return _set(context)


def _current_task() -> Any:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running asyncio loop (sync code, trio)
        return None


class _Scope:
    """The first step of a stream (or one retriever call): where its run may claim.

    Made in the step's own thread and task, which a claim must match.
    """

    __slots__ = ("done", "kinds", "state", "task", "thread", "token")

    def __init__(self, kinds: frozenset[str], asynchronous: bool) -> None:
        self.kinds = kinds
        self.state: RunState | None = None
        self.token: Any = None  # what the claim set, when it must be reset
        self.thread = threading.get_ident()
        self.task: Any = _current_task() if asynchronous else None
        self.done = False  # the step is over: a run started there or none will

    def open(self) -> Any:
        """Before the step: runs started from here on may claim it; the reset token."""
        return SCOPE.set(self)

    def close(self, reset: Any) -> None:
        """After the step, in the same frame: reset what the claim set, close the scope."""
        self.done = True
        token, self.token = self.token, None
        try:
            if token is not None:
                _detach(token)
        finally:
            SCOPE.reset(reset)


SCOPE: ContextVar[_Scope | None] = ContextVar("langchain_otel_scope", default=None)
"""The stream step or retriever call in progress in this context, if any."""


def claim(started: Any) -> None:
    """A run just started in the current scope: make it current there, for the scope's life.

    ``started`` is what a callback manager's start method returned (one run manager, or
    a list of one). Called after the manager returned, in the body that started the run,
    so in the very context the scope closes in (checked: same thread and task). Only
    the scope's first run of its kind is taken, and only while the scope is open.
    """
    scope = SCOPE.get()
    if scope is None or scope.done or scope.state is not None:
        return
    if isinstance(started, list):
        if len(started) != 1:
            return
        started = started[0]
    state = CLAIMS.get(getattr(started, "run_id", None))
    if (
        state is None
        or state.kind not in scope.kinds
        or scope.thread != threading.get_ident()
        or (scope.task is not None and _current_task() is not scope.task)
    ):
        return
    scope.state = state
    scope.token = _attach(state)


# -- the wrappers ------------------------------------------------------------------------


def _wrap_config_context(original: Callable[..., Any]) -> Callable[..., Any]:
    """``_set_config_context`` runs inside LangChain's copy: attach the parent run there."""

    @functools.wraps(original)
    def set_config_context(config: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(config, *args, **kwargs)
        try:
            callbacks = config.get("callbacks") if isinstance(config, dict) else None
            parent = getattr(callbacks, "parent_run_id", None)
            if parent is not None:
                _attach(CLAIMS.get(parent))  # never detached: the copy is discarded
        except Exception:
            pass
        return result

    return set_config_context


def _wrap_start(original: Callable[..., Any]) -> Callable[..., Any]:
    """A callback manager's ``on_*_start``: the run it started may claim the scope."""
    if asyncio.iscoroutinefunction(original):

        @functools.wraps(original)
        async def astart(self: Any, *args: Any, **kwargs: Any) -> Any:
            started = await original(self, *args, **kwargs)
            if SCOPE.get() is not None:
                claim(started)
            return started

        return astart

    @functools.wraps(original)
    def start(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = original(self, *args, **kwargs)
        if SCOPE.get() is not None:
            claim(started)
        return started

    return start


def _run_of(args: tuple[Any, ...], kwargs: dict[str, Any], position: int) -> RunState | None:
    """The claimed run of a model call's ``run_manager`` / single ``run_managers``."""
    try:
        manager = kwargs.get("run_manager")
        managers = kwargs.get("run_managers")
        if manager is None and managers is None and len(args) > position:
            managers = args[position]
        if isinstance(managers, list):  # several prompts in one call: no single run
            manager = managers[0] if len(managers) == 1 else None
        elif manager is None:
            manager = managers
        run_id = getattr(manager, "run_id", None)
        return None if run_id is None else CLAIMS.get(run_id)
    except Exception:
        return None


def _wrap_call(original: Callable[..., Any], position: int) -> Callable[..., Any]:
    """A model's generate helper: its run's span is current during the call, one frame.

    A call over several prompts (``BaseLLM.batch``) serves several runs at once: it keeps
    the caller's span.
    """
    if asyncio.iscoroutinefunction(original):

        @functools.wraps(original)
        async def acall(self: Any, *args: Any, **kwargs: Any) -> Any:
            token = _attach(_run_of(args, kwargs, position))
            try:
                return await original(self, *args, **kwargs)
            finally:
                if token is not None:
                    _detach(token)

        return acall

    @functools.wraps(original)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        token = _attach(_run_of(args, kwargs, position))
        try:
            return original(self, *args, **kwargs)
        finally:
            if token is not None:
                _detach(token)

    return call


def _wrap_scoped(original: Callable[..., Any], kinds: frozenset[str]) -> Callable[..., Any]:
    """A retriever call: the run it starts is current until it returns, one frame."""
    if asyncio.iscoroutinefunction(original):

        @functools.wraps(original)
        async def acall(self: Any, *args: Any, **kwargs: Any) -> Any:
            scope = _Scope(kinds, asynchronous=True)
            reset = scope.open()
            try:
                return await original(self, *args, **kwargs)
            finally:
                scope.close(reset)

        return acall

    @functools.wraps(original)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        scope = _Scope(kinds, asynchronous=False)
        reset = scope.open()
        try:
            return original(self, *args, **kwargs)
        finally:
            scope.close(reset)

    return call


def _wrap_stream(original: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """A model's ``stream``: every step, and the close, run in one private context copy.

    The first step opens the scope its run claims (attached in the copy, never
    detached); ``map`` drives the rest and ends when ``next`` raises ``StopIteration``.
    """

    @functools.wraps(original)
    def stream(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        inner = original(self, *args, **kwargs)
        run = contextvars.copy_context().run
        try:
            scope = _Scope(_MODELS, asynchronous=False)
            run(scope.open)  # never reset: the copy goes with the stream
            try:
                chunk = run(next, inner)
            except StopIteration:
                return
            finally:
                scope.done = True
            yield chunk
            yield from map(run, repeat(next), repeat(inner))
        finally:
            run(inner.close)  # type: ignore[attr-defined]  # a consumer stopped early: cancelled

    return stream


def _wrap_astream(
    original: Callable[..., AsyncIterator[Any]],
) -> Callable[..., AsyncIterator[Any]]:
    """A model's ``astream``: the run's context set around each ``__anext__``, one frame.

    The first step opens the scope its run claims; later steps set the claimed run's
    context and reset it before the chunk is yielded (an unclaimed run: passed through).
    """

    @functools.wraps(original)
    async def astream(self: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        inner = original(self, *args, **kwargs)
        step = inner.__anext__
        context = None
        try:
            scope = _Scope(_MODELS, asynchronous=True)
            reset = scope.open()
            try:
                chunk = await step()
            except StopAsyncIteration:
                return
            finally:
                scope.close(reset)
            yield chunk
            context = children_context(scope.state)
            if context is None:
                async for chunk in inner:
                    yield chunk
                return
            set_context, reset_context = _set, _reset
            while True:
                token = set_context(context)
                try:
                    chunk = await step()
                except StopAsyncIteration:
                    return
                finally:
                    try:  # noqa: SIM105 - hot path: no context manager
                        reset_context(token)
                    except (ValueError, RuntimeError):  # torn down from another context
                        pass
                yield chunk
        finally:
            token = None if context is None else _set(context)
            try:
                await inner.aclose()  # type: ignore[attr-defined]
            finally:
                if token is not None:
                    _detach(token)

    return astream


# -- install / uninstall -----------------------------------------------------------------

_LLMS = "langchain_core.language_models.llms"
_CHATS = "langchain_core.language_models.chat_models"
_RETRIEVER = "langchain_core.retrievers"
_MANAGERS = "langchain_core.callbacks.manager"
# (module, class, attribute, wrapper)
_TARGETS: tuple[tuple[str, str, str, Callable[[Any], Any]], ...] = (
    (_LLMS, "BaseLLM", "_generate_helper", lambda f: _wrap_call(f, 2)),
    (_LLMS, "BaseLLM", "_agenerate_helper", lambda f: _wrap_call(f, 2)),
    (_LLMS, "BaseLLM", "stream", _wrap_stream),
    (_LLMS, "BaseLLM", "astream", _wrap_astream),
    (_CHATS, "BaseChatModel", "_generate_with_cache", lambda f: _wrap_call(f, 1)),
    (_CHATS, "BaseChatModel", "_agenerate_with_cache", lambda f: _wrap_call(f, 1)),
    (_CHATS, "BaseChatModel", "stream", _wrap_stream),
    (_CHATS, "BaseChatModel", "astream", _wrap_astream),
    (_RETRIEVER, "BaseRetriever", "invoke", lambda f: _wrap_scoped(f, _RETRIEVERS)),
    (_RETRIEVER, "BaseRetriever", "ainvoke", lambda f: _wrap_scoped(f, _RETRIEVERS)),
    *(
        (_MANAGERS, manager, start, _wrap_start)
        for manager in ("CallbackManager", "AsyncCallbackManager")
        for start in ("on_llm_start", "on_chat_model_start", "on_retriever_start")
    ),
)  # fmt: skip
_CONFIG = "langchain_core.runnables.config"


def _patch(owner: Any, name: str, wrapper: Callable[[Any], Any]) -> None:
    original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
    setattr(owner, name, wrapper(original))
    _patched.append((owner, name, original))


def install() -> None:
    """Patch the boundaries (idempotent, thread-safe)."""
    global _get, _set, _reset  # the runtime in use now
    with _lock:
        if _patched:
            return
        _get, _set, _reset = _runtime()
        for module_name, class_name, name, wrapper in _TARGETS:
            _patch(getattr(import_module(module_name), class_name), name, wrapper)
        original = import_module(_CONFIG)._set_config_context
        wrapped = _wrap_config_context(original)
        # Older langchain-core modules bound the helper by name at import: patch each.
        for module in list(sys.modules.values()):
            if getattr(module, "_set_config_context", None) is original:
                setattr(module, "_set_config_context", wrapped)  # noqa: B010 - a module global
                _patched.append((module, "_set_config_context", original))


def uninstall() -> None:
    """Restore every patched attribute."""
    with _lock:
        while _patched:
            owner, name, original = _patched.pop()
            setattr(owner, name, original)


def installed() -> bool:
    """Whether the boundaries are patched.

    Example:
        >>> isinstance(installed(), bool)
        True
    """
    return bool(_patched)
