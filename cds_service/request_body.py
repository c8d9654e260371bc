"""Read a request body whole before the application sees it, bounded in size and in time.

Why: under gunicorn's threaded worker one thread serves a request from its first byte to its
last. A client that sends its body one byte every 20 seconds would keep that thread for as long
as it likes, and a handful of such clients would keep every thread (``/healthz`` stops
answering). Here each wait for the next piece of the body is bounded by a socket timeout, so a
dripping client gets 408 and gives its thread back. The body as a whole also has a deadline,
checked between 8 KiB pieces (gunicorn's reader fills a piece before it returns, so a client that
sends just inside the socket timeout is cut only at the next piece: the thread count covers that). A chunked
body (no Content-Length) is cut at the size limit with 413; Werkzeug alone answers such a body
with 400.

The timeouts apply where a real socket is at hand (gunicorn puts it in ``gunicorn.socket``); the
size limit applies everywhere, the test client included.
"""
from __future__ import annotations

import io
import logging
import socket
import time
from typing import TYPE_CHECKING, Iterable

import orjson

from . import logs
from .errors import operation_outcome

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(logs.REQUEST_LOGGER)

_CHUNK = 8192
BODY = "cds_service.body"  # the environ key holding the bytes read here (http.read_json takes them as they are)
_NO_BODY = ("GET", "HEAD", "OPTIONS", "DELETE")


class BodyTooLarge(Exception):
    pass


class BodyTooSlow(Exception):
    pass


def _refuse(start_response: StartResponse, status: str, message: str, code: str) -> Iterable[bytes]:
    # The app never saw this request, so its request line is written here (no path: it may carry ids).
    log.info("request", extra={"endpoint": "body refused before routing", "status": int(status[:3])})
    body = orjson.dumps(operation_outcome(message, code))
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                            ("Connection", "close")])  # the unread rest of the body must not be taken as a request
    return [body]


class BufferedBody:
    """WSGI middleware: the body is read here, then handed on as an in-memory stream."""

    def __init__(self, app: WSGIApplication, max_bytes: int, read_timeout_s: float = 10.0, deadline_s: float = 30.0):
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout_s = read_timeout_s
        self.deadline_s = deadline_s

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        length_text = environ.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower() or bool(environ.get("wsgi.input_terminated"))
        if not length_text and not chunked:
            return self.app(environ, start_response)  # no body at all
        if environ.get("REQUEST_METHOD") in _NO_BODY and not chunked and length_text == "0":
            return self.app(environ, start_response)
        try:
            length = int(length_text) if length_text else None
        except ValueError:
            return _refuse(start_response, "400 Bad Request", "Content-Length is not a number", "invalid")
        if length is not None and length > self.max_bytes:
            return _refuse(start_response, "413 Request Entity Too Large",
                           f"request body is larger than {self.max_bytes} bytes", "too-costly")
        try:
            body = self._read(environ, length)
        except BodyTooLarge:
            return _refuse(start_response, "413 Request Entity Too Large",
                           f"request body is larger than {self.max_bytes} bytes", "too-costly")
        except BodyTooSlow:
            return _refuse(start_response, "408 Request Timeout",
                           "the request body did not arrive in time", "timeout")
        environ["wsgi.input"] = io.BytesIO(body)
        environ[BODY] = body  # read_json takes these bytes: no second copy through Werkzeug's reader (issue 23)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = False
        return self.app(environ, start_response)

    def _read(self, environ: WSGIEnvironment, length: int | None) -> bytes:
        stream = environ["wsgi.input"]
        sock = environ.get("gunicorn.socket")
        clock = time.monotonic
        deadline = clock() + self.deadline_s
        parts: list[bytes] = []
        size = 0
        try:
            while length is None or size < length:
                remaining = deadline - clock()
                if remaining <= 0:
                    raise BodyTooSlow()
                if sock is not None:
                    sock.settimeout(min(self.read_timeout_s, remaining))
                want = _CHUNK if length is None else min(_CHUNK, length - size)
                try:
                    chunk = stream.read(want)
                except (socket.timeout, TimeoutError):
                    raise BodyTooSlow() from None
                if not chunk:
                    break
                parts.append(chunk)
                size += len(chunk)
                if size > self.max_bytes:
                    raise BodyTooLarge()
        finally:
            if sock is not None:
                try:
                    sock.settimeout(None)
                except OSError:
                    pass
        return b"".join(parts)
