"""The CommonMark spec examples through our renderer and through markdown-it-py.

Articles used to be rendered by markdown-it-py (CommonMark, tables,
strikethrough); they are now rendered by :mod:`feeds.content.markdown`. Every spec
example where the two write different HTML is listed in :data:`ACCEPTED`
with the kind of difference, so a new one (a release of either library, a
change of options) fails here and is looked at.

The examples are the ones markdown-it-py tests itself with, kept in
``tests/data/commonmark-spec.json`` (the CommonMark spec's, CC-BY-SA 4.0: the
file names its source and licence), so that the tests need no network.
``python tests/test_commonmark.py`` writes that file anew from the source
distribution of the installed markdown-it-py, fetched by pip.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from conftest import real_clock_env
from feeds.content.markdown import to_html
from feeds.content.sanitize import render_markdown, sanitize

#: Example number -> how our HTML differs from markdown-it-py's. Both kinds
#: are the same document to a browser, a feed reader and the sanitiser:
#: "quotes": ``"`` left as it is in text, where markdown-it writes ``&quot;``;
#: "whitespace": a newline more or less between two tags.
ACCEPTED = {
    12: "quotes",
    14: "quotes",
    27: "quotes",
    41: "quotes",
    91: "quotes",
    175: "whitespace",  # '<li><div>' where markdown-it writes '<li>\n<div>'
    209: "quotes",
    210: "quotes",
    211: "quotes",
    218: "whitespace",  # '<blockquote>\n</blockquote>', as the spec writes it
    239: "whitespace",
    240: "whitespace",
    343: "quotes",
    352: "quotes",
    359: "quotes",
    363: "quotes",
    380: "quotes",
    385: "quotes",
    395: "quotes",
    508: "quotes",
    590: "quotes",
    619: "quotes",
    620: "quotes",
    624: "quotes",
    632: "quotes",
}

_BETWEEN_TAGS = re.compile(r">\s+<")
SITE = "https://wire.example.org/"
PAGE = SITE + "articles/x/"


#: The CommonMark spec's examples, with their source and licence.
SPEC_EXAMPLES = Path(__file__).resolve().parent / "data" / "commonmark-spec.json"


@pytest.fixture(scope="module")
def examples() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(SPEC_EXAMPLES.read_text(encoding="utf-8"))["examples"]
    return loaded


def spec_examples(folder: Path) -> dict[str, Any]:
    """The spec examples markdown-it-py's source distribution ships, for the
    installed version, fetched by pip into ``folder``; with their source and
    licence."""
    version = importlib.metadata.version("markdown-it-py")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"),
            *("--no-binary", ":all:", "--dest", str(folder), f"markdown-it-py=={version}"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
        env=real_clock_env(),
    )
    (archive,) = folder.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.name.endswith("tests/test_cmark_spec/spec.md"):
                file = tar.extractfile(member)
                assert file is not None
                front = file.read().decode("utf-8").split("\n...\n", 1)[0]
                spec = re.search(r"^version: '(.+)'$", front, re.M)
                licence = re.search(r"^license: '\[(.+?)\]\((.+?)\)'$", front, re.M)
                assert spec is not None and licence is not None, front
        for member in tar.getmembers():
            if member.name.endswith("tests/test_cmark_spec/commonmark.json"):
                file = tar.extractfile(member)
                assert file is not None
                return {
                    "source": f"CommonMark Spec {spec[1]} by John MacFarlane, its examples as "
                    f"markdown-it-py {version} ships them "
                    "(tests/test_cmark_spec/commonmark.json of its source distribution)",
                    "license": f"{licence[1]}: {licence[2]}",
                    "written_by": "python tests/test_commonmark.py",
                    "examples": json.load(file),
                }
    raise AssertionError(f"no CommonMark spec examples in {archive.name}")


def difference(ours: str, theirs: str) -> str | None:
    """None when equal, else the kind of difference (see :data:`ACCEPTED`)."""
    if ours == theirs:
        return None
    if ours == theirs.replace("&quot;", '"'):
        return "quotes"
    if _BETWEEN_TAGS.sub("><", ours) == _BETWEEN_TAGS.sub("><", theirs):
        return "whitespace"
    return "other"


def test_spec_examples_differ_from_markdown_it_only_as_listed(
    examples: list[dict[str, Any]],
) -> None:
    assert len(examples) > 600
    old = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    found = {}
    for example in examples:
        kind = difference(to_html(example["markdown"]), old.render(example["markdown"]))
        if kind is not None:
            found[example["example"]] = kind
    assert found == ACCEPTED


def test_spec_examples_are_sanitised_to_the_same_html_but_for_whitespace(
    examples: list[dict[str, Any]],
) -> None:
    """What readers get: after the sanitiser, only whitespace between tags
    differs, and only where :data:`ACCEPTED` says so."""
    old = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    for example in examples:
        text = example["markdown"]
        ours = render_markdown(text, PAGE, SITE).html
        theirs = sanitize(old.render(text), PAGE, SITE).html
        if ours != theirs:
            assert ACCEPTED.get(example["example"]) == "whitespace", example
            assert _BETWEEN_TAGS.sub("><", ours) == _BETWEEN_TAGS.sub("><", theirs)


#: Beyond CommonMark: the two extensions articles use. (markdown, how our HTML
#: differs from markdown-it-py's, or None for not at all.)
EXTENSIONS = [
    ("~~gone~~", "<del> where markdown-it writes <s>"),
    ("~gone~", "strikethrough with one tilde too, as GitHub does"),
    # Alignment is written "text-align: left"; the sanitiser writes it without the space.
    ("| a | b |\n|:--|--:|\n| 1 | 2 |", "whitespace"),
    ("Text\n| a |\n|---|\n| 1 |", "whitespace"),
    ("| a |\n|---|\n| x \\| y |", "whitespace"),
    ("~~~\ncode\n~~~", None),
    ("a ~ b ~~ c", None),
]


@pytest.mark.parametrize(("text", "expected"), EXTENSIONS)
def test_extensions_differ_from_markdown_it_only_as_listed(text: str, expected: str | None) -> None:
    ours = to_html(text)
    theirs = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)
    if expected == "whitespace":  # as readers get it: after the sanitiser
        assert ours != theirs
        ours, theirs = render_markdown(text, PAGE, SITE).html, sanitize(theirs, PAGE, SITE).html
        assert _BETWEEN_TAGS.sub("><", ours) == _BETWEEN_TAGS.sub("><", theirs)
    elif expected is None:
        assert ours == theirs
    else:
        assert "<del>" in ours
        assert ours != theirs


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        found = spec_examples(Path(folder))
    SPEC_EXAMPLES.parent.mkdir(exist_ok=True)
    text = json.dumps(found, ensure_ascii=False, indent=1)
    SPEC_EXAMPLES.write_text(text + "\n", encoding="utf-8")
    print(f"{SPEC_EXAMPLES}: {len(found['examples'])} examples")
