"""The command line explains itself and refuses bad input in one line, before anything is written."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from harvester import __version__
from harvester.cli import build_parser, main
from tests.conftest import FIXTURES


def _subparsers(p: argparse.ArgumentParser, path: str = "harvester") -> list[tuple[str, argparse.ArgumentParser]]:
    out = [(path, p)]
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sp in action.choices.items():
                out += _subparsers(sp, f"{path} {name}")
    return out


def test_every_command_and_option_has_help_text():
    """sqlite-utils' habit: a command or option without help fails here, not in a user's terminal."""
    missing = []
    for path, p in _subparsers(build_parser()):
        if path != "harvester" and not p.description:
            missing.append(path)
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                missing += [f"{path} {c.dest}" for c in action._choices_actions if not c.help]
            elif not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_help_shows_defaults_and_version(capsys):
    assert main(["crawl", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--workers N           models harvested at a time (default: 8)" in text
    assert "--timeout S           seconds per request (default: 30.0)" in text
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"harvester {__version__}\n"


def test_global_options_before_or_after_the_command_and_json_alias(tmp_path, capsys):
    db = str(tmp_path / "g.db")
    assert main(["-q", "crawl", "--db", db, "--serve-fixtures", str(FIXTURES)]) == 0
    first = capsys.readouterr()
    assert main(["crawl", "--db", db, "--serve-fixtures", str(FIXTURES), "--quiet"]) == 0
    second = capsys.readouterr()
    assert first.out == second.out == "" and first.err == second.err == ""
    assert main(["runs", "show", "2", "--db", db, "--json"]) == 0
    alias = json.loads(capsys.readouterr().out)
    assert main(["runs", "show", "2", "--db", db, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == alias and alias["summary"]["models_carried"] == 9


def _one_line_refusal(capsys, argv: list[str], code: int = 2) -> str:
    assert main(argv) == code
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1 and "Traceback" not in out.err, out
    return out.err


def test_bad_inputs_are_one_line_and_write_nothing(tmp_path, capsys):
    db = tmp_path / "b.db"
    crawl = ["crawl", "--db", str(db)]
    err = _one_line_refusal(capsys, [*crawl, "--serve-fixtures", "/nonexistent"])
    assert "argument --serve-fixtures: /nonexistent: no such folder" in err
    err = _one_line_refusal(capsys, [*crawl, "--serve-fixtures", str(tmp_path)])
    assert "not a corpus folder (no models/ inside" in err
    err = _one_line_refusal(capsys, [*crawl, "--limit", "0"])
    assert "argument --limit: 0 is out of range (needs at least 1)" in err
    assert "argument --workers" in _one_line_refusal(capsys, [*crawl, "--workers", "0"])
    assert "argument --timeout" in _one_line_refusal(capsys, [*crawl, "--timeout", "-1"])
    assert "argument --outage-after" in _one_line_refusal(capsys, [*crawl, "--outage-after", "nan"])
    assert "argument --hf-endpoint" in _one_line_refusal(capsys, [*crawl, "--hf-endpoint", "huggingface.co"])
    assert "argument --rate: 'hub_api=-1': expected" in _one_line_refusal(
        capsys, [*crawl, "--serve-fixtures", str(FIXTURES), "--rate", "hub_api=-1"])
    assert "argument --port" in _one_line_refusal(capsys, ["fixture-hub", "--root", str(FIXTURES), "--port", "70000"])
    assert "argument --root: /nonexistent: no such folder" in _one_line_refusal(
        capsys, ["fixture-hub", "--root", "/nonexistent"])
    assert not db.exists() and not Path(str(db) + ".lock").exists()


def test_out_that_cannot_be_written_is_one_line_and_leaves_no_litter(tmp_path, capsys):
    db = tmp_path / "o.db"
    assert main(["crawl", "--db", str(db), "--serve-fixtures", str(FIXTURES), "-q"]) == 0
    folder = tmp_path / "out"
    folder.mkdir()

    def files() -> list[Path]:  # the store's own -wal/-shm/.lock files come and go with its connections
        return sorted(p for p in tmp_path.rglob("*") if not p.name.startswith("o.db"))

    before = files()
    export = ["export", "--db", str(db), "--out"]
    assert "is a folder; give a file name" in _one_line_refusal(capsys, [*export, str(folder)])
    assert "folder /nonexistent/dir does not exist" in _one_line_refusal(capsys, [*export, "/nonexistent/dir/t.csv"])
    if os.geteuid() == 0:  # root writes anywhere the filesystem allows: /proc allows nothing
        unwritable = Path("/proc/harvester-test.csv")
        err = _one_line_refusal(capsys, [*export, str(unwritable)], code=1)
        assert err.startswith(f"harvester: {unwritable}: cannot write: ")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        before = files()
        err = _one_line_refusal(capsys, [*export, str(locked / "t.csv")])
        assert "not writable" in err
    assert "is a folder" in _one_line_refusal(capsys, ["plot", "--db", str(db), "--out", str(folder)])
    assert files() == before  # no .tmp file, no folder made
    assert main([*export, str(folder / "t.csv"), "-q"]) == 0  # and a good path works
    assert [p.name for p in folder.iterdir()] == ["t.csv"]
