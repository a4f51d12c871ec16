"""Reading values out of located front matter: the toolbox validators use.

:class:`Fields` reads one mapping's values with their types checked, and
turns every bad value into a :class:`~feeds.errors.Problem` with its file,
line and field, so that a validator can go on and report the rest.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterator
from datetime import UTC, datetime, tzinfo
from urllib.parse import urlsplit

from feeds.content.documents import Mapping, Value, describe
from feeds.content.nesting import MAX_NESTING
from feeds.errors import Problem
from feeds.licenses import LICENSES

#: Slugs and author ids: they become URL segments and file names. Always
#: matched whole (``fullmatch``): ``$`` would let a trailing newline through.
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
EMAIL = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+")
URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
_BCP47 = re.compile(r"(?:[A-Za-z]{2,3}|[A-Za-z]{5,8})(?:-[A-Za-z0-9]{1,8})*")


def did_you_mean(word: str, choices: Collection[str]) -> str:
    """``; did you mean 'x'?`` when one choice is close, else an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        close = [c for c in choices if c.lower() == word.lower()]
    return f"; did you mean {close[0]!r}?" if close else ""


#: A file gets a did-you-mean hint for its first few unknown values only:
#: each costs a comparison with every choice (an article listing 8,000
#: unknown author ids on a site of 306 authors took 48 s to check).
HINTS = 5
#: The most choices a message lists when it has no hint to give.
LISTED = 30


def listed(choices: Collection[str]) -> str:
    """``a, b, c`` of ``choices`` (sorted, unless a list or tuple gives an
    order), at most :data:`LISTED` of them."""
    names = list(choices) if isinstance(choices, list | tuple) else sorted(choices)
    more = f" and {len(names) - LISTED} more" if len(names) > LISTED else ""
    return ", ".join(names[:LISTED]) + more


#: Dates outside these years are refused: they would overflow once moved to UTC
#: or formatted, and no article of a news service has one.
YEARS = (1000, 9000)


def parse_date(text: str, zone: tzinfo) -> datetime | None:
    """ISO 8601 to an aware UTC datetime; a date or time without offset is in
    ``zone``. None when it is not a date, or is outside :data:`YEARS`."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if not YEARS[0] <= moment.year <= YEARS[1]:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _is_iso(text: str) -> bool:
    try:
        datetime.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def is_language_tag(tag: str) -> bool:
    import langcodes  # its registry takes a while to load: only when a tag is checked

    return bool(_BCP47.fullmatch(tag)) and langcodes.tag_is_valid(tag)


def is_web_url(url: str) -> bool:
    """An absolute http(s) URL that parses, ports included."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not any(c.isspace() or ord(c) < 32 for c in url)
    )


def too_deep(depth: int) -> str:
    return f"nested {depth} levels deep (quotes, lists, HTML elements); at most {MAX_NESTING}"


