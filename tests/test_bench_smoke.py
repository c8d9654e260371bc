"""A quick run of the benchmark code (no timing assertions: benchmarks report, tests do not time).

The whole file stays under about 10 s on 2 shared cores: one repeat per figure, bodies of 10 and 100
resources, no HTTP (bench/load.py has its own tests in test_bench_load.py)."""
from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest

from bench import bodies, evaluation, inprocess, naive


@pytest.fixture(scope="module")
def apps():
    import logging
    root = logging.getLogger("cds_service")
    handlers = list(root.handlers)
    yield inprocess.service_app(), inprocess.naive_app()
    root.handlers[:] = handlers  # the bench's /dev/null handler must not outlive these tests


def test_bodies_have_the_requested_size_and_every_figure_is_measured(engine, apps):
    service, peer = apps
    for size in (10, 100):
        body = bodies.prefetch_body(size)
        decoded = orjson.loads(body)
        assert sum(len(v["entry"]) for v in decoded["prefetch"].values()) == size
        row = evaluation.measure(engine, service, peer, body, f"{size}", size, repeat=1)
        assert row.cards >= 1 and row.size == size and row.body_bytes == len(body)
        for figure in (row.loads, row.engine, row.service, row.naive):
            assert figure is not None and 0 < figure.p50_ms <= figure.p99_ms


def test_the_naive_peer_gives_the_services_card_topic_on_the_typical_body(engine, knowledge, apps):
    """The peer is a fair reference only while it reaches the same rule result on the typical body."""
    decoded = orjson.loads(bodies.typical_body(engine))
    ours = [c["source"]["topic"]["code"] for c in engine.evaluate(decoded).response["cards"]]
    theirs = [c["source"]["topic"]["code"] for c in naive.cards(naive.models(decoded), knowledge, datetime.now(timezone.utc))]
    assert ours == theirs == ["neurogenic-claudication"]
    service, peer = apps
    body = bodies.typical_body(engine)
    assert inprocess.caller(service, body)() == 200 and inprocess.caller(peer, body)() == 200


def test_a_body_the_service_refuses_is_reported_not_timed(engine, apps):
    service, peer = apps
    with pytest.raises(RuntimeError, match="service refused"):
        evaluation.measure(engine, service, peer, b'{"hook": "patient-view"}', "broken", 0, repeat=1)


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


def test_the_open_loop_level_is_reported_for_both_apps_at_one_rate():
    from bench import load
    from bench.__main__ import PACED_CLIENTS, paced_lines

    def row(p99):
        return load.LoadRow(concurrency=PACED_CLIENTS, offered=70.0, rps=69.5, p50_ms=3.0, p95_ms=5.0, p99_ms=p99,
                            requests=695, errors=0)
    lines = paced_lines(row(9.0), row(30.0), 10.0)
    assert f"{PACED_CLIENTS} clients together offering 70 req/s" in lines[2]
    assert "| service | 70 | 70 | 3.0 ms | 9.0 ms | 0 | - |" in lines and "| naive | 70 | 70 | 3.0 ms | 30.0 ms | 0 | - |" in lines


def test_a_levels_cpu_split_names_each_workers_share():
    from bench import load
    row = load.LoadRow(concurrency=8, offered=None, rps=1.0, p50_ms=1, p95_ms=1, p99_ms=1, requests=1, errors=0,
                       worker_share=(0.996, 0.004))
    assert row.split == "100/0"
    row.worker_share = ()
    assert row.split == "-"
