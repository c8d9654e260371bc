"""Evaluation cost against record size, as a ratio to orjson.loads of the same body (one run, medians)."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import orjson

from cds_service import records
from cds_service.engine import Engine


@dataclass
class Row:
    size: int
    body_bytes: int
    loads_ms: float
    service_ms: float  # decode + evaluate, what the service does with the body
    naive_ms: float  # decode + a fhir.resources model for every resource + evaluate
    cards: int

    @property
    def ratio(self) -> float:
        return self.service_ms / self.loads_ms

    @property
    def naive_ratio(self) -> float:
        return self.naive_ms / self.loads_ms


def _median(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _every_model(body: dict) -> None:
    for value in body["prefetch"].values():
        for entry in (value or {}).get("entry", ()):
            model = records.MODELS.get(entry["resource"].get("resourceType"))
            if model is not None:
                try:
                    model.model_validate(entry["resource"])
                except Exception:  # noqa: BLE001 - the naive path would skip it too
                    pass


def measure(engine: Engine, body: bytes, size: int, repeat: int) -> Row:
    cards = len(engine.evaluate(orjson.loads(body)).response["cards"])
    loads = _median(lambda: orjson.loads(body), repeat)
    service = _median(lambda: engine.evaluate(orjson.loads(body)), repeat)

    def naive():
        decoded = orjson.loads(body)
        _every_model(decoded)
        engine.evaluate(decoded)

    naive_ms = _median(naive, max(1, repeat // 3))
    return Row(size=size, body_bytes=len(body), loads_ms=loads, service_ms=service, naive_ms=naive_ms, cards=cards)
