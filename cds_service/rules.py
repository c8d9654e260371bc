"""The pattern table (knowledge/patterns.yaml) as typed, validated data.

Which sign supports or argues against which pattern, with weights, which signs are red
flags, how ABI values fall into bands, and how long each kind of finding stays current.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import documents
from .documents import Document, Problem
from .errors import RulesError
from . import pain_severity

__all__ = ["PATTERNS", "RESOURCE_TYPES", "RulesError", "Rules", "Sign", "Band", "Measurement", "Combination", "load", "parse"]

PATTERNS = ("arterial-claudication", "venous-claudication", "neurogenic-claudication", "musculoskeletal-leg-pain")
RESOURCE_TYPES = frozenset({"Condition", "Observation", "Procedure", "ServiceRequest", "QuestionnaireResponse"})


@dataclass(frozen=True)
class Weights:
    supports: dict[str, float] = field(default_factory=dict)
    against: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class WarningCodes:
    """Codes of a red flag that also mean something milder (M79.A2-: acute or chronic exertional
    compartment syndrome): they raise ``sign``, a derived red flag whose card variant is a warning."""
    codes: frozenset[str]
    sign: str


@dataclass(frozen=True)
class Sign:
    id: str
    seed: str = ""
    read_from: frozenset[str] = frozenset()
    derived: bool = False
    discriminating: bool = False
    discriminating_with_exertional: bool = False
    exertional: bool = False
    acute: bool = False
    lookback_days: int | None = None
    history_sign: str | None = None
    measurement: str | None = None
    red_flag: str | None = None
    red_flag_requires_any: tuple[str, ...] = ()
    red_flag_needs_leg: bool = False  # unsided and no leg site: ordinary evidence, never the red flag
    red_flag_warning_codes: WarningCodes | None = None  # these codes raise a warning sign instead of the red flag
    done_marker: bool = False
    present: Weights = Weights()
    absent: Weights = Weights()


@dataclass(frozen=True)
class Band:
    sign: str
    label: str
    max: float | None = None
    below: float | None = None

    def holds(self, value: float) -> bool:
        if self.max is not None:
            return value <= self.max
        if self.below is not None:
            return value < self.below
        return True


@dataclass(frozen=True)
class Measurement:
    id: str
    source: str
    recent_days: int
    bands: tuple[Band, ...]

    def band(self, value: float) -> Band:
        """The first band that holds ``value``. One always does: cross_check refuses a table whose last
        band is closed, so there is no fallback to get wrong."""
        return next(band for band in self.bands if band.holds(value))


@dataclass(frozen=True)
class Combination:
    id: str
    all_of: tuple[str, ...]
    any_of: tuple[str, ...]
    within_days: int
    recent_days: int


@dataclass(frozen=True)
class AbiReading:
    """Which ABI speaks for the arterial card: the symptomatic leg's (clinical reference 2.1, 2.6)."""
    pattern: str
    measurement: str
    source: str
    lasting_bands: tuple[str, ...]
    not_low_bands: tuple[str, ...]
    not_reassuring_source: str
    not_reassuring_context: tuple[str, ...]
    not_reassuring_wounds: tuple[str, ...]


@dataclass(frozen=True)
class DvtStatus:
    """Confirmed and suspected DVT, per leg (clinical reference 2.3, 2.6)."""
    pattern: str
    source: str
    dvt: str
    history: str
    pulmonary_embolism: str
    new_symptoms: tuple[str, ...]
    new_within_days: int
    chronic_venous: tuple[str, ...]
    swelling: str


@dataclass(frozen=True)
class ExtraPrefetchKey:
    """An optional prefetch key of its own for some signs, so that no one search lists too many codes."""
    key: str
    resource_type: str
    signs: tuple[str, ...]
    reason: str


BASE_PREFETCH_KEYS = frozenset({"conditions", "observations", "procedures", "serviceRequests"})


@dataclass(frozen=True)
class Rules:
    patterns: dict[str, dict]
    signs: dict[str, Sign]
    measurements: dict[str, Measurement]
    combinations: dict[str, Combination]
    laterality_signs: frozenset[str]
    min_score: float
    strong_score: float
    arterial: Any = None  # arterial_red_flags.ArterialRules, attached by knowledge.load
    prefetch_keys: dict[str, ExtraPrefetchKey] = field(default_factory=dict)
    severe_pain: Any = None  # pain_severity.SeverePain: the advisory line for severe pain, or None
    abi_reading: AbiReading | None = None
    dvt_status: DvtStatus | None = None

    def red_flags(self) -> dict[str, Sign]:
        return {k: s for k, s in self.signs.items() if s.red_flag}


