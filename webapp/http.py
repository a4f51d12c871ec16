"""Responses for the site's files: strong ETags, Last-Modified, 304s, gzip.

Werkzeug decides conditional requests (``make_conditional``), with
``If-None-Match`` taking precedence over ``If-Modified-Since`` as RFC 9110 asks.
"""

from __future__ import annotations

from datetime import datetime

from flask import Request, Response
from werkzeug.wrappers import Response as BaseResponse

from webapp.site import Resource

#: Smaller bodies are not worth compressing.
GZIP_MIN_BYTES = 512


def accepts_gzip(request: Request) -> bool:
    return request.accept_encodings["gzip"] > 0


def resource_response(
    request: Request,
    resource: Resource,
    last_modified: datetime,
    max_age: int,
    status: int = 200,
) -> BaseResponse:
    compress = (
        resource.compressible and len(resource.data) >= GZIP_MIN_BYTES and accepts_gzip(request)
    )
    body = resource.gzip if compress else resource.data
    response = Response(body, status=status, content_type=resource.media_type)
    response.vary.add("Accept-Encoding")
    if status != 200:
        return response
    if compress:
        response.content_encoding = "gzip"
        # Each representation has its own strong validator.
        response.set_etag(resource.etag + "-gzip")
    else:
        response.set_etag(resource.etag)
    response.last_modified = last_modified
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    return response.make_conditional(request)
