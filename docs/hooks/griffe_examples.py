"""Griffe extension: render our docstrings as written.

- The project writes Google-style ``Example:`` sections (doctests). Griffe only treats
  the plural ``Examples:`` as code examples; the singular would render as Markdown, where
  ``>>>`` becomes a quote and ``x[0]`` a link. The title is renamed before parsing.
- Sphinx roles (``:func:`~langchain_otel.instrument```) become inline code (`instrument`).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

__all__ = ["ExampleSections"]

_EXAMPLE = re.compile(r"^(?P<indent>[ \t]*)Example:[ \t]*$", re.MULTILINE)
_ROLE = re.compile(r":(?:func|class|meth|attr|mod|data|exc|obj):`(?P<tilde>~?)(?P<target>[^`]+)`")


def _role(match: re.Match[str]) -> str:
    target = match.group("target")
    return f"`{target.rsplit('.', 1)[-1] if match.group('tilde') else target}`"


class ExampleSections(griffe.Extension):
    """Rename ``Example:`` sections to ``Examples:``; Sphinx roles to inline code."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Called by griffe for every object it loads."""
        if obj.docstring is not None:
            value = _EXAMPLE.sub(r"\g<indent>Examples:", obj.docstring.value)
            obj.docstring.value = _ROLE.sub(_role, value)
