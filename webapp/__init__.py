"""The Flask app: serves the site's pages and feeds from the content directory.

``create_app()`` is the WSGI entry point (``gunicorn 'webapp:create_app()'``);
the content directory comes from ``$FEEDS_CONTENT``, else ``./content``.
Flask is imported only when an app is made. This package only speaks HTTP:
every output it serves is planned and built by :mod:`feeds`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """See :func:`webapp.app.create_app`."""
    from webapp.app import create_app as make

    return make(test_config)
