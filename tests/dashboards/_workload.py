"""An instrumented LangChain workload kept running in a background thread.

EchoLLM chains (`prompt | EchoLLM | parser`) on two models, through the real handler: plain
calls, streams, failures (before the first chunk and mid-stream), streams closed early,
streams left open (abandoned) and tasks cancelled mid-call; and two `create_agent` agents on
EchoChatModel with tools, one of whose tools fails (the agents row). It loops until stopped, so a
scraping Prometheus keeps seeing fresh samples of every series while the dashboards' queries
are evaluated.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

from langchain.agents import create_agent
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import PromptTemplate
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import ToolException, tool

from langchain_otel.llms import EchoChatModel, EchoLLM

MODELS = ("echo-small", "echo-large")
AGENTS = ("forecaster", "clerk")


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@tool
def file_report(city: str) -> str:
    """A tool whose failure becomes a ToolMessage with status="error"."""
    raise ToolException(f"no report desk in {city}")


file_report.handle_tool_error = True


def _agent(name: str, tool_: Any, model: str) -> Runnable[Any, Any]:
    calls = [[{"name": tool_.name, "args": {"city": "Paris"}}]]
    chat = EchoChatModel(n=12, model_name=model, tool_calls=calls, time_per_token=0.001)
    return create_agent(chat, [tool_], name=name)


class WorkloadError(RuntimeError):
    """The failure the workload injects (its error.type is this class's qualified name)."""


def _chain(llm: EchoLLM) -> Runnable[dict[str, Any], str]:
    prompt = PromptTemplate.from_template("Answer briefly: {question}")
    return prompt | llm | StrOutputParser()


class Workload:
    """Run the chains in a loop on a private event loop thread until `stop()`."""

    def __init__(self, callbacks: Sequence[BaseCallbackHandler]) -> None:
        self.config: RunnableConfig = {"callbacks": list(callbacks)}
        self.outcomes: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="workload", daemon=True)
        self._error: BaseException | None = None
        self._abandoned: list[Any] = []

    def __enter__(self) -> Workload:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the loop and wait for the thread; re-raise anything unexpected it hit."""
        self._stop.set()
        self._thread.join(30)
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            asyncio.run(self._loop())
        except BaseException as exc:
            self._error = exc

    async def _loop(self) -> None:
        while not self._stop.is_set():
            await self.run_round()
            await asyncio.sleep(0.05)

    async def run_round(self) -> None:
        """One round: every kind of run, on every model (for callers without the thread)."""
        for index, model in enumerate(MODELS):
            await self._round(model, slow=index)
        question = {"messages": [("user", "Weather in Paris?")]}
        for name, tool_, model in zip(AGENTS, (get_weather, file_report), MODELS, strict=True):
            await _agent(name, tool_, model).ainvoke(question, self.config)

    async def _round(self, model: str, *, slow: int) -> None:
        question = {"question": f"what does {model} say about dashboards?"}
        tpt = 0.002 * (1 + slow)
        fast = EchoLLM(
            n=24, model_name=model, time_to_first_token=0.01 * (1 + slow), time_per_token=tpt
        )
        # A plain call and a full stream: outcome ok, the stream gives TTFT and chunk times.
        await _chain(fast).ainvoke(question, self.config)
        self.outcomes["ok"] += 1
        async for _ in _chain(fast).astream(question, self.config):
            pass
        self.outcomes["ok"] += 1
        # A failure before the first chunk, and one mid-stream.
        failing = EchoLLM(n=24, model_name=model, fail_with=WorkloadError("injected"))
        with contextlib.suppress(WorkloadError):
            await _chain(failing).ainvoke(question, self.config)
        self.outcomes["error"] += 1
        broken = EchoLLM(
            n=24,
            model_name=model,
            error_on_chunk=3,
            fail_with=WorkloadError("injected mid-stream"),
            time_per_token=tpt,
        )
        with contextlib.suppress(WorkloadError):
            async for _ in _chain(broken).astream(question, self.config):
                pass
        self.outcomes["error"] += 1
        # A consumer that stops reading after two chunks and closes the stream.
        stream = _chain(fast).astream(question, self.config)
        async for index, _ in _aenumerate(stream):
            if index == 1:
                break
        await stream.aclose()  # type: ignore[attr-defined]
        self.outcomes["cancelled"] += 1
        # A stream read once and then left open (kept referenced, never closed): its end
        # never comes, so the handler's TTL sweep ends it as abandoned (given a short run_ttl).
        abandoned = _chain(fast).astream(question, self.config)
        await anext(abandoned)
        self._abandoned.append(abandoned)
        self.outcomes["abandoned"] += 1
        # A task cancelled in the middle of a slow call.
        slow_llm = EchoLLM(n=24, model_name=model, time_to_first_token=0.5)
        task = asyncio.create_task(_chain(slow_llm).ainvoke(question, self.config))
        await asyncio.sleep(0.02)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self.outcomes["cancelled"] += 1


async def _aenumerate(iterable: Any) -> Any:
    index = 0
    async for item in iterable:
        yield index, item
        index += 1
