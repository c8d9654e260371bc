"""Findings -> per-pattern evidence: what supports, what argues against, how strongly, how urgently.

A pattern is raised only with a discriminating finding (a diagnosis, an ABI band, a pulse
finding or a pattern-specific code) and enough support; a shared symptom alone never
raises one. A red flag raises its pattern whatever the score.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from . import arterial_red_flags, dates, laterality
from .findings import Finding
from .rules import PATTERNS, Rules


@dataclass(frozen=True, slots=True)
class Evidence:
    finding: Finding
    weight: float


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
    strength: str = "none"  # none | moderate | strong
    side: str | None = None
    site: str | None = None


@dataclass
class Assessment:
    patterns: dict[str, PatternAssessment]
    signs_present: frozenset[str]
    exertional: bool
    done: dict[str, Finding]
    ordered: frozenset[str]
    abi: list[Finding]

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


def _abi_bands(findings: list[Finding], rules: Rules) -> list[Finding]:
    """The latest ABI per leg, read into its guideline band (a derived sign)."""
    by_side: dict[str | None, list[Finding]] = {}
    for f in findings:
        if rules.signs[f.sign].measurement and f.value is not None:
            by_side.setdefault(f.side, []).append(f)
    out = []
    for group in by_side.values():
        latest = _latest(group)
        measurement = rules.measurements[rules.signs[latest.sign].measurement]
        band = measurement.band(latest.value)
        out.append(replace(latest, sign=band.sign, note=band.label))
    return sorted(out, key=lambda f: (f.value or 0.0))


def _laterality(findings: list[Finding], rules: Rules) -> list[Finding]:
    symptoms = [f for f in findings if f.present and f.sign in rules.laterality_signs and f.side]
    if not symptoms:
        return []
    side = laterality.combine(f.side for f in symptoms)
    latest = _latest(symptoms)
    if side == "bilateral":
        return [Finding(sign="bilateral-symptoms", present=True, display="Symptoms or signs in both legs",
                        reference=latest.reference, resource_type=latest.resource_type, date=latest.date, side=side)]
    return [Finding(sign="unilateral-symptoms", present=True, display=f"Symptoms or signs in the {side} leg only",
                    reference=latest.reference, resource_type=latest.resource_type, date=latest.date, side=side)]


def _combinations(findings: list[Finding], rules: Rules, now: datetime) -> list[Finding]:
    out = []
    for combo in rules.combinations.values():
        def recent(f: Finding, days: int = combo.recent_days) -> bool:
            return f.present and f.date is not None and dates.days_between(f.date, now) <= days
        anchors = [f for f in findings if f.sign in combo.all_of and recent(f)]
        if {f.sign for f in anchors} != set(combo.all_of):
            continue
        partners = [f for f in findings if f.sign in combo.any_of and recent(f)
                    and any(abs(dates.days_between(a.date, f.date)) <= combo.within_days for a in anchors)]
        if partners:
            anchor = _latest(anchors)
            names = ", ".join(sorted({p.display for p in partners}))
            out.append(Finding(sign=combo.id, present=True, display=f"{anchor.display} with {names} within {combo.within_days} days",
                               reference=anchor.reference, resource_type=anchor.resource_type, date=anchor.date,
                               side=laterality.combine([anchor.side, *(p.side for p in partners)]), site=anchor.site))
    return out


def assess(findings: list[Finding], rules: Rules, now: datetime) -> Assessment:
    evidence = [f for f in findings if f.kind == "evidence"]
    done: dict[str, Finding] = {}
    for f in findings:  # work already done: completed procedures and any measurement on file
        if f.kind == "done" or (f.kind == "evidence" and rules.signs[f.sign].measurement):
            if f.sign not in done or _latest([done[f.sign], f]) is f:
                done[f.sign] = f
    ordered = frozenset(f.sign for f in findings if f.kind == "order")
    abi = _abi_bands(evidence, rules)
    base = _supersede([f for f in evidence if not rules.signs[f.sign].measurement])
    derived = abi + _laterality(base, rules)
    derived += _combinations(base, rules, now)
    derived += arterial_red_flags.derive(base + derived + list(done.values()), evidence, rules, now)
    usable = [f for f in base + derived if f.certainty != "preliminary" or rules.signs[f.sign].red_flag]
    present_signs = frozenset(f.sign for f in usable if f.present)
    exertional = any(rules.signs[s].exertional for s in present_signs)

    patterns = {p: PatternAssessment(pattern=p) for p in PATTERNS}
    for f in usable:
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
        if f.present and sign.red_flag and (not sign.red_flag_requires_any
                                            or present_signs & set(sign.red_flag_requires_any)):
            patterns[sign.red_flag].red_flags.append(f)

    for pa in patterns.values():
        pa.support = sum(e.weight for e in pa.supporting)
        pa.score = pa.support - sum(e.weight for e in pa.contrary)
        pa.raised = bool(pa.red_flags) or (pa.discriminating and pa.support >= rules.min_score and pa.score > 0)
        if pa.raised:
            pa.strength = "strong" if pa.score >= rules.strong_score or pa.red_flags else "moderate"
        weighted = [e.finding for e in pa.supporting if e.weight > 0 and e.finding.present]
        pa.side = laterality.combine(f.side for f in weighted) if weighted else None
        sited = [f for f in weighted if f.site]
        specific = [f for f in sited if f.site != "leg"]  # "calf" says more than "leg"
        pa.site = _latest(specific or sited).site if sited else None
        for items in (pa.supporting, pa.contrary):
            items.sort(key=lambda e: (-e.weight, -(e.finding.date.timestamp() if e.finding.date else float("-inf"))))
    return Assessment(patterns=patterns, signs_present=present_signs, exertional=exertional,
                      done=done, ordered=ordered, abi=abi)
