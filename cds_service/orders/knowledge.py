"""knowledge/order-rules.yaml and cards/orders/*.yaml, loaded and cross-checked at start.

Code sets are explicit lists, each code with its source, plus ICD-10-CM families expanded
with the pinned simple-icd-10-cm (the CDC tabular), so that 'I50.-' means every code below
I50 and nothing else. The expansion is done at build time (tools/expand_icd_families.py ->
knowledge/order-icd10cm.json): importing the package at start costs seconds per worker. The signs the rules borrow from valuesets/ must exist there. Prefetch
templates are built here from the same lists, so a key always asks for exactly what the
rules read. Any problem stops the service at start with a message naming file and key.
"""
from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import json

import yaml

from .. import prefetch as prefetch_mod
from ..knowledge import Knowledge
from ..prefetch import PrefetchKey
from ..terminology import Terminology

INDICATORS = ("info", "warning", "critical")
RULE_PARTS = {
    "cilostazol-heart-failure": ("heart-failure",),
    "compression-ischaemia": ("clti", "abi-bands", "no-abi"),
    "compression-heart-failure": ("severe-heart-failure",),
}
SIGN_GROUPS = ("arterial_disease", "clti", "pad_risk", "abi")
CODE_SETS = ("cilostazol", "heart-failure", "severe-heart-failure", "acute-heart-failure", "compression", "diabetes")
PLACEHOLDERS = frozenset({"order", "condition", "leg", "leg_any", "abi", "abi_date", "kind", "trigger", "ordered",
                          "other"})
_ICD = "icd10cm"


class OrderKnowledgeError(ValueError):
    """The order rules or their card templates are broken; the service refuses to start."""


@dataclass(frozen=True)
class CodeEntry:
    code_set: str
    system: str
    code: str
    display: str
    source: str
    kind: str | None = None


@dataclass(frozen=True)
class Variant:
    indicator: str
    summary: str
    lead: str
    consider: tuple[str, ...] = ()
    suggest: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrderCard:
    topic: str
    title: str
    source: dict
    links: tuple[dict, ...]
    variants: dict[str, Variant]
    sources: tuple[str, ...]
    override_reasons: tuple[dict, ...]
    suggestions: dict[str, dict] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderKnowledge:
    codes: dict[tuple[str, str], tuple[CodeEntry, ...]]
    signs: dict[str, frozenset[str]]
    abi: dict[str, float]
    prefetch_keys: tuple[PrefetchKey, ...]
    rule_needs: dict[str, dict[str, tuple[str, ...]]]
    cards: dict[str, OrderCard]
    systems: dict[str, str]
    disclaimer: str
    acute_heart_failure_days: int = 30  # code_sets.acute-heart-failure.window_days

    def code_sets_of(self, system: str | None, code: str) -> tuple[CodeEntry, ...]:
        """The code sets a coding belongs to; ICD-10-CM also without its dot ('I509')."""
        if system is None:
            return ()
        found = self.codes.get((system, code))
        if found is None and system == self.systems[_ICD] and "." not in code and len(code) > 3:
            found = self.codes.get((system, f"{code[:3]}.{code[3:]}"))
        return found or ()

    def in_set(self, code_set: str, system: str | None, code: str) -> CodeEntry | None:
        return next((e for e in self.code_sets_of(system, code) if e.code_set == code_set), None)

    def templates(self) -> dict[str, str]:
        return {k.key: f"{k.resource_type}?patient={{{{context.patientId}}}}&{k.params}" for k in self.prefetch_keys}


