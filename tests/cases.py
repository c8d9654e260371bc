"""The example patients, one per card kind: examples/*.json, the end-to-end suite and the tests use these.

Resources are dated relative to ``builders.NOW`` at the moment a maker is called.
"""
from __future__ import annotations

from builders import ICD, SCT, abi, condition, observation, questionnaire_response

# "Left dorsalis pedis absent" recorded as absent: the pulse was felt (it makes the later loss new).
PULSE_PRESENT = {"valueCodeableConcept": {"coding": [{"system": SCT, "code": "2667000", "display": "Absent"}]}}
LEFT_CALF = [{"coding": [{"system": SCT, "code": "53840002:272741003=7771000", "display": "Calf, left"}]}]

# name -> (resources maker, [(expected topic, expected indicator)])
CASES = {
    "arterial-left-calf-low-abi": (
        lambda: [condition(SCT, "63491006", body_site=LEFT_CALF, display="Intermittent claudication"),
                 abi(0.72, "left"), abi(1.02, "right")],
        [("arterial-claudication", "warning")]),
    "arterial-noncompressible-abi": (
        lambda: [condition(ICD, "I70.211"), abi(1.52, "right")],
        [("arterial-claudication", "warning")]),
    "arterial-acute-limb-ischaemia": (
        lambda: [observation(SCT, "163121008", days=40, value=PULSE_PRESENT), observation(SCT, "163121008", days=0.5),
                 observation(SCT, "398979000", days=0.5, text="pale left foot")],
        [("arterial-claudication", "critical")]),
    "venous-dvt-swelling": (
        lambda: [condition(ICD, "I82.402", onset_days=5), observation(SCT, "102572006", days=2, text="left leg swelling")],
        [("venous-claudication", "warning")]),
    "neurogenic-bilateral-stenosis": (
        lambda: [condition(SCT, "18347007", onset_days=400), condition(ICD, "M79.604", onset_days=20),
                 condition(ICD, "M79.605", onset_days=20)],
        [("neurogenic-claudication", "info")]),
    "neurogenic-diabetic-neuropathy": (
        lambda: [condition(SCT, "368581000119106", onset_days=2000)],
        [("neurogenic-claudication", "info")]),
    "musculoskeletal-calf-strain": (
        lambda: [condition(ICD, "S86.112A", onset_days=7)],
        [("musculoskeletal-leg-pain", "info")]),
    # Leg pain with nothing that tells its kind apart, no answers yet: the offer to ask the questions.
    "leg-pain-ask-the-questions": (
        lambda: [condition(SCT, "10601006", onset_days=10)],
        [("leg-pain-questions", "info")]),
    # The same leg pain, answered like spinal claudication: a pattern card marked "reported, not examined".
    "neurogenic-reported-answers": (
        lambda: [condition(SCT, "10601006", onset_days=10),
                 questionnaire_response({side: {"pain-on-walking": True, "walking-distance": "on-standing",
                                                "relief": "sitting-leaning-forward", "character": "shooting-numbness"}
                                         for side in ("left", "right")}, days=2)],
        [("neurogenic-claudication", "info")]),
    "nothing-relevant": (
        lambda: [condition(SCT, "444814009", onset_days=7)],
        []),
}


def resources_for(name: str, patient_id: str) -> list[dict]:
    """The case's resources with stable ids and the given patient as subject."""
    resources = CASES[name][0]()
    for i, r in enumerate(resources):
        r["id"] = f"{name}-{i}"
        r["subject"] = {"reference": f"Patient/{patient_id}"}
    return resources


def _claudication(side: str = "left") -> dict:
    site = LEFT_CALF if side == "left" else [{"coding": [{"system": SCT, "code": "53840002:272741003=24028007",
                                                          "display": "Calf, right"}]}]
    return condition(SCT, "63491006", body_site=site, display="Intermittent claudication")


