"""The README and docs/ are checked against the code, so the documentation
cannot drift: the README's two commands are the ones CI runs, the command
tables list each command's real options, the example problems are what
`feeds check` prints, the command reference (docs/commands.md) is each
command's `--help`, the URL tables name what the site serves, the documented
fields, defaults and limits are the code's, and every relative link leads to a
file and a heading that exist.

``python tests/test_readme.py`` rewrites the command reference from the code.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"
#: Where the generated command reference lives.
REFERENCE = DOCS / "commands.md"
#: The width the reference is formatted at, whatever the terminal.
COLUMNS = "90"
START, END = "<!-- cli-reference -->\n", "<!-- /cli-reference -->"


def readme() -> str:
    return README.read_text(encoding="utf-8")


def doc(name: str) -> str:
    """A file of docs/ (``content`` for docs/content.md)."""
    return (DOCS / f"{name}.md").read_text(encoding="utf-8")


def section(title: str, text: str | None = None) -> str:
    """A ``## title`` section of the README (or of ``text``), to the next one."""
    text = readme() if text is None else text
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


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
    text = REFERENCE.read_text(encoding="utf-8")
    assert START in text and END in text
    shown = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert shown == cli_reference().strip(), "run: python tests/test_readme.py"


#: The two command tables: the README's, one line each, and docs/commands.md's.
COMMAND_TABLES = {
    "README.md": lambda: section("Commands"),
    "docs/commands.md": lambda: doc("commands").split("## Command reference", 1)[0],
}


@pytest.mark.parametrize("where", sorted(COMMAND_TABLES))
def test_the_command_table_lists_each_commands_options(where: str) -> None:
    """Each row of a Commands table names its command's options, no more, no less."""
    table = COMMAND_TABLES[where]()
    rows = re.findall(r"^\| `feeds (\w+(?: [a-z]+)?)((?: [^`]*)?)` \|", table, re.M)
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
        assert written == real - {"--help"}, (where, name)


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

    text = section("Problems and warnings", doc("content"))
    example = re.search(r"a warning reads .*?for example:\n\n```\n(.+?)\n```", text, re.S)
    assert example, "docs/content.md shows example warnings"
    root = Path(shutil.copytree(REPO / "content", tmp_path / "content"))
    (root / "articles" / "lima.md").write_text(LIMA, encoding="utf-8")
    assert main(["check", "--content", str(root)]) == 0
    assert capsys.readouterr().out.splitlines()[:-1] == example.group(1).splitlines()


def test_the_example_problems_are_what_check_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from feeds.cli import main

    text = section("Problems and warnings", doc("content"))
    example = re.search(r"for example:\n\n```\n(.+?)\n```", text, re.S)
    assert example, "docs/content.md shows example problems"
    root = Path(shutil.copytree(REPO / "content", tmp_path / "content"))
    (root / "articles" / "peru.md").write_text(PERU, encoding="utf-8")
    quito = "---\ntitle: Quito: the wells\ndate: 2026-10-01\nauthors: [ana-quispe]\n---\nText.\n"
    (root / "articles" / "quito.md").write_text(quito, encoding="utf-8")
    assert main(["check", "--content", str(root)]) == 1
    assert capsys.readouterr().out.rstrip("\n") == example.group(1)


