"""The body reader in front of the app, without a server: sizes, chunked bodies, a stalled read."""
from __future__ import annotations

import io
import json
import socket

from cds_service.request_body import BODY, BufferedBody


class Recorder:
    """A WSGI app that answers with the body it was handed."""

    def __call__(self, environ, start_response):
        self.body = environ["wsgi.input"].read()
        self.handed = environ.get(BODY)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [self.body]


class Stalling(io.RawIOBase):
    def read(self, size=-1):
        raise socket.timeout("timed out")


class FakeSocket:
    def __init__(self):
        self.timeouts = []

    def settimeout(self, value):
        self.timeouts.append(value)


def _call(middleware, environ):
    seen = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(middleware(environ, start_response))
    return int(seen["status"][:3]), seen["headers"], body


def _environ(data: bytes, **extra):
    return {"REQUEST_METHOD": "POST", "wsgi.input": io.BytesIO(data), **extra}


def test_a_body_within_the_limit_reaches_the_app_intact():
    app = Recorder()
    status, _, body = _call(BufferedBody(app, 1024), _environ(b'{"a": 1}', CONTENT_LENGTH="8"))
    assert status == 200 and body == b'{"a": 1}'


def test_a_chunked_body_over_the_limit_is_413_operation_outcome():
    status, headers, body = _call(BufferedBody(Recorder(), 1024),
                                  _environ(b"x" * 5000, HTTP_TRANSFER_ENCODING="chunked"))
    assert status == 413 and headers["Connection"] == "close"
    assert json.loads(body)["issue"][0]["code"] == "too-costly"


def test_a_declared_length_over_the_limit_is_413_before_reading():
    stream = Stalling()  # reading it would fail: the refusal must come first
    status, _, _ = _call(BufferedBody(Recorder(), 1024), {"REQUEST_METHOD": "POST", "wsgi.input": stream,
                                                          "CONTENT_LENGTH": "999999"})
    assert status == 413


def test_a_stalled_read_is_408_and_the_socket_timeout_is_restored():
    sock = FakeSocket()
    environ = {"REQUEST_METHOD": "POST", "wsgi.input": Stalling(), "CONTENT_LENGTH": "100", "gunicorn.socket": sock}
    status, _, body = _call(BufferedBody(Recorder(), 1024, read_timeout_s=2.0), environ)
    assert status == 408 and json.loads(body)["resourceType"] == "OperationOutcome"
    assert sock.timeouts[0] == 2.0 and sock.timeouts[-1] is None


def test_a_bad_content_length_is_400():
    status, _, _ = _call(BufferedBody(Recorder(), 1024), _environ(b"{}", CONTENT_LENGTH="abc"))
    assert status == 400


def test_no_body_passes_straight_through():
    app = Recorder()
    status, _, body = _call(BufferedBody(app, 1024), {"REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO(b"")})
    assert status == 200 and body == b""


def test_the_bytes_read_are_handed_on_as_they_are_and_as_the_stream():
    recorder, body = Recorder(), b'{"hook": "patient-view"}'
    environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    status, _, answer = _call(BufferedBody(recorder, max_bytes=1024), environ)
    assert status == 200 and answer == body and recorder.handed == body
