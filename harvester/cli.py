"""harvester: a living, auditable map of how open AI models really are.

Commands: crawl, export, plot, diff, review, rescore, explain, runs, licenses, drift, fixture-hub.
Exit codes: 0 done; 3 a crawl finished with per-model failures; 1 fatal; 2 bad command line;
130 / 143 stopped by SIGINT / SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from harvester import __version__
from harvester.crawl import Crawler
from harvester.fetch.github import PUBLIC_API, GithubSource
from harvester.fetch.hub import PUBLIC_ENDPOINT, HubSource
from harvester.fetch.limits import ANONYMOUS, WITH_TOKENS, RateLimiter, parse_rates
from harvester.fetch.retry import RetryPolicy
from harvester.files import OutputError, check_output, write_atomic
from harvester.levels import COMPONENTS
from harvester.licenses.normalize import Normalizer
from harvester.licenses.rules import RULES_DIR, RulesError, RuleSet, load_rules, user_rules_dir
from harvester.pipeline import crawl
from harvester.score.knowledge import load_knowledge
from harvester.selection import Selection, parse_since, read_model_list
from harvester.shutdown import Interrupted, Shutdown, exit_code
from harvester.store.sqlite import Run, Store, StoreError

EXIT_OK, EXIT_FATAL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


# -- options shared by the commands -------------------------------------------------------------------
def _rules_dir(args: argparse.Namespace) -> Path:
    """The user's rules folder: reviewer decisions are written there and read on top of the bundled rules."""
    return Path(args.rules).expanduser() if getattr(args, "rules", None) else user_rules_dir()


def _rules(args: argparse.Namespace) -> RuleSet:
    """Rules read fresh from disk: a reviewer's decision written a moment ago applies."""
    return load_rules(None, (_rules_dir(args),))


def _scoring(args: argparse.Namespace) -> tuple[Normalizer, object]:
    return Normalizer(_rules(args)), load_knowledge(RULES_DIR)


def _say(args: argparse.Namespace, text: str, file: Any = None) -> None:
    """A line for people; ``--quiet`` (cron) keeps only errors."""
    if not getattr(args, "quiet", False):
        print(text, file=file or sys.stdout)


def _write(args: argparse.Namespace, text: str | bytes) -> None:
    out = getattr(args, "out", None)
    if out in (None, "-"):
        if isinstance(text, bytes):
            sys.stdout.buffer.write(text)
        else:
            sys.stdout.write(text)
        return
    write_atomic(Path(out), text)
    _say(args, f"wrote {out}", sys.stderr)


def _report_run(args: argparse.Namespace, store: Store) -> Run:
    """``--run N``, else the latest complete run; a note on stderr when newer runs are not complete."""
    run = store.report_run(args.run)
    if args.run is None and not getattr(args, "quiet", False):
        newer = store.newer_runs(run.id)
        if newer:
            print(f"harvester: note: reading {run.label()}, the latest complete run; newer: "
                  + ", ".join(r.label() for r in newer) + " (--run N to read one)", file=sys.stderr)
    return run


# -- crawl --------------------------------------------------------------------------------------------
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
    for name, url in (("HF_ENDPOINT", hf), ("GITHUB_API_URL", gh)):
        _url(url, name)
    yield hf, gh, True


class _Bar:
    """The crawl's progress on a terminal (tqdm): models done of the total when the listing says it, ETA."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=None, unit="model", file=sys.stderr, dynamic_ncols=True, leave=False, smoothing=0.05,
                        mininterval=0.2)

    def total(self, n: int) -> None:
        self.bar.total = n
        self.bar.refresh()

    def update(self, done: int, requests: int, retries: int) -> None:
        self.bar.set_postfix_str(f"{requests} requests, {retries} retries", refresh=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def cmd_crawl(args: argparse.Namespace) -> int:
    shutdown: Shutdown = args.shutdown
    models = None
    if args.models:
        try:
            lines = sys.stdin if args.models == "-" else Path(args.models).read_text("utf-8").splitlines()
            models = read_model_list(lines)
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--models {args.models}: {getattr(exc, 'strerror', None) or exc}") from exc
    if args.since and args.since != "last":
        parse_since(args.since)  # a bad date is a usage error before anything runs
    sel = Selection(models=models, authors=args.author or [], search=args.search, filters=args.filter or [],
                    limit=args.limit, since=args.since)
    with _endpoints(args) as (hf, gh, tokens), Store(args.db) as store:
        policy = RetryPolicy(attempts=args.retries, base=args.backoff, timeout=args.timeout)
        hub = HubSource(hf, _token_for(hf, "HF_TOKEN", PUBLIC_ENDPOINT) if tokens else None, policy)
        github = GithubSource(gh, _token_for(gh, "GITHUB_TOKEN", PUBLIC_API) if tokens else None, policy)
        n, k = _scoring(args)
        public = _host(hf) == _host(PUBLIC_ENDPOINT) or _host(gh) == _host(PUBLIC_API)
        defaults = (WITH_TOKENS if (hub.token or github.token) else ANONYMOUS) if public else {}
        limiter = RateLimiter(parse_rates(args.rate, defaults))
        bar = _Bar() if sys.stderr.isatty() and not args.quiet and not args.verbose else None
        try:
            crawler = Crawler(store, hub, github, knowledge=k, normalizer=n,  # type: ignore[arg-type]
                              workers=args.workers, limiter=limiter, outage_s=args.outage_after)
            with shutdown.deferred() as stop_requested:
                outcome = crawl(crawler, sel, {"hf_endpoint": hf, "github_endpoint": gh},
                                stop_requested=stop_requested, progress=bar)
        finally:
            if bar is not None:
                bar.close()
            github.close()
        run = store.run(outcome.run_id)
        failures = store.failures(run.id)
    s = run.summary or {}
    stored = s.get("models_ok", 0)
    kept = (f"{stored} model{'' if stored == 1 else 's'} stored ({s.get('models_harvested', 0)} harvested, "
            f"{s.get('models_carried', 0)} carried)")
    counts = f"{kept}, {s.get('models_failed', 0)} failed, {s.get('cards_with_problems', 0)} card problems"
    if args.format == "json":
        print(json.dumps(_run_doc(run, failures), indent=1, ensure_ascii=False))
    if shutdown.signum is not None:
        resumes = "; the next crawl with the same arguments resumes it" if outcome.status == "interrupted" else ""
        print(f"harvester: stopped by {shutdown.name}: run {run.id} {outcome.status}, {kept}{resumes}", file=sys.stderr)
        return exit_code(shutdown.signum)
    if outcome.status == "failed":
        print(f"harvester: {outcome.error}; run {run.id} failed, {kept}", file=sys.stderr)
        return EXIT_FATAL
    if args.format != "json":
        _say(args, f"run {run.id} {outcome.status}: {counts} in {s.get('seconds', 0)} s")
    for f in failures[:20]:
        _say(args, f"  failed {f['model_id']}: {f['reason']}", sys.stderr)
    if len(failures) > 20:
        _say(args, f"  … and {len(failures) - 20} more: harvester runs show {run.id} --db {args.db}", sys.stderr)
    return outcome.code


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line for cron and CI logs; never carries request headers (tokens)."""

    FIELDS = ("event", "model", "reason", "run", "status", "summary")

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                                  "logger": record.name, "message": record.getMessage()}
        doc.update({k: getattr(record, k) for k in self.FIELDS if hasattr(record, k)})
        return json.dumps(doc, ensure_ascii=False, default=str)


class _TqdmHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Log lines on a terminal go above the progress bar, not through it."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm

        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:
            self.handleError(record)


