"""Faults and hostile input: the same table under injected faults and after SIGKILL, nothing leaked."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.cards import parse_card
from harvester.cli import main
from harvester.fixture_hub.server import Faults, serve
from tests.conftest import ROOT, corpus_sample

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)) + "license: mit\n"
MALFORMED: dict[str, bytes] = {
    "broken-yaml": b"---\nlicense: [mit\ndatasets: : :\n---\n# x\n",
    "alias-bomb": ("---\n" + BOMB + "---\n# bomb\n").encode(),
    "list-front-matter": b"---\n- license\n- mit\n---\n# list\n",
    "scalar-front-matter": b"---\njust a sentence\n---\n# scalar\n",
    "wrong-types": b"---\nlicense: 123\ndatasets: {a: 1}\nbase_model: 7\ntags: 5\n---\n# types\n",
    "many-datasets": ("---\nlicense: mit\ndatasets:\n" + "".join(f"- org/ds-{i}\n" for i in range(3000))
                      + "---\n").encode(),
    "huge-card": b"---\nlicense: apache-2.0\n---\n" + b"lorem ipsum " * 500_000,
    "non-utf8": b"---\nlicense: mit\n---\n\xff\xfe caf\xe9 \x80\x81 na\xefve\n",
    "python-tag": b"---\nlicense: !!python/object/apply:os.system ['touch /tmp/harvester-pwned']\n---\n",
    "traversal": (b"---\nlicense: mit\ndatasets: ['../../../etc/passwd', 'a/b/c', '..']\nbase_model: ../../x\n---\n"
                  b"See https://github.com/../../etc and https://github.com/evil/..%2F..%2Fetc\n"),
    "scripts": (b"---\nlicense: \"<script>alert(1)</script>\"\nlicense_link: \"javascript:alert(1)\"\n---\n"
                b"<script>alert(2)</script> [x](javascript:alert(3))\n"),
}


def _hostile_corpus(corpus: Path, dest: Path) -> Path:
    """A sample of the corpus (every hand-picked card, some most-liked ones) plus the malformed cards."""
    for sub in ("datasets", "github"):
        shutil.copytree(corpus / sub, dest / sub)
    for model in corpus_sample(corpus):
        shutil.copytree(corpus / "models" / model, dest / "models" / model)
    for name, data in MALFORMED.items():
        d = dest / "models" / "malformed" / name
        d.mkdir(parents=True)
        (d / "README.md").write_bytes(data)
    return dest


def _good_ids(corpus: Path) -> list[str]:
    return corpus_sample(corpus)


def _export(db: Path, out: Path) -> dict[str, list[str]]:
    assert main(["export", "--db", str(db), "--out", str(out)]) == 0
    with out.open() as f:
        return {r[0]: r[1:] for r in list(csv.reader(f))[1:]}


@pytest.fixture(scope="module")
def hostile(corpus, tmp_path_factory) -> Path:
    return _hostile_corpus(corpus, tmp_path_factory.mktemp("hostile") / "corpus")


@pytest.fixture(scope="module")
def clean_table(hostile, tmp_path_factory) -> dict[str, list[str]]:
    tmp = tmp_path_factory.mktemp("clean")
    with serve(hostile) as hub:
        code = main(["crawl", "--db", str(tmp / "c.db"), "--hf-endpoint", hub.url, "--github-endpoint", hub.url])
        assert code == 0
        assert hub.stats["hub_api"] > 0
    return _export(tmp / "c.db", tmp / "c.csv")


def test_malformed_cards_are_partial_parses_with_reasons(hostile, clean_table, tmp_path, capsys):
    assert not Path("/tmp/harvester-pwned").exists()
    for name in MALFORMED:
        assert f"malformed/{name}" in clean_table  # every hostile card still gets its row
    with serve(hostile) as hub:
        db = tmp_path / "h.db"
        assert main(["crawl", "--db", str(db), "--hf-endpoint", hub.url, "--github-endpoint", hub.url,
                     "--author", "malformed"]) == 0
        # the fixture hub survived them all
        import httpx
        assert httpx.get(f"{hub.url}/api/models?limit=1").status_code == 200
        assert not [p for p in hub.paths if ".." in p or "etc/passwd" in p or "%2F.." in p]
    capsys.readouterr()
    assert main(["runs", "show", "--db", str(db), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    problems = {p["model_id"]: " ".join(p["reasons"]) for p in doc["summary"]["card_problems"]}
    expected = {
        "broken-yaml": "not valid YAML", "alias-bomb": "expands too far", "list-front-matter": "is a list",
        "scalar-front-matter": "is a str", "wrong-types": "license is int", "many-datasets": "3000 datasets",
        "huge-card": "larger than the read limit", "python-tag": "not valid YAML", "non-utf8": "not valid UTF-8",
    }
    for name, reason in expected.items():
        assert reason in problems.get(f"malformed/{name}", ""), (name, problems.get(f"malformed/{name}"))
    assert doc["summary"]["models_failed"] == 0
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_same_table_under_fault_rate_025(hostile, clean_table, corpus, tmp_path, capsys):
    faults = Faults(rate=0.25, seed=11, retry_after=0, stall_s=2.0)
    with serve(hostile, faults=faults) as hub:
        db = tmp_path / "f.db"
        code = main(["crawl", "--db", str(db), "--hf-endpoint", hub.url, "--github-endpoint", hub.url,
                     "--timeout", "0.5", "--backoff", "0.01", "--retries", "12"])
        injected = {k: v for k, v in hub.stats.items() if k.startswith("fault_")}
    assert code == 0
    assert sum(injected.values()) > 100 and len(injected) == 9  # every kind of fault was met
    faulty = _export(db, tmp_path / "f.csv")
    good = _good_ids(corpus)
    assert {m: faulty[m] for m in good} == {m: clean_table[m] for m in good}
    assert faulty == clean_table
    capsys.readouterr()
    main(["runs", "show", "--db", str(db), "--json"])
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary["retries_hub"] + summary["retries_github"] > 100


def test_a_listing_page_that_times_out_is_asked_again_smaller(tmp_path):
    """A page of card data costs the server time in proportion to its size; past the client's timeout,
    repeating the same request can never succeed (a whole-corpus crawl once failed that way)."""
    from harvester.fixture_hub.synthetic import synthetic_corpus

    with serve(synthetic_corpus(400, seed=5), faults=Faults(listing_item_s=0.005)) as hub:
        code = main(["crawl", "--db", str(tmp_path / "p.db"), "--hf-endpoint", hub.url, "--github-endpoint",
                     hub.url, "--timeout", "0.5", "--retries", "6", "--backoff", "0.01"])
        limits = [p.split("limit=")[1].split("&")[0] for p in hub.paths if p.startswith("/api/models?")]
    assert code == 0
    assert limits[0] == "1000" and limits[-1] == "62"  # halved until a page is served within 0.5 s
    with sqlite3.connect(tmp_path / "p.db") as con:
        assert con.execute("SELECT COUNT(*) FROM harvests").fetchone()[0] == 400


def test_sigkill_mid_run_then_rerun_resumes_and_gives_the_same_table(hostile, clean_table, corpus, tmp_path):
    db = tmp_path / "k.db"
    with serve(hostile, faults=Faults(latency_s=0.01)) as hub:
        cmd = [sys.executable, "-m", "harvester.cli", "crawl", "--db", str(db), "--hf-endpoint", hub.url,
               "--github-endpoint", hub.url]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        stored = 0
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            try:
                with sqlite3.connect(db, timeout=1) as con:
                    stored = con.execute("SELECT COUNT(*) FROM harvests").fetchone()[0]
            except sqlite3.Error:
                continue
            if stored >= 30:
                break
        assert proc.poll() is None, "the crawl finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert 30 <= stored < 150
        assert subprocess.run(cmd, env=env, capture_output=True).returncode == 0
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        statuses = [r[0] for r in con.execute("SELECT status FROM runs ORDER BY id")]
    assert statuses == ["complete"]  # the rerun went on with the killed run: one run, as if uninterrupted
    assert _export(db, tmp_path / "k.csv") == clean_table


def test_a_second_crawl_on_the_same_store_is_refused(tmp_path, fixture_hub):
    from harvester.store.sqlite import Store, StoreError

    db = tmp_path / "l.db"
    with Store(db) as a, a.crawl_lock(), Store(db) as b, pytest.raises(StoreError, match="another crawl"), \
            b.crawl_lock():
        pass


class _Canary(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # pragma: no cover - must never run
        _Canary.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


def test_links_in_cards_are_never_followed_to_loopback_or_private_hosts(tmp_path):
    canary = ThreadingHTTPServer(("127.0.0.1", 0), _Canary)
    Thread(target=canary.serve_forever, daemon=True).start()
    port = canary.server_address[1]
    hub_dir = tmp_path / "hub" / "models" / "evil" / "links"
    hub_dir.mkdir(parents=True)
    (hub_dir / "README.md").write_text(
        f"---\nlicense: other\nlicense_link: http://127.0.0.1:{port}/LICENSE\n"
        f"base_model: http://127.0.0.1:{port}/x\ndatasets: ['http://127.0.0.1:{port}/d']\n---\n"
        f"[a](http://127.0.0.1:{port}/a) <a href='http://169.254.169.254/latest/meta-data/'>m</a> "
        f"<img src='http://10.0.0.1/x.png'> https://github.com/evil/repo\n")
    try:
        with serve(tmp_path / "hub") as hub:
            assert main(["crawl", "--db", str(tmp_path / "s.db"), "--hf-endpoint", hub.url,
                         "--github-endpoint", hub.url]) == 0
            assert any(p.startswith("/repos/evil/repo") for p in hub.paths)  # GitHub only through its API
    finally:
        canary.shutdown()
    assert _Canary.hits == []


def test_tokens_go_only_to_their_own_host_and_are_never_stored_or_logged(tmp_path, monkeypatch, capfd, fixture_hub):
    from tests.conftest import FIXTURES

    with serve(FIXTURES) as gh:
        monkeypatch.setenv("HF_TOKEN", "hf_SECRETtoken123")
        monkeypatch.setenv("GITHUB_TOKEN", "ghp_SECRETtoken456")
        monkeypatch.setenv("HF_ENDPOINT", fixture_hub.url)
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        fixture_hub.auth_seen.clear()
        db = tmp_path / "t.db"
        assert main(["-v", "crawl", "--db", str(db)]) == 0
        assert fixture_hub.auth_seen.keys() <= {"hub_api", "hub_files"}
        assert set().union(*fixture_hub.auth_seen.values()) == {"Bearer hf_SECRETtoken123"}
        assert gh.auth_seen and gh.auth_seen.keys() <= {"github_rest", "github_graphql"}
        assert set().union(*gh.auth_seen.values()) == {"Bearer ghp_SECRETtoken456"}
        # an endpoint the operator did not configure gets no token (fails closed)
        fixture_hub.auth_seen.clear()
        gh.auth_seen.clear()
        assert main(["crawl", "--db", str(tmp_path / "u.db"), "--hf-endpoint", gh.url,
                     "--github-endpoint", fixture_hub.url]) == 0
        assert fixture_hub.auth_seen == {} and gh.auth_seen == {}
    out = capfd.readouterr()
    for secret in ("SECRETtoken123", "SECRETtoken456"):
        assert secret not in out.out + out.err
        assert secret.encode() not in db.read_bytes()
        for side in Path(str(db) + "-wal"), Path(str(db) + "-shm"):
            assert not side.exists() or secret.encode() not in side.read_bytes()


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=2000),
                 st.text(max_size=800).map(lambda s: ("---\n" + s + "\n---\nbody").encode("utf-8", "replace"))))
def test_front_matter_parser_never_raises(data):
    card = parse_card(data)
    assert isinstance(card.metadata, dict)
    json.dumps(card.metadata)  # always plain JSON
    assert card.error is None or isinstance(card.error, str)
