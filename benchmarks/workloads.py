"""W1-W11: the LangChain workloads every candidate runs, and the goal for each.

A workload is a unit of work (one ``invoke``, one ``astream`` of 256 tokens, one
``batch`` of 16, ...) run ``reps`` times in one timed block. Concurrent workloads run
``concurrency`` units at once with ``asyncio.gather``; their *op* is one of those units,
so time per op is the block's time divided by ``reps * concurrency``. W11 is the service
chain of issue 18's benchmark (``prompt | EchoLLM(n=40) | parser``, awaited, without the
service's simulated latency): the same runs per request, in-process, so its floor is the
floor of the service's "exporters off" goal. Each round runs a
block ``repeats`` times back to back and keeps the fastest, which drops the moments when
another process had the CPU.

The text model is our reference ``EchoLLM`` (one character per token); the chat model is
langchain_core's ``GenericFakeChatModel`` (given a ``model_name``, as real chat models
have), which streams word by word (``"w "`` repeated
128 times gives 256 content chunks). Both run with no simulated latency, so what is
measured is LangChain plus the instrumentation, nothing else.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CHAT_TEXT",
    "PROMPT",
    "SERVICE_QUESTION",
    "STREAM_TOKENS",
    "WORKLOADS",
    "Models",
    "Workload",
    "build_models",
]

STREAM_TOKENS = 256
"""Tokens per streamed answer, for both models."""

PROMPT = "Tell me about observability. " * 11
"""The text prompt: 319 characters, so ``EchoLLM(n=256)`` answers 256 tokens."""

CHAT_TEXT = "w " * (STREAM_TOKENS // 2)
"""The chat model's answer: 256 whitespace-split chunks."""

SERVICE_QUESTION = {"question": "What does this service measure, and how fast?"}
"""W11's request: the service benchmark's (``QUESTION`` in ``benchmarks/service/app.py``)."""

Config = dict[str, Any] | None


@dataclass(frozen=True)
class Models:
    """The runnables the workloads call, built once per worker process."""

    llm: Any
    llm_chain: Any
    chat: Any
    chat_chain: Any
    service_chain: Any


def build_models() -> Models:
    """EchoLLM, GenericFakeChatModel and a prompt | model chain of each.

    Example:
        >>> models = build_models()
        >>> len(models.llm.invoke(PROMPT))
        256
    """
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate, PromptTemplate

    from langchain_otel.llms import EchoLLM

    class NamedFakeChatModel(GenericFakeChatModel):
        """GenericFakeChatModel with a model name, as every real chat model has.

        The official OTel instrumentation skips models without one.
        """

        model_name: str = "fake-chat"

        @property
        def _identifying_params(self) -> dict[str, Any]:
            return {"model_name": self.model_name}

    llm = EchoLLM(n=STREAM_TOKENS)
    chat = NamedFakeChatModel(messages=itertools.cycle([AIMessage(content=CHAT_TEXT)]))
    return Models(
        llm=llm,
        llm_chain=PromptTemplate.from_template("{question}") | llm,
        chat=chat,
        chat_chain=ChatPromptTemplate.from_messages([("human", "{question}")]) | chat,
        service_chain=(
            PromptTemplate.from_template("Answer briefly: {question}")
            | EchoLLM(n=40)
            | StrOutputParser()
        ),
    )


