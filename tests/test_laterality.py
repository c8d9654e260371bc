"""Side from codes, pre- and post-coordinated body sites, and text."""
from __future__ import annotations

import pytest

from cds_service import laterality
from cds_service.terminology import SNOMED


@pytest.mark.parametrize("sides,expected", [([], None), (["left"], "left"), (["left", "left"], "left"),
                                            (["left", "right"], "bilateral"), (["right", "bilateral"], "bilateral"), (["bilateral", "left"], "bilateral"), (["bilateral"], "bilateral"),
                                            ([None, "right"], "right")])
def test_combine(sides, expected):
    assert laterality.combine(sides) == expected


@pytest.mark.parametrize("text,expected", [("Left calf", "left"), ("pain in RIGHT leg", "right"),
                                           ("both legs", "bilateral"), ("bilateral oedema", "bilateral"),
                                           ("leftover", None), (None, None), ("", None)])
def test_from_text(text, expected):
    assert laterality.from_text(text) == expected


@pytest.mark.parametrize("codings,expected", [
    ([(SNOMED, "32153003")], ("left", "leg")),
    ([(SNOMED, "53840002"), (SNOMED, "24028007")], ("right", "calf")),
    ([(SNOMED, "53840002:272741003=7771000")], ("left", "calf")),
    ([(SNOMED, "53840002 : 272741003 = 51440002")], ("bilateral", "calf")),
    ([(SNOMED, "61685007")], (None, "leg")),
    ([("http://example.org", "32153003")], (None, None)),
])
def test_from_codings(knowledge, codings, expected):
    assert laterality.from_codings(codings, knowledge.terminology) == expected


LEFT, RIGHT, CALF, HAND = "32153003", "62175007", "53840002", "85562004"


def test_a_post_coordinated_site_keeps_its_focus_side_when_its_qualifier_is_unknown(knowledge):
    """Left lower limb refined by a qualifier the terminology does not know is still the left leg (and no crash)."""
    assert laterality.from_codings([(SNOMED, f"{LEFT}:272741003=9999999")], knowledge.terminology) == ("left", "leg")


def test_every_coding_counts_after_an_empty_or_a_post_coordinated_one(knowledge):
    t = knowledge.terminology
    assert laterality.from_codings([(SNOMED, None), (SNOMED, LEFT)], t) == ("left", "leg")
    assert laterality.from_codings([(SNOMED, f"{CALF}:272741003=7771000"), (SNOMED, RIGHT)], t) == ("bilateral", "calf")
    assert laterality.off_leg([(SNOMED, ""), (SNOMED, HAND)], t) == "hand"
    assert laterality.off_leg([(SNOMED, HAND), (SNOMED, LEFT)], t) is None  # a leg site anywhere keeps the finding


def test_nothing_off_the_leg_is_none_and_a_text_that_is_not_a_string_names_no_side(knowledge):
    assert laterality.off_leg([], knowledge.terminology) is None
    assert laterality.off_leg([(SNOMED, LEFT)], knowledge.terminology) is None
    assert laterality.from_text(5) is None  # type: ignore[arg-type]
    assert laterality.from_text(["left"]) is None  # type: ignore[arg-type]
