"""The example patients, one per card kind: examples/*.json, the end-to-end suite and the tests use these.

Resources are dated relative to ``builders.NOW`` at the moment a maker is called.
"""
from __future__ import annotations

from builders import ICD, SCT, abi, condition, observation

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
