"""SQL views over the store with stable column names: ``sqlite3`` or ``datasette harvester.db`` users read
results without harvester. The tables may change between versions; these names and columns do not
(a column may be added, none renamed or removed). README "Reading the store with SQL" documents them.

``runs`` is the store's own table, so the view of runs is ``run_summary``.
"""

from __future__ import annotations

import sqlite3

from harvester.levels import COMPONENTS
from harvester.licenses.rules import ANSWER_KEYS

_PIVOT = ",\n  ".join(f"MAX(CASE WHEN component = '{c}' THEN level END) AS {c}" for c in COMPONENTS)
_ANSWERS = ",\n  ".join(f"CASE WHEN answers IS NULL THEN NULL WHEN json_extract(answers, '$.{a}') THEN 1 ELSE 0 END"
                        f" AS {a}" for a in ANSWER_KEYS)

VIEWS: dict[str, str] = {
    # one row per model and run: the twelve cells, exactly as `harvester export --format csv`
    "taxonomy": f"""SELECT run_id, model_id,
  {_PIVOT}
FROM cells GROUP BY run_id, model_id""",
    # one row per piece of evidence behind a cell
    "cells_evidence": """SELECT c.run_id, c.model_id, c.component, c.level, c.license, c.points,
  CAST(e.key AS INTEGER) AS evidence_index,
  json_extract(e.value, '$.source') AS source, json_extract(e.value, '$.raw') AS raw,
  json_extract(e.value, '$.rule') AS rule, json_extract(e.value, '$.note') AS note
FROM cells c, json_each(c.evidence) e""",
    # one row per cell that has a licence: the SPDX expression, its points and its five answers (1/0)
    "licenses": f"""SELECT run_id, model_id, component, level, license, points,
  {_ANSWERS}
FROM cells WHERE license IS NOT NULL""",
    # the queue of licences nobody could identify, one row per piece of evidence and run
    "review_queue": """SELECT run_id, evidence_key, MIN(raw) AS raw, MIN(reason) AS reason, MIN(hint) AS hint,
  COUNT(DISTINCT model_id) AS models_affected, group_concat(DISTINCT model_id) AS model_ids,
  group_concat(DISTINCT component) AS components, MIN(source) AS example_source
FROM review GROUP BY run_id, evidence_key""",
    # one row per run: when, how it ended, and what it holds
    "run_summary": """SELECT r.id AS run_id, r.started_at, r.finished_at, r.status, r.scope,
  (SELECT COUNT(*) FROM harvests h WHERE h.run_id = r.id) AS models,
  (SELECT COUNT(*) FROM failures f WHERE f.run_id = r.id) AS models_failed,
  (SELECT COUNT(DISTINCT evidence_key) FROM review v WHERE v.run_id = r.id) AS review_keys,
  r.params AS params_json, r.summary AS summary_json
FROM runs r""",
}


def ensure_views(db: sqlite3.Connection) -> None:
    """Create the views, or replace those whose definition changed; nothing is written when all are current."""
    have = {name: sql for name, sql in db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'")}
    stale = [(name, body) for name, body in VIEWS.items() if have.get(name) != f"CREATE VIEW {name} AS {body}"]
    if not stale:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        for name, body in stale:
            db.execute(f"DROP VIEW IF EXISTS {name}")
            db.execute(f"CREATE VIEW {name} AS {body}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
