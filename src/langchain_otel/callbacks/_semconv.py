"""Every telemetry name langchain-otel emits: the one constants module.

Span attributes, metric names, units, bucket boundaries, enum values and log keys all
live here; no other module types an attribute string. ``tests/test_semconv_constants.py``
compares each ``gen_ai.*`` / ``server.*`` / ``error.*`` constant with the one of the same
meaning in ``opentelemetry-semantic-conventions``, so drift fails CI. Names the
conventions do not have live under ``langchain_otel.*`` / ``langchain.*``.

``ATTRIBUTES`` and ``METRICS`` describe every span attribute and metric (type, unit,
description) so the reference page of the docs can be generated from them
(:func:`reference_markdown`).
"""

from __future__ import annotations

from typing import Final, NamedTuple

# -- gen_ai.* span attributes (OpenTelemetry GenAI semantic conventions) ----------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K: Final = "gen_ai.request.top_k"
GEN_AI_REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_SEED: Final = "gen_ai.request.seed"
GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
GEN_AI_RETRIEVAL_QUERY_TEXT: Final = "gen_ai.retrieval.query.text"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_AGENT_ID: Final = "gen_ai.agent.id"
GEN_AI_WORKFLOW_NAME: Final = "gen_ai.workflow.name"

# -- server.* / error.* / exception.* (stable general conventions) --------------------
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
ERROR_TYPE: Final = "error.type"
EXCEPTION_EVENT: Final = "exception"
EXCEPTION_TYPE: Final = "exception.type"
EXCEPTION_MESSAGE: Final = "exception.message"
EXCEPTION_STACKTRACE: Final = "exception.stacktrace"

# -- ours: LangChain context, outcome, cost ----------------------------------------------
LANGCHAIN_RUN_ID: Final = "langchain.run.id"
LANGCHAIN_RUN_TYPE: Final = "langchain.run.type"
LANGCHAIN_RUN_NAME: Final = "langchain.run.name"
LANGCHAIN_TAGS: Final = "langchain.tags"
LANGCHAIN_METADATA_PREFIX: Final = "langchain.metadata."
OUTCOME: Final = "langchain_otel.outcome"
USAGE_ESTIMATED: Final = "langchain_otel.usage.estimated"
COST_INPUT: Final = "langchain_otel.cost.input"
COST_OUTPUT: Final = "langchain_otel.cost.output"
COST_TOTAL: Final = "langchain_otel.cost.total"

# -- ours: agents and LangGraph ---------------------------------------------------------
LANGGRAPH_NODE: Final = "langgraph.node"
LANGGRAPH_STEP: Final = "langgraph.step"
AGENT_MODEL_CALLS: Final = "langchain_otel.agent.model_calls"
AGENT_TOOL_CALLS: Final = "langchain_otel.agent.tool_calls"
AGENT_TOOL_ERRORS: Final = "langchain_otel.agent.tool_errors"
#: Run metadata key that names a run as an agent (a name, True, or False to opt out).
AGENT_METADATA_KEY: Final = "langchain_otel.agent"

# -- metrics -----------------------------------------------------------------------------
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
METRIC_TIME_PER_OUTPUT_CHUNK: Final = "gen_ai.client.operation.time_per_output_chunk"
METRIC_COST: Final = "langchain_otel.client.cost"
METRIC_AGENT_COST: Final = "langchain_otel.agent.cost"

UNIT_SECONDS: Final = "s"
UNIT_TOKENS: Final = "{token}"
UNIT_USD: Final = "USD"

DURATION_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TOKEN_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip

#: The only attributes a metric point may carry (low cardinality).
METRIC_ATTRIBUTES: Final = frozenset(
    {
        GEN_AI_OPERATION_NAME,
        GEN_AI_PROVIDER_NAME,
        GEN_AI_REQUEST_MODEL,
        GEN_AI_RESPONSE_MODEL,
        GEN_AI_TOKEN_TYPE,
        SERVER_ADDRESS,
        SERVER_PORT,
        ERROR_TYPE,
        OUTCOME,
        GEN_AI_AGENT_NAME,  # agent runs only: named by the developer, few (per-agent panels)
    }
)

