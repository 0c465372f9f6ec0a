"""Shared test fixtures: a network guard, the fixture hub on loopback, the shared corpus."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from harvester.fixture_hub.corpus import Corpus
from harvester.fixture_hub.server import FixtureHub, serve

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
CORPUS = ROOT.parent / "shared" / "corpus"
REFERENCE = ROOT.parent / "shared" / "reference"

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> object:
    host = address[0] if isinstance(address, tuple) else None
    if isinstance(host, str):
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = host == "localhost"
        if not ok:
            raise RuntimeError(f"test tried to reach the network: {address!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never touch the network (any non-loopback connect fails the test), nor the user's own
    rules folder (``~/.config/harvester/rules``): each reads an empty one of its own."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.setenv("HARVESTER_RULES", str(tmp_path_factory.mktemp("user-rules")))


@pytest.fixture(scope="session")
def fixture_hub() -> Iterator[FixtureHub]:
    with serve(FIXTURES) as hub:
        yield hub


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "models").is_dir():
        pytest.skip("../shared/corpus is not present")
    return CORPUS


POPULAR = "YinanWusoymilk/hf-readme@"
"""MANIFEST ``index_id`` prefix of the most-liked Hub models (Dec 2024); other rows were hand-picked."""


def corpus_sample(corpus: Path, every: int = 30) -> list[str]:
    """Every hand-picked corpus model (paper models, licence situations, card shapes) and every
    ``every``-th of the most-liked ones: the corpus's variety at a fraction of a whole-corpus crawl,
    which belongs to ``make bench`` and the corpus report, not to ``make test``."""
    rows = [line.split("\t") for line in (corpus / "models" / "MANIFEST.tsv").read_text("utf-8").splitlines()[1:]]
    picked = [r[0] for r in rows if not r[1].startswith(POPULAR)]
    popular = [r[0] for r in rows if r[1].startswith(POPULAR)]
    ids = [i for i in picked + popular[::every] if not i.startswith("unidentified/")]
    return list(dict.fromkeys(ids))


@pytest.fixture(scope="session")
def corpus_hub(corpus: Path) -> Iterator[FixtureHub]:
    with serve(Corpus(corpus, models=set(corpus_sample(corpus)))) as hub:
        yield hub


EXPORT_PINS = ("BAAI/bge-en-icl", "EleutherAI/pythia-1.4b-deduped", "TheBloke/Llama-2-7B-Chat-GPTQ",
               "allenai/OLMo-7B", "mistralai/Mistral-7B-v0.1")
"""Corpus models whose MOF components the tests pin (tests/test_mof.py)."""


@pytest.fixture(scope="session")
def corpus_export_db(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of the pinned models and a quarter of the corpus sample, crawled once for the export tests."""
    from harvester.cli import main

    ids = list(dict.fromkeys([*EXPORT_PINS, *corpus_sample(corpus)[::4]]))
    tmp = tmp_path_factory.mktemp("export")
    (tmp / "models.txt").write_text("\n".join(ids) + "\n")
    db = tmp / "c.db"
    assert main(["crawl", "--db", str(db), "--serve-fixtures", str(corpus), "--models", str(tmp / "models.txt")]) == 0
    return db
