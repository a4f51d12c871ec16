"""The `feeds` command as an editor uses it: help, check on the sample site, new."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.cli import main
from feeds.content.directory import load_content
from feeds.content.scaffold import new_article

REPO = Path(__file__).resolve().parent.parent


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "feeds.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=False,
    )


@pytest.mark.slow  # `feeds` in a child process
@pytest.mark.parametrize("command", [[], ["check"], ["new"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: feeds")
    assert "--content DIR" in result.stdout or not command


@pytest.mark.slow  # `feeds` in a child process
def test_sample_site_passes_check() -> None:
    result = run("check", "--content", "content")
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("checked 12 articles and 5 authors: no problems")


@pytest.mark.slow  # `feeds` in a child process
def test_content_defaults_to_the_environment() -> None:
    env = {**os.environ, "FEEDS_CONTENT": str(REPO / "content")}
    result = run("check", env=env)
    assert result.returncode == 0, result.stdout


@pytest.mark.slow  # `feeds` in a child process
def test_missing_content_directory_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    result = run("check", "--content", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert result.stdout.startswith(f"{tmp_path / 'nowhere'}: no such content directory\n")
    assert "Traceback" not in result.stdout + result.stderr


def test_new_writes_a_draft_that_passes_check(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime(2026, 11, 27, 4, 30, 15, tzinfo=UTC)  # 23:30 the day before in Lima
    path = new_article(content, "  Lima's water: a  plan?  ", ["ana-quispe", "tomas-ferreira"], now)
    assert path == content / "articles" / "limas-water-a-plan.md"
    assert path.read_text(encoding="utf-8") == (
        "---\n"
        'title: "Lima\'s water: a plan?"\n'
        "date: 2026-11-26T23:30:00-05:00\n"
        "authors:\n"
        "  - ana-quispe\n"
        "  - tomas-ferreira\n"
        'id: "tag:wire.example.org,2026-11-26:limas-water-a-plan"\n'
        "slug: limas-water-a-plan\n"
        "draft: true\n"
        "---\n"
        "\n"
        "Write the article here, in Markdown. The first paragraph becomes the summary\n"
        "unless the front matter gives one.\n"
    )
    article = next(a for a in load_content(content).articles if a.slug == "limas-water-a-plan")
    assert article.draft
    assert article.id == "tag:wire.example.org,2026-11-26:limas-water-a-plan"
    assert article.date == datetime(2026, 11, 27, 4, 30, tzinfo=UTC)


def test_new_from_the_command_line(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["new", "Glaciers in 2027", "--author", "ana-quispe", "--content", str(content)])
    assert code == 0
    path = content / "articles" / "glaciers-in-2027.md"
    assert capsys.readouterr().out == (
        f"wrote {path} (a draft: `feeds publish {path}` puts it out, dated then)\n"
    )
    assert main(["check", "--content", str(content)]) == 0


def test_new_never_overwrites(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = content / "articles" / "good.md"
    before = existing.read_bytes()
    code = main(["new", "Good", "--author", "ana-quispe", "--content", str(content)])
    assert code == 1
    assert (
        capsys.readouterr().err == f"feeds new: {existing} already exists; it was left as it is\n"
    )
    assert existing.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--author", "ana-quipse"], "unknown author 'ana-quipse'; did you mean 'ana-quispe'?"),
    ],
)
def test_new_refuses_bad_authors(
    content: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code = main(["new", "A story", *args, "--content", str(content)])
    assert code == 1
    assert capsys.readouterr().err == f"feeds new: {message}\n"
    assert not (content / "articles" / "a-story.md").exists()


def test_new_with_a_title_that_cannot_be_a_file_name(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new", "?!", "--author", "ana-quispe", "--content", str(content)]) == 1
    assert capsys.readouterr().err == (
        "feeds new: the title '?!' has no letters or digits to make a file name of\n"
    )


@pytest.mark.slow  # `feeds` in a child process
def test_serve_refuses_a_bad_port() -> None:
    result = run("serve", "--port", "99999")
    assert result.returncode == 2
    assert "expected a port from 1 to 65535, got '99999'" in result.stderr
    assert "Traceback" not in result.stderr


def test_new_without_an_author_names_the_gap_for_check(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """DESIGN.md: `feeds new TITLE [--author ID]...`. With several authors to
    choose from, the draft lists none yet, and `feeds check` says where."""
    assert main(["new", "A story", "--content", str(content)]) == 0
    assert capsys.readouterr().out.endswith(
        "puts it out, dated then; name its authors under authors: before it can be published)\n"
    )
    text = (content / "articles" / "a-story.md").read_text()
    assert "authors: []  # add author ids from authors/: ana-quispe, tomas-ferreira\n" in text
    assert main(["check", "--content", str(content)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        "articles/a-story.md:4: authors: must list at least one author"
    )


def test_new_takes_the_sites_only_author(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (content / "authors" / "tomas-ferreira.md").unlink()
    good = content / "articles" / "good.md"
    good.write_text(good.read_text().replace(", tomas-ferreira]", "]"))
    assert main(["new", "A story", "--content", str(content)]) == 0
    assert "authors:\n  - ana-quispe\n" in (content / "articles" / "a-story.md").read_text()
    assert main(["check", "--content", str(content)]) == 0


@pytest.mark.slow  # `feeds` in a child process
def test_new_with_a_title_that_is_not_utf8(content: Path) -> None:
    """A title from a terminal that is not UTF-8 (here Latin-1): a clear error,
    and no empty article left behind (it raised UnicodeEncodeError)."""
    import os

    title = os.fsencode("Año nuevo").decode("utf-8").encode("latin-1")
    result = subprocess.run(
        [sys.executable, "-m", "feeds.cli", "new", title, "--content", str(content)],  # type: ignore[list-item]
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == (
        "feeds new: the title is not valid UTF-8 text (is the terminal's encoding UTF-8?)\n"
    )
    assert sorted(p.name for p in (content / "articles").iterdir()) == ["good.md"]


@pytest.mark.slow  # `feeds` in a child process
def test_serve_without_a_content_directory(tmp_path: Path) -> None:
    """It used to start and answer 503 to everything."""
    result = run("serve", "--content", str(tmp_path / "nowhere"), "--port", "9")
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"feeds serve: {tmp_path / 'nowhere'} is not a content directory"
    )
    assert "Traceback" not in result.stderr


def test_feeds_now_sets_the_moment_a_command_runs_at(
    sample: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``$FEEDS_NOW``, for tests: what is public is decided as at that moment."""
    monkeypatch.setenv("FEEDS_NOW", "2026-11-27T12:00:00+00:00")
    assert main(["check", "--content", str(sample)]) == 0
    before = capsys.readouterr().out.splitlines()[-1]
    monkeypatch.setenv("FEEDS_NOW", "2027-03-02T00:00:00-05:00")  # the scheduled one is out
    assert main(["check", "--content", str(sample)]) == 0
    after = capsys.readouterr().out.splitlines()[-1]
    assert before.endswith("(9 public, 1 scheduled, 1 draft, 1 withdrawn)"), before
    assert after.endswith("(10 public, 0 scheduled, 1 draft, 1 withdrawn)"), after
    monkeypatch.setenv("FEEDS_NOW", "2027-03-02T00:00:00")
    assert main(["check", "--content", str(sample)]) == 1
    assert capsys.readouterr().err == (
        "feeds check: FEEDS_NOW must be an ISO 8601 moment with an offset, got"
        " '2027-03-02T00:00:00'\n"
    )