class Fields:
    """Typed, located reads of one mapping; each bad value becomes a problem."""

    def __init__(
        self,
        path: str,
        mapping: Mapping,
        line: int,
        problems: list[Problem],
        prefix: str | None = None,
        hints: list[int] | None = None,
    ) -> None:
        self.path = path
        self.mapping = mapping
        self.line = line
        self.problems = problems
        self.prefix = prefix
        #: The hints this file may still be given (shared with its nested mappings).
        self.hints = hints if hints is not None else [HINTS]

    def hint(self, word: str, choices: Collection[str], known: str = "known") -> str:
        """:func:`did_you_mean`, or the choices listed, for the file's first
        :data:`HINTS` unknown values; then nothing (the cost of a file is
        then linear in its size, whatever the number of choices)."""
        if self.hints[0] <= 0:
            return ""
        self.hints[0] -= 1
        return did_you_mean(word, choices) or (f" ({known}: {listed(choices)})" if choices else "")

    def name(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def problem(self, key: str | None, message: str, line: int | None = None) -> None:
        if line is None:
            line = self.line_of(key) if key else self.line
        self.problems.append(
            Problem(self.path, line, self.name(key) if key else self.prefix, message)
        )

    def line_of(self, key: str) -> int | None:
        value = self.mapping.values.get(key)
        return value.line if value is not None else None

    def only(self, allowed: Collection[str]) -> None:
        """Every key must be one of ``allowed``: a typo must never drop data."""
        for key, line in self.mapping.key_lines.items():
            if key not in allowed:
                self.problem(key, f"unknown field{self.hint(key, allowed, 'known fields')}", line)

    def raw(self, key: str, required: bool = False) -> Value | None:
        value = self.mapping.values.get(key)
        if value is None:
            if required:
                self.problems.append(
                    Problem(
                        self.path,
                        self.line if self.prefix else None,
                        self.name(key),
                        "required field is missing",
                    )
                )
            return None
        if value.data is None:
            if required:
                self.problem(key, "required field is empty")
            return None
        return value

    def text(self, key: str, required: bool = False, one_line: bool = True) -> str | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if not isinstance(value.data, str):
            hint = "; put it in quotes" if isinstance(value.data, int | float | bool) else ""
            self.problem(key, f"expected text, got {describe(value.data)}{hint}")
            return None
        text = " ".join(value.data.split()) if one_line else value.data.strip()
        if not text:
            if required:
                self.problem(key, "must not be empty")
            return None
        return text

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value.data, bool):
            self.problem(key, f"expected true or false, got {describe(value.data)}")
            return default
        return value.data

    def integer(self, key: str, default: int, minimum: int, maximum: int | None = None) -> int:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value.data, int) or isinstance(value.data, bool):
            self.problem(key, f"expected a whole number, got {describe(value.data)}")
            return default
        if value.data < minimum:
            self.problem(key, f"must be at least {minimum}, got {value.data}")
            return default
        if maximum is not None and value.data > maximum:
            self.problem(key, f"must be at most {maximum}, got {value.data}")
            return default
        return value.data

    def web_url(self, key: str, required: bool = False) -> str | None:
        text = self.text(key, required)
        if text is None:
            return None
        if not is_web_url(text):
            self.problem(key, f"expected an absolute http or https URL, got {text!r}")
            return None
        return text

    def date(self, key: str, zone: tzinfo, required: bool = False) -> datetime | None:
        value = self.raw(key, required)
        if value is None:
            return None
        moment = parse_date(value.data, zone) if isinstance(value.data, str) else None
        if moment is None:
            hint = ""
            if isinstance(value.data, str) and _is_iso(value.data):  # a date, but out of range
                hint = f" between the years {YEARS[0]} and {YEARS[1]}"
            self.problem(key, f"expected an ISO 8601 date{hint}, got {describe(value.data)}")
        return moment

    def language(self, key: str, default: str) -> str:
        text = self.text(key)
        if text is None:
            return default
        if not is_language_tag(text):
            self.problem(
                key, f"expected a BCP 47 language tag such as 'en' or 'es-PE', got {text!r}"
            )
            return default
        return text

    def license(self, key: str, default: str) -> str:
        text = self.text(key)
        if text is None:
            return default
        if text not in LICENSES:
            hint = did_you_mean(text, LICENSES) or f" (known: {', '.join(LICENSES)})"
            self.problem(key, f"unknown licence {text!r}{hint}")
            return default
        return text

    def items(self, key: str) -> Iterator[tuple[str, Value]]:
        """``(field name, value)`` for each entry of a list field."""
        value = self.raw(key)
        if value is None:
            return
        if not isinstance(value.data, list):
            self.problem(key, f"expected a list, got {describe(value.data)}")
            return
        for index, item in enumerate(value.data, start=1):
            yield f"{self.name(key)}[{index}]", item

    def mapping_of(self, name: str, value: Value) -> Fields | None:
        """A nested mapping as :class:`Fields`, or a problem if it is not one."""
        if not isinstance(value.data, Mapping):
            self.problems.append(
                Problem(
                    self.path, value.line, name, f"expected a mapping, got {describe(value.data)}"
                )
            )
            return None
        return Fields(self.path, value.data, value.line, self.problems, name, self.hints)

    def section(self, key: str, allowed: Collection[str]) -> Fields | None:
        """The optional nested mapping at ``key``, holding only ``allowed``
        keys (each other one a problem); None when absent or not a mapping."""
        value = self.raw(key)
        if value is None:
            return None
        found = self.mapping_of(self.name(key), value)
        if found is not None:
            found.only(allowed)
        return found
