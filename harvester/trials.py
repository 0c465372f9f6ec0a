"""Signal trials: stop real crawls with SIGINT / SIGTERM at random points and check how they end.

``python -m harvester.trials`` (``make trial-signals``) serves N corpus models on a loopback fixture
hub with a per-request latency, prepares a store that holds two complete nightly runs of an earlier
state of that hub, and then, for each signal and each of P random points (one in each P-th of a
clean crawl's duration, so that listing, load and the end of the run are all hit), starts a crawl
as its own process, sends the signal and checks:

- the process exits within ``--deadline`` seconds, with 130 (SIGINT) or 143 (SIGTERM), one line on
  stderr and no traceback;
- ``export`` and ``diff`` with no ``--run`` ignore the interrupted run (the table is still the last
  complete run's, the digest still compares the two complete runs);
- the rerun of the same crawl resumes the interrupted run and ends ``complete`` with the clean table,
  and the store passes ``PRAGMA integrity_check``.

The last line printed is one JSON object with the figures. ``make test`` runs a bounded version
(``tests/test_signals.py``); this is the full trial.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harvester.fixture_hub.corpus import Corpus
from harvester.fixture_hub.server import Faults, serve
from harvester.ids import is_hub_id

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def pick_models(corpus: Path, n: int) -> list[str]:
    """``n`` corpus models spread over the MANIFEST (most-liked and hand-picked alike), in a fixed order."""
    rows = [line.split("\t")[0] for line in (corpus / "models" / "MANIFEST.tsv").read_text("utf-8").splitlines()[1:]]
    ids = [m for m in rows if is_hub_id(m) and (corpus / "models" / m / "README.md").is_file()
           and not m.startswith("unidentified/")]
    step = max(1, len(ids) // n)
    return ids[::step][:n]


def a_night_earlier(c: Corpus) -> Corpus:
    """The same hub a night earlier: every model at another commit (so tonight's crawl fetches them all)."""
    for repo in c.models.values():
        repo.meta = {**repo.meta, "sha": hashlib.sha1(b"yesterday\0" + repo.id.encode()).hexdigest()}
    return c


def cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harvester", *args], capture_output=True, text=True,
                          timeout=timeout)


def crawl_cmd(db: Path, url: str) -> list[str]:
    return [sys.executable, "-m", "harvester", "crawl", "--db", str(db), "--hf-endpoint", url,
            "--github-endpoint", url, "--quiet"]


def export(db: Path, *extra: str) -> str:
    out = cli("export", "--db", str(db), *extra)
    if out.returncode != 0:
        raise RuntimeError(f"export failed: {out.stderr.strip()}")
    return out.stdout


def statuses(db: Path) -> list[str]:
    with sqlite3.connect(db) as con:
        return [r[0] for r in con.execute("SELECT status FROM runs ORDER BY id")]


def stored(db: Path, run_id: int) -> int:
    with sqlite3.connect(db) as con:
        return int(con.execute("SELECT COUNT(*) FROM harvests WHERE run_id = ?", (run_id,)).fetchone()[0])


@dataclass
class Trial:
    signal: str
    delay_s: float
    exit_s: float
    code: int
    stderr: str
    phase: str  # what the crawl was doing: startup, listing, under load, finishing
    models_kept: int
    export_ignored_interrupted: bool
    diff_first_line: str
    rerun_code: int
    rerun_statuses: list[str]
    rerun_table_clean: bool
    integrity: str

    def ok(self, deadline: float) -> bool:
        want = 128 + signal.Signals[self.signal]
        lines = self.stderr.strip().splitlines()
        return (self.exit_s <= deadline and self.code == want and len(lines) == 1 and "Traceback" not in self.stderr
                and self.export_ignored_interrupted and "changes from run 1 to run 2" in self.diff_first_line
                and self.rerun_code == 0 and self.rerun_statuses[-1] == "complete" and self.rerun_table_clean
                and self.integrity == "ok")


