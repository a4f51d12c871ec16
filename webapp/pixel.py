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
from typing import Any
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


Counts = dict[tuple[str, str, str], tuple[int, float, float]]
#: Hits on withdrawn stories since their withdrawal: (pixel, origin) -> (hits, first, last).
Alerts = dict[tuple[str, str], tuple[int, float, float]]


def _add(
    into: dict[Any, tuple[int, float, float]], key: Any, count: int, first: float, last: float
) -> None:
    more, earliest, latest = into.get(key, (0, first, last))
    into[key] = (count + more, min(first, earliest), max(last, latest))


class Pixels(Batch[tuple[Counts, Alerts]]):
    """Hits counted in this process, not yet written (:mod:`webapp.batch`):
    (pixel, origin, day) -> (hits, first, last), and the compliance alerts
    among them. Its size is the number of such keys, however many hits each
    counts."""

    what = "pixel counts"

    def __init__(
        self, state: Callable[[], State], logger: logging.Logger, deadline: float = EXIT_DEADLINE
    ) -> None:
        super().__init__(logger, deadline)
        self.state = state
        self._counts: Counts = {}
        self._alerts: Alerts = {}

    def hit(self, pixel: str, found: str, now: datetime, day: str, alert: bool = False) -> None:
        """Count a hit (``alert``: on a withdrawn story, since its
        withdrawal: a compliance alert too); returns at once."""
        moment = now.timestamp()
        key = (pixel, found, day)
        with self._lock:
            if key in self._counts or self._adding():
                _add(self._counts, key, 1, moment, moment)
                if alert:
                    _add(self._alerts, (pixel, found), 1, moment, moment)
        self._started()

    def _take(self) -> tuple[Counts, Alerts] | None:
        counted, self._counts = self._counts, {}
        alerted, self._alerts = self._alerts, {}
        return (counted, alerted) if counted or alerted else None

    def _put_back(self, batch: tuple[Counts, Alerts]) -> None:
        counted, alerted = batch
        for key, (count, first, last) in counted.items():
            _add(self._counts, key, count, first, last)
        for pair, (count, first, last) in alerted.items():
            _add(self._alerts, pair, count, first, last)

    def _write(self, batch: tuple[Counts, Alerts]) -> None:
        self.state().count_hits(*batch)

    def _size(self, batch: tuple[Counts, Alerts]) -> int:
        return len(batch[0]) + len(batch[1])

    def _count(self) -> int:
        return len(self._counts) + len(self._alerts)
