"""The ``feeds`` command. This is an edge: it reads the clock and the environment,
and it is the only place that turns errors into exit codes and messages."""

from __future__ import annotations

import argparse
import csv
import errno
import logging
import os
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO
from urllib.parse import urlsplit

from feeds.cache import Cache
from feeds.cache import default_path as default_cache
from feeds.errors import ContentError, FeedsError, HeldBack, UsageError
from feeds.state.url import configured, default_url, describe

# Every command but one needs only some of the package: each imports what it
# uses, so that `feeds build` with nothing to do does not pay for loading and
# rendering code, nor `feeds --help` for any of it.
if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from feeds.model import Article, Content, Site
    from feeds.publish.report import Report
    from feeds.state.database import State

HELP = """Publish Markdown articles as RSS 2.0, Atom 1.0 and JSON Feed 1.1.

The content directory defaults to $FEEDS_CONTENT, else ./content."""


def default_content() -> Path:
    return Path(os.environ.get("FEEDS_CONTENT") or "content")


def _now() -> datetime:
    """The moment a command runs at: the machine's clock, or the fixed moment
    in ``$FEEDS_NOW`` (ISO 8601 with an offset), which tests set so that what
    is public does not depend on the day they run."""
    fixed = os.environ.get("FEEDS_NOW")
    if not fixed:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(fixed)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise UsageError(f"FEEDS_NOW must be an ISO 8601 moment with an offset, got {fixed!r}")
    return moment


def cmd_check(args: argparse.Namespace) -> int:
    from feeds.content.directory import load
    from feeds.outputs.lint import held_pages, warnings
    from feeds.outputs.listings import status

    root: Path = args.content
    now = _now()
    try:
        # Partial: a file with problems is left out, the rest is checked on,
        # so that its warnings are not hidden behind another file's problem.
        loaded = load(root, lint=True, partial=True)
    except ContentError as e:  # site.toml: nothing can be checked against it
        for problem in e.problems:
            print(problem)
        print(f"{_counts(root)}: {plural(len(e.problems), 'problem')}")
        return 1
    problems = loaded.problems
    found = warnings(loaded, now, held_pages(root, loaded))
    for line in (*problems, *found):
        print(line)
    warned = f", {plural(len(found), 'warning')}" if found else ""
    if problems:
        print(f"{_counts(root)}: {plural(len(problems), 'problem')}{warned}")
        return 1
    content = loaded.content
    states = Counter(status(a, now) or "public" for a in content.articles)
    withdrawn = f", {states['withdrawn']} withdrawn" if states["withdrawn"] else ""
    print(
        f"{_counts(root)}: no problems{warned} ({states['public']} public, "
        f"{states['scheduled']} scheduled, {plural(states['draft'], 'draft')}{withdrawn})"
    )
    return 1 if found and args.strict else 0


def _counts(root: Path) -> str:
    from feeds.content.directory import ARTICLES, AUTHORS, markdown_files

    articles = len(markdown_files(root, ARTICLES))
    authors = len(markdown_files(root, AUTHORS))
    return f"checked {plural(articles, 'article')} and {plural(authors, 'author')}"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def cmd_build(args: argparse.Namespace) -> int:
    return build_once(args, _now())[0]


def build_once(args: argparse.Namespace, now: datetime) -> tuple[int, Report | None]:
    """``feeds build`` as of ``now``: its exit code, and what it did (None
    when it stopped on a problem), having printed what it prints."""
    from feeds.publish.build import build

    started = time.monotonic()
    cache = None if args.no_cache else Cache(args.cache or default_cache(args.content, os.environ))
    try:
        report = build(
            args.content,
            args.out,
            now,
            cache,
            args.jobs,
            progress_bar(sys.stderr),
            strict=args.strict,
        )
    except ContentError as e:
        for problem in e.problems:
            print(problem)
        strict = " (--strict)" if isinstance(e, HeldBack) else ""
        stopped = plural(len(e.problems), "problem")
        print(f"build stopped by {stopped}{strict}; {args.out} was left as it was")
        return 1, None
    finally:
        if cache is not None:
            cache.close()
    # Each file held back first, its problems then what became of it.
    for held in report.held:
        for problem in held.problems:
            print(problem)
        print(f"{held.path}: {held.verdict}")
    took = f"{time.monotonic() - started:.2f} s"
    if report.written:
        changed = plural(report.written, "changed file")
        done = f"wrote {changed} of {report.files} to {args.out} in {took}"
    else:
        done = f"{args.out} is up to date ({plural(report.files, 'file')}), checked in {took}"
    if report.held:
        done += f"; held back {plural(len(report.held), 'file')} with problems (listed above)"
    print(done)
    if report.due is not None:
        print(
            f"next change by the clock at {moment(report.due)} (a scheduled story, a "
            "withdrawal, a partner's early access): build again then, or run feeds watch"
        )
    database = default_url(os.environ, args.content)
    if report.hub and report.feeds and not args.no_ping:
        ping_hub(report.hub, report.feeds, now, database=database)
    if report.content is not None:
        tell_partners(report.content, now, report.previous, report.before, database)
    return 0, report


