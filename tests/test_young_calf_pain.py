"""Under 50, exertional calf pain, normal resting ABI: the exercise-ABI advice also names popliteal artery
entrapment and chronic exertional compartment syndrome (issue 17; cards/arterial-claudication.yaml, the
``age_under`` and ``sites_any`` keys of a Consider line's ``when`` read in cds_service/cards.py).

Time cap: each test < 1 s (one engine evaluation, or one knowledge load for the refusals)."""
from __future__ import annotations

import re
import shutil
from datetime import date

import pytest

from builders import ICD, NOW, PATIENT, SCT, abi, condition, observation
from cases import LEFT_CALF
from helpers import by_topic
from therapy_builders import REFUSED, full_request, patient
from cds_service import knowledge as knowledge_mod
from cds_service.config import REPO_ROOT

LINE = "also consider popliteal artery entrapment and chronic exertional compartment syndrome"
RIGHT_CALF = [{"coding": [{"system": SCT, "code": "53840002:272741003=24028007", "display": "Calf, right"}]}]


def _claudication(site=LEFT_CALF) -> dict:
    return condition(SCT, "63491006", body_site=site, display="Intermittent claudication")


def _born(years: int, *, days_to_birthday: int) -> dict:
    """A Patient who turns ``years + 1`` in ``days_to_birthday`` days (0: turns ``years`` today)."""
    today = NOW.date()
    birthday = date.fromordinal(today.toordinal() + days_to_birthday)
    return {"resourceType": "Patient", "id": PATIENT,
            "birthDate": birthday.replace(year=birthday.year - years - (1 if days_to_birthday else 0)).isoformat()}


def _arterial(evaluate, resources, patient_resource):
    return by_topic(evaluate(full_request(resources, patient_resource=patient_resource))).get("arterial-claudication")


def test_49_with_left_calf_claudication_and_a_normal_left_abi_names_both(evaluate):
    card = _arterial(evaluate, [_claudication(), abi(1.05, "left")], patient(49))
    assert card["summary"] == "Left leg exertional leg pain with ABI 1.05: consider an exercise ABI"
    assert LINE in card["detail"]


@pytest.mark.parametrize("years,days_to_birthday,shown", [
    (49, 1, True),   # 49 until tomorrow
    (50, 0, False),  # 50 today: the threshold is "under 50"
])
def test_the_age_boundary_49_vs_50(evaluate, years, days_to_birthday, shown):
    card = _arterial(evaluate, [_claudication(), abi(1.05, "left")], _born(years, days_to_birthday=days_to_birthday))
    assert (LINE in card["detail"]) is shown


@pytest.mark.parametrize("patient_resource", [
    patient(birth_date=None),  # a Patient without birthDate
    None,                      # the client has no Patient (null)
    REFUSED,                   # the FHIR server refused it (failed): never a 412
])
def test_an_unknown_age_leaves_the_line_out_and_keeps_the_card(evaluate, patient_resource):
    card = _arterial(evaluate, [_claudication(), abi(1.05, "left")], patient_resource)
    assert card["summary"] == "Left leg exertional leg pain with ABI 1.05: consider an exercise ABI"
    assert LINE not in card["detail"]


def test_pain_in_calf_is_a_calf_site_too(evaluate):
    pain = condition(SCT, "300954003", display="Pain in calf")  # the code names the calf (concept-site-label)
    claudication = condition(SCT, "63491006", display="Intermittent claudication")
    card = _arterial(evaluate, [claudication, pain, abi(1.05, "left"), abi(1.10, "right")], patient(30))
    assert LINE in card["detail"]


def test_calf_pain_on_the_other_leg_than_the_normal_abi_is_not_mentioned(evaluate):
    """Thigh claudication on the left, calf claudication on the right, a normal ABI on the left only: the
    card reads the left leg's ABI, and the calf is not on that leg. The same calf on the ABI's leg is."""
    left_thigh = [{"coding": [{"system": SCT, "code": "68367000:272741003=7771000", "display": "Thigh, left"}]}]
    card = _arterial(evaluate, [_claudication(left_thigh), _claudication(RIGHT_CALF), abi(1.05, "left")], patient(30))
    assert card["summary"] == "Left leg exertional leg pain with ABI 1.05: consider an exercise ABI"
    assert LINE not in card["detail"]
    card = _arterial(evaluate, [_claudication(RIGHT_CALF), abi(1.05, "right")], patient(30))
    assert card["summary"] == "Right leg exertional leg pain with ABI 1.05: consider an exercise ABI"
    assert LINE in card["detail"]


def test_no_calf_no_mention(evaluate):
    left_thigh = [{"coding": [{"system": SCT, "code": "68367000:272741003=7771000", "display": "Thigh, left"}]}]
    card = _arterial(evaluate, [_claudication(left_thigh), abi(1.05, "left")], patient(30))
    assert card["summary"] == "Left leg exertional leg pain with ABI 1.05: consider an exercise ABI"
    assert LINE not in card["detail"]


