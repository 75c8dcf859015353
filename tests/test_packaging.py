from importlib.metadata import version

import langchain_otel


def test_version_matches_metadata() -> None:
    """__version__ is the installed distribution's version."""
    assert langchain_otel.__version__ == version("langchain-otel")


def test_py_typed_is_shipped() -> None:
    """The package declares its type hints (PEP 561)."""
    from importlib.resources import files

    assert files("langchain_otel").joinpath("py.typed").is_file()
