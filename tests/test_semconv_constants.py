"""Our constants equal opentelemetry-semantic-conventions' ones, so drift fails CI."""

from __future__ import annotations

import warnings

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as ga
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics as gm
from opentelemetry.semconv.attributes import error_attributes as ea
from opentelemetry.semconv.attributes import server_attributes as sa

from langchain_otel.callbacks import _semconv as sc

# Our name → the package's constant of the same meaning.
SAME_AS = {
    "GEN_AI_OPERATION_NAME": (ga, "GEN_AI_OPERATION_NAME"),
    "GEN_AI_PROVIDER_NAME": (ga, "GEN_AI_PROVIDER_NAME"),
    "GEN_AI_REQUEST_MODEL": (ga, "GEN_AI_REQUEST_MODEL"),
    "GEN_AI_REQUEST_MAX_TOKENS": (ga, "GEN_AI_REQUEST_MAX_TOKENS"),
    "GEN_AI_REQUEST_TEMPERATURE": (ga, "GEN_AI_REQUEST_TEMPERATURE"),
    "GEN_AI_REQUEST_TOP_P": (ga, "GEN_AI_REQUEST_TOP_P"),
    "GEN_AI_REQUEST_TOP_K": (ga, "GEN_AI_REQUEST_TOP_K"),
    "GEN_AI_REQUEST_STOP_SEQUENCES": (ga, "GEN_AI_REQUEST_STOP_SEQUENCES"),
    "GEN_AI_REQUEST_SEED": (ga, "GEN_AI_REQUEST_SEED"),
    "GEN_AI_REQUEST_FREQUENCY_PENALTY": (ga, "GEN_AI_REQUEST_FREQUENCY_PENALTY"),
    "GEN_AI_REQUEST_PRESENCE_PENALTY": (ga, "GEN_AI_REQUEST_PRESENCE_PENALTY"),
    "GEN_AI_REQUEST_CHOICE_COUNT": (ga, "GEN_AI_REQUEST_CHOICE_COUNT"),
    "GEN_AI_REQUEST_STREAM": (ga, "GEN_AI_REQUEST_STREAM"),
    "GEN_AI_RESPONSE_MODEL": (ga, "GEN_AI_RESPONSE_MODEL"),
    "GEN_AI_RESPONSE_ID": (ga, "GEN_AI_RESPONSE_ID"),
    "GEN_AI_RESPONSE_FINISH_REASONS": (ga, "GEN_AI_RESPONSE_FINISH_REASONS"),
    "GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK": (ga, "GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK"),
    "GEN_AI_USAGE_INPUT_TOKENS": (ga, "GEN_AI_USAGE_INPUT_TOKENS"),
    "GEN_AI_USAGE_OUTPUT_TOKENS": (ga, "GEN_AI_USAGE_OUTPUT_TOKENS"),
    "GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS": (ga, "GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS"),
    "GEN_AI_USAGE_REASONING_OUTPUT_TOKENS": (ga, "GEN_AI_USAGE_REASONING_OUTPUT_TOKENS"),
    "GEN_AI_CONVERSATION_ID": (ga, "GEN_AI_CONVERSATION_ID"),
    "GEN_AI_TOKEN_TYPE": (ga, "GEN_AI_TOKEN_TYPE"),
    "GEN_AI_INPUT_MESSAGES": (ga, "GEN_AI_INPUT_MESSAGES"),
    "GEN_AI_OUTPUT_MESSAGES": (ga, "GEN_AI_OUTPUT_MESSAGES"),
    "GEN_AI_SYSTEM_INSTRUCTIONS": (ga, "GEN_AI_SYSTEM_INSTRUCTIONS"),
    "GEN_AI_TOOL_NAME": (ga, "GEN_AI_TOOL_NAME"),
    "GEN_AI_TOOL_DESCRIPTION": (ga, "GEN_AI_TOOL_DESCRIPTION"),
    "GEN_AI_TOOL_CALL_ID": (ga, "GEN_AI_TOOL_CALL_ID"),
    "GEN_AI_TOOL_CALL_ARGUMENTS": (ga, "GEN_AI_TOOL_CALL_ARGUMENTS"),
    "GEN_AI_TOOL_CALL_RESULT": (ga, "GEN_AI_TOOL_CALL_RESULT"),
    "GEN_AI_RETRIEVAL_QUERY_TEXT": (ga, "GEN_AI_RETRIEVAL_QUERY_TEXT"),
    "GEN_AI_TOOL_TYPE": (ga, "GEN_AI_TOOL_TYPE"),
    "GEN_AI_AGENT_NAME": (ga, "GEN_AI_AGENT_NAME"),
    "GEN_AI_AGENT_ID": (ga, "GEN_AI_AGENT_ID"),
    "GEN_AI_WORKFLOW_NAME": (ga, "GEN_AI_WORKFLOW_NAME"),
    "SERVER_ADDRESS": (sa, "SERVER_ADDRESS"),
    "SERVER_PORT": (sa, "SERVER_PORT"),
    "ERROR_TYPE": (ea, "ERROR_TYPE"),
    "METRIC_OPERATION_DURATION": (gm, "GEN_AI_CLIENT_OPERATION_DURATION"),
    "METRIC_TOKEN_USAGE": (gm, "GEN_AI_CLIENT_TOKEN_USAGE"),
    "METRIC_TIME_TO_FIRST_CHUNK": (gm, "GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK"),
    "METRIC_TIME_PER_OUTPUT_CHUNK": (gm, "GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK"),
}

