"""The demo's workload: plans, the chains (text and chat models) and the concurrent runner.

``run_workload`` runs ``N`` requests under a semaphore of ``C``: half ``ainvoke``, half
``astream``, on three simulated models with realistic, jittered latency: ``echo-small`` and
``echo-large`` behind ``prompt | EchoLLM | parser``, and ``echo-chat`` behind
``chat prompt | EchoChatModel | parser``; plus a few failures (``fail_with``,
``error_on_chunk``) and cancelled requests (a consumer that stops early, a deadline). Each
request runs in a ``demo.request`` span and logs with structlog. It tallies what the client
saw in a :class:`DemoResult`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, PromptTemplate
from langchain_core.runnables import Runnable, RunnableConfig

from langchain_otel._demo_agent import build_agent, usage_of
from langchain_otel.llms import EchoChatModel, EchoLLM

__all__ = [
    "DEMO_MODELS",
    "DemoModel",
    "DemoResult",
    "build_chain",
    "build_chat_chain",
    "plan_is_agent",
    "run_workload",
]

_PROMPT = "Answer briefly: {question}"
_QUESTIONS = (
    "why do distributed traces need a parent span id?",
    "what does time to first token measure in a streaming completion?",
    "how should a service count cancelled requests?",
    "which histogram buckets suit LLM latency between ten milliseconds and a minute?",
    "what is the difference between input tokens and output tokens for billing?",
    "when should telemetry be dropped rather than block the application?",
)


@dataclass(frozen=True)
class DemoModel:
    """A simulated model: echo length, latency profile and price (USD per million tokens)."""

    name: str
    n: int
    time_to_first_token: float
    time_per_token: float
    input_per_million: float
    output_per_million: float
    chat: bool = False
    """A chat model (``EchoChatModel`` behind a chat prompt) rather than a text one."""


DEMO_MODELS = (
    DemoModel("echo-small", 60, 0.040, 0.003, 0.15, 0.60),
    DemoModel("echo-large", 140, 0.120, 0.006, 2.50, 10.00),
    DemoModel("echo-chat", 90, 0.070, 0.004, 0.50, 1.50, chat=True),
)
"""The demo's models; their prices go to the handler's price table."""

_CHAT_PROMPT = ChatPromptTemplate.from_messages(
    [("system", "You are a terse assistant."), ("human", _PROMPT)]
)


def build_chain(llm: EchoLLM | None = None) -> Runnable[dict[str, Any], str]:
    """``prompt | EchoLLM | StrOutputParser``: the chain the demo and the docs use.

    Example:
        >>> build_chain(EchoLLM(n=6)).invoke({"question": "hi"})
        'Answer'
    """
    prompt = PromptTemplate.from_template(_PROMPT)
    return prompt | (llm or EchoLLM(n=40)) | StrOutputParser()


def build_chat_chain(model: EchoChatModel | None = None) -> Runnable[dict[str, Any], str]:
    """``chat prompt (system + human) | EchoChatModel | StrOutputParser``: the chat traffic.

    Example:
        >>> build_chat_chain(EchoChatModel(n=6)).invoke({"question": "hi"})
        'Answer'
    """
    return _CHAT_PROMPT | (model or EchoChatModel(n=40)) | StrOutputParser()


def _prompt_tokens(model: DemoModel, question: str) -> int:
    """What the echo models count as input: one token per character of the prompt's text."""
    if model.chat:
        return sum(len(str(m.content)) for m in _CHAT_PROMPT.format_messages(question=question))
    return len(_PROMPT.format(question=question))


@dataclass
class DemoResult:
    """What the workload did, measured on the client side."""

    requests: int = 0
    ok: int = 0
    errors: int = 0
    cancelled: int = 0
    latencies: list[float] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    elapsed_s: float = 0.0
    model_calls: int = 0
    """Model calls the client made: one per chain request, an agent's per its messages."""
    agent_requests: int = 0
    unreported: int = 0
    """Requests the client counted tokens for whose model reported none (cut short)."""


@dataclass(frozen=True)
class _Plan:
    index: int
    model: DemoModel
    stream: bool
    failure: str | None  # None, "fail", "chunk"
    cancel: str | None  # None, "break", "deadline"
    question: str
    jitter: float
    agent: bool = False


def _pick(index: int, draw: float) -> DemoModel:
    """Every third request goes to the chat model; the rest 70/30 to echo-small/echo-large."""
    if index % 3 == 0:
        return DEMO_MODELS[2]
    return DEMO_MODELS[0] if draw < 0.7 else DEMO_MODELS[1]


def plan_is_agent(index: int) -> bool:
    """Every sixth request (4, 10, 16, ...; even, so not streamed) asks the agent."""
    return index % 6 == 4


def _plans(requests: int, seed: int) -> list[_Plan]:
    rng = random.Random(seed)
    plans = []
    for index in range(requests):
        model = _pick(index, rng.random())
        agent = plan_is_agent(index)
        stream = index % 2 == 1
        failure = "fail" if index % 13 == 5 else ("chunk" if index % 17 == 9 else None)
        if agent:
            model, failure = DEMO_MODELS[2], None if failure == "chunk" else failure
        cancel = None
        if failure is None and stream and index % 11 == 3:
            cancel = "break"
        elif failure is None and not stream and index % 19 == 14:
            cancel = "deadline"
        plans.append(
            _Plan(
                index=index,
                model=model,
                stream=stream or failure == "chunk" or cancel == "break",
                failure=failure,
                cancel=cancel,
                question=rng.choice(_QUESTIONS),
                jitter=rng.lognormvariate(0.0, 0.35),
                agent=agent,
            )
        )
    return plans


