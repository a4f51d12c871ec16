"""What ``feeds build`` did: one report, whichever path built (the whole site,
or :mod:`feeds.publish.fast`), for the command to print and the notifier to
tell (:func:`feeds.publish.notify.record_build_changes`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from feeds.content.holdback import Held

if TYPE_CHECKING:
    from feeds.model import Article, Content


@dataclass(frozen=True)
class Report:
    """What ``feeds build`` did."""

    #: Files in the export.
    files: int
    #: Files written because their bytes changed; 0 for a no-op.
    written: int
    #: Exported files whose bytes changed, were added or were removed, sorted.
    changed: tuple[str, ...] = ()
    #: The site's WebSub hub, if any.
    hub: str | None = None
    #: ``(url, key, digest)`` of every public feed (:meth:`Plan.key` and the
    #: digest of its bytes), for telling the hub of those it does not know.
    feeds: tuple[tuple[str, str, str], ...] = ()
    #: The files with problems, held back at their last good version or left out.
    held: tuple[Held, ...] = ()
    #: How many outputs were rendered (those whose inputs changed, and any
    #: missing from the export).
    rendered: int = 0
    #: Whether the whole site was planned (else only what the changed
    #: articles call for: :mod:`feeds.publish.fast`).
    whole: bool = True
    #: The content built, or on the fast path the site, its authors and only
    #: the articles involved (changed, or whose moment came); None when there
    #: was nothing to do. Partners are told of its changes
    #: (:func:`feeds.publish.notify.record_build_changes`).
    content: Content | None = None
    #: On the fast path: the involved articles as the last build had them,
    #: by id (a removed one is only here), and that build's time: partners
    #: are told only of what moved in between (:func:`feeds.publish.stream.moved`).
    #: None on the full path: every article is judged.
    previous: Mapping[str, Article] | None = None
    before: datetime | None = None
    #: The next moment at which what is served changes by itself (a
    #: scheduled story's time, a withdrawal's, early access for partners):
    #: the export is stale from then until the next build. None: no such moment.
    due: datetime | None = None
