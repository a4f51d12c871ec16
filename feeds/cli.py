"""The ``feeds`` command. This is an edge: it reads the clock and the environment,
and it is the only place that turns errors into exit codes and messages."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from feeds.content import load_content
from feeds.errors import ContentError, FeedsError
from feeds.scaffold import new_article

HELP = """Publish Markdown articles as RSS 2.0, Atom 1.0 and JSON Feed 1.1.

The content directory defaults to $FEEDS_CONTENT, else ./content."""


def default_content() -> Path:
    return Path(os.environ.get("FEEDS_CONTENT") or "content")


def cmd_check(args: argparse.Namespace) -> int:
    root: Path = args.content
    now = datetime.now(UTC)
    try:
        content = load_content(root)
    except ContentError as e:
        for problem in e.problems:
            print(problem)
        count = len(e.problems)
        print(f"{_counts(root)}: {count} problem{'s' if count != 1 else ''}")
        return 1
    drafts = sum(a.draft for a in content.articles)
    scheduled = sum(not a.draft and a.date > now for a in content.articles)
    print(
        f"{_counts(root)}: no problems "
        f"({len(content.articles) - drafts - scheduled} public, {scheduled} scheduled, "
        f"{drafts} draft{'s' if drafts != 1 else ''})"
    )
    return 0


def _counts(root: Path) -> str:
    def count(folder: str) -> int:
        directory = root / folder
        return len(list(directory.glob("*.md"))) if directory.is_dir() else 0

    articles, authors = count("articles"), count("authors")
    return (
        f"checked {articles} article{'s' if articles != 1 else ''} and "
        f"{authors} author{'s' if authors != 1 else ''}"
    )


def cmd_new(args: argparse.Namespace) -> int:
    path = new_article(args.content, args.title, args.author, datetime.now(UTC))
    print(f"wrote {path} (a draft: set draft: false, or remove it, to publish)")
    return 0


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

    command("check", "Check every article, author and site.toml; exit 1 on any problem.", cmd_check)
    new = command(
        "new", "Write a new draft article with a permanent id, today's date and a slug.", cmd_new
    )
    new.add_argument("title", metavar="TITLE", help="the article's title")
    new.add_argument(
        "--author",
        action="append",
        default=[],
        metavar="ID",
        help="an author id from authors/ (repeat for several; at least one)",
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
        print(f"feeds {args.command}: {e.filename or ''}: {e.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
