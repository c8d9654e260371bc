"""Card templates (cards/*.yaml) as validated data.

A template holds a card's wording per situation ("variant"), its source and links, and the
FHIR resources its suggestions create. The first variant whose ``when`` holds is used.
"""
from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import yaml

from .rules import PATTERNS

INDICATORS = ("info", "warning", "critical")
PLACEHOLDERS = frozenset({"where", "where_lower", "abi", "abi_leg", "red_flag", "finding",  # see cards._placeholders
                          "flag_where", "flag_where_lower",
                          "dvt", "suspected_leg", "pe"})  # dvt_status.DvtView.values
_WHEN_KEYS = frozenset({"red_flags_any", "signs_any", "exertional", "situations_any", "situations_all", "situations_none"})


class TemplateError(ValueError):
    """A card template is broken; the service refuses to start with it."""


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

    def indicator_for(self, strength: str) -> str:
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


def _check_indicator(value, where: str, problems: list[str]) -> None:
    values = [value] if isinstance(value, str) else list((value or {}).values())
    if not values or any(v not in INDICATORS for v in values):
        problems.append(f"{where}: indicator must be one of {INDICATORS} (or a map by strength)")


def _snooze_keys(v: dict, where: str, problems: list[str]) -> tuple[bool, int | None]:
    """``snoozable`` (true/false, default false) and ``snooze_days`` (a period for this variant).

    A red-flag variant, or one that can be critical, is never snoozable (issue #19: red flags,
    possible ALI or CLTI, suspected DVT); the loader refuses the file rather than trust a typo.
    """
    snoozable = v.get("snoozable", False)
    days = v.get("snooze_days")
    if not isinstance(snoozable, bool):
        problems.append(f"{where}: snoozable must be true or false")
        return False, None
    if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days < 1):
        problems.append(f"{where}: snooze_days must be a whole number of days, at least 1")
        days = None
    if days is not None and not snoozable:
        problems.append(f"{where}: snooze_days is set but the variant is not snoozable")
    indicator = v.get("indicator")
    indicators = [indicator] if isinstance(indicator, str) else list((indicator or {}).values())
    if snoozable and ("critical" in indicators or (v.get("when") or {}).get("red_flags_any")):
        problems.append(f"{where}: a red-flag or critical variant may not be snoozable")
        snoozable = False
    return snoozable, days