def test_the_broken_files_example_is_what_build_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/content.md's example of a build with a broken article (held back at
    its last good version) and a broken draft (left out), beside another edit
    that goes out: the same lines, but for the counts and the time."""
    from conftest import NOW
    from feeds.cli import main

    example = re.search(
        r"`feeds build` prints each such file first:\n\n```\n(.+?)\n```", doc("content"), re.S
    )
    assert example, "docs/content.md shows what feeds build prints of broken files"
    monkeypatch.setenv("FEEDS_NOW", NOW.isoformat())
    root = Path(shutil.copytree(REPO / "content", tmp_path / "content"))
    articles = root / "articles"
    (articles / "glacier-retreat-cordillera-blanca.md").rename(articles / "glacier.md")
    build = ["build", "--content", str(root), "--out", str(tmp_path / "out")]
    build += ["--cache", str(tmp_path / "cache.sqlite"), "--jobs", "1", "--no-ping"]
    assert main(build) == 0
    glacier = articles / "glacier.md"
    glacier.write_text(glacier.read_text().replace("date: 2026-09-22 08:00", "date: 2026-13-14"))
    strike = "---\ntitle: Port strike\ndate: 2026-12-01\ndraft: true\nsection: Reporting\n"
    (articles / "port-strike.md").write_text(strike + "authors: []\n---\nText.\n")
    opinion = articles / "opinion-bus-corridors.md"
    opinion.write_text(opinion.read_text() + "\nA paragraph added.\n")
    capsys.readouterr()
    assert main(build) == 0
    printed = capsys.readouterr().out.splitlines()
    *problems, done = example.group(1).splitlines()
    assert printed[: len(problems)] == problems
    numbers = re.compile(r"\d+(?:\.\d+)?")
    assert numbers.sub("N", printed[len(problems)].replace(str(tmp_path / "out"), "out")) == (
        numbers.sub("N", done)
    )


def documents() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def commands_written(text: str) -> list[str]:
    """Each `feeds ...` command a text writes: in code spans, and as lines of
    its code blocks (their comments left out), up to the end of the command."""
    text = text.split(START, 1)[0]  # the reference is --help itself
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    spans = re.findall(r"`([^`]+)`", prose)  # in order: each pairs its own backquotes
    found = [s for s in spans if re.match(r"(?:\.venv/bin/)?feeds [a-z-]", s)]
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif fenced:
            code = line.split("#", 1)[0]
            # At the start of a command: a line's, after `&&`, or ExecStart='s.
            start = r"(?:^|&&|ExecStart=)\s*(?:[A-Z_]+=\S+\s+)*(?:\S*/)?"
            found += re.findall(start + r"(feeds [a-z]+[^&|;]*)", code)
    return [re.sub(r"^\.venv/bin/", "", command).strip() for command in found]


@pytest.mark.parametrize("path", documents(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_command_written_is_a_command_with_those_options(path: Path) -> None:
    every = subcommands()
    for command in commands_written(path.read_text(encoding="utf-8")):
        words = command.split()
        if words[1].startswith("-"):  # feeds --version
            continue
        name = " ".join(words[1:3]) if " ".join(words[1:3]) in every else words[1]
        assert name in every, (path.name, command)
        real = {o for a in every[name]._actions for o in a.option_strings}
        for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", command):
            assert option in real, (path.name, command, option)


def test_every_environment_variable_is_documented_and_read() -> None:
    """Each ``FEEDS_...`` variable the code reads is named in the docs, and
    each one the docs name is read by the code or by the tests."""
    sources = [*(REPO / "feeds").rglob("*.py"), *(REPO / "webapp").rglob("*.py")]
    read = set()
    for source in sources:
        text = source.read_text(encoding="utf-8")
        read |= set(re.findall(r'environ(?:\.get)?[(\[]\s*"(FEEDS_[A-Z_]+)"', text))
    tests = "".join(p.read_text(encoding="utf-8") for p in (REPO / "tests").glob("*.py"))
    named = {v for p in documents() for v in re.findall(r"FEEDS_[A-Z_]+", p.read_text())}
    assert read, "the pattern finds what the code reads"
    assert read <= named, read - named
    assert named <= read | set(re.findall(r"FEEDS_[A-Z_]+", tests)), named - read


def table_keys(text: str) -> set[str]:
    """The names a table's first column gives (```| `a`, `b` | ...``), spelled in backquotes."""
    return {
        name
        for cell in re.findall(r"^\| ((?:`[^`|]+`(?:, )?)+) \|", text, re.M)
        for name in re.findall(r"`([^`]+)`", cell)
    }


def test_the_content_format_documents_every_field_and_no_other() -> None:
    from feeds.content.validate import (
        ARTICLE_FIELDS,
        AUTHOR_FIELDS,
        CORRECTION_FIELDS,
        IMAGE_FIELDS,
        INLINE_AUTHOR_FIELDS,
        PAGE_FIELDS,
        SITE_FIELDS,
        WITHDRAWAL_FIELDS,
    )

    text = doc("content")
    assert table_keys(section("`site.toml`", text)) == set(SITE_FIELDS)
    assert table_keys(section("Articles", text)) == set(ARTICLE_FIELDS)
    # The fields of a mapping are named inline: `{src, alt, caption?, ...}`.
    mappings = re.findall(r"`\{([^}`]+)\}`", text)
    written = [{n.strip().rstrip("?") for n in m.split(",")} for m in mappings]
    for fields in (IMAGE_FIELDS, INLINE_AUTHOR_FIELDS, CORRECTION_FIELDS, WITHDRAWAL_FIELDS):
        assert set(fields) in written, fields
    for field in (*AUTHOR_FIELDS, *PAGE_FIELDS):
        assert f"`{field}`" in text, field


def number(value: int) -> str:
    """A number as the docs write it: 2,000,000."""
    return f"{value:,}"


def test_the_numeric_settings_state_the_codes_defaults_and_bounds() -> None:
    """Every bounded number of site.toml and of a page's front matter is
    documented with its range and default, as the validator reads it."""
    import inspect

    from feeds.content import validate

    source = inspect.getsource(validate)
    calls = re.findall(r'integer\(\s*"(\w+)",\s*([\w_]+),\s*([\w_-]+),\s*([\w_]+)\s*\)', source)
    assert {name for name, *_ in calls} >= {"feed_items", "cache_max_age", "order"}
    text = doc("content")

    def value(written: str) -> int:
        return int(written) if re.fullmatch(r"-?[\d_]+", written) else getattr(validate, written)

    for name, default, low, high in calls:
        said = text.split(f"`{name}`", 1)[1][:200]
        bounds = f"{number(value(low))} to {number(value(high))}"
        assert bounds in said and f"default {number(value(default))}" in said, (name, said)


def seconds(value: float) -> str:
    return f"{value:g}"


def spoken(value: object) -> str:
    """A duration as the docs say it in words."""
    words: dict[object, str] = {60.0: "a minute", 3600.0: "an hour", timedelta(days=2): "two days"}
    return words[value]


