"""Snooze on override (issue #19), through the HTTP endpoints as an EHR uses them: a card
overridden as already assessed or declined stays away for that patient until its period ends or
new evidence appears; nothing else is affected; storage trouble never hides a card."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from cds_service.app import create_app
from cds_service.store import PATIENT_LINKED_TABLES, StoreError, metadata

from builders import ICD, NOW, SCT, abi, condition, hook_request
from helpers import by_topic

URL = "/cds-services/leg-pain-claudication"
LEFT_CALF = [{"coding": [{"system": SCT, "code": "53840002:272741003=7771000"}]}]
ARTERIAL = "arterial-claudication"


def low_abi_record(patient="pat-1"):
    """Claudication with a low ABI: the snoozable abi-abnormal-exertional warning."""
    return [condition(SCT, "63491006", body_site=LEFT_CALF, patient=patient), abi(0.72, "left", patient=patient)]


def ali_record(patient="pat-1"):
    """A pulseless, pale leg: possible acute limb ischaemia, never snoozable."""
    return [condition(ICD, "I74.3", onset_days=2, patient=patient)]


def open_chart(client, resources, patient="pat-1", **extra) -> dict[str, dict]:
    response = client.post(URL, json=hook_request(resources, patient=patient, **extra))
    assert response.status_code == 200
    return by_topic(response.get_json()["cards"])


def override(client, card, code="already-assessed", at=NOW - timedelta(hours=1)):
    reason = next(r for r in card["overrideReasons"] if r["code"] == code)
    item = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": at.isoformat(),
            "overrideReason": {"reason": reason}}
    response = client.post(URL + "/feedback", json={"feedback": [item]})
    assert response.status_code == 200
    return response


def accept(client, card, at=NOW - timedelta(hours=1)):
    item = {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": at.isoformat(),
            "acceptedSuggestions": [{"id": s["uuid"]} for s in card["suggestions"]]}
    assert client.post(URL + "/feedback", json={"feedback": [item]}).status_code == 200


def dump(store) -> str:
    """Every row of every table, as one string (to look for what must not be there)."""
    with store.engine.connect() as conn:
        return repr([conn.execute(select(t)).fetchall() for t in metadata.sorted_tables])


@pytest.mark.parametrize("code", ["already-assessed", "patient-declined"])
def test_override_then_reopen_shows_no_card(client, code):
    record = low_abi_record()
    card = open_chart(client, record)[ARTERIAL]
    assert card["indicator"] == "warning"
    assert override(client, card, code).get_json() == {"received": 1, "stored": 1}
    assert ARTERIAL not in open_chart(client, record)
    assert ARTERIAL not in open_chart(client, record)  # and again: a snooze lasts its period, not one opening


@pytest.mark.parametrize("code", ["not-clinically-relevant", "incorrect"])
def test_other_override_reasons_do_not_snooze(client, code):
    record = low_abi_record()
    override(client, open_chart(client, record)[ARTERIAL], code)
    assert ARTERIAL in open_chart(client, record)


def test_a_finding_dated_after_the_override_brings_the_card_back(client):
    record = low_abi_record()
    override(client, open_chart(client, record)[ARTERIAL], at=NOW - timedelta(days=2))
    assert ARTERIAL not in open_chart(client, record)
    # a finding the card would list, recorded before the override, is no news
    older = abi(0.70, "left", days=5)
    assert ARTERIAL not in open_chart(client, record + [older])
    newer = abi(0.61, "left", days=1)
    card = open_chart(client, record + [newer])[ARTERIAL]
    assert "0.61" in card["detail"]


def test_a_red_flag_card_is_never_snoozed(client):
    record = ali_record()
    card = open_chart(client, record)[ARTERIAL]
    assert card["indicator"] == "critical"
    for code in ("already-assessed", "patient-declined"):
        override(client, card, code)
        card = open_chart(client, record)[ARTERIAL]
        assert card["indicator"] == "critical"


def test_every_non_snoozable_variant_is_shown_after_an_override(app, knowledge):
    """The loader keeps red-flag and critical variants non-snoozable; the policy asks the variant."""
    policy = app.extensions["cds"].engine.governance.snooze
    for template in knowledge.templates.values():
        for variant in template.variants:
            critical = variant.when.get("red_flags_any") or "critical" in (
                [variant.indicator] if isinstance(variant.indicator, str) else variant.indicator.values())
            if critical:
                assert not variant.snoozable and policy.period_days(variant) is None, variant.id
    assert policy.period_days(knowledge.templates["venous-claudication"].variants[-1]) is None  # asks about DVT


def test_another_patient_is_unaffected(client):
    override(client, open_chart(client, low_abi_record("pat-1"))[ARTERIAL])
    assert ARTERIAL not in open_chart(client, low_abi_record("pat-1"), patient="pat-1")
    assert ARTERIAL in open_chart(client, low_abi_record("pat-2"), patient="pat-2")


def test_the_same_patient_id_on_another_fhir_server_is_another_patient(client):
    record = low_abi_record()
    a, b = "https://ehr-a.example.org/fhir", "https://ehr-b.example.org/fhir"
    override(client, open_chart(client, record, fhirServer=a)[ARTERIAL])
    assert ARTERIAL not in open_chart(client, record, fhirServer=a)
    assert ARTERIAL in open_chart(client, record, fhirServer=b)
    assert ARTERIAL in open_chart(client, record)  # no fhirServer at all is a third place


def test_the_snooze_applies_whoever_opens_the_chart(client):
    record = low_abi_record()
    override(client, open_chart(client, record)[ARTERIAL])
    other_user = hook_request(record)
    other_user["context"]["userId"] = "Practitioner/dr-2"
    assert ARTERIAL not in by_topic(client.post(URL, json=other_user).get_json()["cards"])


def test_an_accepted_suggestion_is_not_offered_again_while_recent(client):
    record = [condition(SCT, "63491006", body_site=LEFT_CALF)]  # claudication without an ABI: suggests one
    card = open_chart(client, record)[ARTERIAL]
    assert [s["label"] for s in card["suggestions"]] == ["Order a resting ankle-brachial index"]
    accept(client, card)
    again = open_chart(client, record)[ARTERIAL]
    assert "suggestions" not in again and "selectionBehavior" not in again
    assert "Order a resting ankle-brachial index: accepted here on" in again["detail"]
    assert "suggestions" in open_chart(client, [condition(SCT, "63491006", body_site=LEFT_CALF, patient="pat-2")],
                                       patient="pat-2")[ARTERIAL]


def test_only_a_keyed_hash_stands_for_the_patient(app, client):
    record = low_abi_record("patient-visible-id")
    override(client, open_chart(client, record, patient="patient-visible-id")[ARTERIAL])
    stored = dump(app.extensions["cds"].store)
    assert "patient-visible-id" not in stored
    assert "snooze_memory" in {t.name for t in PATIENT_LINKED_TABLES}


def test_snooze_days_zero_stores_nothing_patient_linked(settings, knowledge):
    app = create_app(settings.with_overrides(snooze_days=0, snooze_key=None), knowledge=knowledge)
    client, store = app.test_client(), app.extensions["cds"].store
    record = low_abi_record()
    card = open_chart(client, record)[ARTERIAL]
    override(client, card)
    accept(client, open_chart(client, [condition(SCT, "63491006", body_site=LEFT_CALF)])[ARTERIAL])
    assert ARTERIAL in open_chart(client, record)  # nothing snoozed
    assert [store.count_rows(t) for t in PATIENT_LINKED_TABLES] == [0, 0]
    assert "pat-1" not in dump(store)
    assert store.count_rows(metadata.tables["card_log"]) == 3  # three chart openings: the report still counts cards


def test_a_failing_snooze_lookup_shows_the_cards_and_is_counted(app, client, monkeypatch):
    record = low_abi_record()
    override(client, open_chart(client, record)[ARTERIAL])
    store = app.extensions["cds"].store

    def broken(*_args, **_kwargs):
        raise StoreError("cannot read snoozes (OperationalError)")

    monkeypatch.setattr(store, "snooze_rows", broken)
    assert ARTERIAL in open_chart(client, record)  # 200 with the card, never 503
    metrics = client.get("/metrics").data.decode()
    assert 'cds_snooze_failures_total{use="lookup"} 1.0' in metrics
    assert 'cds_snooze_failures_total{use="record"} 1.0' in metrics  # not tried (backed off), but not recorded


def test_after_a_failure_the_store_is_left_alone_for_a_while(app, client, monkeypatch):
    from cds_service import governance
    record = low_abi_record()
    override(client, open_chart(client, record)[ARTERIAL])
    store, calls = app.extensions["cds"].store, []

    def broken(*_args, **_kwargs):
        calls.append(1)
        raise StoreError("cannot record cards (OperationalError)")

    monkeypatch.setattr(store, "record_cards", broken)
    assert ARTERIAL not in open_chart(client, record)  # the lookup still worked: still snoozed
    monkeypatch.setattr(store, "snooze_rows", broken)
    for _ in range(3):
        assert ARTERIAL in open_chart(client, record)
    assert len(calls) == 1  # one failed record; the next three calls did not wait on the store
    metrics = client.get("/metrics").data.decode()
    assert 'cds_snooze_failures_total{use="lookup"} 3.0' in metrics
    assert 'cds_snooze_failures_total{use="record"} 4.0' in metrics
    monkeypatch.setattr(governance.time, "monotonic", lambda: 10.0 ** 9)  # the back-off is over
    assert ARTERIAL in open_chart(client, record) and len(calls) == 2


def test_a_snooze_survives_a_restart(settings, knowledge):
    record = low_abi_record()
    first = create_app(settings, knowledge=knowledge)
    override(first.test_client(), open_chart(first.test_client(), record)[ARTERIAL])
    first.extensions["cds"].store.dispose()
    second = create_app(settings, knowledge=knowledge)
    assert ARTERIAL not in open_chart(second.test_client(), record)


def test_a_new_key_forgets_every_snooze(settings, knowledge):
    record = low_abi_record()
    first = create_app(settings, knowledge=knowledge)
    override(first.test_client(), open_chart(first.test_client(), record)[ARTERIAL])
    rotated = create_app(settings.with_overrides(snooze_key="another key of thirty-two characters, or more"),
                         knowledge=knowledge)
    assert ARTERIAL in open_chart(rotated.test_client(), record)


@pytest.mark.postgres
def test_two_instances_on_postgresql_share_snoozes(postgres_url, settings, knowledge):
    shared = settings.with_overrides(database_url=postgres_url)
    a, b = create_app(shared, knowledge=knowledge), create_app(shared, knowledge=knowledge)
    patient = f"pg-{NOW.timestamp():.0f}"
    record = low_abi_record(patient)
    card = open_chart(a.test_client(), record, patient=patient)[ARTERIAL]
    override(b.test_client(), card)  # the feedback reaches the other instance
    assert ARTERIAL not in open_chart(b.test_client(), record, patient=patient)
    assert ARTERIAL not in open_chart(a.test_client(), record, patient=patient)
    for app in (a, b):
        app.extensions["cds"].store.dispose()


def test_the_neurogenic_card_snoozes_but_a_suspected_dvt_does_not(client):
    from cases import RULE_CASES
    neuro = [condition(SCT, "368581000119106", onset_days=3000)]
    override(client, open_chart(client, neuro)["neurogenic-claudication"])
    assert "neurogenic-claudication" not in open_chart(client, neuro)
    suspected = RULE_CASES["dvt-provisional"]()
    card = open_chart(client, suspected)["venous-claudication"]
    assert card["summary"].startswith("Suspected DVT")
    override(client, card)
    assert "venous-claudication" in open_chart(client, suspected)
    confirmed = RULE_CASES["dvt-confirmed"]()  # "confirm anticoagulation": a reminder, snoozable
    override(client, open_chart(client, confirmed)["venous-claudication"])
    assert "venous-claudication" not in open_chart(client, confirmed)


# ---- the period, purging, and the key: at the engine, with the clock in the test's hands
def _engine(settings, knowledge):
    from cds_service.engine import Engine
    from cds_service.governance import Governance
    from cds_service.store import Store
    store = Store(settings.database_url)
    store.create_schema()
    return Engine(knowledge, settings, Governance(settings, knowledge, store)), store


def _override_row(card, at):
    from cds_service.store import FeedbackRow
    reason = next(r for r in card["overrideReasons"] if r["code"] == "already-assessed")
    return FeedbackRow(service_id="leg-pain-claudication", card_uuid=card["uuid"], outcome="overridden",
                       outcome_timestamp=at.isoformat(), accepted_suggestions=None, override_system=reason["system"],
                       override_code=reason["code"], override_display=reason["display"], user_comment=None)


def test_the_period_ends_exactly_snooze_days_after_the_override(settings, knowledge):
    engine, store = _engine(settings.with_overrides(snooze_days=30), knowledge)
    record = low_abi_record()

    def arterial(at):
        return ARTERIAL in by_topic(engine.evaluate(hook_request(record), now=at).response["cards"])

    card = by_topic(engine.evaluate(hook_request(record), now=NOW).response["cards"])[ARTERIAL]
    assert engine.governance.snooze.on_feedback([_override_row(card, NOW)]) == 1
    end = NOW + timedelta(days=30)
    assert not arterial(end - timedelta(seconds=1))
    assert arterial(end)
    store.dispose()


def test_a_variant_may_set_its_own_period(settings, knowledge):
    from dataclasses import replace
    template = knowledge.templates[ARTERIAL]
    variants = tuple(replace(v, snooze_days=7) if v.id == "abi-abnormal-exertional" else v for v in template.variants)
    knowledge = replace(knowledge, templates={**knowledge.templates, ARTERIAL: replace(template, variants=variants)})
    engine, store = _engine(settings, knowledge)
    record = low_abi_record()
    card = by_topic(engine.evaluate(hook_request(record), now=NOW).response["cards"])[ARTERIAL]
    engine.governance.snooze.on_feedback([_override_row(card, NOW)])
    assert ARTERIAL not in by_topic(engine.evaluate(hook_request(record), now=NOW + timedelta(days=6)).response["cards"])
    assert ARTERIAL in by_topic(engine.evaluate(hook_request(record), now=NOW + timedelta(days=7)).response["cards"])
    store.dispose()


def test_expired_rows_are_purged(settings, knowledge):
    engine, store = _engine(settings.with_overrides(snooze_days=30), knowledge)
    record = low_abi_record()
    card = by_topic(engine.evaluate(hook_request(record), now=NOW).response["cards"])[ARTERIAL]
    engine.governance.snooze.on_feedback([_override_row(card, NOW)])
    accept_card = by_topic(engine.evaluate(hook_request([condition(SCT, "63491006", body_site=LEFT_CALF)]),
                                           now=NOW).response["cards"])[ARTERIAL]
    from cds_service.store import FeedbackRow
    engine.governance.snooze.on_feedback([FeedbackRow(
        service_id="s", card_uuid=accept_card["uuid"], outcome="accepted", outcome_timestamp=NOW.isoformat(),
        accepted_suggestions=f'["{accept_card["suggestions"][0]["uuid"]}"]', override_system=None, override_code=None,
        override_display=None, user_comment=None)])
    assert [store.count_rows(t) for t in PATIENT_LINKED_TABLES] == [2, 1]
    assert store.purge((NOW + timedelta(days=30) - timedelta(seconds=1)).timestamp()) == 0
    assert store.purge((NOW + timedelta(days=30)).timestamp()) == 3
    assert [store.count_rows(t) for t in PATIENT_LINKED_TABLES] == [0, 0]
    assert store.count_rows(metadata.tables["card_log"]) == 2  # the non-identifying log stays for the report
    store.dispose()


def test_hook_calls_purge_expired_rows_as_they_go(settings, knowledge):
    engine, store = _engine(settings.with_overrides(snooze_days=30), knowledge)
    engine.evaluate(hook_request(low_abi_record()), now=NOW)
    assert store.count_rows(PATIENT_LINKED_TABLES[0]) == 1
    engine.governance.snooze._last_purge = 0.0  # as if a minute had passed since the last purge
    engine.evaluate(hook_request([]), now=NOW + timedelta(days=31))
    assert store.count_rows(PATIENT_LINKED_TABLES[0]) == 0
    store.dispose()


def test_the_key_production_needs(settings):
    from cds_service.config import ConfigError
    from cds_service.snooze import DEVELOPMENT_KEY, load_key
    prod = settings.with_overrides(env="production", snooze_key=None)
    with pytest.raises(ConfigError, match="needs CDS_SNOOZE_KEY or CDS_SNOOZE_KEY_FILE"):
        load_key(prod)
    with pytest.raises(ConfigError, match="at least 32 characters"):
        load_key(prod.with_overrides(snooze_key="short"))
    with pytest.raises(ConfigError, match="development snooze key is refused"):
        load_key(prod.with_overrides(snooze_key=DEVELOPMENT_KEY))
    assert load_key(prod.with_overrides(snooze_days=0)) is None
    assert load_key(settings.with_overrides(snooze_key=None)) == DEVELOPMENT_KEY.encode()


def test_the_key_may_come_from_a_secret_file(settings, tmp_path):
    from cds_service.config import ConfigError
    from cds_service.snooze import load_key
    secret = tmp_path / "snooze.key"
    secret.write_text("k" * 40 + "\n")
    prod = settings.with_overrides(env="production", snooze_key=None, snooze_key_file=secret)
    assert load_key(prod) == b"k" * 40
    with pytest.raises(ConfigError, match="is not readable"):
        load_key(prod.with_overrides(snooze_key_file=tmp_path / "missing"))


def test_the_hash_separates_client_server_and_patient():
    from cds_service.snooze import subject_hash
    key = b"k" * 32
    base = subject_hash(key, "iss-a", "https://ehr.example.org/fhir", "p1")
    assert base == subject_hash(key, "iss-a", "https://ehr.example.org/fhir/", "p1")  # a trailing slash is the same server
    others = {subject_hash(key, "iss-b", "https://ehr.example.org/fhir", "p1"),
              subject_hash(key, "iss-a", "https://other.example.org/fhir", "p1"),
              subject_hash(key, "iss-a", "https://ehr.example.org/fhir", "p2"),
              subject_hash(b"j" * 32, "iss-a", "https://ehr.example.org/fhir", "p1")}
    assert base not in others and len(others) == 4
