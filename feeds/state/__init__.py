"""State that is not content, in one database: :class:`~feeds.state.database.State`,
made of one class per storage area (:mod:`~feeds.state.notices`: hubs, workers
and the notices owed; :mod:`~feeds.state.changes`: the partners' stream and
webhooks; :mod:`~feeds.state.tokens`: partners and their tokens;
:mod:`~feeds.state.audit`; :mod:`~feeds.state.pixels`) over one
:class:`~feeds.state.store.Store` (connections in :mod:`~feeds.state.engine`,
tables in :mod:`~feeds.state.schema`, the values it hands out in
:mod:`~feeds.state.rows`); which database a process uses
(:mod:`~feeds.state.url`), and the partner desk kept in it
(:mod:`~feeds.state.partners`). Nothing here knows of the content, the
outputs or publishing.
"""
