"""LangChain payloads → semantic-convention attributes.

Reads ``invocation_params`` (the model's identifying params plus call kwargs), the
``ls_*`` metadata LangChain adds, and on the way out ``generation_info``,
``llm_output`` and an ``AIMessage``'s ``usage_metadata`` / ``response_metadata``.
Every reader tolerates missing keys and odd types: garbage in, fewer attributes out.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from langchain_otel.callbacks import _semconv as sc
from langchain_otel.callbacks._content import clean_text
from langchain_otel.callbacks._provider import is_declared

__all__ = [
    "ModelRequest",
    "RequestCache",
    "ResponseInfo",
    "model_request",
    "response_info",
    "server_of",
]

_MODEL_KEYS = ("model_name", "model", "model_id", "deployment_name")
_URL_KEYS = ("base_url", "openai_api_base", "api_base", "endpoint_url", "azure_endpoint", "url")
# invocation param → (attribute, type); the first synonym present wins.
_NUMBER_PARAMS: dict[str, tuple[str, type]] = {
    "max_tokens": (sc.GEN_AI_REQUEST_MAX_TOKENS, int),
    "max_new_tokens": (sc.GEN_AI_REQUEST_MAX_TOKENS, int),
    "max_output_tokens": (sc.GEN_AI_REQUEST_MAX_TOKENS, int),
    "max_tokens_to_sample": (sc.GEN_AI_REQUEST_MAX_TOKENS, int),
    "temperature": (sc.GEN_AI_REQUEST_TEMPERATURE, float),
    "top_p": (sc.GEN_AI_REQUEST_TOP_P, float),
    "top_k": (sc.GEN_AI_REQUEST_TOP_K, float),
    "seed": (sc.GEN_AI_REQUEST_SEED, int),
    "frequency_penalty": (sc.GEN_AI_REQUEST_FREQUENCY_PENALTY, float),
    "presence_penalty": (sc.GEN_AI_REQUEST_PRESENCE_PENALTY, float),
}
_LS_NUMBERS = (
    ("ls_max_tokens", sc.GEN_AI_REQUEST_MAX_TOKENS, int),
    ("ls_temperature", sc.GEN_AI_REQUEST_TEMPERATURE, float),
)
# Models whose ``n`` is not a number of choices.
_N_IS_NOT_CHOICES = frozenset({"echo"})
_EMPTY: Mapping[str, Any] = {}


# The readers below test exact types first: LangChain payloads are plain dicts, strs and
# ints, and exact type checks are several times cheaper than ABC isinstance checks.


def _mapping(value: Any) -> Mapping[str, Any]:
    if type(value) is dict:
        return value
    if value is None:
        return _EMPTY
    return value if isinstance(value, Mapping) else _EMPTY


def _text(value: Any) -> str | None:
    if type(value) is str or isinstance(value, str):
        return clean_text(value) if value else None
    return None


def _first_text(*values: Any) -> str | None:
    """The first of ``values`` that is a non-empty string, cleaned (one call for many)."""
    for value in values:
        if value is not None and (text := _text(value)) is not None:
            return text
    return None


def _number(value: Any, kind: type) -> int | float | None:
    cls = type(value)
    if cls is int or cls is float:
        return kind(value)  # type: ignore[no-any-return]
    if cls is bool or not isinstance(value, int | float):
        return None
    return kind(value)  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=256)
def server_of(url: str) -> tuple[str, int] | None:
    """``(server.address, server.port)`` of a base URL, or None.

    Example:
        >>> server_of("http://127.0.0.1:8080/v1")
        ('127.0.0.1', 8080)
        >>> server_of("https://api.openai.com/v1")
        ('api.openai.com', 443)
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if not host:
        return None
    if port is None:
        port = {"https": 443, "http": 80}.get(parts.scheme)
        if port is None:
            return None
    return clean_text(host), port


class ModelRequest:
    """What a model run's start tells us: its span attributes and metric identity."""

    __slots__ = ("attributes", "model", "operation", "provider", "server")

    def __init__(
        self,
        attributes: dict[str, Any],
        operation: str,
        provider: str,
        model: str,
        server: tuple[str, int] | None,
    ) -> None:
        self.attributes = attributes
        self.operation = operation
        self.provider = provider
        self.model = model
        self.server = server


def _provider_name(ls_provider: Any, llm_type: str | None, serialized: Any) -> str:
    """``gen_ai.provider.name`` of a model run.

    A well-known ``ls_provider`` is mapped onto the conventions' value; one the model
    declared itself is kept as given; else the model's ``_llm_type`` (LangChain's
    class-name default says nothing).
    """
    if isinstance(ls_provider, str) and ls_provider:
        mapped = sc.PROVIDER_NAMES.get(ls_provider)
        if mapped is not None:
            return mapped
        if ls_provider != llm_type and is_declared(serialized, ls_provider):
            return clean_text(ls_provider)
    return llm_type or _text(ls_provider) or "langchain"


