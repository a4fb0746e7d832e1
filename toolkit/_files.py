"""Files that appear whole or not at all.

Every file the toolkit writes (CSV, workbook, report, snapshot) goes through
:func:`write_atomically`: the content is written beside the target under a dot-name, and
only a complete, flushed file is renamed over the target. A failure (a full disk, a folder
that cannot be written, an exception in the writer) leaves the previous file untouched and
raises :class:`WriteError` naming the target. A process that is stopped by a signal while a
file is being written removes the unfinished dot-file first (:func:`remove_unfinished`,
called by the command line's signal handler).
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

#: Dot-files being written right now; a stopping process removes them (see remove_unfinished).
_UNFINISHED: set[Path] = set()

#: Failures that mean "no room", whatever the platform calls them.
_NO_ROOM = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


class WriteError(OSError):
    """A file could not be written; whatever was at its path before is left as it was.

    An :class:`OSError` with the ``errno`` of the underlying failure and ``filename`` set
    to the file that was to be written.
    """

    def __str__(self) -> str:
        reason = self.strerror or "failed"
        if self.errno in _NO_ROOM:
            reason += " (the disk is full or a file-size limit was reached)"
        path = Path(str(self.filename))
        # Only a file that is there is "left as it was"; of one that never was, nothing is made.
        left = f"{path.name} is left as it was" if path.is_file() else "nothing was written"
        return f"cannot write {self.filename}: {reason}; {left}"


def write_atomically(target: str | os.PathLike[str], write: Callable[[IO[Any]], object], *,
                     binary: bool = False, encoding: str = "utf-8", newline: str | None = None) -> Path:
    """Write ``target`` through ``write(handle)`` so that a failure never leaves half a file.

    The content goes to a dot-file beside ``target`` (which readers and globs skip), is
    flushed to disk, given the mode an ordinary write would give, and renamed over
    ``target`` in one step. On any failure the dot-file is removed.

    Returns
    -------
    pathlib.Path
        ``target``.

    Raises
    ------
    WriteError
        An :class:`OSError` of the file system (full disk, no permission, a folder that
        does not exist or a file where a folder should be, ``target`` being a folder), with
        ``target`` named; the file that was at ``target`` is unchanged.
    """
    target = Path(target)
    directory = target.parent if str(target.parent) else Path(".")
    _check_folder(directory, target)
    if target.is_dir():
        raise WriteError(errno.EISDIR, "it is a folder, not a file", str(target))
    options: dict[str, Any] = {} if binary else {"encoding": encoding, "newline": newline}
    # Registered before it exists, so that a signal arriving at any moment finds it.
    unfinished = directory / f".{target.name}.{secrets.token_hex(6)}.tmp"
    _UNFINISHED.add(unfinished)
    try:
        descriptor = os.open(unfinished, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb" if binary else "w", **options) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(unfinished, _file_mode(target))
        os.replace(unfinished, target)
    except OSError as exc:
        unfinished.unlink(missing_ok=True)
        raise WriteError(exc.errno, exc.strerror or str(exc), str(target)) from exc
    except BaseException:
        unfinished.unlink(missing_ok=True)
        raise
    finally:
        _UNFINISHED.discard(unfinished)
    return target


def remove_unfinished() -> None:
    """Remove every dot-file still being written (for a process about to stop at once)."""
    for path in list(_UNFINISHED):
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass  # the process stops either way; the dot-file is hidden from readers


def _check_folder(directory: Path, target: Path) -> None:
    """Raise :class:`WriteError` unless ``directory`` is an existing folder.

    A missing folder is not created, as pandas' own writers do not create one: a mistyped
    path would otherwise leave folders wherever the typo points (even at the root).
    """
    if directory.is_dir():
        return
    blocking = next((folder for folder in (directory, *directory.parents)
                     if folder.exists() and not folder.is_dir()), None)
    if blocking is not None:
        raise WriteError(errno.ENOTDIR, f"{blocking} is a file, not a folder", str(target))
    raise WriteError(errno.ENOENT, f"its folder {directory} does not exist (create it first)", str(target))


def _file_mode(target: Path) -> int:
    """The mode an ordinary write would give: the old file's, else 0o666 less the umask."""
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask
