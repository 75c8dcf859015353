"""How a chain run is told: its span name, kind and attributes, or *folded* (no span).

One place decides what a chain run (a runnable, a graph, a graph node) becomes, so the
agents and the service-performance work can extend it without touching the run core:

- a kept run gets an INTERNAL span named after the run (``RunnableSequence``, ...);
- a folded run is registered without a span of its own: its children are parented to
  the span of its nearest kept ancestor (or to the caller's current span), and its time
  is part of its parent's span.

Folded by default (``keep_all_runs=True`` keeps them): prompt templates and output
parsers (LangChain starts them with ``run_type="prompt"`` / ``"parser"``), which carry no
information of their own for most users, and LangGraph's plumbing
(``callbacks/_agents.py``). A folded step that *fails* still gets a span, made when
the error arrives with the step's own start time, so no error is ever hidden.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.trace import SpanKind

from langchain_otel.callbacks import _semconv as sc
from langchain_otel.callbacks._spans import run_attributes, run_name

__all__ = ["FOLDED_RUN_TYPES", "ChainSpan", "classify_chain", "folds_step"]

FOLDED_RUN_TYPES = frozenset({"prompt", "parser"})
"""LangChain's ``run_type`` of the chain runs folded by default."""


class ChainSpan:
    """What a chain run becomes.

    Attributes:
        name: The span name.
        kind: The span kind.
        attributes: The start attributes (one dict, passed to ``start_span``).
        folded: True for a run without a span of its own.
    """

    __slots__ = ("attributes", "folded", "kind", "name")

    def __init__(
        self, name: str, kind: SpanKind, attributes: dict[str, Any], folded: bool = False
    ) -> None:
        self.name = name
        self.kind = kind
        self.attributes = attributes
        self.folded = folded


def classify_chain(  # noqa: PLR0917 - a chain start callback's arguments
    serialized: Any,
    inputs: Any,
    run_id: Any,
    tags: Any,
    metadata: Any,
    kwargs: Mapping[str, Any],
    capture_metadata: bool,
) -> ChainSpan:
    """The span (or fold) of a chain run.

    Example:
        >>> spec = classify_chain({"id": ["RunnableSequence"]}, {}, 1, None, None, {}, False)
        >>> spec.name, spec.kind.name, spec.folded, spec.attributes["langchain.run.type"]
        ('RunnableSequence', 'INTERNAL', False, 'chain')
    """
    name = run_name(serialized, kwargs, "chain")
    attrs = run_attributes({}, run_id, sc.RUN_TYPE_CHAIN, name, tags, metadata, capture_metadata)
    attrs[sc.OUTCOME] = sc.OUTCOME_OK  # set now, in the one start dict; replaced if not ok
    return ChainSpan(name, SpanKind.INTERNAL, attrs)


def folds_step(kwargs: Mapping[str, Any], keep_all_runs: bool) -> bool:
    """Whether a chain start is a prompt template or output parser run to fold.

    Example:
        >>> folds_step({"run_type": "prompt"}, False), folds_step({"run_type": "prompt"}, True)
        (True, False)
        >>> folds_step({"name": "RunnableSequence"}, False)
        False
    """
    return not keep_all_runs and kwargs.get("run_type") in FOLDED_RUN_TYPES
