"""Opt-in risk-based ABI screening (issue 18): off by default, on by setting, each at-risk group in and
out, at most once per period per patient, never beside another card, the patient id never stored."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from builders import ICD, NOW, PATIENT, SCT, abi, bundle, condition, service_request
from cds_service import screening
from cds_service.engine import Engine
from cds_service.store import Store, screening_shown_table
from therapy_builders import CURRENT_SMOKER, FORMER_SMOKER, NEVER_SMOKER, REFUSED, full_request, patient, smoking

KEY = "k" * 40
TOPIC = "pad-risk-screening"
DIABETES = condition(ICD, "E11.9", onset_days=900)
HYPERTENSION = condition(ICD, "I10", onset_days=900)
CKD = condition(ICD, "N18.31", onset_days=900)
DYSLIPIDAEMIA = condition(ICD, "E78.5", onset_days=900)
FAMILY = condition(ICD, "Z82.49", onset_days=900)
CORONARY = condition(ICD, "I25.10", onset_days=900)


@pytest.fixture
def store(settings):
    s = Store(settings.database_url)
    s.create_schema()
    yield s
    s.dispose()


@pytest.fixture
def screen(knowledge, settings, store):
    """Evaluate with screening switched on; return the cards."""
    engine = Engine(knowledge, settings.with_overrides(screening_enabled=True, screening_key=KEY), memory=store)

    def run(body, now=NOW):
        return engine.evaluate(body, now=now).response["cards"]
    return run


def request(age=None, conditions=(), **kw):
    return full_request(list(conditions), patient_resource=patient(age) if age is not None else None, **kw)


def screened(cards) -> bool:
    return any(c["source"]["topic"]["code"] == TOPIC for c in cards)


def test_screening_is_off_by_default(evaluate, settings):
    assert settings.screening_enabled is False
    assert evaluate(request(70)) == []


def test_screening_on_by_setting_offers_an_info_card_for_age_65(screen):
    (card,) = screen(request(70))
    assert card["indicator"] == "info"
    assert card["summary"] == "At increased risk of PAD (age 65 or over): consider a resting ankle-brachial index"
    assert [s["label"] for s in card["suggestions"]] == ["Order a resting ankle-brachial index"]
    assert "Class 2a" in card["detail"] and card["links"]


@pytest.mark.parametrize("age, conditions, smoking_obs, shown", [
    (65, [], [], True),
    (64, [], [], False),
    (55, [HYPERTENSION], [], True),
    (55, [DIABETES], [], True),
    (55, [CKD], [], True),
    (55, [DYSLIPIDAEMIA], [], True),
    (55, [FAMILY], [], True),
    (55, [], [smoking(CURRENT_SMOKER)], True),
    (55, [], [smoking(FORMER_SMOKER)], True),
    (55, [], [smoking(NEVER_SMOKER)], False),
    (55, [], [], False),
    (49, [], [], False),
    (45, [DIABETES], [], False),
    (45, [DIABETES, HYPERTENSION], [], True),
    (45, [HYPERTENSION, DYSLIPIDAEMIA], [], False),
    (30, [CORONARY], [], True),
    (None, [CORONARY], [], True),  # atherosclerosis elsewhere needs no age
    (None, [DIABETES, HYPERTENSION], [], False),  # without the Patient no age group can be judged
])
def test_each_at_risk_group_in_and_out(screen, age, conditions, smoking_obs, shown):
    assert screened(screen(request(age, conditions, smoking_obs=smoking_obs))) is shown


def test_risk_factors_ride_on_conditions_and_the_retired_risk_key_is_ignored(screen, engine):
    """Conditions are read unfiltered (issue 17), so the risk-factor search of its own is retired; a client
    that still sends ``riskConditions`` is neither refused nor read."""
    assert "riskConditions" not in engine.prefetch_templates
    assert screened(screen(request(55, [HYPERTENSION], riskConditions=None)))
    assert not screened(screen(request(55, [], riskConditions=bundle([HYPERTENSION]))))


def test_the_card_names_the_group_and_adds_the_ada_line_for_diabetes(screen):
    (card,) = screen(request(45, [DIABETES, HYPERTENSION]))
    assert "**At-risk group**: age under 50 with diabetes and another risk factor (diabetes, hypertension)." in card["detail"]
    assert "ADA Standards of Care" in card["detail"]


def test_a_recent_abi_on_record_means_no_screening(screen):
    assert not screened(screen(request(70, [abi(1.10, "left", days=400)])))


def test_an_abi_older_than_the_interval_does_not_count(screen):
    assert screened(screen(request(70, [abi(1.10, "left", days=2000)])))


def test_the_interval_is_a_setting(knowledge, settings, store):
    engine = Engine(knowledge, settings.with_overrides(screening_enabled=True, screening_key=KEY,
                                                       screening_abi_interval_days=300), memory=store)
    assert engine.evaluate(request(70, [abi(1.10, "left", days=400)]), now=NOW).response["cards"]


def test_an_abi_already_ordered_means_no_screening(screen):
    assert not screened(screen(request(70, [service_request("http://loinc.org", "77194-9")])))


def test_at_most_once_per_period_per_patient(screen):
    assert screened(screen(request(70)))
    assert not screened(screen(request(70)))
    assert not screened(screen(request(70), now=NOW + timedelta(days=300)))
    assert screened(screen(request(70), now=NOW + timedelta(days=366)))


def test_the_period_is_per_patient(screen):
    assert screened(screen(request(70)))
    other = full_request([], patient_resource={"resourceType": "Patient", "id": "pat-2", "birthDate": "1940-01-01"})
    other["context"]["patientId"] = "pat-2"
    assert screened(screen(other))


def test_the_store_holds_a_keyed_hash_never_the_patient_id(screen, store):
    screen(request(70))
    with store.engine.connect() as conn:
        keys = [row.key for row in conn.execute(select(screening_shown_table))]
    assert keys == [screening.patient_key(KEY, None, PATIENT)]
    assert PATIENT not in keys[0] and len(keys[0]) == 64


def test_screening_yields_to_any_other_card(screen):
    """A 70-year-old with claudication gets the arterial card, never the screening card beside it."""
    cards = screen(request(70, [condition(SCT, "63491006")]))
    assert cards and not screened(cards)
    assert screened(screen(request(70)))  # the slot was not used up by the visit with the other card


def test_no_memory_no_screening_card(knowledge, settings):
    engine = Engine(knowledge, settings.with_overrides(screening_enabled=True, screening_key=KEY))
    assert engine.evaluate(request(70), now=NOW).response["cards"] == []


def test_a_store_failure_means_no_card_not_an_error(knowledge, settings):
    class Broken:
        def claim_screening(self, key, now, period_s):
            from cds_service.store import StoreError
            raise StoreError("down")
    engine = Engine(knowledge, settings.with_overrides(screening_enabled=True, screening_key=KEY), memory=Broken())
    assert engine.evaluate(request(70), now=NOW).response["cards"] == []


def test_a_refused_patient_key_leaves_only_the_age_free_group(screen):
    assert not screened(screen(full_request([], patient=REFUSED)))
    assert screened(screen(full_request([CORONARY], patient=REFUSED)))


@pytest.mark.parametrize("birth, expected", [
    ("1950-06-15", 76), ("1950", 75), ("1950-12", 75), ("not-a-date", None), (None, None)])
def test_age_reads_only_the_birth_date_and_takes_the_youngest_age_a_partial_date_allows(birth, expected):
    now = NOW.replace(year=2026, month=11, day=27)
    resource = {"resourceType": "Patient", "id": PATIENT, **({"birthDate": birth} if birth else {})}
    assert screening.age(resource, PATIENT, now) == expected


def test_age_ignores_another_patients_resource():
    assert screening.age({"resourceType": "Patient", "id": "other", "birthDate": "1940-01-01"}, PATIENT, NOW) is None


def test_claim_screening_is_once_per_period(db_url):
    store = Store(db_url)
    store.create_schema()
    try:
        assert store.claim_screening("a" * 64, 1000.0, 100.0) is True
        assert store.claim_screening("a" * 64, 1050.0, 100.0) is False
        assert store.claim_screening("b" * 64, 1050.0, 100.0) is True
        assert store.claim_screening("a" * 64, 1100.0, 100.0) is True
        assert store.claim_screening("a" * 64, 1150.0, 100.0) is False
    finally:
        store.dispose()


def test_screening_rules_refuse_a_card_that_is_not_info(knowledge):
    import yaml
    from cds_service.config import REPO_ROOT
    data = yaml.safe_load((REPO_ROOT / "knowledge" / "therapy.yaml").read_text())["screening"]
    data["card"]["indicator"] = "warning"
    data["groups"][0]["any_of"] = ["no-such-factor"]
    with pytest.raises(screening.ScreeningRulesError) as err:
        screening.parse(data, knowledge.rules, {"acc-aha-2024", "aha-acc-2016"})
    assert "must be info" in str(err.value) and "no-such-factor" in str(err.value)


def test_the_screening_card_is_governed_like_any_info_card(knowledge, settings, store):
    """Shadow mode (issue 19) withholds it and the card log records it, with the knowledge version."""
    from cds_service.governance import Governance
    from cds_service.store import card_log_table
    on = settings.with_overrides(screening_enabled=True, screening_key=KEY, shadow_mode=True)
    engine = Engine(knowledge, on, Governance(on, knowledge, store), memory=store)
    result = engine.evaluate(request(70), now=NOW)
    assert result.response["cards"] == [] and result.stats.withheld == {"shadow": 1}
    with store.engine.connect() as conn:
        (row,) = conn.execute(select(card_log_table)).fetchall()
    assert (row.topic, row.variant, row.indicator, row.knowledge_version) == (
        TOPIC, screening.VARIANT.id, "info", knowledge.version)
