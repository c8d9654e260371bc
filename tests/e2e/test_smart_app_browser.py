"""The SMART app in a real browser against the real FHIR server of the end-to-end suite.

Headless Chromium (tests/e2e/browser.py) opens the app through the card's development link (the
e2e server has no OAuth), sees both legs and each leg's ABI plot, answers the questions like a
spinal and like an arterial patient, and saves them. The QuestionnaireResponse is then on the
FHIR server, and the next patient-view call (no prefetch: the service reads the FHIR server)
returns the reported-only ``info`` pattern card. Each test is capped at CAP_S seconds
(pytest-timeout); every wait in the browser at WAIT_MS.

``CDS_UPDATE_SCREENSHOT=1`` also writes the README's screenshot (docs/app.png).
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests

from bench.load import Server
from browser import chromium_context, require_chromium
from cds_service.config import REPO_ROOT

require_chromium()

CAP_S = 150
WAIT_MS = 30_000
SERVICE = "/cds-services/leg-pain-claudication"
SCT, LNC = "http://snomed.info/sct", "http://loinc.org"
SITES = {"left": (SCT, "32153003", "Structure of left lower limb"), "right": (SCT, "62175007", "Structure of right lower limb")}
ANSWERS = "https://claudication-cds.example.org/fhir/CodeSystem/leg-pain-answers"
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(CAP_S)]

# Patient-like answers (the seed's descriptions): spinal on both legs; arterial on the left leg only.
SPINAL = {side: {"pain-on-walking": "true", "walking-distance": "on-standing", "relief": "sitting-leaning-forward",
                 "character": "shooting-numbness"} for side in ("left", "right")}
ARTERIAL = {"left": {"pain-on-walking": "true", "walking-distance": "short-distance", "relief": "standing-still",
                     "character": "cramping-crushing"},
            "right": {"pain-on-walking": "false"}}
# ABI per leg (days ago, value): normal on both legs for the spinal patient; the arterial patient's
# only ABIs are on the leg without symptoms (a normal ABI on the other leg says nothing against).
CASES = {
    "spinal": (SPINAL, {"left": [(400, 1.02), (30, 1.05)], "right": [(400, 1.10), (30, 1.08)]}, "neurogenic-claudication"),
    "arterial": (ARTERIAL, {"right": [(500, 1.12), (200, 1.07), (40, 1.04)]}, "arterial-claudication"),
}


def _ago(days: int) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="seconds")


def _store(fhir: str, patient: str, abis: dict) -> None:
    resources = [{"resourceType": "Patient", "id": patient, "name": [{"given": ["Alex"], "family": "Walker"}],
                  "birthDate": "1956-04-02"},
                 {"resourceType": "Condition", "id": f"{patient}-pain", "subject": {"reference": f"Patient/{patient}"},
                  "code": {"coding": [{"system": SCT, "code": "10601006", "display": "Pain in lower limb"}]},
                  "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                                 "code": "active"}]},
                  "onsetDateTime": _ago(20)}]
    for side, readings in abis.items():
        system, code, display = SITES[side]
        for i, (days, value) in enumerate(readings):
            resources.append({"resourceType": "Observation", "id": f"{patient}-abi-{side}-{i}", "status": "final",
                              "subject": {"reference": f"Patient/{patient}"}, "effectiveDateTime": _ago(days),
                              "code": {"coding": [{"system": LNC, "code": "77194-9", "display": "Ankle-brachial index"}]},
                              "bodySite": {"coding": [{"system": system, "code": code, "display": display}]},
                              "valueQuantity": {"value": value, "unit": "{ratio}", "system": "http://unitsofmeasure.org",
                                                "code": "{ratio}"}})
    bundle = {"resourceType": "Bundle", "type": "transaction",
              "entry": [{"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}} for r in resources]}
    response = requests.post(fhir, json=bundle, headers={"Content-Type": "application/fhir+json"}, timeout=60)
    assert response.status_code in (200, 201), response.text[:500]


def _patient_view(service: str, fhir: str, patient: str) -> list[dict]:
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "fhirServer": fhir,
            "context": {"userId": "Practitioner/dr-1", "patientId": patient}}
    response = requests.post(service + SERVICE, json=body, timeout=30)
    assert response.status_code == 200, response.text[:500]
    return response.json()["cards"]


def _app_links(cards: list[dict], kind: str) -> list[str]:
    return [link["url"] for c in cards for link in c.get("links", ()) if link["type"] == kind and "/app/" in link["url"]]


@pytest.fixture(scope="module")
def service():
    server = Server(workers=1, env={"CDS_KNOWLEDGE_DIR": str(REPO_ROOT), "CDS_FHIR_DEADLINE_MS": "5000",
                                    "CDS_FHIR_TIMEOUT_MS": "5000"})
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium_context() as context:
        yield context


@pytest.mark.parametrize("case", list(CASES))
def test_answers_from_the_app_reach_the_record_and_the_next_cards(case, service, fhir_server, browser, tmp_path):
    answers, abis, expected = CASES[case]
    patient = f"app-{case}-{uuid.uuid4().hex[:8]}"
    _store(fhir_server, patient, abis)

    before = _patient_view(service, fhir_server, patient)
    assert [c["source"]["topic"]["code"] for c in before] == ["leg-pain-questions"]  # cause not yet clear: ask
    assert _app_links(before, "smart") == [f"{service}/app/launch"]
    (url,) = _app_links(before, "absolute")

    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url.split('?')[0]}") if r.status >= 400 else None)
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
    assert page.locator("#error").is_hidden(), page.text_content("#error")
    assert page.text_content("#patient").startswith("Alex Walker")
    for side in ("left", "right"):
        leg = page.locator(f".leg[data-side={side}]")
        assert leg.locator("h3").text_content() == f"{side.capitalize()} leg"
        plot = leg.locator("svg.abi-plot")
        assert plot.count() == 1
        assert plot.locator("circle.point").count() == len(abis.get(side, ()))
        for _, value in abis.get(side, ()):
            assert f"Ankle-brachial index: {value:.2f}" in leg.text_content()
        if side not in abis:
            assert "No ABI on file" in plot.text_content()
    assert "Pain in lower limb" in page.text_content("#unsided")

    for side, items in answers.items():
        for item, value in items.items():
            page.locator(f'[data-link-id="{side}-leg.{item}"] input[value="{value}"]').check()
    if case == "spinal" and os.environ.get("CDS_UPDATE_SCREENSHOT") == "1":
        page.screenshot(path=str(REPO_ROOT / "docs" / "app.png"), full_page=True)
    page.get_by_role("button", name="Save the answers to the record").click()
    saved = page.locator("#saved")
    saved.wait_for(state="visible", timeout=WAIT_MS)
    assert "Reopen the patient's chart" in saved.text_content()
    response_id = saved.get_attribute("data-response-id")
    assert not errors, errors
    page.close()

    stored = requests.get(f"{fhir_server}/QuestionnaireResponse/{response_id}", timeout=30).json()
    assert stored["subject"] == {"reference": f"Patient/{patient}"} and stored["status"] == "completed"
    assert stored["questionnaire"].startswith("https://claudication-cds.example.org/fhir/Questionnaire/leg-pain-on-walking")
    given = {}
    for group in stored["item"]:
        for item in group["item"]:
            (answer,) = item["answer"]
            given[item["linkId"]] = str(answer["valueBoolean"]).lower() if "valueBoolean" in answer else answer["valueCoding"]["code"]
            assert "valueCoding" not in answer or answer["valueCoding"]["system"] == ANSWERS
    assert given == {f"{side}-leg.{item}": value for side, items in answers.items() for item, value in items.items()}

    after = _patient_view(service, fhir_server, patient)
    assert [c["source"]["topic"]["code"] for c in after] == [expected]
    (card,) = after
    assert card["indicator"] == "info" and card["summary"].startswith("Reported, not examined: ")
    assert _app_links(after, "smart") and _app_links(after, "absolute")  # the app stays one click away
