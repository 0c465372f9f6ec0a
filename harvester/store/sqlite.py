"""SQLite store: every run, the evidence it harvested and the cells it scored.

Evidence bundles are content-addressed (``blobs``), so a nightly run over an unchanged hub adds
rows, not copies. Each model is committed in one transaction: a crash never leaves half a model.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from harvester.harvest import Harvest
from harvester.read.facts import Facts
from harvester.score.cells import Cell, ReviewItem
from harvester.store.views import ensure_views

SCHEMA_VERSION = 4

FINISHED = ("complete", "partial", "interrupted", "failed")
"""How a run ended: every model of its selection stored; some failed; stopped by a signal (or killed);
stopped by a fatal error. A run still being written is ``running``."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,              -- running | complete | partial | interrupted | failed
    params TEXT NOT NULL,              -- JSON
    summary TEXT,                      -- JSON
    scope TEXT,                        -- the selection: runs of one scope cover the same models
    derived_from INTEGER               -- rescore: the run whose evidence this run re-scored
);
CREATE TABLE IF NOT EXISTS blobs (sha TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS harvests (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    model_id TEXT NOT NULL,
    model_sha TEXT,
    bundle TEXT NOT NULL REFERENCES blobs(sha),
    carried_from INTEGER,              -- NULL: harvested by this run; else the run that harvested it
    PRIMARY KEY (run_id, model_id)
);
CREATE TABLE IF NOT EXISTS cells (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    model_id TEXT NOT NULL,
    component TEXT NOT NULL,
    level TEXT NOT NULL,
    license TEXT,
    points INTEGER,
    answers TEXT,
    evidence TEXT NOT NULL,
    PRIMARY KEY (run_id, model_id, component)
);
CREATE TABLE IF NOT EXISTS failures (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    model_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (run_id, model_id)
);
CREATE TABLE IF NOT EXISTS review (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    model_id TEXT NOT NULL,
    component TEXT NOT NULL,
    evidence_key TEXT NOT NULL,
    raw TEXT NOT NULL,
    source TEXT,
    reason TEXT,
    hint TEXT
);
CREATE INDEX IF NOT EXISTS review_key ON review (evidence_key);
CREATE INDEX IF NOT EXISTS review_model ON review (run_id, model_id);
-- v2: incremental crawls
CREATE TABLE IF NOT EXISTS latest (          -- the newest harvest of every model, whatever run
    model_id TEXT PRIMARY KEY,
    run_id INTEGER NOT NULL,
    model_sha TEXT,
    bundle TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS http_cache (      -- conditional requests across runs (ETag -> body)
    key TEXT PRIMARY KEY,
    etag TEXT NOT NULL,
    blob TEXT NOT NULL
);
-- v3: facts read from each evidence bundle, per version of the reading rules
CREATE TABLE IF NOT EXISTS facts (
    bundle TEXT NOT NULL REFERENCES blobs(sha),
    reader TEXT NOT NULL,
    data TEXT NOT NULL REFERENCES blobs(sha),
    PRIMARY KEY (bundle, reader)
);
-- v4: card problems per run, carried with the model (a carried card keeps its problems visible)
CREATE TABLE IF NOT EXISTS card_problems (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    model_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    carried_from INTEGER
);
CREATE INDEX IF NOT EXISTS card_problems_run ON card_problems (run_id, model_id);
"""
_V4_COLUMNS = (("runs", "scope", "TEXT"), ("runs", "derived_from", "INTEGER"), ("harvests", "carried_from", "INTEGER"))


def _cell_rows(run_id: int, model_id: str, cells: dict[str, Cell]) -> list[tuple[Any, ...]]:
    return [(run_id, model_id, comp, c.level, c.license, c.points,
             json.dumps(c.answers) if c.answers is not None else None,
             orjson.dumps([e.to_dict() for e in c.evidence]).decode())  # to_dict's keys are in sorted order
            for comp, c in cells.items()]


def scored_rows(run_id: int, scored: list[tuple[str, dict[str, Cell], list[ReviewItem]]]
                ) -> tuple[list[str], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(model ids, cell rows, review rows) of scored models: plain tuples, cheap to send between processes."""
    return ([m for m, _, _ in scored], [row for m, cells, _ in scored for row in _cell_rows(run_id, m, cells)],
            [(run_id, m, r.component, r.key, r.raw, r.source, r.reason, r.hint) for m, _, review in scored
             for r in review])


class StoreError(RuntimeError):
    pass


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Run:
    id: int
    started_at: str
    finished_at: str | None
    status: str
    params: dict[str, Any]
    summary: dict[str, Any] | None
    scope: str = "all"
    derived_from: int | None = None

    def label(self) -> str:
        """``run 7 (complete, all)``: how messages name a run."""
        return f"run {self.id} ({self.status}, {self.scope})"


class Store:
    def __init__(self, path: str | Path, create: bool = True) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._group_started: float | None = None
        self._sp = 0
        if not create and not Path(self.path).is_file():
            raise StoreError(f"{self.path}: no such store (run `harvester crawl --db {self.path}` first)")
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
            ensure_views(self.db)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot open the store: {exc}") from exc

    def close(self) -> None:
        """Fold the WAL back into the database file, so the file alone is the whole store: the workers'
        readers close first, so that the writer is the last connection and removes -wal and -shm."""
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for con in readers:
            with contextlib.suppress(sqlite3.Error):
                con.close()
        with contextlib.suppress(sqlite3.Error):
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.close()

    def _reader(self) -> sqlite3.Connection:
        """A read-only connection of this thread (WAL lets readers run beside the writer)."""
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30, check_same_thread=False)
            self._local.con = con
            with self._readers_lock:
                self._readers.append(con)
        return con

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        has = self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_version'").fetchone()
        row = self.db.execute("SELECT version FROM schema_version").fetchone() if has else None
        if row and row[0] > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: schema version {row[0]} is newer than this harvester ({SCHEMA_VERSION})")
        if row is not None and row[0] == SCHEMA_VERSION:
            return
        steps = [_SCHEMA]
        if row is None:
            steps.append(f"INSERT INTO schema_version VALUES ({SCHEMA_VERSION});")
        else:  # executescript commits on its own: the whole upgrade is one script, one transaction
            for table, column, kind in _V4_COLUMNS:
                if column not in {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}:
                    steps.append(f"ALTER TABLE {table} ADD COLUMN {column} {kind};")
            steps += [f"UPDATE schema_version SET version = {SCHEMA_VERSION};",
                      "INSERT OR IGNORE INTO latest SELECT model_id, run_id, model_sha, bundle FROM harvests "
                      "ORDER BY run_id DESC;",
                      "UPDATE runs SET status = 'complete' WHERE status = 'ok';"]
        self.db.executescript(f"BEGIN; {' '.join(steps)} COMMIT;")
        from harvester.selection import scope_of_params

        old = self.db.execute("SELECT id, params FROM runs WHERE scope IS NULL").fetchall()
        if old:
            with self.tx():
                self.db.executemany("UPDATE runs SET scope = ? WHERE id = ?",
                                    [(scope_of_params(json.loads(p)), i) for i, p in old])

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """All or nothing: a transaction, or a savepoint inside an open group commit."""
        if self._group_started is not None:
            self._sp += 1
            name = f"sp{self._sp}"
            self.db.execute(f"SAVEPOINT {name}")
            try:
                yield self.db
            except BaseException:
                self.db.execute(f"ROLLBACK TO {name}")
                self.db.execute(f"RELEASE {name}")
                raise
            else:
                self.db.execute(f"RELEASE {name}")
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    # -- group commit ---------------------------------------------------------------------------
    @contextmanager
    def group_commit(self, max_age_s: float = 0.25) -> Iterator[Callable[[], None]]:
        """Commit whole models in groups: each model stays all-or-nothing (a savepoint), but one
        commit covers the models finished within ``max_age_s``, so a crash loses at most that much
        work and the WAL is written once per group instead of once per model.

        Yields ``tick()``, to call after each model: it commits once the group is old enough.
        """
        def begin() -> None:
            self.db.execute("BEGIN IMMEDIATE")
            self._group_started = time.monotonic()

        def end() -> None:
            self._group_started = None
            self.db.execute("COMMIT")

        def tick() -> None:
            if self._group_started is not None and time.monotonic() - self._group_started >= max_age_s:
                end()
                begin()

        begin()
        try:
            yield tick
        except BaseException:
            end()  # every model in the group is complete: keep them
            raise
        else:
            end()

    # -- runs -----------------------------------------------------------------------------------
    @contextmanager
    def crawl_lock(self) -> Iterator[None]:
        """One crawl per store at a time. The OS drops the lock when the process dies, even on SIGKILL."""
        import fcntl

        path = Path(self.path + ".lock")
        with path.open("a+") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                raise StoreError(f"{self.path}: another crawl is running on this store ({path} is locked)") from exc
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def begin_run(self, params: dict[str, Any], scope: str = "all", derived_from: int | None = None) -> int:
        """A new run; runs left 'running' by a killed crawl are marked 'interrupted' (we hold the lock)."""
        with self.tx():
            self.db.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
            cur = self.db.execute(
                "INSERT INTO runs (started_at, status, params, scope, derived_from) VALUES (?, 'running', ?, ?, ?)",
                (_now(), json.dumps(params, sort_keys=True), scope, derived_from))
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        if status not in FINISHED:
            raise ValueError(f"not a final run status: {status!r}")
        with self.tx():
            self.db.execute("UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                            (_now(), status, json.dumps(summary, sort_keys=True), run_id))

    _RUN_COLUMNS = "id, started_at, finished_at, status, params, summary, scope, derived_from"

    @staticmethod
    def _run_row(r: tuple[Any, ...]) -> Run:
        return Run(r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]) if r[5] else None, r[6] or "all", r[7])

    def runs(self) -> list[Run]:
        return [self._run_row(r) for r in self.db.execute(f"SELECT {self._RUN_COLUMNS} FROM runs ORDER BY id")]

    def run(self, run_id: int | None = None) -> Run:
        """A run by id, or the last one."""
        if run_id is None:
            row = self.db.execute(f"SELECT {self._RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT 1").fetchone()
            if row is None:
                raise StoreError(f"{self.path}: no runs stored yet")
        else:
            row = self.db.execute(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise StoreError(f"{self.path}: no run {run_id}")
        return self._run_row(row)

    def latest_run(self, statuses: tuple[str, ...] = ("complete",), scope: str | None = None,
                   before: int | None = None) -> Run | None:
        """The newest run with one of ``statuses`` (of ``scope``, older than run ``before``), if any."""
        sql = f"SELECT {self._RUN_COLUMNS} FROM runs WHERE status IN ({', '.join('?' * len(statuses))})"
        args: list[Any] = list(statuses)
        if scope is not None:
            sql += " AND scope = ?"
            args.append(scope)
        if before is not None:
            sql += " AND id < ?"
            args.append(before)
        row = self.db.execute(sql + " ORDER BY id DESC LIMIT 1", args).fetchone()
        return self._run_row(row) if row else None

    def report_run(self, run_id: int | None = None) -> Run:
        """The run a report reads: ``run_id``, else the latest complete run (never an interrupted one)."""
        if run_id is not None:
            return self.run(run_id)
        run = self.latest_run()
        if run is None:
            last = self.run()  # raises when there is no run at all
            raise StoreError(f"{self.path}: no complete run yet (the latest, {last.label()}, is not complete); "
                             f"pass --run {last.id} to read it anyway")
        return run

    def last_scored_run(self) -> Run:
        """The run reports read by default: the latest complete run (see :meth:`report_run`)."""
        return self.report_run(None)

    def newer_runs(self, run_id: int) -> list[Run]:
        """Finished runs after ``run_id``: a report on an older complete run says they exist."""
        rows = self.db.execute(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id > ? AND status != 'running' "
                               "ORDER BY id", (run_id,))
        return [self._run_row(r) for r in rows]

    def resumable_run(self, params: dict[str, Any]) -> int | None:
        """The last run, if a crawl with the same parameters was stopped in it: we go on with it.

        Called under the crawl lock, so a run still marked 'running' belongs to a dead process.
        """
        row = self.db.execute("SELECT id, status, params FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        if row and row[1] in ("running", "interrupted") and json.loads(row[2]) == json.loads(
                json.dumps(params, sort_keys=True)):
            with self.tx():
                self.db.execute("UPDATE runs SET status = 'running', finished_at = NULL WHERE id = ?", (row[0],))
            return int(row[0])
        return None

    def counts(self, run_id: int) -> dict[str, int]:
        """What a run holds, counted from its rows: the summary's figures always agree with the tables."""
        harvested, carried = self.db.execute(
            "SELECT COUNT(*) - COUNT(carried_from), COUNT(carried_from) FROM harvests WHERE run_id = ?",
            (run_id,)).fetchone()
        failed = self.db.execute("SELECT COUNT(*) FROM failures WHERE run_id = ?", (run_id,)).fetchone()[0]
        problems = self.db.execute("SELECT COUNT(DISTINCT model_id) FROM card_problems WHERE run_id = ?",
                                   (run_id,)).fetchone()[0]
        return {"models_ok": harvested + carried, "models_harvested": harvested, "models_carried": carried,
                "models_failed": failed, "cards_with_problems": problems}

    def derive_run(self, source: Run, params: dict[str, Any]) -> int:
        """A new run over ``source``'s evidence (rescore): same models, failures and card problems;
        history is never rewritten."""
        run_id = self.begin_run(params, source.scope, derived_from=source.id)
        with self.tx():
            self.db.execute("INSERT INTO harvests SELECT ?, model_id, model_sha, bundle, "
                            "COALESCE(carried_from, run_id) FROM harvests WHERE run_id = ?", (run_id, source.id))
            self.db.execute("INSERT INTO failures SELECT ?, model_id, stage, reason FROM failures WHERE run_id = ?",
                            (run_id, source.id))
            self.db.execute("INSERT INTO card_problems SELECT ?, model_id, reason, COALESCE(carried_from, run_id) "
                            "FROM card_problems WHERE run_id = ?", (run_id, source.id))
        return run_id

    def adopt_latest(self, run_id: int) -> None:
        """Models of ``run_id`` become the newest harvest of their evidence (after a rescore), so that a
        crawl carrying an unchanged model forward carries its re-scored cells."""
        with self.tx():
            self.db.execute("UPDATE latest SET run_id = ? WHERE EXISTS (SELECT 1 FROM harvests h WHERE h.run_id = ? "
                            "AND h.model_id = latest.model_id AND h.bundle = latest.bundle)", (run_id, run_id))

    # -- blobs ----------------------------------------------------------------------------------
    def put_blob(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self.db.execute("INSERT OR IGNORE INTO blobs (sha, data) VALUES (?, ?)", (sha, data))
        return sha

    def get_blob(self, sha: str) -> bytes:
        row = self.db.execute("SELECT data FROM blobs WHERE sha = ?", (sha,)).fetchone()
        if row is None:
            raise StoreError(f"{self.path}: blob {sha} missing")
        return bytes(row[0])

    # -- per-model results ----------------------------------------------------------------------
    def save_model(self, run_id: int, harvest: Harvest, cells: dict[str, Cell],
                   review: Iterable[ReviewItem] = (), facts: Facts | None = None,
                   problems: Iterable[str] = ()) -> None:
        """Evidence, the facts read from it, cells, review items and card problems of one model, in one
        transaction."""
        with self.tx():
            bundle = self.put_blob(harvest.to_json().encode("utf-8"))
            if facts is not None:
                self._put_facts(bundle, facts)
            self.db.execute("INSERT OR REPLACE INTO harvests (run_id, model_id, model_sha, bundle) VALUES (?, ?, ?, ?)",
                            (run_id, harvest.model_id, harvest.model.sha, bundle))
            self.db.execute("DELETE FROM card_problems WHERE run_id = ? AND model_id = ?", (run_id, harvest.model_id))
            self.db.executemany("INSERT INTO card_problems (run_id, model_id, reason) VALUES (?, ?, ?)",
                                [(run_id, harvest.model_id, reason) for reason in problems])
            self.db.execute("INSERT OR REPLACE INTO latest VALUES (?, ?, ?, ?)",
                            (harvest.model_id, run_id, harvest.model.sha, bundle))
            self.db.execute("DELETE FROM failures WHERE run_id = ? AND model_id = ?", (run_id, harvest.model_id))
            self._write_cells(run_id, harvest.model_id, cells, review)

    def replace_cells(self, run_id: int, model_id: str, cells: dict[str, Cell],
                      review: Iterable[ReviewItem] = ()) -> None:
        self.replace_many(run_id, [(model_id, cells, list(review))])

    def replace_many(self, run_id: int, scored: list[tuple[str, dict[str, Cell], list[ReviewItem]]]) -> None:
        """Cells and review items of many models in one transaction and a few statements (rescore)."""
        self.replace_rows(run_id, *scored_rows(run_id, scored))

    def replace_rows(self, run_id: int, model_ids: list[str], cells: list[tuple[Any, ...]],
                     review: list[tuple[Any, ...]], facts: Iterable[tuple[str, Facts]] = ()) -> None:
        """Rows built by :func:`scored_rows` (perhaps in another process), and the facts read on the way,
        written in one transaction."""
        with self.tx():
            for bundle, f in facts:
                self._put_facts(bundle, f)
            ids = [(run_id, m) for m in model_ids]
            self.db.executemany("DELETE FROM cells WHERE run_id = ? AND model_id = ?", ids)
            self.db.executemany("DELETE FROM review WHERE run_id = ? AND model_id = ?", ids)
            self.db.executemany("INSERT INTO cells VALUES (?, ?, ?, ?, ?, ?, ?, ?)", cells)
            self.db.executemany("INSERT INTO review VALUES (?, ?, ?, ?, ?, ?, ?, ?)", review)

    def _write_cells(self, run_id: int, model_id: str, cells: dict[str, Cell], review: Iterable[ReviewItem]) -> None:
        self.db.execute("DELETE FROM cells WHERE run_id = ? AND model_id = ?", (run_id, model_id))
        self.db.execute("DELETE FROM review WHERE run_id = ? AND model_id = ?", (run_id, model_id))
        self.db.executemany("INSERT INTO cells VALUES (?, ?, ?, ?, ?, ?, ?, ?)", _cell_rows(run_id, model_id, cells))
        self.db.executemany(
            "INSERT INTO review VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(run_id, model_id, r.component, r.key, r.raw, r.source, r.reason, r.hint) for r in review],
        )

    def record_failure(self, run_id: int, model_id: str, stage: str, reason: str) -> None:
        with self.tx():
            self.db.execute("INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?)", (run_id, model_id, stage, reason))

    def failures(self, run_id: int) -> list[dict[str, str]]:
        rows = self.db.execute("SELECT model_id, stage, reason FROM failures WHERE run_id = ? ORDER BY model_id",
                               (run_id,))
        return [{"model_id": r[0], "stage": r[1], "reason": r[2]} for r in rows]

    def harvests(self, run_id: int, page: int = 500) -> Iterator[Harvest]:
        """A run's evidence bundles, read a page at a time (bounded memory at hub scale)."""
        for _model_id, bundle, _facts in self.bundles(run_id, None, page):
            yield Harvest.from_json(self.get_blob(bundle))

    def bundles(self, run_id: int, reader: str | None, page: int = 500, after: str = "",
                upto: str | None = None) -> Iterator[tuple[str, str, bytes | None]]:
        """(model id, bundle sha, facts read by ``reader`` or None) of a run's models after ``after`` up to
        ``upto``, a page at a time."""
        while True:
            rows = self.db.execute(
                "SELECT h.model_id, h.bundle, b.data FROM harvests h LEFT JOIN facts f ON f.bundle = h.bundle "
                "AND f.reader = ? LEFT JOIN blobs b ON b.sha = f.data WHERE h.run_id = ? AND h.model_id > ? "
                "AND (? IS NULL OR h.model_id <= ?) ORDER BY h.model_id LIMIT ?",
                (reader or "", run_id, after, upto, upto, page)).fetchall()
            if not rows:
                return
            for model_id, bundle, data in rows:
                yield model_id, bundle, bytes(data) if data is not None else None
            after = rows[-1][0]

    def put_facts(self, bundle: str, facts: Facts) -> None:
        with self.tx():
            self._put_facts(bundle, facts)

    def _put_facts(self, bundle: str, facts: Facts) -> None:
        data = self.put_blob(facts.to_json())
        self.db.execute("INSERT OR REPLACE INTO facts VALUES (?, ?, ?)", (bundle, facts.reader, data))

    def facts(self, run_id: int, model_id: str) -> Facts | None:
        """The newest facts stored for a model's bundle in a run (for ``explain``)."""
        row = self.db.execute(
            "SELECT b.data FROM harvests h JOIN facts f ON f.bundle = h.bundle JOIN blobs b ON b.sha = f.data "
            "WHERE h.run_id = ? AND h.model_id = ? ORDER BY f.rowid DESC LIMIT 1", (run_id, model_id)).fetchone()
        return Facts.from_json(row[0]) if row else None

    def harvest(self, run_id: int, model_id: str) -> Harvest | None:
        row = self.db.execute(
            "SELECT b.data FROM harvests h JOIN blobs b ON b.sha = h.bundle WHERE h.run_id = ? AND h.model_id = ?",
            (run_id, model_id)).fetchone()
        return Harvest.from_json(row[0]) if row else None

    def cells(self, run_id: int) -> dict[str, dict[str, dict[str, Any]]]:
        """``{model_id: {component: {level, license, points, answers, evidence}}}`` of a run."""
        out: dict[str, dict[str, dict[str, Any]]] = {}
        rows = self.db.execute(
            "SELECT model_id, component, level, license, points, answers, evidence FROM cells WHERE run_id = ? "
            "ORDER BY model_id", (run_id,))
        for model_id, comp, level, lic, points, answers, evidence in rows:
            out.setdefault(model_id, {})[comp] = {
                "level": level, "license": lic, "points": points,
                "answers": json.loads(answers) if answers else None, "evidence": json.loads(evidence),
            }
        return out

    def model_pages(self, run_id: int, reader: str, page: int = 500, after: str = "", upto: str | None = None
                    ) -> Iterator[list[tuple[str, str, bytes | None, dict[str, dict[str, Any]]]]]:
        """(model id, bundle sha, facts, cells) of a run's models after ``after`` up to ``upto``, a page at a
        time, for exports: a run of 100,000 models is read in bounded memory. Facts are those of ``reader``
        when stored, else the newest stored for the bundle (None when none is)."""
        while True:
            rows = self.db.execute(
                "SELECT h.model_id, h.bundle, (SELECT b.data FROM facts f JOIN blobs b ON b.sha = f.data "
                "WHERE f.bundle = h.bundle ORDER BY f.reader = ? DESC, f.rowid DESC LIMIT 1) "
                "FROM harvests h WHERE h.run_id = ? AND h.model_id > ? AND (? IS NULL OR h.model_id <= ?) "
                "ORDER BY h.model_id LIMIT ?", (reader, run_id, after, upto, upto, page)).fetchall()
            if not rows:
                return
            cells: dict[str, dict[str, dict[str, Any]]] = {}
            for model_id, comp, level, lic, points, answers, evidence in self.db.execute(
                    "SELECT model_id, component, level, license, points, answers, evidence FROM cells "
                    "WHERE run_id = ? AND model_id >= ? AND model_id <= ?", (run_id, rows[0][0], rows[-1][0])):
                cells.setdefault(model_id, {})[comp] = {
                    "level": level, "license": lic, "points": points,
                    "answers": json.loads(answers) if answers else None, "evidence": json.loads(evidence)}
            yield [(m, bundle, bytes(data) if data is not None else None, cells.get(m, {}))
                   for m, bundle, data in rows]
            after = rows[-1][0]

    def model_ranges(self, run_id: int, size: int = 500) -> list[tuple[str, str]]:
        """A run's model ids cut into (after, up to) ranges of ``size`` models: work for parallel exports."""
        ids = [r[0] for r in self.db.execute("SELECT model_id FROM harvests WHERE run_id = ? ORDER BY model_id",
                                             (run_id,))]
        return [("" if i == 0 else ids[i - 1], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]

    def review_items(self, run_id: int) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT model_id, component, evidence_key, raw, source, reason, hint FROM review WHERE run_id = ? "
            "ORDER BY evidence_key, model_id", (run_id,))
        keys = ("model_id", "component", "evidence_key", "raw", "source", "reason", "hint")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # -- incremental crawls ----------------------------------------------------------------------
    def latest_shas(self) -> dict[str, tuple[str | None, int]]:
        """model id -> (sha, run id) of its newest harvest."""
        return {r[0]: (r[1], r[2]) for r in self.db.execute("SELECT model_id, model_sha, run_id FROM latest")}

    def harvested_ids(self, run_id: int) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT model_id FROM harvests WHERE run_id = ?", (run_id,))}

    def copy_models(self, to_run: int, items: list[tuple[str, int]]) -> None:
        """Carry (model id, from run) rows into ``to_run``: the evidence is unchanged, so are its cells
        and its card problems (which stay visible, marked with the run that read the card)."""
        with self.tx():
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS carry (model_id TEXT, from_run INTEGER)")
            self.db.execute("DELETE FROM carry")
            self.db.executemany("INSERT INTO carry VALUES (?, ?)", items)
            origin = "COALESCE(t.carried_from, t.run_id)"
            for verb, table, select in (
                    ("INSERT OR REPLACE", "harvests", f"t.model_sha, t.bundle, {origin}"),
                    ("INSERT OR REPLACE", "cells", "t.component, t.level, t.license, t.points, t.answers, t.evidence"),
                    ("INSERT", "review", "t.component, t.evidence_key, t.raw, t.source, t.reason, t.hint"),
                    ("INSERT", "card_problems", f"t.reason, {origin}")):
                self.db.execute(f"{verb} INTO {table} SELECT ?, t.model_id, {select} FROM {table} t "
                                "JOIN carry c ON c.model_id = t.model_id AND c.from_run = t.run_id", (to_run,))

    def carry_forward(self, to_run: int, from_run: int) -> int:
        """Every model of ``from_run`` that ``to_run`` did not harvest itself (``--since`` runs)."""
        rows = self.db.execute(
            "SELECT model_id FROM harvests WHERE run_id = ? AND model_id NOT IN "
            "(SELECT model_id FROM harvests WHERE run_id = ?) AND model_id NOT IN "
            "(SELECT model_id FROM failures WHERE run_id = ?)", (from_run, to_run, to_run)).fetchall()
        self.copy_models(to_run, [(r[0], from_run) for r in rows])
        return len(rows)

    def card_problems(self, run_id: int) -> list[dict[str, Any]]:
        """``[{model_id, reasons, carried_from}]`` of a run, carried models included."""
        out: dict[str, dict[str, Any]] = {}
        rows = self.db.execute("SELECT model_id, reason, carried_from FROM card_problems WHERE run_id = ? "
                               "ORDER BY model_id, rowid", (run_id,))
        for model_id, reason, carried in rows:
            entry = out.setdefault(model_id, {"model_id": model_id, "reasons": [], "carried_from": carried})
            entry["reasons"].append(reason)
        return list(out.values())

    def add_card_problems(self, run_id: int, problems: dict[str, list[str]]) -> None:
        """Problems of repositories read for a run but not stored as its models (a base model's card)."""
        with self.tx():
            self.db.executemany("INSERT INTO card_problems (run_id, model_id, reason) VALUES (?, ?, ?)",
                                [(run_id, m, r) for m, reasons in problems.items() for r in reasons])

    def cache_get(self, key: str) -> tuple[str, bytes] | None:
        """(ETag, body) of an earlier answer; callable from any thread."""
        row = self._reader().execute(
            "SELECT c.etag, b.data FROM http_cache c JOIN blobs b ON b.sha = c.blob WHERE c.key = ?", (key,)).fetchone()
        return (row[0], bytes(row[1])) if row else None

    def cache_put(self, entries: list[tuple[str, str, bytes]]) -> None:
        with self.tx():
            for key, etag, data in entries:
                self.db.execute("INSERT OR REPLACE INTO http_cache VALUES (?, ?, ?)", (key, etag, self.put_blob(data)))

    def integrity(self) -> str:
        return str(self.db.execute("PRAGMA integrity_check").fetchone()[0])
