"""The taxonomy's components and scale (``shared/spec/taxonomy.md`` §1–§3), in one place."""

from __future__ import annotations

COMPONENTS: tuple[str, ...] = (
    "pretraining_code",
    "finetuning_code",
    "alignment_code",
    "pretraining_data",
    "sft_data",
    "alignment_data",
    "general_eval_code",
    "safety_eval_code",
    "utility_benchmark_data",
    "safety_eval_data",
    "inference_code",
    "weights",
)
KIND: dict[str, str] = {c: ("code" if c.endswith("_code") else "data") for c in COMPONENTS}
NA = "N/A"
UNKNOWN = "?"
LEVELS: frozenset[str] = frozenset(
    {f"C{i}" for i in range(1, 6)} | {f"D{i}" for i in range(1, 6)} | {NA, UNKNOWN}
)


def level_for_points(component: str, points: int) -> str:
    """Points → level (taxonomy.md §3): code 0–1 C2, 2–3 C3, 4 C4, 5 C5; data 0–3 D3, 4 D4, 5 D5."""
    if not 0 <= points <= 5:
        raise ValueError(f"points out of range: {points}")
    if KIND[component] == "code":
        return "C2" if points <= 1 else "C3" if points <= 3 else f"C{points}"
    return "D3" if points <= 3 else f"D{points}"


def closed(component: str) -> str:
    """C1/D1: no public artifact exists."""
    return "C1" if KIND[component] == "code" else "D1"


def is_valid(component: str, level: str) -> bool:
    if level in (NA, UNKNOWN):
        return True
    if level not in LEVELS:
        return False
    return level[0] == ("C" if KIND[component] == "code" else "D")
