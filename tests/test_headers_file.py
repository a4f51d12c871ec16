"""The export's ``_headers``: what Netlify and Cloudflare Pages send with each
file, by applying its rules as each documents it, is what the app sends.

The two hosts are modelled here from their own documentation, not from
:mod:`feeds.outputs.headers`: Cloudflare Pages (developers.cloudflare.com/pages/
configuration/headers/): a splat ``*`` matches any characters, a
placeholder ``:name`` any but ``/``, every matching rule's headers are sent
and a header given twice is joined with a comma; Netlify (its headers parser,
``getForRegExp`` in netlify/build): paths match whatever their case and with
or without a final slash, a ``*`` that is a whole segment may also match
nothing before it, a ``*`` inside a segment becomes ``(.*)`` with the rest of
the segment read as a regular expression (its ``.`` is any character).
Rather than rely on either host's way of merging a header given by two
rules, no two rules that match one file may give the same header.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from conftest import NOW, site_files, write
from feeds.cache import Cache
from feeds.content.directory import load
from feeds.outputs import headers
from feeds.outputs.plan import Access, Plan
from feeds.publish.build import build
from webapp import create_app

REPO = Path(__file__).resolve().parent.parent

Rules = list[tuple[str, list[tuple[str, str]]]]
Matcher = Callable[[str, str], bool]


def parse(data: str) -> Rules:
    """A ``_headers`` file as both hosts read it: a line starting with ``/``
    opens a rule, an indented ``Name: value`` line adds to it."""
    found: Rules = []
    for line in data.splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("/"):
            assert not line[0].isspace(), line
            found.append((text, []))
        else:
            name, _, value = text.partition(":")
            found[-1][1].append((name.strip(), value.strip()))
    return found


def cloudflare(pattern: str, path: str) -> bool:
    assert pattern.count("*") <= 1, pattern  # "You may only include a single splat"
    regex = ""
    for part in re.split(r"(\*|:[A-Za-z]\w*)", pattern):
        if part == "*":
            regex += ".*"
        elif part.startswith(":"):
            regex += "[^/]+"
        else:
            regex += re.escape(part)
    return re.fullmatch(regex, path) is not None


def netlify(pattern: str, path: str) -> bool:
    parts = []
    for part in (p.rstrip() for p in pattern.split("/") if p.rstrip()):
        if part.startswith(":"):
            parts.append("([^/]+)")
        elif part == "*":
            parts.append("?(.*)")
        elif "*" in part:
            parts.append(part.replace("*", "(.*)"))
        else:
            parts.append(re.escape(part))
    return re.match(f"^/{'/'.join(parts)}/?$", path, re.IGNORECASE) is not None


HOSTS = {"cloudflare": cloudflare, "netlify": netlify}


def sent(rules: Rules, path: str, matches: Matcher) -> dict[str, str]:
    """The headers a host sends at ``path``; no header may come from two rules."""
    pairs = [pair for pattern, values in rules if matches(pattern, path) for pair in values]
    names = [name.lower() for name, _ in pairs]
    assert len(names) == len(set(names)), (path, pairs)
    return dict(pairs)


def expected(plan: Plan) -> dict[str, dict[str, str]]:
    """What the app sends with each exported file, by its URL path."""
    site = plan.content.site
    found = {}
    for file in plan.paths(Access.PUBLIC):
        out = plan.outputs[file]
        found[headers.url_path(file, site)] = dict(headers.headers(file, site, out.lasting))
    for name in plan.images:
        file = f"images/{name}"
        found[headers.url_path(file, site)] = dict(headers.headers(file, site))
    return found


def with_hub(root: Path, base_url: str = "https://wire.example.org/") -> None:
    toml = root / "site.toml"
    text = toml.read_text().replace(
        'base_url = "https://wire.example.org/"', f'base_url = "{base_url}"'
    )
    toml.write_text('hub = "https://hub.example.org/"\n' + text)
    # Images of kinds a host could take for one another.
    for name in ("a/Shout.PNG", "moving.apng", "photo.jpg", "deep/er/photo.jpeg"):
        write(root, f"images/{name}", (REPO / "content/images/logo.png").read_bytes())
    write(
        root,
        "articles/shows-them.md",
        "---\ntitle: Shows them\ndate: 2026-11-02\nauthors: [ana-quispe]\n---\n"
        "![a](/images/a/Shout.PNG) ![b](/images/moving.apng) ![c](/images/photo.jpg)"
        " ![d](/images/deep/er/photo.jpeg)\n",
    )


@pytest.mark.parametrize("host", sorted(HOSTS))
@pytest.mark.parametrize(
    "base_url", ["https://wire.example.org/", "https://wire.example.org/news/"]
)
def test_every_file_gets_from_the_rules_what_the_app_sends(
    sample: Path, tmp_path: Path, host: str, base_url: str
) -> None:
    with_hub(sample, base_url)
    out = tmp_path / "out"
    build(sample, out, NOW)
    data = (out / "_headers").read_text(encoding="utf-8")
    rules = parse(data)
    wanted = expected(Plan(load(sample), NOW))
    site = load(sample).content.site
    on_disk = {headers.url_path(p, site) for p in site_files(out, ("_headers", "_redirects"))}
    assert on_disk == set(wanted)
    for path, values in wanted.items():
        assert sent(rules, path, HOSTS[host]) == values, path
    # Cloudflare Pages reads lines of up to 2,000 characters.
    assert max(map(len, data.splitlines())) < 2000
    # The rules follow the kinds of files and the feeds, not the files: one
    # per subscription feed (its Link names it), a few dozen for the rest.
    links = [path for path, values in rules if any(name == "Link" for name, _ in values)]
    feeds = [p for p, v in wanted.items() if "Link" in v]
    assert sorted(links) == sorted(feeds)
    assert not [path for path in links if ":" in path or "*" in path]
    assert len(rules) - len(links) < 60
    assert not [path for path, _ in rules if "/articles/" in path and ":slug" not in path]


def test_the_app_sends_what_the_rules_give(sample: Path, tmp_path: Path) -> None:
    """Through the app itself, for a file of each kind: 40 stories older than
    the sample's 10 seal the site's first archive document (50 slots), which
    names no hub."""
    with_hub(sample)
    for n in range(40):
        write(
            sample,
            f"articles/old-{n:02}.md",
            f"---\ntitle: Old {n}\ndate: 2026-07-01T{n // 4:02}:{n % 4 * 15:02}:00Z\n"
            "authors: [ana-quispe]\n---\nText.\n",
        )
    out = tmp_path / "out"
    build(sample, out, NOW)
    rules = parse((out / "_headers").read_text(encoding="utf-8"))
    app = create_app({"CONTENT": str(sample), "CLOCK": lambda: NOW, "RELOAD_INTERVAL": 0})
    client: FlaskClient = app.test_client()
    for path in (
        "/",
        "/articles/lima-reservoirs-dry-season/",
        "/articles/arequipa-well-study/",  # withdrawn: 410
        "/tags/peru/",
        "/tags/peru/atom.xml",
        "/authors/ana-quispe/feed.json",
        "/rss.xml",
        "/archive/1/rss.xml",
        "/archive/",
        "/withdrawals/rss.xml",
        "/sitemap.xml",
        "/sitemaps/pages.xml",
        "/sitemaps/articles-1.xml",
        "/feeds.opml",
        "/feeds/tags.opml",
        "/static/style.css",
        "/images/logo.png",
        "/images/a/Shout.PNG",
    ):
        response = client.get(path)
        assert response.status_code in (200, 410), path
        for host, matches in HOSTS.items():
            given = sent(rules, path, matches)
            assert given and {n: response.headers.get(n) for n in given} == given, (host, path)
    # A sealed archive document has nothing to push: no hub, in the app as in the rules.
    assert 'rel="hub"' in client.get("/rss.xml").headers["Link"]
    assert "Link" not in client.get("/archive/1/rss.xml").headers


def resolved(rules: tuple[headers.Rule, ...], path: str) -> dict[str, str]:
    data = headers.headers_file(rules).decode()
    found = [sent(parse(data), path, matches) for matches in HOSTS.values()]
    assert found[0] == found[1], path
    return found[0]


def test_a_kind_whose_files_differ_has_a_rule_for_each(sample: Path) -> None:
    """Files of one kind that are not alike (two archive documents, one
    lasting and one not) get a rule each; so do images a host could take for
    one another (``x.PNG`` and ``y.png``, ``x.apng`` and ``y.png``)."""
    site = load(sample).content.site
    files = [
        ("archive/1/rss.xml", True),
        ("archive/2/rss.xml", False),
        ("tags/peru/rss.xml", False),
        ("tags/chile/rss.xml", False),
        ("images/a.png", True),
        ("images/b/B.PNG", True),
        ("images/c.apng", True),
        ("images/d.jpg", True),
        ("images/e/f.jpg", True),
    ]
    rules = headers.rules(site, files)
    patterns = [path for path, _ in rules]
    assert "/tags/:tag/rss.xml" in patterns and "/images/*.jpg" in patterns
    assert "/archive/1/rss.xml" in patterns and "/archive/2/rss.xml" in patterns
    assert "/images/a.png" in patterns and "/images/c.apng" in patterns
    for file, lasting in files:
        assert resolved(rules, "/" + file) == dict(headers.headers(file, site, lasting)), file


def test_headers_do_not_change_with_a_new_story(sample: Path, tmp_path: Path) -> None:
    """Only a new feed (with its Link) adds a rule."""
    with_hub(sample)
    out = tmp_path / "out"
    cache = Cache(tmp_path / "cache.sqlite")
    build(sample, out, NOW, cache)
    before = (out / "_headers").read_bytes()
    write(
        sample,
        "articles/one-more.md",
        "---\ntitle: One more\ndate: 2026-11-26\nauthors: [ana-quispe]\ntags: [Perú]\n---\nText.\n",
    )
    report = build(sample, out, NOW, cache)
    assert "_headers" not in report.changed
    assert (out / "_headers").read_bytes() == before
    write(
        sample,
        "articles/new-tag.md",
        "---\ntitle: New tag\ndate: 2026-11-26\nauthors: [ana-quispe]\ntags: [Brand new]\n"
        "---\nText.\n",
    )
    report = build(sample, out, NOW, cache)
    assert "_headers" in report.changed
    paths = {path for path, _ in parse((out / "_headers").read_text())}
    assert paths - {path for path, _ in parse(before.decode())} == {
        f"/tags/brand-new/{name}" for name in ("rss.xml", "atom.xml", "feed.json")
    }