# -- enum values -----------------------------------------------------------------------
OPERATION_CHAT: Final = "chat"
OPERATION_TEXT_COMPLETION: Final = "text_completion"
OPERATION_EXECUTE_TOOL: Final = "execute_tool"
OPERATION_RETRIEVAL: Final = "retrieval"
OPERATION_GENERATE_CONTENT: Final = "generate_content"  # read by the report, not emitted
OPERATION_INVOKE_AGENT: Final = "invoke_agent"
OPERATION_INVOKE_WORKFLOW: Final = "invoke_workflow"

TOOL_TYPE_FUNCTION: Final = "function"
#: ``error.type`` of a tool that returned a ``ToolMessage`` with ``status="error"``.
ERROR_TYPE_TOOL_ERROR: Final = "tool_error"

TOKEN_TYPE_INPUT: Final = "input"
TOKEN_TYPE_OUTPUT: Final = "output"

OUTCOME_OK: Final = "ok"
OUTCOME_ERROR: Final = "error"
OUTCOME_CANCELLED: Final = "cancelled"
OUTCOME_ABANDONED: Final = "abandoned"
OUTCOME_INTERRUPTED: Final = "interrupted"

RUN_TYPE_LLM: Final = "llm"
RUN_TYPE_CHAT_MODEL: Final = "chat_model"
RUN_TYPE_CHAIN: Final = "chain"
RUN_TYPE_TOOL: Final = "tool"
RUN_TYPE_RETRIEVER: Final = "retriever"

#: LangChain ``ls_provider`` values → ``gen_ai.provider.name`` well-known values.
PROVIDER_NAMES: Final[dict[str, str]] = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "anthropic": "anthropic",
    "bedrock": "aws.bedrock",
    "amazon_bedrock": "aws.bedrock",
    "aws": "aws.bedrock",
    "google_vertexai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "google_genai": "gcp.gen_ai",
    "google_gemini": "gcp.gemini",
    "mistral": "mistral_ai",
    "mistralai": "mistral_ai",
    "groq": "groq",
    "deepseek": "deepseek",
    "cohere": "cohere",
    "ibm": "ibm.watsonx.ai",
    "watsonx": "ibm.watsonx.ai",
    "xai": "x_ai",
    "perplexity": "perplexity",
    # Providers without a well-known value keep LangChain's name.
    "fireworks": "fireworks",
    "together": "together",
    "ollama": "ollama",
    "huggingface": "huggingface",
    "nvidia": "nvidia",
    "openrouter": "openrouter",
}

# -- structlog event names and keys ------------------------------------------------------
EVENT_LLM_END: Final = "llm.end"
EVENT_LLM_ERROR: Final = "llm.error"
EVENT_INTERNAL_ERROR: Final = "langchain_otel.internal_error"
EVENT_UNKNOWN_PRICE: Final = "langchain_otel.cost.unknown_model"
LOG_KEYS: Final = (
    "trace_id",
    "span_id",
    "run_id",
    "operation",
    "provider",
    "model",
    "response_model",
    "duration_s",
    "ttft_s",
    "input_tokens",
    "output_tokens",
    "tokens_estimated",
    "cost_usd",
    "outcome",
    "error_type",
)


class AttributeDoc(NamedTuple):
    """One span attribute we emit, for the generated reference."""

    name: str
    type: str
    spans: str
    description: str


class MetricDoc(NamedTuple):
    """One metric we emit, for the generated reference."""

    name: str
    instrument: str
    unit: str
    description: str


