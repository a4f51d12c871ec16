"""The words around an article (its furniture) in the article's language.

Catalogues are gettext ``.po`` files under ``feeds/locale/``, extracted from the
code and templates with Babel (``pybabel extract -F babel.cfg``, see the
README). They are compiled when first used, in memory, from the ``.po`` files
themselves, so a compiled catalogue can never be older than its source.

An article in a language without a catalogue gets the site language's words
and date formats; its own ``lang`` is kept on the text that is its own.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from functools import cache, lru_cache
from gettext import NullTranslations
from importlib.resources import files
from io import BytesIO

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_date, format_skeleton
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

#: The languages the furniture is written in; English is the source.
LANGUAGES = ("en", "es", "pt")
#: Regional catalogues, by BCP 47 tag (lower case): each holds only what differs
#: from its language's (an empty translation falls back to it). ``pt`` is
#: European Portuguese ("num artigo"); Brazil says "em um artigo".
REGIONS = {"pt-br": "pt_BR"}
DOMAIN = "feeds"

#: CLDR's English "as used around the world": day-month-year dates and no
#: serial comma, where bare ``en`` would mean the United States'.
_DEFAULT_TERRITORY = {"en": "en_001"}


@dataclass(frozen=True)
class Words:
    """The words and formats of one language, with dates in the site's zone."""

    #: The language the words are in, as a BCP 47 tag for ``lang`` attributes.
    language: str
    locale: Locale
    zone: tzinfo
    translations: NullTranslations = field(compare=False, repr=False)

    def __call__(self, message: str, **values: object) -> str:
        """``message`` in this language, as plain text, with ``%(name)s`` filled."""
        text = self.translations.gettext(message)
        return text % values if values else text

    def html(self, message: str, **values: str) -> str:
        """``message`` in this language as HTML: its text escaped, and ``values``
        (HTML already) put in as they are."""
        text = html.escape(self.translations.gettext(message), quote=False)
        return text % values if values else text

    def date(self, moment: datetime) -> str:
        """``27 November 2026``, ``27 de noviembre de 2026``: in the site's zone."""
        return _long_date(moment.astimezone(self.zone).date(), self.locale)

    def month(self, year: int, number: int) -> str:
        """``November 2026``, ``noviembre de 2026``."""
        return _month(year, number, self.locale)

    def names(self, names: Sequence[str]) -> str:
        """``A, B and C``, ``A, B y C``."""
        return format_list(list(names), locale=self.locale)


# Babel takes about 20 us to format a date, and one article's date is shown on
# its page, in each listing page that lists it and in the archive: each
# distinct date is formatted once per process.
@lru_cache(maxsize=65536)
def _long_date(day: date, locale: Locale) -> str:
    return format_date(day, "long", locale=locale)


@lru_cache(maxsize=4096)
def _month(year: int, number: int, locale: Locale) -> str:
    return format_skeleton("yMMMM", date(year, number, 1), locale=locale)


def _compiled(language: str) -> Translations:
    """The compiled catalogue of one of :data:`LANGUAGES` or :data:`REGIONS`."""
    source = files("feeds").joinpath("locale", language, "LC_MESSAGES", f"{DOMAIN}.po")
    with source.open("rb") as file:
        catalog = read_po(file, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)  # fuzzy and empty entries are left out, as msgfmt does
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


_catalog = cache(_compiled)


@cache
def _regional(tag: str, primary: str) -> NullTranslations:
    """The catalogue for a language tag: its region's, falling back to its
    language's, where there is one (``pt-BR``); else its language's."""
    region = REGIONS.get(tag.lower())
    if region is None:
        return _catalog(primary)
    found = _compiled(region)
    found.add_fallback(_catalog(primary))
    return found


def _locale(tag: str, primary: str) -> Locale:
    """Babel's locale for a BCP 47 tag (its region's formats), else the language's."""
    try:
        return Locale.parse(tag, sep="-") if "-" in tag else Locale.parse(primary)
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(primary)


@cache
def words_for(language: str, site_language: str, zone: tzinfo) -> Words:
    """The words for an article in ``language`` on a site in ``site_language``:
    the first of the two (else English) that has a catalogue."""
    for tag in (language, site_language, "en"):
        primary = tag.split("-")[0].lower()
        if primary in LANGUAGES:
            locale = _locale(tag, _DEFAULT_TERRITORY.get(primary, primary))
            return Words(tag, locale, zone, _regional(tag, primary))
    raise AssertionError("English always has a catalogue")  # pragma: no cover


@cache
def og_locale(tag: str) -> str:
    """A BCP 47 tag as Open Graph writes a locale, ``language_TERRITORY``:
    ``es-PE`` is ``es_PE``; a bare language takes its likeliest territory
    (CLDR's): ``es`` is ``es_ES``, ``pt`` is ``pt_BR``, ``en`` is ``en_US``."""
    try:
        locale = Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError, TypeError):
        return tag.replace("-", "_")
    territory = locale.territory
    if not territory or not territory.isalpha():
        likely = get_global("likely_subtags").get(locale.language, "")
        territory = likely.split("_")[-1] if likely else None
    return f"{locale.language}_{territory}" if territory else locale.language