# -- reports ------------------------------------------------------------------------------------------
def cmd_export(args: argparse.Namespace) -> int:
    from harvester.report import formats
    from harvester.report.export import render

    def refuse(message: str) -> int:  # as the parser refuses a bad command line: one line, exit 2, before any work
        print(f"harvester export: {message} (see `harvester export --help`)", file=sys.stderr)
        return EXIT_USAGE

    if args.bundle and args.format != "cyclonedx":
        return refuse("--bundle is for --format cyclonedx (one BOM for the whole run)")
    n, k = _scoring(args)
    fmt = formats.make(args.format, args.framework, k, n, args.bundle)  # type: ignore[arg-type]
    try:
        out = formats.Output(args.out, folder=fmt.folder) if fmt is not None else None
        if fmt is None and args.out not in (None, "-"):
            check_output(args.out)
    except OutputError as exc:
        return refuse(str(exc))
    with Store(args.db, create=False) as store:
        run = _report_run(args, store)
        if fmt is not None and out is not None:
            count = formats.export(store, run, fmt, out, k, args.curated)  # type: ignore[arg-type]
            if out.path is not None:
                _say(args, f"wrote {count} models to {out.path}", sys.stderr)
            return EXIT_OK
        text = render(store, args.format, run.id, curated=args.curated)
    _write(args, text)
    return EXIT_OK


def cmd_plot(args: argparse.Namespace) -> int:
    from harvester.report import plot

    fmt = args.format or Path(args.out).suffix[1:].lower()
    if fmt not in ("png", "svg"):
        raise UsageError(f"--out {args.out}: the plot is written as .png or .svg (or give --format)")
    with Store(args.db, create=False) as store:
        run = _report_run(args, store)
        cells = store.cells(run.id)
    _write(args, plot.render(cells, fmt, f"Openness levels per component, run {run.id}"))
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from harvester.report import diff

    with Store(args.db, create=False) as store:
        d = diff.compute(store, args.from_run, args.to_run)
    _write(args, diff.render(d, args.format))
    return EXIT_OK


def cmd_review(args: argparse.Namespace) -> int:
    from harvester.report import review

    with Store(args.db, create=False) as store:
        run = _report_run(args, store)
        if args.action == "list":
            _write(args, review.render(review.groups(store, run.id, _rules(args)), args.format))
        elif args.action == "show":
            if not args.key:
                raise UsageError("review show needs an evidence key (see `harvester review list`)")
            _write(args, review.render_one(review.find(store, args.key, run.id, _rules(args)), args.format))
        else:
            if not args.key or not args.as_id:
                raise UsageError("review resolve needs an evidence key and --as SPDX_OR_LICENSEREF")
            done = review.resolve(store, args.key, args.as_id, _rules_dir(args), args.answers, args.rationale,
                                  run.id)
            _say(args, f"wrote a rule to {done['written']} ({done['models_affected']} models affected); "
                       "run `harvester rescore` to apply it")
    return EXIT_OK


def cmd_rescore(args: argparse.Namespace) -> int:
    """A new run derived from the old one: same evidence, today's rules; the old run is left as it was."""
    from harvester.rescore import rescore_run

    n, k = _scoring(args)
    with Store(args.db, create=False) as store, store.crawl_lock():
        src = _report_run(args, store)
        run_id = store.derive_run(src, {**src.params, "rescore_of": src.id})
        status, count, reread = "failed", 0, 0
        try:
            count, reread = rescore_run(store, run_id, k, n)  # type: ignore[arg-type]
            status = src.status if src.status != "running" else "interrupted"  # a subset stays a subset
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            summary = {**(src.summary or {}), **store.counts(run_id), "rescored_from": src.id, "requests": {},
                       "failures": store.failures(run_id), "card_problems": store.card_problems(run_id)}
            store.finish_run(run_id, status, summary)
            if status in ("complete", "partial"):
                store.adopt_latest(run_id)
    again = f"; {reread} re-read with new reading rules" if reread else ""
    if args.format == "json":
        print(json.dumps({"run": run_id, "rescored_from": src.id, "models": count, "reread": reread,
                          "status": status}))
    else:
        _say(args, f"rescored {count} models of run {src.id} into run {run_id} ({status}{again})")
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    with Store(args.db, create=False) as store:
        run = _report_run(args, store)
        cells = store.cells(run.id).get(args.model)
    if cells is None:
        raise UsageError(f"model {args.model!r} is not in run {run.id} of {args.db}")
    if args.format == "json":
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


# -- runs ---------------------------------------------------------------------------------------------
def _run_doc(run: Run, failures: list[dict[str, str]]) -> dict[str, Any]:
    return {"id": run.id, "started_at": run.started_at, "finished_at": run.finished_at, "status": run.status,
            "scope": run.scope, "derived_from": run.derived_from, "params": run.params, "summary": run.summary,
            "failures": failures}


