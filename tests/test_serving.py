"""`cds-service serve` under stress, on 127.0.0.1 only: clients that drip their body, a chunked
body over the limit, the discovery URL with a trailing slash, what one start leaves behind, and
what the logs carry.

No assertion is on a latency. A health check or call "answered" means a response arrived before
the socket timeout ANSWER_S (5 s): far above its usual few milliseconds, and below the body
timeout the dripping clients get (60 s here), so only a free thread can answer it in time.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
import requests

from bench.load import Server
from builders import SCT, condition, hook_request
from cds_service.config import REPO_ROOT

ANSWER_S = 5.0
DRIP_EVERY_S = 20.0
SERVICE = "/cds-services/leg-pain-claudication"


def _status(sock: socket.socket) -> int:
    """The status code of the response on ``sock`` (raises socket.timeout when none comes in time)."""
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before a status line")
        data += chunk
    return int(data.split(b" ", 2)[1])


def _raw(port: int, payload: bytes, timeout: float = ANSWER_S) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        return _status(sock)


class Drippers:
    """Clients that declare a 1,000-byte body and send it one byte every 20 s (bounded: they stop
    at ``close`` and never send more than the body)."""

    def __init__(self, port: int, count: int):
        self.stop = threading.Event()
        self.sockets = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_S)
            sock.sendall(f"POST {SERVICE} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         "Content-Length: 1000\r\n\r\n{".encode())
            self.sockets.append(sock)
        self.thread = threading.Thread(target=self._drip, daemon=True)
        self.thread.start()

    def _drip(self):
        for _ in range(999):
            if self.stop.wait(DRIP_EVERY_S):
                return
            for sock in self.sockets:
                try:
                    sock.sendall(b" ")
                except OSError:
                    pass

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    s = Server(workers=2, stderr_path=folder / "stderr.log",
               env={"CDS_KNOWLEDGE_DIR": str(REPO_ROOT), "CDS_LOG_LEVEL": "INFO"})
    s.stderr_path = folder / "stderr.log"
    try:
        yield s
    finally:
        s.stop()


@pytest.mark.parametrize("count", [8, 16])
def test_clients_dripping_their_body_stop_neither_health_nor_calls(server, count):
    drippers = Drippers(server.port, count)
    try:
        time.sleep(0.5)  # let every dripper reach a worker thread
        for _ in range(3):
            assert _raw(server.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n") == 200
        body = json.dumps(hook_request([condition(SCT, "63491006")])).encode()
        answered = requests.post(server.url + SERVICE, data=body, headers={"Content-Type": "application/json"},
                                 timeout=ANSWER_S)
        assert answered.status_code == 200 and len(answered.json()["cards"]) == 1
    finally:
        drippers.close()


def test_a_body_that_stalls_past_the_body_timeout_gets_408(tmp_path):
    s = Server(workers=1, args=("--body-timeout", "1"), env={"CDS_KNOWLEDGE_DIR": str(REPO_ROOT)})
    try:
        with socket.create_connection(("127.0.0.1", s.port), timeout=15) as sock:
            sock.sendall(f"POST {SERVICE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         "Content-Length: 100\r\n\r\n{".encode())
            assert _status(sock) == 408
        assert requests.get(s.url + "/healthz", timeout=ANSWER_S).status_code == 200
    finally:
        s.stop()


def test_a_chunked_body_over_the_limit_gets_413(server):
    chunk = b"x" * 65536
    head = (f"POST {SERVICE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(6 * 1024 * 1024 // len(chunk))) + b"0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=ANSWER_S) as sock:
        sock.sendall(head)
        try:
            sock.sendall(body)
        except OSError:
            pass  # the service may answer and close before reading it all
        assert _status(sock) == 413


def test_a_small_chunked_body_is_read(server):
    payload = json.dumps(hook_request([condition(SCT, "63491006")])).encode()
    head = (f"POST {SERVICE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    assert _raw(server.port, head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload)) == 200


def test_discovery_answers_with_a_trailing_slash(server):
    with_slash = requests.get(server.url + "/cds-services/", timeout=ANSWER_S)
    assert with_slash.status_code == 200
    assert with_slash.json() == requests.get(server.url + "/cds-services", timeout=ANSWER_S).json()


def test_logs_never_carry_query_strings_and_are_all_json(server):
    requests.get(server.url + "/cds-services?patient=QUERYSECRET", timeout=ANSWER_S)
    requests.get(server.url + "/nowhere?token=QUERYSECRET", timeout=ANSWER_S)
    requests.get(server.url + "/healthz?x=QUERYSECRET", timeout=ANSWER_S)
    # a malformed request line, which gunicorn quotes in its own warning
    assert _raw(server.port, b"GET /x?patient=QUERYSECRET\x01 HTTP/1.1\r\nHost: x\r\n\r\n") == 400
    time.sleep(0.3)
    text = Path(server.stderr_path).read_text()
    assert "QUERYSECRET" not in text
    lines = [line for line in text.splitlines() if line.strip()]
    assert any(json.loads(line).get("logger") == "gunicorn.error" for line in lines)  # gunicorn's own, as JSON
    assert any(json.loads(line).get("endpoint") == "/cds-services" for line in lines)


def test_a_start_leaves_no_metrics_folder_and_no_control_socket(tmp_path):
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    env = {"CDS_KNOWLEDGE_DIR": str(REPO_ROOT), "HOME": str(home), "TMPDIR": str(tmp), "XDG_RUNTIME_DIR": str(home)}
    s = Server(workers=2, env=env)
    try:
        assert requests.get(s.url + "/metrics", timeout=ANSWER_S).status_code == 200
        assert list(tmp.glob("cds-metrics-*"))  # the shared metrics folder exists while serving
    finally:
        s.stop()
    assert not list(tmp.glob("cds-metrics-*"))
    assert not list(home.rglob("*.ctl"))
