"""A host that is down is one fatal error, fast; a model that fails is that model's failure only."""

from __future__ import annotations

import socket
import sqlite3
import time

import httpx
import pytest

from harvester.cli import main
from harvester.fetch.guard import HostDown, HostGuard
from harvester.fixture_hub.server import serve
from tests.conftest import FIXTURES

FAST = ["--outage-after", "1", "--backoff", "0.05", "-q"]


def _closed_port() -> str:
    """A loopback address nothing listens on: every connection is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize("selection", ["author", "models"])
def test_an_unreachable_hub_is_one_fatal_line(selection, tmp_path, capsys):
    url = _closed_port()
    models = tmp_path / "m.txt"
    models.write_text("acme/a\nacme/b\nacme/c\nacme/d\n")
    pick = ["--author", "EleutherAI"] if selection == "author" else ["--models", str(models)]
    t0 = time.monotonic()
    code = main(["crawl", "--db", str(tmp_path / "o.db"), "--hf-endpoint", url, "--github-endpoint", url,
                 *pick, *FAST])
    took = time.monotonic() - t0
    err = capsys.readouterr().err
    assert code == 1 and took < 60
    assert err.count("\n") == 1 and err.startswith(f"harvester: {url}: host down (ConnectError: ")
    assert "run 1 failed, 0 models stored" in err
    assert ("tried model listing" in err) if selection == "author" else ("tried model acme/" in err)
    with sqlite3.connect(tmp_path / "o.db") as con:
        status, summary = con.execute("SELECT status, summary FROM runs").fetchone()
    assert status == "failed" and "host down" in summary
    assert capsys.readouterr().out == ""


def test_github_down_stops_the_run_instead_of_scoring_every_cell_unknown(tmp_path, capsys):
    gh = _closed_port()
    with serve(FIXTURES) as hub:
        code = main(["crawl", "--db", str(tmp_path / "g.db"), "--hf-endpoint", hub.url, "--github-endpoint", gh,
                     *FAST])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith(f"harvester: {gh}: host down") and "tried GET /repos/" in err


def _refused(url: str) -> httpx.ConnectError:
    return httpx.ConnectError("[Errno 111] Connection refused", request=httpx.Request("GET", url))


def _status(code: int) -> httpx.HTTPStatusError:
    req = httpx.Request("GET", "http://hub/x")
    return httpx.HTTPStatusError(str(code), request=req, response=httpx.Response(code, request=req))


def test_the_guard_trips_only_on_a_sustained_host_wide_failure():
    now = [0.0]
    g = HostGuard("http://hub", window_s=10, clock=lambda: now[0])
    g.ok()  # the host answered once
    for _ in range(40):  # one model's requests fail for a minute: that model's problem, not the host's
        now[0] += 1.5
        g.failed(_status(503), "model acme/broken")
    assert g.down is None
    g2 = HostGuard("http://hub", window_s=10, clock=lambda: now[0])
    for i in range(20):  # many models fail, but good answers come in between: transient faults
        now[0] += 1
        g2.failed(_refused("http://hub"), f"model acme/m{i}")
        if i % 4 == 3:
            g2.ok()
        g2.failed(_status(404), "model acme/missing")  # a 404 is an answer too
    assert g2.down is None
    g3 = HostGuard("http://hub", window_s=10, clock=lambda: now[0])
    with pytest.raises(HostDown) as caught:
        for i in range(20):
            now[0] += 1
            g3.failed(_refused("http://hub"), f"model acme/m{i % 5}")
    assert caught.value.endpoint == "http://hub" and "all 11 attempts of the last 10 s failed" in str(caught.value)
    with pytest.raises(HostDown):
        g3.check()  # every later request fails at once, without touching the network


def test_a_long_backoff_does_not_delay_the_verdict():
    """The window can end while every request waits out its backoff: the wait itself declares the host down."""
    g = HostGuard("http://hub", window_s=0.3, min_failures=2)
    for _ in range(2):
        g.failed(_refused("http://hub"), "model listing")  # within the window: not yet a verdict
    assert g.down is None
    t0 = time.monotonic()
    with pytest.raises(HostDown):
        g.sleep(30)  # a backoff late in the retries; the host has never answered
    assert time.monotonic() - t0 < 2
