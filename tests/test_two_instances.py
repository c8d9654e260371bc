"""Two service instances (real `cds-service serve` processes, two gunicorn workers each) on
different ports share one PostgreSQL: a JWT replayed on the other instance and duplicate
feedback sent to both are caught."""
from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from bench.load import Server
from builders import SCT, condition, hook_request
from helpers import check_body
from cds_service.config import REPO_ROOT
from cds_service.store import Store

PUBLIC = "https://cds.example.org"  # both instances sit behind one load balancer URL
ISS = "https://ehr.example.org"


@pytest.fixture(scope="module")
def signing_key():
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="module")
def instances(postgres_url, signing_key, tmp_path_factory):
    folder = tmp_path_factory.mktemp("two")
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(signing_key.public_key()))
    jwk.update(kid="k1", alg="ES384")
    clients = folder / "clients.json"
    clients.write_text(json.dumps({"clients": [{"iss": ISS, "jwks": {"keys": [jwk]}, "algorithms": ["ES384"]}]}))
    store = Store(postgres_url)
    store.create_schema()
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM feedback")
        conn.exec_driver_sql("DELETE FROM seen_jti")
    env = {"CDS_DATABASE_URL": postgres_url, "CDS_AUTH": "required", "CDS_TRUSTED_CLIENTS": str(clients),
           "CDS_PUBLIC_BASE_URL": PUBLIC, "CDS_KNOWLEDGE_DIR": str(REPO_ROOT)}
    servers = [Server(workers=2, env=env) for _ in range(2)]
    try:
        yield [s.url for s in servers], store
    finally:
        for server in servers:
            server.stop()
        store.dispose()


def _token(key, path):
    now = int(time.time())
    return jwt.encode({"iss": ISS, "aud": PUBLIC + path, "iat": now, "exp": now + 120, "jti": str(uuid.uuid4())},
                      key, algorithm="ES384", headers={"kid": "k1", "typ": "JWT"})


def test_replayed_jwt_on_the_other_instance_is_refused(instances, signing_key):
    (a, b), _ = instances
    path = "/cds-services/leg-pain-claudication"
    token = _token(signing_key, path)
    body = hook_request([condition(SCT, "63491006")])
    first = requests.post(a + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert first.status_code == 200 and len(first.json()["cards"]) == 1
    check_body(first.json())
    replay = requests.post(b + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert replay.status_code == 401
    fresh = requests.post(b + path, json=body, headers={"Authorization": f"Bearer {_token(signing_key, path)}"}, timeout=10)
    assert fresh.status_code == 200 and fresh.json() == first.json()


def test_duplicate_feedback_to_both_instances_is_stored_once(instances, signing_key):
    (a, b), store = instances
    path = "/cds-services/leg-pain-claudication/feedback"
    item = {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "2026-11-27T10:00:00Z"}
    for url in (a, b, a, b):
        response = requests.post(url + path, json={"feedback": [item]},
                                 headers={"Authorization": f"Bearer {_token(signing_key, path)}"}, timeout=10)
        assert response.status_code == 200
    rows = [r for r in store.feedback_rows() if r["card_uuid"] == item["card"]]
    assert len(rows) == 1


def test_metrics_aggregate_the_workers_of_an_instance(instances, signing_key):
    (a, _), _ = instances
    path = "/cds-services"
    for _ in range(6):
        requests.get(a + path, headers={"Authorization": f"Bearer {_token(signing_key, path)}"}, timeout=10)
    text = requests.get(a + "/metrics", timeout=10).text
    line = next(l for l in text.splitlines()
                if l.startswith('cds_http_requests_total{') and 'endpoint="/cds-services"' in l and 'status="200"' in l)
    assert float(line.rsplit(" ", 1)[1]) >= 6
