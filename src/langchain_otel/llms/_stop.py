"""Stop sequences, shared by every model of this package."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["cut_at_stop"]


def cut_at_stop(text: str, stop: Sequence[str] | None) -> str:
    """Cut ``text`` after the earliest stop sequence, keeping the stop sequence itself.

    The earliest occurrence wins; among stop sequences that start at the same place, the
    longest is kept. Empty stop sequences are ignored.

    Example:
        >>> cut_at_stop("hello world. goodbye", ["."])
        'hello world.'
        >>> cut_at_stop("abc", None)
        'abc'
    """
    if not stop:
        return text
    best_end = -1
    best_start = len(text)
    for sequence in stop:
        if not sequence:
            continue
        start = text.find(sequence, 0, best_start + len(sequence))
        if start == -1:
            continue
        end = start + len(sequence)
        if start < best_start or (start == best_start and end > best_end):
            best_start, best_end = start, end
    return text if best_end == -1 else text[:best_end]
