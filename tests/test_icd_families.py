"""ICD-10-CM families (knowledge/icd10cm-families.yaml) are matched whole, checked against the pinned CDC tabular."""
from __future__ import annotations

import json
import sys

from cds_service.config import REPO_ROOT
from cds_service.terminology import EXT_LATERALITY, ICD10CM

sys.path.insert(0, str(REPO_ROOT / "tools"))
import make_icd_families  # noqa: E402


def _icd_part(name: str) -> list[tuple[str, str, str | None, str | None]]:
    vs = json.loads((REPO_ROOT / "valuesets" / f"{name}.json").read_text(encoding="utf-8"))
    out = []
    for include in vs["compose"]["include"]:
        if include["system"] != ICD10CM:
            continue
        for c in include["concept"]:
            side = next((e["valueCode"] for e in c.get("extension", ()) if e["url"] == EXT_LATERALITY), None)
            site = next((e["valueString"] for e in c.get("extension", ()) if e["url"].endswith("concept-site-label")), None)
            out.append((c["code"], c["display"], side, site))
    return out


def test_value_sets_hold_each_family_whole_with_its_laterality():
    data = make_icd_families.load()
    for name, rows in make_icd_families.expected(data).items():
        assert _icd_part(name) == rows, f"{name}: run tools/make_icd_families.py"


def test_families_include_every_leg_laterality_digit():
    codes = {c for c, *_ in _icd_part("ischaemic-ulcer")}
    assert {f"I70.23{d}" for d in "1234589"} <= codes and {f"I70.24{d}" for d in "1234589"} <= codes
    gangrene = {c: s for c, _, s, _ in _icd_part("arterial-gangrene")}
    assert gangrene["I70.261"] == "right" and gangrene["I70.262"] == "left" and gangrene["I70.263"] == "bilateral"
    assert gangrene["I70.269"] is None


def test_arm_and_non_acute_codes_are_in_no_value_set():
    data = make_icd_families.load()
    shipped = {c.code for c in _all_concepts()}
    assert data["never"] and not set(data["never"]) & shipped
    assert {"I70.25", "I70.268", "I70.218", "I70.228", "T79.A22D", "T79.A22S"}.isdisjoint(shipped)
    assert all(reason for reason in data["never"].values())


def _all_concepts():
    from cds_service import terminology
    return terminology.load(REPO_ROOT / "valuesets").concepts.values()


def test_unknown_family_code_is_refused():
    import pytest
    with pytest.raises(ValueError, match="not in the ICD-10-CM tabular"):
        make_icd_families.expand({"code": "I70.99"}, {})
