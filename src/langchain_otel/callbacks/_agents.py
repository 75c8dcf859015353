"""Agents and graphs: which runs are agents, workflows, LangGraph nodes or plumbing.

LangChain 1.x agents (``langchain.agents.create_agent``) and LangGraph graphs reach a
callback handler as plain chain runs. This module reads their names, tags and metadata:

- A **LangGraph node run** has the tag ``graph:step:N`` (and ``langgraph_node`` /
  ``langgraph_step`` metadata): its span gets ``langgraph.node`` and ``langgraph.step``.
- The parent of a node run is a **graph run** (the Pregel loop). It becomes an agent
  (``invoke_agent {name}``) when it was built by ``create_agent`` (metadata
  ``ls_integration = "langchain_create_agent"``), when it has an explicit name (anything
  but LangGraph's default ``"LangGraph"``: ``create_react_agent(name=...)``,
  ``compile(name=...)``, ``with_config(run_name=...)``), or when the run's metadata has
  :data:`~langchain_otel.callbacks._semconv.AGENT_METADATA_KEY` (a name, or ``True`` for
  the run's name; ``False`` opts out). The outermost graph that is not an agent becomes a
  workflow (``invoke_workflow {name}``); nested graphs that are not agents stay chain spans.
  Any other runnable whose metadata has the key becomes an agent too.
- **Plumbing runs** carry nothing a reader needs: runs LangGraph tags
  ``langsmith:hidden``, ``__start__`` / ``__end__``, channel reads and writes, the
  routing functions of conditional edges (``should_continue``, ``tools_condition``: the
  chain runs a node runs after its own function, tagged ``seq:step:2`` and later), and
  ``create_react_agent``'s glue (its ``call_model`` node function, a leaf as long as its
  node, and its ``Prompt`` step). They are folded: no span, their children parented to the
  nearest kept span.

Metadata is inherited by child runs, so a marker only counts where it differs from the
enclosing agent's (a nested graph does not become a second ``weather_agent``).

An :class:`AgentRun` sums what the model and tool runs under an agent or workflow did, for
the roll-up attributes of its span; sub-agents add to their callers too.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Final

from langchain_otel.callbacks import _semconv as sc

__all__ = [
    "ROLE_FOLDED",
    "ROLE_GRAPH",
    "ROLE_NODE",
    "ROLE_PLAIN",
    "AgentRun",
    "agent_markers",
    "classify_graph",
    "interrupt_kind",
    "is_plumbing",
    "node_step",
    "opt_in_agent",
    "tool_message_failed",
]

ROLE_PLAIN: Final = 0
"""Any run that is none of the below."""
ROLE_NODE: Final = 1
"""A LangGraph node run (tag ``graph:step:N``)."""
ROLE_GRAPH: Final = 2
"""A graph run that was looked at (its first node started); an agent or workflow if
``state.agent.state`` is this run."""
ROLE_FOLDED: Final = 3
"""A plumbing run registered without a span of its own."""

_DEFAULT_GRAPH_NAME: Final = "LangGraph"
_HIDDEN_TAG: Final = "langsmith:hidden"
_NODE_TAG: Final = "graph:step:"
_SEQ_TAG: Final = "seq:step:"
_FIRST_SEQ_STEP: Final = "seq:step:1"
_PLUMBING_NAMES: Final = frozenset({"__start__", "__end__"})
_PLUMBING_PREFIXES: Final = ("ChannelWrite", "ChannelRead", "Branch<")
# create_react_agent's glue: the agent node's own function (a leaf, as long as its node)
# and its prompt step (the state's messages passed through).
_REACT_NODE_FUNCTIONS: Final = frozenset({"call_model", "acall_model"})
_REACT_PROMPT: Final = "Prompt"
_CREATE_AGENT: Final = "langchain_create_agent"

_lock = threading.Lock()


class AgentRun:
    """What the model and tool runs under one agent or workflow run added up to.

    Example:
        >>> outer = AgentRun(sc.OPERATION_INVOKE_AGENT, "boss", None, None)
        >>> inner = AgentRun(sc.OPERATION_INVOKE_AGENT, "helper", outer, None)
        >>> inner.add_model(10, 5, estimated=False, cost=0.5)
        >>> inner.add_tool(failed=True)
        >>> outer.attributes()["langchain_otel.agent.model_calls"], outer.tool_errors
        (1, 1)
    """

    __slots__ = (
        "cost",
        "estimated",
        "input_tokens",
        "interrupted",
        "markers",
        "model_calls",
        "name",
        "operation",
        "output_tokens",
        "parent",
        "priced",
        "state",
        "tool_calls",
        "tool_errors",
        "usage",
    )

    def __init__(
        self, operation: str, name: str, parent: AgentRun | None, state: Any, markers: Any = None
    ) -> None:
        self.operation = operation
        self.name = name
        self.parent = parent  # the enclosing agent or workflow, which sums this one's runs too
        self.state = state  # the RunState of the agent's own run
        self.markers = markers  # the metadata markers that made it an agent (see classify_graph)
        self.input_tokens = 0
        self.output_tokens = 0
        self.usage = False  # some model run had token counts
        self.estimated = False
        self.cost = 0.0
        self.priced = False
        self.model_calls = 0
        self.tool_calls = 0
        self.tool_errors = 0
        self.interrupted = False

    def add_model(
        self,
        input_tokens: int | None,
        output_tokens: int | None,
        *,
        estimated: bool,
        cost: float | None,
    ) -> None:
        """A model run under this agent ended: add it here and to every enclosing agent."""
        with _lock:
            run: AgentRun | None = self
            while run is not None:
                run.model_calls += 1
                if input_tokens is not None or output_tokens is not None:
                    run.usage = True
                    run.input_tokens += input_tokens or 0
                    run.output_tokens += output_tokens or 0
                if estimated:
                    run.estimated = True
                if cost is not None:
                    run.priced = True
                    run.cost += cost
                run = run.parent

    def add_tool(self, *, failed: bool) -> None:
        """A tool run under this agent ended (``failed``: an error outcome)."""
        with _lock:
            run: AgentRun | None = self
            while run is not None:
                run.tool_calls += 1
                if failed:
                    run.tool_errors += 1
                run = run.parent

    def interrupt(self) -> None:
        """A run under this agent was interrupted: so are this agent and its callers."""
        run: AgentRun | None = self
        while run is not None:
            run.interrupted = True
            run = run.parent

    def attributes(self) -> dict[str, Any]:
        """The roll-up attributes for the agent's span at its end."""
        attrs: dict[str, Any] = {
            sc.AGENT_MODEL_CALLS: self.model_calls,
            sc.AGENT_TOOL_CALLS: self.tool_calls,
            sc.AGENT_TOOL_ERRORS: self.tool_errors,
        }
        if self.usage:
            attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] = self.input_tokens
            attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] = self.output_tokens
        if self.estimated:
            attrs[sc.USAGE_ESTIMATED] = True
        if self.priced:
            attrs[sc.COST_TOTAL] = self.cost
        return attrs

    def start_attributes(self, metadata: Any) -> dict[str, Any]:
        """``gen_ai.operation.name`` and the name (and id) attributes of the span."""
        attrs: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: self.operation}
        if self.operation == sc.OPERATION_INVOKE_AGENT:
            attrs[sc.GEN_AI_AGENT_NAME] = self.name
            agent_id = metadata.get("assistant_id") if isinstance(metadata, Mapping) else None
            if isinstance(agent_id, str) and agent_id:
                attrs[sc.GEN_AI_AGENT_ID] = agent_id
        else:
            attrs[sc.GEN_AI_WORKFLOW_NAME] = self.name
        return attrs

    @property
    def span_name(self) -> str:
        """``invoke_agent {name}`` or ``invoke_workflow {name}``."""
        return f"{self.operation} {self.name}"

    def metric_attributes(self, outcome: str, error_type: str | None) -> dict[str, Any]:
        """The duration metric's attributes for this agent's run."""
        attrs: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: self.operation, sc.OUTCOME: outcome}
        if self.operation == sc.OPERATION_INVOKE_AGENT:
            attrs[sc.GEN_AI_AGENT_NAME] = self.name
        if error_type:
            attrs[sc.ERROR_TYPE] = error_type
        return attrs


