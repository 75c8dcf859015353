"""Metrics of model runs: the instruments, their cached point attributes, one record call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentelemetry.metrics import Counter, Histogram, Meter

from langchain_otel.callbacks import _semconv as sc

if TYPE_CHECKING:
    from langchain_otel.callbacks._attributes import ModelRequest
    from langchain_otel.callbacks._usage import Usage

__all__ = ["Instruments", "PointAttributes"]

_MAX_CACHED_ATTRIBUTES = 4096
Points = tuple[dict[str, Any], dict[str, Any], dict[str, Any]]
"""(plain, input tokens, output tokens) attributes of one run's points."""


class Instruments:
    """The six instruments a handler records into.

    Example:
        >>> from opentelemetry.sdk.metrics import MeterProvider
        >>> inst = Instruments(MeterProvider().get_meter("example"))
        >>> inst.duration.name
        'gen_ai.client.operation.duration'
    """

    __slots__ = ("agent_cost", "cost", "duration", "time_per_chunk", "token_usage", "ttfc")

    def __init__(self, meter: Meter) -> None:
        self.duration: Histogram = meter.create_histogram(
            sc.METRIC_OPERATION_DURATION,
            unit=sc.UNIT_SECONDS,
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=sc.DURATION_BUCKETS,
        )
        self.token_usage: Histogram = meter.create_histogram(
            sc.METRIC_TOKEN_USAGE,
            unit=sc.UNIT_TOKENS,
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=sc.TOKEN_BUCKETS,
        )
        self.ttfc: Histogram = meter.create_histogram(
            sc.METRIC_TIME_TO_FIRST_CHUNK,
            unit=sc.UNIT_SECONDS,
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=sc.DURATION_BUCKETS,
        )
        self.time_per_chunk: Histogram = meter.create_histogram(
            sc.METRIC_TIME_PER_OUTPUT_CHUNK,
            unit=sc.UNIT_SECONDS,
            description="Mean time between the output chunks of a streamed response.",
            explicit_bucket_boundaries_advisory=sc.DURATION_BUCKETS,
        )
        self.cost: Counter = meter.create_counter(
            sc.METRIC_COST,
            unit=sc.UNIT_USD,
            description="Cost of GenAI operations, in US dollars.",
        )
        self.agent_cost: Counter = meter.create_counter(
            sc.METRIC_AGENT_COST,
            unit=sc.UNIT_USD,
            description="Cost of agent runs (their priced model runs), in US dollars.",
        )

    def record_run(  # noqa: PLR0917 - the one recording call of a model run
        self,
        points: Points,
        duration: float,
        usage: Usage,
        ttfc: float | None,
        per_chunk: float | None,
        cost: tuple[float, float] | None,
    ) -> None:
        """Record a finished model run's duration, tokens, chunk timings and cost."""
        plain, as_input, as_output = points
        self.duration.record(duration, plain)
        if usage.input_tokens is not None:
            self.token_usage.record(usage.input_tokens, as_input)
        if usage.output_tokens is not None:
            self.token_usage.record(usage.output_tokens, as_output)
        if ttfc is not None:
            self.ttfc.record(ttfc, plain)
        if per_chunk is not None:
            self.time_per_chunk.record(per_chunk, plain)
        if cost is not None:
            self.cost.add(cost[0] + cost[1], plain)


class PointAttributes:
    """Metric point attributes, built once per model identity and outcome (bounded cache).

    The SDK hashes a point's attributes on every record; reusing the same dicts keeps
    that the only per-run cost.

    Example:
        >>> from langchain_otel.callbacks._attributes import model_request
        >>> cache = PointAttributes()
        >>> key, base = cache.base(model_request("chat", {}, {"model": "m"}, {}))
        >>> plain, as_input, _ = cache.points(key, base, "ok", None, None)
        >>> plain["langchain_otel.outcome"], as_input["gen_ai.token.type"]
        ('ok', 'input')
    """

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[tuple[Any, ...], Any] = {}

    def __len__(self) -> int:
        return len(self._cache)

    def base(self, request: ModelRequest) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The identity key and the attributes every point of this model's runs carries."""
        key = (request.operation, request.provider, request.model, request.server)
        cached = self._cache.get(key)
        if cached is not None:
            return key, cached
        base: dict[str, Any] = {
            sc.GEN_AI_OPERATION_NAME: request.operation,
            sc.GEN_AI_PROVIDER_NAME: request.provider,
            sc.GEN_AI_REQUEST_MODEL: request.model,
        }
        if request.server is not None:
            base[sc.SERVER_ADDRESS], base[sc.SERVER_PORT] = request.server
        self._put(key, base)
        return key, base

    def points(
        self,
        key: tuple[Any, ...],
        base: dict[str, Any],
        outcome: str,
        response_model: str | None,
        error_type: str | None,
    ) -> Points:
        """(plain, input tokens, output tokens) attributes of one finished run."""
        point_key = (key, outcome, response_model, error_type)
        cached = self._cache.get(point_key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        plain = {**base, sc.OUTCOME: outcome}
        if response_model:
            plain[sc.GEN_AI_RESPONSE_MODEL] = response_model
        if error_type:
            plain[sc.ERROR_TYPE] = error_type
        value = (
            plain,
            {**plain, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_INPUT},
            {**plain, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_OUTPUT},
        )
        self._put(point_key, value)
        return value

    def run(
        self, operation: str, outcome: str | None, error_type: str | None, agent: str | None
    ) -> dict[str, Any]:
        """The attributes of an agent, workflow or tool run's point (no model identity).

        Example:
            >>> PointAttributes().run("invoke_agent", "ok", None, "weather_agent")
            {'gen_ai.operation.name': 'invoke_agent', 'langchain_otel.outcome': 'ok', \
'gen_ai.agent.name': 'weather_agent'}
        """
        key = ("run", operation, outcome, error_type, agent)
        cached = self._cache.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        attrs: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: operation}
        if outcome is not None:
            attrs[sc.OUTCOME] = outcome
        if error_type:
            attrs[sc.ERROR_TYPE] = error_type
        if agent is not None:
            attrs[sc.GEN_AI_AGENT_NAME] = agent
        self._put(key, attrs)
        return attrs

    def _put(self, key: tuple[Any, ...], value: Any) -> None:
        if len(self._cache) >= _MAX_CACHED_ATTRIBUTES:
            self._cache.clear()
        self._cache[key] = value
