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


def bench_normalize_uncached(rounds: int = 5_000) -> float:
    """Strings per second with the cache bypassed: every call parses and looks up again."""
    n = Normalizer(load_rules())
    t0 = time.perf_counter()
    for i in range(rounds):
        n._normalize(SAMPLES[i % len(SAMPLES)])
    return rounds / (time.perf_counter() - t0)


def bench_identify_10kb_ms(rounds: int = 20) -> float:
    """Median milliseconds to identify a ~10 KB licence text (Apache-2.0 built from its rule phrases)."""
    n = Normalizer(load_rules())
    rule = n.rules.by_id["apache-2.0"]
    filler = " ".join(rule.text_all) + " "
    text = "Apache License\nVersion 2.0, January 2004\n" + (filler * (10_000 // len(filler) + 1))[:10_000]
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        assert n.identify_text(text).spdx == "Apache-2.0"
        times.append((time.perf_counter() - t0) * 1000)
    return sorted(times)[len(times) // 2]


def main() -> None:
    result = {
        "normalize_per_s": round(bench_normalize()),
        "normalize_uncached_per_s": round(bench_normalize_uncached()),
        "identify_10kb_ms": round(bench_identify_10kb_ms(), 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
