"""The engine contract: parse_request(body) -> HookRequest, evaluate_request(request) -> Result,
with the stats assembled once from what each stage returned."""
from __future__ import annotations

import pytest

from cds_service.errors import BadRequest
from cds_service.prefetch import KeyResult

from builders import NOW, SCT, condition, hook_request


def test_parse_request_measures_itself_and_keeps_no_body(engine):
    request = engine.parse_request(hook_request([condition(SCT, "63491006")]))
    assert request.parse_ms > 0 and request.patient_id and "conditions" in request.prefetch


@pytest.mark.parametrize("body", [[], "x", None])
def test_parse_request_refuses_what_is_not_an_object(engine, body):
    with pytest.raises(BadRequest, match="JSON object"):
        engine.parse_request(body)


def test_stats_come_from_the_stages(engine):
    request = engine.parse_request(hook_request([condition(SCT, "63491006")]))
    result = engine.evaluate_request(request, now=NOW)
    stats = result.stats
    assert list(stats.timings_ms) == ["request", "prefetch", "evaluation", "render", "governance"]
    assert stats.timings_ms["request"] == request.parse_ms
    assert stats.resources_seen >= 1 and stats.resources_used >= 1 and stats.fetched_keys == 0
    assert set(stats.keys) == {k.key for k in engine.prefetch_keys}


def test_fetched_keys_and_fetch_time_are_what_gather_returned(engine):
    body = hook_request([condition(SCT, "63491006")])
    del body["prefetch"]["procedures"]
    asked = []

    def fetcher(jobs):
        asked.extend(k.key for k, _ in jobs)
        return [KeyResult("null") for _ in jobs]

    gathered = engine.gather(engine.parse_request(body), fetcher)
    assert "procedures" in asked and gathered.fetched_keys == len(asked) and gathered.fetch_ms is not None
    assert gathered.keys["procedures"] == "null"


def test_evaluate_is_parse_then_evaluate_request(engine):
    body = hook_request([condition(SCT, "63491006")])
    assert engine.evaluate(body, now=NOW).response == engine.evaluate_request(engine.parse_request(body), now=NOW).response
