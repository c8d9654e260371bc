"""HTTP load against `cds-service serve` on 127.0.0.1 with wrk (Debian): throughput, p50/p95/p99, errors, RSS."""
from __future__ import annotations

import json
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

import requests

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("%s", "rb"); wrk.body = f:read("*a"); f:close()
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %%d, "duration_us": %%d, "socket_errors": %%d, "non2xx": %%d, "p50": %%d, "p95": %%d, "p99": %%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


@dataclass
class LoadRow:
    concurrency: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    errors: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`cds-service serve` in a subprocess, stopped with SIGTERM (graceful)."""

    def __init__(self, workers: int = 2, threads: int | None = None, env: dict | None = None,
                 args: tuple[str, ...] = (), stderr_path: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = tempfile.mkdtemp(prefix="cds-bench-")
        full_env = {**os.environ, "CDS_DATABASE_URL": f"sqlite:///{self.db}/bench.db", "CDS_LOG_LEVEL": "WARNING",
                    **(env or {})}
        full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        command = [sys.executable, "-m", "cds_service.cli", "serve", "--port", str(self.port), "--workers", str(workers),
                   *(("--threads", str(threads)) if threads else ()), *args]
        self._stderr = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL
        self.process = subprocess.Popen(command, env=full_env, stdout=subprocess.DEVNULL, stderr=self._stderr,
                                        start_new_session=True)
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

    def stop(self) -> int:
        os.killpg(self.process.pid, signal.SIGTERM)
        code = self.process.wait(timeout=30)
        shutil.rmtree(self.db, ignore_errors=True)
        if self._stderr is not subprocess.DEVNULL:
            self._stderr.close()
        return code


def wrk_available() -> str:
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed: `make bench` installs Debian's wrk package")
    return found


def run_wrk(url: str, body_path: Path, concurrency: int, seconds: int) -> LoadRow:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % body_path)
    out = subprocess.run([wrk_available(), "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "5s", "-s", script.name,
                          url], capture_output=True, text=True, timeout=seconds + 30)
    os.unlink(script.name)
    line = next(l for l in out.stdout.splitlines() if l.startswith("RESULT "))
    r = json.loads(line[len("RESULT "):])
    return LoadRow(concurrency=concurrency, rps=r["requests"] / (r["duration_us"] / 1e6), p50_ms=r["p50"] / 1000,
                   p95_ms=r["p95"] / 1000, p99_ms=r["p99"] / 1000, requests=r["requests"],
                   errors=r["socket_errors"] + r["non2xx"])
