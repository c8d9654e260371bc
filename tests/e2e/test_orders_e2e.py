"""End to end against a real FHIR server, for both order hooks: the same cards whether the client
prefetches like the public sandbox (form-encoded POST _search, first page) or prefetches nothing
and lets the service fetch from fhirServer with the access token."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest

from cds_service.config import REPO_ROOT
from test_fhir_e2e import AUTH, _post_transaction, e2e_client, sandbox_prefetch  # noqa: F401  (fixture)
from test_orders_examples import EXAMPLES_NOW, EXPECTED

HOOKS = {"order-select": "/cds-services/leg-pain-claudication-order-select",
         "order-sign": "/cds-services/leg-pain-claudication-order-sign"}
SHIFT = datetime.now(timezone.utc) - EXAMPLES_NOW  # the examples are dated; keep their ages relative to today


def _shift(value: str) -> str:
    if len(value) == 10:
        return (datetime.fromisoformat(value).replace(tzinfo=timezone.utc) + SHIFT).date().isoformat()
    return (datetime.fromisoformat(value) + SHIFT).isoformat()


def _example(name: str) -> dict:
    return json.loads((REPO_ROOT / "examples" / "orders" / f"{name}.json").read_text())


def _records(body: dict, patient_id: str) -> list[dict]:
    seen, out = set(), []
    for key in ("heartFailure", "arterialConditions", "abi"):
        for entry in body["prefetch"][key].get("entry", ()):
            r = json.loads(json.dumps(entry["resource"]))
            r["id"] = f"{patient_id}-{r['id']}"
            if r["id"] in seen:
                continue
            seen.add(r["id"])
            r["subject"] = {"reference": f"Patient/{patient_id}"}
            for field in ("onsetDateTime", "effectiveDateTime"):
                if field in r:
                    r[field] = _shift(r[field])
            out.append(r)
    return out


@pytest.fixture(scope="module")
def order_patients(fhir_server):
    loaded = {}
    for name in EXPECTED:
        patient_id = f"e2e-ord-{name}"[:64]
        entries = [{"resource": {"resourceType": "Patient", "id": patient_id},
                    "request": {"method": "PUT", "url": f"Patient/{patient_id}"}}]
        for r in _records(_example(name), patient_id):
            entries.append({"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}})
        _post_transaction(fhir_server, {"resourceType": "Bundle", "type": "transaction", "entry": entries})
        loaded[name] = patient_id
    return loaded


def _order_body(name: str, hook: str, patient_id: str, **extra) -> dict:
    example = _example(name)
    drafts = example["context"]["draftOrders"]
    for entry in drafts["entry"]:
        entry["resource"]["subject"] = {"reference": f"Patient/{patient_id}"}
    context = {"userId": "Practitioner/e2e", "patientId": patient_id, "draftOrders": drafts}
    if hook == "order-select":
        context["selections"] = [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in drafts["entry"]]
    return {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context, **extra}


def _service_prefetch(client, fhir_server, patient_id, hook):
    services = client.get("/cds-services").get_json()["services"]
    index = next(i for i, s in enumerate(services) if s["hook"] == hook)
    return sandbox_prefetch(client, fhir_server, patient_id, service_index=index)


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_order_cards_are_the_same_with_sandbox_prefetch_and_with_none(e2e_client, fhir_server, order_patients, hook):  # noqa: F811
    for name, patient_id in order_patients.items():
        prefetch = _service_prefetch(e2e_client, fhir_server, patient_id, hook)
        with_prefetch = e2e_client.post(HOOKS[hook], json=_order_body(name, hook, patient_id, fhirServer=fhir_server,
                                                                      prefetch=prefetch))
        without = e2e_client.post(HOOKS[hook], json=_order_body(name, hook, patient_id, fhirServer=fhir_server,
                                                                fhirAuthorization=AUTH))
        assert with_prefetch.status_code == 200 and without.status_code == 200, name
        got = [(c["source"]["topic"]["code"], c["indicator"]) for c in without.get_json()["cards"]]
        assert got == EXPECTED[name], name
        assert [(c["source"]["topic"]["code"], c["indicator"], c["summary"]) for c in with_prefetch.get_json()["cards"]] \
            == [(c["source"]["topic"]["code"], c["indicator"], c["summary"]) for c in without.get_json()["cards"]], name
