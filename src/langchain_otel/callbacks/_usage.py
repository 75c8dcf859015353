"""Token usage of a finished model run: reported usage wins, else counted and flagged."""

from __future__ import annotations

from typing import Any

from langchain_otel.callbacks import _semconv as sc
from langchain_otel.callbacks._attributes import ResponseInfo

__all__ = ["Usage", "estimate_tokens", "input_chars", "resolve_usage"]


class Usage:
    """The tokens of one run, as the span, the metrics and the log event report them."""

    __slots__ = ("estimated", "input_tokens", "output_tokens")

    def __init__(
        self, input_tokens: int | None, output_tokens: int | None, estimated: bool
    ) -> None:
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.estimated = estimated


def estimate_tokens(chars: int) -> int:
    """Counted usage when the model reports none: one token per 4 characters, rounded up.

    Example:
        >>> estimate_tokens(0), estimate_tokens(1), estimate_tokens(8), estimate_tokens(9)
        (0, 1, 2, 3)
    """
    return -(-chars // 4)


def input_chars(items: Any) -> int:
    """Characters of prompts (strings) or chat messages (their text content).

    Example:
        >>> from langchain_core.messages import HumanMessage
        >>> input_chars(["ab", HumanMessage([{"type": "text", "text": "cde"}, "f"])])
        6
    """
    total = 0
    if not isinstance(items, list | tuple):
        return 0
    for item in items:
        if isinstance(item, str):
            total += len(item)
            continue
        content = getattr(item, "content", None)
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            for block in content:
                if isinstance(block, str):
                    total += len(block)
                elif isinstance(block, dict) and isinstance(block.get("text"), str):
                    total += len(block["text"])
    return total


def resolve_usage(info: ResponseInfo, inputs: Any, outcome: str) -> Usage:
    """Reported usage; a run that ended ``ok`` without it gets counted, flagged, usage.

    Example:
        >>> usage = resolve_usage(ResponseInfo(), ["12345"], "ok")
        >>> usage.input_tokens, usage.output_tokens, usage.estimated
        (2, 0, True)
    """
    input_tokens, output_tokens = info.input_tokens, info.output_tokens
    if outcome != sc.OUTCOME_OK or (input_tokens is not None and output_tokens is not None):
        return Usage(input_tokens, output_tokens, False)
    if input_tokens is None:
        input_tokens = estimate_tokens(input_chars(inputs))
    if output_tokens is None:
        output_tokens = estimate_tokens(info.output_text_length())
    return Usage(input_tokens, output_tokens, True)
