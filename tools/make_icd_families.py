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


def expand(family: dict, never: dict) -> list[tuple[str, str, str | None, str | None]]:
    """(code, display, side, site label) for every billable code of one family, in tabular order."""
    code = family["code"]
    if not icd.is_valid_item(code):
        raise ValueError(f"{code} is not in the ICD-10-CM tabular")
    leaves = [c for c in icd.get_descendants(code) if icd.is_leaf(c)] or [code]
    if family.get("with_header") and leaves != [code]:
        leaves = [code] + leaves  # a record may carry the non-billable category (N18.3) itself
    out = []
    for leaf in leaves:
        if leaf in never or leaf in (family.get("exclude") or {}):
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
        out.append((leaf, icd.get_description(leaf), side, family.get("site_label")))
    return out


def _other_codes(name: str, generated: dict[str, list]) -> set[str]:
    """ICD-10-CM codes that already mean something else: in another family or another value set file."""
    codes = {c for other, rows in generated.items() if other != name for c, *_ in rows}
    for path in (ROOT / "valuesets").glob("*.json"):
        if path.stem == name or path.stem in generated:
            continue
        vs = json.loads(path.read_text(encoding="utf-8"))
        codes |= {c["code"] for i in vs.get("compose", {}).get("include", ()) if i.get("system") == ICD10CM
                  for c in i.get("concept", ())}
    return codes


def expected(data: dict) -> dict[str, list[tuple[str, str, str | None, str | None]]]:
    """Each value set's rows. ``skip_owned``: a code with a meaning of its own elsewhere (E11.42
    diabetic polyneuropathy, E11.621 diabetic foot ulcer) stays there (a code has one meaning)."""
    never = data.get("never") or {}
    generated = {name: [row for family in spec["families"] for row in expand(family, never)]
                 for name, spec in data["valuesets"].items()}
    for name, spec in data["valuesets"].items():
        if spec.get("skip_owned"):
            owned = _other_codes(name, generated)
            generated[name] = [row for row in generated[name] if row[0] not in owned]
    return generated


def _concept(code: str, display: str, side: str | None, site: str | None, source: str) -> dict:
    concept = {"code": code, "display": display,
               "extension": [{"url": _EXT + "concept-source", "valueString": source}]}
    if side:
        concept["extension"].append({"url": _EXT + "concept-laterality", "valueCode": side})
    if site:
        concept["extension"].append({"url": _EXT + "concept-site-label", "valueString": site})
    return concept


def main() -> int:
    data = load()
    for name, rows in expected(data).items():
        path = ROOT / "valuesets" / f"{name}.json"
        vs = json.loads(path.read_text(encoding="utf-8"))
        includes = [i for i in vs["compose"]["include"] if i["system"] != ICD10CM]
        includes.append({"system": ICD10CM, "concept": [_concept(c, d, s, site, data["source"]) for c, d, s, site in rows]})
        vs["compose"]["include"] = includes
        path.write_text(json.dumps(vs, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{name}: {len(rows)} ICD-10-CM codes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
