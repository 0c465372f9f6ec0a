"""One interface for the formats a run leaves harvester in (pip-audit's ``_format/`` shape).

A format turns one stored model (:class:`ModelRecord`) into a :class:`Piece` (``render``: pure, so the
models of a large run are rendered by several processes) and lays the pieces out in an
:class:`Output` (``write``: one document, a file or stdout, or a folder of files). A run of 100,000
models never sits in memory. Adding a format is one module and one line in ``formats/__init__.py``.
"""

from __future__ import annotations

import re
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TextIO

from harvester.files import OutputError, check_output, open_atomic
from harvester.read.facts import Facts
from harvester.store.sqlite import Run

Cells = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class ModelRecord:
    """A stored model as formats read it: its twelve cells and the facts they were scored from."""

    model_id: str
    cells: Cells
    facts: Facts | None  # None: a curated model with no Hub card (rules/models)


@dataclass(frozen=True)
class Piece:
    """What one model becomes in a format (plain data: it travels between processes)."""

    model_id: str
    text: str  # the model's file (folder formats), or its part of the document
    name: str | None = None  # folder formats: the file's name under the folder
    shared: tuple[tuple[str, str], ...] = ()  # (key, text) parts several models share, written once
    summary: Any = None  # what the document's summary counts (the MOF class, …)


class Output:
    """Where an export goes: ``folder`` → one file per model under ``path``; else one document at
    ``path`` (``None`` or ``-``: stdout), written whole or not at all. A path that cannot be written is
    refused before any work, as one line (``OutputError``)."""

    def __init__(self, path: str | None, folder: bool = False) -> None:
        self.path = None if path in (None, "-") else Path(path)
        self.folder = folder
        if folder:
            if self.path is None:
                raise OutputError("this export writes one file per model: give --out FOLDER (or --bundle)")
            if self.path.exists() and not self.path.is_dir():
                raise OutputError(f"{self.path}: not a folder (one file per model is written into it)")
            if not self.path.parent.is_dir():
                raise OutputError(f"{self.path}: folder {self.path.parent} does not exist")
        elif self.path is not None:
            check_output(str(self.path))

    @contextmanager
    def document(self) -> Iterator[TextIO]:
        if self.path is None:
            yield sys.stdout
            sys.stdout.flush()
            return
        with open_atomic(self.path) as fh:
            yield fh

    def put(self, name: str, text: str) -> None:
        """One file of a folder export; ``name`` is relative (``ORG/NAME.cdx.json``)."""
        assert self.path is not None
        target = self.path / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, "utf-8")
        except OSError as exc:
            raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from exc


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_name(model_id: str, suffix: str) -> str:
    """``ORG/NAME`` → ``ORG/NAME<suffix>``, every part made safe as a file name (no ``..``, no separators)."""
    parts = [(_UNSAFE.sub("_", p).lstrip(".") or "_") for p in model_id.split("/") if p]
    return "/".join(parts or ["_"]) + suffix


class Format(ABC):
    """One output format. ``folder``: whether it writes one file per model (else one document)."""

    name: ClassVar[str]
    folder: bool = False

    def begin(self, run: Run) -> None:  # noqa: B027 - optional hook
        """Per-run state, set up in every process that renders (caches of shared parts)."""

    @abstractmethod
    def render(self, rec: ModelRecord) -> Piece:
        """One model; pure (no I/O), so that models can be rendered in several processes."""

    def write(self, run: Run, pieces: Iterable[Piece], out: Output) -> int:
        """Lay the pieces out; returns how many models were written."""
        if self.folder:
            count = 0
            for p in pieces:
                out.put(p.name or file_name(p.model_id, ".txt"), p.text)
                count += 1
            return count
        with out.document() as fh:
            return self.document(run, pieces, fh)

    def document(self, run: Run, pieces: Iterable[Piece], fh: TextIO) -> int:
        raise NotImplementedError(f"{self.name} writes one file per model")
