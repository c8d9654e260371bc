"""Liveness and readiness."""
from __future__ import annotations


def test_healthz_reports_knowledge_and_database(client):
    body = client.get("/healthz").get_json()
    assert body == {"status": "ok", "valueSets": 43, "cardTemplates": 4, "database": "ok"}


def test_healthz_is_503_when_the_database_is_unreachable(app):
    store = app.extensions["cds"].store
    store.ping = lambda: False
    assert app.test_client().get("/healthz").status_code == 503
