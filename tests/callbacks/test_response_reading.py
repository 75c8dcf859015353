"""What a model run's start and end callbacks are read into: requests and responses.

The readers take the usual shapes in one pass (plain dicts, clean strings, int counts)
and fall back to a careful reading for anything else: these cases pin both paths.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation, LLMResult

from langchain_otel.callbacks._attributes import RequestCache, response_info


def _text(generation_info: dict[str, Any] | None, **llm: Any) -> LLMResult:
    return LLMResult(generations=[[Generation(text="hi", generation_info=generation_info)]], **llm)


def _chat(**message: Any) -> LLMResult:
    return LLMResult(generations=[[ChatGeneration(message=AIMessage("hi", **message))]])


class TestResponseInfo:
    def test_text_model_generation_info(self) -> None:
        info = response_info(
            _text(
                {
                    "finish_reason": "length",
                    "model_name": "echo",
                    "token_usage": {"prompt_tokens": 3, "completion_tokens": 2},
                }
            )
        )
        assert (info.finish_reasons, info.response_model, info.response_id) == (
            ["length"],
            "echo",
            None,
        )
        assert (info.input_tokens, info.output_tokens) == (3, 2)
        assert (info.cache_read_tokens, info.reasoning_tokens) == (None, None)

    def test_chat_message_metadata_and_usage(self) -> None:
        info = response_info(
            _chat(
                response_metadata={"model_name": "gpt-x", "id": "r-1", "finish_reason": "stop"},
                usage_metadata={
                    "input_tokens": 7,
                    "output_tokens": 4,
                    "total_tokens": 11,
                    "input_token_details": {"cache_read": 5},
                    "output_token_details": {"reasoning": 1},
                },
            )
        )
        assert (info.finish_reasons, info.response_model, info.response_id) == (
            ["stop"],
            "gpt-x",
            "r-1",
        )
        assert (info.input_tokens, info.output_tokens) == (7, 4)
        assert (info.cache_read_tokens, info.reasoning_tokens) == (5, 1)

    def test_openai_style_details(self) -> None:
        usage = {
            "prompt_tokens": 9,
            "completion_tokens": 4,
            "prompt_tokens_details": {"cached_tokens": 3},
            "completion_tokens_details": {"reasoning_tokens": 2},
        }
        info = response_info(_text({"token_usage": usage}))
        assert (info.cache_read_tokens, info.reasoning_tokens) == (3, 2)

    def test_the_first_text_wins_over_a_truthy_non_text(self) -> None:
        info = response_info(
            _chat(response_metadata={"model_name": 5, "model": "m-2", "stop_reason": "end"})
        )
        assert (info.response_model, info.finish_reasons) == ("m-2", ["end"])

    def test_finish_reason_of_generation_info_then_metadata(self) -> None:
        generation = ChatGeneration(
            message=AIMessage("hi", response_metadata={"finish_reason": "tool_calls"}),
            generation_info={"finish_reason": 1},
        )
        info = response_info(LLMResult(generations=[[generation]]))
        assert info.finish_reasons == ["tool_calls"]

    def test_invalid_unicode_is_cleaned(self) -> None:
        info = response_info(_text({"model_name": "m\ud800", "finish_reason": "st\ud800p"}))
        assert (info.response_model, info.finish_reasons) == ("m?", ["st?p"])

    @pytest.mark.parametrize(
        ("usage", "expected"),
        [
            ({"input_tokens": True, "prompt_tokens": 5, "output_tokens": 2}, (5, 2)),
            ({"input_tokens": -1, "prompt_tokens": 5, "completion_tokens": 2}, (5, 2)),
            ({"prompt_tokens": 5}, (5, None)),
            ({"input_tokens": "5", "output_tokens": 2.0}, None),
            ({}, None),
        ],
    )
    def test_counts_are_plain_ints(
        self, usage: dict[str, Any], expected: tuple[int | None, int | None] | None
    ) -> None:
        info = response_info(_text({"token_usage": usage}))
        counts = (info.input_tokens, info.output_tokens)
        assert counts == (expected or (None, None))

    def test_usage_of_the_message_then_generation_info_then_llm_output(self) -> None:
        llm_output = {"token_usage": {"prompt_tokens": 1, "completion_tokens": 1}}
        info = response_info(_text(None, llm_output={**llm_output, "model_name": "lo"}))
        assert (info.input_tokens, info.output_tokens, info.response_model) == (1, 1, "lo")
        info = response_info(
            _text(
                {"token_usage": {"prompt_tokens": 2, "completion_tokens": 2}}, llm_output=llm_output
            )
        )
        assert (info.input_tokens, info.output_tokens) == (2, 2)

    def test_every_generation_adds_its_reason_and_the_first_model_wins(self) -> None:
        result = LLMResult(
            generations=[
                [
                    Generation(text="a", generation_info={"finish_reason": "stop", "model": "m1"}),
                    Generation(
                        text="b", generation_info={"finish_reason": "length", "model": "m2"}
                    ),
                ]
            ]
        )
        info = response_info(result)
        assert (info.finish_reasons, info.response_model) == (["stop", "length"], "m1")

    def test_anything_else_is_empty(self) -> None:
        for response in (None, object(), LLMResult(generations=[])):
            info = response_info(response)
            assert (info.finish_reasons, info.response_model, info.input_tokens) == ((), None, None)
            assert info.output_text_length() == 0


_SERIALIZED = {"id": ["x", "EchoLLM"]}


class TestRequestCache:
    def _get(self, cache: RequestCache, params: Any, metadata: Any = None) -> Any:
        return cache.get("text_completion", _SERIALIZED, params, metadata or {})

    def test_equal_requests_share_one_entry(self) -> None:
        cache = RequestCache()
        first = self._get(cache, {"model_name": "m", "temperature": 0.5})
        assert first is self._get(cache, {"model_name": "m", "temperature": 0.5})
        assert first is not self._get(cache, {"model_name": "m", "temperature": 0.7})

    def test_stop_lists_are_keyed_by_content(self) -> None:
        cache = RequestCache()
        first = self._get(cache, {"model_name": "m", "stop": ["\n"]}, {"ls_stop": ["\n"]})
        again = self._get(cache, {"model_name": "m", "stop": ["\n"]}, {"ls_stop": ["\n"]})
        other = self._get(cache, {"model_name": "m", "stop": ["."]}, {"ls_stop": ["."]})
        assert first is again
        assert other is not first
        assert other.attributes["gen_ai.request.stop_sequences"] == ["."]

    def test_metadata_is_part_of_the_key(self) -> None:
        cache = RequestCache()
        first = self._get(cache, {"model_name": "m"}, {"ls_temperature": 0.1})
        second = self._get(cache, {"model_name": "m"}, {"ls_temperature": 0.2})
        assert first is not second
        assert second.attributes["gen_ai.request.temperature"] == 0.2

    def test_an_unhashable_request_is_built_every_time(self) -> None:
        cache = RequestCache()
        params = {"model_name": "m", "tools": [{"name": "t"}]}
        first, second = self._get(cache, params), self._get(cache, params)
        assert first is not second
        assert first.attributes == second.attributes
        assert first.model == "m"

    def test_another_serialized_dict_is_another_entry(self) -> None:
        cache = RequestCache()
        first = self._get(cache, {"model_name": "m"})
        other = cache.get("text_completion", {"id": ["x", "EchoLLM"]}, {"model_name": "m"}, {})
        assert other is not first
