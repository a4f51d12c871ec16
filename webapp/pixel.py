"""The built-in republication pixel: counted in memory, written in batches.

A hit costs the request a dictionary update under a lock: the counts reach
the state database from a thread of the worker, once a second, in one
transaction that adds them to what is there (so any number of workers count
into the same rows, and none of their hits is lost or counted twice).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from feeds.state import State, StateError

#: A transparent 1x1 GIF, the smallest image every mail client and browser shows.
GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
#: Seconds between writes.
FLUSH = 1.0
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


class Pixels:
    """Hits counted in this process, not yet written."""

    def __init__(self, state: Callable[[], State], logger: logging.Logger) -> None:
        self.state = state
        self.logger = logger
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, str], tuple[int, float, float]] = {}
        self._running = 0  # the process whose thread runs
        self._pid = os.getpid()

    def hit(self, pixel: str, found: str, now: datetime, day: str) -> None:
        """Count a hit; returns at once."""
        moment = now.timestamp()
        key = (pixel, found, day)
        with self._lock:
            if self._pid != os.getpid():  # forked: what the parent counted is its own
                self._counts, self._pid = {}, os.getpid()
            count, first, last = self._counts.get(key, (0, moment, moment))
            self._counts[key] = (count + 1, min(first, moment), max(last, moment))
        if self._running != os.getpid():
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._running == os.getpid():
                return
            self._running = os.getpid()
        threading.Thread(
            target=_run, args=(weakref.ref(self),), daemon=True, name="feeds-pixels"
        ).start()
        atexit.register(self.flush)

    def flush(self) -> None:
        """Write what was counted; on failure keep it for the next try."""
        with self._lock:
            counted, self._counts = self._counts, {}
        if not counted:
            return
        try:
            self.state().count_hits(counted)
        except StateError as e:
            self.logger.error("could not write %d pixel counts: %s", len(counted), e)
            with self._lock:
                for key, (count, first, last) in counted.items():
                    more, earliest, latest = self._counts.get(key, (0, first, last))
                    self._counts[key] = (count + more, min(first, earliest), max(last, latest))


def _run(pixels: weakref.ref[Pixels]) -> None:
    while True:
        time.sleep(FLUSH)
        found = pixels()
        if found is None:
            return
        found.flush()
        del found