def _expansions(base: Path, problems: list[str]) -> dict[str, list[dict]]:
    path = base / "knowledge" / "order-icd10cm.json"
    try:
        return dict(json.loads(path.read_text(encoding="utf-8"))["families"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        problems.append(f"knowledge/order-icd10cm.json is not readable ({exc}); run tools/expand_icd_families.py")
        return {}


def _code_sets(raw: dict, systems: dict[str, str], problems: list[str],
               expansions: dict[str, list[dict]]) -> list[CodeEntry]:
    entries: list[CodeEntry] = []
    for name in CODE_SETS:
        spec = raw.get(name)
        if not isinstance(spec, dict):
            problems.append(f"order-rules: code_sets.{name} is missing")
            continue
        for item in spec.get("concepts") or ():
            where = f"order-rules: code_sets.{name} {item.get('code')!r}"
            if item.get("system") not in systems or not isinstance(item.get("code"), str):
                problems.append(f"{where}: needs a known system and a string code")
                continue
            if not item.get("display") or not item.get("source"):
                problems.append(f"{where}: needs a display and its source")
                continue
            entries.append(CodeEntry(name, systems[item["system"]], item["code"], item["display"], item["source"],
                                     item.get("kind")))
        for family in spec.get("families") or ():
            if family.get("system") != _ICD or not family.get("source"):
                problems.append(f"order-rules: code_sets.{name} family {family.get('code')!r}: ICD-10-CM with a source only")
                continue
            expanded = expansions.get(str(family.get("code")))
            if not expanded:
                problems.append(f"order-rules: code_sets.{name} family {family.get('code')!r} is not expanded in "
                                "knowledge/order-icd10cm.json; run tools/expand_icd_families.py")
                continue
            for item in expanded:
                entries.append(CodeEntry(name, systems[_ICD], item["code"], item["display"] or family["display"],
                                         family["source"]))
        if not spec.get("concepts") and not spec.get("families"):
            problems.append(f"order-rules: code_sets.{name} lists no code")
    return entries


def _card(path: Path, problems: list[str]) -> OrderCard | None:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        problems.append(f"cards/orders/{path.name}: not readable YAML ({exc})")
        return None
    where = f"cards/orders/{path.name}"
    if not isinstance(raw, dict) or raw.get("topic") != path.stem:
        problems.append(f"{where}: topic must equal the file name")
        return None
    variants = {}
    for vid, v in (raw.get("variants") or {}).items():
        if v.get("indicator") not in INDICATORS or not v.get("summary") or not v.get("lead"):
            problems.append(f"{where}: variant {vid} needs an indicator, a summary and a lead")
            continue
        texts = [v["summary"], v["lead"], *(v.get("consider") or ())]
        unknown = {n for t in texts for _, n, _, _ in string.Formatter().parse(t) if n} - PLACEHOLDERS
        if unknown:
            problems.append(f"{where}: variant {vid} uses unknown placeholders {sorted(unknown)}")
            continue
        suggest = tuple(v.get("suggest") or ())
        for sid in suggest:
            spec = (raw.get("suggestions") or {}).get(sid) or {}
            if not spec.get("label") or not spec.get("description"):
                problems.append(f"{where}: variant {vid} suggests {sid!r}, which needs a label and a description")
            if sid != "delete" and (spec.get("resource") or {}).get("resourceType") != "ServiceRequest":
                problems.append(f"{where}: suggestion {sid!r} must create a ServiceRequest")
        both_legs = ((raw.get("suggestions") or {}).get("delete") or {}).get("both_legs")
        if both_legs and {n for _, n, _, _ in string.Formatter().parse(both_legs) if n} - PLACEHOLDERS:
            problems.append(f"{where}: suggestions.delete.both_legs uses unknown placeholders")
        variants[vid] = Variant(v["indicator"], v["summary"], v["lead"], tuple(v.get("consider") or ()), suggest)
    reasons = tuple(raw.get("override_reasons") or ())
    if not reasons or any(not r.get("code") or not r.get("display") for r in reasons):
        problems.append(f"{where}: override_reasons need code and display")
    source = raw.get("source") or {}
    if not source.get("label"):
        problems.append(f"{where}: source.label is required")
    if not raw.get("sources"):
        problems.append(f"{where}: sources (the guideline or label each card quotes) are required")
    links = tuple(raw.get("links") or ())
    for link in links:
        if not str(link.get("url", "")).startswith(("https://", "http://")) or not link.get("label"):
            problems.append(f"{where}: every link needs a label and an absolute url")
    return OrderCard(topic=raw["topic"], title=raw.get("title", raw["topic"]), source=source, links=links,
                     variants=variants, sources=tuple(raw.get("sources") or ()), override_reasons=reasons,
                     suggestions=dict(raw.get("suggestions") or {}))


def _prefetch(raw: dict, entries: list[CodeEntry], signs: dict[str, frozenset[str]], terminology: Terminology,
              problems: list[str]) -> tuple[PrefetchKey, ...]:
    keys = []
    for key, spec in (raw or {}).items():
        rtype = spec.get("resource")
        if rtype not in ("Condition", "Observation"):
            problems.append(f"order-rules: prefetch.{key}: resource must be Condition or Observation")
            continue
        codes = {e.code for e in entries if e.code_set in (spec.get("code_sets") or ())}
        for group in spec.get("signs") or ():
            if group not in signs:
                problems.append(f"order-rules: prefetch.{key}: unknown sign group {group!r}")
                continue
            codes |= {c.code for c in terminology.codes_for(signs[group])}
        if not codes:
            problems.append(f"order-rules: prefetch.{key} asks for no code")
            continue
        if spec.get("by_patient") and rtype != "Condition":
            problems.append(f"order-rules: prefetch.{key}: by_patient is for Conditions only")
        # by_patient: read every Condition of the patient and keep the known codes here, so the URL stays short
        params = "" if spec.get("by_patient") and rtype == "Condition" else f"code={','.join(sorted(codes))}"
        if spec.get("sort"):
            params += f"&_sort={spec['sort']}"
        params += f"&_count={int(spec.get('count', 100))}"
        keys.append(PrefetchKey(key, rtype, params.lstrip("&"), False))
    return tuple(keys)


def load(base: Path, knowledge: Knowledge) -> OrderKnowledge:
    """The order rules under ``base``, checked against the loaded patient-view knowledge."""
    terminology = knowledge.terminology
    problems: list[str] = []
    path = base / "knowledge" / "order-rules.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise OrderKnowledgeError(f"{path} is not readable: {exc}") from None
    systems = dict(raw.get("systems") or {})
    if set(systems) != {"rxnorm", "snomed", _ICD}:
        problems.append("order-rules: systems must name rxnorm, snomed and icd10cm")
    expansions = _expansions(base, problems)
    entries = _code_sets(raw.get("code_sets") or {}, systems, problems, expansions) if not problems else []
    codes: dict[tuple[str, str], tuple[CodeEntry, ...]] = {}
    for e in entries:
        codes[(e.system, e.code)] = (*codes.get((e.system, e.code), ()), e)
    signs: dict[str, frozenset[str]] = {}
    for group in SIGN_GROUPS:
        members = frozenset((raw.get("signs") or {}).get(group) or ())
        unknown = members - terminology.signs
        if not members or unknown:
            problems.append(f"order-rules: signs.{group} must name value sets in valuesets/ (unknown: {sorted(unknown)})")
        signs[group] = members
    abi = raw.get("abi") or {}
    try:
        bands = {k: float(abi[k]) for k in ("window_days", "critical_below", "reduced_below", "noncompressible_above")}
    except (KeyError, TypeError, ValueError):
        problems.append("order-rules: abi needs window_days, critical_below, reduced_below, noncompressible_above")
        bands = {}
    if bands and not (0 < bands["critical_below"] < bands["reduced_below"] < bands["noncompressible_above"]):
        problems.append("order-rules: abi thresholds must rise: critical_below < reduced_below < noncompressible_above")
    acute_days = ((raw.get("code_sets") or {}).get("acute-heart-failure") or {}).get("window_days")
    if isinstance(acute_days, bool) or not isinstance(acute_days, int) or acute_days <= 0:
        problems.append("order-rules: code_sets.acute-heart-failure needs window_days, a positive whole number of days")
        acute_days = 0
    prefetch_keys = _prefetch(raw.get("prefetch"), entries, signs, terminology, problems)
    patient_view_keys = {k.key: k for k in prefetch_mod.keys(knowledge)}
    for name in raw.get("reuse_prefetch") or ():
        if name not in patient_view_keys:
            problems.append(f"order-rules: reuse_prefetch names {name!r}, which is no patient-view prefetch key")
            continue
        key = patient_view_keys[name]
        prefetch_keys += (PrefetchKey(key.key, key.resource_type, key.params, False),)
    key_names = {k.key for k in prefetch_keys}
    needs: dict[str, dict[str, tuple[str, ...]]] = {}
    for rule, parts in RULE_PARTS.items():
        spec = (raw.get("rules") or {}).get(rule) or {}
        if not spec.get("sources"):
            problems.append(f"order-rules: rules.{rule} needs its sources")
        needs[rule] = {}
        for part in parts:
            wanted = tuple(((spec.get("parts") or {}).get(part) or {}).get("needs") or ())
            if not wanted or set(wanted) - key_names:
                problems.append(f"order-rules: rules.{rule}.parts.{part}.needs must name prefetch keys")
            needs[rule][part] = wanted
    cards: dict[str, OrderCard] = {}
    folder = base / "cards" / "orders"
    for card_path in sorted(folder.glob("*.yaml")) if folder.is_dir() else ():
        card = _card(card_path, problems)
        if card is not None:
            cards[card.topic] = card
    for topic, variants in {"cilostazol-heart-failure": {"current", "history"},
                            "compression-ischaemia": {"limb-threat", "critical", "reduced", "old-severe", "noncompressible", "no-abi"},
                            "compression-heart-failure": {"severe"}}.items():
        if topic not in cards:
            problems.append(f"cards/orders: no template for {topic}")
        elif variants - set(cards[topic].variants):
            problems.append(f"cards/orders/{topic}.yaml: missing variants {sorted(variants - set(cards[topic].variants))}")
    disclaimer = str(raw.get("disclaimer") or "").strip()
    if not disclaimer:
        problems.append("order-rules: disclaimer is required (the advisory line every order card ends with)")
    if problems:
        raise OrderKnowledgeError("broken order rules:\n  " + "\n  ".join(problems))
    return OrderKnowledge(codes=codes, signs=signs, abi=bands, prefetch_keys=prefetch_keys, rule_needs=needs,
                          cards=cards, systems=systems, disclaimer=disclaimer, acute_heart_failure_days=acute_days)


def describe(knowledge: OrderKnowledge) -> dict[str, Any]:
    """Counts for `cds-service check` and /healthz-style summaries."""
    per_set: dict[str, int] = {}
    for entries in knowledge.codes.values():
        for e in entries:
            per_set[e.code_set] = per_set.get(e.code_set, 0) + 1
    return {"codeSets": per_set, "cards": sorted(knowledge.cards), "prefetch": sorted(k.key for k in knowledge.prefetch_keys)}
