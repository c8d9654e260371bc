"""Arterial red flags (knowledge/arterial-red-flags.yaml): CLTI and acute limb ischaemia.

A red flag that is wrong once costs every other card its reader, so these rules look at more
than a code: CLTI needs tissue loss together with objectively proven PAD on that leg, ALI needs
recency, and the "pulseless and pale" combination needs the same leg and evidence that it is
new (then no chronic diagnosis on record downgrades it). What the rules find becomes derived findings (``clti``, ``ali-recent`` ...) that the card
variants word; the raw codes stay ordinary arterial evidence.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from . import dates, documents
from .documents import Problem
from .errors import KnowledgeError
from .findings import Finding
from .rules import Rules
from .terminology import Side


class ArterialRulesError(KnowledgeError):
    """The arterial red-flag file is broken; the service refuses to start with it."""


@dataclass(frozen=True)
class TissueLoss:
    sign: str
    proves_pad: bool = False
    ulcer: bool = False
    rest_pain: bool = False  # rest pain is CLTI only with proof; "perfusion unknown" is a rule for wounds (G1 IIa)


@dataclass(frozen=True)
class ArterialRules:
    tissue_loss: tuple[TissueLoss, ...]
    chronic_ulcer_days: int
    pad_diagnosis: frozenset[str]
    pad_measurement_same_leg: frozenset[str]
    perfusion_unknown_same_leg: frozenset[str]
    perfusion_data_same_leg: frozenset[str]
    critical_days: int
    follow_up: frozenset[str]
    clti: dict[str, str]
    ali_code_sign: str
    ali_acute_days: int
    ali_treated_by: frozenset[str]
    pulse_sign: str
    pulse_partners: frozenset[str]
    signs_window_days: int
    ali: dict[str, str]
    limb_codes: frozenset[str] = frozenset()
    limb_leg_signs: frozenset[str] = frozenset()
    limb_derived: str = ""

    def signs_used(self) -> set[str]:
        return ({t.sign for t in self.tissue_loss} | self.pad_diagnosis | self.pad_measurement_same_leg
                | self.perfusion_unknown_same_leg | self.perfusion_data_same_leg | self.follow_up | {self.ali_code_sign} | self.ali_treated_by
                | {self.pulse_sign} | self.pulse_partners | self.limb_leg_signs)

    def derived_signs(self) -> set[str]:
        return set(self.clti.values()) | set(self.ali.values()) | ({self.limb_derived} if self.limb_derived else set())


def _days(raw: dict, key: str, where: str, problems: list[str]) -> int:
    value = raw.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        problems.append(f"{where}.{key} must be a positive whole number of days")
        return 1
    if not raw.get(key.replace("_days", "_reason")):
        problems.append(f"{where}.{key}: the window needs its reason ({key.replace('_days', '_reason')})")
    return value


def parse(data: dict, rules: Rules) -> ArterialRules:
    problems: list[str] = []
    if not isinstance(data, dict) or not isinstance(data.get("clti"), dict) or not isinstance(data.get("ali"), dict):
        raise ArterialRulesError("arterial red-flag file must hold the mappings clti and ali")
    clti, ali = data["clti"], data["ali"]
    limb = data.get("limb_not_stated") or {}
    signs = ali.get("signs") or {}
    for where, raw in (("clti", clti), ("ali", ali)):
        if not raw.get("source"):
            problems.append(f"{where}.source is required")
    result = ArterialRules(
        tissue_loss=tuple(TissueLoss(sign=t.get("sign", ""), proves_pad=bool(t.get("proves_pad")), ulcer=bool(t.get("ulcer")),
                                     rest_pain=bool(t.get("rest_pain")))
                          for t in clti.get("tissue_loss") or ()),
        chronic_ulcer_days=_days(clti, "chronic_ulcer_days", "clti", problems),
        pad_diagnosis=frozenset(clti.get("pad_diagnosis") or ()),
        pad_measurement_same_leg=frozenset(clti.get("pad_measurement_same_leg") or ()),
        perfusion_unknown_same_leg=frozenset(clti.get("perfusion_unknown_same_leg") or ()),
        perfusion_data_same_leg=frozenset(clti.get("perfusion_data_same_leg") or ()),
        critical_days=_days(clti, "critical_days", "clti", problems),
        follow_up=frozenset(clti.get("follow_up") or ()),
        clti=dict(clti.get("derived") or {}),
        ali_code_sign=ali.get("code_sign", ""),
        ali_acute_days=_days(ali, "acute_days", "ali", problems),
        ali_treated_by=frozenset(ali.get("treated_by") or ()),
        pulse_sign=signs.get("pulse", ""),
        pulse_partners=frozenset(signs.get("with_any") or ()),
        signs_window_days=_days(signs, "window_days", "ali.signs", problems),
        ali=dict(ali.get("derived") or {}),
        limb_codes=frozenset(limb.get("codes") or ()),
        limb_leg_signs=frozenset(limb.get("leg_signs_same_side") or ()),
        limb_derived=limb.get("derived", ""),
    )
    if limb and not limb.get("source"):
        problems.append("limb_not_stated.source is required")
    if "chronic_explanations" in signs:
        problems.append("ali.signs.chronic_explanations is no longer read: a pulse loss shown to be new is critical "
                        "whatever chronic disease is on record (see the file's comment); remove the key")
    if not result.tissue_loss:
        problems.append("clti.tissue_loss is empty")
    if set(result.clti) != {"critical", "known", "possible", "unassessed", "early"}:
        problems.append("clti.derived must name critical, known, possible, unassessed and early")
    if result.perfusion_data_same_leg and not clti.get("perfusion_data_reason"):
        problems.append("clti.perfusion_data_same_leg needs its reason (perfusion_data_reason)")
    if set(result.ali) != {"critical_code", "critical_signs", "treated", "possible"}:
        problems.append("ali.derived must name critical_code, critical_signs, treated and possible")
    for ref in sorted(result.signs_used()):
        if ref not in rules.signs:
            problems.append(f"unknown sign {ref!r}")
    for ref in sorted(result.derived_signs()):
        sign = rules.signs.get(ref)
        if sign is None or not sign.derived or sign.red_flag != "arterial-claudication":
            problems.append(f"derived sign {ref!r} must be a derived arterial red flag in the pattern table")
    code_sign = rules.signs.get(result.ali_code_sign)
    if code_sign is not None and (not code_sign.acute or code_sign.lookback_days != result.ali_acute_days):
        problems.append(f"sign {result.ali_code_sign!r} must be acute with lookback_days {result.ali_acute_days} "
                        "(the ALI window) in the pattern table")
    for ref in sorted({t.sign for t in result.tissue_loss} | {result.ali_code_sign}):
        if ref in rules.signs and rules.signs[ref].red_flag:
            problems.append(f"sign {ref!r} is read by the arterial rules and must not be a red flag itself")
    if problems:
        raise ArterialRulesError("broken arterial red-flag rules:\n  " + "\n  ".join(problems))
    return result


def load(path: Path, rules: Rules, label: str = "knowledge/arterial-red-flags.yaml") -> ArterialRules:
    """Read the file strictly (no key twice, every key in ``arterial-red-flags.schema.json``), then
    check what only the pattern table can tell (``parse``)."""
    doc = documents.read(path, label)
    if isinstance(doc, Problem):
        raise ArterialRulesError("broken arterial red-flag rules:", [doc])
    problems = documents.validate(doc, "arterial-red-flags")
    if problems:
        raise ArterialRulesError("broken arterial red-flag rules:", problems)
    try:
        return parse(doc.data, rules)
    except ArterialRulesError as exc:
        raise ArterialRulesError("broken arterial red-flag rules:",
                                 [Problem(label, None, "", line.strip()) for line in str(exc).splitlines()[1:] or [str(exc)]]) from None


# ---------------------------------------------------------------------------------------- rules
def _same_leg(a: str | None, b: str | None) -> bool:
    """Could both findings be on one leg? No side speaks for either leg; bilateral is both."""
    return a is None or b is None or a == b or "bilateral" in (a, b)


def _names_no_limb(f: Finding, r: ArterialRules) -> bool:
    """A limb_not_stated code with no bodySite: the record alone does not say it is a leg."""
    return f.code in r.limb_codes and f.site is None


def _leg_sign_sides(current: list[Finding], r: ArterialRules) -> set[Side]:
    """The sides of the present, sided leg signs (pallor, a lost pulse ...) on record."""
    return {g.side for g in current if g.sign in r.limb_leg_signs and g.present and g.side is not None}


def _leg_shown(f: Finding, current: list[Finding], r: ArterialRules) -> bool:
    """Does the record show this finding is on a leg? Always, unless its code names no limb
    (limb_not_stated); then only a leg bodySite, or a sided leg sign: on the side the finding
    states, or on either leg when the finding states none (I74.4 with pallor and a lost pulse on
    the right leg is possible ALI of that leg, G1/G2; the re-review of issue 17 found it silent)."""
    if not _names_no_limb(f, r):
        return True
    return any(f.side is None or _same_leg(side, f.side) for side in _leg_sign_sides(current, r))


def _shown_side(f: Finding, current: list[Finding], r: ArterialRules) -> Side | None:
    """The leg an unsided limb code is shown on by its leg signs, when they are all on one side
    (so the card names "left leg", not "leg"); otherwise the finding's own side."""
    if f.side is not None or not _names_no_limb(f, r):
        return f.side
    sides = _leg_sign_sides(current, r)
    return sides.pop() if len(sides) == 1 and "bilateral" not in sides else None


