"""A scored cell and the evidence behind it (taxonomy.md §4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Evidence:
    source: str  # URL or file the value was read from
    raw: str  # the value as seen
    rule: str  # the rule that fired
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # keys in sorted order: stored evidence is compared byte for byte between runs
        if self.note is None:
            return {"raw": self.raw, "rule": self.rule, "source": self.source}
        return {"note": self.note, "raw": self.raw, "rule": self.rule, "source": self.source}


@dataclass(frozen=True)
class Cell:
    level: str
    license: str | None = None
    points: int | None = None
    answers: dict[str, bool] | None = None
    evidence: tuple[Evidence, ...] = field(default=())


@dataclass(frozen=True)
class ReviewItem:
    """License evidence nobody could identify: one row of the review queue."""

    component: str
    key: str  # what groups identical evidence: "raw:<folded>" / "url:<url>" / "text:<sha>"
    raw: str
    source: str
    reason: str | None
    hint: str | None