def moment(when: datetime) -> str:
    """A moment for people, in UTC: ``2026-12-08 14:00:00 UTC``."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def cmd_watch(args: argparse.Namespace) -> int:
    import signal
    import threading

    from feeds.publish import deploy, watch

    if not args.content.is_dir():
        raise UsageError(f"{args.content} is not a content directory (give --content DIR)")
    if args.deploy is not None:
        deploy.Target.parse(args.deploy)  # a wrong address stops it now, not at each build
    # With --deploy the hub hears of the feeds once the bucket has them (feeds deploy).
    args = argparse.Namespace(**{**vars(args), "no_ping": args.deploy is not None})
    stop = threading.Event()

    def stopping(signum: int, frame: object) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl+C: do not wait for the build
        stop.set()  # a build under way finishes (the export is swapped whole), then it stops

    before = {sig: signal.signal(sig, stopping) for sig in (signal.SIGINT, signal.SIGTERM)}
    owed = [args.deploy is not None]  # the first build is deployed, whatever it wrote

    def build(now: datetime) -> datetime | None:
        failed = False
        next_at = None
        try:
            report = build_once(args, now)[1]
            failed = report is None  # a problem it printed: the next change builds again
            next_at = report.due if report is not None else None
            if args.deploy is not None and (owed[0] or (report is not None and report.written)):
                owed[0] = True
                cmd_deploy(_deploy_args(args))
                owed[0] = False
        except (FeedsError, OSError) as e:  # a full disk, a bucket that refuses: try again
            where = f"{e.filename}: " if isinstance(e, OSError) and e.filename else ""
            print(f"feeds watch: {where}{e}; trying again in {RETRY:.0f} s", file=sys.stderr)
            retry = now + timedelta(seconds=RETRY)
            next_at = retry if next_at is None else min(next_at, retry)
        when = f"; next build at {moment(next_at)} or on a change" if next_at else ""
        stopped = " (it stopped on the problems above)" if failed else ""
        print(f"watching {args.content} for changes{when}{stopped}; Ctrl+C or SIGTERM stops")
        sys.stdout.flush()
        return next_at

    try:
        watch.loop(build, _now, watch.changes(args.content, stop))
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    print(f"stopped watching {args.content}")
    return 0


#: Seconds ``feeds watch`` waits before trying a failed build or deploy again.
RETRY = 60.0


def _deploy_args(args: argparse.Namespace) -> argparse.Namespace:
    """``feeds deploy``'s arguments for what ``feeds watch`` built."""
    return argparse.Namespace(
        content=args.content,
        out=args.out,
        to=args.deploy,
        endpoint_url=args.endpoint_url,
        max_deletes=args.max_deletes,
        force=False,
        dry_run=False,
        check_bucket=False,
        delete_foreign=False,
        no_ping=False,
    )


def tell_partners(
    content: Content,
    now: datetime,
    previous: Mapping[str, Article] | None = None,
    before: datetime | None = None,
    database: str | None = None,
) -> None:
    """With a state database, append what changed for partners to their
    stream, and send the webhooks owed for up to :data:`PING_TIMEOUT`
    seconds (what is left, a running app sends). ``previous`` and
    ``before``: a fast build's (:class:`feeds.publish.report.Report`), for judging
    only what moved since the last build."""
    database = database or default_url(os.environ)
    if not configured(database):
        return  # nothing to tell, and no database code to import
    from feeds.publish import notify, webhooks
    from feeds.state.database import State
    from feeds.state.store import StateError

    try:
        state = State(database)
        try:
            told = notify.record_build_changes(state, content, now, time.time(), previous, before)
            tried = webhooks.deliver(
                state,
                notify.worker_id(),
                time.time,
                deadline=PING_TIMEOUT,
                within=PING_TIMEOUT,
            )
        finally:
            state.close()
    except StateError as e:
        print(f"could not tell partners: {e}", file=sys.stderr)
        return
    if told:
        taken = sum(1 for t in tried if t.error is None)
        print(
            f"told partners of {plural(len(told), 'change')}"
            + (f"; {plural(taken, 'webhook')} delivered" if tried else "")
        )


def ping_hub(
    hub: str,
    feeds: Sequence[tuple[str, str, str]],
    now: datetime,
    deployed: bool = False,
    database: str | None = None,
) -> None:
    """Tell the hub of the feeds a build changed, once each (a running app or
    another build may have already); what failed is retried in the background.
    ``deployed``: the feeds have just reached the bucket subscribers read, and
    each is pinged even if a build told the hub of the same bytes before."""
    from feeds.publish import notify, websub
    from feeds.state.database import State
    from feeds.state.store import StateError

    base = "/".join(feeds[0][0].split("/", 3)[:3])
    database = database or default_url(os.environ)
    try:
        state = State(database)
        try:
            notify.record_build(state, hub, feeds, now.timestamp(), time.time(), deployed)
            # The export is in place already: a slow hub delays nothing but this.
            # One line per feed is printed below: the log would say each failure twice.
            sent = websub.deliver(
                state,
                time.time,
                websub.backoff(os.environ.get("FEEDS_PING_BACKOFF")),
                PING_TIMEOUT,
                log=_QUIET,
                within=PING_TIMEOUT,
            )
            pending = state.next_try() is not None
            # One background sender per state database: started unless one is at work.
            log = websub.send_in_background(state, os.environ) if pending else None
            where = state.where
        finally:
            state.close()
    except StateError as e:
        print(f"could not ping {hub}: {e}", file=sys.stderr)
        return
    for line in websub.sent_lines(sent, base):
        print(line)
    if log is not None:
        print(f"pings that failed are retried in the background; see {log}")
    elif pending:
        print(f"pings that failed are retried in the background by the sender at work for {where}")


