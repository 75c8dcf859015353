"""The tool and retriever callbacks of ``OTelCallbackHandler``, handing over to the run core.

A mixin of the handler (``callbacks/handler.py`` has the model and chain callbacks): each
callback is a ``try`` around one call into :class:`~langchain_otel.callbacks._core.RunCore`,
so telemetry never raises into the app. Every keyword LangChain passes is named in the
signature (see ``handler._pack``).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from langchain_otel.callbacks import _semconv as sc
from langchain_otel.callbacks._agents import tool_message_failed
from langchain_otel.callbacks._core import RunCore

__all__ = ["StepCallbacks"]


class StepCallbacks(RunCore):
    """Tools (``execute_tool`` INTERNAL spans) and retrievers (``retrieval`` CLIENT spans).

    Example:
        >>> from langchain_otel import OTelCallbackHandler
        >>> issubclass(OTelCallbackHandler, StepCallbacks)
        True
    """

    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        name: str | None = None,
        color: Any = None,
        tool_call_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        """A tool starts: an ``execute_tool`` INTERNAL span."""
        try:
            if name is not None:
                kwargs["name"] = name
            if tool_call_id is not None:
                kwargs["tool_call_id"] = tool_call_id
            tool_input = inputs if inputs is not None else input_str
            self._start_step(
                sc.RUN_TYPE_TOOL, serialized, tool_input,
                run_id, parent_run_id, tags, metadata, kwargs,
            )  # fmt: skip
        except Exception as exc:  # telemetry never raises into the app
            self._internal_error("on_tool_start", exc)

    def on_tool_end(
        self,
        output: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        name: str | None = None,
        color: Any = None,
        **kwargs: Any,
    ) -> None:
        """A tool ends (its result is recorded only with content capture on)."""
        try:
            result = None
            if self._content.on_spans:
                result = {
                    sc.GEN_AI_TOOL_CALL_RESULT: self._content.text(
                        getattr(output, "content", output)
                    )
                }
            failed = sc.ERROR_TYPE_TOOL_ERROR if tool_message_failed(output) else None
            self._ended(run_id, None, "on_tool_end", result, failed)
        except Exception as exc:  # telemetry never raises into the app
            self._internal_error("on_tool_end", exc)

    def on_tool_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        tool_call_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        """A tool fails or is cancelled."""
        try:
            self._ended(run_id, error, "on_tool_error")
        except Exception as exc:  # telemetry never raises into the app
            self._internal_error("on_tool_error", exc)

    def on_retriever_start(
        self,
        serialized: dict[str, Any],
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        """A retriever starts: a ``retrieval`` CLIENT span."""
        try:
            if name is not None:
                kwargs["name"] = name
            self._start_step(
                sc.RUN_TYPE_RETRIEVER, serialized, query,
                run_id, parent_run_id, tags, metadata, kwargs,
            )  # fmt: skip
        except Exception as exc:  # telemetry never raises into the app
            self._internal_error("on_retriever_start", exc)

    def on_retriever_end(
        self,
        documents: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """A retriever ends."""
        try:
            self._ended(run_id, None, "on_retriever_end")
        except Exception as exc:  # telemetry never raises into the app
            self._internal_error("on_retriever_end", exc)

    def on_retriever_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """A retriever fails or is cancelled."""
        try:
            self._ended(run_id, error, "on_retriever_error")
        except Exception as exc:  # telemetry never raises into the app
            self._internal_error("on_retriever_error", exc)
