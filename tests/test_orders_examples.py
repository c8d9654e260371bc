"""Every file in examples/orders/ shows the order card it is named for (as of the examples' date)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from cds_service.config import REPO_ROOT, Settings
from cds_service.orders.engine import build, service_id
from helpers import check_body

EXAMPLES_NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
EXPECTED = {
    "cilostazol-heart-failure-sandbox": [("cilostazol-heart-failure", "critical")],
    "cilostazol-history-of-heart-failure": [("cilostazol-heart-failure", "warning")],
    "compression-low-abi-left-leg": [("compression-ischaemia", "critical")],
    "compression-other-leg": [],
    "compression-reduced-abi": [("compression-ischaemia", "warning")],
    "compression-noncompressible-abi": [("compression-ischaemia", "warning")],
    "compression-no-abi-diabetes": [("compression-ischaemia", "warning")],
    "compression-severe-heart-failure": [("compression-heart-failure", "warning")],
}


def test_every_order_example_is_listed():
    assert {p.stem for p in (REPO_ROOT / "examples" / "orders").glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_order_example_shows_its_card(knowledge, name):
    settings = Settings(knowledge_dir=REPO_ROOT)
    body = json.loads((REPO_ROOT / "examples" / "orders" / f"{name}.json").read_text())
    engine = build(knowledge, settings)[service_id(settings, body["hook"])]
    response = engine.evaluate(body, now=EXAMPLES_NOW).response
    check_body(response)
    assert [(c["source"]["topic"]["code"], c["indicator"]) for c in response["cards"]] == EXPECTED[name]
