"""Liveness (/healthz: the process answers) and readiness (/readyz: knowledge loaded, database reachable)."""
from __future__ import annotations


def test_healthz_is_liveness_only(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_reports_knowledge_and_database(client):
    body = client.get("/readyz").get_json()
    from cds_service.config import REPO_ROOT
    shipped = len(list((REPO_ROOT / "valuesets").glob("*.json")))
    assert body == {"status": "ok", "valueSets": shipped, "cardTemplates": 4, "database": "ok"}


def test_readyz_is_503_and_healthz_200_when_the_database_is_unreachable(app):
    store = app.extensions["cds"].store
    store.ping = lambda: False
    c = app.test_client()
    assert c.get("/readyz").status_code == 503
    assert c.get("/readyz").get_json()["database"] == "unreachable"
    assert c.get("/healthz").status_code == 200  # an outage must not get every instance restarted