@dataclass(frozen=True)
class Workload:
    """One row of the benchmark table.

    Attributes:
        id: ``W1`` ... ``W11``.
        title: What one op is, as the issue's table names it.
        model: ``"llm"`` (text completion) or ``"chat"``.
        is_async: Whether the unit is a coroutine (run on the worker's event loop).
        concurrency: Units run at once per rep (1 = sequential).
        tokens: Tokens streamed per op (0 for non-streamed workloads).
        goal_ratio: The issue's goal, time per op as a ratio to bare (issue 6's; for W11,
            issue 18's "exporters off ≥ 80% of bare throughput", 1 / 0.8).
        goal_us_per_token: Extra µs per streamed token allowed, if the goal has one.
        reps_full: Reps per timed block in a full run (a block is ~20-40 ms bare, except
            the 50 concurrent streams, whose single rep is longer).
    """

    id: str
    title: str
    model: str
    is_async: bool
    concurrency: int
    tokens: int
    goal_ratio: float
    goal_us_per_token: float | None
    reps_full: int

    def reps(self, *, quick: bool) -> int:
        """Reps per timed block: an eighth of the full size in ``--quick`` mode."""
        return max(1, self.reps_full // 8) if quick else self.reps_full

    def repeats(self, *, quick: bool) -> int:
        """Blocks per round (the fastest counts): 3, or 1 for long blocks and ``--quick``."""
        return 1 if quick or self.concurrency >= 50 else 3

    def concurrency_in(self, *, quick: bool) -> int:
        """Units at once: at most 10 in ``--quick`` mode (a smoke run, not a measure)."""
        return min(self.concurrency, 10) if quick else self.concurrency


WORKLOADS: dict[str, Workload] = {
    w.id: w
    for w in (
        Workload("W1", "EchoLLM.invoke", "llm", False, 1, 0, 1.7, None, 240),
        Workload("W2", "(prompt | llm).invoke", "llm", False, 1, 0, 1.5, None, 80),
        Workload("W3", "100 concurrent ainvoke", "llm", True, 100, 0, 1.15, None, 1),
        Workload("W4", "astream 256 tokens", "llm", True, 1, STREAM_TOKENS, 1.6, 4.5, 12),
        Workload("W5", "50 concurrent astream", "llm", True, 50, STREAM_TOKENS, 1.7, None, 1),
        Workload("W6", "batch of 16", "llm", False, 1, 0, 2.2, None, 32),
        Workload("W7", "chat invoke", "chat", False, 1, 0, 1.7, None, 100),
        Workload("W8", "(prompt | chat).invoke", "chat", False, 1, 0, 1.5, None, 40),
        Workload("W9", "chat astream 256 tokens", "chat", True, 1, STREAM_TOKENS, 1.25, None, 3),
        Workload(
            "W10", "50 concurrent chat astream", "chat", True, 50, STREAM_TOKENS, 1.15, None, 1
        ),
        Workload(
            "W11",
            "service chain (prompt | llm | parser).ainvoke",
            "llm",
            True,
            1,
            0,
            1.25,
            None,
            80,
        ),
    )
}
"""Every workload, keyed by id, with the goals of issue 6."""


def _stream_llm(models: Models, config: Config) -> Callable[[], Awaitable[int]]:
    async def unit() -> int:
        count = 0
        async for _ in models.llm.astream(PROMPT, config=config):
            count += 1
        return count

    return unit


def _stream_chat(models: Models, config: Config) -> Callable[[], Awaitable[int]]:
    async def unit() -> int:
        count = 0
        async for _ in models.chat.astream(PROMPT, config=config):
            count += 1
        return count

    return unit


def sync_unit(workload: Workload, models: Models, config: Config) -> Callable[[], object]:
    """The callable one sync op of ``workload`` runs."""
    question = {"question": PROMPT}
    batch = [PROMPT] * 16
    units: dict[str, Callable[[], object]] = {
        "W1": lambda: models.llm.invoke(PROMPT, config=config),
        "W2": lambda: models.llm_chain.invoke(question, config=config),
        "W6": lambda: models.llm.batch(batch, config=config),
        "W7": lambda: models.chat.invoke(PROMPT, config=config),
        "W8": lambda: models.chat_chain.invoke(question, config=config),
    }
    return units[workload.id]


def async_unit(workload: Workload, models: Models, config: Config) -> Callable[[], Awaitable[Any]]:
    """The coroutine function one async op of ``workload`` runs."""
    if workload.id in ("W3",):
        return lambda: models.llm.ainvoke(PROMPT, config=config)
    if workload.id == "W11":
        return lambda: models.service_chain.ainvoke(SERVICE_QUESTION, config=config)
    if workload.id in ("W4", "W5"):
        return _stream_llm(models, config)
    return _stream_chat(models, config)


def run_block(
    workload: Workload,
    models: Models,
    config: Config,
    reps: int,
    *,
    concurrency: int,
    loop: asyncio.AbstractEventLoop,
    clock: Callable[[], int],
) -> int:
    """Run one timed block of ``reps`` reps; returns elapsed nanoseconds."""
    if not workload.is_async:
        unit = sync_unit(workload, models, config)
        start = clock()
        for _ in range(reps):
            unit()
        return clock() - start

    coro_unit = async_unit(workload, models, config)

    async def block() -> int:
        start = clock()
        if concurrency == 1:
            for _ in range(reps):
                await coro_unit()
        else:
            for _ in range(reps):
                await asyncio.gather(*(coro_unit() for _ in range(concurrency)))
        return clock() - start

    return loop.run_until_complete(block())