def _unstated(f: Finding, r: ArterialRules, what: str) -> Finding:
    return _derived(r.limb_derived, f"{f.display} ({what}; limb not stated)", f)


def _age(f: Finding, now: datetime) -> float | None:
    return dates.days_between(f.date, now) if f.date is not None else None


def _after(later: Finding, earlier: Finding) -> bool:
    """Recorded after the finding's date; an undated finding is answered by any dated one."""
    if later.date is None:
        return False
    return earlier.date is None or later.date > earlier.date


def _derived(sign: str, display: str, anchor: Finding, side: Side | None = None) -> Finding:
    return Finding(sign=sign, present=True, display=display, reference=anchor.reference,
                   resource_type=anchor.resource_type, date=anchor.date, side=side if side is not None else anchor.side,
                   site=anchor.site, certainty=anchor.certainty)


def _clti(current: list[Finding], r: ArterialRules, now: datetime) -> list[Finding]:
    kinds = {t.sign: t for t in r.tissue_loss}
    diagnosis = [f for f in current if f.sign in r.pad_diagnosis and _leg_shown(f, current, r)]
    out: dict[str, Finding] = {}
    for loss in (f for f in current if f.sign in kinds):
        kind = kinds[loss.sign]
        if not _leg_shown(loss, current, r):  # "ischemic ulcer" with no leg site: may be a finger (issue 17)
            out.setdefault("unstated", _unstated(loss, r, "tissue loss"))
            continue
        age = _age(loss, now)
        measured = [f for f in current if f.sign in r.pad_measurement_same_leg and _same_leg(f.side, loss.side)]
        proof = ([loss] if kind.proves_pad else []) + diagnosis + measured
        if kind.ulcer and not kind.proves_pad and not proof and not any(
                f.sign in r.perfusion_data_same_leg and _same_leg(f.side, loss.side) for f in current):
            out.setdefault("unassessed", _derived(r.clti["unassessed"], loss.display, loss))
            continue  # perfusion never assessed on this leg: say so, whatever the ulcer's age
        if kind.ulcer and age is not None and age < r.chronic_ulcer_days:
            if proof:  # a new ulcer in known PAD: not yet CLTI, but named (G7)
                # An ischaemic-ulcer code (I70.23-, I70.24-, "ischemic ulcer") is its own proof: it
                # states arterial tissue loss, so it is never read as plain claudication (issue 17).
                out.setdefault("early", _derived(r.clti["early"], loss.display, loss))
            continue  # not yet chronic: not CLTI (G1, G7)
        if proof:
            followed = any(f.sign in r.follow_up and _after(f, loss) and _same_leg(f.side, loss.side) for f in current)
            recent = age is None or age <= r.critical_days
            if recent and not followed:  # the proof is listed on its own line: one code per line (issue 17)
                out.setdefault("critical", _derived(r.clti["critical"], loss.display, loss))
            else:
                when = "treated since" if followed else f"recorded over {r.critical_days} days ago"
                out.setdefault("known", _derived(r.clti["known"], f"{loss.display} ({when})", loss))
            continue
        unknown = [f for f in current if f.sign in r.perfusion_unknown_same_leg and _same_leg(f.side, loss.side)]
        if unknown and not kind.rest_pain:
            out.setdefault("possible", _derived(r.clti["possible"], f"{loss.display} with {unknown[0].display}", loss))
    if not out:  # a limb-ischaemia code that does not state the leg proves no leg's PAD: say why it was not used
        for f in current:
            if f.sign in r.pad_diagnosis and not _leg_shown(f, current, r) and any(g.sign in kinds for g in current):
                out["unstated"] = _unstated(f, r, "not counted as leg arterial disease")
                break
    return list(out.values())