ENUMS = {
    "OPERATION_CHAT": ga.GenAiOperationNameValues.CHAT,
    "OPERATION_TEXT_COMPLETION": ga.GenAiOperationNameValues.TEXT_COMPLETION,
    "OPERATION_EXECUTE_TOOL": ga.GenAiOperationNameValues.EXECUTE_TOOL,
    "OPERATION_RETRIEVAL": ga.GenAiOperationNameValues.RETRIEVAL,
    "OPERATION_INVOKE_AGENT": ga.GenAiOperationNameValues.INVOKE_AGENT,
    "OPERATION_INVOKE_WORKFLOW": ga.GenAiOperationNameValues.INVOKE_WORKFLOW,
    "TOKEN_TYPE_INPUT": ga.GenAiTokenTypeValues.INPUT,
    "TOKEN_TYPE_OUTPUT": ga.GenAiTokenTypeValues.OUTPUT,
}


def test_constants_match_the_semantic_conventions_package() -> None:
    """Each gen_ai/server/error constant equals the package's constant of that meaning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for ours, (module, theirs) in SAME_AS.items():
            assert getattr(sc, ours) == getattr(module, theirs), ours
        for ours, member in ENUMS.items():
            assert getattr(sc, ours) == member.value, ours


def test_every_gen_ai_constant_is_checked() -> None:
    """No gen_ai.* constant of ours escapes the comparison above."""
    ours = {
        name
        for name, value in vars(sc).items()
        if name.isupper()
        and isinstance(value, str)
        and value.startswith(("gen_ai.", "server.", "error."))
    }
    assert ours == set(SAME_AS)


def test_provider_names_are_well_known_or_own() -> None:
    """Mapped provider names are the conventions' well-known values where one exists."""
    known = {member.value for member in ga.GenAiProviderNameValues}
    assert {"openai", "anthropic", "aws.bedrock", "azure.ai.openai", "gcp.vertex_ai"} <= known
    for ls_name, value in sc.PROVIDER_NAMES.items():
        assert value in known or value == ls_name, ls_name


def test_our_names_live_in_our_namespace() -> None:
    """Names the conventions lack are under langchain_otel.* / langchain.*, never gen_ai.*."""
    for name in (
        "OUTCOME",
        "USAGE_ESTIMATED",
        "COST_INPUT",
        "COST_OUTPUT",
        "COST_TOTAL",
        "METRIC_COST",
        "METRIC_AGENT_COST",
        "AGENT_MODEL_CALLS",
        "AGENT_TOOL_CALLS",
        "AGENT_TOOL_ERRORS",
        "AGENT_METADATA_KEY",
    ):
        assert getattr(sc, name).startswith("langchain_otel."), name
    for name in ("LANGCHAIN_RUN_ID", "LANGCHAIN_RUN_TYPE", "LANGCHAIN_RUN_NAME", "LANGCHAIN_TAGS"):
        assert getattr(sc, name).startswith("langchain."), name


def test_buckets_and_metric_attributes_follow_semconv_md() -> None:
    """Bucket advice and the metric attribute allow-list are exactly semconv.md's."""
    durations = (
        0.01,
        0.02,
        0.04,
        0.08,
        0.16,
        0.32,
        0.64,
        1.28,
        2.56,
        5.12,
        10.24,
        20.48,
        40.96,
        81.92,
    )
    assert durations == sc.DURATION_BUCKETS
    assert tuple(4**i for i in range(14)) == sc.TOKEN_BUCKETS
    assert {
        "gen_ai.operation.name",
        "gen_ai.provider.name",
        "gen_ai.request.model",
        "gen_ai.response.model",
        "gen_ai.token.type",
        "server.address",
        "server.port",
        "error.type",
        "langchain_otel.outcome",
        "gen_ai.agent.name",  # agent runs only (issue 13: per-agent panels)
    } == sc.METRIC_ATTRIBUTES


def test_reference_covers_every_attribute_and_metric() -> None:
    """The docs reference table lists every span attribute and metric we emit."""
    names = {a.name for a in sc.ATTRIBUTES}
    for name, value in vars(sc).items():
        if (
            name.isupper()
            and isinstance(value, str)
            and "." in value
            and name.startswith(
                (
                    "GEN_AI_",
                    "SERVER_",
                    "ERROR_",
                    "LANGCHAIN_RUN",
                    "LANGCHAIN_TAGS",
                    "COST_",
                    "OUTCOME",
                    "USAGE_",
                    "LANGGRAPH_",
                    "AGENT_MODEL",
                    "AGENT_TOOL",
                )
            )
        ):
            if name == "GEN_AI_TOKEN_TYPE":
                continue  # metric-only
            assert value in names, name
    assert {m.name for m in sc.METRICS} == {
        sc.METRIC_OPERATION_DURATION,
        sc.METRIC_TOKEN_USAGE,
        sc.METRIC_TIME_TO_FIRST_CHUNK,
        sc.METRIC_TIME_PER_OUTPUT_CHUNK,
        sc.METRIC_AGENT_COST,
        sc.METRIC_COST,
    }
    assert "| `gen_ai.client.operation.duration` | histogram | `s` |" in sc.reference_markdown()
