"""In-process cost per request against record size, side by side in one run (medians, p99).

Four figures per body: ``orjson.loads`` of it with the garbage collector paused (the floor: reading
the body at all), the service's engine on it (``prefetch.decode`` + evaluate, as the hook endpoint does, with the
collector paused as app.CollectorPause pauses it; no HTTP), the whole service app
through WSGI (middleware, Flask, governance on SQLite, metrics, the INFO request line) and the naive
peer's app through WSGI (bench/naive.py: a fhir.resources model for every resource).
"""
from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable

import orjson

from bench import inprocess
from cds_service import prefetch
from cds_service.engine import Engine


@dataclass
class Timing:
    p50_ms: float
    p99_ms: float


@dataclass
class Row:
    label: str
    size: int
    body_bytes: int
    loads: Timing  # orjson.loads, collector paused
    engine: Timing  # decode + evaluate
    service: Timing  # the service app, through WSGI
    naive: Timing | None  # the naive app, through WSGI (None when skipped)
    cards: int

    @property
    def engine_ratio(self) -> float:
        return self.engine.p50_ms / self.loads.p50_ms

    @property
    def service_ratio(self) -> float:
        return self.service.p50_ms / self.loads.p50_ms

    @property
    def naive_over_service(self) -> float | None:
        """Above 1: the service is faster than the naive peer."""
        return self.naive.p50_ms / self.service.p50_ms if self.naive else None


def timing(fn: Callable[[], Any], repeat: int, *, paused: bool = False) -> Timing:
    """Median and nearest-rank p99 of `repeat` calls; with `paused` the collector is off around each call."""
    samples = []
    for _ in range(repeat):
        if paused:
            gc.disable()
        started = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - started
        if paused:
            gc.enable()
        samples.append(elapsed * 1000)
    samples.sort()
    return Timing(statistics.median(samples), samples[min(len(samples) - 1, max(0, round(0.99 * len(samples)) - 1))])


def measure(engine: Engine, service: Any, naive: Any | None, body: bytes, label: str, size: int, repeat: int) -> Row:
    """One row: each figure measured `repeat` times (the naive peer a third as often, at least once)."""
    call_service = inprocess.caller(service, body)
    if call_service() != 200:
        raise RuntimeError(f"the service refused the {label} body")
    cards = len(engine.evaluate(orjson.loads(body)).response["cards"])
    call_naive = inprocess.caller(naive, body) if naive is not None else None
    if call_naive is not None and call_naive() != 200:
        raise RuntimeError(f"the naive peer refused the {label} body")
    return Row(label=label, size=size, body_bytes=len(body),
               loads=timing(lambda: orjson.loads(body), repeat, paused=True),
               engine=timing(lambda: engine.evaluate(prefetch.decode(body)), repeat, paused=True),  # as app.CollectorPause
               service=timing(call_service, repeat),
               naive=timing(call_naive, max(1, repeat // 3)) if call_naive is not None else None,
               cards=cards)