def runs_table(runs: list[Run]) -> str:
    head = ("run", "started", "status", "scope", "harvested", "carried", "failed", "note")
    rows = []
    for r in runs:
        s = r.summary or {}
        note = f"rescore of run {r.derived_from}" if r.derived_from else ""
        if r.status == "running":
            note = "running now (or killed: the next crawl marks it interrupted or resumes it)"
        rows.append((str(r.id), r.started_at, r.status, r.scope, str(s.get("models_harvested", "-")),
                     str(s.get("models_carried", "-")), str(s.get("models_failed", "-")), note))
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(len(head) - 1)]
    right = {0, 4, 5, 6}
    lines = []
    for row in [head, *rows]:
        cells = [row[i].rjust(w) if i in right else row[i].ljust(w) for i, w in enumerate(widths)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines) + "\n"


def run_text(run: Run, failures: list[dict[str, str]]) -> str:
    s = run.summary or {}
    dur = f" ({s['seconds']} s)" if "seconds" in s else ""
    lines = [f"run {run.id}: {run.status}", f"  scope          {run.scope}",
             f"  started        {run.started_at}", f"  finished       {run.finished_at or '-'}{dur}"]
    if run.derived_from:
        lines.append(f"  derived from   run {run.derived_from} (rescore: same evidence, rules of the day)")
    p = run.params
    if p.get("hf_endpoint"):
        lines.append(f"  endpoints      {p.get('hf_endpoint')} (Hub), {p.get('github_endpoint')} (GitHub)")
    if p.get("since"):
        lines.append(f"  since          {p['since']}")
    if s.get("error"):
        lines.append(f"  fatal error    {s['error']}")
    lines.append(f"  models         {s.get('models_ok', 0)} stored: {s.get('models_harvested', 0)} harvested, "
                 f"{s.get('models_carried', 0)} carried; {s.get('models_failed', 0)} failed")
    req = s.get("requests") or {}
    if req:
        retries = s.get("retries_hub", 0) + s.get("retries_github", 0)
        lines.append("  requests       " + ", ".join(f"{k} {v}" for k, v in sorted(req.items()))
                     + f"; {retries} retried")
    lines.append(f"  failures       {len(failures) or 'none'}")
    lines += [f"    {f['model_id']}: {f['stage']}: {f['reason']}" for f in failures]
    problems = s.get("card_problems") or []
    lines.append(f"  card problems  {len(problems) or 'none'} (cards read with a problem: partial parses, "
                 "bad encoding)" if problems else "  card problems  none")
    for p in problems:
        carried = f" (card read by run {p['carried_from']}, carried)" if p.get("carried_from") else ""
        lines.append(f"    {p['model_id']}{carried}: " + "; ".join(p["reasons"]))
    return "\n".join(lines) + "\n"


def cmd_runs(args: argparse.Namespace) -> int:
    with Store(args.db, create=False) as store:
        if args.action == "list":
            runs = store.runs()
            if args.format == "json":
                print(json.dumps([_run_doc(r, store.failures(r.id)) for r in runs], indent=1, ensure_ascii=False))
            else:
                sys.stdout.write(runs_table(runs) if runs else "no runs stored yet\n")
            return EXIT_OK
        run = store.run(args.run)
        failures = store.failures(run.id)
    if args.format == "json":
        print(json.dumps(_run_doc(run, failures), indent=1, ensure_ascii=False))
    else:
        sys.stdout.write(run_text(run, failures))
    return EXIT_OK


# -- licences and the fixture hub ---------------------------------------------------------------------
def cmd_licenses(args: argparse.Namespace) -> int:
    n, _ = _scoring(args)
    inputs = args.text or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    for raw in inputs:
        r = n.normalize(raw)
        if args.format == "json":
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
    _write(args, update(existing, load_rules(RULES_DIR)))  # the bundled rules: docs describe what ships
    return EXIT_OK


