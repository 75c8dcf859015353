"""Custom LangChain LLMs with native async paths.

Example:
    >>> from langchain_otel.llms import EchoLLM
    >>> EchoLLM(n=3).invoke("hello")
    'hel'
"""

from __future__ import annotations

from langchain_otel.llms.echo import EchoLLM

__all__ = ["EchoLLM"]
