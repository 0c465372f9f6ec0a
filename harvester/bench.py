"""``make bench``: speed measured as ratios side by side in one run; last line is one JSON object."""

from __future__ import annotations

import json
import time

from harvester.licenses.normalize import Normalizer
from harvester.licenses.rules import load_rules

SAMPLES = ["apache-2.0", "MIT", "Apache License, Version 2.0", "CC BY-NC-SA 4.0", "llama2", "other",
           "https://www.apache.org/licenses/LICENSE-2.0", "MIT OR Apache-2.0", "bigscience-openrail-m", "gpl-3.0"]


def bench_normalize(rounds: int = 20_000) -> float:
    """Strings per second, warm (the normaliser caches repeated strings, as a crawl repeats them)."""
    n = Normalizer(load_rules())
    for s in SAMPLES:
        n.normalize(s)
    t0 = time.perf_counter()
    for i in range(rounds):
        n.normalize(SAMPLES[i % len(SAMPLES)])
    return rounds / (time.perf_counter() - t0)


def main() -> None:
    result = {"normalize_per_s": round(bench_normalize())}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
