"""Files and directories that only their owner can read: the store, its journal, exports.

Created ``0700`` (directories) and ``0600`` (files); what exists already is left as it is
(its owner chose its mode).

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> private_dir(root / ".agentmem" / "journal")
>>> oct((root / ".agentmem").stat().st_mode & 0o777)
'0o700'
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> None:
    """Create ``path`` and each missing parent readable by its owner only (``0700``)."""
    missing: list[Path] = []
    current = path
    while not current.is_dir():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        # Made meanwhile by another thread or process: its mode is its maker's.
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=DIR_MODE)


def create_private_file(path: str | os.PathLike[str]) -> None:
    """Create ``path`` empty and readable by its owner only (``0600``) if it does not exist."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


__all__ = ["DIR_MODE", "FILE_MODE", "create_private_file", "private_dir"]
