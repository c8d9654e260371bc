"""The reviewed knowledge files, loaded and cross-checked together at start.

Each file is first checked on its own against its schema (``documents``); then the
references between files: every value set is a sign of the pattern table, every coded sign
has a value set, and every sign a card names exists. A problem stops the service at start
with a line that names the file, the line and the key, never at request time. Every
problem of a stage is reported at once, so a reviewer fixes them in one pass.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import arterial_red_flags, documents, families as families_mod, questionnaire as questionnaire_mod, rules as rules_mod, \
    templates as templates_mod, terminology as terminology_mod
from .documents import Document, Problem
from .errors import KnowledgeError

__all__ = ["Knowledge", "KnowledgeError", "load"]


@dataclass(frozen=True)
class Knowledge:
    terminology: terminology_mod.Terminology
    rules: rules_mod.Rules
    common: templates_mod.Common
    templates: dict[str, templates_mod.CardTemplate]
    # Issue 18: medication classes (valuesets/medications/), therapy lines and the screening card
    # (knowledge/therapy.yaml). Optional so that a test may build a Knowledge without them.
    medications: Any = None  # medications.MedicationClasses
    therapy: Any = None  # therapy.TherapyRules
    screening: Any = None  # screening.ScreeningRules
    questions: questionnaire_mod.Questions | None = None  # the seed's questions (knowledge/questionnaire.yaml)
    gaps: families_mod.Gaps = field(default_factory=families_mod.Gaps)
    version: str = "unversioned"  # the newest heading of knowledge/CHANGELOG.md


_VERSION_HEADING = re.compile(r"^## +(\S+)", re.M)


def read_version(base: Path) -> str:
    """The knowledge version: the first ``## `` heading of ``knowledge/CHANGELOG.md``."""
    path = base / "knowledge" / "CHANGELOG.md"
    try:
        match = _VERSION_HEADING.search(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KnowledgeError(f"{path} is not readable ({exc.strerror}); it names the knowledge version") from None
    if match is None:
        raise KnowledgeError(f"{path} has no '## <version>' heading")
    return match.group(1)


def load(base: Path) -> Knowledge:
    """Load ``valuesets/``, ``knowledge/patterns.yaml``, ``knowledge/arterial-red-flags.yaml``,
    ``knowledge/icd10cm-families.yaml`` (its structure; the tabular check is ``cds-service check``'s), ``cards/``,
    ``valuesets/medications/`` and ``knowledge/therapy.yaml``."""
    from . import medications as medications_mod, screening as screening_mod, therapy as therapy_mod  # they import cards
    problems: list[Problem] = []
    terminology: terminology_mod.Terminology | None = None
    try:
        terminology = terminology_mod.load(base / "valuesets")
    except KnowledgeError as exc:
        problems += exc.problems
    rules_doc, found = rules_mod.read(base / "knowledge" / "patterns.yaml")
    problems += found
    families_data, found = families_mod.read(base)
    problems += found
    common_doc, template_docs, found = templates_mod.read(base / "cards")
    problems += found
    therapy_doc = documents.read(base / "knowledge" / "therapy.yaml", "knowledge/therapy.yaml")
    problems += [therapy_doc] if isinstance(therapy_doc, Problem) else documents.validate(therapy_doc, "therapy")
    if problems or terminology is None or rules_doc is None or common_doc is None or families_data is None:
        raise KnowledgeError("broken knowledge files:", problems)
    problems = _cross_check(terminology, rules_doc, template_docs)
    problems += families_mod.snomed_problems(families_data, set(terminology.concepts))
    if problems:
        raise KnowledgeError("knowledge files disagree:", problems)
    rules = rules_mod.parse(rules_doc.data)
    rules = replace(rules, arterial=arterial_red_flags.load(base / "knowledge" / "arterial-red-flags.yaml", rules))
    known_codes = {code for _, code in terminology.concepts}
    for sign in rules.signs.values():  # warning codes must be codes of that very sign
        stray = sorted(c for c in (sign.red_flag_warning_codes.codes if sign.red_flag_warning_codes else ())
                       if not any(k == c and v.sign == sign.id for (_, k), v in terminology.concepts.items()))
        if stray:
            raise KnowledgeError("knowledge files disagree:", [Problem(
                "knowledge/patterns.yaml", None, f"signs.{sign.id}.red_flag_warning_codes.codes",
                f"not codes of {sign.id}: {', '.join(stray)}")])
    unknown = sorted(rules.arterial.limb_codes - known_codes)
    if unknown:  # a code listed as "limb not stated" must be one the value sets read
        raise KnowledgeError("knowledge files disagree:", [Problem(
            "knowledge/arterial-red-flags.yaml", None, "limb_not_stated.codes", f"not in any value set: {', '.join(unknown)}")])
    templates = {p: templates_mod.parse_template(d.data) for p, d in template_docs.items()}
    try:
        medication_classes = medications_mod.load(base / "valuesets" / "medications")
        therapy = therapy_mod.load(base / "knowledge" / "therapy.yaml", rules, medication_classes.names)
        arterial_links = {link["id"] for t in templates.values() if t.pattern == "arterial-claudication" for link in t.links}
        screening = screening_mod.parse(therapy.raw_screening, rules, arterial_links)
        questions = questionnaire_mod.load(base, rules, terminology)
    except (therapy_mod.TherapyRulesError, screening_mod.ScreeningRulesError,
            questionnaire_mod.QuestionnaireError) as exc:
        raise KnowledgeError(str(exc)) from None
    if screening.card["suggestion"] not in templates["arterial-claudication"].suggestions:
        raise KnowledgeError("knowledge files disagree:", [Problem(
            "knowledge/therapy.yaml", None, "screening.card.suggestion", "must be a suggestion of the arterial template")])
    return Knowledge(terminology=terminology, rules=rules,
                     common=templates_mod.parse_common(common_doc.data), templates=templates,
                     medications=medication_classes, therapy=therapy, screening=screening,
                     questions=questions, gaps=families_mod.Gaps.from_data(families_data), version=read_version(base))


def _cross_check(terminology: terminology_mod.Terminology, rules_doc: Document,
                 template_docs: dict[str, Document]) -> list[Problem]:
    """References from one file to another: value set <-> pattern table sign, card -> sign."""
    problems: list[Problem] = []
    signs = rules_doc.data["signs"]
    for name in sorted(terminology.signs - set(signs)):
        problems.append(Problem(f"valuesets/{name}.json", None, "id", f"value set {name!r} has no entry in the pattern table"))
    for sid, raw in signs.items():
        answered_only = set(raw.get("read_from") or ()) == {questionnaire_mod.READ_FROM}  # answers carry the project's codes
        if not raw.get("derived") and not answered_only and sid not in terminology.signs:
            problems.append(rules_doc.problem(("signs", sid), f"pattern table sign {sid!r} has no value set"))
    site_labels = {c.site_label for table in (terminology.concepts, terminology.body_sites)
                   for c in table.values() if c.site_label}
    for doc in template_docs.values():
        for i, variant in enumerate(doc.data["variants"]):
            for key in ("red_flags_any", "signs_any"):
                for j, ref in enumerate(variant["when"].get(key) or ()):
                    if ref not in signs:
                        problems.append(doc.problem(("variants", i, "when", key, j), f"unknown sign {ref!r}"))
            whens: list[tuple[tuple[str | int, ...], dict[str, Any]]] = [(("variants", i, "when"), variant["when"])]
            whens += [(("variants", i, "consider", k, "when"), line["when"])
                      for k, line in enumerate(variant.get("consider") or ()) if isinstance(line, dict)]
            for at, when in whens:  # a site no value set names could never hold
                for j, site in enumerate(when.get("sites_any") or ()):
                    if site not in site_labels:
                        problems.append(doc.problem((*at, "sites_any", j), f"no value set labels a site {site!r}"))
        for sid, suggestion in (doc.data.get("suggestions") or {}).items():
            for path, refs in (((sid, "skip_if", "recent"), (suggestion.get("skip_if") or {}).get("recent")),
                               ((sid, "skip_if", "ordered"), (suggestion.get("skip_if") or {}).get("ordered")),
                               ((sid, "when_signs_any"), suggestion.get("when_signs_any"))):
                for j, ref in enumerate(refs or ()):
                    if ref not in signs:
                        problems.append(doc.problem(("suggestions", *path, j), f"unknown sign {ref!r}"))
    return problems
