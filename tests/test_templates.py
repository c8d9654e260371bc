"""Card template keys for governance (cards/*.yaml): ``snoozable`` and ``snooze_days``."""
from __future__ import annotations

import copy

import pytest
import yaml

from cds_service import documents
from cds_service.config import REPO_ROOT
from cds_service.documents import Document
from cds_service.templates import cross_check, parse_template

ARTERIAL = yaml.safe_load((REPO_ROOT / "cards" / "arterial-claudication.yaml").read_text(encoding="utf-8"))


def parsed(**changes_to_variant):
    raw = copy.deepcopy(ARTERIAL)
    raw["variants"][-1].update(changes_to_variant)
    return parse_template(raw).variants[-1], checked(raw)


def checked(raw):
    """The loader's two checks on a template: its schema, then what only Python can say."""
    doc = Document(path=REPO_ROOT / "cards" / "arterial-claudication.yaml", label="cards/arterial-claudication.yaml",
                   text="", data=raw)
    problems = documents.validate(doc, "card-template") or cross_check(doc)
    return [p.message for p in problems]


def test_every_shipped_variant_says_whether_it_is_snoozable():
    for path in sorted((REPO_ROOT / "cards").glob("[!_]*.yaml")):
        for variant in yaml.safe_load(path.read_text(encoding="utf-8"))["variants"]:
            assert isinstance(variant.get("snoozable"), bool), f"{path.name}: {variant['id']}"


def test_a_variant_without_the_key_is_not_snoozable():
    raw = copy.deepcopy(ARTERIAL)
    del raw["variants"][-1]["snoozable"]
    assert parse_template(raw).variants[-1].snoozable is False and checked(raw) == []


def test_a_snooze_period_of_its_own():
    variant, problems = parsed(snooze_days=30)
    assert (variant.snoozable, variant.snooze_days, problems) == (True, 30, [])


@pytest.mark.parametrize("change, message", [
    ({"snoozable": "yes"}, "expected boolean"),
    ({"snooze_days": 0}, "minimum"),
    ({"snooze_days": "90"}, "expected integer"),
    ({"snoozable": False, "snooze_days": 30}, "must be True"),
    ({"indicator": "critical"}, "a red-flag or critical variant may not be snoozable"),
    ({"indicator": {"moderate": "warning", "strong": "critical"}}, "a red-flag or critical variant may not be snoozable"),
    ({"when": {"red_flags_any": ["ischaemic-rest-pain"]}}, "a red-flag or critical variant may not be snoozable"),
])
def test_bad_snooze_keys_are_refused(change, message):
    variant, problems = parsed(**change)
    assert any(message in p for p in problems), problems
    # the loader refuses the file: no parsed variant of it is ever used
