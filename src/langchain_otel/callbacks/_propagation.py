"""The run's span is current inside the run; the caller's context is never changed.

The one module that patches LangChain (``install()``; ``uninstall()`` undoes it, and
``uninstrument()`` calls it). Three kinds of boundary, each changing the OpenTelemetry
context only where it cannot leak:

- **Inside LangChain's context copies.** A chain step, a tool, a lambda, a parallel
  branch or a graph node runs in the ``contextvars`` copy that LangChain makes for it
  (``runnables.config._set_config_context`` runs inside that copy). We attach the span of
  the copy's parent run there, in the copy only. The copy is thrown away after the child
  ran, so there is nothing to detach, in any task.
- **Around a call, in one frame.** A model's generate path (``_generate_helper``,
  ``_generate_with_cache`` and their async twins) and a retriever's ``invoke`` run the
  model or retriever in the caller's context: we attach before the call and detach after
  it, in the same frame, so the caller's context is restored before it sees a result.
- **Around each step of a stream.** A model's ``stream``/``astream`` body is a generator
  that runs inside whoever calls ``__next__``/``__anext__``. Attaching for the stream's
  life would leak into the consumer between chunks, so we attach for one step at a time
  (one ``next``) and detach before the chunk is yielded. The run starts inside the first
  step: when the callback manager's start method returns there, the run claims the step's
  scope (:func:`claim`) and stays current for the rest of that step.

Runs are found by run id in the process-wide claims (``_runs.CLAIMS``), whichever handler
owns them. Anything that goes wrong here is swallowed: propagation is lost, the run is not.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from importlib import import_module
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from langchain_otel.callbacks import _semconv as sc
from langchain_otel.callbacks._runs import CLAIMS, RunState

__all__ = ["SCOPE", "claim", "install", "installed", "uninstall"]

_MODELS = frozenset({sc.RUN_TYPE_LLM, sc.RUN_TYPE_CHAT_MODEL})
_RETRIEVERS = frozenset({sc.RUN_TYPE_RETRIEVER})
_lock = threading.Lock()
_patched: list[tuple[Any, str, Any]] = []  # (owner, attribute, original)


def _attach(state: RunState | None) -> Any:
    """Make ``state``'s span current (a folded run's: its kept ancestor's); the token.

    The run's context is built once (it is also its children's parent context) and
    reused by every activation: one ``ContextVar`` set, one reset. None when there is
    nothing to attach or it is already current.
    """
    if state is None:
        return None
    context = state.context
    if context is None:
        if state.span is None:  # a folded root: the caller's span is already current
            return None
        context = state.context = trace.set_span_in_context(state.span)
    if otel_context.get_current() is context:
        return None
    return otel_context.attach(context)


def _current_task() -> Any:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running asyncio loop (sync code, trio)
        return None


class _Scope:
    """One step of a stream (or one retriever call): where its run's start may attach."""

    __slots__ = ("asynchronous", "done", "kinds", "state", "task", "thread", "token")

    def __init__(self, kinds: frozenset[str], asynchronous: bool) -> None:
        self.kinds = kinds
        self.asynchronous = asynchronous
        self.state: RunState | None = None
        self.token: Any = None
        self.thread = 0
        self.task: Any = None
        self.done = False  # the first step is over: a run started there or none will

    def enter(self) -> Any:
        """Before a step: the claimed run's span current, or open the scope for a claim."""
        if self.state is not None:
            self.token = _attach(self.state)
            return None
        if self.done:
            return None
        self.thread = threading.get_ident()
        self.task = _current_task() if self.asynchronous else None
        return SCOPE.set(self)

    def exit(self, reset: Any) -> None:
        """After a step, in the same frame: detach what was attached, close the scope."""
        token, self.token = self.token, None
        try:
            if token is not None:
                otel_context.detach(token)
        finally:
            if reset is not None:
                SCOPE.reset(reset)
                self.done = True


SCOPE: ContextVar[_Scope | None] = ContextVar("langchain_otel_scope", default=None)
"""The stream step or retriever call in progress in this context, if any."""


def claim(started: Any) -> None:
    """A run just started in the current scope: make it current there, for the scope's life.

    ``started`` is what a callback manager's start method returned (one run manager, or
    a list of one). Called after the manager returned, in the body that started the run,
    so in the very context the scope detaches from (checked: same thread and task). Only
    the scope's first run of its kind is taken.
    """
    scope = SCOPE.get()
    if scope is None or scope.state is not None:
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
                    otel_context.detach(token)

        return acall

    @functools.wraps(original)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        token = _attach(_run_of(args, kwargs, position))
        try:
            return original(self, *args, **kwargs)
        finally:
            if token is not None:
                otel_context.detach(token)

    return call


def _wrap_scoped(original: Callable[..., Any], kinds: frozenset[str]) -> Callable[..., Any]:
    """A retriever call: the run it starts is current until it returns, one frame."""
    if asyncio.iscoroutinefunction(original):

        @functools.wraps(original)
        async def acall(self: Any, *args: Any, **kwargs: Any) -> Any:
            scope = _Scope(kinds, asynchronous=True)
            reset = scope.enter()
            try:
                return await original(self, *args, **kwargs)
            finally:
                scope.exit(reset)

        return acall

    @functools.wraps(original)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        scope = _Scope(kinds, asynchronous=False)
        reset = scope.enter()
        try:
            return original(self, *args, **kwargs)
        finally:
            scope.exit(reset)

    return call


def _wrap_stream(original: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """A model's ``stream``: its span is current during each step, never between them."""

    @functools.wraps(original)
    def stream(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        inner = original(self, *args, **kwargs)
        scope = _Scope(_MODELS, asynchronous=False)
        try:
            while True:
                reset = scope.enter()
                try:
                    chunk = next(inner)
                except StopIteration:
                    return
                finally:
                    scope.exit(reset)
                yield chunk
        finally:
            inner.close()  # type: ignore[attr-defined]  # a consumer stopped early: cancelled

    return stream


def _wrap_astream(
    original: Callable[..., AsyncIterator[Any]],
) -> Callable[..., AsyncIterator[Any]]:
    """A model's ``astream``: the same, one ``__anext__`` at a time, in the step's task."""

    @functools.wraps(original)
    async def astream(self: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        inner = original(self, *args, **kwargs)
        scope = _Scope(_MODELS, asynchronous=True)
        try:
            while True:
                reset = scope.enter()
                try:
                    chunk = await inner.__anext__()
                except StopAsyncIteration:
                    return
                finally:
                    scope.exit(reset)
                yield chunk
        finally:
            await inner.aclose()  # type: ignore[attr-defined]

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
    with _lock:
        if _patched:
            return
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
