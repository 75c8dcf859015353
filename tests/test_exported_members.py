"""The public API is a pinned contract: every public module's exact ``__all__``.

Adding, removing or renaming a public name (or a public module) fails here until the pin
below is updated on purpose, together with the CHANGELOG.
"""

from __future__ import annotations

import importlib
import pkgutil
import warnings
from types import ModuleType

import pytest

import langchain_otel

PUBLIC_API: dict[str, list[str]] = {
    "langchain_otel": [
        "LangChainInstrumentor",
        "ModelPrice",
        "OTelCallbackHandler",
        "OTelLogsBridge",
        "Telemetry",
        "__version__",
        "add_otel_context",
        "configure",
        "get_config",
        "instrument",
        "is_configured",
        "is_instrumented",
        "reset_defaults",
        "shutdown",
        "uninstrument",
    ],
    "langchain_otel.callbacks": ["ModelPrice", "OTelCallbackHandler"],
    "langchain_otel.callbacks.handler": ["OTelCallbackHandler"],
    "langchain_otel.config": [
        "DEFAULT_DIRECTORY",
        "LANGCHAIN_OTEL_DIRECTORY",
        "Settings",
        "SignalSettings",
        "Telemetry",
        "configure",
        "get_config",
        "is_configured",
        "reset_defaults",
        "shutdown",
    ],
    "langchain_otel.environment_variables": [
        "LANGCHAIN_OTEL_DIRECTORY",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    ],
    "langchain_otel.exceptions": [
        "AuthenticationError",
        "ConfigurationError",
        "LLMConnectionError",
        "LLMError",
        "LLMResponseError",
        "LLMTimeoutError",
        "LangchainOtelError",
        "MissingDependencyError",
        "RateLimitError",
        "UpstreamHTTPError",
    ],
    "langchain_otel.llms": [
        "EchoChatModel",
        "EchoLLM",
        "OpenAICompatibleChatModel",
        "OpenAICompatibleLLM",
    ],
    "langchain_otel.llms.echo": ["EchoLLM"],
    "langchain_otel.llms.echo_chat": ["EchoChatModel"],
    "langchain_otel.llms.openai_chat": ["OpenAICompatibleChatModel"],
    "langchain_otel.llms.openai_compat": ["OpenAICompatibleLLM"],
    "langchain_otel.processors": ["OTelLogsBridge", "add_otel_context"],
    "langchain_otel.testing": ["CapturedTelemetry", "FakeClock", "capture_telemetry", "fake_clock"],
}
"""Module → its exact ``__all__``. Private modules (a part starting with ``_``) are not API."""

FACES = frozenset(
    {
        "langchain_otel",
        "langchain_otel.callbacks",
        "langchain_otel.environment_variables",
        "langchain_otel.exceptions",
        "langchain_otel.llms",
        "langchain_otel.processors",
        "langchain_otel.testing",
    }
)
"""The modules users import names from (the others are where those names are defined)."""


def _public_modules() -> list[str]:
    names = ["langchain_otel"]
    for info in pkgutil.walk_packages(langchain_otel.__path__, "langchain_otel."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return sorted(names)


def _module(name: str) -> ModuleType:
    return importlib.import_module(name)


def test_every_public_module_is_pinned() -> None:
    """The public modules are exactly the pinned ones (a new one must be pinned on purpose)."""
    assert _public_modules() == sorted(PUBLIC_API)


@pytest.mark.parametrize("name", sorted(PUBLIC_API))
def test_all_is_exactly_the_pinned_names(name: str) -> None:
    """Each public module's __all__ is exactly its pinned list, and every name exists."""
    module = _module(name)
    assert list(module.__all__) == PUBLIC_API[name]
    for member in module.__all__:
        assert hasattr(module, member), f"{name}.{member}"


@pytest.mark.parametrize("name", sorted(PUBLIC_API))
def test_all_is_sorted_and_lists_what_the_module_defines(name: str) -> None:
    """__all__ is sorted, and every public object a module defines or re-exports is in it."""
    module = _module(name)
    exported = [member for member in module.__all__ if member != "__version__"]
    assert exported == sorted(exported), name
    # A face module (the package, a subpackage, a public namespace) lists everything public
    # it holds; an implementation module lists what it defines (not its imports).
    origin = "langchain_otel" if name in FACES else name
    defined = {
        member
        for member, value in vars(module).items()
        if not member.startswith("_")
        and getattr(value, "__module__", "").startswith(origin)
        and not isinstance(value, ModuleType)
    }
    assert defined <= set(module.__all__), name


def test_top_level_all_is_sorted() -> None:
    """langchain_otel.__all__ is sorted (dunder names first, as sorted() puts them)."""
    assert langchain_otel.__all__ == sorted(langchain_otel.__all__)


@pytest.mark.parametrize("name", sorted(PUBLIC_API))
def test_every_public_name_has_a_docstring_with_an_example(name: str) -> None:
    """Docstrings on every public name carry a short example."""
    module = _module(name)
    for member in module.__all__:
        if member == "__version__":
            continue
        value = getattr(module, member)
        if isinstance(value, str):  # constants: documented in the module docstring
            assert "Example" in (module.__doc__ or ""), name
            continue
        assert "Example" in (value.__doc__ or ""), f"{name}.{member} lacks an example"


def test_one_home_per_public_object() -> None:
    """A re-exported object is the same object everywhere, defined in one public module."""
    from langchain_otel import config, processors

    assert langchain_otel.OTelLogsBridge is processors.OTelLogsBridge
    assert langchain_otel.OTelLogsBridge.__module__ == "langchain_otel.processors"
    assert config.OTelLogsBridge is processors.OTelLogsBridge  # the 0.1.0 import path
    assert "OTelLogsBridge" not in config.__all__
    assert langchain_otel.Telemetry is config.Telemetry


def test_testing_telemetry_is_a_deprecated_alias() -> None:
    """langchain_otel.testing.Telemetry still works for one release, with a warning."""
    from langchain_otel import testing

    with pytest.warns(DeprecationWarning, match=r"use langchain_otel\.testing\.CapturedTelemetry"):
        alias = testing.Telemetry
    assert alias is testing.CapturedTelemetry
    assert alias.__qualname__ == "CapturedTelemetry"  # not configure()'s Telemetry
    assert langchain_otel.Telemetry.__module__ == "langchain_otel.config"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from langchain_otel.testing import CapturedTelemetry  # the new name: no warning
    assert CapturedTelemetry is alias
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = testing.Nope
