"""Publish Markdown news articles as RSS, Atom and JSON Feed."""

from functools import cache


@cache
def version() -> str:
    """This package's version (read on first use: importlib.metadata is slow to import)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("feeds")
    except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        return "0"
