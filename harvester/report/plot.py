"""The distribution of levels per component across a run's models (like the source paper's Figure 4)."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path
from typing import Any

from harvester.levels import COMPONENTS
from harvester.report.palette import LEVEL_COLOURS, ORDER, rank

_LABELS = {"1": "C1/D1", "2": "C2/D2", "3": "C3/D3", "4": "C4/D4", "5": "C5/D5", "N/A": "N/A", "?": "?"}


def counts(cells: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {c: Counter() for c in COMPONENTS}
    for row in cells.values():
        for comp in COMPONENTS:
            if comp in row:
                out[comp][rank(row[comp]["level"])] += 1
    return out


def render(cells: dict[str, dict[str, dict[str, Any]]], fmt: str = "png", title: str = "") -> bytes:
    """Stacked horizontal bars, one per component, share of models at each level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = counts(cells)
    total = max(1, len(cells))
    fig, ax = plt.subplots(figsize=(9, 5.2), dpi=110)
    comps = list(reversed(COMPONENTS))
    left = [0.0] * len(comps)
    for key in ORDER:
        widths = [100.0 * data[c][key] / total for c in comps]
        ax.barh([c.replace("_", " ") for c in comps], widths, left=left, color=LEVEL_COLOURS[key],
                edgecolor="#555555", linewidth=0.4, label=_LABELS[key])
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"share of models (%), n = {len(cells)}")
    ax.set_title(title or "Openness levels per component")
    ax.legend(ncol=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize=8, frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt)
    plt.close(fig)
    return buf.getvalue()


def write(cells: dict[str, dict[str, dict[str, Any]]], out: Path, title: str = "") -> None:
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in ("png", "svg"):
        raise ValueError(f"{out}: the plot is written as .png or .svg")
    out.write_bytes(render(cells, fmt, title))
