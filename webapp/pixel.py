"""The built-in republication pixel: counted in memory, written in batches.

A hit costs the request a dictionary update under a lock: the counts reach
the state database from a thread of the worker (:mod:`webapp.batch`), once a
second, in one transaction that adds them to what is there (so any number of
workers count into the same rows, and none of their hits is lost or counted
twice), and at the worker's graceful stop.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from feeds.state.database import State
from feeds.state.pixels import ORIGINS_PER_DAY
from feeds.state.rows import OTHER
from webapp.batch import EXIT_DEADLINE, Batch

#: A transparent 1x1 GIF, the smallest image every mail client and browser shows.
GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
#: The longest host name the DNS allows.
MAX_HOST = 253
#: What a host name (or an IPv6 address, unbracketed) may be made of, as
#: browsers send it in a Referer (an IDN as its ``xn--`` form).
_HOST = re.compile(r"[a-z0-9._:-]+")
#: Host names a page is previewed on, never a partner's (``*.localhost`` too).
PREVIEW_HOSTS = frozenset({"localhost"})


def origin(referer: str) -> str | None:
    """``https://partner.example`` of a Referer; "unknown" without one (or
    one that is not a web page's); None for one whose host no host can have
    (not counted). A host is written one way however it was spelled: lower
    case, no trailing dot, an IPv4 address in dotted decimal (``2130706433``
    and ``0x7f000001`` are ``127.0.0.1``, as browsers read them)."""
    try:
        parts = urlsplit(referer.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None if referer.strip() else "unknown"
    if parts.scheme not in ("http", "https"):
        return "unknown"
    if not host:
        return None
    host = host.rstrip(".")
    if not host or len(host) > MAX_HOST or not _HOST.fullmatch(host):
        return None  # (a longer name is no host's: the DNS allows 253 characters)
    address = _address(host)
    if address is not None:
        host = str(address)
    elif ":" in host:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}" + (f":{port}" if port and port != default else "")


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a host spells, in any of the forms a browser reads as
    one (``127.1``, ``2130706433``, ``0x7f.1``), or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if ":" in host or not re.fullmatch(r"[0-9a-fx.]+", host) or not host[-1:].isalnum():
        return None
    last = host.rsplit(".", 1)[-1]
    if not (last.isdigit() or last.startswith("0x")):
        return None  # a name whose last label is not a number (``cafe.bad``)
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def ignored(found: str, own_host: str | None) -> bool:
    """A hit from our own pages or from a preview (a loopback or unspecified
    address, ``localhost``, however spelled): not a republication."""
    host = urlsplit(found).hostname if found != "unknown" else None
    if host is None:
        return False
    own = (own_host or "").lower().rstrip(".")
    if host == own or host in PREVIEW_HOSTS or host.endswith(".localhost"):
        return True
    address = _address(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address is not None and (address.is_loopback or address.is_unspecified)


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
        #: The origins each (pixel, day) of the counts names.
        self._origins: dict[tuple[str, str], set[str]] = {}

    def hit(self, pixel: str, found: str, now: datetime, day: str, alert: bool = False) -> None:
        """Count a hit (``alert``: on a withdrawn story, since its
        withdrawal: a compliance alert too); returns at once. Beyond
        :data:`feeds.state.pixels.ORIGINS_PER_DAY` origins of an article a day, the
        hit counts as "other"."""
        moment = now.timestamp()
        with self._lock:
            named = self._origins.setdefault((pixel, day), set())
            if found not in named and len(named) >= ORIGINS_PER_DAY:
                found = OTHER
            key = (pixel, found, day)
            if key in self._counts or self._adding():
                named.add(found)
                _add(self._counts, key, 1, moment, moment)
                if alert:
                    _add(self._alerts, (pixel, found), 1, moment, moment)
        self._started()

    def _take(self) -> tuple[Counts, Alerts] | None:
        counted, self._counts = self._counts, {}
        alerted, self._alerts = self._alerts, {}
        self._origins = {}
        return (counted, alerted) if counted or alerted else None

    def _put_back(self, batch: tuple[Counts, Alerts]) -> None:
        counted, alerted = batch
        for key, (count, first, last) in counted.items():
            _add(self._counts, key, count, first, last)
            self._origins.setdefault((key[0], key[2]), set()).add(key[1])
        for pair, (count, first, last) in alerted.items():
            _add(self._alerts, pair, count, first, last)

    def _write(self, batch: tuple[Counts, Alerts]) -> None:
        self.state().count_hits(*batch)

    def _size(self, batch: tuple[Counts, Alerts]) -> int:
        return len(batch[0]) + len(batch[1])

    def _count(self) -> int:
        return len(self._counts) + len(self._alerts)
