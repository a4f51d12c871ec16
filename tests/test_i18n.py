"""Furniture in the article's language: the catalogues are complete, and pages,
feeds and the republish HTML speak the language of the article they carry."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from conftest import NOW, rendered, write
from feeds.content.directory import load_content
from feeds.outputs.i18n import LANGUAGES

REPO = Path(__file__).resolve().parent.parent
LOCALE = REPO / "feeds" / "locale"
KEYWORDS = {"_": None, "words": None, "html": None, "N_": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def extracted() -> set[str]:
    """Every message the code and templates ask for, as `pybabel extract -F
    babel.cfg -k words -k html -k N_` finds them."""
    method_map = [("feeds/**.py", "python"), ("feeds/templates/**.html", "jinja2")]
    options = {"feeds/templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}
    found = extract_from_dir(
        REPO, method_map, options, keywords=KEYWORDS, comment_tags=(), strip_comment_tags=True
    )
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def catalogue(path: Path) -> dict[str, tuple[str, bool]]:
    with path.open("rb") as file:
        catalog = read_po(file)
    return {m.id: (m.string, m.fuzzy) for m in catalog if m.id and isinstance(m.id, str)}


def test_the_template_holds_every_message_of_the_code() -> None:
    assert extracted() == set(catalogue(LOCALE / "feeds.pot")), (
        "run: pybabel extract -F babel.cfg -k words -k html -k N_ --no-location --sort-output "
        "-w 100 -o feeds/locale/feeds.pot . (docs/development.md: Translations)"
    )


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_every_message_is_translated(language: str) -> None:
    messages = catalogue(LOCALE / language / "LC_MESSAGES" / "feeds.po")
    assert set(messages) == extracted()
    for message, (translation, fuzzy) in messages.items():
        assert translation and not fuzzy, (language, message)
        assert sorted(PLACEHOLDER.findall(translation)) == sorted(PLACEHOLDER.findall(message))


def test_the_brazilian_catalogue_holds_only_what_differs() -> None:
    """pt_BR falls back to pt where it says nothing; what it says keeps the
    placeholders and differs from pt."""
    portuguese = catalogue(LOCALE / "pt" / "LC_MESSAGES" / "feeds.po")
    brazilian = catalogue(LOCALE / "pt_BR" / "LC_MESSAGES" / "feeds.po")
    assert set(brazilian) == extracted()
    said = {m: t for m, (t, fuzzy) in brazilian.items() if t and not fuzzy}
    assert said
    for message, translation in said.items():
        assert translation != portuguese[message][0], message
        assert sorted(PLACEHOLDER.findall(translation)) == sorted(PLACEHOLDER.findall(message))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = Path(shutil.copytree(REPO / "content", tmp_path / "content"))
    write(
        root,
        "articles/agua-em-sao-paulo.md",
        "---\ntitle: Água em São Paulo\ndate: 2026-11-03T10:00:00-03:00\nlanguage: pt-BR\n"
        "authors: [lucia-mamani, joaquin-vidal]\ntags: [Brasil]\n---\nTexto do artigo.\n",
    )
    write(
        root,
        "articles/eau-a-lima.md",
        "---\ntitle: L'eau à Lima\ndate: 2026-11-02\nlanguage: fr\nauthors: [ana-quispe]\n"
        "---\nLe texte.\n",
    )
    return root


def page(files: dict[str, bytes], slug: str) -> str:
    return files[f"articles/{slug}/index.html"].decode()


def republish(page_html: str) -> str:
    found = re.search(r'<textarea id="republish-html"[^>]*>(.*?)</textarea>', page_html, re.S)
    assert found
    return html.unescape(found.group(1))


def test_a_spanish_article_speaks_spanish(site: Path) -> None:
    files = rendered(load_content(site), NOW)
    text = page(files, "agua-potable-el-alto")
    assert text.startswith('<!DOCTYPE html>\n<html lang="es">')
    assert "Publicado el <time" in text and "19 de octubre de 2026</time>" in text
    assert '<p class="tags">Etiquetas: ' in text
    assert "Republica este artículo" in text and "Copiar como texto enriquecido" in text
    copy = republish(text)
    assert copy.startswith('<div lang="es"><h1>El Alto')
    assert "<p>Por Lucía Mamani, <time" in copy
    assert "Este artículo fue producido por" in copy and "Fuente: Field Notes Wire" in copy
    for feed in ("rss.xml", "atom.xml", "feed.json"):
        assert "Este artículo fue producido por".encode() in files[feed]
        assert b"This article was produced by" in files[feed]  # the English ones


def test_a_brazilian_article_speaks_portuguese(site: Path) -> None:
    text = page(rendered(load_content(site), NOW), "agua-em-sao-paulo")
    assert '<html lang="pt-BR">' in text
    assert "Publicado em <time" in text and "3 de novembro de 2026</time>" in text
    copy = republish(text)
    assert copy.startswith('<div lang="pt-BR">')
    assert "<p>Por Lucía Mamani e Joaquín Vidal, <time" in copy
    assert "Este artigo foi produzido por" in copy
    # Brazilian furniture where it differs from European Portuguese.
    assert "Salvo indicação em contrário em um artigo, nossos artigos" in text
    assert not re.search(r"\bnum\b", text), "European Portuguese furniture"
    assert "Atribuição-SemDerivações 4.0 Internacional" in text  # the site's licence


def test_a_language_without_a_catalogue_gets_the_sites_words_and_keeps_its_lang(
    site: Path,
) -> None:
    text = page(rendered(load_content(site), NOW), "eau-a-lima")
    assert '<html lang="en">' in text  # the furniture is the site's
    assert '<article class="story" lang="fr">' in text  # the article is French
    copy = republish(text)
    assert copy.startswith('<div lang="fr">')
    assert "This article was produced by" in copy


def test_licence_names_are_in_the_pages_language(site: Path) -> None:
    """The licence was named in English on Spanish and Portuguese pages, in
    the page's furniture and in the republish HTML."""
    files = rendered(load_content(site), NOW)
    spanish = page(files, "agua-potable-el-alto")
    name = "Creative Commons Atribución-SinDerivadas 4.0 Internacional"
    assert spanish.count(f">{name}</a>") >= 2  # the Republish block and the colophon
    assert name in republish(spanish)
    assert "Attribution" not in spanish
    english = page(files, "lima-reservoirs-dry-season")
    assert "Creative Commons Attribution-NoDerivatives 4.0 International</a>" in english
    portuguese = page(files, "agua-em-sao-paulo")
    assert "Creative Commons Atribuição-SemDerivações 4.0 Internacional" in republish(portuguese)
    assert "Attribution" not in portuguese


def nearest_lang(element: Any) -> str | None:
    while element is not None:
        if element.get("lang"):
            return str(element.get("lang"))
        element = element.getparent()
    return None


def test_listings_wrap_no_date_in_the_wrong_language(site: Path) -> None:
    """An English listing marked each item with the story's language, and so
    wrapped its English byline and date in lang="es"; the story's own section
    name keeps its language."""
    import lxml.html

    content = load_content(site)
    files = rendered(content, NOW)
    by_title = {a.title: a for a in content.articles}
    checked = 0
    for path in ("index.html", "tags/brasil/index.html", "withdrawals/index.html"):
        tree = lxml.html.fromstring(files[path])
        language = tree.get("lang")
        times = list(tree.iter("time"))
        assert times, path
        for time in times:
            assert nearest_lang(time) == language, (path, time.text)
            assert re.fullmatch(r"\d{1,2} [A-Z][a-z]+ \d{4}", time.text or ""), time.text
            checked += 1
        for item in tree.xpath("//ol[@class='articles']/li"):
            title = item.xpath(".//h2")[0].text_content()
            for section in item.xpath(".//*[@class='section']"):
                assert nearest_lang(section) == by_title[title].language, title
    assert checked >= 10
