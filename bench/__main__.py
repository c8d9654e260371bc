"""Run every benchmark in one go and write bench/out/report.md and bench/out/latency.png.

    make bench                      # or: .venv/bin/python -m bench [--quick] [--no-http]

Everything in one run, side by side, because the machine is shared: the service, the naive peer
(bench/naive.py) and ``orjson.loads`` with the collector paused, at the typical body and at 10,
100, 1k and 10k resources, in this process and over HTTP (8 and 32 clients, both apps under the
same gunicorn settings), with p50/p99 and RSS per worker, and an open-loop level (32 clients offering
a fixed rate, half the naive peer's best closed-loop throughput on the typical body, to both apps). Ratios from one run are comparable;
absolute figures move with whatever else the machine runs (the load average is in the report).
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import time
from pathlib import Path
from typing import Callable

from cds_service import knowledge as knowledge_mod
from cds_service.config import REPO_ROOT, Settings
from cds_service.engine import Engine

from . import bodies, cohort, evaluation, inprocess, load

OUT = REPO_ROOT / "bench" / "out"
SIZES = (10, 100, 1_000, 10_000)
WORKERS, THREADS = 2, 4
CLIENTS = (8, 32)
NAIVE_HTTP_MAX = 1_000  # one naive request at 10k takes seconds: 32 of them would only time out
PACED_CLIENTS = 32
PACED_SHARE = 0.5  # open loop: offered rate = this share of the naive peer's best closed-loop req/s, typical body
PACED = ("typical", "paced")  # the key of the open-loop level in the HTTP results


def plot(rows, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [r for r in rows if r.label != "typical"]
    sizes = [r.size for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.loglog(sizes, [r.loads.p50_ms for r in rows], "o-", label="orjson.loads, collector paused (the floor)")
    ax.loglog(sizes, [r.engine.p50_ms for r in rows], "s-", label="service engine: decode + evaluate")
    ax.loglog(sizes, [r.service.p50_ms for r in rows], "D-", label="service app (WSGI, all of a request)")
    naive = [(r.size, r.naive.p50_ms) for r in rows if r.naive]
    ax.loglog([s for s, _ in naive], [m for _, m in naive], "^--", label="naive peer app (a model per resource)")
    ax.set_xlabel("resources in prefetch")
    ax.set_ylabel("median time per request (ms)")
    ax.set_title("Cost per request against record size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def _repeat(size: int, quick: bool) -> int:
    if quick:
        return 3
    return 300 if size <= 100 else 40 if size <= 1000 else 10


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def paced_rate(closed: dict) -> float:
    """The open-loop level's offered rate: PACED_SHARE of the best closed-loop throughput on the typical body."""
    best = max(r.rps for (label, clients), r in closed.items() if label == "typical" and clients != "paced")
    return max(1.0, round(PACED_SHARE * best))


