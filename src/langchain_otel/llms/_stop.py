"""Stop sequences, shared by every model of this package.

Stop sequences (the rule, applied identically to every path):

1. The output is cut after the earliest stop sequence it contains, keeping the sequence
   (:func:`~langchain_otel.llms._stop.cut_at_stop`), whether or not the server honoured
   ``stop``. On streams the cut is applied as text arrives, so the stream ends at the stop
   sequence.
2. OpenAI (and most servers) *strip* the matched stop sequence. When the answer ended with
   ``finish_reason == "stop"``, stop sequences were requested and the text contains none of
   them, the stripped sequence is appended if it can be known:

   - the server names it (vLLM's ``choices[0].stop_reason``): that sequence, or nothing
     when it reports ``null`` / a token id (the model ended on its own);
   - otherwise, exactly one distinct stop sequence was requested: that one;
   - otherwise (several sequences, no ``stop_reason``): nothing is appended; we never guess.

   OpenAI's ``finish_reason="stop"`` also covers a natural end of the text, and nothing in its
   answer tells the two apart, so with a single stop sequence and a server that reports no
   ``stop_reason`` a natural end gets the sequence appended too. Turn
   ``restore_stripped_stop`` off on the model when that matters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["MISSING", "TextFolder", "apply_stop", "cut_at_stop", "stripped_stop"]


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


class _Missing:
    """The server did not send the field at all (distinct from an explicit null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def stripped_stop(
    text: str, stop: Sequence[str] | None, finish_reason: str | None, stop_reason: Any = MISSING
) -> str:
    """The stop sequence the server stripped from ``text``, or ``""`` (see the module rule).

    Example:
        >>> stripped_stop("hello world", ["."], "stop")
        '.'
        >>> stripped_stop("hello world", [".", "!"], "stop")
        ''
        >>> stripped_stop("hello world", [".", "!"], "stop", stop_reason="!")
        '!'
        >>> stripped_stop("hello world", ["."], "length")
        ''
    """
    if finish_reason != "stop" or not stop:
        return ""
    sequences = [s for s in dict.fromkeys(stop) if s]
    if not sequences or any(s in text for s in sequences):
        return ""
    if stop_reason is not MISSING:
        return stop_reason if isinstance(stop_reason, str) and stop_reason in sequences else ""
    return sequences[0] if len(sequences) == 1 else ""


def apply_stop(
    text: str,
    stop: Sequence[str] | None,
    finish_reason: str | None,
    stop_reason: Any,
    restore: bool,
) -> str:
    cut = cut_at_stop(text, stop)
    if cut != text or not restore:
        return cut
    return text + stripped_stop(text, stop, finish_reason, stop_reason)


@dataclass
class TextFolder:
    """Streamed text, cut after the earliest stop sequence (kept) as pieces arrive.

    Example:
        >>> folder = TextFolder(["."])
        >>> folder.emit("Hi"), folder.emit(". Bye"), folder.emit("more"), folder.text
        ('Hi', '.', '', 'Hi.')
    """

    stop: Sequence[str] | None
    restore: bool = True
    text: str = ""
    cut: bool = False
    """The text was cut at a stop sequence; later pieces are ignored."""

    def emit(self, piece: str) -> str:
        """Take one piece; return the new text to hand out (maybe ``""``)."""
        if self.cut or not piece:
            return ""
        combined = self.text + piece
        cut = cut_at_stop(combined, self.stop)
        if cut != combined or (self.stop and any(s and s in cut for s in self.stop)):
            self.cut = True
        new = cut[len(self.text) :]
        self.text = cut
        return new

    def tail(self, finish_reason: str | None, stop_reason: Any = MISSING) -> str:
        """The stripped stop sequence to append at the end (see the module rule), or ``""``."""
        if self.cut or not self.restore:
            return ""
        return stripped_stop(self.text, self.stop, finish_reason, stop_reason)
