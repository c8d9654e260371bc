"""A local FHIR server that misbehaves on purpose, one way per first path segment.

    with running() as base:   # http://127.0.0.1:<port>
        fhirServer = base + "/drip"     # stall, drip, reset, redirect, endless, huge, invalid, html

Used by the fault-injection tests and the soak's graceful-shutdown check; it listens on 127.0.0.1 only.
"""
from __future__ import annotations

import json
import socket
import struct
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("stall", "drip", "reset", "redirect", "endless", "huge", "invalid", "html")
DRIP_SECONDS = 4.0


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
            if mode == "stall":  # accepts, then says nothing
                time.sleep(DRIP_SECONDS)
            elif mode == "drip":  # headers, then a byte every 50 ms: never a whole body in time
                self.send_response(200)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                for _ in range(int(DRIP_SECONDS / 0.05)):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.05)
            elif mode == "reset":  # RST instead of an answer
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            elif mode == "redirect":  # to another host, where a token must never go
                self._send(307, b"", extra={"Location": "http://127.0.0.2:9/steal"})
            elif mode == "endless":  # a next link on every page
                n = int(self.path.rsplit("page=", 1)[1]) if "page=" in self.path else 0
                bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [],
                          "link": [{"relation": "next", "url": f"http://127.0.0.1:{port}/endless/Condition?page={n + 1}"}]}
                self._send(200, json.dumps(bundle).encode())
            elif mode == "huge":  # 50 MB
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
            else:
                self._send(404, b'{"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}')
        except (BrokenPipeError, ConnectionResetError):
            pass


@contextmanager
def running():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
