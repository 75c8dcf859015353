"""LangChain payloads → semantic-convention attributes.

Reads ``invocation_params`` (the model's identifying params plus call kwargs), the
``ls_*`` metadata LangChain adds, and on the way out ``generation_info``,
``llm_output`` and an ``AIMessage``'s ``usage_metadata`` / ``response_metadata``.
Every reader tolerates missing keys and odd types: garbage in, fewer attributes out.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
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

    __slots__ = (
        "attributes",
        "model",
        "operation",
        "points",
        "provider",
        "run_name",
        "server",
        "span_name",
    )

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
        self.span_name = f"{operation} {model}"
        # Filled by the run core on the first run (shared by the runs of a cached request):
        self.points: tuple[tuple[Any, ...], dict[str, Any]] | None = None
        """The metric identity key and the attributes every point of this model carries."""
        self.run_name: str | None = None
        """The name of a run given no ``name``: the serialized name or class, or the model."""


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


def _listless_key(
    serialized_id: int, operation: str, params: dict[str, Any], metadata: Mapping[str, Any]
) -> tuple[Any, ...] | None:
    """A request's cache key with list values as tuples; None: uncacheable.

    A value that stays unhashable (a dict, a list of tool schemas) makes the request
    uncacheable, cheaper than walking a large structure on every run.
    """
    try:
        key = (
            serialized_id,
            operation,
            tuple([(k, tuple(v) if type(v) is list else v) for k, v in params.items()]),
            tuple([tuple(v) if type(v := metadata.get(k)) is list else v for k in _LS_KEYS]),
        )
        hash(key)
    except TypeError:
        return None
    return key


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
            # The usual request holds only hashable values: its key is built in C (no
            # Python-level step per value). A list (of stop sequences, mostly) makes
            # hashing it fail; the key is then rebuilt with lists as tuples.
            key = (
                id(serialized),
                operation,
                tuple(invocation_params.items()),
                tuple(map(metadata.get, _LS_KEYS)),
            )
            try:
                entry = self._entries.get(key)
            except TypeError:
                key = _listless_key(id(serialized), operation, invocation_params, metadata)
                entry = None if key is None else self._entries.get(key)
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
        self.finish_reasons: Sequence[str] = ()  # a list once a reason is found
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cache_read_tokens: int | None = None
        self.reasoning_tokens: int | None = None
        self.generations: Sequence[Any] = ()

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
    if type(usage) is not dict:
        usage = _mapping(usage)
    if not usage:
        return
    get = usage.get
    inp = get("input_tokens")
    if inp is None:
        inp = get("prompt_tokens")
    out = get("output_tokens")
    if out is None:
        out = get("completion_tokens")
    # Two plain counts, the usual case, need no check per key.
    if type(inp) is not int or type(out) is not int or inp < 0 or out < 0:
        inp = _first_int(get("input_tokens"), get("prompt_tokens"))
        out = _first_int(get("output_tokens"), get("completion_tokens"))
        if inp is None and out is None:
            return
    info.input_tokens, info.output_tokens = inp, out
    langchain_style, openai_style = get("input_token_details"), get("prompt_tokens_details")
    if langchain_style or openai_style:  # details are read only when there are some
        info.cache_read_tokens = _detail(
            langchain_style, openai_style, "cache_read", "cached_tokens"
        )
    langchain_style, openai_style = get("output_token_details"), get("completion_tokens_details")
    if langchain_style or openai_style:
        info.reasoning_tokens = _detail(
            langchain_style, openai_style, "reasoning", "reasoning_tokens"
        )


def _detail(langchain_style: Any, openai_style: Any, langchain_key: str, openai_key: str) -> Any:
    """A token detail count, from the first non-empty mapping of details."""
    details = _mapping(langchain_style) or _mapping(openai_style)
    return _first_int(details.get(langchain_key), details.get(openai_key))


def _read_generation(info: ResponseInfo, generation: Any) -> None:  # noqa: PLR0912 - one pass
    """Finish reason, model, id and usage of one generation (the first ones found win)."""
    fields = getattr(generation, "__dict__", None)  # a pydantic model's field values
    if type(fields) is dict:
        gen_info = fields.get("generation_info")
        # Generation has no "message": reading it through pydantic's __getattr__ would
        # raise and catch an AttributeError per run; the instance dict answers at once.
        message = fields.get("message")
    else:
        gen_info = getattr(generation, "generation_info", None)
        message = getattr(generation, "message", None)
    if type(gen_info) is not dict:
        gen_info = _mapping(gen_info)
    meta = _mapping(getattr(message, "response_metadata", None)) if message else _EMPTY
    mget, gget = meta.get, gen_info.get
    reason = gget("finish_reason") or mget("finish_reason") or mget("stop_reason")
    # Each value is the first truthy candidate, kept when it is clean text (the usual
    # case); else _first_text reads the same candidates carefully.
    if reason:
        if type(reason) is not str or not reason.isascii():
            reason = _first_text(gget("finish_reason"), mget("finish_reason"), mget("stop_reason"))
        if reason:
            info.finish_reasons = [*info.finish_reasons, reason]
    if info.response_model is None:
        model = mget("model_name") or mget("model") or gget("model_name") or gget("model")
        if model and (type(model) is not str or not model.isascii()):
            model = _first_text(
                mget("model_name"), mget("model"), gget("model_name"), gget("model")
            )
        info.response_model = model or None
    if info.response_id is None:
        response_id = mget("id") or gget("id")
        if response_id and (type(response_id) is not str or not response_id.isascii()):
            response_id = _first_text(mget("id"), gget("id"))
        info.response_id = response_id or None
    # The first usage found: the message's, the generation info's, the metadata's.
    if info.input_tokens is None and info.output_tokens is None and message is not None:
        _take_usage(info, getattr(message, "usage_metadata", None))
    if info.input_tokens is None and info.output_tokens is None and gen_info:
        _take_usage(info, gget("token_usage") or gget("usage"))
    if info.input_tokens is None and info.output_tokens is None and meta:
        _take_usage(info, mget("token_usage") or mget("usage"))


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
        _read_generation(info, generation)
    llm_output = getattr(response, "llm_output", None)
    if llm_output:
        llm_output = _mapping(llm_output)
        info.response_model = info.response_model or _text(llm_output.get("model_name"))
        info.response_id = info.response_id or _text(llm_output.get("id"))
        if info.input_tokens is None and info.output_tokens is None:
            _take_usage(info, llm_output.get("token_usage") or llm_output.get("usage"))
    return info
