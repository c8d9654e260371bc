"""Card templates (cards/*.yaml) as validated data.

A template holds a card's wording per situation ("variant"), its source and links, and the
FHIR resources its suggestions create. The first variant whose ``when`` holds is used.
"""
from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from . import documents
from .documents import Document, Problem
from .errors import TemplateError
from .rules import PATTERNS

if TYPE_CHECKING:
    from .assessment import Strength

__all__ = ["CardTemplate", "Common", "Suggestion", "TemplateError", "Variant", "load", "parse_common", "parse_template", "read"]

PLACEHOLDERS = frozenset({"where", "where_lower", "abi", "abi_leg", "red_flag", "finding",  # see cards._placeholders
                          "flag_where", "flag_where_lower",
                          "dvt", "suspected_leg", "pe"})  # dvt_status.DvtView.values


@dataclass(frozen=True)
class Suggestion:
    id: str
    label: str
    resource: dict
    skip_recent: tuple[str, ...] = ()
    skip_ordered: tuple[str, ...] = ()
    when_signs_any: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # link ids cited on the card only when this order is offered
    reason: str | None = None  # the order's reasonCode text; default names the pattern
    resource_json: bytes = b""  # the resource serialised once at load; each card decodes a fresh copy


@dataclass(frozen=True)
class Consider:
    """One 'Consider' line; with ``when`` it is shown only in that situation (same keys as a variant's)."""
    text: str
    when: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Variant:
    id: str
    when: dict
    indicator: str | dict
    summary: str
    lead: str
    consider: tuple[Consider, ...]
    suggestions: tuple[str, ...]
    drop_when_no_suggestion: bool = False
    sources: tuple[str, ...] = ()  # ids of the template's links this variant rests on
    reason: str = ""  # the suggested order's reasonCode: the situation it comes from
    snoozable: bool = False  # a missing key is "not snoozable": the safe side
    snooze_days: int | None = None  # None: CDS_SNOOZE_DAYS

    def indicator_for(self, strength: Strength) -> str:
        if isinstance(self.indicator, str):
            return self.indicator
        return self.indicator.get(strength, "info")


@dataclass(frozen=True)
class CardTemplate:
    pattern: str
    title: str
    source: dict
    links: tuple[dict, ...]
    variants: tuple[Variant, ...]
    suggestions: dict[str, Suggestion] = field(default_factory=dict)


@dataclass(frozen=True)
class Common:
    topic_system: str
    override_system: str
    override_reasons: tuple[dict, ...]
    disclaimer: str
    seed_citation: str
    incomplete_record: str


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def parse_template(raw: dict[str, Any]) -> CardTemplate:
    """Build a template from data that already conforms to ``card-template.schema.json``."""
    suggestions = {
        sid: Suggestion(id=sid, label=s["label"], resource=s["resource"],
                        skip_recent=tuple((s.get("skip_if") or {}).get("recent") or ()),
                        skip_ordered=tuple((s.get("skip_if") or {}).get("ordered") or ()),
                        when_signs_any=tuple(s.get("when_signs_any") or ()), reason=s.get("reason"),
                        sources=tuple(s.get("sources") or ()),
                        resource_json=orjson.dumps(s["resource"]))
        for sid, s in (raw.get("suggestions") or {}).items()}
    variants = tuple(
        Variant(id=v["id"], when=v["when"], indicator=v["indicator"], summary=v["summary"], lead=v.get("lead", ""),
                consider=tuple(Consider(text=c["text"], when=c.get("when") or {}) if isinstance(c, dict) else Consider(text=c)
                               for c in v.get("consider") or ()),
                suggestions=tuple(v.get("suggestions") or ()),
                drop_when_no_suggestion=v.get("drop_when_no_suggestion", False),
                sources=tuple(v.get("sources") or ()), reason=v.get("reason", ""),
                snoozable=v.get("snoozable", False), snooze_days=v.get("snooze_days"))
        for v in raw["variants"])
    return CardTemplate(pattern=raw["pattern"], title=raw["title"], source=raw["source"],
                        links=tuple(raw.get("links") or ()), variants=variants, suggestions=suggestions)


