"""The run registry: LangChain run id → the state of its span, bounded, with a TTL.

Reads and writes of single entries rely on ``dict`` operations being atomic (they are
under CPython's GIL), so the per-token path takes no lock. The lock only guards the
rare whole-registry work: sweeping expired runs and evicting the oldest when full.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span

if TYPE_CHECKING:
    from langchain_otel.callbacks._attributes import ResponseInfo
    from langchain_otel.callbacks._usage import Usage

__all__ = ["CLAIMS", "ModelEnd", "RunRegistry", "RunState", "children_context", "clock"]

CLAIMS: dict[Any, RunState] = {}
"""Process-wide: run id → the state of the one handler that telemeters the run.

Every handler instance that sees a run consults it, so a run is telemetered once per
process however many handlers LangChain hands it to; context propagation finds a run's
span here. Single entries are set and removed atomically (CPython dict operations).
"""


def clock() -> float:
    """Seconds on a monotonic clock; the one time source of run durations.

    Tests patch ``langchain_otel.callbacks._runs.clock`` for exact durations.

    Example:
        >>> clock() <= clock()
        True
    """
    return time.perf_counter()


class RunState:
    """What the handler remembers about one run between its start and its end.

    ``span`` is None for a *folded* run (no span of its own); its ``context`` is then
    its nearest kept ancestor's, so its children are parented there. It is None too
    (with no ``owner``) for a run this handler *declined* because another handler
    claimed it: remembered only so that its end is no orphan.

    Example:
        >>> RunState(None, "chain", 0.0).chunks
        0
    """

    __slots__ = (
        "agent",
        "chunks",
        "context",
        "first_chunk",
        "input_messages",
        "kind",
        "metadata",
        "metric_base",
        "metric_key",
        "model",
        "name",
        "open_models",
        "operation",
        "owner",
        "parent_state",
        "provider",
        "role",
        "run_id",
        "span",
        "start",
        "start_args",
    )

    def __init__(self, span: Span | None, kind: str, start: float) -> None:
        self.span = span
        self.kind = kind
        self.start = start
        self.first_chunk = 0.0  # 0.0 = no chunk yet (cheaper to test than None)
        self.chunks = 0
        self.context: Context | None = None  # the span as parent context, built lazily
        self.run_id = ""  # LangChain's run id, as text
        self.owner: Any = None  # the handler that claimed the run (None: declined)
        # Agents (callbacks/_agent_runs.py): the enclosing agent's roll-up, the run's role
        # (plain, LangGraph node, graph, folded), and a graph candidate's name and metadata.
        self.agent: Any = None
        self.role = 0
        self.name = ""
        self.metadata: Any = None
        # A folded step: its start callback's (serialized, kwargs, tags, metadata), for
        # the span it gets if it fails.
        self.start_args: tuple[Any, Any, Any, Any] | None = None
        # Model runs in flight under this run (run id -> state), and the parent run's
        # state (when this handler has it): LangChain may give a model cancelled inside
        # ``ainvoke`` no end callback, so its parent's cancellation ends it.
        self.open_models: dict[Any, RunState] | None = None
        self.parent_state: RunState | None = None
        # Model runs only:
        self.operation = ""
        self.provider = ""
        self.model = ""
        self.input_messages: Any = None
        self.metric_key: tuple[Any, ...] = ()
        self.metric_base: dict[str, Any] = {}


def children_context(state: RunState | None) -> Context | None:
    """The context ``state``'s children start under, built once; None for no state.

    A kept run's span as a context; a folded run's is its nearest kept ancestor's (None
    for a folded root: the caller's context is current).

    Example:
        >>> children_context(None) is None, children_context(RunState(None, "chain", 0.0))
        (True, None)
    """
    if state is None:
        return None
    context = state.context
    if context is None and state.span is not None:
        context = state.context = trace.set_span_in_context(state.span)
    return context


class ModelEnd:
    """What a finished model run measured: read by the span, the metrics and the log."""

    __slots__ = (
        "cost",
        "duration",
        "error_type",
        "info",
        "outcome",
        "output_json",
        "per_chunk",
        "ttfc",
        "usage",
    )

    def __init__(  # noqa: PLR0917 - a plain record
        self,
        outcome: str,
        duration: float,
        ttfc: float | None,
        per_chunk: float | None,
        info: ResponseInfo,
        usage: Usage,
        cost: tuple[float, float] | None,
        output_json: str | None,
        error_type: str | None,
    ) -> None:
        self.outcome = outcome
        self.duration = duration
        self.ttfc = ttfc
        self.per_chunk = per_chunk
        self.info = info
        self.usage = usage
        self.cost = cost
        self.output_json = output_json
        self.error_type = error_type


class RunRegistry:
    """Runs in flight, bounded to ``max_runs``; runs older than ``ttl`` are expired.

    ``expire`` is called (outside the lock) with each run the registry drops without
    an end because its TTL ran out; ``evict`` (default: ``expire``) with each run evicted
    because the registry is full.

    Example:
        >>> dropped = []
        >>> reg = RunRegistry(max_runs=1, ttl=60.0, expire=lambda rid, st: dropped.append(rid))
        >>> from uuid import uuid4
        >>> a, b = uuid4(), uuid4()
        >>> reg.add(a, RunState(None, "chain", clock()))
        >>> reg.add(b, RunState(None, "chain", clock()))
        >>> dropped == [a], len(reg)
        (True, 1)
    """

    __slots__ = (
        "_evict",
        "_expire",
        "_lock",
        "_next_sweep",
        "_runs",
        "get",
        "max_runs",
        "pop",
        "ttl",
    )

    def __init__(
        self,
        *,
        max_runs: int,
        ttl: float,
        expire: Callable[[Any, RunState], None],
        evict: Callable[[Any, RunState], None] | None = None,
    ) -> None:
        self.max_runs = max_runs
        self.ttl = ttl
        self._expire = expire
        self._evict = expire if evict is None else evict  # a live run dropped: registry full
        self._runs: dict[Any, RunState] = {}
        self._lock = threading.Lock()
        self._next_sweep = clock() + min(ttl / 10, 60.0)
        # Bound methods cached as attributes: one attribute lookup on the hot path.
        self.get = self._runs.get
        self.pop = self._runs.pop

    def __len__(self) -> int:
        return len(self._runs)

    def add(self, run_id: Any, state: RunState) -> None:
        """Register a started run; sweep or evict first when due."""
        if state.start >= self._next_sweep:
            self.sweep(state.start)
        if len(self._runs) >= self.max_runs:
            self._evict_oldest()
        self._runs[run_id] = state

    def sweep(self, now: float | None = None) -> int:
        """Expire every run started more than ``ttl`` seconds ago; return how many."""
        now = clock() if now is None else now
        with self._lock:
            self._next_sweep = now + min(self.ttl / 10, 60.0)
            limit = now - self.ttl
            expired = [(rid, st) for rid, st in list(self._runs.items()) if st.start < limit]
            expired = [(rid, st) for rid, st in expired if self._runs.pop(rid, None) is st]
        for rid, st in expired:
            self._expire(rid, st)
        return len(expired)

    def _evict_oldest(self) -> None:
        with self._lock:
            victims = []
            while len(self._runs) >= self.max_runs:
                try:
                    rid = next(iter(self._runs))
                except (StopIteration, RuntimeError):  # emptied or resized meanwhile
                    break
                state = self._runs.pop(rid, None)
                if state is not None:
                    victims.append((rid, state))
        for rid, state in victims:
            self._evict(rid, state)

    def drain(self) -> list[tuple[Any, RunState]]:
        """Remove and return every run in flight."""
        with self._lock:
            items = list(self._runs.items())
            self._runs.clear()
        return items
