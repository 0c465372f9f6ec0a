"""Formats behind one interface (``interface.Format``): CycloneDX AI BOMs, and the MOF as a table.

``export`` is the one dispatch the CLI calls for them; the taxonomy's own CSV/JSON/Markdown/HTML are
rendered by ``harvester.report.export``.
"""

from __future__ import annotations

from harvester.licenses.normalize import Normalizer
from harvester.report.formats.cyclonedx import CycloneDx
from harvester.report.formats.interface import Format, ModelRecord, Output, Piece
from harvester.report.formats.mof import Mof
from harvester.report.formats.reading import pieces, records
from harvester.score.knowledge import Knowledge
from harvester.score.mof import default_spec
from harvester.store.sqlite import Run, Store

FRAMEWORKS = ("taxonomy", "mof")


def make(fmt: str, framework: str, k: Knowledge, n: Normalizer, bundle: bool = False) -> Format | None:
    """The format object for ``--format``/``--framework``, or None for the taxonomy's own tables."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r} (choose from {', '.join(FRAMEWORKS)})")
    if fmt == "cyclonedx":
        return CycloneDx(k, n, default_spec(), bundle)
    if framework == "mof":
        return Mof(k, n, default_spec(), fmt)
    return None


def export(store: Store, run: Run, fmt: Format, out: Output, k: Knowledge, curated: bool = False,
           workers: int | None = None) -> int:
    """Write ``run`` in ``fmt`` to ``out``; returns the models written. ``workers``: processes that render
    (default: one per core, up to four, for runs of 2,000 models or more)."""
    return fmt.write(run, pieces(store, run, fmt, k, curated, workers=workers), out)


__all__ = ["FRAMEWORKS", "CycloneDx", "Format", "ModelRecord", "Mof", "Output", "Piece", "export", "make", "pieces",
           "records"]
