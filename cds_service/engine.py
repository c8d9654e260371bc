"""The clinical pipeline for one hook request, without any web framework.

request dict -> envelope checks -> prefetch resolution -> records -> findings -> assessment
-> cards -> governance (switches, snooze, one info card, shadow mode; ``governance.py``).
The HTTP layer and the ``cds-service evaluate`` command both call ``evaluate``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from . import (answers as answers_mod, assessment as assessment_mod, cards as cards_mod, findings as findings_mod,
               medications as medications_mod, prefetch as prefetch_mod, question_cards, records,
               screening as screening_mod, therapy as therapy_mod)
from .config import Settings
from .errors import BadRequest, PayloadTooLarge, PreconditionFailed
from .governance import SHOWN, Governance
from .knowledge import Knowledge
from .validation import require_valid, validator

HOOK = "patient-view"

# fetcher([(key, what the client sent)]) -> [KeyResult]; supplied by the FHIR fallback client.
Fetcher = Callable[[list[tuple[prefetch_mod.PrefetchKey, prefetch_mod.KeyResult]]], list[prefetch_mod.KeyResult]]


@dataclass(frozen=True)
class HookRequest:
    """The parts of a validated request that later stages need (no raw body kept around)."""

    hook_instance: str
    patient_id: str
    user_id: str
    encounter_id: str | None
    fhir_server: str | None
    access_token: str | None
    prefetch: dict


@dataclass
class Stats:
    timings_ms: dict[str, float] = field(default_factory=dict)
    resources_seen: int = 0
    resources_used: int = 0
    malformed: int = 0
    other_patient: int = 0
    duplicates: int = 0
    unknown_codes: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    fetched_keys: int = 0
    withheld: dict[str, int] = field(default_factory=dict)  # governance status -> cards not returned
    snooze_failed: bool = False  # a snooze lookup or record failed; the cards were shown regardless

    @property
    def incomplete(self) -> bool:
        """Some key was read only in part: every card then says so."""
        return "partial" in self.keys.values()


@dataclass
class Result:
    response: dict
    stats: Stats


class Engine:
    """Holds the loaded knowledge and the prefetch keys derived from it; stateless per request."""

    def __init__(self, knowledge: Knowledge, settings: Settings, governance: Governance | None = None,
                 memory: screening_mod.Memory | None = None):
        self.knowledge = knowledge
        self.settings = settings
        self.governance = governance or Governance(settings, knowledge)
        self.memory = memory  # the store, for the screening card's once-per-period rule
        self.prefetch_keys = prefetch_mod.keys(knowledge)
        self.prefetch_templates = prefetch_mod.templates(self.prefetch_keys)
        self._warm_up()

    def _warm_up(self) -> None:
        """Compile the schemas and let fhir.resources build its model internals now, at start,
        so that the first clinician after a deploy does not pay for them (about 10 ms)."""
        for name in ("request", "feedback"):
            validator(name)
        records.warm_up()

    def parse_request(self, body, stats: "Stats | None" = None) -> HookRequest:
        started = time.perf_counter()
        request = self._parse(body)
        if stats is not None:
            stats.timings_ms["request"] = (time.perf_counter() - started) * 1e3
        return request

    def _parse(self, body) -> HookRequest:
        if not isinstance(body, dict):
            raise BadRequest("the request body must be a JSON object")
        require_valid("request", body)
        if body["hook"] != HOOK:
            raise BadRequest(f"this service answers the {HOOK} hook only", expression="hook")
        context = body["context"]
        auth = body.get("fhirAuthorization") or {}
        return HookRequest(
            hook_instance=body["hookInstance"], patient_id=context["patientId"], user_id=context["userId"],
            encounter_id=context.get("encounterId"), fhir_server=body.get("fhirServer"),
            access_token=auth.get("access_token"), prefetch=body.get("prefetch") or {},
        )

    def gather(self, request: HookRequest, fetcher: Fetcher | None, stats: Stats) -> list:
        """Resources from every prefetch key; absent, failed or paged keys go to the fetcher when given."""
        results = {k.key: prefetch_mod.classify(k.key, request.prefetch.get(k.key), k.key in request.prefetch)
                   for k in self.prefetch_keys}
        if fetcher is not None:
            jobs = [(k, results[k.key]) for k in self.prefetch_keys
                    if results[k.key].state in ("absent", "failed") or results[k.key].next_url]
            if jobs:
                stats.fetched_keys += len(jobs)
                started = time.perf_counter()
                for (k, _), fetched in zip(jobs, fetcher(jobs), strict=True):
                    results[k.key] = fetched
                stats.timings_ms["fetch"] = (time.perf_counter() - started) * 1e3
        resources: list = []
        for key in self.prefetch_keys:
            result = results[key.key]
            if result.state in ("absent", "failed"):
                if key.required:
                    why = result.reason or "not prefetched and no FHIR server to fetch it from"
                    raise PreconditionFailed(f"prefetch key '{key.key}' could not be had: {why}",
                                             expression=f"prefetch.{key.key}")
                stats.keys[key.key] = f"{result.state}-skipped"
                continue
            if result.state == "present" and result.next_url:
                result.state = "partial"  # the client sent a first page and nothing can fetch the rest
            stats.keys[key.key] = result.state
            resources.extend(result.resources)
        if len(resources) > self.settings.max_prefetch_resources:
            raise PayloadTooLarge(f"prefetch holds {len(resources)} resources; the limit is "
                                  f"{self.settings.max_prefetch_resources}")
        return resources

    def evaluate(self, body, *, now: datetime | None = None, fetcher: Fetcher | None = None,
                 request: HookRequest | None = None, stats: Stats | None = None, base_url: str | None = None,
                 tenant: str | None = None) -> Result:
        """Cards for one request. ``base_url`` is where this service is reached (for the link to
        the questions); without it the cards carry no such link. ``tenant`` is the calling client
        (JWT issuer and tenant) when auth is on: part of whose patient a snooze is."""
        stats = stats or Stats()
        clock = time.perf_counter
        now = now or datetime.now(timezone.utc)
        if request is None:
            request = self.parse_request(body, stats)
        t1 = clock()
        resources = self.gather(request, fetcher, stats)
        t2 = clock()
        responses = [r for r in resources if isinstance(r, dict) and r.get("resourceType") == answers_mod.RESOURCE_TYPE]
        intake = records.select(resources, self.knowledge.terminology, request.patient_id, self.knowledge.gaps)
        extraction = findings_mod.extract(intake.records, self.knowledge.rules, self.knowledge.terminology, now)
        situation = self._answers(responses, intake, extraction.findings, request, now, stats, base_url)
        found = extraction.findings + (situation.reading.findings if situation else [])
        assessment = assessment_mod.assess(found, self.knowledge.rules, now)
        t3 = clock()
        meds = medications_mod.read(resources, self.knowledge.medications, request.patient_id, stats.keys,
                                    prefetch_mod.MEDICATION_KEYS)
        smoking = therapy_mod.smoking_status(resources, self.knowledge.therapy.smoking, request.patient_id) \
            if stats.keys.get(prefetch_mod.SMOKING_KEY) in ("present", "partial") else None
        therapy = therapy_mod.lines(assessment, self.knowledge.rules, self.knowledge.therapy, meds, smoking)
        subject, lookup = self.governance.prepare(tenant, request.fhir_server, request.patient_id, now)
        t4 = clock()
        ctx = cards_mod.CardContext(hook_instance=request.hook_instance, patient_id=request.patient_id,
                                    user_id=request.user_id, incomplete=stats.incomplete, accepted=lookup.accepted,
                                    extra_lines=therapy.lines, extra_sources=therapy.sources)
        rendered = cards_mod.render_all(assessment, self.knowledge, ctx)
        own: list[dict] = []  # the questions' own card, when no pattern card is raised
        if situation is not None:
            worded = question_cards.apply([r.card for r in rendered], assessment, self.knowledge, ctx, situation)
            own = [c for c in worded if not any(c is r.card for r in rendered)]
            for card in own:
                card.setdefault("extension", {"knowledgeVersion": self.knowledge.version})
            rendered.sort(key=lambda r: cards_mod.indicator_rank(r.card))  # a reported-only card became info
        if not rendered and not own and self.settings.screening_enabled:  # never beside any other card
            patient = next((r for r in resources if isinstance(r, dict) and r.get("resourceType") == "Patient"), None)
            screening = screening_mod.offer(
                rules=self.knowledge.screening, knowledge=self.knowledge, ctx=ctx, signs_present=assessment.signs_present,
                findings=extraction.findings, smoking=smoking, patient=patient, fhir_server=request.fhir_server,
                now=now, interval_days=self.settings.screening_abi_interval_days,
                repeat_days=self.settings.screening_repeat_days, secret=self.settings.screening_key or "",
                memory=self.memory, ordered=assessment.ordered)
            rendered = [screening] if screening is not None else []  # governed like any info card
        t5 = clock()
        decisions = self.governance.decide(rendered, lookup)
        recorded = self.governance.record(subject, decisions, now)
        cards = [d.rendered.card for d in decisions if d.status == SHOWN]
        if own and not self.settings.shadow_mode:
            cards = sorted(cards + own, key=cards_mod.indicator_rank)
        for d in decisions:
            if d.status != SHOWN:
                stats.withheld[d.status] = stats.withheld.get(d.status, 0) + 1
        stats.snooze_failed = lookup.failed or not recorded
        t6 = clock()
        stats.timings_ms.update(prefetch=(t2 - t1) * 1e3, evaluation=(t3 - t2) * 1e3, render=(t5 - t4) * 1e3,
                                governance=(t4 - t3 + t6 - t5) * 1e3)
        stats.resources_seen += intake.seen
        stats.resources_used = len(intake.records)
        stats.malformed += intake.malformed
        stats.other_patient += intake.other_patient
        stats.duplicates += intake.duplicates
        stats.unknown_codes += intake.unknown_codes
        stats.excluded = dict(extraction.excluded)
        if situation is not None:
            stats.excluded.update({f"questionnaireresponse-{k}": v for k, v in situation.reading.skipped.items()})
        return Result(response={"cards": cards}, stats=stats)

    def _answers(self, responses: list, intake, findings: list, request: HookRequest, now: datetime,
                 stats: Stats, base_url: str | None) -> question_cards.Situation | None:
        """The latest answers to the seed's questions, and what the offer of them needs to know."""
        questions = self.knowledge.questions
        if questions is None:
            return None
        reading = answers_mod.read(responses, questions, request.patient_id, now)
        triggered = {f"{r.resource_type}/{r.model.id}" if r.model.id else r.resource_type for r in intake.records
                     if (r.concept.system, r.concept.code) in questions.trigger_codes}
        known = stats.keys.get(prefetch_mod.QUESTIONNAIRE_RESPONSES) in ("present", "partial", "null")
        return question_cards.Situation(reading=reading, answers_known=known, base_url=base_url,
                                        triggers=question_cards.trigger_findings(findings, triggered, questions, now))