#: Statements of the docs that name a constant of the code: (file, what it
#: says with {} for the value, module, constant, how the value is written).
CONSTANTS = [
    ("content", "list of at most {} names", "feeds.content.validate", "MAX_TAGS", str),
    ("content", "list of at most {} author ids", "feeds.content.validate", "MAX_AUTHORS", str),
    (
        "content",
        "for {} days (see",
        "feeds.outputs.listings",
        "TOMBSTONE_DAYS",
        lambda d: str(d.days),
    ),
    ("commands", "fewer than {} files", "feeds.publish.build", "PARALLEL_FROM", str),
    (
        "commands",
        "`--grace-days` (default {})",
        "feeds.state.partners",
        "GRACE",
        lambda d: str(d.days),
    ),
    ("partners", "A token is `{}<id>.<secret>`", "feeds.state.partners", "PREFIX", str),
    ("partners", "at most {} changes", "feeds.publish.stream", "PAGE", str),
    ("partners", "signing secret once (`{}`", "feeds.publish.webhooks", "PREFIX", str),
    ("partners", "none within {} s", "feeds.publish.webhooks", "DEADLINE", lambda s: f"{s:g}"),
    ("partners", "tried again {} s later", "feeds.publish.webhooks", "BACKOFF", lambda s: f"{s:g}"),
    ("partners", "lease to run out ({} s)", "feeds.publish.webhooks", "LEASE", lambda s: f"{s:g}"),
    ("partners", "path {} characters", "webapp.views", "PATH_KEPT", str),
    ("partners", "user agent {})", "webapp.views", "AGENT_KEPT", str),
    ("partners", "names at most {} clients", "feeds.state.audit", "REFUSED_CLIENTS", str),
    ("partners", "at most {} origins a day", "feeds.state.pixels", "ORIGINS_PER_DAY", str),
    ("partners", "cannot answer within {} s", "feeds.state.engine", "TIMEOUT", lambda s: f"{s:g}"),
    (
        "partners",
        "longer than {} s in one exchange",
        "feeds.state.engine",
        "CUT_AFTER",
        lambda s: f"{s:g}",
    ),
    (
        "partners",
        "({} s for the `SELECT 1`",
        "feeds.state.engine",
        "PING_CUT_AFTER",
        lambda s: f"{s:g}",
    ),
    ("partners", "for up to {} s", "webapp.batch", "EXIT_DEADLINE", lambda s: f"{s:g}"),
    ("partners", "holding {} audit rows", "webapp.batch", "LIMIT", number),
    (
        "feeds",
        "one deadline of {} seconds in all",
        "feeds.publish.websub",
        "TIMEOUT",
        lambda s: f"{s:g}",
    ),
    (
        "feeds",
        "not heard from for {} seconds",
        "feeds.state.notices",
        "DEAD_AFTER",
        lambda s: f"{s:g}",
    ),
    (
        "deploying",
        "Each purge has one deadline of {} seconds",
        "feeds.publish.cdn",
        "TIMEOUT",
        lambda s: f"{s:g}",
    ),
    (
        "deploying",
        "never more than\n{} seconds apart",
        "feeds.publish.notify",
        "PURGE_MAX_WAIT",
        lambda s: f"{s:g}",
    ),
    ("deploying", "tried again after {} second,", "feeds.publish.notify", "PURGE_BACKOFF", seconds),
    (
        "deploying",
        "stale-while-revalidate={},",
        "feeds.outputs.headers",
        "STALE_WHILE_REVALIDATE",
        str,
    ),
    ("deploying", "stale-if-error={}`; sealed", "feeds.outputs.headers", "STALE_IF_ERROR", str),
    (
        "deploying",
        "stale-if-error={}` for the CDN",
        "feeds.outputs.headers",
        "CDN_STALE_IF_ERROR",
        str,
    ),
    ("deploying", "lifetime (default {})", "feeds.outputs.headers", "CDN_MAX_AGE", str),
    ("feeds", "`max-age={}` (see", "feeds.outputs.headers", "LASTING", str),
    ("feeds", "waits at most {} seconds for the hub", "feeds.cli", "PING_TIMEOUT", seconds),
    ("feeds", "retried with backoff ({} s, doubling", "feeds.publish.websub", "BACKOFF", seconds),
    ("feeds", "doubling, at most {} apart)", "feeds.publish.websub", "MAX_WAIT", spoken),
    (
        "webapp",
        "the newest stories (20 to 39 once there are {})",
        "feeds.outputs.listings",
        "PAGE_SIZE",
        str,
    ),
    (
        "webapp",
        "holds the first {} stories ever published",
        "feeds.outputs.listings",
        "PAGE_SIZE",
        str,
    ),
    (
        "webapp",
        "(at most {}; the page says how many more)",
        "feeds.outputs.plan",
        "TAG_INDEX_MOST",
        str,
    ),
    ("webapp", "(the articles, {} a file,", "feeds.outputs.plan", "SITEMAP_ARTICLES", number),
    ("webapp", "newest first (at most {}),", "feeds.outputs.listings", "NEWS_MOST", number),
    ("webapp", "the public stories of the last {}", "feeds.outputs.listings", "NEWS_DAYS", spoken),
    ("partners", "the {} most republished articles", "feeds.outputs.pages", "DESK_ARTICLES", str),
    ("partners", "and its {} top origins", "feeds.outputs.pages", "DESK_ORIGINS", str),
    ("partners", "the newest {} granted fetches", "webapp.views", "DESK_AUDIT_ROWS", str),
    ("partners", "prints the newest {} fetches", "feeds.cli", "AUDIT_LIMIT", str),
    ("commands", "is tried again {} later", "feeds.cli", "RETRY", spoken),
    ("webapp", "(text of {} bytes or more", "webapp.http", "GZIP_MIN_BYTES", str),
    ("deploying", "the export's own manifest, `{}`", "feeds.publish.export", "MANIFEST_FILE", str),
    ("deploying", "each of its shards in `{}/`", "feeds.publish.export", "MANIFEST_SHARDS", str),
    ("deploying", "(nor `{}` and `_headers`)", "feeds.publish.export", "MARKER", str),
    (
        "deploying",
        "the bucket's manifest, `{}` under the prefix",
        "feeds.publish.deploy",
        "MANIFEST",
        str,
    ),
]


