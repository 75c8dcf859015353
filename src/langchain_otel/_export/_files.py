"""Private files: the embedded default's folder ``0700``, its files ``0600``.

With content capture on, the telemetry files hold prompts and completions, so only their
owner may read them. A folder that already exists keeps its mode (the user chose it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

__all__ = ["FILE_MODE", "FOLDER_MODE", "make_private_folder", "open_private"]

FILE_MODE = 0o600
"""Mode of the files we create: with content capture on they hold prompts and completions."""

FOLDER_MODE = 0o700
"""Mode of the embedded default's folder when we create it (an existing one is left alone)."""


def open_private(path: Path) -> BinaryIO:
    """Open ``path`` for appending, creating it ``0600`` (an existing file keeps its mode).

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.jsonl"
        >>> with open_private(path) as file:
        ...     _ = file.write(b"{}")
        >>> oct(path.stat().st_mode & 0o777)
        '0o600'
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    return os.fdopen(descriptor, "ab")


def make_private_folder(path: Path) -> None:
    """Create ``path`` (and its parents) with the folder itself ``0700``; keep an existing one.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp()) / "telemetry"
        >>> make_private_folder(folder)
        >>> oct(folder.stat().st_mode & 0o777)
        '0o700'
    """
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=FOLDER_MODE, exist_ok=True)
