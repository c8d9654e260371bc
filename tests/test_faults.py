"""Fault injection for the FHIR fallback with a local misbehaving server: every request ends by the
deadline (plus a margin) with 412 when the data cannot be had, and memory stays bounded."""
from __future__ import annotations

import json
import resource
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from builders import hook_request

URL = "/cds-services/leg-pain-claudication"
MARGIN_MS = 300


class Misbehaving(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, body: bytes, content_type="application/fhir+json", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server API
        mode = self.path.strip("/").split("/")[0]
        port = self.server.server_port
        try:
            if mode == "stall":
                time.sleep(3)
            elif mode == "drip":
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                for _ in range(40):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.1)
            elif mode == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            elif mode == "redirect":
                self._send(307, b"", extra={"Location": "http://127.0.0.2:9/steal"})
            elif mode == "endless":
                n = int(self.path.rsplit("page=", 1)[1]) if "page=" in self.path else 0
                bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [],
                          "link": [{"relation": "next", "url": f"http://127.0.0.1:{port}/endless/Condition?page={n + 1}"}]}
                self._send(200, json.dumps(bundle).encode())
            elif mode == "huge":
                self.send_response(200)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(50 * 1024 * 1024))
                self.end_headers()
                chunk = b" " * (1024 * 1024)
                for _ in range(50):
                    self.wfile.write(chunk)
            elif mode == "invalid":
                self._send(200, b'{"resourceType": "Bundle", "entry": [')
            elif mode == "html":
                self._send(200, b"<html><body>Login</body></html>", content_type="text/html")
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def bad_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _call(client, server, mode):
    body = hook_request([], fhirServer=f"{server}/{mode}")
    del body["prefetch"]
    started = time.perf_counter()
    response = client.post(URL, json=body)
    return response, (time.perf_counter() - started) * 1000


@pytest.mark.parametrize("mode", ["stall", "drip", "reset", "redirect", "endless", "huge", "invalid", "html"])
def test_fault_ends_by_the_deadline_with_412_or_200(client, app, bad_server, mode):
    deadline = app.extensions["cds"].settings.fhir_deadline_ms
    response, elapsed = _call(client, bad_server, mode)
    # Endless next links stop at the page cap (200: empty pages are data) or at the deadline (412),
    # whichever comes first on this machine; every other fault makes the data unobtainable.
    expected = {200, 412} if mode == "endless" else {412}
    assert response.status_code in expected
    assert elapsed < deadline + MARGIN_MS, elapsed


def test_memory_stays_bounded_under_a_50mb_answer(client, app, bad_server):
    """Four keys are fetched at once; each answer is cut at CDS_FHIR_MAX_RESPONSE_BYTES."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(3):
        response, _ = _call(client, bad_server, "huge")
        assert response.status_code == 412
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    bound_mb = 4 * 2 * app.extensions["cds"].settings.fhir_max_response_bytes / 2**20 + 30  # buffer and its copy
    assert grown_mb < bound_mb, (grown_mb, bound_mb)
