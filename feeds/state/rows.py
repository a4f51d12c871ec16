"""The rows the state database hands out and takes: plain frozen values, no
database code, so that what shows them (the desk's page) needs none."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

#: The client, or the origin, that stands for those beyond a cap.
OTHER = "other"


@dataclass(frozen=True)
class Topic:
    """What hubs were last told of one feed."""

    key: str
    digest: str
    as_of: float


@dataclass(frozen=True)
class Ping:
    """A notice this process holds the lease of: it is the one to send it.
    For a ping, ``hub`` is the hub and ``topic`` the feed; for a purge, the
    CDN's purge URL and the keys, space-separated."""

    id: int
    hub: str
    topic: str
    attempts: int
    kind: str = "ping"
    #: Whether it waited for every live worker to serve its version.
    waited: bool = False


@dataclass(frozen=True)
class Worker:
    """An app worker's heartbeat: the version it serves, and when it said so."""

    id: str
    site: str
    version: str
    as_of: float
    seen: float


@dataclass(frozen=True)
class Telling:
    """A change to append to the stream (:meth:`State.tell`)."""

    article: str
    #: The article's revision it was compared with; 0: never told of.
    revision: int
    event: str
    #: The standing it moves to, JSON.
    standing: str
    at: float
    url: str
    #: The ninjs item, JSON.
    item: str


@dataclass(frozen=True)
class StreamRow:
    seq: int
    event: str
    article: str
    at: float
    url: str
    #: JSON.
    item: str


@dataclass(frozen=True)
class Endpoint:
    partner: str
    url: str
    secret: str
    off: float | None
    why: str | None


@dataclass(frozen=True)
class Delivery:
    """A webhook delivery this process holds the lease of."""

    id: int
    partner: str
    message: str
    attempts: int
    recorded: float
    url: str
    secret: str
    change: StreamRow


@dataclass(frozen=True)
class DeliveryRow:
    partner: str
    seq: int
    event: str
    article: str
    message: str
    attempts: int
    status: int | None
    done: bool
    error: str | None
    recorded: float
    delivered: float | None


@dataclass(frozen=True)
class Gate:
    """A content version of a site: what every live worker must serve (or a
    newer one) before a notice owed for it is sent."""

    site: str
    version: str
    as_of: float


@dataclass(frozen=True)
class Token:
    """What is kept of a token: its id and the SHA-256 of its secret."""

    id: str
    sha256: str


@dataclass(frozen=True)
class Partner:
    name: str
    scope: str
    created: float
    expires: float | None
    revoked: float | None
    #: (token id, valid until or None), oldest first.
    tokens: tuple[tuple[str, float | None], ...]


@dataclass(frozen=True)
class AuditEntry:
    at: float
    partner: str | None
    token: str | None
    path: str
    status: int
    bytes: int
    client: str
    agent: str
    outcome: str


@dataclass(frozen=True, order=True)
class RefusalKey:
    """What refused requests are counted by."""

    #: The hour's start, in seconds since the epoch.
    hour: float
    outcome: str
    client: str
    #: The partner and token id when the token was one of ours, else "".
    partner: str
    token: str


@dataclass(frozen=True)
class Refusal:
    """Refused requests of one :class:`RefusalKey`: how many, when, and the
    first one's status, bytes, path and user agent."""

    requests: int
    first: float
    last: float
    status: int
    bytes: int
    path: str
    agent: str

    def add(self, other: Refusal) -> Refusal:
        return dataclasses.replace(
            self,
            requests=self.requests + other.requests,
            first=min(self.first, other.first),
            last=max(self.last, other.last),
        )


@dataclass(frozen=True)
class RefusalRow:
    key: RefusalKey
    counts: Refusal
