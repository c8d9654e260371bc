"""The reviewed knowledge files, loaded and cross-checked together at start.

A broken value set, pattern table or card template stops the service at start with a
message that names the file and the problem, never at request time.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import arterial_red_flags, families as families_mod, questionnaire as questionnaire_mod, rules as rules_mod, \
    templates as templates_mod, terminology as terminology_mod


class KnowledgeError(ValueError):
    pass


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
    try:
        terminology = terminology_mod.load(base / "valuesets")
        rules = rules_mod.load(base / "knowledge" / "patterns.yaml")
        rules = replace(rules, arterial=arterial_red_flags.load(base / "knowledge" / "arterial-red-flags.yaml", rules))
        common, templates = templates_mod.load(base / "cards")
        medication_classes = medications_mod.load(base / "valuesets" / "medications")
        therapy = therapy_mod.load(base / "knowledge" / "therapy.yaml", rules, medication_classes.names)
        arterial_links = {link["id"] for t in templates.values() if t.pattern == "arterial-claudication" for link in t.links}
        screening = screening_mod.parse(therapy.raw_screening, rules, arterial_links)
        questions = questionnaire_mod.load(base, rules, terminology)
        gaps = families_mod.Gaps.from_data(families_mod.load(base))
        version = read_version(base)
    except (families_mod.FamiliesError, terminology_mod.TerminologyError, rules_mod.RulesError, templates_mod.TemplateError,
            arterial_red_flags.ArterialRulesError, therapy_mod.TherapyRulesError,
            screening_mod.ScreeningRulesError, questionnaire_mod.QuestionnaireError) as exc:
        raise KnowledgeError(str(exc)) from None
    problems = []
    coded = terminology.signs
    for sign in coded - set(rules.signs):
        problems.append(f"value set {sign!r} has no entry in the pattern table")
    for sign in rules.signs.values():
        answered_only = sign.read_from == {questionnaire_mod.READ_FROM}  # answers carry the project's codes
        if not sign.derived and not answered_only and sign.id not in coded:
            problems.append(f"pattern table sign {sign.id!r} has no value set")
    for template in templates.values():
        for variant in template.variants:
            for ref in [*variant.when.get("red_flags_any", ()), *variant.when.get("signs_any", ())]:
                if ref not in rules.signs:
                    problems.append(f"card {template.pattern} variant {variant.id}: unknown sign {ref!r}")
        for s in template.suggestions.values():
            for ref in s.skip_recent + s.skip_ordered + s.when_signs_any:
                if ref not in rules.signs:
                    problems.append(f"card {template.pattern} suggestion {s.id}: unknown sign {ref!r}")
    if problems:
        raise KnowledgeError("knowledge files disagree:\n  " + "\n  ".join(problems))
    if screening.card["suggestion"] not in templates["arterial-claudication"].suggestions:
        problems.append("screening.card.suggestion must be a suggestion of the arterial template")
    if problems:
        raise KnowledgeError("knowledge files disagree:\n  " + "\n  ".join(problems))
    return Knowledge(terminology=terminology, rules=rules, common=common, templates=templates,
                     medications=medication_classes, therapy=therapy, screening=screening,
                     questions=questions, gaps=gaps, version=version)
