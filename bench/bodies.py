"""Hook request bodies of a chosen size, built from the synthetic patients and the examples."""
from __future__ import annotations

import copy
import json
import uuid
from functools import lru_cache
from pathlib import Path

import orjson

from cds_service import localsearch
from cds_service.config import REPO_ROOT
from tests import synthetic

EXAMPLES = REPO_ROOT / "examples"
PATIENT = "bench-patient"
KEYS = {"Condition": "conditions", "Observation": "observations", "Procedure": "procedures",
        "ServiceRequest": "serviceRequests", "QuestionnaireResponse": "questionnaireResponses"}


@lru_cache(maxsize=1)
def resource_pool() -> tuple[dict, ...]:
    """Every Condition, Observation and Procedure of the 18 patients, plus the examples' resources."""
    pool = []
    for path in sorted(EXAMPLES.glob("*.json")):
        body = json.loads(path.read_text())
        for value in body["prefetch"].values():
            pool.extend(e["resource"] for e in (value or {}).get("entry", ()))
    for path in synthetic.PATIENT_FILES:
        _, resources = localsearch.patient_resources(synthetic.load(path))
        pool.extend(r for r in resources if r["resourceType"] in KEYS)
    return tuple(pool)


def prefetch_body(size: int) -> bytes:
    """A patient-view request whose prefetch holds `size` resources (examples first, so cards appear)."""
    pool = resource_pool()
    chosen = []
    for i in range(size):
        r = copy.deepcopy(pool[i % len(pool)])
        r["id"] = f"{r.get('id', 'r')}-{i // len(pool)}"
        r["subject" if "subject" in r or r["resourceType"] != "Procedure" else "subject"] = {"reference": f"Patient/{PATIENT}"}
        chosen.append(r)
    prefetch = {key: {"resourceType": "Bundle", "type": "searchset", "entry": []} for key in KEYS.values()}
    for r in chosen:
        prefetch[KEYS[r["resourceType"]]]["entry"].append({"resource": r})
    return orjson.dumps({"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
                         "context": {"userId": "Practitioner/bench", "patientId": PATIENT}, "prefetch": prefetch})


def typical_body(engine) -> bytes:
    """What the service's own templates return for the largest synthetic patient."""
    patient_id, resources = localsearch.patient_resources(synthetic.load(synthetic.largest()))
    prefetch = localsearch.prefetch_for(resources, engine.prefetch_templates, patient_id)
    return orjson.dumps({"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
                         "context": {"userId": "Practitioner/bench", "patientId": patient_id}, "prefetch": prefetch})


def write(path: Path, body: bytes) -> Path:
    path.write_bytes(body)
    return path