def model_request(  # noqa: PLR0912 - one flat pass over the known keys
    operation: str,
    serialized: Any,
    invocation_params: Any,
    metadata: Mapping[str, Any],
) -> ModelRequest:
    """The request-side attributes of a model run.

    Example:
        >>> req = model_request("text_completion", {}, {"model_name": "m", "_type": "echo",
        ...     "temperature": 0.5, "stop": ["."]}, {"ls_provider": "echo"})
        >>> req.provider, req.model, req.attributes["gen_ai.request.temperature"]
        ('echo', 'm', 0.5)
    """
    params = _mapping(invocation_params)
    ser_kwargs = _mapping(_mapping(serialized).get("kwargs"))
    llm_type = _text(params.get("_type"))

    model = None
    for key in _MODEL_KEYS:
        model = _text(params.get(key)) or (_text(ser_kwargs.get(key)) if ser_kwargs else None)
        if model:
            break
    model = model or _text(metadata.get("ls_model_name")) or llm_type or "unknown"

    provider = _provider_name(metadata.get("ls_provider"), llm_type, serialized)

    attrs: dict[str, Any] = {
        sc.GEN_AI_OPERATION_NAME: operation,
        sc.GEN_AI_PROVIDER_NAME: provider,
        sc.GEN_AI_REQUEST_MODEL: model,
    }
    for key, raw in params.items():  # one pass over the (few) params, not a probe per name
        spec = _NUMBER_PARAMS.get(key)
        if spec is not None and spec[0] not in attrs:
            value = _number(raw, spec[1])
            if value is not None:
                attrs[spec[0]] = value
    for key, attr, kind in _LS_NUMBERS:
        if attr not in attrs and key in metadata:
            value = _number(metadata[key], kind)
            if value is not None:
                attrs[attr] = value
    stop = params.get("stop") or metadata.get("ls_stop")
    if isinstance(stop, str):
        stop = [stop]
    if isinstance(stop, list | tuple) and stop and all(isinstance(s, str) for s in stop):
        attrs[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = [clean_text(s) for s in stop]
    choices = _number(params.get("n"), int)
    if choices is not None and choices != 1 and llm_type not in _N_IS_NOT_CHOICES:
        attrs[sc.GEN_AI_REQUEST_CHOICE_COUNT] = choices
    if params.get("stream") is True or params.get("streaming") is True:
        attrs[sc.GEN_AI_REQUEST_STREAM] = True

    server = None
    for key in _URL_KEYS:
        url = params.get(key) or (ser_kwargs.get(key) if ser_kwargs else None)
        if isinstance(url, str) and url:
            server = server_of(url)
            if server is not None:
                attrs[sc.SERVER_ADDRESS], attrs[sc.SERVER_PORT] = server
                break
    return ModelRequest(attrs, operation, provider, model, server)


_MAX_CACHED_REQUESTS = 512
# The metadata model_request reads besides invocation_params.
_LS_KEYS = ("ls_provider", "ls_model_name", "ls_max_tokens", "ls_temperature", "ls_stop")


class RequestCache:
    """:func:`model_request` results, per model instance and request content (bounded).

    LangChain (1.x) passes every run of a model instance the *same* ``serialized`` dict
    (a cached property), and the same ``invocation_params`` content unless the call's
    kwargs differ: their start attributes are then equal, so they are built once. A
    cached entry keeps its ``serialized`` alive and must find it again by identity (so a
    recycled ``id()`` can never match), and the content of every param and ``ls_*``
    metadata value that :func:`model_request` reads is part of the key. Anything
    unhashable is simply not cached. Callers copy ``attributes`` before adding to it.

    Example:
        >>> cache = RequestCache()
        >>> serialized = {"id": ["x", "EchoLLM"]}
        >>> first = cache.get("text_completion", serialized, {"model_name": "m"}, {})
        >>> first is cache.get("text_completion", serialized, {"model_name": "m"}, {})
        True
        >>> first is cache.get("text_completion", serialized, {"model_name": "n"}, {})
        False
    """

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[Any, tuple[Any, ModelRequest]] = {}

    def get(
        self,
        operation: str,
        serialized: Any,
        invocation_params: Any,
        metadata: Mapping[str, Any],
    ) -> ModelRequest:
        """The (shared, read-only) request of a model run start."""
        key = None
        if type(invocation_params) is dict:
            try:
                key = (
                    id(serialized),
                    operation,
                    # A list (of stop sequences, mostly) as a tuple; a value that stays
                    # unhashable (a dict, a list of tool schemas) makes the request
                    # uncacheable, cheaper than walking a large structure on every run.
                    # Inline: a Python call per value would be most of the key's cost.
                    tuple(
                        [
                            (k, tuple(v) if type(v) is list else v)
                            for k, v in invocation_params.items()
                        ]
                    ),
                    tuple(
                        [tuple(v) if type(v := metadata.get(k)) is list else v for k in _LS_KEYS]
                    ),
                )
                entry = self._entries.get(key)
            except TypeError:  # an unhashable value: build it every time
                key = entry = None
            if entry is not None and entry[0] is serialized:
                return entry[1]
        request = model_request(operation, serialized, invocation_params, metadata)
        if key is not None:
            if len(self._entries) >= _MAX_CACHED_REQUESTS:
                self._entries.clear()
            self._entries[key] = (serialized, request)
        return request


class ResponseInfo:
    """What a model run's end tells us."""

    __slots__ = (
        "cache_read_tokens",
        "finish_reasons",
        "generations",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "response_id",
        "response_model",
    )

    def __init__(self) -> None:
        self.response_model: str | None = None
        self.response_id: str | None = None
        self.finish_reasons: list[str] = []
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cache_read_tokens: int | None = None
        self.reasoning_tokens: int | None = None
        self.generations: list[Any] = []

    def output_text_length(self) -> int:
        """Characters of every generation's text (for counted usage)."""
        total = 0
        for generation in self.generations:
            text = getattr(generation, "text", "")
            if isinstance(text, str):
                total += len(text)
        return total


def _int(value: Any) -> int | None:
    if type(value) is int:
        return value if value >= 0 else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _first_int(*values: Any) -> int | None:
    """The first of ``values`` that is a count (an int >= 0, not a bool): one call for many."""
    for value in values:
        if value is not None and (count := _int(value)) is not None:
            return count
    return None


def _take_usage(info: ResponseInfo, usage: Any) -> None:
    """Fill token counts from an OpenAI-style or LangChain-style usage mapping."""
    if usage is None:  # the usual case for most of the places a usage is looked for
        return
    usage = _mapping(usage)
    if not usage:
        return
    get = usage.get
    inp = _first_int(get("input_tokens"), get("prompt_tokens"))
    out = _first_int(get("output_tokens"), get("completion_tokens"))
    if inp is None and out is None:
        return
    info.input_tokens, info.output_tokens = inp, out
    details_in = _details(get("input_token_details"), get("prompt_tokens_details"))
    info.cache_read_tokens = _first_int(
        details_in.get("cache_read"), details_in.get("cached_tokens")
    )
    details_out = _details(get("output_token_details"), get("completion_tokens_details"))
    info.reasoning_tokens = _first_int(
        details_out.get("reasoning"), details_out.get("reasoning_tokens")
    )


def _details(langchain_style: Any, openai_style: Any) -> Mapping[str, Any]:
    """The first non-empty mapping of token details (none: empty, without a call each)."""
    if langchain_style is None and openai_style is None:
        return _EMPTY
    return _mapping(langchain_style) or _mapping(openai_style)


def _message_of(generation: Any) -> Any:
    fields = getattr(generation, "__dict__", None)
    if type(fields) is dict:
        return fields.get("message")
    return getattr(generation, "message", None)


def response_info(response: Any) -> ResponseInfo:
    """Model, id, finish reasons and usage of an ``LLMResult`` (anything else: empty).

    Example:
        >>> from langchain_core.outputs import Generation, LLMResult
        >>> info = response_info(LLMResult(generations=[[Generation(text="hi",
        ...     generation_info={"finish_reason": "stop", "model_name": "m",
        ...     "token_usage": {"prompt_tokens": 3, "completion_tokens": 2}})]]))
        >>> info.response_model, info.finish_reasons, info.input_tokens, info.output_tokens
        ('m', ['stop'], 3, 2)
    """
    info = ResponseInfo()
    generations = getattr(response, "generations", None)
    if isinstance(generations, list) and generations and isinstance(generations[0], list):
        info.generations = generations[0]
    for generation in info.generations:
        gen_info = _mapping(getattr(generation, "generation_info", None))
        # Generation has no "message": reading it through pydantic's __getattr__ would
        # raise and catch an AttributeError per run; the instance dict answers at once.
        message = _message_of(generation)
        meta = _mapping(getattr(message, "response_metadata", None)) if message else _EMPTY
        reason = _first_text(
            gen_info.get("finish_reason"), meta.get("finish_reason"), meta.get("stop_reason")
        )
        if reason:
            info.finish_reasons.append(reason)
        if info.response_model is None:
            info.response_model = _first_text(
                meta.get("model_name"), meta.get("model"),
                gen_info.get("model_name"), gen_info.get("model"),
            )  # fmt: skip
        if info.response_id is None:
            info.response_id = _first_text(meta.get("id"), gen_info.get("id"))
        if message is not None and info.input_tokens is None and info.output_tokens is None:
            _take_usage(info, getattr(message, "usage_metadata", None))
        if info.input_tokens is None and info.output_tokens is None:
            _take_usage(info, gen_info.get("token_usage") or gen_info.get("usage"))
        if info.input_tokens is None and info.output_tokens is None:
            _take_usage(info, meta.get("token_usage") or meta.get("usage"))
    llm_output = _mapping(getattr(response, "llm_output", None))
    if llm_output:
        info.response_model = info.response_model or _text(llm_output.get("model_name"))
        info.response_id = info.response_id or _text(llm_output.get("id"))
        if info.input_tokens is None and info.output_tokens is None:
            _take_usage(info, llm_output.get("token_usage") or llm_output.get("usage"))
    return info