def _ali_codes(current: list[Finding], r: ArterialRules, now: datetime) -> list[Finding]:
    out = []
    # An acute event is placed on a leg by leg signs of the same weeks (the ALI signs window), not by a
    # months-old ulcer or pulse finding of chronic PAD beside an embolism that may be in the arm.
    near = [f for f in current if (a := _age(f, now)) is not None and a <= r.signs_window_days]
    for code in (f for f in current if f.sign == r.ali_code_sign):
        age = _age(code, now)
        if age is not None and age > r.ali_acute_days:
            continue
        if not _leg_shown(code, near, r):  # I74.4 "arteries of extremities": may be the arm
            out.append(_unstated(code, r, "acute"))
            continue
        if any(f.sign in r.ali_treated_by and _after(f, code) and _same_leg(f.side, code.side) for f in current):
            out.append(_derived(r.ali["treated"], f"{code.display} (revascularised since)", code))
        else:
            out.append(_derived(r.ali["critical_code"], code.display, code, side=_shown_side(code, near, r)))
    return out[:1]


def _ali_signs(current: list[Finding], everything: list[Finding], r: ArterialRules, now: datetime) -> list[Finding]:
    def recent(f: Finding) -> bool:
        age = _age(f, now)
        return f.present and age is not None and age <= r.signs_window_days
    pulses = [f for f in current if f.sign == r.pulse_sign and recent(f)]
    partners = [f for f in current if f.sign in r.pulse_partners and recent(f)]
    best: Finding | None = None
    for pulse in pulses:
        same = [p for p in partners if _same_leg(p.side, pulse.side)]
        if not same:
            continue  # pallor or paresthesia of the other leg only: not one limb's picture
        sides_known = pulse.side is not None and all(p.side is not None for p in same)
        onset_new = pulse.resource_type == "Condition"  # a Condition's date is its onset; an exam date is not
        was_present = any(f.sign == r.pulse_sign and not f.present and f.side == pulse.side and pulse.side is not None
                          and f.date is not None and pulse.date is not None and f.date < pulse.date for f in everything)
        names = ", ".join(sorted({p.display for p in same}))
        # Shown new, it is critical even with known PAD or neuropathy on record: acute-on-chronic
        # thrombosis is classic ALI (G6), and neuropathy never explains pallor or a lost pulse.
        if sides_known and (onset_new or was_present):
            why = "pulse recorded present before" if was_present else f"onset within {r.signs_window_days} days"
            return [_derived(r.ali["critical_signs"], f"{pulse.display} with {names} ({why})", pulse)]
        best = best or _derived(r.ali["possible"], f"{pulse.display} with {names}", pulse)
    return [best] if best else []


def derive(current: list[Finding], everything: list[Finding], rules: Rules, now: datetime) -> list[Finding]:
    """The arterial red-flag findings for this patient.

    ``current`` is the latest word on each sign plus the ABI bands; ``everything`` is every
    evidence finding before superseding (an earlier 'pulse present' shows a loss is new)."""
    r: ArterialRules | None = rules.arterial
    if r is None:
        return []
    ali = _ali_codes(current, r, now)
    if not any(f.sign == r.ali["critical_code"] for f in ali):
        ali += _ali_signs(current, everything, r, now)
    return ali + _clti(current, r, now)
