"""mkdocs hook: reference pages generated from the code, never written by hand.

``generated_pages()`` maps a page path (relative to ``docs/``) to its Markdown; the hook
adds each page to the site, and ``tests/test_docs.py`` checks the nav against it. A page
appears only when the module it documents exists, so the site builds at every stage.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["generated_pages", "on_files"]


def _import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


_GENERATORS: dict[str, Callable[[], str | None]] = {}


def generated_pages() -> dict[str, str]:
    """Every generated page whose source module exists: ``{path: markdown}``."""
    pages: dict[str, str] = {}
    for path, generate in _GENERATORS.items():
        content = generate()
        if content is not None:
            pages[path] = content
    return pages


def on_files(files: Any, config: Any) -> Any:
    """The mkdocs `on_files` event: add the generated pages to the site."""
    from mkdocs.structure.files import File  # noqa: PLC0415 - only mkdocs needs it

    for path, content in generated_pages().items():
        files.append(File.generated(config, path, content=content))
    return files
