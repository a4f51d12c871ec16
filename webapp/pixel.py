"""The built-in republication pixel: counted in memory, written in batches.

A hit costs the request a dictionary update under a lock: the counts reach
the state database from a thread of the worker (:mod:`webapp.batch`), once a
second, in one transaction that adds them to what is there (so any number of
workers count into the same rows, and none of their hits is lost or counted
twice), and at the worker's graceful stop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from feeds.state import State
from webapp.batch import EXIT_DEADLINE, Batch

#: A transparent 1x1 GIF, the smallest image every mail client and browser shows.
GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
#: The longest host name the DNS allows.
MAX_HOST = 253
#: Hosts a page is previewed on, never a partner's.
PREVIEW_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})


def origin(referer: str) -> str:
    """``https://partner.example`` of a Referer; "unknown" without a usable one."""
    try:
        parts = urlsplit(referer.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        return "unknown"
    if parts.scheme not in ("http", "https") or not host or len(host) > MAX_HOST:
        return "unknown"  # (a longer name is no host's: the DNS allows 253 characters)
    default = {"http": 80, "https": 443}[parts.scheme]
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}" + (f":{port}" if port and port != default else "")


def ignored(found: str, own_host: str | None) -> bool:
    """A hit from our own pages or from a preview: not a republication."""
    host = urlsplit(found).hostname if found != "unknown" else None
    return host is not None and (host == own_host or host in PREVIEW_HOSTS)


class Pixels(Batch[dict[tuple[str, str, str], tuple[int, float, float]]]):
    """Hits counted in this process, not yet written (:mod:`webapp.batch`):
    (pixel, origin, day) -> (hits, first, last). Its size is the number of
    such keys, however many hits each counts."""

    what = "pixel counts"

    def __init__(
        self, state: Callable[[], State], logger: logging.Logger, deadline: float = EXIT_DEADLINE
    ) -> None:
        super().__init__(logger, deadline)
        self.state = state
        self._counts: dict[tuple[str, str, str], tuple[int, float, float]] = {}

    def hit(self, pixel: str, found: str, now: datetime, day: str) -> None:
        """Count a hit; returns at once."""
        moment = now.timestamp()
        key = (pixel, found, day)
        with self._lock:
            if key in self._counts or self._adding():
                count, first, last = self._counts.get(key, (0, moment, moment))
                self._counts[key] = (count + 1, min(first, moment), max(last, moment))
        self._started()

    def _take(self) -> dict[tuple[str, str, str], tuple[int, float, float]] | None:
        counted, self._counts = self._counts, {}
        return counted or None

    def _put_back(self, batch: dict[tuple[str, str, str], tuple[int, float, float]]) -> None:
        for key, (count, first, last) in batch.items():
            more, earliest, latest = self._counts.get(key, (0, first, last))
            self._counts[key] = (count + more, min(first, earliest), max(last, latest))

    def _write(self, batch: dict[tuple[str, str, str], tuple[int, float, float]]) -> None:
        self.state().count_hits(batch)

    def _size(self, batch: dict[tuple[str, str, str], tuple[int, float, float]]) -> int:
        return len(batch)

    def _count(self) -> int:
        return len(self._counts)
