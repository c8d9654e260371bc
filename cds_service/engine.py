"""The clinical pipeline for one hook request, without any web framework.

request body -> ``parse_request`` (envelope checks) -> ``evaluate_request``: ``gather`` (prefetch
resolution, FHIR fallback) -> ``records.select`` -> ``findings.extract`` -> ``assessment.assess``
-> ``cards.render_all`` -> governance (switches, snooze, one info card, shadow mode; ``governance.py``).
Each stage returns what it measured; ``evaluate_request`` assembles the request's ``Stats`` once
from those returns.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from . import (answers as answers_mod, assessment as assessment_mod, cards as cards_mod, findings as findings_mod,
               medications as medications_mod, prefetch as prefetch_mod, question_cards, records,
               screening as screening_mod, therapy as therapy_mod)
from .config import Settings
from .errors import BadRequest, PayloadTooLarge, PreconditionFailed
from .findings import Finding
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
    prefetch: dict[str, Any]
    parse_ms: float = field(default=0.0, compare=False)  # what the parse stage measured


@dataclass(frozen=True)
class Gathered:
    """What the gather stage returns: the resources, and what it measured."""

    resources: list[Any]
    keys: dict[str, str]  # prefetch key -> its state (present, null, failed-skipped, ...)
    fetched_keys: int = 0
    fetch_ms: float | None = None

    @property
    def incomplete(self) -> bool:
        """Some key was read only in part: every card then says so."""
        return "partial" in self.keys.values()


@dataclass
class IntakeStats:
    """What reading one request's record measured, the same for the chart and the order services
    (their request line and metrics read these fields from either)."""

    timings_ms: dict[str, float] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    fetched_keys: int = 0
    resources_seen: int = 0
    resources_used: int = 0
    malformed: int = 0
    other_patient: int = 0
    duplicates: int = 0
    unknown_codes: int = 0

    @property
    def incomplete(self) -> bool:
        """Some key was read only in part (paging cut short): every card then says so."""
        return "partial" in self.keys.values()


@dataclass
class Stats(IntakeStats):
    """What one patient-view request measured, assembled once from what each stage returned (for the log line)."""

    excluded: dict[str, int] = field(default_factory=dict)
    withheld: dict[str, int] = field(default_factory=dict)  # governance status -> cards not returned
    snooze_failed: bool = False  # a snooze lookup or record failed; the cards were shown regardless


@dataclass
class Result:
    response: dict[str, Any]
    stats: Stats


class Engine:
    """Holds the loaded knowledge and the prefetch keys derived from it; stateless per request.

    One contract: ``parse_request(body) -> HookRequest`` then
    ``evaluate_request(request) -> Result``. ``evaluate(body)`` is the two in one call, for the
    ``evaluate`` command, the tests and the benchmarks."""

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
        """Compile the schemas now, at start, so that the first clinician after a deploy does not pay for them."""
        for name in ("request", "feedback"):
            validator(name)

    def parse_request(self, body: Any) -> HookRequest:
        """Stage 1: check the envelope against the request schema and keep what later stages need.
        Raises BadRequest (400) naming the first problem."""
        started = time.perf_counter()
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
            parse_ms=(time.perf_counter() - started) * 1e3,
        )

    def gather(self, request: HookRequest, fetcher: Fetcher | None) -> Gathered:
        """Stage 2: resources from every prefetch key; absent, failed or paged keys go to the
        fetcher when given. A required key that cannot be had is a 412; too many resources a 413."""
        results = {k.key: prefetch_mod.classify(k.key, request.prefetch.get(k.key), k.key in request.prefetch)
                   for k in self.prefetch_keys}
        fetched_keys, fetch_ms = 0, None
        if fetcher is not None:
            jobs = [(k, results[k.key]) for k in self.prefetch_keys
                    if results[k.key].state in ("absent", "failed") or results[k.key].next_url]
            if jobs:
                fetched_keys = len(jobs)
                started = time.perf_counter()
                for (k, _), fetched in zip(jobs, fetcher(jobs), strict=True):
                    results[k.key] = fetched
                fetch_ms = (time.perf_counter() - started) * 1e3
        resources: list[Any] = []
        states: dict[str, str] = {}
        for key in self.prefetch_keys:
            result = results[key.key]
            if result.state in ("absent", "failed"):
                if key.required:
                    why = result.reason or "not prefetched and no FHIR server to fetch it from"
                    raise PreconditionFailed(f"prefetch key '{key.key}' could not be had: {why}",
                                             expression=f"prefetch.{key.key}")
                states[key.key] = f"{result.state}-skipped"
                continue
            if result.state == "present" and result.next_url:
                result.state = "partial"  # the client sent a first page and nothing can fetch the rest
            states[key.key] = result.state
            resources.extend(result.resources)
        if len(resources) > self.settings.max_prefetch_resources:
            raise PayloadTooLarge(f"prefetch holds {len(resources)} resources; the limit is "
                                  f"{self.settings.max_prefetch_resources}")
        return Gathered(resources=resources, keys=states, fetched_keys=fetched_keys, fetch_ms=fetch_ms)

    def evaluate_request(self, request: HookRequest, *, now: datetime | None = None,
                         fetcher: Fetcher | None = None, base_url: str | None = None,
                         tenant: str | None = None) -> Result:
        """Stages 2-6 on a parsed request: gather, records, findings and assessment, cards, governance.
        The stats are assembled here, once, from what each stage returned. ``base_url`` is where
        this service is reached (for the link to the questions); without it the cards carry no such link.
        ``tenant`` is the calling client (JWT issuer and tenant) when auth is on: part of whose patient a snooze is."""
        clock = time.perf_counter
        now = now or datetime.now(timezone.utc)
        t1 = clock()
        gathered = self.gather(request, fetcher)
        t2 = clock()
        resources = gathered.resources
        responses = [r for r in resources if isinstance(r, dict) and r.get("resourceType") == answers_mod.RESOURCE_TYPE]
        intake = records.select(resources, self.knowledge.terminology, request.patient_id, self.knowledge.gaps)
        extraction = findings_mod.extract(intake.records, self.knowledge.rules, self.knowledge.terminology, now)
        situation = self._answers(responses, intake, extraction.findings, request, now, gathered.keys, base_url)
        found = extraction.findings + (situation.reading.findings if situation else [])
        assessment = assessment_mod.assess(found, self.knowledge.rules, now)
        # Of the Patient only the birth date is read; without it (key absent, refused or no birthDate)
        # the age is unknown and a line that needs it (a card's `age_under`) is left out, never a 412.
        patient = next((r for r in resources if isinstance(r, dict) and r.get("resourceType") == "Patient"), None)
        assessment.age = screening_mod.age(patient, request.patient_id, now)
        t3 = clock()
        meds = medications_mod.read(resources, self.knowledge.medications, request.patient_id, gathered.keys,
                                    prefetch_mod.MEDICATION_KEYS)
        smoking = therapy_mod.smoking_status(resources, self.knowledge.therapy.smoking, request.patient_id) \
            if gathered.keys.get(prefetch_mod.SMOKING_KEY) in ("present", "partial") else None
        therapy = therapy_mod.lines(assessment, self.knowledge.rules, self.knowledge.therapy, meds, smoking)
        subject, lookup = self.governance.prepare(tenant, request.fhir_server, request.patient_id, now)
        t4 = clock()
        ctx = cards_mod.CardContext(hook_instance=request.hook_instance, patient_id=request.patient_id,
                                    user_id=request.user_id, incomplete=gathered.incomplete, accepted=lookup.accepted,
                                    extra_lines=therapy.lines, extra_sources=therapy.sources)
        rendered = cards_mod.render_all(assessment, self.knowledge, ctx)
        own: list[dict[str, Any]] = []  # the questions' own card, when no pattern card is raised
        if situation is not None:
            worded = question_cards.apply([r.card for r in rendered], assessment, self.knowledge, ctx, situation)
            own = [c for c in worded if not any(c is r.card for r in rendered)]
            for card in own:
                card.setdefault("extension", {"knowledgeVersion": self.knowledge.version})
            rendered.sort(key=lambda r: cards_mod.indicator_rank(r.card))  # a reported-only card became info
        if not rendered and not own and self.settings.screening_enabled:  # never beside any other card
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
        withheld: dict[str, int] = {}
        for d in decisions:
            if d.status != SHOWN:
                withheld[d.status] = withheld.get(d.status, 0) + 1
        t6 = clock()
        timings = {"request": request.parse_ms, **({"fetch": gathered.fetch_ms} if gathered.fetch_ms is not None else {}),
                   "prefetch": (t2 - t1) * 1e3, "evaluation": (t3 - t2) * 1e3, "render": (t5 - t4) * 1e3,
                   "governance": (t4 - t3 + t6 - t5) * 1e3}
        excluded = dict(extraction.excluded)
        if situation is not None:
            excluded.update({f"questionnaireresponse-{k}": v for k, v in situation.reading.skipped.items()})
        stats = Stats(timings_ms=timings, resources_seen=intake.seen, resources_used=len(intake.records),
                      malformed=intake.malformed, other_patient=intake.other_patient, duplicates=intake.duplicates,
                      unknown_codes=intake.unknown_codes,
                      excluded=excluded, keys=gathered.keys, fetched_keys=gathered.fetched_keys,
                      withheld=withheld, snooze_failed=lookup.failed or not recorded)
        return Result(response={"cards": cards}, stats=stats)

    def evaluate(self, body: Any, *, now: datetime | None = None, fetcher: Fetcher | None = None,
                 base_url: str | None = None, tenant: str | None = None) -> Result:
        """``parse_request`` then ``evaluate_request``: the whole pipeline on a request body."""
        return self.evaluate_request(self.parse_request(body), now=now, fetcher=fetcher, base_url=base_url,
                                     tenant=tenant)

    def _answers(self, responses: list[Any], intake: records.Intake, findings: list[Finding], request: HookRequest,
                 now: datetime, keys: dict[str, str], base_url: str | None) -> question_cards.Situation | None:
        """The latest answers to the seed's questions, and what the offer of them needs to know."""
        questions = self.knowledge.questions
        if questions is None:
            return None
        reading = answers_mod.read(responses, questions, request.patient_id, now)
        triggered = {f"{r.resource_type}/{r.model.id}" if r.model.id else r.resource_type for r in intake.records
                     if (r.concept.system, r.concept.code) in questions.trigger_codes}
        known = keys.get(prefetch_mod.QUESTIONNAIRE_RESPONSES) in ("present", "partial", "null")
        return question_cards.Situation(reading=reading, answers_known=known, base_url=base_url,
                                        triggers=question_cards.trigger_findings(findings, triggered, questions, now))
