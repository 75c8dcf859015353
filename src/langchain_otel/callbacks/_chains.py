"""How a chain run is told: its span name, kind and attributes, or *folded* (no span).

One place decides what a chain run (a runnable, a graph, a graph node) becomes, so the
agents and the service-performance work can extend it without touching the run core:

- a kept run gets an INTERNAL span named after the run (``RunnableSequence``, ...);
- a folded run is registered without a span of its own: its children are parented to
  the span of its nearest kept ancestor (or to the caller's current span).

Nothing is folded today: every chain run is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.trace import SpanKind

from langchain_otel.callbacks import _semconv as sc
from langchain_otel.callbacks._spans import run_attributes, run_name

__all__ = ["ChainSpan", "classify_chain"]


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
