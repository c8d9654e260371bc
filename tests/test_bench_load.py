"""The Python load generator of `make bench` (bench/load.py) against a small local HTTP server.

Counts and consistency only: benchmarks report timings, tests never assert them."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

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


def test_an_open_loop_sends_on_its_schedule_whatever_the_answers(tmp_path):
    """4 clients offering 40 req/s for 0.49 s: each is due every 0.1 s from its own offset (0, 25, 50 and
    75 ms), so exactly 20 requests are due before the end, and every one is sent and counted."""
    body = tmp_path / "body.json"
    body.write_bytes(b'{"hook": "patient-view"}')
    with _server(200) as (url, handler):
        row = load.run_load(url, body, concurrency=4, seconds=0.49, rate=40)
    assert row.offered == 40 and row.requests + row.errors == 20 == len(handler.seen) + row.errors
    assert row.errors == 0 and 0 < row.p50_ms <= row.p99_ms


def test_a_closed_loop_has_no_offered_rate_and_an_open_loop_needs_a_positive_one(tmp_path):
    body = tmp_path / "body.json"
    body.write_bytes(b"{}")
    with _server(200) as (url, _):
        assert load.run_load(url, body, concurrency=1, seconds=0.1).offered is None
    with pytest.raises(ValueError, match="positive"):
        load.run_load(url, body, concurrency=1, seconds=0.1, rate=0)


def test_the_paced_rate_is_half_the_naive_peers_best_typical_throughput():
    from bench.__main__ import PACED_SHARE, paced_rate

    def row(rps):
        return load.LoadRow(concurrency=8, offered=None, rps=rps, p50_ms=1, p95_ms=1, p99_ms=1, requests=1, errors=0)
    closed = {("typical", 8): row(150.0), ("typical", 32): row(130.0), ("10", 8): row(700.0)}
    assert PACED_SHARE == 0.5 and paced_rate(closed) == 75
