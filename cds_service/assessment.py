"""Findings -> per-pattern evidence: what supports, what argues against, how strongly, how urgently.

A pattern is raised only with a discriminating finding (a diagnosis, an ABI band, a pulse
finding or a pattern-specific code) and enough support; a shared symptom alone never
raises one. A red flag raises its pattern whatever the score.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from . import abi_reading, arterial_red_flags, dates, dvt_status, laterality, pain_severity
from .findings import Finding
from .terminology import Side
from .rules import PATTERNS, Rules


DERIVED = "derived from the findings above"  # shown instead of a resource type: not a Condition of its own


@dataclass(frozen=True, slots=True)
class Evidence:
    finding: Finding
    weight: float


Strength = Literal["none", "moderate", "strong"]


@dataclass
class PatternAssessment:
    pattern: str
    supporting: list[Evidence] = field(default_factory=list)
    contrary: list[Evidence] = field(default_factory=list)
    red_flags: list[Finding] = field(default_factory=list)
    discriminating: bool = False
    support: float = 0.0
    score: float = 0.0
    raised: bool = False
    strength: Strength = "none"
    side: Side | None = None
    site: str | None = None
    exertional: bool = False  # an exertional sign of this pattern is present
    situations: frozenset[str] = frozenset()  # read by abi_reading or dvt_status; cards pick variants by them
    abi: Finding | None = None  # the ABI that speaks for this card's leg (arterial)
    recent: dict[str, Finding | None] = field(default_factory=dict)  # per-leg "already done", overrides Assessment.done
    values: dict[str, str] = field(default_factory=dict)  # extra summary placeholders


@dataclass
class Assessment:
    patterns: dict[str, PatternAssessment]
    signs_present: frozenset[str]
    exertional: bool
    done: dict[str, Finding]
    ordered: frozenset[str]
    severe_pain: Finding | None = None  # a severe pain score on the day of a leg-pain finding (pain_severity)
    age: int | None = None  # whole years from Patient.birthDate (screening.age); None: no Patient or no birth date

    def raised(self) -> list[PatternAssessment]:
        return [p for p in self.patterns.values() if p.raised]


def _latest(findings: list[Finding]) -> Finding:
    return max(findings, key=lambda f: f.date.timestamp() if f.date else float("-inf"))


def _supersede(findings: list[Finding]) -> list[Finding]:
    """Keep the latest word on each sign: a later 'absent' replaces an earlier 'present' (and back).

    Per sign and side; a finding with no side speaks for both legs. Undated findings never
    replace dated ones and are kept unless a dated finding of the same sign follows them.
    """
    by_sign: dict[str, list[Finding]] = {}
    for f in findings:
        by_sign.setdefault(f.sign, []).append(f)
    kept: list[Finding] = []
    for group in by_sign.values():
        if len(group) == 1:
            kept.extend(group)
            continue
        group.sort(key=lambda f: f.date.timestamp() if f.date else float("-inf"))
        current: list[Finding] = []
        for f in group:
            if f.date is not None:
                current = [c for c in current if not (c.present != f.present and (f.side is None or c.side == f.side))]
            current.append(f)
        kept.extend(current)
    return kept


def _abi_bands(findings: list[Finding], rules: Rules, now: datetime) -> list[Finding]:
    """The latest ABI per leg, read into its guideline band (a derived sign).

    A reading older than the measurement's recent_days says nothing any more, except a band the
    rules keep (an abnormal ABI stays arterial evidence until a later reading on that leg is higher)."""
    lasting = set(rules.abi_reading.lasting_bands) if rules.abi_reading else set()
    by_side: dict[str | None, list[Finding]] = {}
    for f in findings:
        if rules.signs[f.sign].measurement and f.value is not None:
            by_side.setdefault(f.side, []).append(f)
    out = []
    for group in by_side.values():
        latest = _latest(group)
        measurement_id, value = rules.signs[latest.sign].measurement, latest.value
        if measurement_id is None or value is None:  # never: the loop above kept only measured values
            continue
        measurement = rules.measurements[measurement_id]
        band = measurement.band(value)
        note = band.label
        if abi_reading.is_old(latest, measurement.recent_days, now):
            if band.sign not in lasting:
                continue
            note += "; undated, still evidence" if latest.date is None else \
                f"; older than {measurement.recent_days} days, still evidence"
        out.append(replace(latest, sign=band.sign, note=note))
    return sorted(out, key=lambda f: (f.value or 0.0))


def _laterality(findings: list[Finding], rules: Rules) -> list[Finding]:
    symptoms = [f for f in findings if f.present and f.sign in rules.laterality_signs and f.side]
    if not symptoms:
        return []
    side = laterality.combine(f.side for f in symptoms)
    latest = _latest(symptoms)
    if side == "bilateral":
        return [Finding(sign=laterality.BILATERAL_SIGN, present=True, display="Symptoms or signs in both legs",
                        reference=latest.reference, resource_type=DERIVED, date=latest.date, side=side)]
    return [Finding(sign=laterality.UNILATERAL_SIGN, present=True, display=f"Symptoms or signs in the {side} leg only",
                    reference=latest.reference, resource_type=DERIVED, date=latest.date, side=side)]


def _combinations(findings: list[Finding], rules: Rules, now: datetime) -> list[Finding]:
    out = []
    for combo in rules.combinations.values():
        def recent(f: Finding, days: int = combo.recent_days) -> bool:
            return f.present and f.date is not None and dates.days_between(f.date, now) <= days
        anchors = [f for f in findings if f.sign in combo.all_of and recent(f)]
        if {f.sign for f in anchors} != set(combo.all_of):
            continue
        partners = [f for f in findings if f.sign in combo.any_of and recent(f)
                    and any(a.date and f.date and abs(dates.days_between(a.date, f.date)) <= combo.within_days
                            for a in anchors)]
        if partners:
            anchor = _latest(anchors)
            names = ", ".join(sorted({p.display for p in partners}))
            out.append(Finding(sign=combo.id, present=True, display=f"{anchor.display} with {names} within {combo.within_days} days",
                               reference=anchor.reference, resource_type=anchor.resource_type, date=anchor.date,
                               side=laterality.combine([anchor.side, *(p.side for p in partners)]), site=anchor.site))
    return out


def assess(findings: list[Finding], rules: Rules, now: datetime) -> Assessment:
    """Stage 5: derive ABI bands, laterality and combinations, then score each pattern with the
    pattern table's weights; a pattern is raised by score and a discriminating finding, or a red flag."""
    evidence = [f for f in findings if f.kind == "evidence"]
    done: dict[str, Finding] = {}
    for f in findings:  # work already done: completed procedures and any recent measurement on file
        measurement = rules.signs[f.sign].measurement
        if f.kind == "done" or (f.kind == "evidence" and measurement and not abi_reading.is_old(
                f, rules.measurements[measurement].recent_days, now)):
            if f.sign not in done or _latest([done[f.sign], f]) is f:
                done[f.sign] = f
    ordered = frozenset(f.sign for f in findings if f.kind == "order")
    abi = _abi_bands(evidence, rules, now)
    base = _supersede([f for f in evidence if not rules.signs[f.sign].measurement])
    derived = abi + _laterality(base, rules)
    derived += _combinations(base, rules, now)
    derived += arterial_red_flags.derive(base + derived + list(done.values()), evidence, rules, now)
    usable = [f for f in base + derived if f.certainty != "preliminary" or rules.signs[f.sign].red_flag]
    present_signs = frozenset(f.sign for f in usable if f.present)
    exertional = any(rules.signs[s].exertional for s in present_signs)

    patterns = {p: PatternAssessment(pattern=p) for p in PATTERNS}
    abi_view = abi_reading.read(usable, abi, present_signs, rules, now)
    dvt_view = dvt_status.read(usable, rules, now)
    for f in usable:
        if f in abi_view.ignored:  # a not-low ABI on a leg without symptoms says nothing about them
            continue
        sign = rules.signs[f.sign]
        weights = sign.present if f.present else sign.absent
        for pattern, weight in weights.supports.items():
            patterns[pattern].supporting.append(Evidence(f, weight))
        for pattern, weight in weights.against.items():
            patterns[pattern].contrary.append(Evidence(f, weight))
        if f.present and (sign.discriminating or (sign.discriminating_with_exertional and exertional)):
            for pattern, weight in sign.present.supports.items():
                if weight > 0:
                    patterns[pattern].discriminating = True
        # A generic code (compartment syndrome of any limb) with neither side nor leg site cannot
        # show it is the leg: it stays evidence and raises no critical.
        on_leg = not sign.red_flag_needs_leg or f.side is not None or f.site is not None
        if f.present and sign.red_flag and on_leg and (not sign.red_flag_requires_any
                                                       or present_signs & set(sign.red_flag_requires_any)):
            # A code with two readings (M79.A2-: acute or chronic exertional compartment syndrome)
            # raises its warning sign instead of the critical one.
            warning = sign.red_flag_warning_codes
            raised = replace(f, sign=warning.sign) if warning is not None and f.code in warning.codes else f
            patterns[sign.red_flag].red_flags.append(raised)

    forced: dict[str, bool] = {}
    if rules.abi_reading is not None:
        pa = patterns[rules.abi_reading.pattern]
        pa.situations, pa.abi, forced[pa.pattern] = frozenset(abi_view.situations), abi_view.leg_abi, abi_view.raises
        pa.recent[rules.abi_reading.measurement] = abi_view.recent
    if rules.dvt_status is not None:
        pa = patterns[rules.dvt_status.pattern]
        pa.situations, forced[pa.pattern], pa.values = frozenset(dvt_view.situations), dvt_view.raises, dvt_view.values()
    history_signs = {s.history_sign for s in rules.signs.values() if s.history_sign}
    for pa in patterns.values():
        pa.support = sum(e.weight for e in pa.supporting)
        pa.score = pa.support - sum(e.weight for e in pa.contrary)
        pa.raised = bool(pa.red_flags) or forced.get(pa.pattern, False) \
            or (pa.discriminating and pa.support >= rules.min_score and pa.score > 0)
        if pa.raised:
            pa.strength = "strong" if pa.score >= rules.strong_score or pa.red_flags else "moderate"
        weighted = [e.finding for e in pa.supporting if e.weight > 0 and e.finding.present]
        pa.exertional = any(rules.signs[f.sign].exertional for f in weighted)
        # The card's side: its own current findings, never history; a red flag names its own side.
        current = [f for f in weighted if f.sign not in history_signs]
        flagged = [f for f in pa.red_flags if f.side]
        pa.side = laterality.combine(f.side for f in (flagged or current)) if (flagged or current) else None
        sited = [f for f in current if f.site]
        specific = [f for f in sited if f.site != "leg"]  # "calf" says more than "leg"
        pa.site = _latest(specific or sited).site if sited else None
        for items in (pa.supporting, pa.contrary):
            items.sort(key=lambda e: (-e.weight, -(e.finding.date.timestamp() if e.finding.date else float("-inf"))))
    return Assessment(patterns=patterns, signs_present=present_signs, exertional=exertional,
                      done=done, ordered=ordered, severe_pain=pain_severity.find(evidence, rules.severe_pain))
