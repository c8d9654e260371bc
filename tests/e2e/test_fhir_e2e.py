"""End to end against a real FHIR server: the same cards whether the client prefetches like the
public sandbox (form-encoded POST _search, first page only) or prefetches nothing at all."""
from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from cases import CASES, resources_for
from cds_service.prefetch import fill
from helpers import by_topic
from synthetic import PATIENT_FILES, given_name, load

TOKEN = "e2e-token"
AUTH = {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300, "scope": "patient/*.read", "subject": "cds-e2e"}
SERVICE = "/cds-services/leg-pain-claudication"
def _post_transaction(base: str, bundle: dict) -> dict:
    response = requests.post(base, json=bundle, headers={"Authorization": f"Bearer {TOKEN}",
                                                         "Content-Type": "application/fhir+json"}, timeout=60)
    assert response.status_code in (200, 201), response.text[:500]
    return response.json()


def _load_synthetic(base: str, path) -> str:
    result = _post_transaction(base, load(path))
    for entry in result["entry"]:
        location = entry["response"].get("location", "")
        if "/Patient/" in location:
            return location.split("/Patient/")[1].split("/")[0]
    raise AssertionError("no Patient in the transaction response")


def _load_example(base: str, name: str) -> str:
    patient_id = f"e2e-{name}"
    entries = [{"resource": {"resourceType": "Patient", "id": patient_id}, "request": {"method": "PUT", "url": f"Patient/{patient_id}"}}]
    for r in resources_for(name, patient_id):
        entries.append({"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}})
    _post_transaction(base, {"resourceType": "Bundle", "type": "transaction", "entry": entries})
    return patient_id


@pytest.fixture(scope="module")
def patients(fhir_server):
    loaded = {given_name(path): (_load_synthetic(fhir_server, path), {"neurogenic-claudication"}) for path in PATIENT_FILES}
    for name, (_, expected) in CASES.items():  # dated relative to now, so red flags still count
        loaded[name] = (_load_example(fhir_server, name), {topic for topic, _ in expected})
    return loaded


@pytest.fixture(scope="module")
def e2e_client(tmp_path_factory, knowledge):
    from cds_service.app import create_app
    from cds_service.config import Settings, REPO_ROOT
    db = tmp_path_factory.mktemp("e2e-db") / "e2e.db"
    settings = Settings(database_url=f"sqlite:///{db}", knowledge_dir=REPO_ROOT, fhir_deadline_ms=5000,
                        fhir_timeout_ms=5000)
    return create_app(settings, knowledge=knowledge).test_client()


def sandbox_prefetch(client, fhir_server: str, patient_id: str, service_index: int = 0) -> dict:
    """What the public sandbox does: read discovery, fill the templates, POST each as a form-encoded
    _search with Accept: application/json+fhir, and pass on the first page only."""
    templates = client.get("/cds-services").get_json()["services"][service_index]["prefetch"]
    prefetch = {}
    for key, template in templates.items():
        filled = fill(template, {"patientId": patient_id})
        parts = urlsplit(filled)
        response = requests.post(f"{fhir_server}/{parts.path}/_search", data=parse_qsl(parts.query),
                                 headers={"Accept": "application/json+fhir"}, timeout=30)
        assert response.status_code == 200, response.text[:300]
        prefetch[key] = response.json()
    return prefetch


def _body(patient_id: str, hook_instance: str, **extra) -> dict:
    return {"hook": "patient-view", "hookInstance": hook_instance,
            "context": {"userId": "Practitioner/e2e", "patientId": patient_id}, **extra}


def _without_open_link(response: dict) -> dict:
    """The cards less the SMART app's development link, which only a request without
    fhirAuthorization gets (cds_service/app_links.py; tests/test_app_links.py)."""
    for card in response["cards"]:
        links = [link for link in card.get("links", ()) if not (link["type"] == "absolute" and "/app/?" in link["url"])]
        if "links" in card:
            card["links"] = links
            if not links:
                del card["links"]
    return response


def test_cards_are_the_same_with_sandbox_prefetch_and_with_none(e2e_client, fhir_server, patients):
    mismatches = []
    for name, (patient_id, topics) in patients.items():
        hook_instance = str(uuid.uuid4())
        sandbox = e2e_client.post(SERVICE, json=_body(patient_id, hook_instance, fhirServer=fhir_server,
                                                      prefetch=sandbox_prefetch(e2e_client, fhir_server, patient_id)))
        ehr = e2e_client.post(SERVICE, json=_body(patient_id, hook_instance, fhirServer=fhir_server, fhirAuthorization=AUTH))
        assert sandbox.status_code == 200 and ehr.status_code == 200, name
        assert all(any("/app/?" in link["url"] for link in card.get("links", ()))
                   for card in sandbox.get_json()["cards"] if card["indicator"] != "critical"), name
        assert _without_open_link(sandbox.get_json()) == ehr.get_json(), name
        if set(by_topic(ehr.get_json()["cards"])) != topics:
            mismatches.append((name, sorted(by_topic(ehr.get_json()["cards"])), sorted(topics)))
    assert not mismatches


def test_sandbox_first_page_is_completed_from_the_server(e2e_client, fhir_server, patients):
    """A first page that holds only part of the record: the service follows `next` itself."""
    patient_id, _ = patients["arterial-left-calf-low-abi"]
    prefetch = sandbox_prefetch(e2e_client, fhir_server, patient_id)
    page = requests.get(f"{fhir_server}/Observation", params={"patient": patient_id, "_count": 1, "code": "77194-9"},
                        headers={"Accept": "application/fhir+json"}, timeout=30).json()
    assert any(link["relation"] == "next" for link in page["link"])
    prefetch["observations"] = page
    cards = e2e_client.post(SERVICE, json=_body(patient_id, str(uuid.uuid4()), fhirServer=fhir_server,
                                                prefetch=prefetch)).get_json()["cards"]
    assert "ABI 0.72" in by_topic(cards)["arterial-claudication"]["summary"]


def test_without_prefetch_or_server_the_answer_is_412(e2e_client, patients):
    patient_id, _ = patients["musculoskeletal-calf-strain"]
    assert e2e_client.post(SERVICE, json=_body(patient_id, str(uuid.uuid4()))).status_code == 412


def test_latency_of_a_call_without_prefetch(e2e_client, fhir_server, patients, record_property):
    """Measured, not asserted: reported in the test output and the closing note."""
    sizes = {}
    for name in ("Renato", "Evelyn"):  # the smallest and the largest synthetic record
        patient_id, _ = patients[name]
        e2e_client.post(SERVICE, json=_body(patient_id, str(uuid.uuid4()), fhirServer=fhir_server, fhirAuthorization=AUTH))
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            response = e2e_client.post(SERVICE, json=_body(patient_id, str(uuid.uuid4()), fhirServer=fhir_server,
                                                           fhirAuthorization=AUTH))
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        sizes[name] = sorted(timings)[len(timings) // 2]
    record_property("e2e_latency_ms", sizes)
    print(f"\nend-to-end patient-view without prefetch, median of 5: {sizes}")


# -- the seed's questions on a real FHIR server ----------------------------------------------

def _put(base: str, resource: dict) -> requests.Response:
    return requests.put(f"{base}/{resource['resourceType']}/{resource['id']}", json=resource, timeout=30,
                        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"})


def _validate(base: str, resource: dict) -> list[dict]:
    response = requests.post(f"{base}/{resource['resourceType']}/$validate", json=resource, timeout=30,
                             headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"})
    assert response.status_code == 200, response.text[:300]
    return [i for i in response.json().get("issue", ()) if i.get("severity") in ("error", "fatal")]


def test_the_questionnaire_and_answers_are_accepted_and_read_back(e2e_client, fhir_server, knowledge):
    """sekmet-fhir 0.1.1 validates structure (fhir.resources R4B) on $validate, and indexes no
    QuestionnaireResponse search parameter: it answers our narrowed search with every response it
    holds (and a warning), so the reader's own subject and questionnaire checks are what keep
    another patient's answers out."""
    from builders import condition, questionnaire_response
    questions = knowledge.questions
    for resource in (questions.resource, questions.codesystem):
        assert _validate(fhir_server, resource) == []
        assert _put(fhir_server, resource).status_code in (200, 201)
    answered, unanswered = "e2e-answered", "e2e-unanswered"
    spinal = questionnaire_response({side: {"pain-on-walking": True, "relief": "sitting-leaning-forward",
                                            "walking-distance": "on-standing"} for side in ("left", "right")},
                                    patient=answered, rid="e2e-qr-spinal")
    assert _validate(fhir_server, spinal) == []
    for patient_id in (answered, unanswered):
        assert _put(fhir_server, {"resourceType": "Patient", "id": patient_id}).status_code in (200, 201)
        pain = condition("http://snomed.info/sct", "10601006", onset_days=10, patient=patient_id, rid=f"{patient_id}-pain")
        assert _put(fhir_server, pain).status_code in (200, 201)
    assert _put(fhir_server, spinal).status_code in (200, 201)

    def cards(patient_id: str) -> list[dict]:
        hook_instance = str(uuid.uuid4())
        ehr = e2e_client.post(SERVICE, json=_body(patient_id, hook_instance, fhirServer=fhir_server, fhirAuthorization=AUTH))
        sandbox = e2e_client.post(SERVICE, json=_body(patient_id, hook_instance, fhirServer=fhir_server,
                                                      prefetch=sandbox_prefetch(e2e_client, fhir_server, patient_id)))
        assert ehr.status_code == 200 and ehr.get_json() == _without_open_link(sandbox.get_json())
        return ehr.get_json()["cards"]

    (card,) = cards(answered)
    assert card["source"]["topic"]["code"] == "neurogenic-claudication"
    assert card["indicator"] == "info" and card["summary"].startswith("Reported, not examined")
    (offer,) = cards(unanswered)
    assert offer["source"]["topic"]["code"] == "leg-pain-questions"