def _weights(raw: dict[str, Any] | None) -> Weights:
    raw = raw or {}
    return Weights(supports={p: float(w) for p, w in (raw.get("supports") or {}).items()},
                   against={p: float(w) for p, w in (raw.get("against") or {}).items()})


def _sign(sign_id: str, raw: dict[str, Any]) -> Sign:
    return Sign(
        id=sign_id, seed=raw.get("seed", ""), read_from=frozenset(raw.get("read_from") or ()),
        derived=raw.get("derived", False), discriminating=raw.get("discriminating", False),
        discriminating_with_exertional=raw.get("discriminating_with_exertional", False),
        exertional=raw.get("exertional", False), acute=raw.get("acute", False),
        lookback_days=raw.get("lookback_days"), history_sign=raw.get("history_sign"), measurement=raw.get("measurement"),
        red_flag=raw.get("red_flag"), red_flag_requires_any=tuple(raw.get("red_flag_requires_any") or ()),
        red_flag_needs_leg=raw.get("red_flag_needs_leg", False),
        red_flag_warning_codes=WarningCodes(frozenset(raw["red_flag_warning_codes"]["codes"]), raw["red_flag_warning_codes"]["sign"])
        if raw.get("red_flag_warning_codes") else None, done_marker=raw.get("done_marker", False), present=_weights(raw.get("present")), absent=_weights(raw.get("absent")))


def _measurement(mid: str, raw: dict[str, Any]) -> Measurement:
    bands = tuple(Band(sign=b["sign"], label=b.get("label", b["sign"]), max=b.get("max"), below=b.get("below"))
                  for b in raw["bands"])
    return Measurement(id=mid, source=raw["source"], recent_days=raw.get("recent_days", 365), bands=bands)


def _abi_reading(raw: dict[str, Any] | None) -> AbiReading | None:
    if raw is None:
        return None
    nr = raw["not_reassuring"]
    return AbiReading(pattern=raw["pattern"], measurement=raw["measurement"], source=raw["source"],
                      lasting_bands=tuple(raw["lasting_bands"]), not_low_bands=tuple(raw["not_low_bands"]),
                      not_reassuring_source=nr["source"], not_reassuring_context=tuple(nr["context_any"]),
                      not_reassuring_wounds=tuple(nr["wound_any"]))


def _dvt_status(raw: dict[str, Any] | None) -> DvtStatus | None:
    if raw is None:
        return None
    return DvtStatus(pattern=raw["pattern"], source=raw["source"], dvt=raw["dvt"], history=raw["history"],
                     pulmonary_embolism=raw["pulmonary_embolism"], new_symptoms=tuple(raw["new_symptoms"]),
                     new_within_days=raw["new_within_days"], chronic_venous=tuple(raw["chronic_venous"]),
                     swelling=raw["swelling"])


def parse(data: dict[str, Any]) -> Rules:
    """Build the rules from a pattern table that already conforms to ``patterns.schema.json``."""
    scoring = data["scoring"]
    return Rules(
        patterns=data["patterns"],
        signs={sid: _sign(sid, raw) for sid, raw in data["signs"].items()},
        measurements={mid: _measurement(mid, raw) for mid, raw in data["measurements"].items()},
        combinations={cid: Combination(id=cid, all_of=tuple(raw["all_of"]), any_of=tuple(raw["any_of"]),
                                       within_days=raw.get("within_days", 14), recent_days=raw.get("recent_days", 14))
                      for cid, raw in data["combinations"].items()},
        laterality_signs=frozenset(data["laterality_signs"]),
        min_score=float(scoring["min_score"]), strong_score=float(scoring["strong_score"]),
        abi_reading=_abi_reading(data.get("abi_reading")), dvt_status=_dvt_status(data.get("dvt_status")),
        severe_pain=pain_severity.build(data.get("severe_pain")),
        prefetch_keys={key: ExtraPrefetchKey(key=key, resource_type=spec["resource_type"], signs=tuple(spec["signs"]),
                                             reason=spec["reason"])
                       for key, spec in (data.get("prefetch_keys") or {}).items()})