def run_trial(sig: signal.Signals, delay: float, baseline: Path, work: Path, url: str, clean: str,
              before: str) -> Trial:
    db = work / f"trial-{sig.name}-{delay:.2f}.db"
    shutil.copy(baseline, db)
    proc = subprocess.Popen(crawl_cmd(db, url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    sent = time.monotonic()
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    exit_s = time.monotonic() - sent
    runs = statuses(db)
    kept = stored(db, 3) if len(runs) >= 3 else 0
    phase = ("startup (no run yet)" if len(runs) < 3 else "listing or first requests" if kept == 0
             else "finishing" if kept >= 0.9 * int(os.environ.get("_TRIAL_N", "120")) else "under load")
    ignored = export(db) == before
    diff = cli("diff", "--db", str(db)).stdout.splitlines()
    rerun = subprocess.run(crawl_cmd(db, url), capture_output=True, text=True, timeout=600)
    with sqlite3.connect(db) as con:
        integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    return Trial(sig.name, round(delay, 2), round(exit_s, 2), proc.returncode, err, phase, kept, ignored,
                 diff[0] if diff else "", rerun.returncode, statuses(db), export(db) == clean, integrity)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m harvester.trials", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", type=Path, default=CORPUS, help="corpus folder (default: ../shared/corpus)")
    p.add_argument("--models", type=int, default=120, help="corpus models served (default: 120)")
    p.add_argument("--latency-ms", type=float, default=200.0, help="latency of every answer (default: 200)")
    p.add_argument("--points", type=int, default=8, help="random points per signal (default: 8)")
    p.add_argument("--signals", default="SIGINT,SIGTERM", help="signals to send (default: SIGINT,SIGTERM)")
    p.add_argument("--deadline", type=float, default=10.0, help="seconds a stop may take (default: 10)")
    p.add_argument("--seed", type=int, default=13, help="seed of the random points (default: 13)")
    args = p.parse_args(argv)
    if not (args.corpus / "models").is_dir():
        print(f"trials: {args.corpus}: no corpus here", file=sys.stderr)
        return 1
    os.environ["_TRIAL_N"] = str(args.models)
    rng = random.Random(args.seed)
    models = pick_models(args.corpus, args.models)
    results: list[Trial] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        baseline = work / "baseline.db"
        with serve(a_night_earlier(Corpus(args.corpus, models=set(models)))) as old:  # two complete nights before
            for _ in range(2):
                subprocess.run(crawl_cmd(baseline, old.url), check=True, capture_output=True, timeout=600)
        before = export(baseline)
        today = Corpus(args.corpus, models=set(models))
        with serve(today, faults=Faults(latency_s=args.latency_ms / 1000)) as hub:
            shutil.copy(baseline, work / "clean.db")
            t0 = time.monotonic()
            subprocess.run(crawl_cmd(work / "clean.db", hub.url), check=True, capture_output=True, timeout=600)
            full_s = time.monotonic() - t0
            clean = export(work / "clean.db")
            print(f"clean crawl of {len(models)} models at {args.latency_ms:g} ms latency: {full_s:.1f} s",
                  file=sys.stderr)
            for name in args.signals.split(","):
                sig = signal.Signals[name.strip()]
                span = 0.9 * full_s / args.points
                for i in range(args.points):  # one random point in each slice of the crawl
                    delay = 0.2 + i * span + rng.random() * span
                    t = run_trial(sig, delay, baseline, work, hub.url, clean, before)
                    results.append(t)
                    print(f"{t.signal} at {t.delay_s:5.2f} s ({t.phase}, {t.models_kept} kept): exit {t.code} in "
                          f"{t.exit_s:.2f} s; stderr: {t.stderr.strip()!r}; rerun {t.rerun_statuses[-1]}, "
                          f"table {'clean' if t.rerun_table_clean else 'DIFFERENT'}; "
                          f"{'ok' if t.ok(args.deadline) else 'FAILED'}", file=sys.stderr)
    summary: dict[str, Any] = {
        "models": len(models), "latency_ms": args.latency_ms, "clean_crawl_s": round(full_s, 1),
        "trials": len(results), "passed": sum(t.ok(args.deadline) for t in results),
        "max_exit_s": max(t.exit_s for t in results), "codes": sorted({t.code for t in results}),
        "phases": sorted({t.phase for t in results}), "tracebacks": sum("Traceback" in t.stderr for t in results),
        "details": [asdict(t) for t in results],
    }
    print(json.dumps(summary))
    return 0 if summary["passed"] == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
