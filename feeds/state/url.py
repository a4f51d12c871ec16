"""Which state database a process uses (:mod:`feeds.state.database`), without
loading the database code: ``feeds build`` with nothing to tell needs none."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def default_url(environ: Mapping[str, str], content: Path | None = None) -> str:
    """``$FEEDS_DATABASE_URL`` if it is PostgreSQL's, else SQLite at
    ``$FEEDS_STATE``, else at ``state/feeds.db`` beside the content directory
    (``content``, default ``$FEEDS_CONTENT``, else ``./content``): never a
    file that depends on the working directory, so that ``feeds partner add``
    run anywhere and a server started elsewhere (``gunicorn --chdir``,
    systemd's ``WorkingDirectory``) use the same database. ``environ``: the
    environment, as the edge (the command, the app) read it."""
    configured = environ.get("FEEDS_DATABASE_URL", "")
    if configured.startswith(("postgresql://", "postgres://", "postgresql+")):
        return configured
    named = environ.get("FEEDS_STATE")
    if named:
        return "sqlite:///" + str(Path(named).absolute())
    return "sqlite:///" + str(folder(environ, content) / "feeds.db")


def folder(environ: Mapping[str, str], content: Path | None = None) -> Path:
    """``state/`` beside the content directory (``content``, default
    ``$FEEDS_CONTENT``, else ``./content``)."""
    root = content if content is not None else Path(environ.get("FEEDS_CONTENT") or "content")
    return root.resolve().parent / "state"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL; None for another database."""
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def where(url: str) -> str:
    """The database for people: a SQLite file's path, or a server's address
    without its user and password."""
    file = sqlite_file(url)
    if file is not None:
        return str(file)
    return url.split("@")[-1] if "@" in url else url


def describe(url: str) -> str:
    """:func:`where`, saying so when a SQLite file is not there yet."""
    file = sqlite_file(url)
    return f"{file} (not made yet)" if file is not None and not file.is_file() else where(url)


def configured(url: str) -> bool:
    """Is there a state database to use, without making one: ``url``
    (:func:`default_url`) is PostgreSQL's, or names a SQLite file that is
    there (``feeds partner add``, or an app with a hub, made it)?"""
    if not url.startswith("sqlite:///"):
        return True
    return Path(url.removeprefix("sqlite:///")).is_file()