def node_step(tags: Any, metadata: Mapping[str, Any]) -> dict[str, Any] | None:
    """``langgraph.node`` / ``langgraph.step`` when the run is a LangGraph node, else None.

    Example:
        >>> node_step(["graph:step:2"], {"langgraph_node": "tools", "langgraph_step": 2})
        {'langgraph.node': 'tools', 'langgraph.step': 2}
        >>> node_step(["seq:step:1"], {"langgraph_node": "tools", "langgraph_step": 2}) is None
        True
    """
    if not isinstance(tags, list) or not any(
        isinstance(t, str) and t.startswith(_NODE_TAG) for t in tags
    ):
        return None
    attrs: dict[str, Any] = {}
    node = metadata.get("langgraph_node")
    if isinstance(node, str):
        attrs[sc.LANGGRAPH_NODE] = node
    step = metadata.get("langgraph_step")
    if isinstance(step, int) and not isinstance(step, bool):
        attrs[sc.LANGGRAPH_STEP] = step
    return attrs


def is_plumbing(name: str, tags: Any, parent_role: int) -> bool:
    """LangGraph's own runs: hidden, start/end, channel I/O, routing after a node's function.

    Also ``create_react_agent``'s glue: its ``call_model`` node function and ``Prompt`` step.
    Only asked about runs inside a graph (their metadata has ``langgraph_step``).

    Example:
        >>> is_plumbing("should_continue", ["seq:step:3"], ROLE_NODE)
        True
        >>> is_plumbing("call_model", ["seq:step:1"], ROLE_NODE)  # create_react_agent glue
        True
        >>> is_plumbing("my_node_function", ["seq:step:1"], ROLE_NODE)
        False
    """
    if name in _PLUMBING_NAMES or name.startswith(_PLUMBING_PREFIXES) or name == _REACT_PROMPT:
        return True
    if not isinstance(tags, list):
        return False
    if _HIDDEN_TAG in tags:
        return True
    # A node run is RunnableSeq(node function, channel writes, branches...): what runs as
    # step 2 or later of a node is LangGraph's writing and routing, not the user's node.
    if parent_role != ROLE_NODE:
        return False
    if _FIRST_SEQ_STEP in tags:
        return name in _REACT_NODE_FUNCTIONS
    return any(isinstance(t, str) and t.startswith(_SEQ_TAG) for t in tags)


