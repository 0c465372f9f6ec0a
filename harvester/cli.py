"""Command line: ``harvester crawl | export | rescore | explain | runs | licenses | drift | fixture-hub``."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from harvester.crawl import EXIT_FATAL, EXIT_OK, Crawler, Selection, read_model_list
from harvester.fetch.github import PUBLIC_API, GithubSource
from harvester.fetch.hub import PUBLIC_ENDPOINT, HubSource
from harvester.fetch.limits import ANONYMOUS, WITH_TOKENS, RateLimiter, parse_rates
from harvester.fetch.retry import RetryPolicy
from harvester.levels import COMPONENTS
from harvester.licenses.normalize import Normalizer
from harvester.licenses.rules import RULES_DIR, RulesError, load_rules
from harvester.score.knowledge import load_knowledge
from harvester.store.sqlite import Store, StoreError


class UsageError(Exception):
    pass


def _rules_dir(args: argparse.Namespace) -> Path:
    return Path(args.rules or os.environ.get("HARVESTER_RULES") or RULES_DIR)


def _scoring(args: argparse.Namespace) -> tuple[Normalizer, object]:
    """Rules read fresh from disk: a reviewer's decision written a moment ago applies."""
    d = _rules_dir(args)
    return Normalizer(load_rules(d)), load_knowledge(d)


def _write(out: str | None, text: str | bytes) -> None:
    if out in (None, "-"):
        if isinstance(text, bytes):
            sys.stdout.buffer.write(text)
        else:
            sys.stdout.write(text)
        return
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if isinstance(text, bytes):
        tmp.write_bytes(text)
    else:
        tmp.write_text(text, "utf-8")
    tmp.replace(path)
    print(f"wrote {path}")


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
                    limit=args.limit, since=args.since)
    if args.since and args.since != "last":
        from harvester.crawl import parse_since

        parse_since(args.since)  # a bad date is a usage error before anything runs
    with _endpoints(args) as (hf, gh, tokens), Store(args.db) as store:
        policy = RetryPolicy(attempts=args.retries, base=args.backoff, timeout=args.timeout)
        hub = HubSource(hf, _token_for(hf, "HF_TOKEN", PUBLIC_ENDPOINT) if tokens else None, policy)
        github = GithubSource(gh, _token_for(gh, "GITHUB_TOKEN", PUBLIC_API) if tokens else None, policy)
        n, k = _scoring(args)
        public = _host(hf) == _host(PUBLIC_ENDPOINT) or _host(gh) == _host(PUBLIC_API)
        defaults = (WITH_TOKENS if (hub.token or github.token) else ANONYMOUS) if public else {}
        limiter = RateLimiter(parse_rates(args.rate, defaults))
        progress = _progress_line if sys.stderr.isatty() and not args.verbose else None
        try:
            crawler = Crawler(store, hub, github, knowledge=k, normalizer=n,  # type: ignore[arg-type]
                              workers=args.workers, limiter=limiter, progress=progress)
            run_id, code = crawler.run(sel, {"hf_endpoint": hf, "github_endpoint": gh})
        finally:
            github.close()
        if progress:
            print(file=sys.stderr)
        run = store.run(run_id)
        summary = run.summary or {}
        print(f"run {run_id}: {summary.get('models_ok', 0)} models harvested, "
              f"{summary.get('models_failed', 0)} failed ({run.status}) in {summary.get('seconds', 0)} s")
        for f in summary.get("failures", [])[:20]:
            print(f"  failed {f['model_id']}: {f['reason']}", file=sys.stderr)
        return code