def cross_check(doc: Document) -> list[Problem]:
    """What the schema cannot say: every sign named inside the table exists (and is derived
    where it must be computed), and a measurement's last band catches every value."""
    data = doc.data
    signs: dict[str, Any] = data["signs"]
    problems: list[Problem] = []

    def need(path: tuple[str | int, ...], ref: str, derived: bool = False) -> None:
        if ref not in signs:
            problems.append(doc.problem(path, f"unknown sign {ref!r}"))
        elif derived and not signs[ref].get("derived"):
            problems.append(doc.problem(path, f"{ref!r} must be a derived sign"))

    for sid, raw in signs.items():
        for key in ("history_sign", "measurement"):
            ref = raw.get(key)
            if ref and ref not in signs and ref not in data["measurements"]:
                problems.append(doc.problem(("signs", sid, key), f"unknown sign or measurement {ref!r}"))
        for i, ref in enumerate(raw.get("red_flag_requires_any") or ()):
            need(("signs", sid, "red_flag_requires_any", i), ref)
        if raw.get("red_flag_needs_leg") and not raw.get("red_flag"):
            problems.append(doc.problem(("signs", sid, "red_flag_needs_leg"), "only a red flag can need a leg"))
        warning = raw.get("red_flag_warning_codes")
        if warning:
            target = signs.get(warning["sign"]) or {}
            if not raw.get("red_flag"):
                problems.append(doc.problem(("signs", sid, "red_flag_warning_codes"), "only a red flag can have warning codes"))
            elif not target.get("derived") or target.get("red_flag") != raw.get("red_flag"):
                problems.append(doc.problem(("signs", sid, "red_flag_warning_codes", "sign"),
                                            f"{warning['sign']!r} must be a derived red flag of {raw.get('red_flag')}"))
    for mid, raw in data["measurements"].items():
        for i, band in enumerate(raw["bands"]):
            need(("measurements", mid, "bands", i, "sign"), band["sign"], derived=True)
        last = raw["bands"][-1]
        if "max" in last or "below" in last:
            problems.append(doc.problem(("measurements", mid, "bands", len(raw["bands"]) - 1),
                                        "the last band must be open-ended (no max, no below)"))
    for cid, raw in data["combinations"].items():
        need(("combinations", cid), cid, derived=True)
        for key in ("all_of", "any_of"):
            for i, ref in enumerate(raw[key]):
                need(("combinations", cid, key, i), ref)
    for i, ref in enumerate(data["laterality_signs"]):
        need(("laterality_signs", i), ref)
    abi = data.get("abi_reading")
    if abi is not None:
        if abi["measurement"] not in data["measurements"]:
            problems.append(doc.problem(("abi_reading", "measurement"), f"unknown measurement {abi['measurement']!r}"))
        for key in ("lasting_bands", "not_low_bands"):
            for i, ref in enumerate(abi[key]):
                need(("abi_reading", key, i), ref)
        for key in ("context_any", "wound_any"):
            for i, ref in enumerate(abi["not_reassuring"][key]):
                need(("abi_reading", "not_reassuring", key, i), ref)
    dvt = data.get("dvt_status")
    if dvt is not None:
        for key in ("dvt", "history", "pulmonary_embolism", "swelling"):
            need(("dvt_status", key), dvt[key])
        for key in ("new_symptoms", "chronic_venous"):
            for i, ref in enumerate(dvt[key]):
                need(("dvt_status", key, i), ref)
    severe = data.get("severe_pain")
    if severe is not None:
        if severe["sign"] not in signs or "Observation" not in (signs[severe["sign"]].get("read_from") or ()):
            problems.append(doc.problem(("severe_pain", "sign"), f"{severe['sign']!r} is not a sign read from Observation"))
        for i, ref in enumerate(severe["same_day_as"]):
            need(("severe_pain", "same_day_as", i), ref)
    grouped: dict[str, str] = {}
    for key, spec in (data.get("prefetch_keys") or {}).items():
        for i, ref in enumerate(spec["signs"]):
            path = ("prefetch_keys", key, "signs", i)
            if ref not in signs or spec["resource_type"] not in (signs[ref].get("read_from") or ()):
                problems.append(doc.problem(path, f"{ref!r} is not a sign read from {spec['resource_type']}"))
            elif ref in grouped:
                problems.append(doc.problem(path, f"{ref!r} already has the prefetch key {grouped[ref]!r}"))
            grouped.setdefault(ref, key)
    return problems


def read(path: Path, label: str = "knowledge/patterns.yaml") -> tuple[Document | None, list[Problem]]:
    """The pattern table file and everything wrong with it on its own."""
    doc = documents.read(path, label)
    if isinstance(doc, Problem):
        return None, [doc]
    problems = documents.validate(doc, "patterns")
    return doc, problems or cross_check(doc)


def load(path: Path) -> Rules:
    doc, problems = read(path)
    if doc is None or problems:
        raise RulesError("broken pattern table:", problems)
    return parse(doc.data)
