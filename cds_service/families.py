"""ICD-10-CM code families: a value set's ICD-10-CM part is defined, not hand-listed.

Real records rarely carry the exact code a hand-made list names: they carry a sibling with another
laterality digit, another ulcer site or another 7th character. So each value set named in
``knowledge/icd10cm-families.yaml`` states its ICD-10-CM part as "the billable descendants of these
codes, minus these exclusions, each with its reason", and carries the expansion the service matches.

Three users, three needs:

* the service at run time reads only the expansion already written in ``valuesets/`` and, for the
  unknown-code counter, the leg-relevant blocks and exclusions of the families file (no tabular);
* ``tools/make_icd_families.py`` (maintainers) rewrites the expansions from the pinned CDC tabular;
* ``cds-service check`` verifies, against the same tabular, that every ICD-10-CM code of every value
  set exists and that every descendant of every family is either listed or excluded with a reason.

The tabular comes from the pinned ``simple-icd-10-cm==1.5.0`` (CDC/NCHS, April 1 2026), installed with
the test and maintainer tools; the production image does not carry it and never needs it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from . import documents
from .documents import Problem
from .terminology import EXT_LATERALITY, EXT_SITE_LABEL, EXT_SOURCE, ICD10CM, SNOMED, snomed_edition_problem

FAMILIES_FILE = "icd10cm-families.yaml"
SIDES = ("right", "left", "bilateral")


class FamiliesError(ValueError):
    """The families file is broken."""


def tabular() -> ModuleType | None:
    """The pinned ICD-10-CM tabular, or None when the maintainer tools are not installed."""
    try:
        import simple_icd_10_cm  # type: ignore[import-untyped]
    except ImportError:
        return None
    return simple_icd_10_cm


def load(base: Path) -> dict:
    """The families file under ``base/knowledge``, structurally checked (empty when absent)."""
    path = base / "knowledge" / FAMILIES_FILE
    if not path.is_file():
        return {"valuesets": {}, "never": {}, "unknown_code_blocks": {}}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise FamiliesError(f"{path.name}: not readable YAML ({exc})") from None
    problems = structure_problems(data)
    if problems:
        raise FamiliesError(f"{path.name}:\n  " + "\n  ".join(problems))
    return data


def read(base: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The families file read strictly and checked against ``schemas/icd10cm-families.schema.json``
    (the service's path: problems name file, line and key); an absent file is an empty one."""
    label = f"knowledge/{FAMILIES_FILE}"
    path = base / label
    if not path.is_file():
        return {"valuesets": {}, "never": {}, "unknown_code_blocks": {}}, []
    doc = documents.read(path, label)
    if isinstance(doc, Problem):
        return None, [doc]
    problems = documents.validate(doc, "icd10cm-families")
    if problems:
        return None, problems
    found = structure_problems(doc.data)
    if found:
        return None, [Problem(label, None, "", p) for p in found]
    return doc.data, []


def structure_problems(data: Any) -> list[str]:
    """Problems that need no tabular: shapes, and a reason next to every exclusion."""
    if not isinstance(data, dict) or not isinstance(data.get("valuesets"), dict):
        return ["valuesets must be a mapping of value set name to families"]
    problems = []
    for code, reason in (data.get("never") or {}).items():
        if not isinstance(reason, str) or not reason.strip():
            problems.append(f"never.{code}: an exclusion needs its reason")
    for block, reason in (data.get("unknown_code_blocks") or {}).items():
        if not isinstance(reason, str) or not reason.strip():
            problems.append(f"unknown_code_blocks.{block}: say why the block is leg-relevant")
    for name, spec in data["valuesets"].items():
        if not isinstance(spec, dict) or not spec.get("reason") or not isinstance(spec.get("families"), list):
            problems.append(f"{name}: needs a reason and a list of families")
            continue
        for family in spec["families"]:
            if not isinstance(family, dict) or not isinstance(family.get("code"), str):
                problems.append(f"{name}: a family needs a code")
                continue
            for key in ("exclude", "exclude_last", "keep_last"):
                for pattern, reason in (family.get(key) or {}).items():
                    if not isinstance(reason, str) or not reason.strip():
                        problems.append(f"{name}: {family['code']} {key} {pattern}: an exclusion needs its reason")
            site = family.get("site_label")
            if site is not None and (not isinstance(site, str) or not site.strip()):
                problems.append(f"{name}: {family['code']} site_label must name a site")
            side = family.get("side")
            if side is not None and side not in SIDES:
                problems.append(f"{name}: {family['code']} side {side!r} is not right, left or bilateral")
    return problems


def _matches(pattern: str, code: str) -> bool:
    """``pattern`` is a code prefix in which ``?`` stands for any one character."""
    return len(code) >= len(pattern) and all(p in ("?", c) for p, c in zip(pattern, code[:len(pattern)], strict=True))


def exclusion(family: dict, code: str, never: dict) -> str | None:
    """Why ``code`` (a descendant of ``family``) is left out of the family's value set, or None."""
    if code in never:
        return never[code]
    for pattern, reason in (family.get("exclude") or {}).items():
        if _matches(pattern, code):
            return reason
    last = code[-1]
    if last in (family.get("exclude_last") or {}):
        return family["exclude_last"][last]
    keep = family.get("keep_last")
    if keep and last not in keep:
        return f"last character {last}: only {', '.join(keep)} kept ({'; '.join(keep.values())})"
    return None


def side_of(family: dict, code: str) -> str | None:
    if "side_char" in family:
        rule = family["side_char"]
        char = code[rule["index"]] if len(code) > rule["index"] else ""
        return rule["values"].get(char)
    return family.get("side")


def expand(family: dict, never: dict, icd: ModuleType) -> tuple[list[tuple[str, str, str | None]], dict[str, str]]:
    """(code, display, side) for every billable descendant kept, in tabular order, and the excluded
    ones with their reasons. ``with_header`` also keeps the family code itself (a header that
    older data still carries, such as M51.36 before October 2024)."""
    code = family["code"]
    if not icd.is_valid_item(code):
        raise FamiliesError(f"{code} is not in the ICD-10-CM tabular")
    leaves = [c for c in icd.get_descendants(code) if icd.is_leaf(c)] or [code]
    if family.get("with_header") and code not in leaves:
        leaves = [code, *leaves]
    kept, excluded = [], {}
    for leaf in leaves:
        why = exclusion(family, leaf, never)
        if why:
            excluded[leaf] = why
        else:
            kept.append((leaf, icd.get_description(leaf), side_of(family, leaf)))
    return kept, excluded


def expected(data: dict, icd: ModuleType) -> dict[str, list[tuple[str, str, str | None]]]:
    never = data.get("never") or {}
    return {name: [row for family in spec["families"] for row in expand(family, never, icd)[0]]
            for name, spec in data["valuesets"].items()}


def _ext(concept: dict, url: str) -> str | None:
    return next((e.get("valueCode") or e.get("valueString") for e in concept.get("extension", ()) if e.get("url") == url), None)


def icd_part(vs: dict) -> list[tuple[str, str, str | None]]:
    return [(c["code"], c.get("display"), _ext(c, EXT_LATERALITY))
            for include in vs.get("compose", {}).get("include", []) if include.get("system") == ICD10CM
            for c in include.get("concept", [])]


def check(base: Path, valuesets: dict[str, dict], icd: ModuleType) -> list[str]:
    """Problems found against the tabular: a code that does not exist, a family descendant neither
    listed nor excluded with a reason, a listed code no family yields, a wrong side."""
    problems = []
    for name, vs in sorted(valuesets.items()):
        for code, _, _ in icd_part(vs):
            if not icd.is_valid_item(code):
                problems.append(f"{name}: ICD-10-CM {code} is not in the pinned tabular (simple-icd-10-cm 1.5.0)")
    try:
        data = load(base)
    except FamiliesError as exc:
        return [*problems, str(exc)]
    never = data.get("never") or {}
    shipped = {code for vs in valuesets.values() for code, _, _ in icd_part(vs)}
    for code, reason in never.items():
        if code in shipped:
            problems.append(f"{code} is excluded from every value set ({reason}) but one lists it")
    for name, spec in data["valuesets"].items():
        found = valuesets.get(name)
        if found is None:
            problems.append(f"{FAMILIES_FILE}: value set {name!r} does not exist")
            continue
        vs = found
        listed = {code: side for code, _, side in icd_part(vs)}
        wanted: dict[str, str | None] = {}
        excluded: dict[str, tuple[str, str]] = {}
        for family in spec["families"]:
            try:
                kept, dropped = expand(family, never, icd)
            except FamiliesError as exc:
                problems.append(f"{name}: {exc}")
                continue
            wanted.update({code: side for code, _, side in kept})
            excluded.update({code: (family["code"], reason) for code, reason in dropped.items()})
        for code, (family_code, reason) in excluded.items():
            if code in listed and code not in wanted:  # another family of the same value set may keep it
                problems.append(f"{name}: {code} is listed but its family {family_code} excludes it ({reason})")
        for code, side in wanted.items():
            if code not in listed:
                problems.append(f"{name}: {code}, a descendant of its families, is neither included nor excluded "
                                "with a reason (run tools/make_icd_families.py)")
            elif listed[code] != side:
                problems.append(f"{name}: {code} laterality {listed[code]!r}, the family says {side!r}")
        for code in sorted(listed.keys() - wanted.keys() - excluded.keys()):
            problems.append(f"{name}: {code} is listed but no family of the value set yields it")
    return problems


def write(base: Path, icd: ModuleType) -> dict[str, tuple[int, int]]:
    """Rewrite the ICD-10-CM part of each family value set; returns {name: (codes before, after)}."""
    data = load(base)
    counts = {}
    never = data.get("never") or {}
    for name, rows in expected(data, icd).items():
        # site_label: the site every code of a family names, for codes that say the leg but no side
        # (M79.A29, T79.A29A), so that they are leg codes and keep their red flag.
        sites = {code: family.get("site_label") for family in data["valuesets"][name]["families"]
                 for code, _, _ in expand(family, never, icd)[0]}
        path = base / "valuesets" / f"{name}.json"
        vs = json.loads(path.read_text(encoding="utf-8"))
        before = len(icd_part(vs))
        includes = [i for i in vs["compose"]["include"] if i["system"] != ICD10CM]
        includes.append({"system": ICD10CM, "concept": [_concept(c, d, s, data["source"], sites.get(c)) for c, d, s in rows]})
        vs["compose"]["include"] = includes
        path.write_text(json.dumps(vs, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        counts[name] = (before, len(rows))
    return counts


def _concept(code: str, display: str, side: str | None, source: str, site: str | None = None) -> dict:
    extensions: list[dict[str, str]] = [{"url": EXT_SOURCE, "valueString": source}]
    concept: dict[str, Any] = {"code": code, "display": display, "extension": extensions}
    if side:
        extensions.append({"url": EXT_LATERALITY, "valueCode": side})
    if site:
        extensions.append({"url": EXT_SITE_LABEL, "valueString": site})
    return concept


def snomed_problems(data: dict, listed: set[tuple[str, str]]) -> list[Problem]:
    """An unknown SNOMED CT code that a value set lists would be both known and a gap: refused."""
    problems = []
    for code in sorted(data.get("unknown_snomed_codes") or {}):
        edition = snomed_edition_problem(str(code))
        if edition:
            problems.append(Problem(f"knowledge/{FAMILIES_FILE}", None, f"unknown_snomed_codes.{code}", f"{code} {edition}"))
        elif (SNOMED, code) in listed:
            problems.append(Problem(f"knowledge/{FAMILIES_FILE}", None, f"unknown_snomed_codes.{code}",
                                    "a value set lists this code: it is not unknown"))
    return problems


@dataclass(frozen=True)
class Gaps:
    """Which unmatched Condition codes are coding gaps: ICD-10-CM codes in a leg-relevant block that
    no value set lists and no family excludes by name, and the SNOMED CT codes listed one by one as
    their counterparts (``unknown_snomed_codes``: no offline hierarchy says which are leg-relevant).
    Needs no tabular."""

    blocks: tuple[str, ...] = ()
    families: tuple[dict, ...] = ()
    never: tuple[tuple[str, str], ...] = ()
    snomed: frozenset[str] = frozenset()

    @classmethod
    def from_data(cls, data: dict) -> "Gaps":
        return cls(blocks=tuple(sorted(data.get("unknown_code_blocks") or {})),
                   families=tuple(f for spec in data["valuesets"].values() for f in spec["families"]),
                   never=tuple((data.get("never") or {}).items()),
                   snomed=frozenset(data.get("unknown_snomed_codes") or {}))

    def is_gap(self, system: str, code: str) -> bool:
        if system == SNOMED:
            return code in self.snomed
        if system != ICD10CM or not code.startswith(self.blocks):
            return False
        never = dict(self.never)
        return not any(code.startswith(f["code"]) and exclusion(f, code, never) for f in self.families) \
            and code not in never
