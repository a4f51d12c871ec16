"""The package's exceptions: one root, and problems that name file, line and field."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class FeedsError(Exception):
    """Root of every error this package raises on purpose.

    ``str(error)`` is a sentence fit to show a user as it is.
    """


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the content, located as precisely as we can."""

    #: Path relative to the content directory, with forward slashes.
    path: str
    #: 1-based line in that file, when one applies.
    line: int | None
    #: Dotted field name (``image.alt``, ``authors[2]``), when one applies.
    field: str | None
    #: What is wrong, as a sentence fragment without a final full stop.
    message: str
    #: A warning: the content can be built, but something of it will be
    #: changed or lost on the way (``feeds check --strict`` refuses it too).
    warning: bool = False

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        message = f"warning: {self.message}" if self.warning else self.message
        if self.field:
            return f"{where}: {self.field}: {message}"
        return f"{where}: {message}"


class ContentError(FeedsError):
    """The content directory has one or more problems; nothing was built."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class HeldBack(ContentError):
    """``feeds build --strict``: files with problems would be held back; nothing was built."""


class UsageError(FeedsError):
    """A command was asked for something it cannot do (a file exists, an id is unknown)."""
