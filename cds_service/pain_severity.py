"""Severe pain on the day of a leg-pain finding: an advisory line on every card.

The seed names severe pain as a red flag ("a more serious cause is more likely") without a number.
A pain score (LOINC 72514-3, 0-10) at or above ``at_least`` recorded on the same calendar day (UTC)
as a leg-pain finding adds one line to every card raised; it raises no card by itself and changes no
score. The threshold is a design choice, not guideline-derived (clinical reference 1.5), so it lives
with its reason in knowledge/patterns.yaml (``severe_pain``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from datetime import datetime

    from .findings import Finding

@dataclass(frozen=True)
class SeverePain:
    sign: str
    at_least: float
    same_day_as: frozenset[str]
    line: str
    reason: str


def build(raw: dict[str, Any] | None) -> SeverePain | None:
    """The ``severe_pain`` block of a pattern table that already conforms to ``patterns.schema.json``
    (its signs are cross-checked in ``rules.cross_check``), or None when it is absent."""
    if raw is None:
        return None
    return SeverePain(sign=raw["sign"], at_least=float(raw["at_least"]), same_day_as=frozenset(raw["same_day_as"]),
                      line=raw["line"], reason=raw["reason"])


def plausible(value: float) -> bool:
    return 0.0 <= value <= 10.0


def find(findings: list[Finding], rule: SeverePain | None) -> Finding | None:
    """The latest severe score recorded on the day of a present leg-pain finding, or None."""
    if rule is None:
        return None
    pain_days = {f.date.date() for f in findings if f.present and f.sign in rule.same_day_as and f.date is not None}
    severe = [(f.date, f) for f in findings if f.sign == rule.sign and f.present and f.value is not None
              and f.date is not None and f.value >= rule.at_least and f.date.date() in pain_days]
    return max(severe, key=lambda pair: pair[0])[1] if severe else None


def line(rule: SeverePain, finding: Finding, show_date: Callable[[datetime | None], str]) -> str:
    value = f"{finding.value:g}"
    return rule.line.format(value=value, date=show_date(finding.date))
