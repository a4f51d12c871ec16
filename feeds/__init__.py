"""Publish Markdown news articles as RSS, Atom and JSON Feed."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("feeds")
except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
    __version__ = "0"