@pytest.mark.parametrize("value", [0.85, 0.95, 1.45])
def test_an_abnormal_borderline_or_noncompressible_abi_does_not_mention_it(evaluate, value):
    card = _arterial(evaluate, [_claudication(), abi(value, "left")], patient(30))
    assert card is not None and LINE not in card["detail"]


def test_a_normal_abi_without_exertional_pain_raises_no_card_to_mention_it(evaluate):
    calf_tenderness = observation(SCT, "300954003", value=None, body_site=LEFT_CALF[0])  # pain in calf, not exertional
    assert _arterial(evaluate, [calf_tenderness, abi(1.05, "left")], patient(30)) is None


# ---------------------------------------------------------------- common coding (issue 17, item 3)
LEFT_LIMB = {"coding": [{"system": SCT, "code": "32153003", "display": "Structure of left lower limb"}]}


@pytest.mark.parametrize("years,shown", [(45, True), (49, True), (50, False)])
def test_calf_pain_with_only_the_limb_and_side_as_body_site_is_a_calf(evaluate, years, shown):
    """300954003 Pain in calf, bodySite "left lower limb": the code names the calf, the site only the leg."""
    calf_pain = observation(SCT, "300954003", value=None, body_site=LEFT_LIMB)
    claudication = condition(SCT, "63491006", body_site=[LEFT_LIMB], display="Intermittent claudication")
    card = _arterial(evaluate, [claudication, calf_pain, abi(1.05, "left")], patient(years))
    assert (LINE in card["detail"]) is shown
    condition_pain = condition(SCT, "300954003", body_site=[LEFT_LIMB], display="Pain in calf")
    card = _arterial(evaluate, [claudication, condition_pain, abi(1.05, "left")], patient(years))
    assert (LINE in card["detail"]) is shown


@pytest.mark.parametrize("code,abi_side,shown", [
    ("M79.662", "left", True),    # pain in left lower leg, normal left ABI
    ("M79.661", "right", True),   # the same on the right
    ("M79.661", "left", False),   # pain in the right lower leg, the ABI is the left leg's
    ("M79.652", "left", False),   # pain in left thigh: not the lower leg
])
def test_pain_in_lower_leg_m79_66_is_read_like_calf_pain(evaluate, code, abi_side, shown):
    claudication = condition(SCT, "63491006", display="Intermittent claudication")
    card = _arterial(evaluate, [claudication, condition(ICD, code, onset_days=2), abi(1.05, abi_side)], patient(45))
    assert (LINE in card["detail"]) is shown


def test_pain_in_lower_leg_with_a_borderline_abi_does_not_mention_it(evaluate):
    claudication = condition(SCT, "63491006", display="Intermittent claudication")
    card = _arterial(evaluate, [claudication, condition(ICD, "M79.662", onset_days=2), abi(0.95, "left")], patient(45))
    assert card is not None and LINE not in card["detail"]


# ---------------------------------------------------------------- the keys are checked at load
def _tree(tmp_path):
    for folder in ("valuesets", "knowledge", "cards", "questionnaires"):
        shutil.copytree(REPO_ROOT / folder, tmp_path / folder)
    return tmp_path


@pytest.mark.parametrize("old,new,expected", [
    ("age_under: 50,", "age_under: fifty,", r"arterial-claudication.yaml:\d+: variants\[\d+\].consider\[2\].when.age_under: 'fifty' is a string; expected integer"),
    ("age_under: 50,", "age_under: 0,", r"arterial-claudication.yaml:\d+: variants\[\d+\].consider\[2\].when.age_under: 0 is less than the minimum of 1"),
    ("sites_any: [calf, lower leg]", "sites_any: calf", r"arterial-claudication.yaml:\d+: variants\[\d+\].consider\[2\].when.sites_any: 'calf' is a string; expected array"),
    ("sites_any: [calf, lower leg]", "sites_any: [Calf]", r"arterial-claudication.yaml:\d+: variants\[\d+\].consider\[2\].when.sites_any\[0\]: 'Calf' does not match"),
    ("sites_any: [calf, lower leg]", "sites_any: [calf, knee pit]", r"arterial-claudication.yaml:\d+: variants\[\d+\].consider\[2\].when.sites_any\[1\]: no value set labels a site 'knee pit'"),
])
def test_a_broken_age_or_site_condition_is_refused(tmp_path, old, new, expected):
    base = _tree(tmp_path)
    path = base / "cards" / "arterial-claudication.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(knowledge_mod.KnowledgeError) as refused:
        knowledge_mod.load(base)
    assert re.search(expected, str(refused.value)), str(refused.value)

