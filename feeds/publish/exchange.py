"""One HTTP request to a hub or a CDN under one overall deadline.

A socket's timeout bounds each read, not the exchange: a party that sends
its answer one byte every two seconds never trips a three-second timeout and
holds its caller as long as it likes. Here a timer cuts the connection when
the deadline passes, wherever the exchange is (connecting, sending, reading
the status line, the headers or the body), so that a call never lasts much
longer than its deadline.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

#: The message of an exchange cut at its deadline (as a socket timeout says it).
TIMED_OUT = "timed out"


class ExchangeError(Exception):
    """No answer: refused, reset, cut at the deadline, or a URL that cannot
    be asked. Its message says which, in a few words."""


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str


def request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    deadline: float,
    limit: int = 65536,
) -> Answer:
    """Send ``method`` to ``url`` and read the answer (at most ``limit``
    bytes of its body), all within ``deadline`` seconds; :class:`ExchangeError`
    when there is no whole answer by then."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as e:
        raise ExchangeError(str(e)) from e
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ExchangeError(f"unknown url type: {url!r}")
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    end = time.monotonic() + deadline
    connection = kind(parts.hostname, port, timeout=deadline)
    cut = threading.Event()

    def cut_off() -> None:
        cut.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the read blocked on it

    timer: threading.Timer | None = None
    try:
        connection.connect()  # one operation: bounded by the socket's timeout
        left = end - time.monotonic()
        if left <= 0:
            raise ExchangeError(TIMED_OUT)
        timer = threading.Timer(left, cut_off)
        timer.daemon = True
        timer.start()
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        connection.request(method, path, body=body, headers=dict(headers))
        response = connection.getresponse()
        response.read(limit)
        if cut.is_set():
            raise ExchangeError(TIMED_OUT)
        return Answer(response.status, response.reason)
    except (OSError, http.client.HTTPException) as e:
        if cut.is_set() or isinstance(e, TimeoutError):
            raise ExchangeError(TIMED_OUT) from e
        raise ExchangeError(str(e) or type(e).__name__) from e
    finally:
        if timer is not None:
            timer.cancel()
        connection.close()
