"""Soak, concurrency, restart and graceful-shutdown checks against real `cds-service serve` processes.

    make soak                        # or: .venv/bin/python -m bench.soak [--requests 20000] [--clients 16]

Every request is bounded in count and time and goes to 127.0.0.1 only. The test suite runs a short
version (tests/test_soak.py); the closing note quotes the long one.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import requests

from cds_service.config import REPO_ROOT
from cds_service.store import Store

from . import misbehaving
from .load import Server, free_port

SERVICE = "/cds-services/leg-pain-claudication"


@dataclass
class SoakResult:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    errors: int = 0  # connection errors and unexpected statuses
    seconds: float = 0.0
    rss_before_mb: dict = field(default_factory=dict)
    rss_after_mb: dict = field(default_factory=dict)


def _bodies() -> list[tuple[bytes, int]]:
    """Valid requests (200) and a share of bad ones (400): the soak mixes both, as real traffic does."""
    out = [((p).read_bytes(), 200) for p in sorted((REPO_ROOT / "examples").glob("*.json"))]
    out.append((b'{"hook": "patient-view"}', 400))
    out.append((b"not json", 400))
    return out


def soak(server: Server, total: int, clients: int, max_seconds: float = 600) -> SoakResult:
    result = SoakResult(rss_before_mb={pid: server.rss_mb(pid) for pid in server.worker_pids()})
    bodies = _bodies()
    counter = itertools.count()
    lock = threading.Lock()
    started = time.monotonic()

    def client():
        session = requests.Session()
        while True:
            n = next(counter)
            if n >= total or time.monotonic() - started > max_seconds:
                return
            body, expected = bodies[n % len(bodies)]
            try:
                status = session.post(server.url + SERVICE, data=body, timeout=10,
                                      headers={"Content-Type": "application/json"}).status_code
            except requests.RequestException:
                status = -1
            with lock:
                result.requests += 1
                result.statuses[status] += 1
                if status != expected:
                    result.errors += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    result.seconds = time.monotonic() - started
    result.rss_after_mb = {pid: server.rss_mb(pid) for pid in server.worker_pids()}
    return result


def feedback_storm(server: Server, clients: int, items_per_client: int) -> tuple[int, int, set[str]]:
    """Every item is posted twice, by two different clients; returns (posts, non-200 answers, unique cards)."""
    cards = [str(uuid.uuid4()) for _ in range(clients * items_per_client)]
    failures = Counter()

    def client(k: int):
        session = requests.Session()
        mine = cards[k * items_per_client:(k + 1) * items_per_client]
        theirs = cards[((k + 1) % clients) * items_per_client:(((k + 1) % clients) + 1) * items_per_client]
        for card in itertools.chain(mine, theirs):
            item = {"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-11-27T10:00:00Z",
                    "overrideReason": {"reason": {"code": "not-clinically-relevant"}}}
            try:
                ok = session.post(server.url + SERVICE + "/feedback", json={"feedback": [item]}, timeout=10).status_code == 200
            except requests.RequestException:
                ok = False
            if not ok:
                failures["failed"] += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return 2 * len(cards), failures["failed"], set(cards)


def graceful_shutdown(db_url: str) -> dict:
    """SIGTERM while a request is in flight (waiting on a slow FHIR server): it still gets its full answer."""
    with misbehaving.running() as fhir:
        server = Server(workers=2, env={"CDS_DATABASE_URL": db_url, "CDS_FHIR_DEADLINE_MS": "1500",
                                        "CDS_FHIR_TIMEOUT_MS": "1500"})
        body = json.loads((REPO_ROOT / "examples" / "nothing-relevant.json").read_text())
        del body["prefetch"]
        body["fhirServer"] = fhir + "/drip"
        return _sigterm_in_flight(server, body)


def _sigterm_in_flight(server: Server, body: dict) -> dict:
    answer: dict = {}

    def in_flight():
        started = time.monotonic()
        try:
            r = requests.post(server.url + SERVICE, json=body, timeout=10)
            answer.update(status=r.status_code, resource=r.json().get("resourceType"))
        except requests.RequestException as exc:
            answer.update(status=-1, error=type(exc).__name__)
        answer["seconds"] = round(time.monotonic() - started, 2)

    thread = threading.Thread(target=in_flight)
    thread.start()
    time.sleep(0.4)
    exit_code = server.stop()
    thread.join()
    return {**answer, "exit_code": exit_code}


def start_up_window(db_url: str, seconds: float = 5.0) -> Counter:
    """Requests fired from the moment the process starts: each is refused (not listening yet) or answered
    correctly; none gets a 5xx or a wrong answer."""
    port = free_port()
    env = {**os.environ, "CDS_DATABASE_URL": db_url, "CDS_LOG_LEVEL": "WARNING"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    body = (REPO_ROOT / "examples" / "arterial-left-calf-low-abi.json").read_bytes()
    expected_cards = 1
    proc = subprocess.Popen([sys.executable, "-m", "cds_service.cli", "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    outcomes = Counter()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            try:
                r = requests.post(f"http://127.0.0.1:{port}{SERVICE}", data=body, timeout=5,
                                  headers={"Content-Type": "application/json"})
                ok = r.status_code == 200 and len(r.json()["cards"]) == expected_cards
                outcomes["correct" if ok else f"wrong-{r.status_code}"] += 1
            except requests.ConnectionError:
                outcomes["refused"] += 1
                time.sleep(0.01)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
    return outcomes


def run(total: int, clients: int, feedback_clients: int, feedback_items: int, db_url: str) -> dict:
    server = Server(workers=3, threads=4, env={"CDS_DATABASE_URL": db_url})
    try:
        s = soak(server, total, clients)
        posts, failed, cards = feedback_storm(server, feedback_clients, feedback_items)
    finally:
        server.stop()
    restarted = Server(workers=2, env={"CDS_DATABASE_URL": db_url})  # a restart: the data must all be there
    try:
        health = requests.get(restarted.url + "/healthz", timeout=5).status_code
    finally:
        restarted.stop()
    store = Store(db_url)
    stored = [r["card_uuid"] for r in store.feedback_rows() if r["card_uuid"] in cards]
    store.dispose()
    return {"requests": s.requests, "seconds": round(s.seconds, 1), "statuses": dict(s.statuses), "errors": s.errors,
            "rss_before_mb": {k: round(v, 1) for k, v in s.rss_before_mb.items()},
            "rss_after_mb": {k: round(v, 1) for k, v in s.rss_after_mb.items()},
            "feedback_posts": posts, "feedback_failed_posts": failed, "feedback_unique_items": len(cards),
            "feedback_rows_after_restart": len(stored), "feedback_duplicates": len(stored) - len(set(stored)),
            "health_after_restart": health,
            "graceful_shutdown": graceful_shutdown(db_url), "start_up_window": dict(start_up_window(db_url))}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--feedback-clients", type=int, default=32)
    parser.add_argument("--feedback-items", type=int, default=50)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    db_url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='cds-soak-')}/soak.db"
    report = run(args.requests, args.clients, args.feedback_clients, args.feedback_items, db_url)
    out = REPO_ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "soak.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
