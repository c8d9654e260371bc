"""Prefetch templates and the fallback searches built from them (cds_service/prefetch.py)."""
from __future__ import annotations

from cds_service import prefetch

LONGEST_ID = "p" * 64  # the request schema's longest patientId
BASE = "https://" + "fhir." * 38 + "example.org/r4"  # a 200-character FHIR base, longer than any seen in practice


def test_every_prefetch_and_fallback_url_stays_under_2000_characters(engine):
    context = {"patientId": LONGEST_ID, "userId": "Practitioner/x"}
    assert engine.prefetch_keys and len(BASE) >= 200
    for key in engine.prefetch_keys:
        template = engine.prefetch_templates[key.key]
        url = prefetch.search_url(BASE, key, context)
        by = "?_id=" if key.by_id else "?patient="  # the Patient itself is searched by id (issue 18)
        assert url.startswith(BASE + "/" + key.resource_type + by + LONGEST_ID)
        assert len(template) < prefetch.MAX_URL and len(url) < prefetch.MAX_URL, key.key
        assert len(url) - len(BASE) <= prefetch.MAX_URL - 1000, f"{key.key}: leave 1,000 characters for the base"


def test_the_patient_fallback_searches_by_id_not_by_patient(engine):
    key = next(k for k in engine.prefetch_keys if k.key == "patient")
    url = prefetch.search_url(BASE, key, {"patientId": "pat-1"})
    assert url == BASE + "/Patient?_id=pat-1" and "patient=" not in url


def test_every_order_service_url_stays_under_2000_characters(knowledge, settings):
    from cds_service.orders import engine as orders_engine
    context = {"patientId": LONGEST_ID, "userId": "Practitioner/x"}
    engines = orders_engine.build(knowledge, settings)
    assert engines
    for engine in engines.values():
        for key in engine.prefetch_keys:
            url = prefetch.search_url(BASE, key, context)
            assert len(engine.prefetch_templates[key.key]) < prefetch.MAX_URL and len(url) < prefetch.MAX_URL, key.key
            assert len(url) - len(BASE) <= prefetch.MAX_URL - 1000, key.key


def test_conditions_are_read_by_patient_and_filtered_here(engine):
    key = next(k for k in engine.prefetch_keys if k.key == "conditions")
    assert "code=" not in key.params and key.required
    observations = next(k for k in engine.prefetch_keys if k.key == "observations")
    assert "77194-9" in observations.params  # Observations stay code-filtered


def test_an_unfiltered_condition_search_still_yields_only_known_codes(evaluate):
    from builders import ICD, SCT, condition, hook_request
    asthma, migraine = condition(ICD, "J45.909"), condition(SCT, "37796009")
    assert evaluate(hook_request([asthma, migraine])) == []
