"""Cost: the user's table first, then genai-prices, unknown → no cost (logged once)."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from langchain_otel import ModelPrice
from langchain_otel.callbacks._cost import PriceBook
from langchain_otel.exceptions import ConfigurationError
from langchain_otel.llms import EchoLLM
from langchain_otel.testing import capture_telemetry


class _OpenAIChat(GenericFakeChatModel):
    model_name: str = "gpt-4o"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "openai"
        return params


def _reply() -> AIMessage:
    return AIMessage(
        content="ok",
        usage_metadata={"input_tokens": 1000, "output_tokens": 500, "total_tokens": 1500},
    )


def test_user_table_prices_span_counter_and_log() -> None:
    """A custom model priced from the user's table: span, counter and log agree."""
    prices = {"my-echo": ModelPrice(input_per_million=3.0, output_per_million=15.0)}
    with capture_telemetry(strict=True, prices=prices) as t:
        EchoLLM(n=4, model_name="my-echo").invoke("abcdefgh", config={"callbacks": [t.handler]})
        EchoLLM(n=4, model_name="my-echo").invoke("abcdefgh", config={"callbacks": [t.handler]})
    span = t.spans[0]
    assert span.attributes["langchain_otel.cost.input"] == pytest.approx(8 * 3.0 / 1e6)
    assert span.attributes["langchain_otel.cost.output"] == pytest.approx(4 * 15.0 / 1e6)
    total = 8 * 3.0 / 1e6 + 4 * 15.0 / 1e6
    assert span.attributes["langchain_otel.cost.total"] == pytest.approx(total)
    (counter,) = t.metrics()["langchain_otel.client.cost"]
    assert counter.value == pytest.approx(2 * total)
    assert [e["cost_usd"] for e in t.logs if e["event"] == "llm.end"] == [
        pytest.approx(total),
        pytest.approx(total),
    ]


def test_genai_prices_for_known_provider_models() -> None:
    """A known provider model without a table entry is priced by genai-prices."""
    genai_prices = pytest.importorskip("genai_prices")
    expected = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=1000, output_tokens=500), "gpt-4o", provider_id="openai"
    )
    with capture_telemetry(strict=True) as t:
        _OpenAIChat(messages=iter([_reply()])).invoke("hi", config={"callbacks": [t.handler]})
    (span,) = t.spans
    assert span.attributes["gen_ai.provider.name"] == "openai"
    assert span.attributes["langchain_otel.cost.total"] == pytest.approx(
        float(expected.total_price)
    )
    assert span.attributes["langchain_otel.cost.input"] == pytest.approx(
        float(expected.input_price)
    )


def test_user_table_wins_over_genai_prices() -> None:
    """The user's price for a known model overrides genai-prices."""
    prices = {"gpt-4o": ModelPrice(input_per_million=1.0, output_per_million=1.0)}
    with capture_telemetry(strict=True, prices=prices) as t:
        _OpenAIChat(messages=iter([_reply()])).invoke("hi", config={"callbacks": [t.handler]})
    assert t.spans[0].attributes["langchain_otel.cost.total"] == pytest.approx(1500 / 1e6)


def test_unknown_model_has_no_cost_and_is_logged_once() -> None:
    """Unknown model: no cost attribute at all, no counter point, one log event."""
    with capture_telemetry(strict=True) as t:
        for _ in range(3):
            EchoLLM(n=2, model_name="nobody-knows-me").invoke(
                "abc", config={"callbacks": [t.handler]}
            )
    for span in t.spans:
        assert not [k for k in span.attributes or {} if k.startswith("langchain_otel.cost")]
    assert "langchain_otel.client.cost" not in t.metrics()
    unknown = [e for e in t.logs if e["event"] == "langchain_otel.cost.unknown_model"]
    assert len(unknown) == 1
    assert unknown[0]["model"] == "nobody-knows-me"
    assert [e["cost_usd"] for e in t.logs if e["event"] == "llm.end"] == [None] * 3


def test_missing_genai_prices_degrades_gracefully(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without genai-prices installed: no cost, one hint to install the extra."""
    monkeypatch.setitem(sys.modules, "genai_prices", None)  # makes the import fail
    with capture_telemetry(strict=True) as t:
        _OpenAIChat(messages=iter([_reply()])).invoke("hi", config={"callbacks": [t.handler]})
    assert "langchain_otel.cost.total" not in (t.spans[0].attributes or {})
    hints = [e for e in t.logs if "pip install" in str(e.get("note", ""))]
    assert len(hints) == 1


def test_model_price_validation_and_math() -> None:
    """ModelPrice rejects negative or non-numeric prices; costs are per million tokens."""
    assert ModelPrice(input_per_million=2, output_per_million=4).cost(
        input_tokens=500_000, output_tokens=250_000
    ) == (1.0, 1.0)
    with pytest.raises(ConfigurationError, match="input_per_million"):
        ModelPrice(input_per_million=-1, output_per_million=0)
    with pytest.raises(ConfigurationError, match="output_per_million"):
        ModelPrice(input_per_million=1, output_per_million="3")  # type: ignore[arg-type]


def test_price_book_looks_up_each_model_once() -> None:
    """Lookups are cached per model, including misses."""
    calls: list[str] = []

    def lookup(provider: str, model: str) -> ModelPrice | None:
        calls.append(model)
        return ModelPrice(input_per_million=1, output_per_million=1) if model == "a" else None

    book = PriceBook(lookup=lookup)
    for _ in range(3):
        assert book.price("p", "a") is not None
        assert book.price("p", "b") is None
    assert calls == ["a", "b"]


def test_genai_prices_is_loaded_in_the_background_once() -> None:
    """Handlers warm genai-prices up in one background thread per process."""
    import threading
    import time

    from langchain_otel.callbacks import _cost

    with capture_telemetry():
        pass
    _cost.warm_up()
    _cost.warm_up()
    assert _cost._warm_started
    deadline = time.monotonic() + 10
    while any(t.name == "langchain-otel-prices" for t in threading.enumerate()):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert "genai_prices" in sys.modules
