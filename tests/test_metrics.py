"""Prometheus metrics move with traffic."""
from __future__ import annotations

import re

from builders import SCT, condition, hook_request


def value(text: str, name: str, **labels) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_counters_and_histograms_move(client):
    url = "/cds-services/leg-pain-claudication"
    bad = condition(SCT, "18347007")
    bad["onsetDateTime"] = "garbage"
    for _ in range(3):
        client.post(url, json=hook_request([condition(SCT, "63491006"), bad]))
    client.post(url, json={"hook": "patient-view"})
    client.post(url + "/feedback", json={"feedback": [{"card": "c", "outcome": "overridden",
                                                       "outcomeTimestamp": "2026-11-27T10:00:00Z"}]})
    text = client.get("/metrics").data.decode()
    assert value(text, "cds_http_requests_total", endpoint="/cds-services/{id}", status="200") == 3
    assert value(text, "cds_http_requests_total", endpoint="/cds-services/{id}", status="400") == 1
    assert value(text, "cds_http_request_duration_seconds_count", endpoint="/cds-services/{id}") == 4
    assert value(text, "cds_cards_total", topic="arterial-claudication", indicator="warning") == 3
    assert value(text, "cds_malformed_resources_total") == 3
    assert value(text, "cds_feedback_items_total", outcome="overridden") == 1


def test_unknown_leg_codes_are_counted_without_the_code(client):
    from builders import ICD
    url = "/cds-services/leg-pain-claudication"
    gaps = [condition(ICD, "I87.1"), condition(ICD, "I73.89")]  # leg blocks, in no value set
    known_or_named = [condition(ICD, "I70.25"), condition(ICD, "I82.401"), condition(ICD, "J45.909")]
    client.post(url, json=hook_request([*gaps, *known_or_named]))
    text = client.get("/metrics").data.decode()
    assert value(text, "cds_unknown_condition_codes_total") == 2
    assert "I87.1" not in text and "I73.89" not in text


def test_unknown_snomed_leg_codes_are_counted_without_the_code(client):
    url = "/cds-services/leg-pain-claudication"
    gaps = [condition(SCT, "1208847002"), condition(SCT, "16419171000119104"), condition(SCT, "473109007")]
    known_or_named = [condition(SCT, "404223003"), condition(SCT, "230577008"), condition(SCT, "102557007")]
    client.post(url, json=hook_request([*gaps, *known_or_named]))
    text = client.get("/metrics").data.decode()
    assert value(text, "cds_unknown_condition_codes_total") == 3
    assert "1208847002" not in text and "16419171000119104" not in text and "473109007" not in text