def _enclosing_markers(enclosing: AgentRun | None) -> tuple[Any, Any]:
    run = enclosing
    while run is not None:
        if run.markers is not None:
            return run.markers  # type: ignore[no-any-return]
        run = run.parent
    return (None, None)


def agent_markers(metadata: Mapping[str, Any]) -> tuple[Any, Any]:
    """The metadata that made a run an agent: (our key's value, create_agent's marker)."""
    create_agent = None
    if metadata.get("ls_integration") == _CREATE_AGENT:
        create_agent = (_CREATE_AGENT, metadata.get("lc_agent_name"))
    return metadata.get(sc.AGENT_METADATA_KEY), create_agent


def opt_in_agent(
    name: str, metadata: Mapping[str, Any], enclosing: AgentRun | None
) -> tuple[str | None, bool]:
    """The agent name the metadata key gives this run: ``(name or None, key was set here)``.

    Example:
        >>> opt_in_agent("LangGraph", {"langchain_otel.agent": "planner"}, None)
        ('planner', True)
        >>> opt_in_agent("team", {"langchain_otel.agent": False}, None)
        (None, True)
        >>> opt_in_agent("team", {}, None)
        (None, False)
    """
    value = metadata.get(sc.AGENT_METADATA_KEY)
    if value is None or value == _enclosing_markers(enclosing)[0]:
        return None, False  # absent, or inherited from the enclosing agent
    if value is True:
        return name, True
    if isinstance(value, str) and value:
        return value, True
    return None, True  # False (or anything else): not an agent


def classify_graph(
    name: str, metadata: Mapping[str, Any], enclosing: AgentRun | None, state: Any
) -> AgentRun | None:
    """The :class:`AgentRun` for a graph run, or None for a nested graph that is no agent.

    Example:
        >>> classify_graph("LangGraph", {"ls_integration": "langgraph"}, None, None).span_name
        'invoke_workflow LangGraph'
        >>> classify_graph("team", {}, None, None).span_name
        'invoke_agent team'
    """
    markers = agent_markers(metadata)
    agent_name, decided = opt_in_agent(name, metadata, enclosing)
    if not decided:
        created = markers[1] is not None and markers[1] != _enclosing_markers(enclosing)[1]
        if created or name != _DEFAULT_GRAPH_NAME:
            agent_name = name
    if agent_name is not None:
        return AgentRun(sc.OPERATION_INVOKE_AGENT, agent_name, enclosing, state, markers)
    if enclosing is None:
        return AgentRun(sc.OPERATION_INVOKE_WORKFLOW, name, None, state, markers)
    return None


def interrupt_kind(error: BaseException) -> str | None:
    """The outcome of a LangGraph control-flow exception, None for a real error.

    ``"interrupted"`` for ``GraphInterrupt`` (``interrupt()``), ``"ok"`` for the other
    ``GraphBubbleUp`` exceptions (``ParentCommand``: a handoff to the parent graph).

    Example:
        >>> interrupt_kind(ValueError()) is None
        True
    """
    for cls in type(error).__mro__:
        if cls.__module__.startswith("langgraph"):
            if cls.__name__ == "GraphInterrupt":
                return sc.OUTCOME_INTERRUPTED
            if cls.__name__ == "GraphBubbleUp":
                return sc.OUTCOME_OK
    return None


def tool_message_failed(output: Any) -> bool:
    """A tool's output is a ``ToolMessage`` with ``status="error"`` (a handled failure).

    Example:
        >>> from langchain_core.messages import ToolMessage
        >>> tool_message_failed(ToolMessage("boom", tool_call_id="1", status="error"))
        True
    """
    return getattr(output, "status", None) == "error"