_MODEL = "model"
ATTRIBUTES: Final = (
    AttributeDoc(GEN_AI_OPERATION_NAME, "string", "model, tool, retriever, agent, workflow",
                 "`chat`, `text_completion`, `execute_tool`, `retrieval`, `invoke_agent` "
                 "or `invoke_workflow`."),
    AttributeDoc(GEN_AI_PROVIDER_NAME, "string", _MODEL,
                 "From `ls_provider` mapped to the conventions' values; a value the model "
                 "declared itself is kept as given; else the model's `_llm_type`."),
    AttributeDoc(GEN_AI_REQUEST_MODEL, "string", _MODEL,
                 "`model_name`/`model`/`model_id` of the invocation params, "
                 "else `ls_model_name`, else `_llm_type`."),
    AttributeDoc(GEN_AI_REQUEST_MAX_TOKENS, "int", _MODEL, "Requested maximum output tokens."),
    AttributeDoc(GEN_AI_REQUEST_TEMPERATURE, "double", _MODEL, "Sampling temperature."),
    AttributeDoc(GEN_AI_REQUEST_TOP_P, "double", _MODEL, "Nucleus sampling."),
    AttributeDoc(GEN_AI_REQUEST_TOP_K, "double", _MODEL, "Top-k sampling."),
    AttributeDoc(GEN_AI_REQUEST_STOP_SEQUENCES, "string[]", _MODEL, "Stop sequences."),
    AttributeDoc(GEN_AI_REQUEST_SEED, "int", _MODEL, "Sampling seed."),
    AttributeDoc(GEN_AI_REQUEST_FREQUENCY_PENALTY, "double", _MODEL, "Frequency penalty."),
    AttributeDoc(GEN_AI_REQUEST_PRESENCE_PENALTY, "double", _MODEL, "Presence penalty."),
    AttributeDoc(GEN_AI_REQUEST_CHOICE_COUNT, "int", _MODEL,
                 "Requested choices (`n`), when not 1 (EchoLLM's `n` is a length, not a count)."),
    AttributeDoc(GEN_AI_REQUEST_STREAM, "boolean", _MODEL, "`true` when the run streamed tokens."),
    AttributeDoc(GEN_AI_RESPONSE_MODEL, "string", _MODEL, "The model that answered, as reported."),
    AttributeDoc(GEN_AI_RESPONSE_ID, "string", _MODEL, "The completion's id, as reported."),
    AttributeDoc(GEN_AI_RESPONSE_FINISH_REASONS, "string[]", _MODEL, "One per choice."),
    AttributeDoc(GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, "double", _MODEL,
                 "Seconds from the span's start to the first streamed chunk."),
    AttributeDoc(GEN_AI_USAGE_INPUT_TOKENS, "int", "model, agent, workflow",
                 "Input tokens (reported, else counted; agents: summed over model runs)."),
    AttributeDoc(GEN_AI_USAGE_OUTPUT_TOKENS, "int", "model, agent, workflow",
                 "Output tokens (reported, else counted; agents: summed over model runs)."),
    AttributeDoc(GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, "int", _MODEL,
                 "Input tokens read from cache."),
    AttributeDoc(GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, "int", _MODEL, "Reasoning output tokens."),
    AttributeDoc(GEN_AI_CONVERSATION_ID, "string", "all",
                 "`conversation_id` or `thread_id` of the run's metadata."),
    AttributeDoc(GEN_AI_INPUT_MESSAGES, "string (JSON)", _MODEL,
                 "Opt-in content: the input messages."),
    AttributeDoc(GEN_AI_OUTPUT_MESSAGES, "string (JSON)", _MODEL, "Opt-in content: the answers."),
    AttributeDoc(GEN_AI_SYSTEM_INSTRUCTIONS, "string (JSON)", _MODEL,
                 "Opt-in content: the system messages."),
    AttributeDoc(GEN_AI_TOOL_NAME, "string", "tool", "The tool's name."),
    AttributeDoc(GEN_AI_TOOL_DESCRIPTION, "string", "tool", "The tool's description."),
    AttributeDoc(GEN_AI_TOOL_CALL_ID, "string", "tool", "The tool call's id, when known."),
    AttributeDoc(GEN_AI_TOOL_CALL_ARGUMENTS, "string", "tool", "Opt-in content: the tool input."),
    AttributeDoc(GEN_AI_TOOL_CALL_RESULT, "string", "tool", "Opt-in content: the tool output."),
    AttributeDoc(GEN_AI_RETRIEVAL_QUERY_TEXT, "string", "retriever", "Opt-in content: the query."),
    AttributeDoc(GEN_AI_TOOL_TYPE, "string", "tool", "`function` (LangChain tools are functions)."),
    AttributeDoc(GEN_AI_AGENT_NAME, "string", "agent",
                 "The agent's name: the graph's `name`, `run_name`, or the metadata key's value."),
    AttributeDoc(GEN_AI_AGENT_ID, "string", "agent", "`assistant_id` of the run's metadata."),
    AttributeDoc(GEN_AI_WORKFLOW_NAME, "string", "workflow", "The root graph's name."),
    AttributeDoc(SERVER_ADDRESS, "string", _MODEL, "Host of the model's `base_url`."),
    AttributeDoc(SERVER_PORT, "int", _MODEL, "Port of the model's `base_url`."),
    AttributeDoc(ERROR_TYPE, "string", "all", "Fully qualified class name of the exception."),
    AttributeDoc(EXCEPTION_EVENT, "span event", "all",
                 "The event recording a failure (`record_exception`), with the three below."),
    AttributeDoc(EXCEPTION_TYPE, "string", "`exception` event", "The exception's class."),
    AttributeDoc(EXCEPTION_MESSAGE, "string", "`exception` event",
                 "Its message (invalid unicode replaced)."),
    AttributeDoc(EXCEPTION_STACKTRACE, "string", "`exception` event", "Its traceback."),
    AttributeDoc(LANGCHAIN_RUN_ID, "string", "all", "LangChain's run id."),
    AttributeDoc(LANGCHAIN_RUN_TYPE, "string", "all",
                 "`llm`, `chat_model`, `chain`, `tool` or `retriever`."),
    AttributeDoc(LANGCHAIN_RUN_NAME, "string", "all", "LangChain's run name."),
    AttributeDoc(LANGCHAIN_TAGS, "string[]", "all", "The run's tags."),
    AttributeDoc(LANGCHAIN_METADATA_PREFIX + "<key>", "scalar", "all",
                 "The run's metadata, only with `capture_metadata=True`."),
    AttributeDoc(OUTCOME, "string", "all",
                 "`ok`, `error`, `cancelled`, `abandoned` or `interrupted` (LangGraph)."),
    AttributeDoc(USAGE_ESTIMATED, "boolean", "model, agent, workflow",
                 "`true` when the model reported no usage and tokens were counted locally "
                 "(agents: for any of their model runs)."),
    AttributeDoc(COST_INPUT, "double", _MODEL, "USD for the input tokens."),
    AttributeDoc(COST_OUTPUT, "double", _MODEL, "USD for the output tokens."),
    AttributeDoc(COST_TOTAL, "double", "model, agent, workflow",
                 "USD for the run (agents: the sum over their priced model runs); "
                 "absent when no price is known."),
    AttributeDoc(LANGGRAPH_NODE, "string", "LangGraph node",
                 "Ours: the node's name (`langgraph_node` metadata)."),
    AttributeDoc(LANGGRAPH_STEP, "int", "LangGraph node",
                 "Ours: the superstep (`langgraph_step` metadata)."),
    AttributeDoc(AGENT_MODEL_CALLS, "int", "agent, workflow",
                 "Ours: model runs under the agent, sub-agents included."),
    AttributeDoc(AGENT_TOOL_CALLS, "int", "agent, workflow",
                 "Ours: tool runs under the agent, sub-agents included."),
    AttributeDoc(AGENT_TOOL_ERRORS, "int", "agent, workflow",
                 "Ours: tool runs that failed, raised or returned `status=\"error\"`."),
)  # fmt: skip