def _knobs(plan: _Plan) -> dict[str, Any]:
    """The echo model's arguments: the plan's latency and failure knobs."""
    model = plan.model
    knobs: dict[str, Any] = {
        "n": model.n,
        "model_name": model.name,
        "time_to_first_token": model.time_to_first_token * plan.jitter,
        "time_per_token": model.time_per_token * plan.jitter,
    }
    if plan.failure == "fail":
        knobs["fail_with"] = ConnectionError(f"{model.name}: simulated upstream 503")
    elif plan.failure == "chunk":
        knobs["error_on_chunk"] = 12
        knobs["fail_with"] = RuntimeError(f"{model.name}: stream reset by peer")
    return knobs


@dataclass
class _Seen:
    """What the client saw of one request."""

    outcome: str = "ok"
    received: int = 0
    model_calls: int = 1
    usage: tuple[int, int] | None = None
    """Tokens the answer reported (an agent's messages), else the client counts them."""


async def _run_chain(plan: _Plan, config: RunnableConfig, seen: _Seen) -> None:
    knobs = _knobs(plan)
    chain = (
        build_chat_chain(EchoChatModel(**knobs))
        if plan.model.chat
        else build_chain(EchoLLM(**knobs))
    )
    if plan.stream:
        stream = chain.astream({"question": plan.question}, config=config)
        try:
            async for chunk in stream:
                seen.received += len(chunk)
                if plan.cancel == "break" and seen.received >= 8:
                    seen.outcome = "cancelled"
                    break
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
        return
    coroutine = chain.ainvoke({"question": plan.question}, config=config)
    if plan.cancel == "deadline":
        # Half-way through the model's answer: the model run is cancelled.
        model = plan.model
        answer_time = model.time_to_first_token + model.time_per_token * model.n
        answer = await asyncio.wait_for(coroutine, timeout=0.02 + answer_time * plan.jitter / 2)
    else:
        answer = await coroutine
    seen.received = len(answer)


async def _run_agent(
    agent: Runnable[Any, Any], plan: _Plan, config: RunnableConfig, seen: _Seen
) -> None:
    question = {"messages": [("user", _PROMPT.format(question=plan.question))]}
    answer = await agent.ainvoke(question, config=config)
    seen.model_calls, input_tokens, output_tokens = usage_of(answer)
    seen.usage = (input_tokens, output_tokens)
    seen.received = len(str(answer["messages"][-1].content))


async def _one(
    plan: _Plan,
    config: RunnableConfig,
    tracer: Any,
    result: DemoResult,
) -> None:
    log = structlog.get_logger("langchain_otel.demo")
    agent = build_agent(**_knobs(plan)) if plan.agent else None
    seen = _Seen()
    started = time.perf_counter()
    with tracer.start_as_current_span(
        "demo.request",
        attributes={"demo.request.index": plan.index, "demo.request.stream": plan.stream},
    ):
        try:
            if agent is not None:
                await _run_agent(agent, plan, config, seen)
            else:
                await _run_chain(plan, config, seen)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            seen.outcome = "cancelled"
        except Exception as exc:
            seen.outcome = "error"
            log.error("request.failed", request=plan.index, model=plan.model.name, error=repr(exc))
        latency = time.perf_counter() - started
        if seen.outcome == "ok":
            log.info("request.done", request=plan.index, model=plan.model.name, chars=seen.received)
        elif seen.outcome == "cancelled":
            log.warning("request.cancelled", request=plan.index, model=plan.model.name)
    _tally(result, plan, seen, latency, agent is not None)


def _tally(result: DemoResult, plan: _Plan, seen: _Seen, latency: float, agent: bool) -> None:
    result.requests += 1
    result.agent_requests += agent
    result.latencies.append(latency)
    result.ok += seen.outcome == "ok"
    result.errors += seen.outcome == "error"
    result.cancelled += seen.outcome == "cancelled"
    result.model_calls += seen.model_calls
    if plan.failure == "fail":
        return  # refused before any token: nothing to count
    result.unreported += seen.outcome != "ok"
    tokens_in, tokens_out = seen.usage or (
        _prompt_tokens(plan.model, plan.question),
        seen.received,
    )
    result.input_tokens += tokens_in
    result.output_tokens += tokens_out
    model = plan.model
    result.cost_usd += (
        tokens_in * model.input_per_million + tokens_out * model.output_per_million
    ) / 1e6


async def run_workload(
    *,
    requests: int,
    concurrency: int,
    tracer: Any,
    callbacks: Sequence[Any] = (),
    progress: Callable[[int, int], None] | None = None,
    seed: int = 7,
) -> DemoResult:
    """Run ``requests`` requests with at most ``concurrency`` in flight; return the tally.

    Example:
        >>> import asyncio
        >>> from opentelemetry.trace import NoOpTracer
        >>> from structlog.testing import capture_logs
        >>> with capture_logs() as logs:
        ...     result = asyncio.run(run_workload(requests=4, concurrency=2, tracer=NoOpTracer()))
        >>> result.requests, result.ok + result.errors + result.cancelled
        (4, 4)
        >>> sorted({log["event"] for log in logs})
        ['request.cancelled', 'request.done']
    """
    plans = _plans(requests, seed)
    semaphore = asyncio.Semaphore(concurrency)
    result = DemoResult()
    config: RunnableConfig = {"callbacks": list(callbacks), "tags": ["demo"]}
    done = 0
    started = time.perf_counter()

    async def guarded(plan: _Plan) -> None:
        nonlocal done
        async with semaphore:
            await _one(plan, config, tracer, result)
        done += 1
        if progress is not None:
            progress(done, requests)

    await asyncio.gather(*(guarded(plan) for plan in plans))
    result.elapsed_s = time.perf_counter() - started
    return result