def _progress_line(models: int, requests: int, retries: int) -> None:
    print(f"\r{models} models · {requests} requests · {retries} retries", end="", file=sys.stderr, flush=True)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line for cron and CI logs; never carries request headers (tokens)."""

    FIELDS = ("event", "model", "reason", "run", "status", "summary")

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                                  "logger": record.name, "message": record.getMessage()}
        doc.update({k: getattr(record, k) for k in self.FIELDS if hasattr(record, k)})
        return json.dumps(doc, ensure_ascii=False, default=str)


def cmd_export(args: argparse.Namespace) -> int:
    from harvester.report.export import render

    with Store(args.db, create=False) as store:
        text = render(store, args.format, args.run, curated=args.curated)
    _write(args.out, text)
    return EXIT_OK


def cmd_plot(args: argparse.Namespace) -> int:
    from harvester.report import plot

    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".svg"):
        raise UsageError(f"--out {out}: the plot is written as .png or .svg")
    with Store(args.db, create=False) as store:
        run = store.run(args.run) if args.run else store.last_scored_run()
        cells = store.cells(run.id)
    _write(str(out), plot.render(cells, out.suffix[1:].lower(), f"Openness levels per component, run {run.id}"))
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from harvester.report import diff

    with Store(args.db, create=False) as store:
        d = diff.compute(store, args.from_run, args.to_run)
    _write(args.out, diff.render(d, args.format))
    return EXIT_OK


def cmd_review(args: argparse.Namespace) -> int:
    from harvester.report import review

    with Store(args.db, create=False) as store:
        if args.action == "list":
            _write(args.out, review.render(review.groups(store, args.run), args.format))
        elif args.action == "show":
            if not args.key:
                raise UsageError("review show needs an evidence key (see `harvester review list`)")
            g = review.find(store, args.key, args.run)
            _write(args.out, json.dumps(g.to_dict(examples=None), indent=1, ensure_ascii=False) + "\n")
        else:
            if not args.key or not args.as_id:
                raise UsageError("review resolve needs an evidence key and --as SPDX_OR_LICENSEREF")
            try:
                done = review.resolve(store, args.key, args.as_id, _rules_dir(args), args.answers, args.rationale,
                                      args.run)
            except ValueError as exc:
                raise UsageError(str(exc)) from exc
            print(f"wrote a rule to {done['written']} ({done['models_affected']} models affected); "
                  "run `harvester rescore` to apply it")
    return EXIT_OK


def cmd_rescore(args: argparse.Namespace) -> int:
    from harvester.rescore import rescore_run

    n, k = _scoring(args)
    with Store(args.db, create=False) as store:
        run = store.run(args.run) if args.run else store.last_scored_run()
        count, reread = rescore_run(store, run.id, k, n)  # type: ignore[arg-type]
    again = f" ({reread} re-read with new reading rules)" if reread else ""
    print(f"rescored {count} models of run {run.id}{again}")
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    with Store(args.db, create=False) as store:
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
    with Store(args.db, create=False) as store:
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
    n, _ = _scoring(args)
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
    from harvester.licenses.docs import update

    out = Path(args.out)
    existing = out.read_text("utf-8") if out.is_file() else ""
    _write(args.out, update(existing, load_rules(_rules_dir(args))))
    return EXIT_OK


def cmd_licenses_show(args: argparse.Namespace) -> int:
    """One licence's decision: answers, points, names, URL forms, rationale and source."""
    rules = load_rules(_rules_dir(args))
    rule = rules.by_id.get(args.id.lower())
    if rule is None:
        r = Normalizer(rules).normalize(args.id)
        rule = rules.by_id.get((r.spdx or "").lower()) if r.known else None
    if rule is None:
        raise UsageError(f"no licence {args.id!r} in rules/licenses (try `harvester licenses normalize {args.id!r}`)")
    from harvester.licenses.rules import ANSWER_KEYS

    doc = {"id": rule.id, "name": rule.name, "points": rule.points,
           "answers": dict(zip(ANSWER_KEYS, rule.answers, strict=True)), "family": rule.family,
           "hf_tags": list(rule.hf), "aliases": list(rule.aliases), "also": list(rule.also), "urls": list(rule.urls),
           "rationale": rule.rationale, "source": rule.source, "file": f"rules/licenses/{rule.file}"}
    if args.json:
        print(json.dumps(doc, indent=1, ensure_ascii=False))
        return EXIT_OK
    print(f"{rule.id} — {rule.name}")
    print(f"  points     {rule.points} of 5" + ("  (family: the version is not given, the level is certain)"
                                                 if rule.family else ""))
    for key, granted in doc["answers"].items():
        print(f"  {key.replace('_', ' '):22} {'yes' if granted else 'no'}")
    for label, values in (("hf tags", rule.hf), ("aliases", rule.aliases), ("also", rule.also), ("urls", rule.urls)):
        if values:
            print(f"  {label:10} {', '.join(values)}")
    print(f"  rationale  {rule.rationale}")
    print(f"  source     {rule.source}")
    print(f"  decided in rules/licenses/{rule.file}")
    return EXIT_OK


def cmd_drift(args: argparse.Namespace) -> int:
    """Licence drift: models whose licence grants what their base model or datasets withhold."""
    from harvester.report import drift

    n, _ = _scoring(args)
    with Store(args.db, create=False) as store:
        found = drift.compute(store, n, _rules_dir(args), args.run)
    _write(args.out, drift.render(found, args.format))
    return EXIT_OK


