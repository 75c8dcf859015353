"""Metrics of model runs: the instruments, their cached point attributes, one record call.

The cost counter is an *observable* counter fed by an in-process accumulator
(:class:`CounterTotals`): a run adds its cost to a running sum under a lock (well under a
microsecond), and the SDK reads the cumulative sums at collection time, instead of
validating, copying and hashing the point's attributes on every run (about 10 µs here).
The sums are exact: each one is the same float addition the SDK's sum aggregation does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry.metrics import CallbackOptions, Counter, Histogram, Meter, Observation

from langchain_otel.callbacks import _semconv as sc

if TYPE_CHECKING:
    from opentelemetry.context import Context

    from langchain_otel.callbacks._attributes import ModelRequest
    from langchain_otel.callbacks._usage import Usage

__all__ = ["CounterTotals", "Instruments", "PointAttributes"]

_MAX_CACHED_ATTRIBUTES = 4096
Points = tuple[dict[str, Any], dict[str, Any], dict[str, Any]]
"""(plain, input tokens, output tokens) attributes of one run's points."""
_NO_ATTRIBUTES: Mapping[str, Any] = {}


class CounterTotals:
    """Cumulative sums per attribute set, read by an observable counter's callback.

    ``add`` has a synchronous counter's signature. Sums are keyed by the identity of the
    attributes dict (the point attribute cache hands out the same dict every run), so
    adding is one dict look-up; :meth:`observe` merges dicts of equal content.

    Example:
        >>> totals = CounterTotals()
        >>> attrs = {"gen_ai.request.model": "m"}
        >>> totals.add(0.25, attrs)
        >>> totals.add(0.5, dict(attrs))  # an equal dict: the same series
        >>> [(o.value, o.attributes) for o in totals.observe(None)]
        [(0.75, {'gen_ai.request.model': 'm'})]
    """

    # No __slots__: the benchmarks' same-outputs floor records ``add`` by wrapping it.

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sums: dict[int, list[Any]] = {}  # id(attributes) -> [attributes, sum]

    def add(
        self,
        amount: float,
        attributes: Mapping[str, Any] | None = None,
        context: Context | None = None,
    ) -> None:
        """Add ``amount`` (a non-negative finite number) to the sum of ``attributes``."""
        if not amount >= 0 or amount == float("inf"):  # negative, NaN or infinite
            return
        attrs = _NO_ATTRIBUTES if attributes is None else attributes
        with self._lock:
            entry = self._sums.get(id(attrs))
            if entry is None or entry[0] is not attrs:
                if len(self._sums) >= 2 * _MAX_CACHED_ATTRIBUTES:
                    self._merge()
                entry = self._sums[id(attrs)] = [attrs, 0.0]
            entry[1] += amount

    def _merge(self) -> list[list[Any]]:
        """One entry per distinct attribute content (lock held)."""
        merged: dict[frozenset[Any], list[Any]] = {}
        for attrs, total in self._sums.values():
            key = frozenset(attrs.items())
            if key in merged:
                merged[key][1] += total
            else:
                merged[key] = [attrs, total]
        self._sums = {id(entry[0]): entry for entry in merged.values()}
        return list(merged.values())

    def observe(self, options: CallbackOptions | None) -> Iterable[Observation]:
        """The observable counter's callback: every cumulative sum."""
        with self._lock:
            entries = [(dict(attrs), total) for attrs, total in self._merge()]
        return [Observation(total, attrs) for attrs, total in entries]


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
        self.cost = CounterTotals()
        meter.create_observable_counter(
            sc.METRIC_COST,
            callbacks=[self.cost.observe],
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
        context: Context | None = None,
    ) -> None:
        """Record a finished model run's duration, tokens, chunk timings and cost.

        ``context`` holds the run's span, so every model run's points get the same
        exemplars (with the SDK's default trace-based filter) whether or not its span
        happens to be current when LangChain calls the end callback.
        """
        plain, as_input, as_output = points
        self.duration.record(duration, plain, context)
        if usage.input_tokens is not None:
            self.token_usage.record(usage.input_tokens, as_input, context)
        if usage.output_tokens is not None:
            self.token_usage.record(usage.output_tokens, as_output, context)
        if ttfc is not None:
            self.ttfc.record(ttfc, plain, context)
        if per_chunk is not None:
            self.time_per_chunk.record(per_chunk, plain, context)
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
        base: Mapping[str, Any],
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
