"""State that is not content: which feed versions hubs were told of, which
content version each app worker serves and the notifications still owed
(:mod:`feeds.publish.notify`), partners and their tokens, the audit of what they
fetched, republication counts.

SQLite in the file ``$FEEDS_STATE`` (default ``state/feeds.db`` beside the
content directory, wherever the process runs: :func:`feeds.state.url.default_url`), or
PostgreSQL when ``$FEEDS_DATABASE_URL`` is a ``postgresql://`` URL, so that
several app servers share one state. Through SQLAlchemy Core, so that both
speak the same statements; the schema is brought up to date (migrated) when
the state is opened, by whichever process comes first.
"""

from __future__ import annotations

from collections.abc import Callable

from feeds.state.audit import Audit
from feeds.state.changes import Changes
from feeds.state.notices import Notices
from feeds.state.pixels import Pixels
from feeds.state.tokens import Tokens

__all__ = ["State", "opened"]


class State(Notices, Changes, Tokens, Audit, Pixels):
    """One state database; safe to share between threads and processes."""


def opened(url: str) -> Callable[[], State]:
    """A function giving the state, opened on first use (the app does not
    touch the database unless it needs it)."""
    found: list[State] = []

    def get() -> State:
        if not found:
            found.append(State(url))
        return found[0]

    return get