def cmd_fixture_hub(args: argparse.Namespace) -> int:
    from harvester.fixture_hub.server import Faults, serve

    if args.synthetic:
        from harvester.fixture_hub.synthetic import synthetic_corpus

        source: Path | object = synthetic_corpus(args.synthetic, args.seed)
        root = Path(f"<synthetic {args.synthetic}>")
    else:
        if not args.root:
            raise UsageError("fixture-hub needs --root DIR or --synthetic N")
        root = Path(args.root)
        if not root.is_dir():
            raise UsageError(f"--root {root}: not a folder")
        source = root
    faults = Faults(args.fault_rate, args.seed, args.retry_after, args.stall_s, args.latency_ms / 1000)
    rates = {"hub_api": args.api_rate, "hub_files": args.files_rate, "github_rest": args.github_rate,
             "github_graphql": args.github_rate}
    with serve(source, args.host, args.port, faults, rates) as hub:  # type: ignore[arg-type]
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
    p.add_argument("--rules", metavar="DIR", help="rules folder (default: $HARVESTER_RULES, else the bundled rules/)")
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
    c.add_argument("--since", help="'last' (the previous run's watermark) or a date: only new and changed models")
    c.add_argument("--workers", type=int, default=8, help="concurrent model harvests (default 8)")
    c.add_argument("--rate", action="append", metavar="BUCKET=R",
                   help="requests per second for hub_api, hub_files, github_rest, github_graphql (repeatable; "
                        "defaults: the documented limits on the public hosts, none elsewhere)")
    c.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    c.add_argument("--retries", type=int, default=8, help="attempts per request for transient faults (default 8)")
    c.add_argument("--backoff", type=float, default=0.5, help="first backoff in seconds, doubling (default 0.5)")
    c.set_defaults(fn=cmd_crawl)

    e = sub.add_parser("export", help="write the taxonomy table of a run")
    e.add_argument("--db", required=True)
    e.add_argument("--format", choices=["csv", "json", "md", "html"], default="csv")
    e.add_argument("--out", help="file to write (default: stdout)")
    e.add_argument("--run", type=int, help="run id (default: the last scored run)")
    e.add_argument("--curated", action="store_true",
                   help="add the models curated in rules/models (closed models with no Hub card)")
    e.set_defaults(fn=cmd_export)

    pl = sub.add_parser("plot", help="bar chart of levels per component (PNG or SVG)")
    pl.add_argument("--db", required=True)
    pl.add_argument("--out", required=True)
    pl.add_argument("--run", type=int)
    pl.set_defaults(fn=cmd_plot)

    d = sub.add_parser("diff", help="what changed between two runs (default: the last two)")
    d.add_argument("--db", required=True)
    d.add_argument("--from", dest="from_run", type=int)
    d.add_argument("--to", dest="to_run", type=int)
    d.add_argument("--format", choices=["text", "json", "md"], default="text")
    d.add_argument("--out")
    d.set_defaults(fn=cmd_diff)

    rv = sub.add_parser("review", help="the queue of unknown licenses")
    rv.add_argument("action", choices=["list", "show", "resolve"])
    rv.add_argument("key", nargs="?", help="evidence key (show, resolve)")
    rv.add_argument("--db", required=True)
    rv.add_argument("--run", type=int)
    rv.add_argument("--format", choices=["text", "csv", "json"], default="text")
    rv.add_argument("--out")
    rv.add_argument("--as", dest="as_id", help="resolve: the SPDX id or LicenseRef- the evidence means")
    rv.add_argument("--answers", help="resolve: five Y/N answers for a licence without a decision")
    rv.add_argument("--rationale", help="resolve: one line on why")
    rv.set_defaults(fn=cmd_review)

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
    ls = lsub.add_parser("show", help="a licence's answers, points, names, URL forms, rationale and source")
    ls.add_argument("id", help="SPDX id, LicenseRef-, Hub tag or a name as people write it")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(fn=cmd_licenses_show)

    dr = sub.add_parser("drift", help="models whose licence grants what their base model or datasets withhold")
    dr.add_argument("--db", required=True)
    dr.add_argument("--run", type=int, help="run id (default: the last scored run)")
    dr.add_argument("--format", choices=["text", "json", "md"], default="text")
    dr.add_argument("--out", help="file to write (default: stdout)")
    dr.set_defaults(fn=cmd_drift)

    f = sub.add_parser("fixture-hub", help="serve a corpus folder with the Hub's and GitHub's wire formats")
    f.add_argument("--root", help="corpus folder (models/, datasets/, github/)")
    f.add_argument("--synthetic", type=int, metavar="N", help="serve N generated models shaped like the corpus")
    f.add_argument("--host", default="127.0.0.1")
    f.add_argument("--port", type=int, default=0)
    f.add_argument("--fault-rate", type=float, default=0.0, help="share of requests that meet an injected fault")
    f.add_argument("--seed", type=int, default=0, help="seed of the fault sequence")
    f.add_argument("--retry-after", type=float, default=1.0, help="seconds in Retry-After of injected 429s")
    f.add_argument("--stall-s", type=float, default=35.0, help="how long an injected stall lasts")
    f.add_argument("--latency-ms", type=float, default=0.0, help="latency added to every answer")
    f.add_argument("--api-rate", type=float, default=0.0, help="Hub API requests per second, 429 past it")
    f.add_argument("--files-rate", type=float, default=0.0, help="Hub file (resolve) requests per second")
    f.add_argument("--github-rate", type=float, default=0.0, help="GitHub requests per second")
    f.set_defaults(fn=cmd_fixture_hub)
    for sp in (c, rv, r, ln, ld, ls, dr):  # also accepted after the subcommand
        sp.add_argument("--rules", metavar="DIR", default=argparse.SUPPRESS, help="rules folder")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    if sys.stderr.isatty():
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        level = logging.INFO if args.verbose else logging.WARNING
    else:
        handler.setFormatter(JsonLogFormatter())  # cron: one JSON line per event
        level = logging.INFO
    root = logging.getLogger("harvester")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    try:
        return int(args.fn(args))
    except (UsageError, StoreError, RulesError, ValueError) as exc:
        print(f"harvester: {exc}", file=sys.stderr)
        return EXIT_FATAL
    except KeyboardInterrupt:
        print("harvester: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `harvester explain … | head`: the reader has all it wants
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keep interpreter exit quiet
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
