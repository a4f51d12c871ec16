"""A CDN in front of the app, purged on publish: which of its keys a change
touches, and the ``PURGE`` requests that remove them.

Every public response of the app names its keys (:func:`feeds.outputs.plan.Plan.surrogate_keys`):
the listing it belongs to, the articles it shows, or its own file. A change
is the set of files whose inputs differ between two plans; purging the first
key of each removes them, and everything that shares a listing with them
(its other pages and feeds). The request is Varnish's with the ``xkey``
module (``cdn/varnish.vcl``): ``PURGE`` with the keys in an ``xkey`` header.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from feeds import urls, version
from feeds.digest import digest
from feeds.errors import FeedsError
from feeds.outputs import headers
from feeds.outputs.plan import Plan
from feeds.publish import exchange

#: Seconds a purge may take in all (every request of it).
TIMEOUT = 5.0
#: Characters of keys in one request (Varnish refuses request headers over 8 kB).
BATCH = 4000


class PurgeError(FeedsError):
    """The CDN did not take a purge."""


#: An image file as a CDN may hold it: its size and modification time.
Stamp = tuple[int, int]


def image_stamps(root: Path, plan: Plan) -> dict[str, Stamp]:
    """The public images of ``plan`` under ``root``, each with its stamp (an
    image replaced under the same name has a new one); those gone are left out."""
    found = {}
    for name in plan.images:
        try:
            stat = (root / urls.image(name)).stat()
        except OSError:
            continue
        found[name] = (stat.st_size, stat.st_mtime_ns)
    return found


def fingerprint(plan: Plan, images: Mapping[str, Stamp]) -> str:
    """What a CDN holds of the site, as one digest: the same in every worker
    of a machine that serves the same version."""
    files = sorted((path, plan.key(path)) for path in plan.paths())
    return digest(repr((files, sorted(images.items()))).encode())


def changed_keys(
    old: Plan, new: Plan, was: Mapping[str, Stamp], now: Mapping[str, Stamp]
) -> tuple[str, ...]:
    """The keys to purge when ``new`` replaces ``old``, sorted: the key of
    each public file added, removed or built from other inputs, of each image
    added, removed or replaced, and "not found" when the site gained any."""
    before, after = set(old.paths()), set(new.paths())
    found = set()
    for path in before | after:
        if path in before and path in after and old.key(path) == new.key(path):
            continue
        for plan in (old, new):
            if path in plan.outputs:
                found.add(plan.surrogate_keys(path)[0])
    images = {name for name in was.keys() | now.keys() if was.get(name) != now.get(name)}
    found.update(headers.file_key(urls.image(name)) for name in images)
    if after - before or now.keys() - was.keys():
        found.add(headers.MISSING_KEY)
    return tuple(sorted(found))


def batches(keys: Sequence[str], size: int = BATCH) -> Iterator[str]:
    """``keys`` as ``xkey`` header values of at most ``size`` characters."""
    current: list[str] = []
    length = 0
    for key in keys:
        if current and length + len(key) + 1 > size:
            yield " ".join(current)
            current, length = [], 0
        current.append(key)
        length += len(key) + 1
    if current:
        yield " ".join(current)


def is_purge_url(url: str) -> bool:
    """Can :func:`purge` send to ``url``: ``http(s)://HOST[:PORT]/``?"""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port out of range raises)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def purge(url: str, keys: Sequence[str], timeout: float = TIMEOUT) -> int:
    """Ask the CDN at ``url`` to drop every object with one of ``keys``, all
    within ``timeout`` seconds (:mod:`feeds.publish.exchange`); the number of requests
    it took. :class:`PurgeError` when it refuses or is down."""
    if not is_purge_url(url):
        raise PurgeError(f"the purge URL must be http(s)://HOST[:PORT]/, got {url!r}")
    end = time.monotonic() + timeout
    sent = 0
    for value in batches(keys):
        left = end - time.monotonic()
        try:
            if left <= 0:
                raise exchange.ExchangeError(exchange.TIMED_OUT)
            answer = exchange.request(
                "PURGE",
                url,
                {"xkey": value, "User-Agent": f"feeds/{version()} (CDN purge)"},
                None,
                left,
            )
        except exchange.ExchangeError as e:
            raise PurgeError(f"could not purge {url}: {e}") from e
        if answer.status != 200:
            raise PurgeError(f"{url} refused the purge: {answer.status} {answer.reason}")
        sent += 1
    return sent
