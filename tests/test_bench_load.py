"""The Python load generator of `make bench` (bench/load.py) against a small local HTTP server.

Counts and consistency only: benchmarks report timings, tests never assert them."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench import load


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as gunicorn's threaded workers answer
    status = 200
    seen: list[bytes] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append(body)
        answer = b'{"cards": []}'
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@contextmanager
def _server(status: int):
    handler = type("Handler", (_Handler,), {"status": status, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/cds-services/x", handler
    finally:
        server.shutdown()
        server.server_close()


def test_every_request_is_counted_and_the_body_arrives_whole(tmp_path):
    body = tmp_path / "body.json"
    body.write_bytes(b'{"hook": "patient-view", "pad": "' + b"x" * 100_000 + b'"}')
    with _server(200) as (url, handler):
        row = load.run_load(url, body, concurrency=3, seconds=0.5)
    assert row.requests >= 1 and row.errors == 0
    assert row.requests == len(handler.seen) and set(handler.seen) == {body.read_bytes()}
    assert 0 < row.p50_ms <= row.p95_ms <= row.p99_ms


def test_non_2xx_answers_are_errors(tmp_path):
    body = tmp_path / "body.json"
    body.write_bytes(b"{}")
    with _server(503) as (url, _):
        row = load.run_load(url, body, concurrency=2, seconds=0.3)
    assert row.requests >= 1 and row.errors == row.requests


def test_a_refused_connection_is_an_error_not_a_crash(tmp_path):
    body = tmp_path / "body.json"
    body.write_bytes(b"{}")
    row = load.run_load(f"http://127.0.0.1:{load.free_port()}/x", body, concurrency=1, seconds=0.2)
    assert row.requests == 0 and row.errors >= 1 and row.p50_ms == 0


def test_percentile_is_nearest_rank():
    ordered = [float(i) for i in range(1, 101)]
    assert (load._percentile(ordered, 50), load._percentile(ordered, 95), load._percentile(ordered, 99)) == (50.0, 95.0, 99.0)
    assert load._percentile([7.0], 99) == 7.0 and load._percentile([], 50) == 0.0
