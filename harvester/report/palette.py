"""Level colours shared by the HTML table and the plot (red = closed … green = open, grey = N/A, blue = ?)."""

from __future__ import annotations

LEVEL_COLOURS: dict[str, str] = {
    "1": "#b2182b",
    "2": "#ef8a62",
    "3": "#fddbc7",
    "4": "#a6dba0",
    "5": "#1b7837",
    "N/A": "#bdbdbd",
    "?": "#74add1",  # blue: off the red-green scale, apart from N/A's grey and from a white page
}
LEGEND: list[tuple[str, str]] = [
    ("C1 / D1", "fully closed: no public artifact"),
    ("D2", "weights only through a hosted API"),
    ("C2", "public code, highly restrictive license (0–1 points)"),
    ("C3 / D3", "public, moderately or highly restrictive license"),
    ("C4 / D4", "public, slightly restrictive license (4 points)"),
    ("C5 / D5", "public and restriction free (5 points)"),
    ("N/A", "the stage does not apply to this model"),
    ("?", "applicable, but public evidence does not settle it"),
]
ORDER = ["1", "2", "3", "4", "5", "N/A", "?"]


def colour(level: str) -> str:
    return LEVEL_COLOURS.get(level[-1] if level[:1] in ("C", "D") else level, "#ffffff")


def rank(level: str) -> str:
    """The scale position of a level: C3 and D3 share one colour and one bar segment."""
    return level[-1] if level[:1] in ("C", "D") else level
