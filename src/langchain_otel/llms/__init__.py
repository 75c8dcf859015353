"""Custom LangChain LLMs with native async paths.

Example:
    >>> from langchain_otel.llms import EchoLLM
    >>> EchoLLM(n=3).invoke("hello")
    'hel'
"""

from __future__ import annotations

from langchain_otel.llms.echo import EchoLLM
from langchain_otel.llms.echo_chat import EchoChatModel
from langchain_otel.llms.openai_chat import OpenAICompatibleChatModel
from langchain_otel.llms.openai_compat import OpenAICompatibleLLM

__all__ = ["EchoChatModel", "EchoLLM", "OpenAICompatibleChatModel", "OpenAICompatibleLLM"]
