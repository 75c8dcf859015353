"""Prices: the user's table first, then the ``genai-prices`` package, else no cost."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from langchain_otel.exceptions import ConfigurationError

if TYPE_CHECKING:
    from langchain_otel.callbacks._usage import Usage

__all__ = ["ModelPrice", "PriceBook"]

_PER_MILLION = 1_000_000.0
# gen_ai.provider.name → genai-prices provider id, where they differ or exist.
_GENAI_PRICES_PROVIDERS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "azure.ai.openai": "azure",
    "aws.bedrock": "aws",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "gcp.gemini": "google",
    "mistral_ai": "mistral",
    "groq": "groq",
    "deepseek": "deepseek",
    "cohere": "cohere",
    "x_ai": "x-ai",
    "perplexity": "perplexity",
}


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """The price of a model, in US dollars per million tokens.

    Args:
        input_per_million: USD per 1,000,000 input (prompt) tokens.
        output_per_million: USD per 1,000,000 output (completion) tokens.

    Raises:
        ConfigurationError: A price is negative or not a number.

    Example:
        >>> price = ModelPrice(input_per_million=0.5, output_per_million=1.5)
        >>> price.cost(input_tokens=1000, output_tokens=2000)
        (0.0005, 0.003)
    """

    input_per_million: float
    output_per_million: float

    def __post_init__(self) -> None:
        for name in ("input_per_million", "output_per_million"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                msg = (
                    f"ModelPrice.{name}: expected a number >= 0 (USD per 1M tokens), got {value!r}"
                )
                raise ConfigurationError(msg)

    def cost(self, *, input_tokens: int, output_tokens: int) -> tuple[float, float]:
        """USD for ``input_tokens`` and for ``output_tokens``, as a pair."""
        return (
            input_tokens * self.input_per_million / _PER_MILLION,
            output_tokens * self.output_per_million / _PER_MILLION,
        )


_warm_lock = threading.Lock()
_warm_started = False


def _warm_genai_prices() -> None:
    """Import genai-prices and load its price table (about 0.7 s) once per process."""
    # A missing package or table is reported by the first real lookup, not here.
    with contextlib.suppress(Exception):
        _genai_prices_lookup("openai", "gpt-4o")


def warm_up() -> None:
    """Load genai-prices in a background thread, so the first priced run does not wait.

    Started once per process by the first handler that uses genai-prices: importing the
    package and loading its table takes most of a second, which would otherwise stall the
    first model run's end (on an event loop, the whole loop).
    """
    global _warm_started  # noqa: PLW0603 - a once-per-process flag
    with _warm_lock:
        if _warm_started:
            return
        _warm_started = True
    threading.Thread(target=_warm_genai_prices, name="langchain-otel-prices", daemon=True).start()


def _genai_prices_lookup(provider: str, model: str) -> ModelPrice | None:
    """The price genai-prices knows for ``model``, or None; raises ImportError if absent."""
    from genai_prices import Usage, calc_price  # noqa: PLC0415 - optional, slow to import

    provider_id = _GENAI_PRICES_PROVIDERS.get(provider)
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    try:
        calc = calc_price(usage, model, provider_id=provider_id)
    except LookupError:
        if provider_id is None:
            return None
        try:
            calc = calc_price(usage, model)
        except LookupError:
            return None
    return ModelPrice(
        input_per_million=float(calc.input_price), output_per_million=float(calc.output_price)
    )


class PriceBook:
    """Resolves a model's price once and caches it (unknown models too).

    ``lookup`` is genai-prices' lookup by default; ``on_unknown`` is called once per model
    without a price, ``on_missing_package`` once if genai-prices is not installed.

    Example:
        >>> book = PriceBook({"mine": ModelPrice(input_per_million=1, output_per_million=2)},
        ...                  use_genai_prices=False)
        >>> book.price("custom", "mine")
        ModelPrice(input_per_million=1, output_per_million=2)
        >>> book.price("custom", "other") is None
        True
    """

    __slots__ = (
        "_cache",
        "_lock",
        "_lookup",
        "_missing_reported",
        "_table",
        "max_cached",
        "on_missing_package",
        "on_unknown",
        "use_genai_prices",
    )

    def __init__(
        self,
        table: Mapping[str, ModelPrice] | None = None,
        *,
        use_genai_prices: bool = True,
        on_unknown: Callable[[str, str], None] | None = None,
        on_missing_package: Callable[[], None] | None = None,
        lookup: Callable[[str, str], ModelPrice | None] = _genai_prices_lookup,
        max_cached: int = 4096,
    ) -> None:
        table = dict(table or {})
        for model, price in table.items():
            if not isinstance(cast("object", price), ModelPrice):
                msg = (
                    f"prices[{model!r}]: expected a ModelPrice(input_per_million=..., "
                    f"output_per_million=...), got {type(price).__name__}"
                )
                raise ConfigurationError(msg)
        self._table = table
        self.use_genai_prices = use_genai_prices
        self.on_unknown = on_unknown
        self.on_missing_package = on_missing_package
        self._lookup = lookup
        self._cache: dict[tuple[str, str, str | None], ModelPrice | None] = {}
        self._lock = threading.Lock()
        self._missing_reported = False
        self.max_cached = max_cached
        if use_genai_prices and lookup is _genai_prices_lookup:
            warm_up()

    def price(
        self, provider: str, model: str, response_model: str | None = None
    ) -> ModelPrice | None:
        """The price of ``model`` or ``response_model`` (user table, then genai-prices).

        None when neither is known (``on_unknown`` is then called once for ``model``).
        """
        found = self._table.get(model)
        if found is None and response_model:
            found = self._table.get(response_model)
        if found is not None:
            return found
        key = (provider, model, response_model)
        try:
            return self._cache[key]
        except KeyError:
            pass
        with self._lock:  # one lookup per model, even with many threads
            if key in self._cache:
                return self._cache[key]
            result = self._resolve(provider, model)
            if result is None and response_model and response_model != model:
                result = self._resolve(provider, response_model)
            if len(self._cache) >= self.max_cached:
                self._cache.clear()
            self._cache[key] = result
        if result is None and self.on_unknown is not None:
            self.on_unknown(provider, model)
        return result

    def run_cost(
        self, provider: str, model: str, response_model: str | None, usage: Usage
    ) -> tuple[float, float] | None:
        """USD (input, output) of a run's usage; None without tokens or without a price."""
        if usage.input_tokens is None and usage.output_tokens is None:
            return None
        price = self.price(provider, model, response_model)
        if price is None:
            return None
        return price.cost(
            input_tokens=usage.input_tokens or 0, output_tokens=usage.output_tokens or 0
        )

    def _resolve(self, provider: str, model: str) -> ModelPrice | None:
        if not self.use_genai_prices or not model:
            return None
        try:
            return self._lookup(provider, model)
        except ImportError:
            if not self._missing_reported:
                self._missing_reported = True
                if self.on_missing_package is not None:
                    self.on_missing_package()
            return None
