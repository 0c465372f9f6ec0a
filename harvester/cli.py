"""Command line: ``harvester crawl | export | rescore | explain | runs | licenses | fixture-hub``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from urllib.parse import urlsplit

from harvester.crawl import EXIT_FATAL, EXIT_OK, Crawler, Selection, read_model_list
from harvester.fetch.github import PUBLIC_API, GithubSource
from harvester.fetch.hub import PUBLIC_ENDPOINT, HubSource
from harvester.levels import COMPONENTS
from harvester.licenses.normalize import default_normalizer
from harvester.licenses.rules import RulesError
from harvester.score.knowledge import default_knowledge
from harvester.score.scorer import score
from harvester.store.sqlite import Store, StoreError


class UsageError(Exception):
    pass


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _token_for(endpoint: str, env: str, public: str) -> str | None:
    """A token goes only to its own service: the public host, or an endpoint the operator configured."""
    token = os.environ.get(env) or None
    configured = {PUBLIC_ENDPOINT: "HF_ENDPOINT", PUBLIC_API: "GITHUB_API_URL"}[public]
    if token and (_host(endpoint) == _host(public) or os.environ.get(configured, "").rstrip("/") == endpoint):
        return token
    return None


@contextmanager
def _endpoints(args: argparse.Namespace) -> Iterator[tuple[str, str, bool]]:
    """(hub endpoint, github endpoint, tokens allowed); ``--serve-fixtures`` runs a fixture hub."""
    if args.serve_fixtures:
        from harvester.fixture_hub.server import serve

        with serve(Path(args.serve_fixtures)) as hub:
            yield hub.url, hub.url, False
        return
    hf = (args.hf_endpoint or os.environ.get("HF_ENDPOINT") or PUBLIC_ENDPOINT).rstrip("/")
    gh = (args.github_endpoint or os.environ.get("GITHUB_API_URL") or PUBLIC_API).rstrip("/")
    yield hf, gh, True


def cmd_crawl(args: argparse.Namespace) -> int:
    models = None
    if args.models:
        path = Path(args.models)
        try:
            lines = sys.stdin if args.models == "-" else path.read_text("utf-8").splitlines()
        except OSError as exc:
            raise UsageError(f"--models {args.models}: {exc.strerror or exc}") from exc
        models = read_model_list(lines)
    sel = Selection(models=models, authors=args.author or [], search=args.search, filters=args.filter or [],
                    limit=args.limit)
    with _endpoints(args) as (hf, gh, tokens), Store(args.db) as store:
        hub = HubSource(hf, _token_for(hf, "HF_TOKEN", PUBLIC_ENDPOINT) if tokens else None)
        github = GithubSource(gh, _token_for(gh, "GITHUB_TOKEN", PUBLIC_API) if tokens else None)
        try:
            crawler = Crawler(store, hub, github)
            run_id, code = crawler.run(sel, {"hf_endpoint": hf, "github_endpoint": gh})
        finally:
            github.close()
        run = store.run(run_id)
        summary = run.summary or {}
        print(f"run {run_id}: {summary.get('models_ok', 0)} models harvested, "
              f"{summary.get('models_failed', 0)} failed ({run.status}) in {summary.get('seconds', 0)} s")
        for f in summary.get("failures", [])[:20]:
            print(f"  failed {f['model_id']}: {f['reason']}", file=sys.stderr)
        return code


def cmd_export(args: argparse.Namespace) -> int:
    from harvester.report.export import render

    with Store(args.db) as store:
        text = render(store, args.format, args.run)
    if args.out in (None, "-"):
        sys.stdout.write(text)
    else:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(out.suffix + ".tmp")
        tmp.write_text(text, "utf-8")
        tmp.replace(out)
        print(f"wrote {out} ({text.count(chr(10))} lines)")
    return EXIT_OK


def cmd_rescore(args: argparse.Namespace) -> int:
    k, n = default_knowledge(), default_normalizer()
    with Store(args.db) as store:
        run = store.run(args.run) if args.run else store.last_scored_run()
        count = 0
        for h in store.harvests(run.id):
            cells, review = score(h, k, n)
            store.replace_cells(run.id, h.model_id, cells, review)
            count += 1
    print(f"rescored {count} models of run {run.id}")
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    with Store(args.db) as store:
        run = store.run(args.run) if args.run else store.last_scored_run()
        cells = store.cells(run.id).get(args.model)
    if cells is None:
        raise UsageError(f"model {args.model!r} is not in run {run.id} of {args.db}")
    if args.json:
        print(json.dumps({"model_id": args.model, "run": run.id, "cells": cells}, indent=1))
        return EXIT_OK
    print(f"{args.model} (run {run.id})")
    for comp in COMPONENTS:
        c = cells[comp]
        lic = f" {c['license']} ({c['points']} points)" if c["license"] else ""
        print(f"  {comp:24} {c['level']:4}{lic}")
        for e in c["evidence"]:
            note = f" — {e['note']}" if e.get("note") else ""
            print(f"      {e['rule']}: {e['raw']!r} from {e['source']}{note}")
    return EXIT_OK


def cmd_runs(args: argparse.Namespace) -> int:
    with Store(args.db) as store:
        if args.action == "list":
            for r in store.runs():
                s = r.summary or {}
                ok, failed = s.get("models_ok", 0), s.get("models_failed", 0)
                print(f"{r.id}\t{r.started_at}\t{r.status}\t{ok} ok\t{failed} failed")
            return EXIT_OK
        run = store.run(args.run)
        doc = {"id": run.id, "started_at": run.started_at, "finished_at": run.finished_at, "status": run.status,
               "params": run.params, "summary": run.summary, "failures": store.failures(run.id)}
    print(json.dumps(doc, indent=1) if args.json else "\n".join(f"{k}: {v}" for k, v in doc.items()))
    return EXIT_OK


def cmd_licenses(args: argparse.Namespace) -> int:
    n = default_normalizer()
    inputs = args.text or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    for raw in inputs:
        r = n.normalize(raw)
        if args.json:
            print(json.dumps({"input": raw, "spdx": r.spdx, "status": r.status, "points": r.points,
                              "answers": r.answers, "rule": r.rule, "reason": r.reason, "hint": r.hint},
                             ensure_ascii=False))
        else:
            print(f"{raw}\t{r.spdx or '-'}\t{r.status}\t{r.points if r.points is not None else '-'}"
                  f"\t{r.rule or r.reason}")
    return EXIT_OK


def cmd_licenses_docs(args: argparse.Namespace) -> int:
    from harvester.licenses.docs import render
    from harvester.licenses.rules import load_rules

    text = render(load_rules())
    if args.out in (None, "-"):
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, "utf-8")
        print(f"wrote {args.out}")
    return EXIT_OK


def cmd_fixture_hub(args: argparse.Namespace) -> int:
    from harvester.fixture_hub.server import serve

    root = Path(args.root)
    if not root.is_dir():
        raise UsageError(f"--root {root}: not a folder")
    with serve(root, args.host, args.port) as hub:
        c = hub.corpus
        print(hub.url, flush=True)
        print(f"serving {len(c.models)} models, {len(c.datasets)} datasets, {len(c.github)} GitHub repos "
              f"from {root}", file=sys.stderr, flush=True)
        try:
            import threading

            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="harvester", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true", help="log each model")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("crawl", help="harvest models into a store and score them")
    c.add_argument("--db", required=True)
    c.add_argument("--hf-endpoint", help="default: $HF_ENDPOINT, else https://huggingface.co")
    c.add_argument("--github-endpoint", help="default: $GITHUB_API_URL, else https://api.github.com")
    c.add_argument("--serve-fixtures", metavar="DIR", help="serve DIR with a loopback fixture hub and crawl it")
    c.add_argument("--models", metavar="FILE", help="model ids, one per line ('-' for stdin)")
    c.add_argument("--author", action="append", help="organisation or user (repeatable)")
    c.add_argument("--search")
    c.add_argument("--filter", action="append", help="Hub tag filter (repeatable)")
    c.add_argument("--limit", type=int)
    c.set_defaults(fn=cmd_crawl)

    e = sub.add_parser("export", help="write the taxonomy table of a run")
    e.add_argument("--db", required=True)
    e.add_argument("--format", choices=["csv", "json"], default="csv")
    e.add_argument("--out", help="file to write (default: stdout)")
    e.add_argument("--run", type=int, help="run id (default: the last scored run)")
    e.set_defaults(fn=cmd_export)

    r = sub.add_parser("rescore", help="recompute cells from stored evidence (no network)")
    r.add_argument("--db", required=True)
    r.add_argument("--run", type=int)
    r.set_defaults(fn=cmd_rescore)

    x = sub.add_parser("explain", help="print each cell of a model and its evidence")
    x.add_argument("model")
    x.add_argument("--db", required=True)
    x.add_argument("--run", type=int)
    x.add_argument("--json", action="store_true")
    x.set_defaults(fn=cmd_explain)

    rn = sub.add_parser("runs", help="run summaries")
    rn.add_argument("action", choices=["list", "show"])
    rn.add_argument("run", nargs="?", type=int)
    rn.add_argument("--db", required=True)
    rn.add_argument("--json", action="store_true")
    rn.set_defaults(fn=cmd_runs)

    lic = sub.add_parser("licenses", help="license normaliser")
    lsub = lic.add_subparsers(dest="licenses_command", required=True)
    ln = lsub.add_parser("normalize", help="normalise license strings (arguments or stdin lines)")
    ln.add_argument("--json", action="store_true")
    ln.add_argument("text", nargs="*")
    ln.set_defaults(fn=cmd_licenses)
    ld = lsub.add_parser("docs", help="write docs/licenses.md from rules/licenses")
    ld.add_argument("--out", default="docs/licenses.md")
    ld.set_defaults(fn=cmd_licenses_docs)

    f = sub.add_parser("fixture-hub", help="serve a corpus folder with the Hub's and GitHub's wire formats")
    f.add_argument("--root", required=True)
    f.add_argument("--host", default="127.0.0.1")
    f.add_argument("--port", type=int, default=0)
    f.set_defaults(fn=cmd_fixture_hub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        with nullcontext():
            return int(args.fn(args))
    except (UsageError, StoreError, RulesError) as exc:
        print(f"harvester: {exc}", file=sys.stderr)
        return EXIT_FATAL
    except KeyboardInterrupt:
        print("harvester: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