# Issue 14: one patient per rule (ABI and the leg, venous, neurogenic and musculoskeletal), named after it.
# name -> resources maker. tools/card_table.py prints their cards; tests/test_leg_rules.py pins them.
RULE_CASES = {
    "abi-0.90-symptomatic-leg": lambda: [_claudication(), abi(0.90, "left")],
    "abi-0.91-symptomatic-leg": lambda: [_claudication(), abi(0.91, "left")],
    "abi-1.40-symptomatic-leg": lambda: [_claudication(), abi(1.40, "left")],
    "abi-1.41-symptomatic-leg": lambda: [_claudication(), abi(1.41, "left")],
    "normal-abi-both-legs-with-claudication": lambda: [_claudication(), abi(1.05, "left"), abi(1.10, "right")],
    "normal-abi-other-leg-only": lambda: [_claudication(), abi(1.10, "right")],
    "diabetes-exertional-normal-abi": lambda: [_claudication(), condition(ICD, "E11.9", onset_days=2000),
                                               abi(1.10, "left")],
    "diabetes-no-exertional-normal-abi": lambda: [condition(ICD, "E11.9", onset_days=2000), abi(1.10, "left")],
    "diabetes-foot-wound-normal-abi": lambda: [condition(ICD, "E11.9", onset_days=2000),
                                               condition(ICD, "L97.529", onset_days=20), abi(1.10, "left")],
    "ckd-exertional-normal-abi": lambda: [_claudication(), condition(ICD, "N18.31", onset_days=900), abi(1.20, "left")],
    "old-abnormal-abi": lambda: [_claudication(), abi(0.70, "left", days=500)],
    "old-abnormal-abi-later-normal": lambda: [_claudication(), abi(0.70, "left", days=500), abi(1.02, "left", days=100)],
    "dvt-confirmed": lambda: [condition(ICD, "I82.402", onset_days=5),
                              observation(SCT, "102572006", days=2, text="left leg swelling")],
    "dvt-provisional": lambda: [condition(ICD, "I82.402", onset_days=5, verification="provisional"),
                                observation(SCT, "102572006", days=2, text="left leg swelling")],
    "dvt-left-new-swelling-right": lambda: [condition(ICD, "I82.402", onset_days=20),
                                            condition(ICD, "R22.41", onset_days=1)],
    "dvt-chronic-new-swelling": lambda: [condition(ICD, "I82.502", onset_days=700),
                                         condition(ICD, "R22.42", onset_days=1)],
    "dvt-active-older-than-window": lambda: [condition(ICD, "I82.402", onset_days=300),
                                             condition(ICD, "R22.42", onset_days=1)],
    "pe-on-record": lambda: [condition(ICD, "I26.99", onset_days=10), condition(ICD, "I82.402", onset_days=12)],
    "varicose-veins-both-legs-swollen": lambda: [condition(ICD, "I83.93", onset_days=800),
                                                 condition(ICD, "R22.43", onset_days=10)],
    "history-left-current-right": lambda: [condition(ICD, "I82.402", onset_days=400, clinical="resolved"),
                                           condition(ICD, "I83.811", onset_days=300),
                                           condition(ICD, "R22.41", onset_days=3)],
    "stenosis-with-normal-right-abi": lambda: [condition(SCT, "18347007", onset_days=400),
                                               condition(ICD, "M79.604", onset_days=20),
                                               condition(ICD, "M79.605", onset_days=20), abi(1.05, "right")],
    "stenosis-without-claudication-alone": lambda: [condition(ICD, "M48.061", onset_days=400),
                                                    condition(ICD, "M79.605", onset_days=20)],
    "disc-degeneration-with-leg-pain": lambda: [condition(ICD, "M51.369", onset_days=400),
                                                condition(ICD, "M79.604", onset_days=20),
                                                condition(ICD, "M79.605", onset_days=20)],
    "achilles-rupture": lambda: [condition(SCT, "429513001", onset_days=3, text="left Achilles tendon rupture")],
    "cauda-equina": lambda: [condition(ICD, "G83.4", onset_days=2), condition(SCT, "18347007", onset_days=400)],
}


def rule_resources(name: str, patient_id: str) -> list[dict]:
    resources = RULE_CASES[name]()
    for i, r in enumerate(resources):
        r["id"] = f"{name}-{i}"
        r["subject"] = {"reference": f"Patient/{patient_id}"}
    return resources