def _http(module: str, cases: list[tuple[str, int, Path]], seconds: dict[str, float], max_size: int | None,
          rate: Callable[[dict], float] | None = None) -> tuple[dict, str]:
    """Each case at each client count against one app, closed loop; then, when ``rate`` is given, the
    typical body from PACED_CLIENTS clients offering ``rate(closed-loop results)`` req/s (open loop).
    RSS per worker after the runs."""
    threads_arg = ("--threads", str(THREADS), "--reuse-port")
    server = load.Server(workers=WORKERS, env=inprocess.BENCH_ENV, module=module, args=threads_arg)
    results = {}
    try:
        url = server.url + inprocess.SERVICE_PATH
        load.run_load(url, cases[0][2], 4, 2)  # warm-up: both workers see requests
        for label, size, path in cases:
            if max_size is not None and size > max_size:
                continue
            for clients in CLIENTS:
                results[(label, clients)] = server.run_measured(url, path, clients, seconds[label], timeout=60)
        if rate is not None:
            results[PACED] = server.run_measured(url, cases[0][2], PACED_CLIENTS, seconds["typical"], timeout=60,
                                                 rate=rate(results))
        rss = ", ".join(f"{server.rss_mb(pid):.0f} (peak {server.rss_mb(pid, 'VmHWM'):.0f})" for pid in server.worker_pids())
    finally:
        server.stop()
    return results, rss


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="small repeat counts, two sizes, short load runs (smoke test)")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP load test")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    sizes = SIZES[:1] if args.quick else SIZES
    engine = Engine(knowledge_mod.load(REPO_ROOT), Settings())
    service, naive = inprocess.service_app(), inprocess.naive_app()
    bodies.resource_pool()
    cases = [("typical", 0, bodies.write(OUT / "typical-body.json", bodies.typical_body(engine)))]
    cases += [(f"{size:,}", size, bodies.write(OUT / f"body-{size}.json", bodies.prefetch_body(size))) for size in sizes]
    gc.collect()
    gc.freeze()  # as `cds-service serve` does in each worker after start-up
    lines = ["# Benchmark report", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
             f"{platform.python_version()}, run {time.strftime('%Y-%m-%d %H:%M:%S')}; {_load()} at the start. "
             "All figures from this one run.", ""]

    rows = []
    for label, size, path in cases:
        body = path.read_bytes()
        rows.append(evaluation.measure(engine, service, naive, body, label, size or _resources(body), _repeat(size, args.quick)))
    lines += ["## In process: cost per request against record size", "",
              "p50 (p99) per request in this process, start-up heap frozen as each worker does (`gc.freeze()`). "
              "*loads*: `orjson.loads` of the body with the collector paused (the floor). *engine*: the service's "
              "`prefetch.decode` + evaluate, collector paused as the app pauses it. *service*: the whole app through "
              "WSGI (collector pause, body middleware, Flask, governance on SQLite, metrics, the INFO request line "
              "to /dev/null). *naive*: the naive peer's app (bench/naive.py) "
              "through WSGI. *typical* is the largest synthetic patient through our own prefetch templates.", "",
              "| body | resources | size | loads | engine | engine / loads | service | service / loads | naive | naive / service | cards |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        naive_cell = f"{r.naive.p50_ms:.2f} ({r.naive.p99_ms:.2f}) ms" if r.naive else "-"
        lines.append(f"| {r.label} | {r.size:,} | {r.body_bytes / 1024:,.0f} KiB | {r.loads.p50_ms:.3f} ms | "
                     f"{r.engine.p50_ms:.3f} ms | {r.engine_ratio:.2f} | {r.service.p50_ms:.2f} ({r.service.p99_ms:.2f}) ms | "
                     f"{r.service_ratio:.2f} | {naive_cell} | {r.naive_over_service or 0:.2f} | {r.cards} |")
    plot(rows, OUT / "latency.png")
    lines += ["", "![latency against record size](latency.png)", ""]

    knowledge = engine.knowledge
    lines += cohort.report_lines(cohort.measure(knowledge), sorted(knowledge.templates))

    if not args.no_http:
        seconds = {label: (1.0 if args.quick else 10.0 if label == "typical" else 3.0) for label, _, _ in cases}
        theirs, theirs_rss = _http("bench.naive", cases, seconds, NAIVE_HTTP_MAX, paced_rate)  # first: it sets the rate
        ours, ours_rss = _http("cds_service.cli serve", cases, seconds, None, lambda _: theirs[PACED].offered)
        lines += ["## HTTP load", "",
                  f"Both apps under gunicorn with the same settings (gthread, {WORKERS} workers, {THREADS} threads, "
                  "keep-alive 5 s, `--reuse-port`; `cds-service serve` and `python -m bench.naive`), the service at its production "
                  "log level (INFO, to /dev/null), on 127.0.0.1; the Python load generator in bench/load.py (one process, "
                  "one keep-alive connection per client, on the same machine, taking CPU from the servers). "
                  f"{seconds['typical']:.0f} s per level for the typical body, {seconds[cases[-1][0]]:.0f} s for the "
                  f"others; the naive peer only up to {NAIVE_HTTP_MAX:,} resources, and first (its closed-loop throughput sets "
                  f"the open-loop rate below). {_load()} at the end.", "",
                  "*CPU split*: each worker's share of the app's CPU during the level. Without `--reuse-port` "
                  "gunicorn's threaded workers race to accept from one socket, and the keep-alive connections of a "
                  "level often all land on one worker (100/0), which then serves them under one GIL: such a level "
                  "measures one process. With it each worker has its own socket and the kernel shares the "
                  "connections out.", "",
                  "| body | clients | service req/s | p50 | p99 | errors | CPU split | naive req/s | p50 | p99 | errors | "
                  "CPU split | service / naive req/s |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for (label, clients), r in ours.items():
            if (label, clients) == PACED:
                continue
            n = theirs.get((label, clients))
            naive_cells = (f"{n.rps:,.0f} | {n.p50_ms:.1f} ms | {n.p99_ms:.1f} ms | {n.errors} | {n.split} | "
                           f"{r.rps / n.rps if n.rps else 0:.2f}") if n else "- | - | - | - | - | -"
            lines.append(f"| {label} | {clients} | {r.rps:,.0f} | {r.p50_ms:.1f} ms | {r.p99_ms:.1f} ms | {r.errors} | "
                         f"{r.split} | {naive_cells} |")
        lines += ["", f"RSS per worker after the runs (MiB): service {ours_rss}; naive {theirs_rss}.", ""]
        lines += paced_lines(ours[PACED], theirs[PACED], seconds["typical"])
    summary = summary_lines(rows, ours, theirs, ours_rss, theirs_rss) if not args.no_http else []
    lines[4:4] = summary
    (OUT / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def paced_lines(ours: load.LoadRow, theirs: load.LoadRow, seconds: float) -> list[str]:
    """The open-loop level: the same offered rate to both apps, latency counted from when each request was due."""
    return ["### Open loop: a fixed offered rate", "",
            f"{PACED_CLIENTS} clients together offering {ours.offered:,.0f} req/s of the typical body for {seconds:.0f} s "
            f"({PACED_SHARE:.0%} of the naive peer's best closed-loop throughput on that body in this run, the same rate "
            "for both apps). Each client sends at a fixed pace whatever the answers take; a request's latency counts "
            "from when it was due, so waiting behind a slow answer is counted, not hidden. With a closed loop of "
            f"{PACED_CLIENTS} clients on 2 cores, p50 is at least {PACED_CLIENTS} / throughput: the queue the generator "
            "builds, not the service.", "",
            "| app | offered req/s | achieved req/s | p50 | p99 | errors | CPU split |", "|---|---:|---:|---:|---:|---:|---:|",
            *(f"| {name} | {r.offered:,.0f} | {r.rps:,.0f} | {r.p50_ms:.1f} ms | {r.p99_ms:.1f} ms | {r.errors} | {r.split} |"
              for name, r in (("service", ours), ("naive", theirs))), ""]


def summary_lines(rows, ours, theirs, ours_rss: str, theirs_rss: str) -> list[str]:
    """The issue-23 figures in one table (the README's performance table is copied from it)."""
    by = {r.label: r for r in rows}
    typical, out = by["typical"], ["## Summary", "", "| figure | service | naive peer | ratio |", "|---|---:|---:|---:|"]
    for label in ("typical", "10"):
        r = by[label]
        if r.naive:
            out.append(f"| in process, {label} body ({r.size} resources), p50 | {r.service.p50_ms:.2f} ms | "
                       f"{r.naive.p50_ms:.2f} ms | naive / service {r.naive_over_service:.2f} |")
    for clients in CLIENTS:
        for label in ("typical", "10"):
            r, n = ours.get((label, clients)), theirs.get((label, clients))
            if r and n:
                out.append(f"| HTTP, {label} body, {clients} clients | {r.rps:,.0f} req/s, p50 {r.p50_ms:.0f} ms, "
                           f"p99 {r.p99_ms:.0f} ms, CPU split {r.split} | {n.rps:,.0f} req/s, p50 {n.p50_ms:.0f} ms, "
                           f"p99 {n.p99_ms:.0f} ms, CPU split {n.split} | service / naive {r.rps / n.rps if n.rps else 0:.2f} |")
    r, n = ours.get(PACED), theirs.get(PACED)
    if r and n:
        out.append(f"| HTTP, typical body, {PACED_CLIENTS} clients paced at {r.offered:,.0f} req/s (open loop) | "
                   f"{r.rps:,.0f} req/s, p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms | {n.rps:,.0f} req/s, "
                   f"p50 {n.p50_ms:.1f} ms, p99 {n.p99_ms:.1f} ms | p99 service / naive "
                   f"{r.p99_ms / n.p99_ms if n.p99_ms else 0:.2f} |")
    for label in ("1,000", "10,000"):
        r = by.get(label)
        if r:
            out.append(f"| in process, {label} resources: engine (app) against orjson.loads, collector paused "
                       f"({r.loads.p50_ms:.1f} ms) | {r.engine.p50_ms:.1f} ms ({r.service.p50_ms:.1f} ms) | - | "
                       f"{r.engine_ratio:.2f}x ({r.service_ratio:.2f}x) |")
    out.append(f"| RSS per worker after the HTTP runs (MiB) | {ours_rss} | {theirs_rss} | - |")
    return out + ["", f"Typical body: {typical.body_bytes:,} bytes, {typical.size} resources, {typical.cards} card.", ""]


def _resources(body: bytes) -> int:
    import orjson
    prefetch = orjson.loads(body)["prefetch"]
    return sum(len(v.get("entry", ())) if v.get("resourceType") == "Bundle" else 1 for v in prefetch.values() if v)


if __name__ == "__main__":
    main()
