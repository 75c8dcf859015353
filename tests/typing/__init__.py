"""Type-checked uses of the public API (``nox -s typecheck``); never run."""
