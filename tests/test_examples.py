"""Every file in examples/ shows the card it is named for (as of the date the examples were written)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from helpers import checked

from cases import CASES
from cds_service.config import REPO_ROOT

EXAMPLES_NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def test_every_example_is_listed():
    assert {p.stem for p in (REPO_ROOT / "examples").glob("*.json")} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_shows_its_card(engine, name):
    body = json.loads((REPO_ROOT / "examples" / f"{name}.json").read_text())
    cards = checked(engine.evaluate(body, now=EXAMPLES_NOW)).response["cards"]
    assert [(c["source"]["topic"]["code"], c["indicator"]) for c in cards] == CASES[name][1]
