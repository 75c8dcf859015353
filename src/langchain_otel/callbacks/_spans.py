"""Span names and attributes of each kind of run, built in one dict per span.

Start attributes go to ``start_span`` in one dict (one validation pass); a model run's
end attributes go to one ``set_attributes`` call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_otel.callbacks import _semconv as sc
from langchain_otel.callbacks._attributes import ResponseInfo
from langchain_otel.callbacks._content import ContentPolicy, clean_text
from langchain_otel.callbacks._usage import Usage

__all__ = [
    "model_end_attributes",
    "retriever_attributes",
    "run_attributes",
    "run_name",
    "tool_attributes",
]


def run_name(serialized: Any, kwargs: Mapping[str, Any], default: str) -> str:
    """The run's name: LangChain's ``name``, else the serialized name or class id.

    Example:
        >>> run_name({"id": ["langchain", "RunnableLambda"]}, {}, "chain")
        'RunnableLambda'
    """
    name = kwargs.get("name")
    if isinstance(name, str) and name:
        return clean_text(name)
    if type(serialized) is dict or isinstance(serialized, Mapping):
        name = serialized.get("name")
        if isinstance(name, str) and name:
            return clean_text(name)
        ids = serialized.get("id")
        if isinstance(ids, list) and ids and isinstance(ids[-1], str):
            return clean_text(ids[-1])
    return default


def run_attributes(  # noqa: PLR0917 - the LangChain context every span carries
    attrs: dict[str, Any],
    run_id: Any,
    run_type: str,
    name: str,
    tags: Any,
    metadata: Any,
    capture_metadata: bool,
) -> dict[str, Any]:
    """Add ``langchain.run.*``, tags, conversation id (and opted-in metadata) to ``attrs``.

    Example:
        >>> attrs = run_attributes({}, 7, "chain", "Seq", ["t"], {"thread_id": "c1"}, False)
        >>> attrs["langchain.tags"], attrs["gen_ai.conversation.id"]
        (['t'], 'c1')
    """
    attrs[sc.LANGCHAIN_RUN_ID] = str(run_id)
    attrs[sc.LANGCHAIN_RUN_TYPE] = run_type
    attrs[sc.LANGCHAIN_RUN_NAME] = name
    if isinstance(tags, list) and tags:
        clean = [clean_text(t) for t in tags if isinstance(t, str)]
        if clean:
            attrs[sc.LANGCHAIN_TAGS] = clean
    if metadata and (type(metadata) is dict or isinstance(metadata, Mapping)):
        conversation = metadata.get("conversation_id") or metadata.get("thread_id")
        if isinstance(conversation, str | int) and not isinstance(conversation, bool):
            attrs[sc.GEN_AI_CONVERSATION_ID] = clean_text(str(conversation))
        if capture_metadata:
            for key, value in metadata.items():
                if not isinstance(key, str) or key.startswith("ls_"):
                    continue
                if isinstance(value, str):
                    attrs[sc.LANGCHAIN_METADATA_PREFIX + clean_text(key)] = clean_text(value)
                elif isinstance(value, bool | int | float):
                    attrs[sc.LANGCHAIN_METADATA_PREFIX + clean_text(key)] = value
    return attrs


def tool_attributes(
    name: str, serialized: Any, tool_input: Any, kwargs: Mapping[str, Any], content: ContentPolicy
) -> dict[str, Any]:
    """``execute_tool`` attributes: name, description, call id; arguments only opted in.

    Example:
        >>> tool_attributes("t", {"description": "d"}, "x", {}, ContentPolicy())
        {'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 't', \
'gen_ai.tool.type': 'function', 'gen_ai.tool.description': 'd'}
    """
    attrs: dict[str, Any] = {
        sc.GEN_AI_OPERATION_NAME: sc.OPERATION_EXECUTE_TOOL,
        sc.GEN_AI_TOOL_NAME: name,
        sc.GEN_AI_TOOL_TYPE: sc.TOOL_TYPE_FUNCTION,
    }
    ser = serialized if isinstance(serialized, Mapping) else {}
    description = ser.get("description")
    if isinstance(description, str) and description:
        attrs[sc.GEN_AI_TOOL_DESCRIPTION] = clean_text(description)
    call_id = kwargs.get("tool_call_id")
    if isinstance(call_id, str) and call_id:
        attrs[sc.GEN_AI_TOOL_CALL_ID] = clean_text(call_id)
    if content.on_spans:
        attrs[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = content.text(tool_input)
    return attrs


def retriever_attributes(query: Any, content: ContentPolicy) -> dict[str, Any]:
    """``retrieval`` attributes; the query only opted in.

    Example:
        >>> retriever_attributes("q", ContentPolicy())
        {'gen_ai.operation.name': 'retrieval'}
    """
    attrs: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OPERATION_RETRIEVAL}
    if content.on_spans:
        attrs[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] = content.text(query)
    return attrs


def model_end_attributes(  # noqa: PLR0917 - one flat dict from each part of the end
    outcome: str,
    ttfc: float | None,
    info: ResponseInfo,
    usage: Usage,
    cost: tuple[float, float] | None,
    output_json: str | None,
    error_type: str | None,
) -> dict[str, Any]:
    """A model run's end attributes: outcome, stream, response, usage, cost, content, error.

    Example:
        >>> from langchain_otel.callbacks._usage import Usage
        >>> model_end_attributes("ok", 0.5, ResponseInfo(), Usage(3, 2, False), None, None, None)
        {'langchain_otel.outcome': 'ok', 'gen_ai.request.stream': True, \
'gen_ai.response.time_to_first_chunk': 0.5, 'gen_ai.usage.input_tokens': 3, \
'gen_ai.usage.output_tokens': 2}
    """
    attrs: dict[str, Any] = {sc.OUTCOME: outcome}
    if ttfc is not None:
        attrs[sc.GEN_AI_REQUEST_STREAM] = True
        attrs[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = ttfc
    if info.response_model:
        attrs[sc.GEN_AI_RESPONSE_MODEL] = info.response_model
    if info.response_id:
        attrs[sc.GEN_AI_RESPONSE_ID] = info.response_id
    if info.finish_reasons:
        attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] = info.finish_reasons
    if usage.input_tokens is not None:
        attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] = usage.input_tokens
    if usage.output_tokens is not None:
        attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] = usage.output_tokens
    if info.cache_read_tokens is not None:
        attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = info.cache_read_tokens
    if info.reasoning_tokens is not None:
        attrs[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = info.reasoning_tokens
    if usage.estimated:
        attrs[sc.USAGE_ESTIMATED] = True
    if cost is not None:  # no cost attributes at all for an unknown price
        attrs[sc.COST_INPUT], attrs[sc.COST_OUTPUT] = cost
        attrs[sc.COST_TOTAL] = cost[0] + cost[1]
    if output_json is not None:
        attrs[sc.GEN_AI_OUTPUT_MESSAGES] = output_json
    if error_type is not None:
        attrs[sc.ERROR_TYPE] = error_type
    return attrs
