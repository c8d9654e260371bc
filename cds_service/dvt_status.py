"""Confirmed and suspected DVT, per leg, read into situations for the venous card.

Wells and D-dimer are pre-test tools for *suspected* DVT (G3; clinical reference 2.6). A confirmed
DVT on record asks for something else: confirm anticoagulation is in place and watch for signs of
pulmonary embolism. New one-sided swelling or pain on the *other* leg is judged on its own. The
rules' data is ``dvt_status`` in knowledge/patterns.yaml.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from . import dates, laterality
from .findings import Finding
from .rules import Rules

CONFIRMED = "dvt-confirmed"
SUSPECTED = "dvt-suspected"
HISTORY = "dvt-history"
PE = "pe-on-record"
CHRONIC_BOTH_LEGS = "chronic-venous-both-legs"
_LEG = {"left": "left leg", "right": "right leg", "bilateral": "both legs"}


@dataclass
class DvtView:
    situations: set[str] = field(default_factory=set)
    confirmed: list[Finding] = field(default_factory=list)
    suspected_side: str | None = None
    pulmonary_embolism: Finding | None = None
    raises: bool = False

    def values(self) -> dict[str, str]:
        """Summary placeholders: the confirmed DVT's date and side, the suspected leg."""
        latest = max(self.confirmed, key=lambda f: f.date.timestamp() if f.date else float("-inf"), default=None)
        dvt = "undated" if latest is None or latest.date is None else dates.show(latest.date)
        side = laterality.combine(f.side for f in self.confirmed)
        pe = self.pulmonary_embolism
        return {"dvt": f"{dvt}, {_LEG[side]}" if side else dvt,
                "suspected_leg": _LEG.get(self.suspected_side or "", "leg"),
                "pe": "undated" if pe is None or pe.date is None else dates.show(pe.date)}


def _covers(dvt_side: str | None, leg: str) -> bool:
    return dvt_side in (None, "bilateral", leg)


def read(usable: list[Finding], rules: Rules, now: datetime) -> DvtView:
    view = DvtView()
    status = rules.dvt_status
    if status is None:
        return view
    present = [f for f in usable if f.present]
    dvts = [f for f in present if f.sign == status.dvt]
    view.confirmed = [f for f in dvts if f.certainty is None]
    provisional = [f for f in dvts if f.certainty is not None]
    history = [f for f in present if f.sign == status.history]
    view.pulmonary_embolism = next((f for f in present if f.sign == status.pulmonary_embolism), None)
    if view.confirmed:
        view.situations.add(CONFIRMED)
    if history:
        view.situations.add(HISTORY)
    if view.pulmonary_embolism is not None:
        view.situations.add(PE)
    new = [f for f in present if f.sign in status.new_symptoms and f.side in ("left", "right")
           and f.date is not None and dates.days_between(f.date, now) <= status.new_within_days]
    previous = bool(history or view.confirmed)
    suspected = set()
    for leg in {f.side for f in new}:
        if any(_covers(d.side, leg) for d in view.confirmed):
            continue  # a confirmed DVT on this leg: no Wells, no D-dimer, no diagnostic duplex here
        if previous or any(_covers(d.side, leg) for d in provisional):
            suspected.add(leg)
    for d in provisional:  # a provisional or differential DVT is suspected by itself, unless confirmed on that leg
        if not any(_covers(c.side, d.side or "bilateral") for c in view.confirmed):
            suspected.add(d.side or "bilateral")
    if suspected:
        view.situations.add(SUSPECTED)
        view.suspected_side = laterality.combine(suspected)
        view.raises = True
    swelling = laterality.combine(f.side for f in present if f.sign == status.swelling)
    if swelling == "bilateral" and not dvts and not suspected and any(f.sign in status.chronic_venous for f in present):
        view.situations.add(CHRONIC_BOTH_LEGS)
    return view
