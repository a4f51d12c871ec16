"""What kind of change partners are told of: a pure function of two versions.

A partner sees an article in one of three standings: ``embargoed`` (in the
early access: scheduled within ``early_access_days``), ``public``, or
``withdrawn``; or not at all (a draft, an article with ``republish: false``,
one scheduled further ahead, one that is not there). An event is what moves
a partner's copy from one to the next:

- ``published``: it becomes visible to the partner (early access or public);
- ``released``: an embargoed one goes public;
- ``corrected``: a correction was added;
- ``updated``: its ``updated`` moved (a substantive update);
- ``refiled``: its bytes changed with neither (a typo fixed);
- ``withdrawn``: it was withdrawn, or is no longer there for the partner (its
  file deleted, made a draft again, ``republish: false``), with the reason.

One event per change: the first of those that applies. Time alone moves a
standing (an embargo lifting, a scheduled date or a withdrawal's coming due),
so each version is judged at its own moment.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from feeds.digest import digest
from feeds.model import Article, Site, is_withdrawn
from feeds.outputs.listings import is_embargoed, is_public

PUBLISHED = "published"
RELEASED = "released"
UPDATED = "updated"
CORRECTED = "corrected"
REFILED = "refiled"
WITHDRAWN = "withdrawn"
EVENTS = (PUBLISHED, RELEASED, UPDATED, CORRECTED, REFILED, WITHDRAWN)

EMBARGOED = "embargoed"
PUBLIC = "public"

#: The reason of a ``withdrawn`` event for an article no longer there for
#: partners without a withdrawal of its own (deleted, a draft again, or
#: ``republish: false``).
GONE = "no longer available for republication"


@dataclass(frozen=True)
class Standing:
    """What a partner sees of an article at one moment."""

    #: :data:`EMBARGOED`, :data:`PUBLIC` or :data:`WITHDRAWN`.
    state: str
    #: A digest of the article as filed (everything but its path and a
    #: withdrawal still to come): equal digests, equal copies.
    digest: str
    #: Its ``updated``, RFC 3339, if any.
    updated: str | None
    #: How many corrections it carries.
    corrections: int
    #: A withdrawal's reason.
    reason: str | None = None

    def dump(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def load(cls, text: str) -> Standing:
        return cls(**json.loads(text))


def filed(article: Article) -> str:
    """A digest of the article as a partner's copy holds it."""
    return digest(repr(dataclasses.replace(article, path="", withdrawn=None)).encode())


def standing(article: Article | None, now: datetime, site: Site) -> Standing | None:
    """What a partner sees of ``article`` at ``now``; None: nothing."""
    if article is None or article.draft or not article.republish:
        return None
    if is_withdrawn(article, now):
        state = WITHDRAWN
    elif is_public(article, now):
        state = PUBLIC
    elif is_embargoed(article, now, site):
        state = EMBARGOED
    else:
        return None
    return Standing(
        state,
        filed(article),
        article.updated.isoformat() if article.updated else None,
        len(article.corrections),
        article.withdrawn.reason if state == WITHDRAWN and article.withdrawn else None,
    )


def event(old: Standing | None, new: Standing | None) -> str | None:
    """The event that takes a partner from ``old`` to ``new``; None: none
    (nothing a partner sees changed, or it never saw the article)."""
    shown = old is not None and old.state != WITHDRAWN
    if new is None or new.state == WITHDRAWN:
        return WITHDRAWN if shown else None
    if old is None or not shown:
        return PUBLISHED
    if old.state == EMBARGOED and new.state == PUBLIC:
        return RELEASED
    if new.corrections > old.corrections:
        return CORRECTED
    if new.updated != old.updated:
        return UPDATED
    if new.digest != old.digest or new.state != old.state:
        return REFILED
    return None


def reason(new: Standing | None) -> str:
    """What a ``withdrawn`` event says."""
    return new.reason if new is not None and new.reason else GONE


def happened(
    previous: Mapping[str, Article | None],
    current: Mapping[str, Article | None],
    before: datetime,
    now: datetime,
    site: Site,
) -> dict[str, str]:
    """The event of each article (by id) from its ``previous`` version at
    ``before`` to its ``current`` one at ``now`` (None, or a missing id:
    absent); articles with no event are left out."""
    found = {}
    for key in previous.keys() | current.keys():
        kind = event(
            standing(previous.get(key), before, site), standing(current.get(key), now, site)
        )
        if kind is not None:
            found[key] = kind
    return found
