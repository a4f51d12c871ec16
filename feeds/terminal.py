"""Text from outside (a request's path, a user agent, a Referer, a file name)
as it may be stored and shown: no character that is not printable.

A terminal obeys control characters wherever they come from: C1 controls
(``\\x9b`` is CSI, one byte in Latin-1, which gunicorn passes) move the cursor
and erase lines, and format characters (``U+202E``, right-to-left override)
reorder what follows. :meth:`str.isprintable` is the test: every character
it refuses (categories Cc, Cf, Cs, Co, Cn and separators other than the
space) is written as its Python escape, ``\\x9b`` or ``\\u202e``, so that what
was sent can still be read and nothing is obeyed.
"""

from __future__ import annotations

import re
from typing import TextIO

# A character class of what is not printable would be long; a generous
# pattern that finds candidates, confirmed by isprintable(), is fast on the
# common (ASCII) case.
_CANDIDATE = re.compile(r"[^\x20-\x7e]")


def _escape(found: re.Match[str]) -> str:
    char = found[0]
    return char if char.isprintable() else _escape_char(char)


def _escape_char(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: str, keep: str = "") -> str:
    """``text`` with every character that is not printable escaped, but
    those in ``keep`` (a line break, for what is printed as lines)."""
    if not keep:
        return _CANDIDATE.sub(_escape, text)
    return keep.join(_CANDIDATE.sub(_escape, part) for part in text.split(keep))


def clipped(text: str, limit: int) -> str:
    """:func:`visible`, at most ``limit`` characters: what is stored of a
    request's text (an escape is never cut in two)."""
    pieces = []
    size = 0
    for char in text[:limit]:
        piece = char if char.isprintable() else _escape_char(char)
        size += len(piece)
        if size > limit:
            break
        pieces.append(piece)
    return "".join(pieces)


class Visible:
    """A text stream that writes what it is given through :func:`visible`,
    line breaks kept: the command line's standard output and error, so that
    nothing any command prints (an audit row, a title, a file name in an
    error) can drive the terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(visible(text, "\n"))
        return len(text)

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> object:
        return getattr(self.stream, name)


def raw(stream: TextIO) -> TextIO:
    """The terminal behind a :class:`Visible` stream: for what the command
    itself draws with a control (a progress bar's carriage return), never
    for text from outside."""
    return stream.stream if isinstance(stream, Visible) else stream
