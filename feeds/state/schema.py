"""The state database's tables, and each version of its schema (:data:`MIGRATIONS`)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

METADATA = MetaData()


schema_version = Table("schema_version", METADATA, Column("version", Integer, nullable=False))


#: The version of each feed hubs were last told of: one row per feed URL.
#: Whoever moves a row to a new digest is the one who tells the hub.
topics = Table(
    "topics",
    METADATA,
    Column("url", String(2000), primary_key=True),
    #: What the feed is built from (:meth:`feeds.outputs.plan.Plan.key`): while it is
    #: the same, so are the bytes, and the feed need not be built to know.
    Column("key", String(64), nullable=False),
    #: The digest of its bytes; "" while only the key is known (a first start).
    Column("digest", String(64), nullable=False),
    #: The moment of that content version, in seconds: an older version (a
    #: worker that has not reloaded yet) never takes the row back.
    Column("as_of", Float, nullable=False),
)


#: Pings to deliver, kept until the hub takes them (or they are given up).
pings = Table(
    "pings",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hub", String(2000), nullable=False),
    Column("topic", String(2000), nullable=False),
    Column("attempts", Integer, nullable=False),
    #: When it is next tried, in seconds since the epoch; while a process is
    #: sending it, the end of that process's lease (if it dies mid-send,
    #: another takes the ping over when the lease ends).
    Column("next_try", Float, nullable=False),
    Column("done", Boolean, nullable=False),
    #: Why the last try failed.
    Column("error", Text, nullable=True),
)


#: Partner outlets (and editors) who may fetch what is behind a token.
partners = Table(
    "partners",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    #: "early-access" (the partner feeds) or "editor" (those and the desk).
    Column("scope", String(40), nullable=False),
    Column("created", Float, nullable=False),
    #: From then on its tokens are refused; None: never.
    Column("expires", Float, nullable=True),
    #: When it was revoked; None: it was not.
    Column("revoked", Float, nullable=True),
)


#: Tokens, each ``fp_<id>.<secret>``: only a SHA-256 of the secret is kept.
tokens = Table(
    "tokens",
    METADATA,
    Column("id", String(40), primary_key=True),
    Column("partner", Integer, ForeignKey("partners.id"), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created", Float, nullable=False),
    #: A rotated-out token stays valid until then; None: no end.
    Column("valid_until", Float, nullable=True),
)


#: One row per request for what is behind a token, granted or not.
audit = Table(
    "audit",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False, index=True),
    #: The partner's name and the token's id, when the token named one.
    Column("partner", String(200), nullable=True, index=True),
    Column("token", String(40), nullable=True),
    Column("path", String(2000), nullable=False),
    Column("status", Integer, nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("client", String(100), nullable=False),
    Column("agent", String(500), nullable=False),
    #: "ok", or why not: "no token", "unknown token", "revoked", "expired", ...
    Column("outcome", String(40), nullable=False),
)


#: Requests refused for want of a valid token, counted per hour, outcome and
#: client (and the partner and token, when the token was one of ours): a
#: client refused a million times an hour is one row, not a million.
refusals = Table(
    "refusals",
    METADATA,
    #: The hour's start, in seconds since the epoch.
    Column("hour", Float, primary_key=True),
    Column("outcome", String(40), primary_key=True),
    #: The client's address; "other" beyond :data:`REFUSED_CLIENTS` an hour.
    Column("client", String(100), primary_key=True),
    #: The partner and the token id, when the token was one of ours; else "".
    Column("partner", String(200), primary_key=True),
    Column("token", String(40), primary_key=True),
    Column("requests", Integer, nullable=False),
    Column("first", Float, nullable=False),
    Column("last", Float, nullable=False),
    #: The first request's status, bytes sent, path and user agent (clipped).
    Column("status", Integer, nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("path", String(500), nullable=False),
    Column("agent", String(500), nullable=False),
)


#: Hits of the built-in republication pixel: per article, origin and day.
hits = Table(
    "hits",
    METADATA,
    #: The pixel's name: a digest of the article's id (:func:`feeds.urls.pixel`).
    Column("pixel", String(64), primary_key=True),
    #: ``https://partner.example``, from the Referer; "unknown" without one.
    Column("origin", String(500), primary_key=True),
    #: ``2026-11-27``, in the site's time zone.
    Column("day", String(10), primary_key=True),
    Column("hits", Integer, nullable=False),
    Column("first", Float, nullable=False),
    Column("last", Float, nullable=False),
)


#: What a CDN in front of the app was last purged for: one row per site.
#: Whoever moves it to a new version is the one who purges.
purges = Table(
    "purges",
    METADATA,
    Column("site", String(2000), primary_key=True),
    #: :func:`feeds.publish.cdn.fingerprint` of the version served.
    Column("version", String(64), nullable=False),
    #: Its ``Last-Modified``, in seconds: an older version never wins.
    Column("as_of", Float, nullable=False),
)


#: Each app worker that tells of changes, and the content version it serves:
#: its heartbeat (:mod:`feeds.publish.notify`). A row not refreshed for
#: :data:`feeds.publish.notify.DEAD_AFTER` seconds is a dead worker, counted for nothing.
workers = Table(
    "workers",
    METADATA,
    #: ``host:pid:random``, new at each start of a worker.
    Column("id", String(200), primary_key=True),
    #: The site's ``base_url``: workers of other sites sharing the database
    #: do not count.
    Column("site", String(2000), nullable=False),
    #: :func:`feeds.publish.cdn.fingerprint` of the version it serves.
    Column("version", String(64), nullable=False),
    #: That version's ``Last-Modified``, in seconds: versions are ordered by it.
    Column("as_of", Float, nullable=False),
    #: Its last heartbeat, in seconds since the epoch.
    Column("seen", Float, nullable=False),
)


#: Notifications owed (hub pings, CDN purges), kept until sent (never given up).
notices = Table(
    "notices",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    #: "ping" or "purge" (:class:`feeds.publish.notify.Kind`).
    Column("kind", String(20), nullable=False),
    #: Who is told: the hub's URL, the CDN's purge URL.
    Column("party", String(2000), nullable=False),
    #: What of: the feed's URL, or the surrogate keys (space-separated).
    Column("subject", Text, nullable=False),
    #: Owed only once every live worker of this site serves the version
    #: (``version`` at ``as_of``, or a newer one); None: owed at once.
    Column("site", String(2000), nullable=True),
    Column("version", String(64), nullable=True),
    Column("as_of", Float, nullable=True),
    Column("attempts", Integer, nullable=False),
    #: When it is next tried, in seconds since the epoch; while someone is
    #: sending it, the end of that sender's lease (an app worker renews it
    #: with each heartbeat: if it dies, another takes the notice over).
    Column("next_try", Float, nullable=False),
    #: The worker sending it now (its lease), if any.
    Column("holder", String(200), nullable=True),
    Column("done", Boolean, nullable=False),
    #: Why the last try failed.
    Column("error", Text, nullable=True),
    Column("recorded", Float, nullable=False),
)


#: What partners were last told of each article (:mod:`feeds.publish.stream`): one
#: row per site and article. Whoever moves a row to a new revision is the one
#: who appends the change to the stream.
told = Table(
    "told",
    METADATA,
    Column("site", String(2000), primary_key=True),
    Column("article", String(2000), primary_key=True),
    #: Counts the changes told of the article, from 1.
    Column("revision", Integer, nullable=False),
    #: What a partner sees of it (:class:`feeds.publish.events.Standing`), as JSON.
    Column("standing", Text, nullable=False),
    #: The ``Last-Modified`` of the version it was told from, in seconds: an
    #: older version (a worker that has not reloaded yet) never takes it back.
    Column("as_of", Float, nullable=False),
)


#: The change stream: append-only, one row per change told to partners.
changes = Table(
    "changes",
    METADATA,
    #: The sequence number: rows are appended one transaction at a time
    #: (:meth:`State.tell`), so numbers commit in order and a reader never
    #: skips one committed later.
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("site", String(2000), nullable=False, index=True),
    Column("article", String(2000), nullable=False),
    #: The article's :attr:`told.revision` this change made: one change, one row.
    Column("revision", Integer, nullable=False),
    Column("event", String(20), nullable=False),
    #: When it happened, in seconds since the epoch.
    Column("at", Float, nullable=False),
    Column("url", String(2000), nullable=False),
    #: The ninjs item, as JSON.
    Column("item", Text, nullable=False),
    UniqueConstraint("site", "article", "revision", name="changes_once"),
)


#: Each partner's webhook endpoint, if it has one.
endpoints = Table(
    "endpoints",
    METADATA,
    Column("partner", String(200), primary_key=True),
    Column("url", String(2000), nullable=False),
    #: ``whsec_<base64>``: the key the requests are signed with.
    Column("secret", String(200), nullable=False),
    Column("created", Float, nullable=False),
    #: When it was turned off (a 410, or ``--off``), and why; None: it is on.
    Column("off", Float, nullable=True),
    Column("why", Text, nullable=True),
)


#: Webhook deliveries: one row per change and partner (and per resend).
deliveries = Table(
    "deliveries",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partner", String(200), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    #: The ``webhook-id``: ``msg_<seq>``, or ``msg_<seq>_<id>`` for a resend.
    Column("message", String(200), nullable=False),
    Column("attempts", Integer, nullable=False),
    #: When it is next tried; while a sender holds it, the end of its lease.
    Column("next_try", Float, nullable=False),
    Column("holder", String(200), nullable=True),
    Column("done", Boolean, nullable=False),
    #: The last answer's status, if any; why the last try failed, if it did.
    Column("status", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("recorded", Float, nullable=False),
    #: When the endpoint took it (a 2xx), if it did.
    Column("delivered", Float, nullable=True),
)


#: Compliance alerts: pixel hits on a withdrawn story from its withdrawal on,
#: per article and origin.
alerts = Table(
    "alerts",
    METADATA,
    Column("pixel", String(64), primary_key=True),
    Column("origin", String(500), primary_key=True),
    Column("hits", Integer, nullable=False),
    Column("first", Float, nullable=False),
    Column("last", Float, nullable=False),
)


#: Each version of the schema, from the first: the tables it adds.
MIGRATIONS: list[tuple[Table, ...]] = [
    (topics, pings),
    (partners, tokens, audit, hits),
    (purges,),
    (workers, notices),
    (refusals,),
    (told, changes, endpoints, deliveries, alerts),
]
