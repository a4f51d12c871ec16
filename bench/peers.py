"""Turn a feeds content directory into a Hugo site and a Pelican site.

The benchmark's peers (``bench/run.py --peers``) build the same articles as
``feeds build``. This module writes each peer's own kind of site from a feeds
content directory, with the templates and settings kept in ``bench/peers/``:

- Hugo: ``hugo.json`` (its settings), one Markdown file per article under
  ``content/articles/`` with YAML front matter, one taxonomy term page per
  author (``content/authors/<id>/_index.md``: the name as title, the bio as
  body), the images under ``static/``, the layouts copied in.
- Pelican: ``pelicanconf.py`` reading ``site.json`` (site settings, authors
  with their Markdown bios, which Pelican's process renders), one Markdown file
  per article with Pelican's ``Key: value`` metadata, the images, the theme
  and the one plugin copied in.

The metadata comes from feeds' own loader (validated: ids, slugs, tag names,
licences and defaults already applied), the Markdown bodies from the files as
the editors wrote them. Hugo gets the bodies untouched (its link and image
render hooks resolve relative URLs against the page, as feeds does); Pelican
gets its intra-site link syntax (``{filename}``, ``{tag}``, ``{author}``,
``{static}``) for links into the site, which Pelican replaces while it
builds, and absolute URLs for the rest. Only inline Markdown links and images
(``[text](url)``) are rewritten, which is all the generated corpus has.

Pelican is not a dependency of the project: :func:`pelican_python` installs a
pinned version into its own virtual environment under the user's cache folder
(``$XDG_CACHE_HOME/feeds-bench/``, else ``~/.cache/feeds-bench/``) on first use.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html import escape
from pathlib import Path

import frontmatter
import yaml

from feeds.content.directory import load
from feeds.model import Article, Author, Content
from feeds.urls import resolve, tag_slug

HERE = Path(__file__).resolve().parent / "peers"
PELICAN_VERSION = "4.12.0"
MARKDOWN_VERSION = "3.11.3"

#: An inline Markdown link or image target: ``](target)`` or ``](target "title")``.
_TARGET = re.compile(r"\]\(([^)\s]+)((?:\s+\"[^\"]*\")?)\)")


def hugo_command(site: Path, out: Path) -> list[str]:
    """A cold Hugo build of ``site`` into ``out`` (all cores, Hugo's default)."""
    return [
        shutil.which("hugo") or "hugo",
        "--source",
        str(site),
        "--destination",
        str(out),
        "--cacheDir",
        str(out.parent / f".{out.name}.hugo-cache"),
        "--quiet",
    ]


def pelican_command(python: Path, site: Path, out: Path) -> list[str]:
    """A cold Pelican build of ``site`` into ``out`` (one process, Pelican's way)."""
    return [
        str(python),
        "-m",
        "pelican",
        str(site / "content"),
        "--settings",
        str(site / "pelicanconf.py"),
        "--output",
        str(out),
        "--quiet",
    ]


def pelican_python() -> Path:
    """The Python of a virtual environment holding Pelican, made on first use."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    venv = cache / "feeds-bench" / f"pelican-{PELICAN_VERSION}"
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import pelican, markdown"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    print(f"installing Pelican {PELICAN_VERSION} into {venv}", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            f"pelican=={PELICAN_VERSION}",
            f"markdown=={MARKDOWN_VERSION}",
        ],
        check=True,
    )
    return python


def read_content(content: Path) -> Content:
    """The validated site, as feeds sees it."""
    return load(content, jobs=os.cpu_count() or 1).content


def author_key(author: Author) -> str:
    """An author's id; inline authors (no file) get the slug of their name."""
    return author.id or tag_slug(author.name)


def bodies(content: Path, model: Content) -> dict[str, str]:
    """The Markdown body of every article, by its path, as the editor wrote it."""
    return {a.path: frontmatter.load(content / a.path).content for a in model.articles}


def author_bios(content: Path, model: Content) -> dict[str, str]:
    """The Markdown bio of every author with a file, by id."""
    return {
        a.id: frontmatter.load(content / "authors" / f"{a.id}.md").content
        for a in model.authors
        if a.id is not None
    }


def _license(article: Article) -> dict[str, str]:
    lic = article.license
    return {"name": lic.name, "label": lic.label, "url": lic.url or ""}


def _copy_images(content: Path, dest: Path) -> None:
    if (content / "images").is_dir():
        shutil.copytree(content / "images", dest, dirs_exist_ok=True)


def _fresh(site: Path) -> None:
    if site.exists():
        shutil.rmtree(site)
    site.mkdir(parents=True)


# Hugo


def to_hugo(content: Path, site: Path, model: Content | None = None) -> Path:
    """Write the Hugo site for ``content`` at ``site`` (replaced whole)."""
    model = model or read_content(content)
    _fresh(site)
    s = model.site
    config = {
        "baseURL": s.base_url,
        "title": s.title,
        "languageCode": s.language,
        "timeZone": s.zone.key,
        "paginate": 20,
        "removePathAccents": True,
        "disableAliases": True,
        # The list of all tags and of all authors, and /articles/: feeds has none.
        "disableKinds": ["taxonomy", "section"],
        "ignoreErrors": ["error-disable-taxonomy"],  # the list of terms, as meant
        "taxonomies": {"tag": "tags", "author": "authors"},
        "permalinks": {"articles": "/articles/:slug/"},
        "outputs": {
            "home": ["HTML", "RSS", "Atom", "JSONFeed"],
            "term": ["HTML", "RSS", "Atom", "JSONFeed"],
            "page": ["HTML"],
        },
        "mediaTypes": {
            "application/atom+xml": {"suffixes": ["xml"]},
            "application/feed+json": {"suffixes": ["json"]},
        },
        "outputFormats": {
            "RSS": {"baseName": "rss", "isPlainText": True},
            "Atom": {
                "mediaType": "application/atom+xml",
                "baseName": "atom",
                "isPlainText": True,
                "rel": "alternate",
            },
            "JSONFeed": {
                "mediaType": "application/feed+json",
                "baseName": "feed",
                "isPlainText": True,
                "rel": "alternate",
            },
        },
        "markup": {"goldmark": {"renderer": {"unsafe": False}}},
        "params": {
            "description": s.description,
            "feedItems": s.feed_items,
            "license": {"name": s.license.name, "label": s.license.label, "url": s.license.url},
        },
    }
    (site / "hugo.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    shutil.copytree(HERE / "hugo" / "layouts", site / "layouts")
    _copy_images(content, site / "static" / "images")
    shutil.copy(HERE / "style.css", site / "static" / "style.css")
    bios = author_bios(content, model)
    authors_dir = site / "content" / "authors"
    for author in {author_key(a): a for art in model.articles for a in art.authors}.values():
        key = author_key(author)
        front = {"title": author.name, "homepage": author.url, "affiliation": author.affiliation}
        _write_page(
            authors_dir / key / "_index.md",
            {k: v for k, v in front.items() if v},
            bios.get(key, ""),
        )
    articles_dir = site / "content" / "articles"
    texts = bodies(content, model)
    for article in model.articles:
        body = texts[article.path]
        front = {
            "title": article.title,
            "date": article.date.astimezone(s.zone).isoformat(),
            "slug": article.slug,
            "authors": [author_key(a) for a in article.authors],
            "tags": [t.name for t in article.tags],
            "feed_id": article.id,
            "license": _license(article),
            "producer": article.producer,
            "source": article.source,
            "language": article.language,
        }
        if article.updated:
            front["lastmod"] = article.updated.astimezone(s.zone).isoformat()
        if article.draft:
            front["draft"] = True
        if article.subtitle:
            front["subtitle"] = article.subtitle
        if article.section:
            front["section_name"] = article.section
        if article.canonical_url:
            front["canonical_url"] = article.canonical_url
        if image := article.image:
            front["image"] = {
                k: v
                for k, v in {
                    "src": image.url,
                    "alt": image.alt,
                    "caption": image.caption,
                    "credit": image.credit,
                    "credit_url": image.credit_url,
                    "type": image.media_type,
                }.items()
                if v
            }
        _write_page(articles_dir / Path(article.path).name, front, body)
    return site


def _write_page(path: Path, front: dict[str, object], body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
    path.write_text(f"---\n{text}---\n{body}\n", encoding="utf-8")


# Pelican


def to_pelican(content: Path, site: Path, model: Content | None = None) -> Path:
    """Write the Pelican site for ``content`` at ``site`` (replaced whole)."""
    model = model or read_content(content)
    _fresh(site)
    s = model.site
    bios = author_bios(content, model)
    authors = {}
    for author in {author_key(a): a for art in model.articles for a in art.authors}.values():
        authors[author.name] = {
            "id": author_key(author),
            "url": author.url,
            "bio": bios.get(author_key(author), ""),
        }
    settings = {
        "title": s.title,
        "description": s.description,
        "base_url": s.base_url.rstrip("/"),
        "language": s.language,
        "timezone": s.zone.key,
        "feed_items": s.feed_items,
        "authors": authors,
    }
    (site / "site.json").write_text(json.dumps(settings, indent=1), encoding="utf-8")
    shutil.copy(HERE / "pelican" / "pelicanconf.py", site / "pelicanconf.py")
    shutil.copytree(HERE / "pelican" / "theme", site / "theme")
    shutil.copytree(HERE / "pelican" / "plugins", site / "plugins")
    (site / "theme" / "static").mkdir(exist_ok=True)
    shutil.copy(HERE / "style.css", site / "theme" / "static" / "style.css")
    _copy_images(content, site / "content" / "images")
    links = _SiteLinks(model)
    articles_dir = site / "content" / "articles"
    articles_dir.mkdir(parents=True)
    texts = bodies(content, model)
    for article in model.articles:
        body = texts[article.path]
        meta = {
            "Title": escape(article.title, quote=False),  # Pelican's titles are HTML
            "Date": article.date.astimezone(s.zone).isoformat(),
            "Slug": article.slug,
            "Authors": ", ".join(a.name for a in article.authors),
            "Tags": ", ".join(t.name for t in article.tags),
            "Entry_id": article.id,
            "Lang": article.language,
            "License_name": article.license.name,
            "License_label": article.license.label,
            "License_url": article.license.url or "",
            "Producer": article.producer,
            "Source": article.source,
        }
        if article.updated:
            meta["Modified"] = article.updated.astimezone(s.zone).isoformat()
        if article.draft:
            meta["Status"] = "draft"
        if article.subtitle:
            meta["Subtitle"] = article.subtitle
        if article.section:
            meta["Category"] = article.section
        if article.canonical_url:
            meta["Canonical_url"] = article.canonical_url
        if image := article.image:
            meta["Image"] = image.url
            meta["Image_alt"] = image.alt
            for key, value in (
                ("Image_caption", image.caption),
                ("Image_credit", image.credit),
                ("Image_credit_url", image.credit_url),
            ):
                if value:
                    meta[key] = value
        head = "".join(f"{key}: {' '.join(str(v).split())}\n" for key, v in meta.items())
        text = head + "\n" + links.rewrite(body, article.url)
        (articles_dir / Path(article.path).name).write_text(text, encoding="utf-8")
    return site


class _SiteLinks:
    """Links into the site in Pelican's intra-site syntax, the rest absolute."""

    def __init__(self, model: Content) -> None:
        base = model.site.base_url
        self.base = base
        self.targets: dict[str, str] = {}
        for article in model.articles:
            self.targets[article.url] = "{filename}/articles/" + Path(article.path).name
            for tag in article.tags:
                self.targets[f"{base}tags/{tag.slug}/"] = "{tag}" + tag.name
            for author in article.authors:
                self.targets[f"{base}authors/{author_key(author)}/"] = "{author}" + author.name
        self.targets[base] = "{index}"

    def rewrite(self, body: str, page_url: str) -> str:
        def replace(match: re.Match[str]) -> str:
            url = resolve(match.group(1), page_url, self.base)
            if url is None:
                return match.group(0)
            if url.startswith(self.base + "images/"):
                target = "{static}/" + url.removeprefix(self.base)
            else:
                target = self.targets.get(url, url)
            return f"]({target}{match.group(2)})"

        return _TARGET.sub(replace, body)
