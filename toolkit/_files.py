"""Files that appear whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def write_atomically(target: str | os.PathLike[str], write: Callable[[IO[Any]], object], *,
                     binary: bool = False, encoding: str = "utf-8", newline: str | None = None) -> Path:
    """Write ``target`` through ``write(handle)`` so that a crash never leaves half a file.

    The content goes to a dot-file beside ``target`` (which readers and globs skip), is
    flushed to disk, given the mode an ordinary write would give, and renamed over
    ``target`` in one step. On any failure the dot-file is removed.

    Returns
    -------
    pathlib.Path
        ``target``.
    """
    target = Path(target)
    directory = target.parent if str(target.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {} if binary else {"encoding": encoding, "newline": newline}
    handle = tempfile.NamedTemporaryFile("wb" if binary else "w", dir=directory, prefix=f".{target.name}.",
                                         suffix=".tmp", delete=False, **options)
    try:
        with handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, _file_mode(target))
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return target


def _file_mode(target: Path) -> int:
    """The mode an ordinary write would give: the old file's, else 0o666 less the umask."""
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask
