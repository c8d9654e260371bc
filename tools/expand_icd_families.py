"""Regenerate knowledge/order-icd10cm.json: the ICD-10-CM families of knowledge/order-rules.yaml, expanded.

A family such as 'I50' means every code below it in the CDC tabular, and nothing else. The
pinned simple-icd-10-cm (1.5.0, the April 2026 tabular) expands it here, at build time, and
checks every ICD-10-CM code the rules list by hand. The service reads the JSON: importing the
package parses the whole tabular (2 to 7 s on this machine), which a gunicorn worker must not
pay at start. tests/test_orders_knowledge.py regenerates the file and compares, so it cannot
drift from the rules. Run ``.venv/bin/python tools/expand_icd_families.py`` after changing them.
"""
from __future__ import annotations

import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "knowledge" / "order-rules.yaml"
TARGET = ROOT / "knowledge" / "order-icd10cm.json"


class ExpansionError(ValueError):
    pass


def expand(rules: dict) -> dict:
    import simple_icd_10_cm as icd

    families: dict[str, list[dict]] = {}
    problems = []
    for name, spec in sorted((rules.get("code_sets") or {}).items()):
        for item in spec.get("concepts") or ():
            if item.get("system") == "icd10cm" and not icd.is_valid_item(str(item.get("code"))):
                problems.append(f"code_sets.{name}: {item.get('code')} is not an ICD-10-CM code in the pinned tabular")
        for family in spec.get("families") or ():
            code = str(family.get("code"))
            if not icd.is_valid_item(code):
                problems.append(f"code_sets.{name}: family {code} is not in the pinned tabular")
                continue
            families[code] = [{"code": c, "display": icd.get_description(c)} for c in [code, *icd.get_descendants(code)]]
    if problems:
        raise ExpansionError("\n".join(problems))
    return {"tabular": "simple-icd-10-cm==1.5.0 (CDC/NCHS ICD-10-CM tabular, April 1 2026)", "families": families}


def render(rules_path: Path = RULES) -> str:
    return json.dumps(expand(yaml.safe_load(rules_path.read_text(encoding="utf-8"))), indent=1) + "\n"


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
