"""Severe pain on the day of a leg-pain finding: an advisory line on every card.

The seed names severe pain as a red flag ("a more serious cause is more likely") without a number.
A pain score (LOINC 72514-3, 0-10) at or above ``at_least`` recorded on the same calendar day (UTC)
as a leg-pain finding adds one line to every card raised; it raises no card by itself and changes no
score. The threshold is a design choice, not guideline-derived (clinical reference 1.5), so it lives
with its reason in knowledge/patterns.yaml (``severe_pain``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_KEYS = {"sign", "at_least", "same_day_as", "line", "reason"}


@dataclass(frozen=True)
class SeverePain:
    sign: str
    at_least: float
    same_day_as: frozenset[str]
    line: str
    reason: str


def parse(raw: Any, signs: dict) -> tuple[SeverePain | None, list[str]]:
    """The ``severe_pain`` block of the pattern table, or None when it is absent."""
    if raw is None:
        return None, []
    if not isinstance(raw, dict):
        return None, ["severe_pain must be a mapping"]
    problems = [f"severe_pain: unknown keys {sorted(set(raw) - _KEYS)}"] if set(raw) - _KEYS else []
    for key in sorted(_KEYS - set(raw)):
        problems.append(f"severe_pain.{key} is required")
    if problems:
        return None, problems
    if raw["sign"] not in signs or "Observation" not in signs[raw["sign"]].read_from:
        problems.append(f"severe_pain.sign: {raw['sign']!r} is not a sign read from Observation")
    at_least = raw["at_least"]
    if isinstance(at_least, bool) or not isinstance(at_least, (int, float)) or not 0 < at_least <= 10:
        problems.append("severe_pain.at_least must be a number above 0 and at most 10")
    same_day = raw["same_day_as"]
    if not isinstance(same_day, list) or not same_day or any(s not in signs for s in same_day):
        problems.append("severe_pain.same_day_as must list known signs")
    if not isinstance(raw["line"], str) or not {"{value}", "{date}"} <= {p for p in ("{value}", "{date}") if p in raw["line"]}:
        problems.append("severe_pain.line must be text with {value} and {date}")
    if not isinstance(raw["reason"], str) or not raw["reason"].strip():
        problems.append("severe_pain.reason must say why the threshold is what it is")
    if problems:
        return None, problems
    return SeverePain(sign=raw["sign"], at_least=float(at_least), same_day_as=frozenset(same_day),
                      line=raw["line"], reason=raw["reason"]), []


def plausible(value: float) -> bool:
    return 0.0 <= value <= 10.0


def find(findings: list, rule: SeverePain | None):
    """The latest severe score recorded on the day of a present leg-pain finding, or None."""
    if rule is None:
        return None
    pain_days = {f.date.date() for f in findings if f.present and f.sign in rule.same_day_as and f.date is not None}
    severe = [f for f in findings if f.sign == rule.sign and f.present and f.value is not None and f.date is not None
              and f.value >= rule.at_least and f.date.date() in pain_days]
    return max(severe, key=lambda f: f.date) if severe else None


def line(rule: SeverePain, finding, show_date) -> str:
    value = f"{finding.value:g}"
    return rule.line.format(value=value, date=show_date(finding.date))