def parse_template(name: str, raw: dict, problems: list[str]) -> CardTemplate | None:
    if not isinstance(raw, dict):
        problems.append(f"{name}: must be a mapping")
        return None
    pattern = raw.get("pattern")
    if pattern not in PATTERNS:
        problems.append(f"{name}: pattern {pattern!r} is not one of {PATTERNS}")
    source = raw.get("source") or {}
    if not source.get("label"):
        problems.append(f"{name}: source.label is required")
    links = tuple(raw.get("links") or ())
    for link in links:
        if not str(link.get("url", "")).startswith(("https://", "http://")) or not link.get("label") or not link.get("id"):
            problems.append(f"{name}: every link needs an id, a label and an absolute url")
    link_ids = {link.get("id") for link in links}
    suggestions = {}
    for sid, s in (raw.get("suggestions") or {}).items():
        resource = s.get("resource") or {}
        if resource.get("resourceType") != "ServiceRequest" or not resource.get("code"):
            problems.append(f"{name}.suggestions.{sid}: resource must be a ServiceRequest with a code")
        if not s.get("label"):
            problems.append(f"{name}.suggestions.{sid}: label is required")
        for ref in s.get("sources") or ():
            if ref not in link_ids:
                problems.append(f"{name}.suggestions.{sid}: source {ref!r} is not one of the template's links")
        if "reason" in s and not (isinstance(s["reason"], str) and s["reason"].strip()):
            problems.append(f"{name}.suggestions.{sid}: reason must be non-empty text (the order's reasonCode)")
        skip = s.get("skip_if") or {}
        suggestions[sid] = Suggestion(id=sid, label=s.get("label", ""), resource=resource,
                                      skip_recent=tuple(skip.get("recent") or ()),
                                      skip_ordered=tuple(skip.get("ordered") or ()),
                                      when_signs_any=tuple(s.get("when_signs_any") or ()),
                                      sources=tuple(s.get("sources") or ()),
                                      reason=s.get("reason"),
                                      resource_json=orjson.dumps(resource))
    variants = []
    for i, v in enumerate(raw.get("variants") or ()):
        where = f"{name}.variants[{i}]"
        when = v.get("when") or {}
        if set(when) - _WHEN_KEYS:
            problems.append(f"{where}.when: unknown keys {sorted(set(when) - _WHEN_KEYS)}")
        _check_indicator(v.get("indicator"), where, problems)
        summary = v.get("summary", "")
        if not summary:
            problems.append(f"{where}: summary is required")
        unknown = _placeholders(summary) - PLACEHOLDERS
        if unknown:
            problems.append(f"{where}: summary uses unknown placeholders {sorted(unknown)}")
        for sid in v.get("suggestions") or ():
            if sid not in suggestions:
                problems.append(f"{where}: suggestion {sid!r} is not defined")
        sources = tuple(v.get("sources") or ())
        if not sources:
            problems.append(f"{where}: sources is required (the ids of the links this variant rests on)")
        for ref in sources:
            if ref not in link_ids:
                problems.append(f"{where}: source {ref!r} is not one of the template's links")
        reason = v.get("reason", "")
        if not reason and any(sid in suggestions and not suggestions[sid].reason for sid in v.get("suggestions") or ()):
            problems.append(f"{where}: reason is required when the variant suggests an order without a reason of its own")
        if _placeholders(reason) - PLACEHOLDERS:
            problems.append(f"{where}: reason uses unknown placeholders {sorted(_placeholders(reason) - PLACEHOLDERS)}")
        consider = []
        for item in v.get("consider") or ():
            if isinstance(item, dict):
                if set(item.get("when") or {}) - _WHEN_KEYS or not item.get("text"):
                    problems.append(f"{where}.consider: a conditional line needs text and known `when` keys")
                consider.append(Consider(text=str(item.get("text", "")), when=item.get("when") or {}))
            else:
                consider.append(Consider(text=str(item)))
        snoozable, snooze_days = _snooze_keys(v, where, problems)
        variants.append(Variant(id=v.get("id", f"variant-{i}"), when=when, indicator=v.get("indicator", "info"),
                                summary=summary, lead=v.get("lead", ""), consider=tuple(consider),
                                suggestions=tuple(v.get("suggestions") or ()),
                                drop_when_no_suggestion=bool(v.get("drop_when_no_suggestion")),
                                sources=sources, reason=reason, snoozable=snoozable, snooze_days=snooze_days))
    if not variants or variants[-1].when:
        problems.append(f"{name}: the last variant must have an empty `when` (the default)")
    return CardTemplate(pattern=pattern, title=raw.get("title", pattern), source=source, links=links,
                        variants=tuple(variants), suggestions=suggestions)


def load(directory: Path) -> tuple[Common, dict[str, CardTemplate]]:
    problems: list[str] = []
    if not directory.is_dir():
        raise TemplateError(f"card template folder {directory} does not exist")
    try:
        raw_common = yaml.safe_load((directory / "_common.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"{directory}/_common.yaml is not readable: {exc}") from None
    for key in ("topic_system", "override_system", "override_reasons", "disclaimer", "seed_citation",
                "incomplete_record"):
        if not raw_common.get(key):
            problems.append(f"_common: {key} is required")
    for reason in raw_common.get("override_reasons") or ():
        if not reason.get("code") or not reason.get("display"):
            problems.append("_common: every override reason needs code and display")
    common = Common(topic_system=raw_common.get("topic_system", ""), override_system=raw_common.get("override_system", ""),
                    override_reasons=tuple(raw_common.get("override_reasons") or ()),
                    disclaimer=str(raw_common.get("disclaimer", "")).strip(),
                    seed_citation=raw_common.get("seed_citation", ""),
                    incomplete_record=str(raw_common.get("incomplete_record", "")).strip())
    templates: dict[str, CardTemplate] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            problems.append(f"{path.stem}: not readable YAML ({exc})")
            continue
        template = parse_template(path.stem, raw, problems)
        if template is not None:
            templates[template.pattern] = template
    missing = set(PATTERNS) - set(templates)
    if missing:
        problems.append(f"no card template for {sorted(missing)}")
    if problems:
        raise TemplateError("broken card templates:\n  " + "\n  ".join(problems))
    return common, templates
