"""Alert burden over the 18 synthetic patients: cards per 100 chart openings, by pattern, before
and after a simulated first override of every snoozable card (issue #19).

Each patient's chart is opened once; every card shown is then overridden as "already assessed"
(the policy snoozes only the snoozable ones); every chart is opened again a day later. Runs the
real engine, governance and store (SQLite in a temporary folder), so the figure is what a
clinician would see, not a count of variant flags.
"""
from __future__ import annotations

import statistics
import tempfile
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench import localsearch
from cds_service.config import Settings
from cds_service.engine import Engine
from cds_service.governance import Governance
from cds_service.knowledge import Knowledge
from cds_service.store import FeedbackRow, Store
from tests import synthetic


@dataclass
class Burden:
    openings: int
    before: Counter
    after: Counter
    snoozes: int
    governance_ms: float  # median per opening: snooze lookup, decisions and the record, on SQLite

    def per_100(self, counter: Counter, pattern: str) -> float:
        return 100 * counter[pattern] / self.openings


def _body(patient_id: str, prefetch: dict) -> dict:
    return {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/bench", "patientId": patient_id}, "prefetch": prefetch}


def measure(knowledge: Knowledge, now: datetime | None = None) -> Burden:
    now = now or datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="cds-cohort-") as folder:
        settings = Settings(database_url=f"sqlite:///{Path(folder) / 'cohort.db'}",
                            snooze_key="bench-only snooze key, 32 characters or more")
        store = Store(settings.database_url)
        store.create_schema()
        engine = Engine(knowledge, settings, Governance(settings, knowledge, store))
        charts = []
        for path in synthetic.PATIENT_FILES:
            patient_id, resources = localsearch.patient_resources(synthetic.load(path))
            charts.append((patient_id, localsearch.prefetch_for(resources, engine.prefetch_templates, patient_id)))
        before, after, timings, shown = Counter(), Counter(), [], []
        for patient_id, prefetch in charts:
            result = engine.evaluate(_body(patient_id, prefetch), now=now)
            timings.append(result.stats.timings_ms["governance"])
            for card in result.response["cards"]:
                before[card["source"]["topic"]["code"]] += 1
                shown.append(card)
        overrides = [FeedbackRow(service_id=settings.service_id, card_uuid=card["uuid"], outcome="overridden",
                                 outcome_timestamp=now.isoformat(), accepted_suggestions=None,
                                 override_system=knowledge.common.override_system, override_code="already-assessed",
                                 override_display="Already assessed", user_comment=None) for card in shown]
        snoozes = engine.governance.snooze.on_feedback(overrides)
        for patient_id, prefetch in charts:
            result = engine.evaluate(_body(patient_id, prefetch), now=now + timedelta(days=1))
            timings.append(result.stats.timings_ms["governance"])
            for card in result.response["cards"]:
                after[card["source"]["topic"]["code"]] += 1
        store.dispose()
    return Burden(openings=len(charts), before=before, after=after, snoozes=snoozes,
                  governance_ms=statistics.median(timings))


def report_lines(burden: Burden, patterns: list[str]) -> list[str]:
    lines = ["## Alert burden: cards per 100 chart openings (18 synthetic patients)", "",
             f"Each of the {burden.openings} synthetic patients' charts opened once; every card shown then overridden "
             "as *already assessed* (only snoozable variants snooze); every chart opened again a day later. "
             f"{burden.snoozes} snoozes started. Governance (snooze lookup, decisions, record on SQLite) took a median "
             f"{burden.governance_ms:.2f} ms per opening.", "",
             "| pattern | before | after the first override |", "|---|---:|---:|"]
    for pattern in patterns:
        lines.append(f"| {pattern} | {burden.per_100(burden.before, pattern):.1f} | "
                     f"{burden.per_100(burden.after, pattern):.1f} |")
    total_before, total_after = sum(burden.before.values()), sum(burden.after.values())
    lines += [f"| all | {100 * total_before / burden.openings:.1f} | {100 * total_after / burden.openings:.1f} |", ""]
    return lines


if __name__ == "__main__":
    from cds_service import knowledge as knowledge_mod
    from cds_service.config import REPO_ROOT
    k = knowledge_mod.load(REPO_ROOT)
    print("\n".join(report_lines(measure(k), sorted(k.templates))))
