"""Run every benchmark in one go and write bench/out/report.md and bench/out/latency.png.

    make bench                      # or: .venv/bin/python -m bench [--quick]
"""
from __future__ import annotations

import argparse
import gc
import platform
import time
from pathlib import Path

from cds_service import knowledge as knowledge_mod
from cds_service.config import REPO_ROOT, Settings
from cds_service.engine import Engine

from . import bodies, cohort, evaluation, load

OUT = REPO_ROOT / "bench" / "out"
SIZES = (10, 100, 1_000, 10_000)


def plot(rows, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sizes = [r.size for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.loglog(sizes, [r.loads_ms for r in rows], "o-", label="orjson.loads (the floor)")
    ax.loglog(sizes, [r.service_ms for r in rows], "s-", label="service: decode + evaluate")
    ax.loglog(sizes, [r.naive_ms for r in rows], "^--", label="without pre-filter: a model for every resource")
    ax.set_xlabel("resources in prefetch")
    ax.set_ylabel("median time per request (ms)")
    ax.set_title("Evaluation cost against record size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="small repeat counts and short load runs (smoke test)")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP load test")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    engine = Engine(knowledge_mod.load(REPO_ROOT), Settings())
    bodies.resource_pool()
    gc.collect()
    gc.freeze()  # as `cds-service serve` does in each worker after start-up
    lines = ["# Benchmark report", "", f"Machine: {platform.machine()}, {platform.python_implementation()} "
             f"{platform.python_version()}, run {time.strftime('%Y-%m-%d %H:%M:%S')}. All figures from this one run.", ""]

    rows = []
    for size in SIZES:
        repeat = 3 if args.quick else (200 if size <= 100 else 50 if size <= 1000 else 15)
        rows.append(evaluation.measure(engine, bodies.prefetch_body(size), size, repeat))
    lines += ["## Evaluation cost against record size", "",
              "Median per request, in this process with the start-up heap frozen as each server worker does "
              "(`gc.freeze()`), the garbage collector otherwise on, as in production. *Service* is what the service does with a body (orjson decode, pre-filter, "
              "models for relevant resources, findings, assessment, cards); *ratio* divides it by `orjson.loads` "
              "of the same body. *Without pre-filter* builds a fhir.resources model for every resource first.", "",
              "| resources | body | orjson.loads | service | ratio | without pre-filter | ratio | cards |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r.size:,} | {r.body_bytes / 1024:,.0f} KiB | {r.loads_ms:.3f} ms | {r.service_ms:.3f} ms | "
                     f"{r.ratio:.2f} | {r.naive_ms:.1f} ms | {r.naive_ratio:.1f} | {r.cards} |")
    plot(rows, OUT / "latency.png")
    lines += ["", "![latency against record size](latency.png)", ""]

    knowledge = engine.knowledge
    lines += cohort.report_lines(cohort.measure(knowledge), sorted(knowledge.templates))

    if not args.no_http:
        body_path = bodies.write(OUT / "typical-body.json", bodies.typical_body(engine))
        server = load.Server(workers=2, threads=4)
        try:
            url = server.url + "/cds-services/leg-pain-claudication"
            load.run_load(url, body_path, 4, 1 if args.quick else 2)  # warm-up
            rss_before = {pid: server.rss_mb(pid) for pid in server.worker_pids()}
            load_rows = [load.run_load(url, body_path, c, 2 if args.quick else 10) for c in (1, 8, 32, 64)]
            rss_after = {pid: (server.rss_mb(pid), server.rss_mb(pid, "VmHWM")) for pid in server.worker_pids()}
        finally:
            server.stop()
        lines += ["## HTTP load (typical patient)", "",
                  f"`cds-service serve --workers 2 --threads 4` on 127.0.0.1, the Python load generator in bench/load.py (one process, one keep-alive connection per client, on the same machine) posting the prefetch the "
                  f"service's own templates return for the largest synthetic patient ({body_path.stat().st_size:,} bytes), "
                  f"{2 if args.quick else 10} s per level.", "",
                  "| clients | requests/s | p50 | p95 | p99 | requests | errors |", "|---:|---:|---:|---:|---:|---:|---:|"]
        for r in load_rows:
            lines.append(f"| {r.concurrency} | {r.rps:,.0f} | {r.p50_ms:.1f} ms | {r.p95_ms:.1f} ms | {r.p99_ms:.1f} ms | "
                         f"{r.requests:,} | {r.errors} |")
        lines += ["", "Memory per worker (MiB): " + ", ".join(
            f"pid {pid}: RSS {rss_before.get(pid, 0):.0f} before, {now:.0f} after, peak {peak:.0f}"
            for pid, (now, peak) in rss_after.items()), ""]
    (OUT / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