@pytest.mark.parametrize(
    ("where", "statement", "module", "name", "written"),
    CONSTANTS,
    ids=[f"{module}.{name}" for _, _, module, name, _ in CONSTANTS],
)
def test_a_documented_limit_is_the_codes(
    where: str, statement: str, module: str, name: str, written: Callable[[Any], str]
) -> None:
    import importlib

    value = getattr(importlib.import_module(module), name)
    text = " ".join(doc(where).split())  # the docs wrap lines anywhere
    assert " ".join(statement.format(written(value)).split()) in text, (where, statement, value)


def test_the_audits_outcomes_are_the_codes() -> None:
    """The outcomes docs/commands.md lists for `feeds partner audit` are those
    the app writes: ``ok``, each reason a token is refused, and an unreachable
    database's."""
    import inspect

    from feeds.state import partners
    from webapp import views

    row = next(r for r in doc("commands").splitlines() if r.startswith("| `feeds partner audit"))
    written = set(re.findall(r"`([a-z ]+)`", row.split("outcome (", 1)[1].split(")", 1)[0]))
    refusals = set(re.findall(r'Verdict\("([a-z ]+)"', inspect.getsource(partners)))
    assert written == {"ok", *refusals, views.UNREACHABLE}


def test_the_xss_vectors_are_counted_as_the_tests_hold_them() -> None:
    from safe_html import XSS_VECTORS

    assert f"places {len(XSS_VECTORS)} known XSS vectors" in doc("security")


