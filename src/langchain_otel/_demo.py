"""The demo workload: a prompt | EchoLLM | parser chain run every way LangChain offers."""

from __future__ import annotations

import asyncio
from typing import Any, TextIO

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import PromptTemplate
from langchain_core.runnables import Runnable

from langchain_otel.llms import EchoLLM

__all__ = ["build_chain", "run_demo"]


def build_chain(llm: EchoLLM | None = None) -> Runnable[dict[str, Any], str]:
    """``prompt | EchoLLM | StrOutputParser``: the chain the demo and the docs use."""
    prompt = PromptTemplate.from_template("Answer briefly: {question}")
    return prompt | (llm or EchoLLM(n=40)) | StrOutputParser()


async def _run_async(chain: Runnable[dict[str, Any], str], out: TextIO) -> None:
    question = {"question": "what does an echo say?"}
    print(f"ainvoke  -> {await chain.ainvoke(question)!r}", file=out)
    chunks = [chunk async for chunk in chain.astream(question)]
    print(f"astream  -> {len(chunks)} chunks: {''.join(chunks)!r}", file=out)


def run_demo(out: TextIO) -> int:
    """Run the chain with invoke, batch, stream, ainvoke and astream; print each result."""
    chain = build_chain()
    question = {"question": "what does an echo say?"}
    print(f"invoke   -> {chain.invoke(question)!r}", file=out)
    answers = chain.batch([{"question": "woof woof woof"}, {"question": "meow meow meow"}])
    print(f"batch    -> {answers!r}", file=out)
    chunks = list(chain.stream(question))
    print(f"stream   -> {len(chunks)} chunks: {''.join(chunks)!r}", file=out)
    asyncio.run(_run_async(chain, out))
    return 0