def _snooze_problems(doc: Document, i: int, v: dict[str, Any]) -> list[Problem]:
    """A red-flag variant, or one that can be critical, is never snoozable (issue #19: red flags,
    possible ALI or CLTI, suspected DVT); the loader refuses the file rather than trust a typo.
    (``snooze_days`` without ``snoozable`` is the schema's to refuse.)"""
    indicator = v["indicator"]
    indicators = [indicator] if isinstance(indicator, str) else list(indicator.values())
    if v.get("snoozable") and ("critical" in indicators or v["when"].get("red_flags_any")):
        return [doc.problem(("variants", i, "snoozable"), "a red-flag or critical variant may not be snoozable")]
    return []


def cross_check(doc: Document) -> list[Problem]:
    """What the schema cannot say: placeholders the cards module fills, suggestions the
    template defines, and a last variant that always holds."""
    problems: list[Problem] = []
    suggestions = doc.data.get("suggestions") or {}
    link_ids = {link["id"] for link in doc.data.get("links") or ()}
    variants = doc.data["variants"]

    def cited(path: tuple[str | int, ...], refs: list[str]) -> None:
        for j, ref in enumerate(refs):
            if ref not in link_ids:
                problems.append(doc.problem((*path, j), f"source {ref!r} is not one of the template's links"))

    for sid, raw in suggestions.items():
        cited(("suggestions", sid, "sources"), raw.get("sources") or [])
    for i, v in enumerate(variants):
        problems += _snooze_problems(doc, i, v)
        for key in ("summary", "reason"):
            unknown = _placeholders(v.get(key, "")) - PLACEHOLDERS
            if unknown:
                problems.append(doc.problem(("variants", i, key), f"unknown placeholders {sorted(unknown)} "
                                                                   f"(known: {', '.join(sorted(PLACEHOLDERS))})"))
        for j, sid in enumerate(v.get("suggestions") or ()):
            if sid not in suggestions:
                problems.append(doc.problem(("variants", i, "suggestions", j), f"suggestion {sid!r} is not defined"))
            elif not v.get("reason") and not suggestions[sid].get("reason"):
                problems.append(doc.problem(("variants", i, "suggestions", j), f"suggestion {sid!r} has no reason of its "
                                            "own: the variant needs a reason (the order's reasonCode)"))
        cited(("variants", i, "sources"), v["sources"])
    if variants[-1]["when"]:
        problems.append(doc.problem(("variants", len(variants) - 1, "when"),
                                    "the last variant must have an empty `when` (the default)"))
    return problems


def read(directory: Path) -> tuple[Document | None, dict[str, Document], list[Problem]]:
    """``_common.yaml`` and every template file, with everything wrong with each on its own."""
    problems: list[Problem] = []
    if not directory.is_dir():
        return None, {}, [Problem(str(directory), None, "", "card template folder does not exist")]
    common = documents.read(directory / "_common.yaml", f"{directory.name}/_common.yaml")
    if isinstance(common, Problem):
        return None, {}, [common]
    problems += documents.validate(common, "card-common")
    docs: dict[str, Document] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        doc = documents.read(path, f"{directory.name}/{path.name}")
        if isinstance(doc, Problem):
            problems.append(doc)
            continue
        found = documents.validate(doc, "card-template") or cross_check(doc)
        if not found and doc.data["pattern"] in docs:
            found = [doc.problem(("pattern",), f"{docs[doc.data['pattern']].label} is already the template for this pattern")]
        problems += found
        if not found:
            docs[doc.data["pattern"]] = doc
    if not problems and set(PATTERNS) - set(docs):
        problems.append(Problem(directory.name, None, "", f"no card template for {sorted(set(PATTERNS) - set(docs))}"))
    return common, docs, problems


def parse_common(raw: dict[str, Any]) -> Common:
    return Common(topic_system=raw["topic_system"], override_system=raw["override_system"],
                  override_reasons=tuple(raw["override_reasons"]), disclaimer=raw["disclaimer"].strip(),
                  seed_citation=raw["seed_citation"], incomplete_record=raw["incomplete_record"].strip())


def load(directory: Path) -> tuple[Common, dict[str, CardTemplate]]:
    common, docs, problems = read(directory)
    if common is None or problems:
        raise TemplateError("broken card templates:", problems)
    return parse_common(common.data), {pattern: parse_template(doc.data) for pattern, doc in docs.items()}