#: What GitHub makes of a heading for its anchor: lower case, punctuation
#: but hyphens dropped, each space a hyphen.
def anchor(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    found: set[str] = set()
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (heading := re.match(r"#{1,6} (.+)", line)):
            found.add(anchor(heading.group(1)))
    return found


@pytest.mark.parametrize("path", documents(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # code is not linked
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    for link in links:
        if re.match(r"[a-z]+:", link):
            continue
        file, _, fragment = link.partition("#")
        target = (path.parent / file).resolve() if file else path
        assert target.is_file(), (path.name, link)
        if fragment:
            assert fragment in anchors(target.read_text(encoding="utf-8")), (path.name, link)


def test_the_readme_maps_every_file_of_docs() -> None:
    mapped = set(re.findall(r"\]\(docs/([\w-]+\.md)\)", section("Documentation")))
    assert mapped == {p.name for p in DOCS.glob("*.md")}


def documented_paths(text: str) -> set[str]:
    """The paths a URL table's first column names: ``/tags/<tag>/rss.xml``, and
    its siblings written short after it (```atom.xml```)."""
    found: set[str] = set()
    for cell in re.findall(r"^\| (`/[^|]*?) \|", text, re.M):
        base = ""
        for span in re.findall(r"`([^`]+)`", cell):
            span = span.split("?", 1)[0]
            if span.startswith("/"):
                base = span
                found.add(span)
            elif base:
                found.add(base.rsplit("/", 1)[0] + "/" + span)
    return found


def pattern(path: str) -> re.Pattern[str]:
    """A documented path as a pattern of served paths: ``<x>`` one segment (or
    part of one), ``...`` the rest, a final ``/`` its ``index.html``."""
    escaped = re.escape(path.lstrip("/"))
    escaped = re.sub(r"<[^>]*>", "[^/]+", escaped.replace("\\<", "<").replace("\\>", ">"))
    escaped = escaped.replace(re.escape("..."), ".+")
    if path.endswith("/"):
        escaped += "(?:index\\.html)?"
    return re.compile(escaped)


#: Paths only the app answers: behind a token, and the pixel.
APP_ONLY = ("/partners/", "/desk/", "/r/")


def test_the_url_tables_name_what_the_site_serves(tmp_path: Path) -> None:
    """Every path a site publishes is in a URL table of docs/, and every
    documented path is published (or, behind a token, answered by the app).
    The site: the sample with one story per archive document and enough
    stories for a sealed page, so that every kind of path is there."""
    from conftest import NOW
    from feeds.content.directory import Loaded, load_content
    from feeds.outputs.plan import Access, Plan

    root = Path(shutil.copytree(REPO / "content", tmp_path / "content"))
    toml = root / "site.toml"
    toml.write_text(re.sub(r"(?m)^feed_items = .*$", "feed_items = 1", toml.read_text()))
    for n in range(12):
        story = f"---\ntitle: Story {n}\ndate: 2026-09-{n + 1:02d}T10:00:00Z\n"
        story += "authors: [ana-quispe]\ntags: [Perú]\nsection: Reporting\n---\nText.\n"
        (root / "articles" / f"story-{n}.md").write_text(story)
    # and one of the last two days, for the news sitemap
    (root / "articles" / "fresh.md").write_text(story.replace("2026-09-12", NOW.date().isoformat()))
    plan = Plan(Loaded(load_content(root)), NOW)
    images = [
        f"images/{p.relative_to(root / 'images').as_posix()}"
        for p in (root / "images").rglob("*.*")
    ]
    served = [*plan.paths(Access.PUBLIC), *images]
    behind = plan.paths(Access.TOKEN)
    documented = {
        path for name in ("webapp", "feeds", "partners") for path in documented_paths(doc(name))
    }
    patterns = {path: pattern(path) for path in documented}
    for path in served + behind:
        assert any(p.fullmatch(path) for p in patterns.values()), f"/{path} is not documented"
    for path, compiled in patterns.items():
        found = any(compiled.fullmatch(p) for p in served + behind)
        assert found or path.startswith(APP_ONLY), f"{path} is documented, not served"
    # What a static host gets beside the site's own files is in docs/deploying.md.
    for path in plan.paths(Access.EXPORT):
        assert f"`{path}`" in doc("deploying"), path


def test_the_tour_opens_urls_the_sample_serves() -> None:
    from conftest import NOW
    from feeds.content.directory import Loaded, load_content
    from feeds.outputs.plan import Plan

    served = Plan(Loaded(load_content(REPO / "content")), NOW).paths()
    urls = re.findall(
        r"http://127\.0\.0\.1:8000/(\S*?)[,:;)]?(?:\s|$)", section("A five-minute tour")
    )
    assert len(urls) >= 6
    for url in urls:
        assert url in served or url + "index.html" in served, url
    for path in re.findall(r"`content/articles/([\w-]+\.md)`", readme()):
        assert (REPO / "content" / "articles" / path).is_file(), path


if __name__ == "__main__":
    text = REFERENCE.read_text(encoding="utf-8")
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    REFERENCE.write_text(before + START + cli_reference() + END + after, encoding="utf-8")
    sys.exit(0)
