"""Regenerate examples/*.json: complete patient-view requests (with prefetch) that show each card.

The examples are dated as of EXAMPLES_NOW; evaluate them with
``cds-service evaluate --now 2026-11-27T12:00:00Z examples/<name>.json`` to see the cards they were
written for (red flags such as acute limb ischaemia only count for two weeks).
The cases themselves live in tests/cases.py, shared with the tests and the end-to-end suite.
"""
import json
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import builders  # noqa: E402
import cases  # noqa: E402

EXAMPLES_NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)

if __name__ == "__main__":
    builders.NOW = EXAMPLES_NOW  # the builders date resources relative to builders.NOW
    for name in cases.CASES:
        resources = cases.resources_for(name, "example-patient")
        answers = [r for r in resources if r["resourceType"] == "QuestionnaireResponse"]
        body = builders.hook_request(resources, patient="example-patient", answers=answers)
        body["hookInstance"] = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
        (ROOT / "examples" / f"{name}.json").write_text(json.dumps(body, indent=2) + "\n")
    print(f"wrote {len(cases.CASES)} examples")
