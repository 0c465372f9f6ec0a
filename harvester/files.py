"""Files written whole or not at all: reports, exports and the reviewer's rules."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TextIO


class OutputError(Exception):
    """An output path that cannot be written (a folder, a missing folder, no permission): one line."""


def check_output(out: str) -> Path:
    """Refuse before any work is done: ``out`` must be a file in an existing, writable folder."""
    path = Path(out)
    if path.is_dir():
        raise OutputError(f"{out}: is a folder; give a file name")
    parent = path.parent
    if not parent.is_dir():
        raise OutputError(f"{out}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise OutputError(f"{out}: not writable")
    return path


def _mode_for(path: Path) -> int:
    """The mode the file would have had if written in place: its own if it exists, else 0666 & ~umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


@contextmanager
def _atomic(path: Path, binary: bool) -> Iterator[IO[Any]]:
    check_output(str(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="\n")) as fh:
            yield fh
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from exc
        raise


@contextmanager
def open_atomic(path: Path) -> Iterator[TextIO]:
    """A text file written as it goes, renamed over ``path`` when complete: a long export streams to it, and
    readers never see half a file."""
    with _atomic(path, binary=False) as fh:
        yield fh


def write_atomic(path: Path, data: str | bytes) -> None:
    """A temporary file beside the target, renamed over it: readers never see half a file, and a
    failure (or a signal) leaves nothing behind."""
    with _atomic(path, binary=True) as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
