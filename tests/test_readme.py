"""The README is checked against the code, so the documentation cannot drift:
its two commands are the ones CI runs, its command table lists each command's
real options, its example problems are what `feeds check` prints, and its
command reference is each command's `--help`.

``python tests/test_readme.py`` rewrites the command reference from the code.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
#: The width the reference is formatted at, whatever the terminal.
COLUMNS = "90"
START, END = "<!-- cli-reference -->\n", "<!-- /cli-reference -->"


def readme() -> str:
    return README.read_text(encoding="utf-8")


def section(title: str) -> str:
    return readme().split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", section("Quick start"))


def subcommands(
    parser: argparse.ArgumentParser | None = None, prefix: str = ""
) -> dict[str, argparse.ArgumentParser]:
    """Every command by its name (``check``), and those of a command that has
    actions too (``partner``, ``partner add``)."""
    from feeds.cli import build_parser

    found: dict[str, argparse.ArgumentParser] = {}
    top = parser or build_parser()
    for action in top._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[prefix + name] = sub
                found.update(subcommands(sub, prefix + name + " "))
    return found


def cli_reference() -> str:
    """The command reference as the README holds it."""
    from feeds.cli import build_parser

    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = COLUMNS  # argparse wraps at the terminal's width
    try:
        blocks = [("feeds --help", build_parser().format_help())]
        blocks += [(f"feeds {name} --help", p.format_help()) for name, p in subcommands().items()]
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    return "".join(f"```\n$ {command}\n{text.rstrip()}\n```\n\n" for command, text in blocks)


def test_readme_shows_exactly_two_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith(".venv/bin/feeds serve")
    assert commands[1].endswith(".venv/bin/pytest --runslow")  # both tiers
    for command in commands:  # the install takes a minute: pip shows its progress
        assert " -q" not in command and "--quiet" not in command, command


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert readme_commands()[1] in ci


def test_the_command_reference_is_each_commands_help() -> None:
    text = readme()
    assert START in text and END in text
    shown = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert shown == cli_reference().strip(), "run: python tests/test_readme.py"


def test_the_command_table_lists_each_commands_options() -> None:
    """Each row of the Commands table names its command's options, no more, no less."""
    rows = re.findall(r"^\| `feeds (\w+(?: [a-z]+)?)((?: [^`]*)?)` \|", section("Commands"), re.M)
    every = subcommands()
    # A command with actions has a row for each action instead.
    parsers = {n: p for n, p in every.items() if not any(o.startswith(n + " ") for o in every)}
    assert sorted({name for name, _ in rows}) == sorted(parsers)
    for name, parser in parsers.items():
        written = {
            option
            for usage in (u for n, u in rows if n == name)
            for option in re.findall(r"--[a-z-]+", usage)
        }
        real = {o for a in parser._actions for o in a.option_strings if o.startswith("--")}
        assert written == real - {"--help"}, name


def test_readme_documents_every_field() -> None:
    from feeds.content.validate import ARTICLE_FIELDS, AUTHOR_FIELDS, IMAGE_FIELDS, SITE_FIELDS

    text = readme()
    for field in (*SITE_FIELDS, *ARTICLE_FIELDS, *AUTHOR_FIELDS, *IMAGE_FIELDS):
        assert f"`{field}`" in text or f"{field}?" in text or f"{field}," in text, field


#: The file behind the README's example problems, added to the sample site.
PERU = """\
---
title: "Peru's water"
date: 2024-13-01
subtitle: The reservoirs run low.
section: Reporting
tags: [Perú]
tilte: Peru's water
summary: A short summary.
authors: [ana-quispe, ana-quipse]
---
Text.
"""


#: The file behind the README's example warnings, added to the sample site.
LIMA = """\
---
title: Lima's water
date: 2026-10-01
authors: [ana-quispe]
---
The reservoirs run low.

The chart below shows it.

The water utility published these figures.

<img src="/images/lima-reservoir.png" alt="A reservoir" onerror="track()">

More in our coverage,
[elsewhere](/articles/nope/).
"""


def test_the_example_warnings_are_what_check_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from feeds.cli import main

    example = re.search(r"and a warning reads .*?for example:\n\n```\n(.+?)\n```", readme(), re.S)
    assert example, "the Commands section shows example warnings"
    root = Path(shutil.copytree(REPO / "content", tmp_path / "content"))
    (root / "articles" / "lima.md").write_text(LIMA, encoding="utf-8")
    assert main(["check", "--content", str(root)]) == 0
    assert capsys.readouterr().out.splitlines()[:-1] == example.group(1).splitlines()


def test_the_example_problems_are_what_check_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from feeds.cli import main

    example = re.search(r"for example:\n\n```\n(.+?)\n```", section("Commands"), re.S)
    assert example, "the Commands section shows example problems"
    root = Path(shutil.copytree(REPO / "content", tmp_path / "content"))
    (root / "articles" / "peru.md").write_text(PERU, encoding="utf-8")
    quito = "---\ntitle: Quito: the wells\ndate: 2026-10-01\nauthors: [ana-quispe]\n---\nText.\n"
    (root / "articles" / "quito.md").write_text(quito, encoding="utf-8")
    assert main(["check", "--content", str(root)]) == 1
    assert capsys.readouterr().out.rstrip("\n") == example.group(1)


if __name__ == "__main__":
    text = readme()
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    README.write_text(before + START + cli_reference() + END + after, encoding="utf-8")
    sys.exit(0)
