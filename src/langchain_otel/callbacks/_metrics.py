"""The instruments, created once per handler with the conventions' bucket advice."""

from __future__ import annotations

from opentelemetry.metrics import Counter, Histogram, Meter

from langchain_otel.callbacks import _semconv as sc

__all__ = ["Instruments"]


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
