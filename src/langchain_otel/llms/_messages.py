"""LangChain messages as text, shared by the chat models.

Example:
    >>> from langchain_core.messages import HumanMessage
    >>> message_text(HumanMessage([{"type": "text", "text": "hi "}, "there"]))
    'hi there'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata

__all__ = ["LAST_CHUNK", "message_text", "usage_metadata"]

LAST_CHUNK: dict[str, Any] = (
    {"chunk_position": "last"} if "chunk_position" in AIMessageChunk.model_fields else {}
)
"""What marks a stream's last ``AIMessageChunk`` (langchain-core >= 1.0), so LangChain
parses its tool calls and adds no empty chunk of its own after it."""


def usage_metadata(input_tokens: int, output_tokens: int, **details: Any) -> UsageMetadata:
    """LangChain's ``UsageMetadata``; ``details`` adds ``input/output_token_details``.

    Example:
        >>> usage_metadata(3, 2)
        {'input_tokens': 3, 'output_tokens': 2, 'total_tokens': 5}
    """
    usage = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        **{key: value for key, value in details.items() if value},
    }
    # NotRequired keys read as required by mypy for Python 3.10: hence the cast.
    return cast("UsageMetadata", usage)


def message_text(message: BaseMessage) -> str:
    """The text of a message: its string content, or its text parts joined (images skipped).

    Works the same on every supported langchain-core (``BaseMessage.text`` changed from a
    method to a property).
    """
    content = message.content
    if isinstance(content, str):
        return content
    parts = []
    for part in content:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, Mapping) and part.get("type") == "text":
            text = part.get("text")
            parts.append(text if isinstance(text, str) else "")
    return "".join(parts)
