"""Every file in examples/ shows the card it is named for (as of the date the examples were written)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from helpers import checked

from cds_service.config import REPO_ROOT

EXAMPLES_NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
EXPECTED = {
    "arterial-left-calf-low-abi": ("arterial-claudication", "warning"),
    "arterial-noncompressible-abi": ("arterial-claudication", "warning"),
    "arterial-acute-limb-ischaemia": ("arterial-claudication", "critical"),
    "venous-dvt-swelling": ("venous-claudication", "warning"),
    "neurogenic-bilateral-stenosis": ("neurogenic-claudication", "info"),
    "neurogenic-diabetic-neuropathy": ("neurogenic-claudication", "info"),
    "musculoskeletal-calf-strain": ("musculoskeletal-leg-pain", "info"),
    "nothing-relevant": None,
}


def test_every_example_is_listed():
    assert {p.stem for p in (REPO_ROOT / "examples").glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_shows_its_card(engine, name):
    body = json.loads((REPO_ROOT / "examples" / f"{name}.json").read_text())
    cards = checked(engine.evaluate(body, now=EXAMPLES_NOW)).response["cards"]
    if EXPECTED[name] is None:
        assert cards == []
    else:
        topic, indicator = EXPECTED[name]
        assert [(c["source"]["topic"]["code"], c["indicator"]) for c in cards] == [(topic, indicator)]
