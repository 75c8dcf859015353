import langchain_otel
import langchain_otel.callbacks
import langchain_otel.environment_variables
import langchain_otel.exceptions
import langchain_otel.llms
import langchain_otel.processors
import langchain_otel.testing

MODULES = (
    langchain_otel,
    langchain_otel.callbacks,
    langchain_otel.environment_variables,
    langchain_otel.exceptions,
    langchain_otel.llms,
    langchain_otel.processors,
    langchain_otel.testing,
)


def _public_names(module: object) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith("langchain_otel")
    }


def test_all_is_sorted_and_complete() -> None:
    """Every public module's __all__ is sorted and lists what it defines or re-exports."""
    for module in MODULES:
        exported = [name for name in module.__all__ if name != "__version__"]
        assert exported == sorted(exported), module.__name__
        assert _public_names(module) <= set(module.__all__), module.__name__
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_every_public_name_has_a_docstring_with_an_example() -> None:
    """Docstrings on every public name carry a short example."""
    for module in MODULES:
        for name in module.__all__:
            if name == "__version__":
                continue
            value = getattr(module, name)
            if isinstance(value, str):  # constants: documented in the module docstring
                assert "Example" in (module.__doc__ or ""), module.__name__
                continue
            doc = value.__doc__ or ""
            assert "Example" in doc, f"{module.__name__}.{name} lacks an example"
