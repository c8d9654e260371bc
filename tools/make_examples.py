"""Regenerate examples/*.json: complete patient-view requests (with prefetch) that show each card.

The examples are dated as of EXAMPLES_NOW; evaluate them with
``cds-service evaluate --now 2026-11-27T12:00:00Z examples/<name>.json`` to see the cards they were
written for (red flags such as acute limb ischaemia only count for two weeks).
"""
import json
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import builders  # noqa: E402

EXAMPLES_NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
from builders import ICD, SCT, abi, condition, hook_request, observation  # noqa: E402

LEFT_CALF = [{"coding": [{"system": SCT, "code": "53840002:272741003=7771000", "display": "Calf, left"}]}]
CASES = {
    "arterial-left-calf-low-abi": lambda: [condition(SCT, "63491006", body_site=LEFT_CALF, display="Intermittent claudication"),
                                           abi(0.72, "left"), abi(1.02, "right")],
    "arterial-noncompressible-abi": lambda: [condition(ICD, "I70.211"), abi(1.52, "right")],
    "arterial-acute-limb-ischaemia": lambda: [observation(SCT, "163121008", days=0.5),
                                              observation(SCT, "398979000", days=0.5, text="pale left foot")],
    "venous-dvt-swelling": lambda: [condition(ICD, "I82.402", onset_days=5),
                                    observation(SCT, "102572006", days=2, text="left leg swelling")],
    "neurogenic-bilateral-stenosis": lambda: [condition(SCT, "18347007", onset_days=400),
                                              condition(ICD, "M79.604", onset_days=20), condition(ICD, "M79.605", onset_days=20)],
    "neurogenic-diabetic-neuropathy": lambda: [condition(SCT, "368581000119106", onset_days=2000)],
    "musculoskeletal-calf-strain": lambda: [condition(ICD, "S86.112A", onset_days=7)],
    "nothing-relevant": lambda: [condition(SCT, "444814009", onset_days=7)],
}

if __name__ == "__main__":
    builders.NOW = EXAMPLES_NOW  # the builders date resources relative to builders.NOW
    for name, make in CASES.items():
        resources = make()
        for i, r in enumerate(resources):
            r["id"] = f"{name}-{i}"
        body = hook_request(resources, patient="example-patient")
        for r in resources:
            r["subject"] = {"reference": "Patient/example-patient"}
        body["hookInstance"] = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
        (ROOT / "examples" / f"{name}.json").write_text(json.dumps(body, indent=2) + "\n")
    print(f"wrote {len(CASES)} examples")
