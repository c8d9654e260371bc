"""HTTP load against `cds-service serve` on 127.0.0.1: throughput, p50/p95/p99, errors, RSS.

Two kinds of level. Closed loop: each client sends its next request as soon as the answer is read,
so the latency grows with the number of clients (on 2 cores, 32 clients make p50 at least 32 divided
by the throughput). Open loop: the clients together offer a fixed request rate, below what the server
can take, and the latency is what one request waits from when it was due: a property of the service,
not of the queue the generator builds.

The load generator is plain Python (asyncio, one keep-alive connection per client, the request
bytes built once), so `make bench` needs no system package and no root. It runs in one process on
the same machine as the server and takes CPU from it: figures are comparable between runs on one
machine, not an upper bound of the service.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests


@dataclass
class LoadRow:
    concurrency: int
    offered: float | None  # open loop: the request rate offered (req/s); None for a closed loop
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    errors: int
    worker_share: tuple[float, ...] = ()  # each worker's share of the server CPU during the level (Server.run_measured)

    @property
    def split(self) -> str:
        """The workers' CPU shares as whole percentages, e.g. "52/48" ("-" when not measured)."""
        return "/".join(f"{share * 100:.0f}" for share in self.worker_share) or "-"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`cds-service serve` (or, with ``module="bench.naive"``, the naive peer under the same gunicorn
    settings) in a subprocess, stopped with SIGTERM (graceful)."""

    def __init__(self, workers: int = 2, threads: int | None = None, env: dict | None = None,
                 args: tuple[str, ...] = (), stderr_path: Path | None = None, module: str = "cds_service.cli serve"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = tempfile.mkdtemp(prefix="cds-bench-")
        full_env = {**os.environ, "CDS_DATABASE_URL": f"sqlite:///{self.db}/bench.db", "CDS_LOG_LEVEL": "WARNING",
                    **(env or {})}
        full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        command = [sys.executable, "-m", *module.split(), "--port", str(self.port), "--workers", str(workers),
                   *(("--threads", str(threads)) if threads else ()), *args]
        self._stderr = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL
        self.process = subprocess.Popen(command, env=full_env, stdout=subprocess.DEVNULL, stderr=self._stderr,
                                        start_new_session=True, cwd=Path(__file__).resolve().parent.parent)
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(self.url + "/readyz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("cds-service serve did not start")
            time.sleep(0.2)

    def worker_pids(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    @staticmethod
    def rss_mb(pid: int, field: str = "VmRSS") -> float:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return 0.0

    @staticmethod
    def cpu_s(pid: int) -> float:
        """User + system CPU seconds the process has used so far."""
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def run_measured(self, url: str, body_path: Path, concurrency: int, seconds: float, timeout: float = 5.0,
                     rate: float | None = None) -> LoadRow:
        """``run_load`` with each worker's share of the server CPU it took (``LoadRow.worker_share``).
        Why: gunicorn's threaded workers each accept connections from the shared socket, and the
        keep-alive connections of one level often all land on one worker, which then serves them all
        under one GIL while the other idles: a level's throughput is then that of one process."""
        pids = self.worker_pids()
        before = [self.cpu_s(pid) for pid in pids]
        row = run_load(url, body_path, concurrency, seconds, timeout, rate)
        used = [self.cpu_s(pid) - b for pid, b in zip(pids, before, strict=True)]
        row.worker_share = tuple(u / sum(used) for u in used) if sum(used) > 0 else ()
        return row

    def stop(self) -> int:
        os.killpg(self.process.pid, signal.SIGTERM)
        code = self.process.wait(timeout=30)
        shutil.rmtree(self.db, ignore_errors=True)
        if self._stderr is not subprocess.DEVNULL:
            self._stderr.close()
        return code


def _percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 when nothing was measured)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes,
                    timeout: float) -> tuple[int, bool]:
    """Send the request once and read the whole answer (the service always sends Content-Length):
    its status, and whether the server closes the connection after it."""
    writer.write(request)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    status = int(head.split(b" ", 2)[1])
    length, close = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        elif name.strip().lower() == b"connection" and value.strip().lower() == b"close":
            close = True
    await asyncio.wait_for(reader.readexactly(length), timeout)
    return status, close


_FAILED = (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)


async def _client(host: str, port: int, request: bytes, stop_at: float, timeout: float, latencies: list[float],
                  counts: dict, pace: tuple[float, float] | None = None) -> None:
    """One client on a keep-alive connection until stop_at. Closed loop (``pace`` None): the next
    request as soon as the answer is read, latency from the send. Open loop (``pace`` = (first, interval)
    in loop time): a request is due at first, first + interval, ...; the client waits for the due time,
    or sends at once when it is behind, and the latency counts from the due time, so time spent queued
    behind a slow answer is not hidden (no coordinated omission). A refused, reset or stalled connection
    counts as an error and is opened again."""
    reader = writer = None
    loop = asyncio.get_running_loop()
    due = pace[0] if pace else 0.0
    while (due if pace else loop.time()) < stop_at:
        if pace:
            await asyncio.sleep(max(0.0, due - loop.time()))
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
            started = due if pace else loop.time()
            status, close = await _exchange(reader, writer, request, timeout)  # type: ignore[arg-type]
            latencies.append(loop.time() - started)
            counts["requests"] += 1
            if not 200 <= status < 300:
                counts["errors"] += 1
            if close:
                writer.close()
                writer = None
        except _FAILED:
            counts["errors"] += 1
            if writer is not None:
                writer.close()
            writer = None
        if pace:
            due += pace[1]
    if writer is not None:
        writer.close()


async def _load(url: str, body: bytes, concurrency: int, seconds: float, timeout: float,
                rate: float | None = None) -> tuple[list[float], dict, float]:
    parts = urlsplit(url)
    request = (f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n").encode() + body
    latencies: list[float] = []
    counts = {"requests": 0, "errors": 0}
    loop = asyncio.get_running_loop()
    started = loop.time()
    interval = concurrency / rate if rate else 0.0  # each client's share of the offered rate, staggered
    await asyncio.gather(*(_client(parts.hostname, parts.port, request, started + seconds, timeout, latencies, counts,
                                   (started + i * interval / concurrency, interval) if rate else None)
                           for i in range(concurrency)))
    return latencies, counts, loop.time() - started


def run_load(url: str, body_path: Path, concurrency: int, seconds: float, timeout: float = 5.0,
             rate: float | None = None) -> LoadRow:
    """`concurrency` clients posting the body for `seconds`; latency per completed request. Closed loop
    (back to back) by default; with `rate`, open loop: the clients together offer `rate` requests per
    second at a fixed pace whatever the answers take, and `rps` is the rate achieved."""
    if rate is not None and rate <= 0:
        raise ValueError("an open-loop rate must be positive")
    latencies, counts, elapsed = asyncio.run(_load(url, body_path.read_bytes(), concurrency, seconds, timeout, rate))
    latencies.sort()
    if rate is not None:  # the schedule spans `seconds`: answered sooner is not a higher rate
        elapsed = max(elapsed, seconds)
    return LoadRow(concurrency=concurrency, offered=rate, rps=counts["requests"] / elapsed, p50_ms=_percentile(latencies, 50) * 1000,
                   p95_ms=_percentile(latencies, 95) * 1000, p99_ms=_percentile(latencies, 99) * 1000,
                   requests=counts["requests"], errors=counts["errors"])
