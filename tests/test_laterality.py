"""Side from codes, pre- and post-coordinated body sites, and text."""
from __future__ import annotations

import pytest

from cds_service import laterality
from cds_service.terminology import SNOMED


@pytest.mark.parametrize("sides,expected", [([], None), (["left"], "left"), (["left", "left"], "left"),
                                            (["left", "right"], "bilateral"), (["right", "bilateral"], "bilateral"),
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
