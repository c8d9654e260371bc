"""Regenerate the ICD-10-CM part of the value sets named in knowledge/icd10cm-families.yaml.

A family is matched whole: every billable descendant in the pinned CDC tabular
(``simple-icd-10-cm==1.5.0``, April 1 2026), minus the exclusions named with their reasons, so a
laterality or site digit is never missed by hand. tests/test_icd_families.py checks the value sets
against the same expansion; run this after editing the families file:

    .venv/bin/python tools/make_icd_families.py
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import simple_icd_10_cm as icd
import yaml

ROOT = Path(__file__).resolve().parent.parent
FAMILIES = ROOT / "knowledge" / "icd10cm-families.yaml"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
_EXT = "https://claudication-cds.example.org/fhir/StructureDefinition/"


def load() -> dict:
    return yaml.safe_load(FAMILIES.read_text(encoding="utf-8"))


def expand(family: dict, never: dict) -> list[tuple[str, str, str | None]]:
    """(code, display, side) for every billable code of one family, in tabular order."""
    code = family["code"]
    if not icd.is_valid_item(code):
        raise ValueError(f"{code} is not in the ICD-10-CM tabular")
    leaves = [c for c in icd.get_descendants(code) if icd.is_leaf(c)] or [code]
    out = []
    for leaf in leaves:
        if leaf in never:
            continue
        last = leaf[-1]
        if last in (family.get("exclude_last") or {}):
            continue
        if family.get("keep_last") and last not in family["keep_last"]:
            continue
        side = family.get("side")
        if "side_char" in family:
            rule = family["side_char"]
            char = leaf[rule["index"]] if len(leaf) > rule["index"] else ""
            side = rule["values"].get(char)
        out.append((leaf, icd.get_description(leaf), side))
    return out


def expected(data: dict) -> dict[str, list[tuple[str, str, str | None]]]:
    never = data.get("never") or {}
    return {name: [row for family in spec["families"] for row in expand(family, never)]
            for name, spec in data["valuesets"].items()}


def _concept(code: str, display: str, side: str | None, source: str) -> dict:
    concept = {"code": code, "display": display,
               "extension": [{"url": _EXT + "concept-source", "valueString": source}]}
    if side:
        concept["extension"].append({"url": _EXT + "concept-laterality", "valueCode": side})
    return concept


def main() -> int:
    data = load()
    for name, rows in expected(data).items():
        path = ROOT / "valuesets" / f"{name}.json"
        vs = json.loads(path.read_text(encoding="utf-8"))
        includes = [i for i in vs["compose"]["include"] if i["system"] != ICD10CM]
        includes.append({"system": ICD10CM, "concept": [_concept(c, d, s, data["source"]) for c, d, s in rows]})
        vs["compose"]["include"] = includes
        path.write_text(json.dumps(vs, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{name}: {len(rows)} ICD-10-CM codes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