#: Seconds ``feeds build`` and ``feeds deploy`` wait for the hub, in all (each
#: ping under that deadline, :mod:`feeds.publish.exchange`): the retries do not keep
#: them waiting.
PING_TIMEOUT = 3.0

_QUIET = logging.getLogger("feeds.cli.pings")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


def progress_bar(stream: TextIO, width: int = 30) -> Callable[[int, int], None] | None:
    """A progress bar on a terminal, for builds long enough to want one; else None."""
    from feeds.terminal import raw

    stream = raw(stream)  # its carriage returns are the bar's own
    if not stream.isatty():
        return None
    started = time.monotonic()

    def show(done: int, total: int) -> None:
        if time.monotonic() - started < 0.5 and done < total:
            return  # short builds finish before a bar would help
        filled = width * done // max(total, 1)
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} files")
        if done == total:
            stream.write("\n")
        stream.flush()

    return show


def cmd_deploy(args: argparse.Namespace) -> int:
    from feeds.content.directory import load_site
    from feeds.publish import deploy

    started = time.monotonic()
    target = deploy.Target.parse(args.to)
    try:
        site = load_site(args.content)
    except ContentError as e:
        for problem in e.problems:
            print(problem)
        print(
            f"deploy stopped by {plural(len(e.problems), 'problem')} in site.toml; nothing was sent"
        )
        return 1
    s3 = deploy.client(args.endpoint_url)
    try:
        report = deploy.deploy(
            args.out,
            target,
            site,
            s3,
            dry_run=args.dry_run,
            max_deletes=(
                deploy.DEFAULT_MAX_DELETES if args.max_deletes is None else args.max_deletes
            ),
            force=args.force,
            progress=None if args.dry_run else transfer_bar(sys.stderr),
            check_bucket=args.check_bucket,
            delete_foreign=args.delete_foreign,
        )
    finally:
        s3.close()
    took = f"{time.monotonic() - started:.2f} s"
    uploads = len(report.uploaded)
    if args.dry_run:
        for action in report.actions:
            if action.kind is deploy.Kind.DELETE:
                print(f"would delete {action.path}")
            else:
                print(f"would upload {action.path} ({action.kind.value}, {size(action.size)})")
        print(
            f"dry run: would upload {plural(uploads, 'file')} ({size(report.bytes)}), "
            f"leave {report.unchanged} unchanged and delete {len(report.deleted)} "
            f"in {target}; nothing was changed"
        )
    else:
        print(
            f"uploaded {plural(uploads, 'file')} ({size(report.bytes)}), "
            f"{report.unchanged} unchanged, deleted {len(report.deleted)}, "
            f"to {target} in {took}"
        )
    if report.foreign:
        shown = ", ".join(report.foreign[:10]) + (" ..." if len(report.foreign) > 10 else "")
        print(
            f"left {plural(len(report.foreign), 'object')} that no deploy wrote: {shown} "
            "(--delete-foreign deletes them)"
        )
    if report.not_carried:
        print(
            "not carried by object storage (add them at the CDN or static host): "
            + ", ".join(report.not_carried)
        )
    if site.hub and not args.dry_run and not args.no_ping:
        feeds = deployed_feeds(site, report.fresh)
        if feeds:
            ping_hub(
                site.hub,
                feeds,
                _now(),
                deployed=True,
                database=default_url(os.environ, args.content),
            )
    return 0


