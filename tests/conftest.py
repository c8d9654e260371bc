"""Shared fixtures. Every service response the tests see is checked against our schemas."""
from __future__ import annotations

import pytest

from cds_service import knowledge as knowledge_mod
from cds_service.app import create_app
from cds_service.config import REPO_ROOT, Settings
from cds_service.engine import Engine

from flask import Flask

from builders import NOW
from ci_skips import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401 - CI=true: a skip fails
from helpers import CheckingClient, check_body
from mutation_order import pytest_collection_modifyitems  # noqa: F401 - under mutmut only: fastest first, per-module tests

TEST_SNOOZE_KEY = "tests-only snooze key, 32 characters or more"

pytest_plugins = ["pytester"]  # tests/test_ci_skips.py runs small inner suites

# Every Flask app the tests create (also inside test modules) checks each response it gives.
Flask.test_client_class = CheckingClient


@pytest.fixture(scope="session")
def knowledge():
    return knowledge_mod.load(REPO_ROOT)


@pytest.fixture(scope="session")
def order_knowledge(knowledge):
    from cds_service.orders.knowledge import load
    return load(REPO_ROOT, knowledge)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path}/test.db", knowledge_dir=REPO_ROOT, snooze_key=TEST_SNOOZE_KEY)


@pytest.fixture
def engine(knowledge, settings) -> Engine:
    return Engine(knowledge, settings)


@pytest.fixture
def evaluate(engine):
    """Evaluate a request body at the tests' 'now' and return the cards."""
    def run(body, now=NOW):
        response = engine.evaluate(body, now=now).response
        check_body(response)
        return response["cards"]
    return run


@pytest.fixture
def app(settings, knowledge):
    return create_app(settings, knowledge=knowledge)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def postgres_url():
    from pg import postgres_server, unavailable
    missing = unavailable()
    if missing:
        pytest.skip(missing)
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """Each storage test runs against SQLite and a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store.db"
    url = request.getfixturevalue("postgres_url")
    from cds_service.store import Store, feedback_table, screening_shown_table, seen_jti_table
    store = Store(url)
    store.create_schema()
    with store.engine.begin() as conn:
        conn.execute(feedback_table.delete())
        conn.execute(seen_jti_table.delete())
        conn.execute(screening_shown_table.delete())
    store.dispose()
    return url