def cmd_licenses_show(args: argparse.Namespace) -> int:
    """One licence's decision: answers, points, names, URL forms, rationale and source."""
    rules = _rules(args)
    rule = rules.by_id.get(args.id.lower())
    if rule is None:
        r = Normalizer(rules).normalize(args.id)
        rule = rules.by_id.get((r.spdx or "").lower()) if r.known else None
    if rule is None:
        raise UsageError(f"no licence {args.id!r} in rules/licenses (try `harvester licenses normalize {args.id!r}`)")
    from harvester.licenses.rules import ANSWER_KEYS

    where = rule.file if "/" in rule.file else f"rules/licenses/{rule.file}"  # a user's decision: its full path
    doc = {"id": rule.id, "name": rule.name, "points": rule.points,
           "answers": dict(zip(ANSWER_KEYS, rule.answers, strict=True)), "family": rule.family,
           "hf_tags": list(rule.hf), "aliases": list(rule.aliases), "also": list(rule.also), "urls": list(rule.urls),
           "rationale": rule.rationale, "source": rule.source, "file": where}
    if args.format == "json":
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
    print(f"  decided in {where}")
    return EXIT_OK


def cmd_drift(args: argparse.Namespace) -> int:
    """Licence drift: models whose licence grants what their base model or datasets withhold."""
    from harvester.report import drift

    n, _ = _scoring(args)
    with Store(args.db, create=False) as store:
        run = _report_run(args, store)
        found = drift.compute(store, n, RULES_DIR, run.id)
    _write(args, drift.render(found, args.format))
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
        root = source = Path(args.root)
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
        except KeyboardInterrupt:  # SIGINT or SIGTERM: the way a fixture hub is stopped
            pass
    return EXIT_OK


# -- the parser ---------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """Bad command lines get one line (what is wrong and where help is), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


