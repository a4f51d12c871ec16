"""The ``feeds`` command. This is an edge: it reads the clock and the environment,
and it is the only place that turns errors into exit codes and messages."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from feeds.cache import Cache
from feeds.cache import default_path as default_cache
from feeds.content import ARTICLES, AUTHORS, load, markdown_files
from feeds.deploy import DEFAULT_MAX_DELETES
from feeds.errors import ContentError, FeedsError, UsageError
from feeds.listings import status
from feeds.scaffold import new_article

HELP = """Publish Markdown articles as RSS 2.0, Atom 1.0 and JSON Feed 1.1.

The content directory defaults to $FEEDS_CONTENT, else ./content."""


def default_content() -> Path:
    return Path(os.environ.get("FEEDS_CONTENT") or "content")


def cmd_check(args: argparse.Namespace) -> int:
    from feeds.lint import warnings

    root: Path = args.content
    now = datetime.now(UTC)
    try:
        loaded = load(root, lint=True)
    except ContentError as e:
        for problem in e.problems:
            print(problem)
        print(f"{_counts(root)}: {plural(len(e.problems), 'problem')}")
        return 1
    found = warnings(loaded, now)
    for warning in found:
        print(warning)
    content = loaded.content
    states = Counter(status(a, now) or "public" for a in content.articles)
    warned = f", {plural(len(found), 'warning')}" if found else ""
    withdrawn = f", {states['withdrawn']} withdrawn" if states["withdrawn"] else ""
    print(
        f"{_counts(root)}: no problems{warned} ({states['public']} public, "
        f"{states['scheduled']} scheduled, {plural(states['draft'], 'draft')}{withdrawn})"
    )
    return 1 if found and args.strict else 0


def _counts(root: Path) -> str:
    articles = len(markdown_files(root, ARTICLES))
    authors = len(markdown_files(root, AUTHORS))
    return f"checked {plural(articles, 'article')} and {plural(authors, 'author')}"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def cmd_build(args: argparse.Namespace) -> int:
    from feeds.build import build

    started, now = time.monotonic(), datetime.now(UTC)
    cache = None if args.no_cache else Cache(args.cache or default_cache(args.content))
    try:
        report = build(args.content, args.out, now, cache, args.jobs, progress_bar(sys.stderr))
    except ContentError as e:
        for problem in e.problems:
            print(problem)
        print(
            f"build stopped by {plural(len(e.problems), 'problem')}; {args.out} was left as it was"
        )
        return 1
    finally:
        if cache is not None:
            cache.close()
    took = f"{time.monotonic() - started:.2f} s"
    if report.written:
        changed = plural(report.written, "changed file")
        print(f"wrote {changed} of {report.files} to {args.out} in {took}")
    else:
        print(f"{args.out} is up to date ({plural(report.files, 'file')}), checked in {took}")
    if report.hub and report.feeds and not args.no_ping:
        ping_hub(report.hub, report.feeds, now)
    return 0


def ping_hub(hub: str, feeds: Sequence[tuple[str, str, str]], now: datetime) -> None:
    """Tell the hub of the feeds a build changed, once each (a running app or
    another build may have already); what failed is retried in the background."""
    from feeds import websub
    from feeds.state import State, StateError, Topic

    base = "/".join(feeds[0][0].split("/", 3)[:3])
    try:
        state = State()
        try:
            known = state.topics(base)
            found = {
                url: Topic(key, sha, now.timestamp())
                for url, key, sha in feeds
                if url not in known or known[url].digest != sha
            }
            websub.announce(state, hub, found, time.time())
            # The export is in place already: a slow hub delays nothing but this.
            sent = websub.deliver(state, time.time, websub.backoff_from_env(), PING_TIMEOUT)
            pending = state.next_try() is not None
        finally:
            state.close()
    except StateError as e:
        print(f"could not ping {hub}: {e}", file=sys.stderr)
        return
    for line in websub.sent_lines(sent, base):
        print(line)
    if pending:
        log = websub.send_in_background()
        print(f"pings that failed are retried in the background; see {log}")


#: Seconds ``feeds build`` waits for a hub: the retries do not keep it waiting.
PING_TIMEOUT = 3.0


def progress_bar(stream: TextIO, width: int = 30) -> Callable[[int, int], None] | None:
    """A progress bar on a terminal, for builds long enough to want one; else None."""
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
    from feeds import deploy

    started = time.monotonic()
    target = deploy.Target.parse(args.to)
    try:
        site = deploy.read_site(args.content)
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
            max_deletes=args.max_deletes,
            force=args.force,
            progress=None if args.dry_run else transfer_bar(sys.stderr),
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
    if report.not_carried:
        print(
            "not carried by object storage (add them at the CDN or static host): "
            + ", ".join(report.not_carried)
        )
    return 0


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


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from webapp import create_app

    if not args.content.is_dir():
        raise UsageError(
            f"{args.content} is not a content directory (give --content DIR, or set "
            "FEEDS_CONTENT; `feeds new` writes articles into one)"
        )
    host = f"[{args.host}]" if ":" in args.host else args.host  # IPv6
    base_url = f"http://{host}:{args.port}/"
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    app = create_app(
        {
            "CONTENT": str(args.content),
            "PREVIEW": True,
            "DRAFTS": args.drafts,
            "BASE_URL": base_url,
        }
    )
    shown = "; drafts and scheduled articles shown, marked" if args.drafts else ""
    print(f"previewing {args.content} at {base_url} (pages reload on change{shown}; Ctrl+C stops)")
    app.run(host=args.host, port=args.port, debug=False, use_reloader=False, threaded=True)
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    path = new_article(args.content, args.title, args.author, datetime.now(UTC))
    unnamed = "\nauthors: []" in path.read_text(encoding="utf-8")
    note = "; name its authors under authors: before it can be built" if unnamed else ""
    print(f"wrote {path} (a draft: set draft: false, or remove it, to publish{note})")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feeds", description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter
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
        "build", "Check the content, then write the static export atomically.", cmd_build
    )
    build.add_argument(
        "--out",
        type=Path,
        default=Path("out"),
        metavar="DIR",
        help="export folder (default: ./out); replaced whole, only when the build succeeds",
    )
    build.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="processes for parsing and rendering (default: one per core)",
    )
    build.add_argument(
        "--cache",
        type=Path,
        metavar="FILE",
        help="build cache (default: $FEEDS_CACHE, else a file under ~/.cache/feeds/)",
    )
    build.add_argument(
        "--no-cache", action="store_true", help="build everything from scratch, keep nothing"
    )
    build.add_argument(
        "--no-ping",
        action="store_true",
        help="do not tell the WebSub hub of the feeds that changed (a later build that "
        "changes anything tells it of them too)",
    )
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
    deploy = command(
        "deploy",
        "Upload the last export to S3-compatible object storage: changed files only.",
        cmd_deploy,
    )
    deploy.add_argument(
        "--out",
        type=Path,
        default=Path("out"),
        metavar="DIR",
        help="the export to upload, written by feeds build (default: ./out)",
    )
    deploy.add_argument(
        "--to",
        required=True,
        metavar="s3://BUCKET[/PREFIX]",
        help="where: a bucket, and a prefix in it; credentials from the AWS environment",
    )
    deploy.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="the S3 API's address, for stores other than AWS (default: AWS's)",
    )
    deploy.add_argument(
        "--max-deletes",
        type=count,
        default=DEFAULT_MAX_DELETES,
        metavar="N",
        help="stop, deleting nothing, when more objects would be deleted (default: 50)",
    )
    deploy.add_argument(
        "--force", action="store_true", help="delete however many objects the export lost"
    )
    deploy.add_argument(
        "--dry-run", action="store_true", help="print what would be done; change nothing"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except FeedsError as e:
        print(f"feeds {args.command}: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        print(f"feeds {args.command}: {where}{e.strerror or e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
