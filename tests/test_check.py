"""`feeds check`: every broken input gets the exact message an editor can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import write
from feeds.cli import main


def check(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """Run `feeds check` and return its exit code and output lines."""
    code = main(["check", "--content", str(root)])
    captured = capsys.readouterr()
    assert captured.err == ""
    return code, captured.out.splitlines()


def article(*front: str, body: str = "Some text.\n") -> str:
    """An article file from front matter lines."""
    return "---\n" + "".join(f"{line}\n" for line in front) + "---\n" + body


OK = ("title: A title", "date: 2026-10-01", "authors: [ana-quispe]")

# (case id, files to write, exact problem lines)
BROKEN: list[tuple[str, dict[str, str | bytes], list[str]]] = [
    (
        "missing title",
        {"articles/bad.md": article("date: 2026-10-01", "authors: [ana-quispe]")},
        ["articles/bad.md: title: required field is missing"],
    ),
    (
        "empty title",
        {"articles/bad.md": article('title: "  "', *OK[1:])},
        ["articles/bad.md:2: title: must not be empty"],
    ),
    (
        "title with no value",
        {"articles/bad.md": article("title:", *OK[1:])},
        ["articles/bad.md:2: title: required field is empty"],
    ),
    (
        "title that YAML reads as a number",
        {"articles/bad.md": article("title: 1984", *OK[1:])},
        ["articles/bad.md:2: title: expected text, got the number 1984; put it in quotes"],
    ),
    (
        "missing date",
        {"articles/bad.md": article("title: A title", "authors: [ana-quispe]")},
        ["articles/bad.md: date: required field is missing"],
    ),
    (
        "impossible month",
        {"articles/bad.md": article("title: A title", "date: 2024-13-01", OK[2])},
        ["articles/bad.md:3: date: expected an ISO 8601 date, got '2024-13-01'"],
    ),
    (
        "impossible day",
        {"articles/bad.md": article("title: A title", "date: 2024-02-30", OK[2])},
        ["articles/bad.md:3: date: expected an ISO 8601 date, got '2024-02-30'"],
    ),
    (
        "date in words",
        {"articles/bad.md": article("title: A title", "date: last Tuesday", OK[2])},
        ["articles/bad.md:3: date: expected an ISO 8601 date, got 'last Tuesday'"],
    ),
    (
        "date as a number",
        {"articles/bad.md": article("title: A title", "date: 2026", OK[2])},
        ["articles/bad.md:3: date: expected an ISO 8601 date, got the number 2026"],
    ),
    (
        "updated before date",
        {"articles/bad.md": article(*OK, "updated: 2026-09-30")},
        [
            "articles/bad.md:5: updated: is before date; "
            "updated is the last change after publication"
        ],
    ),
    (
        "missing authors",
        {"articles/bad.md": article("title: A title", "date: 2026-10-01")},
        ["articles/bad.md: authors: required field is missing"],
    ),
    (
        "empty author list",
        {"articles/bad.md": article("title: A title", "date: 2026-10-01", "authors: []")},
        ["articles/bad.md:4: authors: must list at least one author"],
    ),
    (
        "authors not a list",
        {"articles/bad.md": article("title: A title", "date: 2026-10-01", "authors: ana-quispe")},
        ["articles/bad.md:4: authors: expected a list, got 'ana-quispe'"],
    ),
    (
        "unknown author, with a hint",
        {"articles/bad.md": article(*OK[:2], "authors: [ana-quipse]")},
        ["articles/bad.md:4: authors[1]: unknown author 'ana-quipse'; did you mean 'ana-quispe'?"],
    ),
    (
        "unknown author, no close match",
        {"articles/bad.md": article(*OK[:2], "authors:", "  - ana-quispe", "  - zz")},
        ["articles/bad.md:6: authors[2]: unknown author 'zz' (known: ana-quispe, tomas-ferreira)"],
    ),
    (
        "inline author without a name",
        {"articles/bad.md": article(*OK[:2], "authors:", "  - url: https://example.com/me")},
        ["articles/bad.md:5: authors[1].name: required field is missing"],
    ),
    (
        "author listed twice",
        {"articles/bad.md": article(*OK[:2], "authors: [ana-quispe, ana-quispe]")},
        ["articles/bad.md:4: authors[2]: 'Ana Quispe' is listed twice"],
    ),
    (
        "unknown key, with a hint",
        {"articles/bad.md": article(*OK, "tilte: Another title")},
        ["articles/bad.md:5: tilte: unknown field; did you mean 'title'?"],
    ),
    (
        "unknown key inside image",
        {
            "articles/bad.md": article(
                *OK, "image:", "  src: /images/lead.png", "  alt: A lake", "  credits: Me"
            )
        },
        ["articles/bad.md:8: image.credits: unknown field; did you mean 'credit'?"],
    ),
    (
        "duplicate slug, both files named",
        {"articles/other.md": article(*OK, "slug: good")},
        ["articles/other.md:5: slug: 'good' is already used by articles/good.md"],
    ),
    (
        "duplicate id, both files named",
        {
            "articles/a.md": article(*OK, "id: tag:wire.example.org,2026:one"),
            "articles/b.md": article(*OK, "id: tag:wire.example.org,2026:one"),
        },
        ["articles/b.md:5: id: 'tag:wire.example.org,2026:one' is already used by articles/a.md"],
    ),
    (
        "id that is not a URI",
        {"articles/bad.md": article(*OK, "id: peru water")},
        [
            "articles/bad.md:5: id: expected a permanent URI such as "
            "'tag:wire.example.org,2026-01-31:bad', got 'peru water'"
        ],
    ),
    (
        "slug that is not a URL segment",
        {"articles/bad.md": article(*OK, "slug: Peru Water")},
        [
            "articles/bad.md:5: slug: 'Peru Water' is not a valid URL segment; "
            "use lowercase letters, digits and hyphens"
        ],
    ),
    (
        "file name that is not a URL segment",
        {"articles/Peru Water.md": article(*OK)},
        [
            "articles/Peru Water.md: slug: file name 'Peru Water' is not a valid URL segment; "
            "rename the file or set slug (lowercase letters, digits and hyphens)"
        ],
    ),
    (
        "unknown licence, with a hint",
        {"articles/bad.md": article(*OK, "license: CC-BY-5.0")},
        ["articles/bad.md:5: license: unknown licence 'CC-BY-5.0'; did you mean 'CC-BY-4.0'?"],
    ),
    (
        "bad language tag",
        {"articles/bad.md": article(*OK, "language: Spanish")},
        [
            "articles/bad.md:5: language: expected a BCP 47 language tag "
            "such as 'en' or 'es-PE', got 'Spanish'"
        ],
    ),
    (
        "language with an underscore",
        {"articles/bad.md": article(*OK, "language: es_PE")},
        [
            "articles/bad.md:5: language: expected a BCP 47 language tag "
            "such as 'en' or 'es-PE', got 'es_PE'"
        ],
    ),
    (
        "yes/no is not a boolean",
        {"articles/bad.md": article(*OK, "republish: no")},
        ["articles/bad.md:5: republish: expected true or false, got 'no'"],
    ),
    (
        "canonical URL that is not http",
        {"articles/bad.md": article(*OK, "canonical_url: ftp://example.com/a")},
        [
            "articles/bad.md:5: canonical_url: expected an absolute http or https URL, "
            "got 'ftp://example.com/a'"
        ],
    ),
    (
        "image without alt",
        {"articles/bad.md": article(*OK, "image:", "  src: /images/lead.png")},
        ["articles/bad.md:6: image.alt: required field is missing"],
    ),
    (
        "image file that does not exist",
        {"articles/bad.md": article(*OK, "image:", "  src: /images/nope.png", "  alt: A lake")},
        ["articles/bad.md:6: image.src: no such file in images/: '/images/nope.png'"],
    ),
    (
        "tag with nothing to slug",
        {"articles/bad.md": article(*OK, "tags: [Water, '!!!']")},
        ["articles/bad.md:5: tags[2]: '!!!' has no letters or digits to make a URL of"],
    ),
    (
        "correction before the article",
        {
            "articles/bad.md": article(
                *OK, "corrections:", "  - date: 2026-09-01", "    text: Fixed a name."
            )
        },
        ["articles/bad.md:6: corrections[1].date: is before the article's date"],
    ),
    (
        "correction without text",
        {"articles/bad.md": article(*OK, "corrections:", "  - date: 2026-10-02")},
        ["articles/bad.md:6: corrections[1].text: required field is missing"],
    ),
    (
        "empty body",
        {"articles/bad.md": article(*OK, body="\n  \n")},
        ["articles/bad.md:5: body: the article has no text below the front matter"],
    ),
    (
        "control character in the title",
        {"articles/bad.md": article("title: A \x07 bell", *OK[1:])},
        ["articles/bad.md:2: title: control character U+0007 is not allowed"],
    ),
    (
        "control character in a nested field",
        {"articles/bad.md": article(*OK, "image:", "  src: /images/lead.png", "  alt: A\x1b lake")},
        ["articles/bad.md:7: image: control character U+001B is not allowed"],
    ),
    (
        "non-character in the body",
        {"articles/bad.md": article(*OK, body="Fine.\n\nNot \ufffe fine.\n")},
        ["articles/bad.md:8: body: control character U+FFFE is not allowed"],
    ),
    (
        "control character written as a YAML escape",
        {"articles/bad.md": article('title: "A \\x07 bell"', *OK[1:])},
        ["articles/bad.md:2: title: control character U+0007 is not allowed"],
    ),
    (
        "control character written as a TOML escape",
        {"site.toml": 'title = "T \\u0007"\ndescription = "D"\nbase_url = "https://w.example/"\n'},
        ["site.toml:1: title: control character U+0007 is not allowed"],
    ),
    (
        "date too far in the future to convert",
        {"articles/bad.md": article("title: A title", "date: 9999-12-31T23:00:00-05:00", OK[2])},
        [
            "articles/bad.md:3: date: expected an ISO 8601 date between the years 1000 and 9000, "
            "got '9999-12-31T23:00:00-05:00'"
        ],
    ),
    (
        "URL that does not parse",
        {"articles/bad.md": article(*OK, "canonical_url: https://[::1/x")},
        [
            "articles/bad.md:5: canonical_url: expected an absolute http or https URL, "
            "got 'https://[::1/x'"
        ],
    ),
    (
        "base URL with an impossible port",
        {"site.toml": 'title = "T"\ndescription = "D"\nbase_url = "https://w.example:99999/"\n'},
        [
            "site.toml:3: base_url: expected an absolute http or https URL, "
            "got 'https://w.example:99999/'"
        ],
    ),
    (
        "front matter nested too deeply",
        {"articles/bad.md": article(*OK, "subtitle: " + "[" * 12 + "]" * 12)},
        ["articles/bad.md:5: subtitle" + "[1]" * 10 + ": nested more than 10 levels deep"],
    ),
    (
        "Markdown quotes nested too deeply (30 quotes around a paragraph)",
        {"articles/bad.md": article(*OK, body="> " * 30 + "deep\n")},
        [
            "articles/bad.md:6: body: nested 31 levels deep (quotes, lists, HTML elements); "
            "at most 16"
        ],
    ),
    (
        "raw HTML nested deeply",
        {"articles/bad.md": article(*OK, body="<blockquote>" * 40 + "x\n")},
        [
            "articles/bad.md:6: body: nested 40 levels deep (quotes, lists, HTML elements); "
            "at most 16"
        ],
    ),
    (
        "invalid UTF-8",
        {"articles/bad.md": article(*OK).encode() + b"Caf\xe9\n"},
        ["articles/bad.md:7: not valid UTF-8 (byte 0xE9); save the file as UTF-8"],
    ),
    (
        "YAML syntax error",
        {"articles/bad.md": article(*OK, "subtitle: one: two")},
        [
            "articles/bad.md:5: subtitle: YAML syntax error: "
            "mapping values are not allowed in this context; a value holding ': ' must be in "
            'quotes: subtitle: "one: two"'
        ],
    ),
    (
        "YAML syntax error: unclosed quote",
        {"articles/bad.md": article('title: "A title', *OK[1:])},
        ["articles/bad.md:5: authors: YAML syntax error: found unexpected end of stream"],
    ),
    (
        "YAML alias",
        {"articles/bad.md": article(*OK, "subtitle: &a Text", "summary: *a")},
        ["articles/bad.md:6: summary: YAML aliases (*name) are not allowed"],
    ),
    (
        "YAML tag",
        {"articles/bad.md": article(*OK, "subtitle: !!binary aGVsbG8=")},
        ["articles/bad.md:5: subtitle: YAML tag 'tag:yaml.org,2002:binary' is not allowed"],
    ),
    (
        "key given twice",
        {"articles/bad.md": article(*OK, "title: Another")},
        ["articles/bad.md:5: title: given twice (first on line 2)"],
    ),
    (
        "front matter that is a list",
        {"articles/bad.md": "---\n- title\n- date\n---\nText.\n"},
        ["articles/bad.md:2: front matter must be a mapping of fields, got a list"],
    ),
    (
        "no front matter",
        {"articles/bad.md": "# Just Markdown\n\nText.\n"},
        [
            "articles/bad.md:1: no front matter; the file must start with a '---' line, "
            "then YAML fields, then another '---' line"
        ],
    ),
    (
        "unclosed front matter",
        {"articles/bad.md": "---\ntitle: A title\n\nText.\n"},
        ["articles/bad.md:1: front matter is not closed by a '---' line"],
    ),
    (
        "not a Markdown file",
        {"articles/notes.txt": "An article saved with the wrong extension.\n"},
        ["articles/notes.txt: not a Markdown file; articles/ holds only .md files"],
    ),
    (
        "author without a name, with a bad email",
        {"authors/zoe.md": "---\nemail: zoe at example\n---\nBio.\n"},
        [
            "authors/zoe.md: name: required field is missing",
            "authors/zoe.md:2: email: expected an email address, got 'zoe at example'",
        ],
    ),
    (
        "several problems in one file, all reported",
        {
            "articles/bad.md": article(
                "title: ''", "date: 2024-13-01", "authors: [nobody]", "licence: CC0-1.0"
            )
        },
        [
            "articles/bad.md:2: title: must not be empty",
            "articles/bad.md:3: date: expected an ISO 8601 date, got '2024-13-01'",
            "articles/bad.md:4: authors[1]: unknown author 'nobody' "
            "(known: ana-quispe, tomas-ferreira)",
            "articles/bad.md:5: licence: unknown field; did you mean 'license'?",
        ],
    ),
    (
        "broken site.toml syntax",
        {"site.toml": 'title = "Test Wire"\nbase_url = https://wire.example.org/\n'},
        ["site.toml:2: TOML syntax error: Invalid value"],
    ),
    (
        "bad site.toml values",
        {
            "site.toml": 'title = "T"\ndescription = "D"\nbase_url = "https://wire.example.org"\n'
            'timezone = "Lima"\nfeed_items = 0\nlanguag = "en"\n'
        },
        [
            "site.toml:3: base_url: must end with '/', got 'https://wire.example.org'",
            "site.toml:4: timezone: unknown time zone 'Lima' "
            "(IANA names look like 'America/Lima' or 'Europe/Madrid')",
            "site.toml:5: feed_items: must be at least 1, got 0",
            "site.toml:6: languag: unknown field; did you mean 'language'?",
        ],
    ),
    (
        "feed_items above the archive documents' bound",
        {
            "site.toml": 'title = "T"\ndescription = "D"\nbase_url = "https://wire.example.org/"\n'
            "feed_items = 101\n"
        },
        ["site.toml:4: feed_items: must be at most 100, got 101"],
    ),
    (
        "missing site.toml",
        {},
        ["site.toml: cannot read: No such file or directory"],
    ),
]


@pytest.mark.parametrize(
    ("files", "expected"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN]
)
def test_broken_input_is_reported_exactly(
    content: Path,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str | bytes],
    expected: list[str],
) -> None:
    if not files:
        (content / "site.toml").unlink()
    for path, text in files.items():
        file = content / path
        file.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            file.write_bytes(text)
        else:
            file.write_text(text, encoding="utf-8")
    code, lines = check(content, capsys)
    assert code == 1
    assert lines[:-1] == expected
    count = len(expected)
    assert lines[-1].endswith(f": {count} problem{'s' if count > 1 else ''}")


def test_problems_in_several_files_are_all_listed(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(content, "articles/a.md", article("date: 2026-10-01", "authors: [ana-quispe]"))
    write(content, "articles/b.md", article(*OK, "draft: maybe"))
    write(content, "site.toml", (content / "site.toml").read_text() + 'hub = "not a url"\n')
    code, lines = check(content, capsys)
    assert code == 1
    assert lines == [
        "articles/a.md: title: required field is missing",
        "articles/b.md:5: draft: expected true or false, got 'maybe'",
        "site.toml:9: hub: expected an absolute http or https URL, got 'not a url'",
        "checked 3 articles and 2 authors: 3 problems",
    ]


def test_clean_content_passes(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(content, "articles/later.md", article(*OK[:1], "date: 8999-01-01", OK[2]))
    write(content, "articles/draft.md", article(*OK, "draft: true"))
    code, lines = check(content, capsys)
    assert code == 0
    assert lines == [
        "checked 3 articles and 2 authors: no problems (1 public, 1 scheduled, 1 draft)"
    ]


def test_drafts_are_validated_like_any_article(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(content, "articles/draft.md", article("title: Draft", "date: soon", OK[2], "draft: true"))
    code, lines = check(content, capsys)
    assert code == 1
    assert lines[0] == "articles/draft.md:3: date: expected an ISO 8601 date, got 'soon'"


def test_article_over_the_size_limit_is_refused(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(content, "site.toml", (content / "site.toml").read_text() + "max_article_bytes = 2000\n")
    write(content, "articles/long.md", article(*OK, body="word " * 1000))
    code, lines = check(content, capsys)
    assert code == 1
    assert lines[0] == (
        "articles/long.md: file is 5,062 bytes, more than the limit of 2,000 "
        "(max_article_bytes in site.toml)"
    )


def test_alias_bomb_is_refused_quickly(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bomb = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        bomb.append(f"{level}: &{level} [" + ", ".join([f"*{previous}"] * 9) + "]")
    write(content, "articles/bomb.md", article(*OK, *bomb))
    code, lines = check(content, capsys)
    assert code == 1
    assert "YAML aliases (*name) are not allowed" in lines[0]


def test_only_the_broken_file_is_reported(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(content, "articles/bad.md", article("title: x"))
    code, lines = check(content, capsys)
    assert code == 1
    assert all(line.startswith("articles/bad.md") for line in lines[:-1])


def test_file_name_that_is_not_utf8(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    name = os.fsencode(content / "articles") + b"/caf\xe9.md"
    with open(name, "wb") as file:
        file.write(article(*OK).encode())
    code, lines = check(content, capsys)
    assert code == 1
    assert lines[0] == "articles/caf\ufffd.md: file name is not valid UTF-8; rename the file"


def test_image_link_leading_out_of_images_is_reported(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(content.parent, "private/secret.png", b"secret")
    (content / "images" / "secret.png").symlink_to(content.parent / "private" / "secret.png")
    code, lines = check(content, capsys)
    assert code == 1
    assert lines[0] == "images/secret.png: links to a file outside images/; it is not published"


# ----------------------------------------------------------------------- warnings

# (case id, files to write, exact warning lines): content that builds, but would
# be changed or lost on its way to readers.
WARNED: list[tuple[str, dict[str, str], list[str]]] = [
    (
        "script in a body",
        {"articles/w.md": article(*OK, body="Text.\n\n<script>alert(1)</script>\n")},
        ["articles/w.md:8: body: warning: the sanitiser removes <script> and its content"],
    ),
    (
        "event handler and a javascript: link in a body",
        {
            "articles/w.md": article(
                *OK,
                body='Text.\n<img src="/images/lead.png" onerror="x()">\n'
                '<a href="javascript:go()">go</a>\n',
            )
        },
        [
            "articles/w.md:7: body: warning: the sanitiser removes the onerror attribute of <img>",
            "articles/w.md:8: body: warning: the sanitiser removes the href "
            "'javascript:go()' of <a>",
        ],
    ),
    (
        "an iframe in an author's bio",
        {"authors/zed.md": "---\nname: Zed\n---\nHer work:\n<iframe src=x></iframe>\n"},
        ["authors/zed.md:5: body: warning: the sanitiser removes <iframe> and its content"],
    ),
    (
        "style in an inline bio",
        {
            "articles/w.md": article(
                "title: A title",
                "date: 2026-10-01",
                "authors:",
                '  - {name: Zed, bio: "<p style=\\"color:red\\">Red</p>"}',
            )
        },
        [
            "articles/w.md:5: authors[1].bio: warning: the sanitiser removes "
            "the style attribute of <p>"
        ],
    ),
    (
        "HTML in a correction, which is plain text",
        {
            "articles/w.md": article(
                *OK,
                "corrections:",
                "  - date: 2026-10-02",
                "    text: We misnamed <em>the mayor</em>.",
                "  - date: 2026-10-03",
                "    text: Reservoirs are at <50% & falling.",  # no tag: nothing to say
            )
        },
        [
            "articles/w.md:7: corrections[1].text: warning: a correction is plain text: "
            "<em> is shown as written, not as HTML"
        ],
    ),
    (
        "a character reference XML cannot carry",
        {"articles/w.md": article(*OK, body="Text.\n\n<p>a&#1;b</p>\n")},
        [
            "articles/w.md:8: body: warning: the sanitiser removes character U+0001, "
            "which XML cannot carry"
        ],
    ),
    (
        "links to pages and images of this site that do not exist",
        {
            "articles/w.md": article(
                *OK,
                body="See [this](/articles/nope/) and [that](../good/).\n\n"
                "![chart](/images/missing.png) and [a tag](/tags/no-such-tag/),\n"
                "[an author](https://wire.example.org/authors/nobody/), [ok](/tags/peru/).\n",
            )
        },
        [
            "articles/w.md:6: body: warning: links to https://wire.example.org/articles/nope/, "
            "which this site does not have",
            "articles/w.md:8: body: warning: links to https://wire.example.org/images/missing.png, "
            "which this site does not have",
            "articles/w.md:8: body: warning: links to https://wire.example.org/tags/no-such-tag/, "
            "which this site does not have",
            "articles/w.md:9: body: warning: links to https://wire.example.org/authors/nobody/, "
            "which this site does not have",
        ],
    ),
    (
        "one tag spelled several ways",
        {
            "articles/a.md": article(*OK[:1], "date: 2026-09-01", OK[2], "tags: [Agua Potable]"),
            "articles/b.md": article(*OK, "tags: [agua potable, Lima]"),
        },
        [
            "articles/a.md:5: tags: warning: tag 'Agua Potable' is also written 'agua potable' "
            "in articles/b.md:5; 'Agua potable' in articles/good.md:5; it is shown as "
            "'Agua Potable' everywhere (write it one way)",
        ],
    ),
]


@pytest.mark.parametrize(("case", "files", "expected"), WARNED, ids=[c[0] for c in WARNED])
def test_warnings(
    content: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    files: dict[str, str],
    expected: list[str],
) -> None:
    for path, text in files.items():
        write(content, path, text)
    code, lines = check(content, capsys)
    assert code == 0, lines
    assert lines[:-1] == expected
    assert f"no problems, {len(expected)} warning" in lines[-1]
    assert main(["check", "--strict", "--content", str(content)]) == 1


def test_problems_do_not_hide_the_warnings(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """README: every problem, then every warning, then a closing count. A
    broken file used to hide every warning of every other file."""
    write(content, "articles/bad.md", article("title: x", "date: 2026-13-01", OK[2]))
    write(content, "articles/w.md", article(*OK, body="Text.\n\n<script>alert(1)</script>\n"))
    code, lines = check(content, capsys)
    assert code == 1
    assert lines == [
        "articles/bad.md:3: date: expected an ISO 8601 date, got '2026-13-01'",
        "articles/w.md:8: body: warning: the sanitiser removes <script> and its content",
        "checked 3 articles and 2 authors: 1 problem, 1 warning",
    ]
