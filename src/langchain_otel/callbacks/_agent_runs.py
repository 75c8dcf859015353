"""The run core's agent side: LangGraph node, plumbing and agent runs; tool and agent ends.

:class:`AgentRuns` is mixed into the run core. The core calls it only for runs that can
be part of an agent (their metadata has LangGraph's or our keys, see
:data:`GRAPH_METADATA_KEYS`), for tool runs, and for runs that have an enclosing agent
(``state.agent``), so a plain ``prompt | llm`` chain pays one truthiness test of its
metadata and one parent lookup per run. What the rules are lives in
:mod:`~langchain_otel.callbacks._agents`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from opentelemetry.trace import SpanKind, Status, StatusCode

from langchain_otel.callbacks import _runs
from langchain_otel.callbacks import _semconv as sc
from langchain_otel.callbacks._agents import (
    ROLE_FOLDED,
    ROLE_GRAPH,
    ROLE_NODE,
    ROLE_PLAIN,
    AgentRun,
    agent_markers,
    classify_graph,
    interrupt_kind,
    is_plumbing,
    node_step,
    opt_in_agent,
)
from langchain_otel.callbacks._metrics import Instruments, PointAttributes
from langchain_otel.callbacks._runs import RunState

__all__ = ["GRAPH_METADATA_KEYS", "AgentRuns"]

GRAPH_METADATA_KEYS: Final = frozenset({"langgraph_step", "ls_integration", sc.AGENT_METADATA_KEY})
"""A chain run whose metadata has one of these may be a graph, a node or an agent."""


class AgentRuns:
    """Starts and ends of the runs that make up agents; mixed into the run core."""

    _keep_all_runs: bool
    _instruments: Instruments
    _runs_get: Callable[[Any], RunState | None]
    _points: PointAttributes
    _start: Callable[..., RunState]
    _fold: Callable[..., RunState]

    def _enclosing(self, parent_run_id: Any) -> AgentRun | None:
        """The agent the parent run is part of (for every new run's ``state.agent``)."""
        if parent_run_id is None:
            return None
        parent = self._runs_get(parent_run_id)
        return None if parent is None else parent.agent

    def _start_graph_chain(  # noqa: PLR0917 - forwards a chain start
        self,
        name: str,
        attrs: dict[str, Any],
        run_id: Any,
        parent_run_id: Any,
        tags: Any,
        metadata: Mapping[str, Any],
    ) -> None:
        """A chain run with LangGraph (or our) metadata: plumbing, node, agent or graph."""
        parent = self._runs_get(parent_run_id) if parent_run_id is not None else None
        enclosing = None if parent is None else parent.agent
        if parent is not None and not self._keep_all_runs and is_plumbing(name, tags, parent.role):
            self._fold(run_id, parent_run_id, sc.RUN_TYPE_CHAIN).role = ROLE_FOLDED
            return
        node = node_step(tags, metadata)
        if node is not None:
            attrs.update(node)
            if parent is not None and parent.role == ROLE_PLAIN:
                self._promote(parent)  # a node's parent is its graph's run
            state = self._start(run_id, parent_run_id, name, SpanKind.INTERNAL, attrs, "chain")
            state.role = ROLE_NODE
            return
        agent_name, _ = opt_in_agent(name, metadata, enclosing)
        if agent_name is None:
            state = self._start(run_id, parent_run_id, name, SpanKind.INTERNAL, attrs, "chain")
            state.name, state.metadata = name, metadata  # for _promote, if it is a graph
            return
        run = AgentRun(
            sc.OPERATION_INVOKE_AGENT, agent_name, enclosing, None, agent_markers(metadata)
        )
        attrs.update(run.start_attributes(metadata))
        state = self._start(
            run_id, parent_run_id, run.span_name, SpanKind.INTERNAL, attrs, sc.RUN_TYPE_CHAIN
        )
        run.state, state.agent, state.role = state, run, ROLE_GRAPH

    def _promote(self, state: RunState) -> None:
        """A graph run seen through its first node: make it an agent or workflow span."""
        state.role = ROLE_GRAPH
        metadata = state.metadata if isinstance(state.metadata, Mapping) else {}
        run = classify_graph(state.name, metadata, state.agent, state)
        if run is None or state.span is None:
            return
        state.agent = run
        state.span.update_name(run.span_name)
        state.span.set_attributes(run.start_attributes(metadata))

    def _control_flow(self, state: RunState, error: BaseException) -> str:
        """The outcome of a failed run inside a graph: LangGraph's interrupts are none."""
        outcome = interrupt_kind(error)
        if outcome is None:
            return sc.OUTCOME_ERROR
        if outcome == sc.OUTCOME_INTERRUPTED and state.agent is not None:
            state.agent.interrupt()
        return outcome

    def _agent_run_ended(self, state: RunState, outcome: str, error_type: str | None) -> str:
        """Tool and agent runs: roll-ups, outcome and duration metric; returns the outcome."""
        span = state.span
        if span is None:
            return outcome
        run = state.agent
        if state.kind == sc.RUN_TYPE_TOOL:
            if run is not None:
                run.add_tool(failed=outcome == sc.OUTCOME_ERROR)
            self._record_duration(state, sc.OPERATION_EXECUTE_TOOL, outcome, error_type, None)
            return outcome
        if run is None or run.state is not state:
            return outcome  # a node or another run inside an agent
        if run.interrupted and outcome == sc.OUTCOME_OK:
            outcome = sc.OUTCOME_INTERRUPTED
        attrs = run.attributes()
        attrs[sc.OUTCOME] = outcome
        span.set_attributes(attrs)
        agent = run.name if run.operation == sc.OPERATION_INVOKE_AGENT else None
        self._record_duration(state, run.operation, outcome, error_type, agent)
        if run.priced and agent is not None:
            self._instruments.agent_cost.add(
                run.cost, self._points.run(run.operation, None, None, agent)
            )
        return outcome

    def _record_duration(
        self, state: RunState, operation: str, outcome: str, error_type: str | None, agent: Any
    ) -> None:
        duration = _runs.clock() - state.start
        self._instruments.duration.record(
            duration, self._points.run(operation, outcome, error_type, agent)
        )


def fail_softly(span: Any, error_type: str) -> None:
    """Status ERROR without an exception (a tool's ``ToolMessage`` with status error)."""
    span.set_attributes({sc.OUTCOME: sc.OUTCOME_ERROR, sc.ERROR_TYPE: error_type})
    span.set_status(Status(StatusCode.ERROR, error_type))
