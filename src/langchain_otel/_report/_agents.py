"""The per-agent table: runs, duration, model and tool calls per run, tokens, cost per run.

Built from the ``invoke_agent`` spans of the files (their roll-up attributes, see the
handler guide): one row per ``gen_ai.agent.name``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from langchain_otel._report._reader import TraceSpan
from langchain_otel._report._summary import CANCELLED, percentile
from langchain_otel._report._text import table_lines
from langchain_otel.callbacks import _semconv as sc

__all__ = [
    "AGENT_CAPTION",
    "AGENT_COLUMNS",
    "AgentSummary",
    "agent_cells",
    "agent_rows",
    "agents_text",
    "summarize_agents",
]

AGENT_COLUMNS = (
    "agent",
    "runs",
    "errors",
    "interrupted",
    "p50 ms",
    "p95 ms",
    "model calls/run",
    "tool calls/run",
    "tool errors",
    "tokens in",
    "tokens out",
    "cost/run USD",
)

AGENT_CAPTION = (
    "model and tool calls per run include its sub-agents' calls; cost per run: the mean "
    "over the runs whose price was known"
)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass
class AgentSummary:
    """The numbers of one agent, over its runs."""

    agent: str
    runs: int = 0
    errors: int = 0
    interrupted: int = 0
    cancelled: int = 0
    durations: list[float] = field(default_factory=list)
    model_calls: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    priced_runs: int = 0

    def add(self, span: TraceSpan) -> None:
        """Count one ``invoke_agent`` span in."""
        attrs = span.attributes
        self.runs += 1
        self.errors += span.outcome == sc.OUTCOME_ERROR
        self.interrupted += span.outcome == sc.OUTCOME_INTERRUPTED
        self.cancelled += span.outcome in CANCELLED
        self.durations.append(span.duration_s)
        self.model_calls += _int(attrs.get(sc.AGENT_MODEL_CALLS))
        self.tool_calls += _int(attrs.get(sc.AGENT_TOOL_CALLS))
        self.tool_errors += _int(attrs.get(sc.AGENT_TOOL_ERRORS))
        self.input_tokens += _int(attrs.get(sc.GEN_AI_USAGE_INPUT_TOKENS))
        self.output_tokens += _int(attrs.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS))
        cost = attrs.get(sc.COST_TOTAL)
        if isinstance(cost, int | float) and not isinstance(cost, bool):
            self.cost_usd = (self.cost_usd or 0.0) + float(cost)
            self.priced_runs += 1

    @property
    def cost_per_run(self) -> float | None:
        """Mean cost of the runs that had a price, or None."""
        return None if self.cost_usd is None else self.cost_usd / self.priced_runs


def summarize_agents(spans: Iterable[TraceSpan]) -> list[AgentSummary]:
    """One row per agent name, sorted by name.

    Example:
        >>> span = TraceSpan("t", "s", None, "invoke_agent a", 0, 2_000_000, "ok",
        ...     {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "a",
        ...      "langchain_otel.agent.model_calls": 3})
        >>> [(r.agent, r.runs, r.model_calls) for r in summarize_agents([span])]
        [('a', 1, 3)]
    """
    rows: dict[str, AgentSummary] = {}
    for span in spans:
        if span.operation != sc.OPERATION_INVOKE_AGENT:
            continue
        name = span.attributes.get(sc.GEN_AI_AGENT_NAME)
        agent = name if isinstance(name, str) and name else span.name
        rows.setdefault(agent, AgentSummary(agent)).add(span)
    return [rows[name] for name in sorted(rows)]


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def _per_run(total: int, runs: int) -> str:
    return f"{total / runs:.1f}" if runs else "-"


def agent_cells(row: AgentSummary) -> list[str]:
    """One table row as text, in :data:`AGENT_COLUMNS` order."""
    cost = row.cost_per_run
    return [
        row.agent,
        str(row.runs),
        str(row.errors),
        str(row.interrupted),
        _ms(percentile(row.durations, 50)),
        _ms(percentile(row.durations, 95)),
        _per_run(row.model_calls, row.runs),
        _per_run(row.tool_calls, row.runs),
        str(row.tool_errors),
        str(row.input_tokens),
        str(row.output_tokens),
        "-" if cost is None else f"${cost:.6f}",
    ]


def agent_rows(spans: Iterable[TraceSpan]) -> list[list[str]]:
    """The per-agent table's rows as text, in :data:`AGENT_COLUMNS` order."""
    return [agent_cells(row) for row in summarize_agents(spans)]


def agents_text(spans: Iterable[TraceSpan]) -> str:
    """The per-agent table as plain text; empty when the files hold no agent run.

    Example:
        >>> span = TraceSpan("t", "s", None, "invoke_agent a", 0, 2_000_000, "ok",
        ...     {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "a"})
        >>> agents_text([span]).splitlines()[2].split()[:4]
        ['a', '1', '0', '0']
        >>> agents_text([])
        ''
    """
    rows = agent_rows(spans)
    return "\n".join(table_lines(AGENT_COLUMNS, rows)) if rows else ""
