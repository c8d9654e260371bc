"""The pattern table (knowledge/patterns.yaml) as typed, validated data.

Which sign supports or argues against which pattern, with weights, which signs are red
flags, how ABI values fall into bands, and how long each kind of finding stays current.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import pain_severity

PATTERNS = ("arterial-claudication", "venous-claudication", "neurogenic-claudication", "musculoskeletal-leg-pain")
RESOURCE_TYPES = frozenset({"Condition", "Observation", "Procedure", "ServiceRequest", "QuestionnaireResponse"})


class RulesError(ValueError):
    """The pattern table is broken; the service refuses to start with it."""


@dataclass(frozen=True)
class Weights:
    supports: dict[str, float] = field(default_factory=dict)
    against: dict[str, float] = field(default_factory=dict)


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
        for band in self.bands:
            if band.holds(value):
                return band
        return self.bands[-1]


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


def _weights(raw: dict | None, where: str, problems: list[str]) -> Weights:
    raw = raw or {}
    result = {}
    for key in ("supports", "against"):
        table = raw.get(key) or {}
        for pattern, weight in table.items():
            if pattern not in PATTERNS:
                problems.append(f"{where}.{key}: unknown pattern {pattern!r}")
            if not isinstance(weight, (int, float)) or weight < 0:
                problems.append(f"{where}.{key}.{pattern}: weight must be a number >= 0")
        result[key] = {p: float(w) for p, w in table.items() if isinstance(w, (int, float))}
    return Weights(**result)


def _sign_list(raw: dict, key: str, where: str, problems: list[str], signs: dict) -> tuple[str, ...]:
    value = raw.get(key)
    if not isinstance(value, list) or not value:
        problems.append(f"{where}.{key}: a non-empty list of signs is required")
        return ()
    for ref in value:
        if ref not in signs:
            problems.append(f"{where}.{key}: unknown sign {ref!r}")
    return tuple(value)


def _sign_ref(raw: dict, key: str, where: str, problems: list[str], signs: dict) -> str:
    ref = raw.get(key)
    if ref not in signs:
        problems.append(f"{where}.{key}: unknown sign {ref!r}")
    return str(ref)


def _abi_reading(raw, signs: dict, measurements: dict, problems: list[str]) -> AbiReading | None:
    if raw is None:
        return None
    where = "abi_reading"
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a mapping")
        return None
    unknown = set(raw) - {"pattern", "measurement", "source", "lasting_bands", "not_low_bands", "not_reassuring"}
    if unknown:
        problems.append(f"{where}: unknown keys {sorted(unknown)}")
    if raw.get("pattern") not in PATTERNS:
        problems.append(f"{where}.pattern: unknown pattern {raw.get('pattern')!r}")
    if raw.get("measurement") not in measurements:
        problems.append(f"{where}.measurement: unknown measurement {raw.get('measurement')!r}")
    if not raw.get("source"):
        problems.append(f"{where}.source is required")
    nr = raw.get("not_reassuring") or {}
    if not isinstance(nr, dict) or not nr.get("source"):
        problems.append(f"{where}.not_reassuring.source is required")
        nr = nr if isinstance(nr, dict) else {}
    return AbiReading(
        pattern=str(raw.get("pattern")), measurement=str(raw.get("measurement")), source=str(raw.get("source", "")),
        lasting_bands=_sign_list(raw, "lasting_bands", where, problems, signs),
        not_low_bands=_sign_list(raw, "not_low_bands", where, problems, signs),
        not_reassuring_source=str(nr.get("source", "")),
        not_reassuring_context=_sign_list(nr, "context_any", f"{where}.not_reassuring", problems, signs),
        not_reassuring_wounds=_sign_list(nr, "wound_any", f"{where}.not_reassuring", problems, signs))


def _dvt_status(raw, signs: dict, problems: list[str]) -> DvtStatus | None:
    if raw is None:
        return None
    where = "dvt_status"
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a mapping")
        return None
    keys = {"pattern", "source", "dvt", "history", "pulmonary_embolism", "new_symptoms", "new_within_days",
            "chronic_venous", "swelling"}
    if set(raw) - keys:
        problems.append(f"{where}: unknown keys {sorted(set(raw) - keys)}")
    if raw.get("pattern") not in PATTERNS:
        problems.append(f"{where}.pattern: unknown pattern {raw.get('pattern')!r}")
    if not raw.get("source"):
        problems.append(f"{where}.source is required")
    days = raw.get("new_within_days")
    if not isinstance(days, int) or days <= 0:
        problems.append(f"{where}.new_within_days must be a positive whole number")
        days = 1
    return DvtStatus(
        pattern=str(raw.get("pattern")), source=str(raw.get("source", "")),
        dvt=_sign_ref(raw, "dvt", where, problems, signs), history=_sign_ref(raw, "history", where, problems, signs),
        pulmonary_embolism=_sign_ref(raw, "pulmonary_embolism", where, problems, signs),
        new_symptoms=_sign_list(raw, "new_symptoms", where, problems, signs), new_within_days=days,
        chronic_venous=_sign_list(raw, "chronic_venous", where, problems, signs),
        swelling=_sign_ref(raw, "swelling", where, problems, signs))


_SIGN_KEYS = {"seed", "read_from", "derived", "discriminating", "discriminating_with_exertional", "exertional",
              "acute", "lookback_days", "history_sign", "measurement", "red_flag",
              "red_flag_requires_any", "done_marker", "present", "absent"}


def parse(data: dict) -> Rules:
    problems: list[str] = []
    if not isinstance(data, dict):
        raise RulesError("pattern table must be a mapping")
    patterns = data.get("patterns") or {}
    if set(patterns) != set(PATTERNS):
        problems.append(f"patterns must be exactly {', '.join(PATTERNS)}")
    signs: dict[str, Sign] = {}
    for sign_id, raw in (data.get("signs") or {}).items():
        where = f"signs.{sign_id}"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        unknown = set(raw) - _SIGN_KEYS
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
        read_from = frozenset(raw.get("read_from") or ())
        if read_from - RESOURCE_TYPES:
            problems.append(f"{where}.read_from: unknown resource types {sorted(read_from - RESOURCE_TYPES)}")
        if not raw.get("derived") and not read_from:
            problems.append(f"{where}: a sign with codes needs read_from")
        if raw.get("red_flag") and raw["red_flag"] not in PATTERNS:
            problems.append(f"{where}.red_flag: unknown pattern {raw['red_flag']!r}")
        lookback = raw.get("lookback_days")
        if lookback is not None and (not isinstance(lookback, int) or lookback <= 0):
            problems.append(f"{where}.lookback_days must be a positive whole number or null")
        signs[sign_id] = Sign(
            id=sign_id, seed=raw.get("seed", ""), read_from=read_from, derived=bool(raw.get("derived")),
            discriminating=bool(raw.get("discriminating")),
            discriminating_with_exertional=bool(raw.get("discriminating_with_exertional")),
            exertional=bool(raw.get("exertional")), acute=bool(raw.get("acute")),
            lookback_days=lookback, history_sign=raw.get("history_sign"), measurement=raw.get("measurement"),
            red_flag=raw.get("red_flag"), red_flag_requires_any=tuple(raw.get("red_flag_requires_any") or ()),
            done_marker=bool(raw.get("done_marker")),
            present=_weights(raw.get("present"), f"{where}.present", problems),
            absent=_weights(raw.get("absent"), f"{where}.absent", problems),
        )
    measurements: dict[str, Measurement] = {}
    for mid, raw in (data.get("measurements") or {}).items():
        bands = tuple(Band(sign=b["sign"], label=b.get("label", b["sign"]), max=b.get("max"), below=b.get("below"))
                      for b in raw.get("bands") or ())
        if not bands:
            problems.append(f"measurements.{mid}: no bands")
            continue
        if bands[-1].max is not None or bands[-1].below is not None:
            problems.append(f"measurements.{mid}: the last band must be open-ended")
        measurements[mid] = Measurement(id=mid, source=raw.get("source", ""), recent_days=int(raw.get("recent_days", 365)),
                                        bands=bands)
    combinations = {
        cid: Combination(id=cid, all_of=tuple(raw.get("all_of") or ()), any_of=tuple(raw.get("any_of") or ()),
                         within_days=int(raw.get("within_days", 14)), recent_days=int(raw.get("recent_days", 14)))
        for cid, raw in (data.get("combinations") or {}).items()
    }
    laterality = frozenset(data.get("laterality_signs") or ())
    scoring = data.get("scoring") or {}
    extra_keys = _prefetch_keys(data.get("prefetch_keys") or {}, signs, problems)
    severe_pain, found = pain_severity.parse(data.get("severe_pain"), signs)
    problems.extend(found)
    rules = Rules(patterns=patterns, signs=signs, measurements=measurements, combinations=combinations,
                  laterality_signs=laterality, min_score=float(scoring.get("min_score", 3)),
                  strong_score=float(scoring.get("strong_score", 6)), prefetch_keys=extra_keys, severe_pain=severe_pain,
                  abi_reading=_abi_reading(data.get("abi_reading"), signs, measurements, problems),
                  dvt_status=_dvt_status(data.get("dvt_status"), signs, problems))
    # cross references
    for sign in signs.values():
        for ref in (sign.history_sign, sign.measurement):
            if ref and ref not in signs and ref not in measurements:
                problems.append(f"signs.{sign.id}: refers to unknown {ref!r}")
        for ref in sign.red_flag_requires_any:
            if ref not in signs:
                problems.append(f"signs.{sign.id}.red_flag_requires_any: unknown sign {ref!r}")
    for m in measurements.values():
        for band in m.bands:
            if band.sign not in signs or not signs[band.sign].derived:
                problems.append(f"measurements.{m.id}: band sign {band.sign!r} must be a derived sign")
    for c in combinations.values():
        if c.id not in signs or not signs[c.id].derived:
            problems.append(f"combinations.{c.id}: must be a derived sign")
        for ref in c.all_of + c.any_of:
            if ref not in signs:
                problems.append(f"combinations.{c.id}: unknown sign {ref!r}")
    for ref in laterality:
        if ref not in signs:
            problems.append(f"laterality_signs: unknown sign {ref!r}")
    if problems:
        raise RulesError("broken pattern table:\n  " + "\n  ".join(problems))
    return rules


def _prefetch_keys(raw: dict, signs: dict[str, Sign], problems: list[str]) -> dict[str, ExtraPrefetchKey]:
    out: dict[str, ExtraPrefetchKey] = {}
    if not isinstance(raw, dict):
        problems.append("prefetch_keys must be a mapping")
        return out
    grouped: set[str] = set()
    for key, spec in raw.items():
        where = f"prefetch_keys.{key}"
        if not isinstance(spec, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        if key in BASE_PREFETCH_KEYS or not isinstance(key, str) or not key.isidentifier():
            problems.append(f"{where}: must be a new key name (letters and digits), not one of {sorted(BASE_PREFETCH_KEYS)}")
        rtype = spec.get("resource_type")
        if rtype not in RESOURCE_TYPES:
            problems.append(f"{where}.resource_type: {rtype!r} is not one of {sorted(RESOURCE_TYPES)}")
        if not spec.get("reason"):
            problems.append(f"{where}.reason is required")
        members = tuple(spec.get("signs") or ())
        if not members:
            problems.append(f"{where}.signs is empty")
        for sign in members:
            if sign not in signs or rtype not in signs[sign].read_from:
                problems.append(f"{where}.signs: {sign!r} is not a sign read from {rtype}")
            if sign in grouped:
                problems.append(f"{where}.signs: {sign!r} already has a prefetch key")
            grouped.add(sign)
        out[key] = ExtraPrefetchKey(key=key, resource_type=rtype, signs=members, reason=spec.get("reason", ""))
    return out


def load(path: Path) -> Rules:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"pattern table {path} is not readable YAML: {exc}") from None
    return parse(data)