METRICS: Final = (
    MetricDoc(METRIC_OPERATION_DURATION, "histogram", UNIT_SECONDS,
              "Duration of each model, agent (`invoke_agent`, with `gen_ai.agent.name`), "
              "workflow and tool (`execute_tool`) run."),
    MetricDoc(METRIC_TOKEN_USAGE, "histogram", UNIT_TOKENS,
              "Tokens per model run, with `gen_ai.token.type` = `input` / `output`."),
    MetricDoc(METRIC_TIME_TO_FIRST_CHUNK, "histogram", UNIT_SECONDS,
              "Streamed runs: seconds from start to the first chunk."),
    MetricDoc(METRIC_TIME_PER_OUTPUT_CHUNK, "histogram", UNIT_SECONDS,
              "Streamed runs: mean seconds between chunks after the first."),
    MetricDoc(METRIC_COST, "counter", UNIT_USD, "Cost of model runs whose price is known."),
    MetricDoc(METRIC_AGENT_COST, "counter", UNIT_USD,
              "Ours: cost of each agent run (its priced model runs, sub-agents included), "
              "by `gen_ai.agent.name`."),
)  # fmt: skip


def reference_markdown() -> str:
    """The span attribute and metric reference as Markdown tables.

    Returns:
        Two Markdown tables, ready to paste into the docs.

    Example:
        >>> print(reference_markdown().splitlines()[0])
        | attribute | type | spans | description |
    """
    lines = ["| attribute | type | spans | description |", "|---|---|---|---|"]
    lines += [f"| `{a.name}` | {a.type} | {a.spans} | {a.description} |" for a in ATTRIBUTES]
    lines += ["", "| metric | instrument | unit | description |", "|---|---|---|---|"]
    lines += [f"| `{m.name}` | {m.instrument} | `{m.unit}` | {m.description} |" for m in METRICS]
    return "\n".join(lines) + "\n"
