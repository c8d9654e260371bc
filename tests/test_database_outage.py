"""A database outage while serving (the database is a PostgreSQL address where nothing listens):
503 with an OperationOutcome only where the database is needed to decide (a token's replay check,
storing feedback); hook calls and discovery, which do not need it, go on; every failure is counted."""
from __future__ import annotations

import socket
import uuid

import pytest
from sqlalchemy import create_engine

from builders import SCT, condition, hook_request
from cds_service.app import create_app
from test_auth import SERVICE, auth_settings, clients_file, keys, token  # noqa: F401 - fixtures


def _dead_url() -> str:
    with socket.socket() as s:  # a port that was free a moment ago: connections are refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql+psycopg://cds:cds@127.0.0.1:{port}/cds"


def _go_down(app) -> None:
    store = app.extensions["cds"].store
    store.engine.dispose()
    store.engine = create_engine(_dead_url(), pool_pre_ping=True, connect_args={"connect_timeout": 2})


def _counted(client, use: str) -> float:
    for line in client.get("/metrics").data.decode().splitlines():
        if line.startswith("cds_database_unavailable_total") and f'use="{use}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture
def down_app(app):
    _go_down(app)
    return app


@pytest.fixture
def down_auth_app(auth_settings, knowledge):  # noqa: F811
    app = create_app(auth_settings, knowledge=knowledge)
    _go_down(app)
    return app


def test_feedback_is_503_operation_outcome(down_app):
    c = down_app.test_client()
    item = {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "2026-11-27T10:00:00Z"}
    response = c.post(SERVICE + "/feedback", json={"feedback": [item]})
    assert response.status_code == 503
    assert response.get_json()["resourceType"] == "OperationOutcome"
    assert response.headers["Retry-After"]
    assert _counted(c, "feedback") == 1


def test_a_token_whose_replay_cannot_be_checked_is_503_not_401(down_auth_app, keys):  # noqa: F811
    c = down_auth_app.test_client()
    response = c.post(SERVICE, json=hook_request([condition(SCT, "63491006")]),
                      headers={"Authorization": f"Bearer {token(keys)}"})
    assert response.status_code == 503
    assert response.get_json()["issue"][0]["code"] == "transient"
    assert _counted(c, "replay-check") == 1


def test_calls_that_need_no_database_go_on(down_app):
    c = down_app.test_client()
    response = c.post(SERVICE, json=hook_request([condition(SCT, "63491006")]))
    assert response.status_code == 200 and len(response.get_json()["cards"]) == 1
    assert c.get("/cds-services").status_code == 200
    assert c.get("/healthz").status_code == 200
    assert c.get("/readyz").status_code == 503
    assert _counted(c, "readiness") == 1
