"""Which ABI speaks for the arterial card: the symptomatic leg's, read into a situation.

Only the symptomatic leg's ABI speaks to that leg's symptoms (clinical reference 2.1, 2.6): a normal
ABI on the other leg is not evidence against, and exertional arterial symptoms with a normal or
borderline ABI on that leg are never silenced (the exercise-ABI advice). In diabetes or chronic
kidney disease a normal-range ABI with exertional symptoms or a foot wound on that leg is not
reassuring (toe pressure or TBI). The rules' data is ``abi_reading`` in knowledge/patterns.yaml.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from . import dates, laterality
from .findings import Finding
from .rules import Rules

OLD = "abi-old"
EXERTIONAL = "exertional"
NOT_REASSURING = "abi-not-reassuring"


@dataclass
class AbiView:
    leg_abi: Finding | None = None  # the reading that speaks for the symptomatic leg
    recent: Finding | None = None  # leg_abi when it is recent enough not to repeat
    ignored: list[Finding] = field(default_factory=list)  # not-low readings on a leg without symptoms
    situations: set[str] = field(default_factory=set)
    raises: bool = False  # the card must be raised whatever the score


def is_old(f: Finding, recent_days: int, now: datetime) -> bool:
    return f.date is None or dates.days_between(f.date, now) > recent_days


def _same_leg(a: str | None, b: str | None) -> bool:
    """An unsided finding, or one on both legs, can speak for either leg."""
    return a is None or b is None or "bilateral" in (a, b) or a == b


def _pick(readings: list[Finding], rules: Rules) -> Finding | None:
    reading = rules.abi_reading
    abnormal = [f for f in readings if f.sign in reading.lasting_bands]
    if abnormal:
        return min(abnormal, key=lambda f: f.value or 0.0)
    noncompressible = [f for f in readings if f.sign not in reading.not_low_bands]
    if noncompressible:
        return max(noncompressible, key=lambda f: f.value or 0.0)
    return min(readings, key=lambda f: f.value or 0.0) if readings else None


def read(usable: list[Finding], abi: list[Finding], present: frozenset[str], rules: Rules, now: datetime) -> AbiView:
    view = AbiView()
    reading = rules.abi_reading
    if reading is None or not abi:
        return view
    pattern = reading.pattern
    recent_days = rules.measurements[reading.measurement].recent_days
    bands = {b.sign for b in rules.measurements[reading.measurement].bands}

    def arterial(f: Finding) -> bool:
        sign = rules.signs[f.sign]
        return f.present and f.sign not in bands and f.sign not in laterality.DERIVED_SIGNS \
            and sign.present.supports.get(pattern, 0) > 0

    symptoms = [f for f in usable if arterial(f)]
    exertional = [f for f in symptoms if rules.signs[f.sign].exertional]
    wounds = [f for f in usable if f.present and f.sign in reading.not_reassuring_wounds]
    legs = [f.side for f in symptoms]  # a wound speaks only for the not-reassuring rule below
    speaking = [f for f in abi if not legs or any(_same_leg(f.side, side) for side in legs)]
    view.ignored = [f for f in abi if f not in speaking and f.sign in reading.not_low_bands]
    view.leg_abi = _pick(speaking, rules)
    if view.leg_abi is None:
        return view
    leg = view.leg_abi.side
    view.situations.add(view.leg_abi.sign)
    if is_old(view.leg_abi, recent_days, now):
        view.situations.add(OLD)
    else:
        view.recent = view.leg_abi
    exertional_here = any(_same_leg(f.side, leg) for f in exertional)
    if exertional_here:
        view.situations.add(EXERTIONAL)
    if view.leg_abi.sign in reading.not_low_bands:
        view.raises = exertional_here  # never silenced: the exercise-ABI advice (Class I)
        wound_here = any(_same_leg(f.side, leg) for f in wounds)
        if present & set(reading.not_reassuring_context) and (exertional_here or wound_here):
            view.situations.add(NOT_REASSURING)
            view.raises = True
    return view
