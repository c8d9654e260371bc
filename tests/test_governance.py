"""Per-site switches, shadow mode and the one-info-card rule (cds_service/governance.py)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from cds_service.app import create_app
from cds_service.config import ConfigError, from_env
from cds_service.store import card_log_table, snooze_memory_table

from builders import ICD, SCT, abi, condition, hook_request
from helpers import by_topic

URL = "/cds-services/leg-pain-claudication"
LEFT_CALF = [{"coding": [{"system": SCT, "code": "53840002:272741003=7771000"}]}]
LOW_ABI = [condition(SCT, "63491006", body_site=LEFT_CALF), abi(0.72, "left")]
NEUROPATHY = condition(SCT, "368581000119106", onset_days=3000)  # info (moderate)
STRAIN = condition(ICD, "S86.112A", onset_days=7)  # info
ALI = [condition(ICD, "I74.3", onset_days=2)]  # a current acute limb ischaemia code: critical


def cards(app, resources):
    response = app.test_client().post(URL, json=hook_request(resources))
    assert response.status_code == 200
    return response.get_json()["cards"]


def logged(app) -> list[tuple[str, str, str]]:
    with app.extensions["cds"].store.engine.connect() as conn:
        return [(r.topic, r.variant, r.status) for r in conn.execute(select(card_log_table).order_by(card_log_table.c.id))]


def test_a_variant_switched_off_is_withheld_and_logged(settings, knowledge):
    app = create_app(settings.with_overrides(cards_off=("arterial-claudication/abi-abnormal-exertional",)), knowledge=knowledge)
    assert "arterial-claudication" not in by_topic(cards(app, LOW_ABI))
    assert "arterial-claudication" in by_topic(cards(app, [condition(SCT, "63491006", body_site=LEFT_CALF)]))  # default on
    assert logged(app)[0] == ("arterial-claudication", "abi-abnormal-exertional", "off")


def test_a_bare_pattern_switches_off_all_its_variants(settings, knowledge):
    app = create_app(settings.with_overrides(cards_off=("arterial-claudication",)), knowledge=knowledge)
    assert cards(app, LOW_ABI) == [] and cards(app, ALI) == []
    assert "neurogenic-claudication" in by_topic(cards(app, [NEUROPATHY]))


@pytest.mark.parametrize("name", ["arterial", "arterial-claudication/no-such-variant", "/default"])
def test_a_switch_that_names_no_variant_stops_the_start(settings, knowledge, name):
    with pytest.raises(ConfigError, match="CDS_CARDS_OFF"):
        create_app(settings.with_overrides(cards_off=(name,)), knowledge=knowledge)


def test_switches_and_shadow_mode_from_the_environment():
    settings = from_env({"CDS_CARDS_OFF": " arterial-claudication/default , venous-claudication ", "CDS_SHADOW_MODE": "true",
                         "CDS_SNOOZE_DAYS": "0"})
    assert settings.cards_off == ("arterial-claudication/default", "venous-claudication")
    assert settings.shadow_mode and settings.snooze_days == 0
    with pytest.raises(ConfigError, match="CDS_SHADOW_MODE"):
        from_env({"CDS_SHADOW_MODE": "sometimes"})
    with pytest.raises(ConfigError, match="CDS_SNOOZE_DAYS"):
        from_env({"CDS_SNOOZE_DAYS": "-1"})


def test_shadow_mode_evaluates_and_records_everything_but_returns_no_cards(settings, knowledge):
    app = create_app(settings.with_overrides(shadow_mode=True), knowledge=knowledge)
    assert cards(app, LOW_ABI + [NEUROPATHY]) == []
    assert sorted(logged(app)) == [("arterial-claudication", "abi-abnormal-exertional", "shadow"),
                                   ("neurogenic-claudication", "neuropathy", "shadow")]
    assert app.extensions["cds"].store.count_rows(snooze_memory_table) == 0  # nothing shown, nothing to override
    metrics = app.test_client().get("/metrics").data.decode()
    assert 'cds_cards_withheld_total{reason="shadow",topic="neurogenic-claudication"} 1.0' in metrics


def test_at_most_one_info_card_and_the_order_is_critical_warning_info(settings, knowledge):
    app = create_app(settings, knowledge=knowledge)
    both = cards(app, [NEUROPATHY, STRAIN])
    assert [c["indicator"] for c in both] == ["info"]
    assert ("musculoskeletal-leg-pain", "default", "capped") in logged(app)
    mixed = cards(app, ALI + [NEUROPATHY, STRAIN])
    indicators = [c["indicator"] for c in mixed]
    assert indicators == sorted(indicators, key=["critical", "warning", "info"].index)
    assert indicators.count("info") == 1 and indicators[0] == "critical"


def test_every_card_carries_the_knowledge_version(settings, knowledge, caplog):
    app = create_app(settings, knowledge=knowledge)
    with caplog.at_level("INFO", logger="cds_service.request"):
        (card,) = cards(app, LOW_ABI)
    assert card["extension"] == {"knowledgeVersion": knowledge.version}
    assert [r.knowledge_version for r in caplog.records if r.getMessage() == "request"] == [knowledge.version]
    assert {r[3] for r in _versions(app)} == {knowledge.version}


def _versions(app):
    with app.extensions["cds"].store.engine.connect() as conn:
        return [(r.topic, r.variant, r.status, r.knowledge_version) for r in conn.execute(select(card_log_table))]


def test_cards_at_order_time_are_never_snoozed(app, knowledge):
    """The order hooks (issue #20) share governance; a snooze from a chart opening never hides them."""
    from cds_service.cards import Rendered
    from cds_service.snooze import Lookup
    governance = app.extensions["cds"].engine.governance
    variant = next(v for v in knowledge.templates["arterial-claudication"].variants if v.id == "abi-abnormal")
    card = {"uuid": "u", "indicator": "warning"}
    rendered = Rendered(card=card, pattern="arterial-claudication", variant=variant, listed=(), suggestions={})
    lookup = Lookup(snoozed={"arterial-claudication/abi-abnormal": {"overridden_at": 0.0, "findings": "[]"}})
    assert [d.status for d in governance.decide([rendered], lookup)] == ["snoozed"]
    for hook in ("order-select", "order-sign"):
        assert [d.status for d in governance.decide([rendered], lookup, hook=hook)] == ["shown"]


def test_order_cards_carry_the_version_and_card_is_wrong_and_never_snooze(client, knowledge):
    from order_builders import SIGN_ID, heart_failure, order_request, sandbox_medication
    sign = f"/cds-services/{SIGN_ID}"
    body = order_request([sandbox_medication()], [heart_failure()])
    (card,) = client.post(sign, json=body).get_json()["cards"]
    assert card["extension"] == {"knowledgeVersion": knowledge.version}
    assert "incorrect" in {r["code"] for r in card["overrideReasons"]}
    item = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-27T10:00:00Z",
            "overrideReason": {"reason": {**card["overrideReasons"][0], "code": "already-assessed"}}}
    assert client.post(f"{sign}/feedback", json={"feedback": [item]}).status_code == 200
    assert len(client.post(sign, json=order_request([sandbox_medication()], [heart_failure()])).get_json()["cards"]) == 1
