"""The card catalogue: one row per card variant, generated from the knowledge files.

For a CDS committee: what raises each card (trigger), how loud it is (indicator), on what
evidence (class of recommendation and source), over which window of the record, and whether a
clinician may snooze it. Nothing here is typed by hand: change cards/ or knowledge/ and the
catalogue follows. ``cds-service catalogue`` prints Markdown, or writes Markdown and HTML files.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

from .knowledge import Knowledge
from .templates import CardTemplate, Variant

COLUMNS = ("Pattern", "Variant", "Trigger", "Indicator", "Class of recommendation", "Source", "Window", "Snoozable")
# the parenthesised citations with a class in the card's own text: "(G1 Class I)", "(G1, G2 Class 1)"
_CITED = re.compile(r"\(([^()]*Class [^()]*)\)")


@dataclass(frozen=True)
class Row:
    pattern: str
    variant: str
    trigger: str
    indicator: str
    recommendation: str
    source: str
    window: str
    snoozable: str

    def cells(self) -> tuple[str, ...]:
        return (self.pattern, self.variant, self.trigger, self.indicator, self.recommendation, self.source,
                self.window, self.snoozable)


def _trigger(variant: Variant) -> str:
    when = variant.when
    parts = []
    if when.get("red_flags_any"):
        parts.append("red flag: " + " or ".join(when["red_flags_any"]))
    if when.get("signs_any"):
        parts.append("any of: " + ", ".join(when["signs_any"]))
    for key, word in (("situations_any", "any situation of"), ("situations_all", "all situations of"),
                      ("situations_none", "none of the situations")):
        if when.get(key):
            parts.append(f"{word}: " + ", ".join(when[key]))
    if "exertional" in when:
        parts.append("exertional symptoms" if when["exertional"] else "no exertional symptoms")
    if variant.drop_when_no_suggestion:
        parts.append("only while its suggestion is open")
    return "; ".join(parts) or "the pattern is raised (default)"


def _indicator(variant: Variant) -> str:
    if isinstance(variant.indicator, str):
        return variant.indicator
    return ", ".join(f"{strength}: {value}" for strength, value in variant.indicator.items())


def _recommendation(variant: Variant) -> str:
    """The classes the card's own text cites, e.g. "G1 Class I; G1, G2 Class 1"."""
    cited = []
    for text in (variant.lead, *(str(getattr(c, "text", c)) for c in variant.consider)):
        for match in _CITED.finditer(text):
            if match.group(1) not in cited:
                cited.append(match.group(1))
    return "; ".join(cited) or "not graded"


def _window(variant: Variant, knowledge: Knowledge) -> str:
    windows = []
    when = variant.when
    named = dict.fromkeys([*when.get("red_flags_any", ()), *when.get("signs_any", ()), *when.get("situations_any", ()),
                           *when.get("situations_all", ())])
    for sign in (n for n in named if n != "exertional"):
        windows.append(f"{sign}: {_sign_window(sign, knowledge)}")
    return "; ".join(windows) or "each sign's lookback (knowledge/patterns.yaml)"


def _sign_window(sign: str, knowledge: Knowledge) -> str:
    rules = knowledge.rules
    entry = rules.signs.get(sign)
    if entry is not None and entry.lookback_days is not None:
        return f"{entry.lookback_days} d"
    band = next((m for m in rules.measurements.values() if any(b.sign == sign for b in m.bands)), None)
    if band is not None:
        return f"{band.recent_days} d (measurement)"
    arterial = getattr(rules, "arterial", None)
    if arterial is not None and sign in getattr(arterial, "clti", {}).values():
        known = sign == arterial.clti.get("known")
        return f"{'after' if known else 'within'} {arterial.critical_days} d of the finding (arterial-red-flags.yaml)"
    if arterial is not None and sign in getattr(arterial, "ali", {}).values():
        return f"{arterial.ali_acute_days} d (arterial-red-flags.yaml)"
    if entry is not None and not entry.derived:
        return "while the condition is active"
    return "see knowledge/"


def _source(template: CardTemplate, variant: Variant) -> str:
    """The links the variant says it rests on; the template's source label when it names none."""
    ids = getattr(variant, "sources", ())
    labels = [link["label"] for ref in ids for link in template.links if link.get("id") == ref]
    return "; ".join(labels) or template.source.get("label", "")


def _snoozable(variant: Variant, default_days: int) -> str:
    if not variant.snoozable:
        return "no"
    return f"yes, {variant.snooze_days} d" if variant.snooze_days else f"yes, CDS_SNOOZE_DAYS ({default_days} d)"


def rows(knowledge: Knowledge, default_days: int = 90) -> list[Row]:
    out = []
    for pattern in sorted(knowledge.templates):
        template: CardTemplate = knowledge.templates[pattern]
        for variant in template.variants:
            out.append(Row(pattern=pattern, variant=variant.id, trigger=_trigger(variant), indicator=_indicator(variant),
                           recommendation=_recommendation(variant), source=_source(template, variant),
                           window=_window(variant, knowledge), snoozable=_snoozable(variant, default_days)))
    return out


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(knowledge: Knowledge, default_days: int = 90) -> str:
    lines = [f"# Card catalogue (knowledge {knowledge.version})", "",
             "Generated by `cds-service catalogue` from cards/ and knowledge/; do not edit by hand.", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row.cells()) + " |" for row in rows(knowledge, default_days)]
    return "\n".join(lines) + "\n"


def html_page(knowledge: Knowledge, default_days: int = 90) -> str:
    """One self-contained page: inline style, no script, nothing fetched."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = "\n".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row.cells()) + "</tr>"
                     for row in rows(knowledge, default_days))
    title = f"Card catalogue (knowledge {html.escape(knowledge.version)})"
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\n"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "th,td{border:1px solid #999;padding:4px 6px;vertical-align:top;font-size:90%}th{background:#eee}</style>"
            f"</head><body>\n<h1>{title}</h1>\n<p>Generated by <code>cds-service catalogue</code> from cards/ and "
            f"knowledge/.</p>\n<table>\n<tr>{head}</tr>\n{body}\n</table>\n</body></html>\n")
