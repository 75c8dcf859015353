"""Whether a model *declared* its ``ls_provider``, or LangChain derived it from the class name.

LangChain's base ``_get_ls_params`` fills ``ls_provider`` from the class name
(``OpenAICompatibleLLM`` → ``openaicompatible``) for every model that does not set it.
That default says nothing about the provider, so the model's ``_llm_type`` is the better
name. A value the model set on purpose (``OpenAICompatibleLLM(provider="vllm")``, a
provider package's ``_get_ls_params``) is the provider. We tell them apart by asking the
model class: the base implementation's answer for that class is the default.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from typing import Any

__all__ = ["is_declared"]

_UNKNOWN = object()
_defaults: dict[tuple[str, ...], Any] = {}  # class id → the base default (or _UNKNOWN)
_lock = threading.Lock()
_MAX_CACHED = 1024


def _model_class(ids: tuple[str, ...]) -> Any:
    """The model class named by a serialized id, if its module is already imported."""
    module = sys.modules.get(".".join(ids[:-1]))  # never imports anything
    cls = getattr(module, ids[-1], None) if module is not None else None
    return cls if isinstance(cls, type) else None


def _probe(cls: type) -> Any:
    """An instance of ``cls`` with no field set and none of its own code run.

    The base ``_get_ls_params`` reads the class and probes optional attributes with
    ``hasattr``; validating, ``__init__`` or ``model_post_init`` could fail or do I/O.
    """
    probe: Any = object.__new__(cls)
    for name, value in (
        ("__dict__", {}),
        ("__pydantic_fields_set__", set()),
        ("__pydantic_extra__", None),
        ("__pydantic_private__", None),
    ):
        object.__setattr__(probe, name, value)
    return probe


def _base_default(cls: type) -> Any:
    """The ``ls_provider`` LangChain's base ``_get_ls_params`` gives this class."""
    from langchain_core.language_models import (  # noqa: PLC0415 - loaded by then
        BaseChatModel,
        BaseLanguageModel,
        BaseLLM,
    )

    bases: tuple[Any, ...] = (BaseChatModel, BaseLLM, BaseLanguageModel)
    for base in bases:
        if issubclass(cls, base):
            provider = base._get_ls_params(_probe(cls)).get("ls_provider")
            return provider if isinstance(provider, str) else _UNKNOWN
    return _UNKNOWN


def is_declared(serialized: Any, ls_provider: str) -> bool:
    """True when the model class set ``ls_provider`` itself (not LangChain's default).

    False when the class cannot be found (then the model's ``_llm_type`` names it).

    Example:
        >>> from langchain_otel.llms import OpenAICompatibleLLM
        >>> serialized = {"id": ["langchain_otel", "llms", "openai_compat",
        ...                      "OpenAICompatibleLLM"]}
        >>> is_declared(serialized, "vllm"), is_declared(serialized, "openaicompatible")
        (True, False)
    """
    ids = (
        serialized.get("id")
        if type(serialized) is dict or isinstance(serialized, Mapping)
        else None
    )
    if not isinstance(ids, list) or len(ids) < 2 or not all(isinstance(i, str) for i in ids):
        return False
    key = tuple(ids)
    default = _defaults.get(key)
    if default is None:
        try:
            cls = _model_class(key)
            default = _UNKNOWN if cls is None else _base_default(cls)
        except Exception:  # an odd model class: treat its provider as undeclared
            default = _UNKNOWN
        with _lock:
            if len(_defaults) >= _MAX_CACHED:
                _defaults.clear()
            _defaults[key] = default
    return default is not _UNKNOWN and default != ls_provider