def deployed_feeds(site: Site, fresh: Sequence[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(URL, key, digest) of each public feed a deploy uploaded anew, from
    its (path, digest) pairs: what the hub is told of once they can be
    fetched from the bucket."""
    from feeds import urls

    return [
        (urls.absolute(site.base_url, urls.path_of(path)), sha, sha)
        for path, sha in fresh
        if urls.is_feed(path)
    ]


def size(count: int) -> str:
    """A byte count for people: 812 B, 12.3 kB, 4.5 MB."""
    if count < 1000:
        return f"{count} B"
    value = float(count)
    for unit in ("kB", "MB", "GB"):
        value /= 1000
        if value < 1000 or unit == "GB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def transfer_bar(stream: TextIO, width: int = 30) -> Callable[[int, int, int, int], None] | None:
    """A progress bar with counts and bytes on a terminal; else None."""
    from feeds.terminal import raw

    stream = raw(stream)  # its carriage returns are the bar's own
    if not stream.isatty():
        return None
    started = time.monotonic()
    shown = [0.0]

    def show(done: int, total: int, done_bytes: int, total_bytes: int) -> None:
        now = time.monotonic()
        if done < total and (now - started < 0.5 or now - shown[0] < 0.1):
            return  # short deploys finish before a bar would help; redraw at most 10 times a second
        shown[0] = now
        filled = width * done // max(total, 1)
        stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} objects, "
            f"{size(done_bytes)} of {size(total_bytes)}"
        )
        if done == total:
            stream.write("\n")
        stream.flush()

    return show


# -- feeds partner ------------------------------------------------------------------


def _moment(text: str | None, site: Site, option: str) -> float | None:
    """``--since``/``--expires``: ISO 8601; without an offset, in the site's zone."""
    if text is None:
        return None
    from feeds.content.fields import parse_date

    found = parse_date(text, site.zone)
    if found is None:
        raise UsageError(f"{option}: expected an ISO 8601 date or time, got {text!r}")
    return found.timestamp()


def cmd_partner(args: argparse.Namespace) -> int:
    from feeds.content.directory import load_site
    from feeds.state.database import State

    site = load_site(args.content)
    now = _now()
    database = default_url(os.environ, args.content)
    # Which database, always: one made by mistake elsewhere would hold no partner.
    print(f"state database: {describe(database)}", file=sys.stderr)
    state = State(database)
    try:
        code: int = args.action(args, state, site, now)
    finally:
        state.close()
    return code


def partner_add(args: argparse.Namespace, state: State, site: Site, now: datetime) -> int:
    from feeds.state import partners

    expires = _moment(args.expires, site, "--expires")
    if expires is not None and expires <= now.timestamp():
        raise UsageError(
            f"--expires {args.expires} is not in the future: a token that expired "
            "already could never be used (no partner was added)"
        )
    token, kept = partners.new_token()
    if not state.add_partner(args.name, args.scope, expires, kept, now.timestamp()):
        raise UsageError(f"there is a partner named {args.name!r} already (see feeds partner list)")
    print(f"added {args.name} ({args.scope}); its token, shown this once:")
    print()
    print(f"  {token}")
    print()
    print(_how_to_use(site, token, args.scope))
    return 0


def _how_to_use(site: Site, token: str, scope: str) -> str:
    from feeds import urls
    from feeds.state import partners

    parts = urlsplit(site.base_url)
    where = urls.absolute(site.base_url, urls.DESK if scope == partners.EDITOR else urls.PARTNERS)
    feed = urls.absolute(site.base_url, urls.feed(urls.PARTNERS, "rss"))
    reader = f"{parts.scheme}://partner:{token}@{parts.netloc}{urlsplit(feed).path}"
    return (
        f"It is the password of HTTP Basic authentication (any user name) or a Bearer token,\n"
        f"for {where} and what is under it. In a feed reader:\n  {reader}\n"
        f"With curl:\n  curl -u partner:{token} {feed}"
    )


def partner_list(args: argparse.Namespace, state: State, site: Site, now: datetime) -> int:
    from feeds.state import partners

    found = state.partners()
    if not found:
        print("no partners yet (feeds partner add NAME)")
        return 0
    last_seen = state.last_fetches()
    rows = []
    for partner in found:
        held = ", ".join(
            token if until is None else f"{token} (until {partners.moment(until, site.zone)})"
            for token, until in partner.tokens
            if until is None or until > now.timestamp()
        )
        rows.append(
            (
                partner.name,
                partner.scope,
                partners.status(partner, now),
                partners.moment(partner.created, site.zone),
                partners.moment(partner.expires, site.zone) or "never",
                partners.moment(last_seen.get(partner.name), site.zone) or "never",
                held or "-",
            )
        )
    header = ("name", "scope", "status", "added", "expires", "last fetch", "tokens")
    print(partners.table(header, rows))
    return 0


def partner_rotate(args: argparse.Namespace, state: State, site: Site, now: datetime) -> int:
    from feeds.state import partners

    known = state.partner(args.name)
    if known is not None and known.revoked is not None:
        raise UsageError(
            f"{args.name} is revoked: no token of it works again "
            f"(feeds partner reinstate {args.name!r} gives it a new one)"
        )
    token, kept = partners.new_token()
    grace = args.grace_days * 86_400
    if known is None or not state.rotate(args.name, kept, now.timestamp(), grace):
        raise UsageError(f"no partner is named {args.name!r} (see feeds partner list)")
    until = partners.moment(now.timestamp() + grace, site.zone)
    print(f"a new token for {args.name}, shown this once (the old one works until {until}):")
    print()
    print(f"  {token}")
    print()
    print(_how_to_use(site, token, (state.partner(args.name) or _missing(args.name)).scope))
    return 0


def _missing(name: str) -> NoReturn:
    raise UsageError(f"no partner is named {name!r} (see feeds partner list)")


def partner_reinstate(args: argparse.Namespace, state: State, site: Site, now: datetime) -> int:
    from feeds.state import partners

    token, kept = partners.new_token()
    done = state.reinstate(args.name, kept, now.timestamp())
    if done is None:
        _missing(args.name)
    if not done:
        raise UsageError(f"{args.name} is not revoked (feeds partner rotate gives it a new token)")
    print(f"reinstated {args.name}: a new token, shown this once (no old one works again):")
    print()
    print(f"  {token}")
    print()
    print(_how_to_use(site, token, (state.partner(args.name) or _missing(args.name)).scope))
    return 0


def partner_revoke(args: argparse.Namespace, state: State, site: Site, now: datetime) -> int:
    if not state.revoke(args.name, now.timestamp()):
        _missing(args.name)
    print(f"revoked {args.name}: every token of it is refused from now on")
    return 0


def _as_last_named(root: Path) -> Content:
    """The content, for naming its articles: a file with problems as its last
    good version named it (from the build cache)."""
    from feeds.content.directory import load

    cache = Cache(default_cache(root, os.environ))
    try:
        return load(root, cache=cache, partial=True).content
    finally:
        cache.close()


def _print_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A header and rows as CSV on stdout, for spreadsheets."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


def partner_audit(args: argparse.Namespace, state: State, site: Site, now: datetime) -> int:
    """The newest ``--limit`` fetches, newest first, then the newest
    ``--limit`` counts of refused requests: what is printed never grows with
    the audit."""
    from feeds.state import partners

    if args.name is not None and state.partner(args.name) is None:
        _missing(args.name)
    since = _moment(args.since, site, "--since")
    limit = args.limit or None
    entries = state.audit(args.name, since, newest=limit)[::-1]
    refused = state.refused(args.name, since, newest=limit)
    if not entries and not refused:
        print("no fetches recorded" + (f" for {args.name}" if args.name else ""))
        return 0
    rows, counts = state.counted(args.name, since) if limit else (len(entries), len(refused))
    if entries:
        print(partners.table(partners.AUDIT_HEADER, partners.audit_rows(entries, site.zone)))
    if rows > len(entries):
        print(f"({rows - len(entries)} older fetches not shown: --limit N, 0 for all)")
    if refused:
        if entries:
            print()
        print("Refused requests, counted per hour, outcome and client:")
        print(partners.table(partners.REFUSED_HEADER, partners.refused_rows(refused, site.zone)))
    if counts > len(refused):
        print(f"({counts - len(refused)} older counts not shown: --limit N, 0 for all)")
    return 0


def partner_republications(
    args: argparse.Namespace, state: State, site: Site, now: datetime
) -> int:
    from feeds import urls
    from feeds.state import partners

    since = _moment(args.since, site, "--since")
    day = (
        datetime.fromtimestamp(since, UTC).astimezone(site.zone).date().isoformat()
        if since is not None
        else None
    )
    # A file with problems is named as its last good version named it.
    content = _as_last_named(args.content)
    named = {urls.id_digest(a.id): (a.title, a.url) for a in content.articles}
    figures = partners.republications(state.hits(day), named)
    rows = [
        (
            figure.title,
            figure.url or "",
            showing.origin,
            partners.moment(showing.first, site.zone),
            partners.moment(showing.last, site.zone),
            showing.hits,
        )
        for figure in figures
        for showing in figure.origins
    ]
    header = ("article", "url", "origin", "first seen", "last seen", "hits")
    if args.csv:
        _print_csv(header, rows)
        return 0
    if not rows:
        print("no republication seen yet" + (f" since {args.since}" if args.since else ""))
        return 0
    limit = args.limit or len(rows)
    shown = [(r[0], r[2], r[3], r[4], r[5]) for r in rows[:limit]]
    print(partners.table(("article", "origin", "first seen", "last seen", "hits"), shown))
    if len(rows) > limit:
        print(f"({len(rows) - limit} more rows not shown: --limit N, 0 for all, or --csv)")
    return 0


def partner_webhook(args: argparse.Namespace, state: State, site: Site, now: datetime) -> int:
    from feeds.publish import webhooks

    if state.partner(args.name) is None:
        _missing(args.name)
    if args.off:
        if args.url is not None:
            raise UsageError("give a URL or --off, not both")
        state.set_endpoint(args.name, None, "", now.timestamp())
        print(f"{args.name} has no webhook endpoint now")
        return 0
    if args.url is None or not webhooks.is_endpoint(args.url):
        raise UsageError(f"expected the endpoint's http(s) URL, got {args.url!r}")
    secret = webhooks.new_secret()
    state.set_endpoint(args.name, args.url, secret, now.timestamp())
    print(f"each change from now on is POSTed to {args.url}, signed with this secret")
    print("(Standard Webhooks), shown this once:")
    print()
    print(f"  {secret}")
    print()
    return 0


def partner_deliveries(args: argparse.Namespace, state: State, site: Site, now: datetime) -> int:
    from feeds.state import partners

    if args.name is not None and state.partner(args.name) is None:
        _missing(args.name)
    found = state.deliveries(args.name)
    if not found:
        print("no webhook deliveries" + (f" to {args.name}" if args.name else ""))
        return 0
    rows = [
        (
            partners.moment(d.recorded, site.zone),
            d.partner,
            d.seq,
            d.event,
            d.attempts,
            d.status or "-",
            "delivered" if d.delivered is not None else ("failed" if d.done else "owed"),
            partners.moment(d.delivered, site.zone) or "-",
            d.article,
            d.error or "",
        )
        for d in found
    ]
    header = ("time", "partner", "seq", "event", "attempts", "status", "outcome", "delivered")
    print(partners.table((*header, "article", "error"), rows))
    return 0


def partner_resend(args: argparse.Namespace, state: State, site: Site, now: datetime) -> int:
    from feeds.publish import notify, webhooks

    if state.partner(args.name) is None:
        _missing(args.name)
    if not any(e.partner == args.name and e.off is None for e in state.endpoints()):
        raise UsageError(f"{args.name} has no webhook endpoint (feeds partner webhook NAME URL)")
    content = _as_last_named(args.content)
    wanted = args.article.removesuffix(".md").removeprefix("articles/")
    found = [a for a in content.articles if wanted in (a.id, a.slug, a.path.removesuffix(".md"))]
    seq = state.last_change(site.base_url, found[0].id) if found else None
    if seq is None:
        raise UsageError(f"no change of {args.article!r} was told to partners")
    state.resend(args.name, seq, time.time())
    tried = webhooks.deliver(
        state, notify.worker_id(), time.time, partner=args.name, within=PING_TIMEOUT
    )
    mine = [t for t in tried if t.seq == seq]
    if mine and mine[-1].error is None:
        print(f"sent change {seq} ({found[0].id}) to {args.name} again")
    else:
        why = mine[-1].error if mine else "earlier changes are still owed"
        print(f"change {seq} to {args.name} is owed again ({why}); the app sends it")
    return 0


def partner_compliance(args: argparse.Namespace, state: State, site: Site, now: datetime) -> int:
    from feeds.state import partners

    content = _as_last_named(args.content)
    found = partners.compliance(state.alerts(), content.articles, now)
    rows = [
        (
            alert.title,
            alert.url,
            partners.moment(alert.withdrawn, site.zone),
            showing.origin,
            partners.moment(showing.first, site.zone),
            partners.moment(showing.last, site.zone),
            showing.hits,
        )
        for alert in found
        for showing in alert.origins
    ]
    header = ("article", "url", "withdrawn", "origin", "first hit", "last hit", "hits")
    if args.csv:
        _print_csv(header, rows)
        return 0
    if not rows:
        print("no withdrawn story was shown anywhere since its withdrawal")
        return 0
    print(partners.table(header[:1] + header[2:], [r[:1] + r[2:] for r in rows]))
    return 0


#: Rows ``feeds partner audit`` prints by default.
AUDIT_LIMIT = 100


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from werkzeug.serving import get_sockaddr, make_server, select_address_family

    from webapp import create_app

    if not args.content.is_dir():
        raise UsageError(
            f"{args.content} is not a content directory (give --content DIR, or set "
            "FEEDS_CONTENT; `feeds new` writes articles into one)"
        )
    host = f"[{args.host}]" if ":" in args.host else args.host  # IPv6
    base_url = f"http://{host}:{args.port}/"
    # The port first: a busy one is said at once, before the content is loaded
    # and before anything says it is being previewed. Werkzeug's server, not
    # Flask's app.run(), which prints a warning meant for deployments in red.
    family = select_address_family(args.host, args.port)
    with socket.socket(family, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(get_sockaddr(args.host, args.port, family))
            listener.listen(128)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise UsageError(
                    f"port {args.port} of {args.host} is busy: another program listens "
                    "there (another feeds serve?); stop it, or give --port"
                ) from e
            raise
        # The server listens on a copy of the socket.
        server = make_server(args.host, args.port, _starting, threaded=True, fd=listener.fileno())
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    app = create_app(
        {
            "CONTENT": str(args.content),
            "PREVIEW": True,
            "DRAFTS": args.drafts,
            "BASE_URL": base_url,
            # The clock stopped at $FEEDS_NOW when it is set (tests); else the real one.
            **({"NOW": _now()} if os.environ.get("FEEDS_NOW") else {}),
        }
    )
    server.app = app
    shown = "; drafts and scheduled articles shown, marked" if args.drafts else ""
    print(f"previewing {args.content} at {base_url} (pages reload on change{shown}; Ctrl+C stops)")
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def _starting(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """What the preview's port answers while the content loads (never seen:
    requests are served only once serve_forever runs, after it is replaced)."""
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting\n"]


def cmd_new(args: argparse.Namespace) -> int:
    from feeds.content.scaffold import new_article

    path = new_article(args.content, args.title, args.author, _now())
    unnamed = "\nauthors: []" in path.read_text(encoding="utf-8")
    note = "; name its authors under authors: before it can be published" if unnamed else ""
    print(f"wrote {path} (a draft: `feeds publish {path}` puts it out, dated then{note})")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from feeds.content.publish_draft import publish

    try:
        done = publish(args.content, args.file, _now(), default_cache(args.content, os.environ))
    except ContentError as e:
        for problem in e.problems:
            print(problem)
        print(f"{args.file}: not published; it was left as it was")
        return 1
    was = f"; {done.draft.strip()} removed" if done.draft is not None else ""
    print(
        f"published {args.content / done.path}: date: {done.date}{was}; "
        "feeds build (or a running app) puts it out"
    )
    return 0


def port(text: str) -> int:
    number = int(text) if text.isdigit() else -1
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {text!r}")
    return number


def count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a number, 0 or more, got {text!r}")
    return int(text)


def grace_days(text: str) -> int:
    number = int(text) if text.isdigit() and len(text) < 5 else -1
    if not 0 <= number <= 365:
        raise argparse.ArgumentTypeError(f"expected a number of days from 0 to 365, got {text!r}")
    return number


class _Version(argparse.Action):
    """``feeds --version``: the version pip installed, from the package's
    metadata (read only when asked: ``feeds build`` does not pay for it)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> NoReturn:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("feeds")
        except PackageNotFoundError:  # run from a source tree that was never installed
            found = "unknown (not installed: pip install -e .)"
        print(f"feeds {found}")
        parser.exit()


def _building_options(parser: argparse.ArgumentParser) -> None:
    """``--jobs`` and ``--cache``, as ``feeds build`` and ``feeds watch`` take them."""
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="processes for parsing and rendering (default: one per core)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        metavar="FILE",
        help="build cache (default: $FEEDS_CACHE, else a file under ~/.cache/feeds/)",
    )


def _out_option(parser: argparse.ArgumentParser, help: str) -> None:
    """``--out``, the export folder (default ``./out``), as each command says it."""
    parser.add_argument("--out", type=Path, default=Path("out"), metavar="DIR", help=help)


def _store_options(parser: argparse.ArgumentParser, endpoint_url: str, max_deletes: str) -> None:
    """``--endpoint-url`` and ``--max-deletes``, as ``feeds deploy`` and
    ``feeds watch --deploy`` take them; the help as each command says it."""
    parser.add_argument("--endpoint-url", metavar="URL", help=endpoint_url)
    parser.add_argument("--max-deletes", type=count, metavar="N", help=max_deletes)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feeds", description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--version", action=_Version, nargs=0, help="print the installed version of feeds and exit"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, summary: str, run: Callable[[argparse.Namespace], int]
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=summary)
        sub.add_argument(
            "--content",
            type=Path,
            default=default_content(),
            metavar="DIR",
            help="content directory (default: $FEEDS_CONTENT, else ./content)",
        )
        sub.set_defaults(run=run)
        return sub

    check = command(
        "check",
        "Check every article, author and site.toml; exit 1 on any problem. Warnings "
        "(content that would be changed or lost on the way) do not fail, unless --strict.",
        cmd_check,
    )
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    build = command(
        "build",
        "Write the static export atomically. A file with problems holds back only "
        "itself: its last good version stays published (or, never good, it stays out), "
        "it is listed first, and the build exits 0 all the same, unless --strict.",
        cmd_build,
    )
    build.add_argument(
        "--strict",
        action="store_true",
        help="exit 1, writing nothing, when a file other than a draft has problems (for CI)",
    )
    _out_option(
        build, "export folder (default: ./out); replaced whole, only when the build succeeds"
    )
    _building_options(build)
    build.add_argument(
        "--no-cache", action="store_true", help="build everything from scratch, keep nothing"
    )
    build.add_argument(
        "--no-ping",
        action="store_true",
        help="do not tell the WebSub hub of the feeds that changed: for a site that "
        "feeds deploy publishes (it tells the hub once the bucket has them); otherwise a "
        "later build that changes anything tells it of them too",
    )
    watching = command(
        "watch",
        "Build (and deploy) on every change of the content and whenever a scheduled "
        "story, a withdrawal or another change by the clock falls due; for a static "
        "site run unattended (a service). SIGINT or SIGTERM stops it once a build under "
        "way is done.",
        cmd_watch,
    )
    _out_option(watching, "export folder (default: ./out)")
    watching.add_argument(
        "--deploy",
        metavar="s3://BUCKET[/PREFIX]",
        help="after each build that changed files, upload the export there as feeds deploy "
        "does (which tells the WebSub hub once the bucket has the feeds)",
    )
    _store_options(
        watching,
        endpoint_url="the S3 API's address, for stores other than AWS",
        max_deletes="a deploy deletes nothing when more objects would go (default: 50)",
    )
    _building_options(watching)
    watching.set_defaults(no_cache=False, strict=False, no_ping=False)
    serve = command("serve", "Preview the site; open pages reload when content changes.", cmd_serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=port, default=8000, help="port (default: 8000)")
    serve.add_argument(
        "--drafts",
        action="store_true",
        help="also show drafts and scheduled articles, each marked (never in feeds build "
        "nor in the WSGI app)",
    )
    new = command(
        "new", "Write a new draft article with a permanent id, today's date and a slug.", cmd_new
    )
    new.add_argument("title", metavar="TITLE", help="the article's title")
    new.add_argument(
        "--author",
        action="append",
        default=[],
        metavar="ID",
        help="an author id from authors/ (repeat for several; default: the site's only "
        "author, else none yet, for you to fill in)",
    )
    published = command(
        "publish",
        "Publish a draft (or a scheduled article) now: its date becomes now and its "
        "draft line goes; the rest of the file is kept as it is.",
        cmd_publish,
    )
    published.add_argument(
        "file", metavar="FILE", help="the article: its path, or its file name in articles/"
    )
    partner = commands.add_parser(
        "partner",
        help="The partner desk: tokens for early access, the audit, republications.",
        description="The partner desk: partners' tokens for the early-access feeds "
        "(/partners/rss.xml and the rest), the audit of their fetches, and the "
        "republications the built-in pixel counted. State lives in $FEEDS_STATE "
        "(default: state/feeds.db beside the content directory), or PostgreSQL at "
        "$FEEDS_DATABASE_URL.",
    )
    partner.set_defaults(run=cmd_partner)
    actions = partner.add_subparsers(dest="action_name", required=True, metavar="ACTION")

    def action(name: str, summary: str, run: Callable[..., int]) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=summary, description=summary)
        sub.add_argument(
            "--content",
            type=Path,
            default=default_content(),
            metavar="DIR",
            help="content directory, for site.toml's time zone (default: $FEEDS_CONTENT, "
            "else ./content)",
        )
        sub.set_defaults(action=run)
        return sub

    add = action(
        "add", "Add a partner and print its token, this once (only a hash is kept).", partner_add
    )
    add.add_argument("name", metavar="NAME", help="the partner's name, unique")
    add.add_argument(
        "--scope",
        choices=("early-access", "editor"),
        default="early-access",
        help="early-access: the partner feeds; editor: those and /desk/ (default: early-access)",
    )
    add.add_argument(
        "--expires",
        metavar="DATE",
        help="refuse its tokens from then on (ISO 8601; without an offset, in the site's zone)",
    )
    action("list", "List the partners, their tokens and their last fetch.", partner_list)
    rotate = action(
        "rotate",
        "Give a partner a new token; the old one keeps working for a grace period.",
        partner_rotate,
    )
    rotate.add_argument("name", metavar="NAME")
    rotate.add_argument(
        "--grace-days",
        type=grace_days,
        default=7,
        metavar="N",
        help="days the old token keeps working, 0 to 365 (default: 7)",
    )
    revoke = action("revoke", "Refuse every token of a partner from now on.", partner_revoke)
    revoke.add_argument("name", metavar="NAME")
    reinstate = action(
        "reinstate",
        "Take back a revocation: a new token (no old one works again); "
        "its audit and history stay under its name.",
        partner_reinstate,
    )
    reinstate.add_argument("name", metavar="NAME")
    audit = action("audit", "Print the audit of fetches, granted or refused.", partner_audit)
    audit.add_argument("name", nargs="?", metavar="NAME", help="one partner's only")
    audit.add_argument("--since", metavar="DATE", help="from then on (ISO 8601)")
    audit.add_argument(
        "--limit",
        type=count,
        default=AUDIT_LIMIT,
        metavar="N",
        help=f"the newest N fetches and N counts of refusals (default {AUDIT_LIMIT}; 0: all)",
    )
    republished = action(
        "republications",
        "Print, for each article, the origins that showed it, with hits.",
        partner_republications,
    )
    republished.add_argument("--since", metavar="DATE", help="from that day on (ISO 8601)")
    republished.add_argument("--csv", action="store_true", help="CSV, for spreadsheets")
    republished.add_argument(
        "--limit",
        type=count,
        default=AUDIT_LIMIT,
        metavar="N",
        help=f"the table's first N rows, most hits first (default {AUDIT_LIMIT}; 0: all)",
    )
    hook = action(
        "webhook",
        "Set a partner's webhook endpoint and print its signing secret, this once.",
        partner_webhook,
    )
    hook.add_argument("name", metavar="NAME")
    hook.add_argument("url", nargs="?", metavar="URL", help="where each change is POSTed")
    hook.add_argument("--off", action="store_true", help="remove the endpoint")
    delivered = action(
        "deliveries",
        "Print the webhook deliveries: event, attempts, status, time.",
        partner_deliveries,
    )
    delivered.add_argument("name", nargs="?", metavar="NAME", help="one partner's only")
    resend = action(
        "resend", "Send a partner an article's newest change once more.", partner_resend
    )
    resend.add_argument("name", metavar="NAME")
    resend.add_argument("article", metavar="ARTICLE", help="the article's id, slug or file")
    compliance = action(
        "compliance",
        "Print, for each withdrawn story, the origins still showing it since its withdrawal.",
        partner_compliance,
    )
    compliance.add_argument("--csv", action="store_true", help="CSV, for spreadsheets")
    deploy = command(
        "deploy",
        "Upload the last export to S3-compatible object storage: changed files only.",
        cmd_deploy,
    )
    _out_option(deploy, "the export to upload, written by feeds build (default: ./out)")
    deploy.add_argument(
        "--to",
        required=True,
        metavar="s3://BUCKET[/PREFIX]",
        help="where: a bucket, and a prefix in it; credentials from the AWS environment",
    )
    _store_options(
        deploy,
        endpoint_url="the S3 API's address, for stores other than AWS (default: AWS's)",
        max_deletes="stop, deleting nothing, when more objects would be deleted (default: 50)",
    )
    deploy.add_argument(
        "--force", action="store_true", help="delete however many objects the export lost"
    )
    deploy.add_argument(
        "--dry-run", action="store_true", help="print what would be done; change nothing"
    )
    deploy.add_argument(
        "--check-bucket",
        action="store_true",
        help="list every object, not only those the last deploy left unsure: finds "
        "objects changed behind the deploy's back (without: those it wrote are known)",
    )
    deploy.add_argument(
        "--delete-foreign",
        action="store_true",
        help="also delete the objects under the prefix that no deploy wrote "
        "(without: they are listed and left)",
    )
    deploy.add_argument(
        "--no-ping",
        action="store_true",
        help="do not tell the WebSub hub of the feeds this deploy changed",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command line. Everything it prints goes through
    :class:`feeds.terminal.Visible`: no character that is not printable (a
    C1 control, a bidi override from a request or a file name) reaches the
    terminal as itself."""
    from contextlib import redirect_stderr, redirect_stdout

    from feeds.terminal import Visible

    out, err = sys.stdout, sys.stderr
    with redirect_stdout(Visible(out)), redirect_stderr(Visible(err)):
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except FeedsError as e:
        print(f"feeds {args.command}: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `feeds partner audit | head`: the reader has all it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        print(f"feeds {args.command}: {where}{e.strerror or e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