class _Help(argparse.RawDescriptionHelpFormatter):
    """Every option's default in its help, unless it has none or says it already."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (default not in (None, False, argparse.SUPPRESS, []) and "default" not in text
                and action.option_strings and not isinstance(action, argparse._StoreConstAction)):
            text += f" (default: {default})"
        return text


def _int_range(lo: int, hi: int | None = None) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if n < lo or (hi is not None and n > hi):
            raise argparse.ArgumentTypeError(f"{n} is out of range (needs at least {lo}"
                                             + (f" and at most {hi})" if hi is not None else ")"))
        return n

    parse.__name__ = "number"
    return parse


def _float_range(lo: float, hi: float | None = None, *, open_lo: bool = False) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            x = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
        if not math.isfinite(x) or x < lo or (open_lo and x == lo) or (hi is not None and x > hi):
            bound = f"more than {lo:g}" if open_lo else f"at least {lo:g}"
            raise argparse.ArgumentTypeError(f"{value} is out of range (needs {bound}"
                                             + (f" and at most {hi:g})" if hi is not None else ")"))
        return x

    parse.__name__ = "number"
    return parse


def _corpus_dir(value: str) -> str:
    """A corpus folder (``models/``, ``datasets/``, ``github/``), as the fixture hub serves it."""
    path = Path(value)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value}: no such folder")
    if not (path / "models").is_dir():
        raise argparse.ArgumentTypeError(f"{value}: not a corpus folder (no models/ inside; see fixtures/README.md)")
    return value


def _out_file(value: str) -> str:
    if value == "-":
        return value
    try:
        check_output(value)
    except OutputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _url(value: str, name: str = "endpoint") -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{name} {value!r}: expected an http(s) URL such as https://huggingface.co")
    return value


def _url_arg(value: str) -> str:
    try:
        return _url(value, "")
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).strip()) from None


def _rate_arg(value: str) -> str:
    try:
        parse_rates([value], {})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--rate ")) from None
    return value


def _common(defaults: bool) -> argparse.ArgumentParser:
    """Options accepted before or after the subcommand (after it, they override nothing unless given)."""
    c = argparse.ArgumentParser(add_help=False)
    d: Callable[[Any], Any] = (lambda v: v) if defaults else (lambda v: argparse.SUPPRESS)
    c.add_argument("-v", "--verbose", action="store_true", default=d(False),
                   help="log every model and retry (with a traceback on internal errors)")
    c.add_argument("-q", "--quiet", action="store_true", default=d(False),
                   help="print only errors: no progress bar, no summary (for cron)")
    c.add_argument("--rules", metavar="DIR", default=d(None),
                   help="your rules folder: `review resolve` writes decisions there and they are read on top of "
                        "the bundled rules (default: $HARVESTER_RULES, else ~/.config/harvester/rules)")
    return c


def _command(sub: Any, name: str, fn: Callable[..., int], help: str) -> argparse.ArgumentParser:
    """One subcommand: its parser, with the shared options and the help formatter."""
    p = sub.add_parser(name, help=help, description=help, parents=[_common(False)], formatter_class=_Help)
    p.set_defaults(fn=fn)
    return p


def _db(p: argparse.ArgumentParser, must_exist: bool = True) -> None:
    p.add_argument("--db", required=True, metavar="PATH",
                   help="the SQLite store" + (" (made by `harvester crawl`)" if must_exist else
                                              " (created when missing)"))


def _run_opt(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", type=_int_range(1), metavar="N",
                   help="run id (default: the latest complete run; `harvester runs list` shows them)")


def _format(p: argparse.ArgumentParser, choices: list[str], json_alias: bool = False) -> None:
    p.add_argument("--format", choices=choices, default=choices[0], help="output format")
    if json_alias:
        p.add_argument("--json", dest="format", action="store_const", const="json", help="same as --format json")


def _out(p: argparse.ArgumentParser, required: bool = False) -> None:
    p.add_argument("--out", type=_out_file, required=required, metavar="FILE",
                   help="file to write, whole or not at all; its folder must exist" +
                        ("" if required else " (default: standard output)"))


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="harvester", description=__doc__, parents=[_common(True)], formatter_class=_Help)
    p.add_argument("--version", action="version", version=f"harvester {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    c = _command(sub, "crawl", cmd_crawl, "harvest models into a store and score them")
    _db(c, must_exist=False)
    c.add_argument("--hf-endpoint", type=_url_arg, metavar="URL",
                   help="Hub endpoint (default: $HF_ENDPOINT, else https://huggingface.co)")
    c.add_argument("--github-endpoint", type=_url_arg, metavar="URL",
                   help="GitHub API endpoint (default: $GITHUB_API_URL, else https://api.github.com)")
    c.add_argument("--serve-fixtures", type=_corpus_dir, metavar="DIR",
                   help="serve the corpus folder DIR with a loopback fixture hub and crawl it (offline)")
    c.add_argument("--models", metavar="FILE", help="crawl the model ids in FILE, one per line ('-' for stdin)")
    c.add_argument("--author", action="append", metavar="NAME", help="crawl this organisation or user (repeatable)")
    c.add_argument("--search", metavar="TEXT", help="crawl models whose id contains TEXT")
    c.add_argument("--filter", action="append", metavar="TAG", help="crawl models with this Hub tag (repeatable)")
    c.add_argument("--limit", type=_int_range(1), metavar="N", help="crawl at most N models (default: no limit)")
    c.add_argument("--since", metavar="WHEN",
                   help="'last' (the previous run's watermark) or an ISO date: only new and changed models, the "
                        "rest carried from the previous run")
    c.add_argument("--workers", type=_int_range(1, 256), default=8, metavar="N", help="models harvested at a time")
    c.add_argument("--rate", action="append", metavar="BUCKET=R", type=_rate_arg,
                   help="requests per second for hub_api, hub_files, github_rest, github_graphql (repeatable; "
                        "default: the documented limits on the public hosts, none elsewhere)")
    c.add_argument("--timeout", type=_float_range(0, 600, open_lo=True), default=30.0, metavar="S",
                   help="seconds per request")
    c.add_argument("--retries", type=_int_range(1, 100), default=8, metavar="N",
                   help="attempts per request for transient faults")
    c.add_argument("--backoff", type=_float_range(0, 60), default=0.5, metavar="S",
                   help="first backoff in seconds, doubling, jittered")
    c.add_argument("--outage-after", type=_float_range(0, 3600, open_lo=True), default=10.0, metavar="S",
                   help="seconds during which every request to one host may fail (refused, DNS, TLS, 5xx), "
                        "across several models, before the run stops as one fatal error")
    _format(c, ["text", "json"])

    e = _command(sub, "export", cmd_export, "write the taxonomy table of a run (or its MOF classes, or AI BOMs)")
    _db(e)
    e.add_argument("--format", choices=["csv", "json", "md", "html", "cyclonedx"], default="csv",
                   help="csv exactly as taxonomy.md §5; json with full evidence; md; one self-contained html report; "
                        "cyclonedx: a CycloneDX 1.6 AI BOM per model into the folder --out (see --bundle)")
    e.add_argument("--framework", choices=["taxonomy", "mof"], default="taxonomy",
                   help="mof: each model's Model Openness Framework class and its 17 components (csv, json, md, html)")
    e.add_argument("--bundle", action="store_true", help="cyclonedx: one BOM for the whole run, to --out FILE")
    e.add_argument("--out", metavar="FILE|DIR",
                   help="file to write, whole or not at all, its folder must exist (default: standard output); "
                        "for cyclonedx without --bundle, the folder the BOMs go to (its parent must exist)")
    _run_opt(e)
    e.add_argument("--curated", action="store_true",
                   help="add the models curated in rules/models (closed models with no Hub card)")

    pl = _command(sub, "plot", cmd_plot, "bar chart of levels per component (PNG or SVG)")
    _db(pl)
    _out(pl, required=True)
    pl.add_argument("--format", choices=["png", "svg"], help="image format (default: from the --out suffix)")
    _run_opt(pl)

    d = _command(sub, "diff", cmd_diff, "what changed between two runs of one scope: the nightly digest")
    _db(d)
    d.add_argument("--from", dest="from_run", type=_int_range(1), metavar="N",
                   help="older run (default: the complete run before --to of the same scope)")
    d.add_argument("--to", dest="to_run", type=_int_range(1), metavar="N",
                   help="newer run (default: the latest complete run)")
    _format(d, ["text", "json", "md"], json_alias=True)
    _out(d)

    rv = _command(sub, "review", cmd_review, "the queue of unknown licences: list, show one, resolve one")
    rv.add_argument("action", choices=["list", "show", "resolve"], help="list the queue, show one item, resolve it")
    rv.add_argument("key", nargs="?", help="evidence key of the item (show, resolve; from `review list`)")
    _db(rv)
    _run_opt(rv)
    _format(rv, ["text", "csv", "json"], json_alias=True)
    _out(rv)
    rv.add_argument("--as", dest="as_id", metavar="ID", help="resolve: the SPDX id or LicenseRef- the evidence means")
    rv.add_argument("--answers", metavar="Y,Y,Y,Y,N",
                    help="resolve: five Y/N answers (research, commercial, modify, copyright derivative, other "
                         "license) for a licence without a decision yet")
    rv.add_argument("--rationale", metavar="TEXT", help="resolve: one line on why")

    r = _command(sub, "rescore", cmd_rescore,
                 "score a run's stored evidence again with today's rules, into a new run (no network)")
    _db(r)
    _run_opt(r)
    _format(r, ["text", "json"])

    x = _command(sub, "explain", cmd_explain, "print each cell of a model and its evidence")
    x.add_argument("model", help="model id, e.g. EleutherAI/pythia-14m")
    _db(x)
    _run_opt(x)
    _format(x, ["text", "json"], json_alias=True)

    rn = _command(sub, "runs", cmd_runs, "the runs of a store: list them, or show one with its failures")
    rn.add_argument("action", choices=["list", "show"], help="list every run, or show one")
    rn.add_argument("run", nargs="?", type=_int_range(1), help="run id to show (default: the last run)")
    _db(rn)
    _format(rn, ["text", "json"], json_alias=True)

    lic = _command(sub, "licenses", cmd_licenses, "the licence normaliser and the licence rules")
    lsub = lic.add_subparsers(dest="licenses_command", required=True, metavar="ACTION", parser_class=_Parser)
    ln = _command(lsub, "normalize", cmd_licenses, "normalise licence strings (arguments, or stdin lines)")
    _format(ln, ["text", "json"], json_alias=True)
    ln.add_argument("text", nargs="*", help="licence strings (default: one per line on stdin)")
    ld = _command(lsub, "docs", cmd_licenses_docs, "write docs/licenses.md from the bundled rules/licenses")
    ld.add_argument("--out", type=_out_file, default="docs/licenses.md", metavar="FILE", help="file to write")
    ls = _command(lsub, "show", cmd_licenses_show,
                  "a licence's answers, points, names, URL forms, rationale and source")
    ls.add_argument("id", help="SPDX id, LicenseRef-, Hub tag or a name as people write it")
    _format(ls, ["text", "json"], json_alias=True)

    dr = _command(sub, "drift", cmd_drift, "models whose licence grants what their base model or datasets withhold")
    _db(dr)
    _run_opt(dr)
    _format(dr, ["text", "json", "md"], json_alias=True)
    _out(dr)

    f = _command(sub, "fixture-hub", cmd_fixture_hub,
                 "serve a corpus folder with the Hub's and GitHub's wire formats on loopback")
    f.add_argument("--root", type=_corpus_dir, metavar="DIR", help="corpus folder (models/, datasets/, github/)")
    f.add_argument("--synthetic", type=_int_range(1, 10_000_000), metavar="N",
                   help="serve N generated models shaped like the corpus instead")
    f.add_argument("--host", default="127.0.0.1", help="address to listen on")
    f.add_argument("--port", type=_int_range(0, 65535), default=0, help="port (0: any free port)")
    f.add_argument("--fault-rate", type=_float_range(0, 1), default=0.0, help="share of requests that meet a fault")
    f.add_argument("--seed", type=_int_range(0), default=0, help="seed of the fault sequence")
    f.add_argument("--retry-after", type=_float_range(0, 3600), default=1.0, help="seconds in injected 429s")
    f.add_argument("--stall-s", type=_float_range(0, 3600), default=35.0, help="how long an injected stall lasts")
    f.add_argument("--latency-ms", type=_float_range(0, 60_000), default=0.0, help="latency added to every answer")
    f.add_argument("--api-rate", type=_float_range(0), default=0.0,
                   help="Hub API requests per second, 429 past it (0: no limit)")
    f.add_argument("--files-rate", type=_float_range(0), default=0.0,
                   help="Hub file (resolve) requests per second (0: no limit)")
    f.add_argument("--github-rate", type=_float_range(0), default=0.0,
                   help="GitHub requests per second (0: no limit)")
    return p


def _logging(args: argparse.Namespace) -> None:
    if sys.stderr.isatty():
        handler: logging.Handler = _TqdmHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        level = logging.INFO if args.verbose else logging.WARNING
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLogFormatter())  # cron: one JSON line per event
        level = logging.INFO
    if args.quiet:
        level = logging.ERROR
    root = logging.getLogger("harvester")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)


def main(argv: Sequence[str] | None = None, shutdown: Shutdown | None = None) -> int:
    """Run one command; ``shutdown`` is given when signal handlers were installed before the imports."""
    if shutdown is None:
        shutdown = Shutdown()
        shutdown.install()
    args: argparse.Namespace | None = None
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version, or a bad command line (one line already printed)
            return int(exc.code or 0)
        if args.verbose and args.quiet:
            print("harvester: --verbose and --quiet exclude each other", file=sys.stderr)
            return EXIT_USAGE
        _logging(args)
        args.shutdown = shutdown
        return int(args.fn(args))
    except (UsageError, StoreError, RulesError, OutputError, ValueError) as exc:
        print(f"harvester: {exc}", file=sys.stderr)
        return EXIT_FATAL
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        print(f"harvester: stopped by {signal.Signals(signum).name}", file=sys.stderr)
        return exit_code(signum)
    except BrokenPipeError:  # `harvester explain … | head`: the reader has all it wants
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keep interpreter exit quiet
        return EXIT_OK
    except Exception as exc:  # a bug: one line for the user, the traceback with --verbose
        if args is not None and args.verbose:
            traceback.print_exc()
        print(f"harvester: internal error: {type(exc).__name__}: {exc} (run with -v for the traceback; "
              "please report it)", file=sys.stderr)
        return EXIT_FATAL
    finally:
        shutdown.uninstall()


if __name__ == "__main__":
    sys.exit(main())
