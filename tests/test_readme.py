"""The README's commands are the ones CI runs, so the documentation cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

from feeds.cli import build_parser

REPO = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", quick_start)


def test_readme_shows_exactly_two_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith(".venv/bin/feeds serve")
    assert commands[1].endswith(".venv/bin/pytest")


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert readme_commands()[1] in ci


def test_readme_documents_every_command_and_field() -> None:
    from feeds.validate import ARTICLE_FIELDS, AUTHOR_FIELDS, IMAGE_FIELDS, SITE_FIELDS

    text = (REPO / "README.md").read_text(encoding="utf-8")
    subcommands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in subcommands:
        assert f"`feeds {name} " in text
    for field in (*SITE_FIELDS, *ARTICLE_FIELDS, *AUTHOR_FIELDS, *IMAGE_FIELDS):
        assert f"`{field}`" in text or f"{field}?" in text or f"{field}," in text, field
