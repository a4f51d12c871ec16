"""Signed webhooks: each change of the stream POSTed to every partner with
an endpoint, as the Standard Webhooks specification says.

The body is the change as the stream has it; the headers ``webhook-id``
(``msg_<seq>``: the same for every try, a receiver's key against
duplicates), ``webhook-timestamp`` (seconds) and ``webhook-signature``
(``v1,`` and the base64 HMAC-SHA256, keyed with the secret's bytes, of
``id.timestamp.body``).

Exactly once per change and partner: the delivery is owed in the
transaction that appends the change (:meth:`feeds.state.database.State.tell`), and
a sender leases it (:meth:`feeds.state.database.State.take_delivery`), so however
many workers and servers run, one sends it. In order per partner: only a
partner's first delivery owed is ever taken, so a later change waits for an
earlier one being retried. Each partner is served by a thread of its own,
each request under one deadline (:mod:`feeds.publish.exchange`): a slow or dead
receiver delays only its own deliveries. A non-2xx answer or none is
tried again after :data:`BACKOFF` seconds, then twice as long each time,
for :data:`GIVE_UP_AFTER` seconds; a 410 turns the endpoint off.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from feeds.publish import exchange, stream
from feeds.state.database import State
from feeds.state.rows import Delivery

PREFIX = "whsec_"
#: Seconds before the first retry; each further one waits twice as long.
BACKOFF = 10.0
#: Seconds after which a change no endpoint took is given up.
GIVE_UP_AFTER = 86_400.0
#: Seconds one request may take, all of it (connecting, sending, the answer).
DEADLINE = 5.0
#: Seconds a sender holds a delivery: well beyond its deadline, so only a
#: dead sender's lease runs out (and another sends it).
LEASE = 30.0
#: Partners served at once by one process.
THREADS = 8

logger = logging.getLogger("feeds.webhooks")


def new_secret() -> str:
    """A signing secret to show once: ``whsec_`` and 32 random bytes in base64."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, message: str, timestamp: int, body: bytes) -> str:
    """``webhook-signature``: ``v1,<base64 HMAC-SHA256 of id.timestamp.body>``."""
    signed = f"{message}.{timestamp}.".encode() + body
    mac = hmac.new(key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def is_endpoint(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def is_secret(secret: str) -> bool:
    try:
        return secret.startswith(PREFIX) and len(key(secret)) >= 24
    except (binascii.Error, ValueError):
        return False


@dataclass(frozen=True)
class Tried:
    """What became of one try."""

    partner: str
    seq: int
    status: int | None
    error: str | None
    #: When it is tried again; None: taken, or given up.
    retry: float | None = None
    off: bool = False


def next_try(attempts: int, now: float, backoff: float) -> float:
    """When a delivery that failed ``attempts`` times is tried again."""
    return now + backoff * float(2 ** min(attempts - 1, 30))


def send(
    state: State, one: Delivery, wall: Callable[[], float], backoff: float, deadline: float
) -> Tried:
    """POST ``one``, signed, and record what came of it."""
    body = stream.Change.of(one.change).body()
    stamp = int(wall())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "feeds-webhooks",
        "webhook-id": one.message,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(one.secret, one.message, stamp, body),
    }
    status: int | None = None
    try:
        answer = exchange.request("POST", one.url, headers, body, deadline)
        status = answer.status
        error = None if 200 <= status < 300 else f"{status} {answer.reason}".strip()
    except exchange.ExchangeError as e:
        error = str(e)
    now = wall()
    off = status == 410
    retry = None
    if error is not None and not off:
        retry = next_try(one.attempts + 1, now, backoff)
        if retry > one.recorded + GIVE_UP_AFTER:
            retry, error = None, f"given up after a day: {error}"
    state.delivered_to(one, status, error, now, retry, off)
    tried = Tried(one.partner, one.change.seq, status, error, retry, off)
    if error is None:
        logger.info("webhook: change %d taken by %s", one.change.seq, one.partner)
    elif off:
        logger.warning("webhook: %s answered 410 Gone: its endpoint is off", one.partner)
    elif retry is not None:
        logger.warning(
            "webhook: change %d to %s: %s; trying again in %.0f s",
            one.change.seq,
            one.partner,
            error,
            retry - now,
        )
    else:
        logger.error("webhook: change %d to %s: %s", one.change.seq, one.partner, error)
    return tried


def deliver(
    state: State,
    holder: str,
    wall: Callable[[], float],
    backoff: float = BACKOFF,
    deadline: float = DEADLINE,
    partner: str | None = None,
    within: float | None = None,
) -> list[Tried]:
    """Send, in order, every delivery owed now (to ``partner``), one
    partner after another, starting no request after ``within`` seconds:
    what ``feeds build`` and ``feeds partner resend`` do (what is left is
    the app's to send). The app serves partners side by side (:class:`Sender`)."""
    tried: list[Tried] = []
    end = wall() + within if within is not None else None
    while (end is None or wall() < end) and (
        taken := state.take_delivery(wall(), LEASE, holder, partner)
    ):
        for one in taken:
            tried.append(send(state, one, wall, backoff, deadline))
        if any(t.error is not None for t in tried[-len(taken) :]):
            break  # what failed waits for its retry
    return tried


class Sender:
    """Sends what is owed, each partner in a thread of its own, so that one
    slow receiver holds up only its own changes."""

    def __init__(
        self,
        state: Callable[[], State],
        holder: str,
        wall: Callable[[], float],
        backoff: float = BACKOFF,
        deadline: float = DEADLINE,
    ) -> None:
        self.state = state
        self.holder = holder
        self.wall = wall
        self.backoff = backoff
        self.deadline = deadline
        self._busy: set[str] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="feeds-webhook")

    def work(self) -> float | None:
        """Start a thread for each partner with a delivery due and none
        under way here; when the next delivery is due (None: none owed)."""
        state = self.state()
        with self._lock:
            busy = set(self._busy)
        for one in state.take_delivery(self.wall(), LEASE, self.holder, skip=busy):
            with self._lock:
                self._busy.add(one.partner)
            self._pool.submit(self._serve, one)
        return state.next_delivery()

    def _serve(self, first: Delivery) -> None:
        """Send ``first``, then that partner's next ones while they go through."""
        state = self.state()
        try:
            one: Delivery | None = first
            while one is not None:
                tried = send(state, one, self.wall, self.backoff, self.deadline)
                if tried.error is not None:
                    return
                taken = state.take_delivery(self.wall(), LEASE, self.holder, one.partner)
                one = taken[0] if taken else None
        except Exception:  # never let the thread die silently
            logger.exception("webhook: sending to %s failed", first.partner)
        finally:
            with self._lock:
                self._busy.discard(first.partner)
