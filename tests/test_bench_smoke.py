"""A quick run of the benchmark code (no timing assertions: benchmarks report, tests do not time)."""
from __future__ import annotations

import orjson

from bench import bodies, evaluation


def test_bodies_have_the_requested_size_and_evaluate(engine):
    for size in (10, 100):
        body = bodies.prefetch_body(size)
        decoded = orjson.loads(body)
        assert sum(len(v["entry"]) for v in decoded["prefetch"].values()) == size
        row = evaluation.measure(engine, body, size, repeat=1)
        assert row.cards >= 1 and row.loads_ms > 0 and row.service_ms > 0 and row.naive_ms > 0


def test_typical_body_is_the_largest_patient_through_our_templates(engine):
    decoded = orjson.loads(bodies.typical_body(engine))
    assert set(decoded["prefetch"]) == set(engine.prefetch_templates)
    assert len(engine.evaluate(decoded).response["cards"]) == 1
