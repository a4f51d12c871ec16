"""The app factory: defaults, then the environment, then the test's overrides.

``create_app()`` is the WSGI entry point (``gunicorn 'webapp:create_app()'``);
the content directory comes from ``$FEEDS_CONTENT``, else ``./content``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.exceptions import HTTPException

from feeds.cache import default_path as default_cache
from feeds.content.validate import MAX_AGE
from feeds.outputs.headers import CDN_MAX_AGE
from feeds.publish import cdn, websub
from feeds.publish.webhooks import BACKOFF
from feeds.state.audit import AUDIT_DAYS
from feeds.state.database import opened
from feeds.state.url import configured, default_url, describe
from webapp import views
from webapp.audit import Audit
from webapp.batch import EXIT_DEADLINE
from webapp.fastpath import FastPath
from webapp.http import trusted_proxies
from webapp.pixel import Pixels
from webapp.push import Pusher
from webapp.reload import LiveSite


def _now() -> datetime:
    return datetime.now(UTC)


def _clock(config: Mapping[str, Any]) -> Callable[[], datetime]:
    """``CLOCK``, else a clock stopped at ``NOW`` (an ISO 8601 moment with an
    offset: what a test passes through ``gunicorn 'webapp:create_app({...})'``),
    else the real one."""
    fixed = config.get("NOW")
    if fixed is None:
        clock: Callable[[], datetime] = config["CLOCK"]
        return clock
    moment = datetime.fromisoformat(fixed) if isinstance(fixed, str) else fixed
    if moment.tzinfo is None:
        raise ValueError(f"NOW must have a UTC offset, got {fixed!r}")
    return lambda: moment


def _check_cdn(app: Flask) -> None:
    """Settings of the CDN that cannot work are logged, in one line each, and
    left out: the site is served all the same."""
    age = app.config["CDN_MAX_AGE"]
    whole = isinstance(age, int) or (isinstance(age, str) and age.isdigit() and len(age) < 12)
    if not whole or not 0 <= int(age) <= MAX_AGE:
        app.logger.error(
            "FEEDS_CDN_MAX_AGE must be a whole number of seconds up to a year, got %r; using %d",
            age,
            CDN_MAX_AGE,
        )
        age = CDN_MAX_AGE
    app.config["CDN_MAX_AGE"] = int(age)
    url = app.config["PURGE_URL"]
    if url is not None and not cdn.is_purge_url(url):
        app.logger.error(
            "FEEDS_PURGE_URL must be http(s)://HOST[:PORT]/, got %r; the CDN is not purged", url
        )
        app.config["PURGE_URL"] = None


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Defaults, then the environment, then the test's overrides.

    ``CONTENT``: the content directory. ``CACHE``: the build cache file, so
    that a restart does not parse and render every article again (default
    ``$FEEDS_CACHE``, else one under ``~/.cache/feeds/``; None for none).
    ``RELOAD_INTERVAL``: seconds between
    checks for changed files. ``PREVIEW``: reload open pages on change and show
    content problems (``feeds serve``). ``DRAFTS``: in a preview, show drafts and
    scheduled articles too, each marked (``feeds serve --drafts``; refused
    without ``PREVIEW``). ``BASE_URL``: serve under another address
    than site.toml's ``base_url`` (previews). ``CLOCK``: a function returning the
    current aware datetime, what decides what is public (tests pass one they
    move); ``NOW``: the same as a fixed moment. ``WALL``: the machine's clock in
    seconds, compared with file times (tests pass one they move). ``STATE``:
    the state database's URL (default ``$FEEDS_DATABASE_URL``, else SQLite at
    ``$FEEDS_STATE``, else ``state/feeds.db`` beside ``CONTENT``), opened only when the site has a
    WebSub hub to tell of changes, or a partner or editor presents a token.
    ``PURGE_URL``: a CDN in front of the app to purge on every change
    (``$FEEDS_PURGE_URL``; ``cdn/varnish.vcl`` is one): responses then name
    their surrogate keys, and the CDN may keep them ``CDN_MAX_AGE`` seconds
    (``$FEEDS_CDN_MAX_AGE``, default a day). ``STOP_DEADLINE``: seconds a
    stopping worker keeps trying to write the pixel counts and audit rows it
    holds while the state database does not answer (:mod:`webapp.batch`).
    ``WEBHOOK_BACKOFF``: seconds before a failed webhook is tried again
    (``$FEEDS_WEBHOOK_BACKOFF``, default 10; doubling each time).
    ``TRUSTED_PROXIES``: the addresses or networks of proxies in front of the
    app (``$FEEDS_TRUSTED_PROXIES``, comma-separated): for a request from one,
    the audit's client is read from ``X-Forwarded-For``
    (:func:`webapp.http.client_address`).
    """
    app = Flask(__name__, static_folder=None)
    app.config.from_mapping(
        CONTENT=os.environ.get("FEEDS_CONTENT") or "content",
        RELOAD_INTERVAL=1.0,
        PREVIEW=False,
        DRAFTS=False,
        BASE_URL=None,
        CLOCK=_now,
        WALL=time.time,
        PURGE_URL=os.environ.get("FEEDS_PURGE_URL") or None,
        CDN_MAX_AGE=os.environ.get("FEEDS_CDN_MAX_AGE") or CDN_MAX_AGE,
        STOP_DEADLINE=EXIT_DEADLINE,
        WEBHOOK_BACKOFF=os.environ.get("FEEDS_WEBHOOK_BACKOFF") or BACKOFF,
        TRUSTED_PROXIES=os.environ.get("FEEDS_TRUSTED_PROXIES") or "",
    )
    if test_config:
        app.config.update(test_config)
    if app.config["DRAFTS"] and not app.config["PREVIEW"]:
        raise ValueError("DRAFTS is for the editor's preview only (PREVIEW)")
    if "CACHE" not in app.config:
        app.config["CACHE"] = str(
            default_cache(Path(app.config["CONTENT"]), os.environ, app.config["BASE_URL"])
        )
    app.logger.setLevel("INFO")
    _check_cdn(app)
    proxies, bad = trusted_proxies(str(app.config["TRUSTED_PROXIES"] or ""))
    for entry in bad:
        app.logger.error("FEEDS_TRUSTED_PROXIES: %r is not an address or network; left out", entry)
    app.config["TRUSTED_PROXIES"] = proxies
    app.extensions["feeds"] = LiveSite(
        Path(app.config["CONTENT"]),
        _clock(app.config),
        app.config["RELOAD_INTERVAL"],
        app.logger,
        app.config["BASE_URL"],
        wall=app.config["WALL"],
        cache=Path(app.config["CACHE"]) if app.config["CACHE"] else None,
        drafts=bool(app.config["DRAFTS"]),
        # A preview is never behind the CDN.
        cdn_max_age=app.config["CDN_MAX_AGE"]
        if app.config["PURGE_URL"] and not app.config["PREVIEW"]
        else None,
    )
    database = app.config.get("STATE") or default_url(os.environ, Path(app.config["CONTENT"]))
    app.config["STATE"] = database
    # Said at every start: a server started elsewhere than expected (a new
    # working directory) is seen at once to use another database.
    app.logger.info("state database: %s", describe(database))
    state = opened(database)
    app.extensions["feeds.state"] = state
    stop = float(app.config["STOP_DEADLINE"])
    app.extensions["feeds.pixels"] = Pixels(state, app.logger, stop)
    live_site: LiveSite = app.extensions["feeds"]

    def audit_days() -> int:
        served = live_site.snapshot.served
        return served.plan.content.site.audit_days if served is not None else AUDIT_DAYS

    app.extensions["feeds.audit"] = Audit(state, app.logger, stop, audit_days)
    if not app.config["PREVIEW"]:  # an editor's preview tells no hub of anything
        live = app.extensions["feeds"]
        # Each worker records which version it serves; the hub and the CDN
        # are told once every live worker serves a change (feeds.publish.notify).
        pusher = Pusher(
            state,
            app.config["WALL"],
            app.logger,
            websub.backoff(os.environ.get("FEEDS_PING_BACKOFF")),
            app.config["PURGE_URL"],
            live.serving_here,
            # The partners' stream and webhooks need a state database: once
            # there is one, every change is told of.
            partners=lambda: configured(database),
            webhook_backoff=float(app.config["WEBHOOK_BACKOFF"]),
        )
        live.on_publish = pusher.published
        pusher.published(live.snapshot)  # the first, loaded before it listened
        app.extensions["feeds.websub"] = pusher
    app.register_blueprint(views.bp)
    if not app.config["PREVIEW"]:  # the preview rewrites pages: Flask serves them all
        app.wsgi_app = FastPath(app.wsgi_app, app.extensions["feeds"])  # type: ignore[method-assign]

    app.register_error_handler(HTTPException, views.http_error)
    return app
