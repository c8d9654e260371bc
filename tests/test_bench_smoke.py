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


def test_cohort_burden_before_and_after_the_first_override(knowledge):
    """Every synthetic patient has a snoozable neuropathy card: one override each, then none."""
    from bench import cohort
    burden = cohort.measure(knowledge)
    assert burden.openings == 18 and burden.snoozes == 18
    assert dict(burden.before) == {"neurogenic-claudication": 18} and dict(burden.after) == {}
    table = cohort.report_lines(burden, sorted(knowledge.templates))
    assert "| neurogenic-claudication | 100.0 | 0.0 |" in table
