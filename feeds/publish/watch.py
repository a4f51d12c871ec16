"""``feeds watch``: the static export kept current unattended.

A static host serves what was built: a scheduled story, a withdrawal, the end
of a tombstone go out only when something builds again. This loop builds on
every change of the content directory and whenever the moment the last build
named (:attr:`feeds.publish.report.Report.due`) has come. It reads no clock itself:
the moment is handed in from the edge at each wake, so a test drives it with
any clock and any sequence of changes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path

#: Milliseconds between wakes when nothing changes: how late, at most, a
#: build starts after its due moment.
TICK_MS = 1000

#: Milliseconds over which a burst of file events (an editor saving, a
#: ``git pull``) is gathered into one build.
DEBOUNCE_MS = 400


def due(now: datetime, moment: datetime | None) -> bool:
    """Has the moment a build named come (what is public changed by itself)?"""
    return moment is not None and now >= moment


def loop(
    build: Callable[[datetime], datetime | None],
    clock: Callable[[], datetime],
    wakes: Iterable[bool],
) -> int:
    """At each wake (True: the content changed, or the first wake; False: a
    tick with no change), build if the content changed or the moment the
    last build named as due has come. ``build`` builds as of the moment it
    is given and returns the next due moment (None: none, or it failed
    before knowing: then only a change builds again). Ends when ``wakes``
    does; the number of builds."""
    moment: datetime | None = None
    builds = 0
    for changed in wakes:
        now = clock()
        if changed or due(now, moment):
            moment = build(now)
            builds += 1
    return builds


def changes(root: Path, stop: threading.Event) -> Iterator[bool]:
    """Wakes for :func:`loop`: True first, once the watcher is up (so that
    the first build misses no edit made while it runs), then True after each
    burst of changes under ``root`` (the OS's file notifications, through
    watchfiles; editors' swap and backup files left out), False every
    :data:`TICK_MS` without one; ends once ``stop`` is set."""
    from watchfiles import watch

    first = True
    for found in watch(
        root,
        stop_event=stop,
        debounce=DEBOUNCE_MS,
        rust_timeout=TICK_MS,
        yield_on_timeout=True,
        raise_interrupt=False,
    ):
        yield first or bool(found)
        first = False
