"""Side and site of a finding: from the code itself, from bodySite, or from text.

Three ways carry side in FHIR R4 (clinical reference 1.6): a side-specific code
(a SNOMED site such as 'left lower limb' or an ICD-10-CM code whose character encodes
it, annotated in the value sets), a laterality qualifier in bodySite (pre-coordinated
or in a post-coordinated expression), and plain text as the last fallback.
"""
from __future__ import annotations

import re
from typing import Iterable, Pattern

from .terminology import SNOMED, Side, Terminology

LATERALITY_ATTRIBUTE = "272741003"
BILATERAL_SIGN, UNILATERAL_SIGN = "bilateral-symptoms", "unilateral-symptoms"  # derived by the assessment
DERIVED_SIGNS = frozenset({BILATERAL_SIGN, UNILATERAL_SIGN})
_POSTCOORD = re.compile(r"^\s*(\d+)\s*:\s*(.*)$")
_REFINEMENT = re.compile(rf"{LATERALITY_ATTRIBUTE}\s*=\s*(\d+)")
_WORDS: tuple[tuple[Pattern[str], Side], ...] = (
    (re.compile(r"\b(bilateral|both)\b", re.I), "bilateral"),
    (re.compile(r"\bleft\b", re.I), "left"),
    (re.compile(r"\bright\b", re.I), "right"),
)


def combine(sides: Iterable[Side | None]) -> Side | None:
    """Merge sides: left and right together make bilateral."""
    found = {s for s in sides if s}
    if not found:
        return None
    if "bilateral" in found or {"left", "right"} <= found:
        return "bilateral"
    (side,) = found  # one side only, once bilateral is ruled out: unpacking says so (a set's pop would not)
    return side


def from_text(text: str | None) -> Side | None:
    if not text or not isinstance(text, str):
        return None
    hits = [side for pattern, side in _WORDS if pattern.search(text)]
    return combine(hits)


def from_codings(codings: Iterable[tuple[str | None, str | None]], terminology: Terminology) -> tuple[Side | None, str | None]:
    """Side and site label from body-site codings, including post-coordinated SNOMED expressions."""
    sides: list[Side | None] = []
    site: str | None = None
    for system, code in codings:
        if not code:
            continue
        if system == SNOMED:
            match = _POSTCOORD.match(code)
            if match:
                focus, refinement = match.groups()
                concept = terminology.body_sites.get((SNOMED, focus))
                if concept is not None:
                    site = site or concept.site_label
                    sides.append(concept.side)
                for qualifier in _REFINEMENT.findall(refinement):
                    q = terminology.body_sites.get((SNOMED, qualifier))
                    sides.append(q.side if q else None)
                continue
        concept = terminology.body_sites.get((system, code)) if system else None
        if concept is not None:
            sides.append(concept.side)
            site = site or concept.site_label
    return combine(sides), site


def off_leg(codings: Iterable[tuple[str | None, str | None]], terminology: Terminology) -> str | None:
    """The non-leg site (arm, hand ...) a finding's bodySite names, or None.

    None as soon as any coding names a leg site, so a true leg finding that also carries another
    site is never lost; post-coordinated expressions are judged by their focus concept."""
    non_leg = None
    for system, code in codings:
        if not code:
            continue
        match = _POSTCOORD.match(code) if system == SNOMED else None
        key = (system or "", match.group(1) if match else code)
        leg = terminology.body_sites.get(key)
        if leg is not None and leg.site_label:
            return None
        other = terminology.non_leg_sites.get(key)
        if other is not None:
            non_leg = non_leg or other.site_label
    return non_leg
