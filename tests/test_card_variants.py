"""Every card variant, pinned: its exact summary and suggestions for one representative patient.

A new variant in cards/*.yaml fails test_every_variant_is_pinned until it gets a row here.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from builders import ICD, NOW, SCT, abi, condition, hook_request, observation, procedure
from cases import LEFT_CALF
from helpers import by_topic


def day(n: float) -> str:
    return (NOW - timedelta(days=n)).date().isoformat()


def claudication():
    return condition(SCT, "63491006", body_site=LEFT_CALF)


ABI = "Order a resting ankle-brachial index"
TBI = "Order a toe-brachial index (toe pressure)"
EXERCISE = "Order an exercise treadmill ABI"
DUPLEX = "Order a venous duplex ultrasound of the legs"

# (pattern, variant id, resources maker, summary maker, suggestion labels)
PINNED = [
    # The arterial red-flag variants (issue 13): the patients of tests/test_arterial_red_flags.py.
    ("arterial-claudication", "acute-limb-ischaemia", lambda: [condition(ICD, "I74.3", onset_days=2)],
     lambda: "Possible acute limb ischaemia (leg): emergent vascular evaluation; heparin unless contraindicated",
     ["Refer emergently for vascular evaluation"]),
    ("arterial-claudication", "chronic-limb-threatening-ischaemia",
     lambda: [condition(ICD, "L97.529", onset_days=20), condition(ICD, "I73.9", onset_days=800)],
     lambda: "Left leg: rest pain, ulcer or gangrene with proven arterial disease: refer urgently to a vascular specialist",
     ["Refer urgently to a vascular specialist"]),
    ("arterial-claudication", "arterial-limb-not-stated", lambda: [condition(ICD, "I74.4", onset_days=2)],
     lambda: "Limb ischaemia code, limb not stated: if it is a leg, assess for acute or chronic limb-threatening ischaemia", []),
    ("arterial-claudication", "acute-limb-ischaemia-treated",
     lambda: [condition(ICD, "I74.3", onset_days=5), procedure(SCT, "112828007", days=2)],
     lambda: "Recent acute limb ischaemia (leg): confirm anticoagulation and follow-up", []),
    ("arterial-claudication", "possible-acute-limb-ischaemia",
     lambda: [observation(SCT, "163121008", days=1), observation(SCT, "398979000", days=1, text="left leg pallor")],
     lambda: "Left leg: absent pulse with pallor or paresthesia: if this is new, treat as possible acute limb ischaemia",
     []),
    ("arterial-claudication", "ulcer-new-in-pad",
     lambda: [condition(ICD, "L97.529", onset_days=5), condition(ICD, "I73.9", onset_days=800)],
     lambda: "Left leg: new ulcer with known arterial disease: check perfusion; CLTI if not healed in 2 weeks", []),
    ("arterial-claudication", "ulcer-perfusion-unknown", lambda: [condition(ICD, "L97.529", onset_days=5)],
     lambda: "Left leg: ulcer, perfusion unknown: check pulses and ABI or toe pressure", ["Order a resting ankle-brachial index"]),
    ("arterial-claudication", "known-chronic-limb-threatening-ischaemia", lambda: [condition(ICD, "I70.242", onset_days=400)],
     lambda: "Left leg: known chronic limb-threatening ischaemia: confirm vascular follow-up", []),
    ("arterial-claudication", "possible-chronic-limb-threatening-ischaemia",
     lambda: [condition(ICD, "L97.529", onset_days=20), observation(SCT, "163121008", days=3)],
     lambda: "Left leg: ulcer or gangrene, perfusion unknown: toe pressure or TBI urgently",
     ["Order an urgent toe pressure or toe-brachial index"]),
    ("arterial-claudication", "abi-abnormal-exertional", lambda: [claudication(), abi(0.72, "left")],
     lambda: "Left leg claudication with ABI 0.72: check pedal pulses", []),
    ("arterial-claudication", "abi-abnormal", lambda: [abi(0.72, "left")],
     lambda: "Left leg: ABI 0.72 consistent with arterial disease: check pedal pulses", []),
    ("arterial-claudication", "abi-noncompressible", lambda: [abi(1.52, "right")],
     lambda: "Right leg: ABI 1.52 is non-diagnostic (noncompressible): consider a toe-brachial index", [TBI]),
    ("arterial-claudication", "abi-not-reassuring-exertional",
     lambda: [claudication(), condition(ICD, "E11.9", onset_days=2000), abi(1.10, "left")],
     lambda: "Left leg claudication, ABI 1.10 with diabetes or kidney disease: consider toe pressure or TBI and an exercise ABI",
     [TBI, EXERCISE]),
    ("arterial-claudication", "abi-not-reassuring-wound",
     lambda: [condition(ICD, "E11.9", onset_days=2000), condition(ICD, "L97.529", onset_days=20), abi(1.10, "left")],
     lambda: "Left leg: foot wound with ABI 1.10 in diabetes or kidney disease: consider toe pressure or TBI", [TBI]),
    ("arterial-claudication", "exertional-normal-abi", lambda: [claudication(), abi(1.05, "left")],
     lambda: "Left leg exertional leg pain with ABI 1.05: consider an exercise ABI", [EXERCISE]),
    ("arterial-claudication", "abi-not-low",
     lambda: [observation(SCT, "163121008", days=30), abi(1.05, "left")],
     lambda: "Left leg arterial signs with a recent ABI of 1.05: check pedal pulses", []),
    ("arterial-claudication", "default", lambda: [claudication()],
     lambda: "Left leg signs consistent with arterial claudication: check pedal pulses and ABI", [ABI]),
    ("venous-claudication", "limb-threat", lambda: [condition(SCT, "66877004", onset_days=2)],
     lambda: "Phlegmasia cerulea dolens recorded: limb-threatening emergency: heparin, elevation, emergent vascular review",
     ["Refer emergently for vascular evaluation (thrombus removal)"]),
    ("venous-claudication", "pulmonary-embolism", lambda: [condition(ICD, "I26.99", onset_days=10)],
     lambda: f"Pulmonary embolism on record ({day(10)}): confirm anticoagulation is in place", []),
    ("venous-claudication", "dvt-confirmed-new-other-leg",
     lambda: [condition(ICD, "I82.402", onset_days=20), condition(ICD, "R22.41", onset_days=1)],
     lambda: f"DVT on record ({day(20)}, left leg); new swelling or pain in the right leg: same-day assessment: "
             "Wells, D-dimer or duplex", [DUPLEX]),
    ("venous-claudication", "dvt-confirmed",
     lambda: [condition(ICD, "I82.402", onset_days=5), condition(ICD, "R22.42", onset_days=2)],
     lambda: f"DVT on record ({day(5)}, left leg): confirm anticoagulation is in place; watch for signs of PE", []),
    ("venous-claudication", "dvt-suspected",
     lambda: [condition(ICD, "I82.402", onset_days=5, verification="provisional"), condition(ICD, "R22.42", onset_days=2)],
     lambda: "Suspected DVT (left leg): same-day assessment: Wells, D-dimer or duplex", [DUPLEX]),
    ("venous-claudication", "chronic-venous-both-legs",
     lambda: [condition(ICD, "I83.93", onset_days=800), condition(ICD, "R22.43", onset_days=10)],
     lambda: "Swelling of both legs with varicose veins or venous ulcer: consistent with chronic venous disease", []),
    ("venous-claudication", "default", lambda: [condition(ICD, "I83.811"), condition(ICD, "R22.41", onset_days=10)],
     lambda: "Right leg signs consistent with venous claudication: consider a venous assessment", [DUPLEX]),
    ("neurogenic-claudication", "cauda-equina", lambda: [condition(ICD, "G83.4", onset_days=2)],
     lambda: "Cauda equina syndrome recorded: emergency: immediate spinal referral and emergency MRI",
     ["Refer immediately to the on-call spinal team (emergency MRI)"]),
    ("neurogenic-claudication", "spinal",
     lambda: [condition(ICD, "M48.062"), condition(ICD, "M79.604", onset_days=20), condition(ICD, "M79.605", onset_days=20)],
     lambda: "Bilateral leg symptoms consistent with neurogenic (spinal) claudication", []),
    ("neurogenic-claudication", "neuropathy", lambda: [condition(SCT, "368581000119106", onset_days=2000)],
     lambda: "Neuropathy due to type 2 diabetes mellitus on record: consider a foot exam with monofilament and pedal pulses",
     ["Order a diabetic foot examination"]),
    ("musculoskeletal-leg-pain", "compartment-syndrome", lambda: [condition(ICD, "T79.A22A", onset_days=2)],
     lambda: "Left leg compartment syndrome recorded: emergency surgical assessment (fasciotomy decision)", []),
    ("musculoskeletal-leg-pain", "compartment-syndrome-acute-or-chronic", lambda: [condition(ICD, "M79.A22", onset_days=2)],
     lambda: "Left leg nontraumatic compartment syndrome: if acute, emergency assessment; if chronic exertional, elective referral",
     []),
    ("musculoskeletal-leg-pain", "tendon-rupture",
     lambda: [condition(SCT, "429513001", onset_days=3, text="left Achilles tendon rupture")],
     lambda: "Rupture of Achilles tendon (left leg): consider prompt orthopaedic review", []),
    ("musculoskeletal-leg-pain", "default", lambda: [condition(ICD, "S86.112A", onset_days=7)],
     lambda: "Left leg pain consistent with a muscle or tendon strain", []),
]


@pytest.mark.parametrize("pattern,variant,resources,summary,labels", PINNED, ids=[f"{p}:{v}" for p, v, *_ in PINNED])
def test_variant_summary_and_suggestions(evaluate, pattern, variant, resources, summary, labels):
    card = by_topic(evaluate(hook_request(resources())))[pattern]
    assert card["summary"] == summary()
    assert [s["label"] for s in card.get("suggestions", ())] == labels


def test_every_variant_is_pinned(knowledge):
    pinned = {(p, v) for p, v, *_ in PINNED}
    shipped = {(t.pattern, v.id) for t in knowledge.templates.values() for v in t.variants}
    assert shipped == pinned


@pytest.mark.parametrize("pattern,variant,resources,summary,labels", PINNED, ids=[f"{p}:{v}" for p, v, *_ in PINNED])
def test_each_order_reason_names_its_situation(evaluate, pattern, variant, resources, summary, labels):
    card = by_topic(evaluate(hook_request(resources())))[pattern]
    reasons = {s["actions"][0]["resource"]["reasonCode"][0]["text"] for s in card.get("suggestions", ())}
    for reason in reasons:
        assert "Findings consistent with" not in reason  # the old generic reason
        assert reason.endswith("(decision support)") and len(reason) > len("(decision support)") + 20
    assert len(reasons) <= 1  # one situation per card


@pytest.mark.parametrize("pattern,variant,resources,summary,labels", PINNED, ids=[f"{p}:{v}" for p, v, *_ in PINNED])
def test_each_variant_cites_its_own_sources(evaluate, knowledge, pattern, variant, resources, summary, labels):
    card = by_topic(evaluate(hook_request(resources())))[pattern]
    template = knowledge.templates[pattern]
    wanted = next(v for v in template.variants if v.id == variant)
    offered = {s["label"] for s in card.get("suggestions", ())}
    extra = {ref for s in template.suggestions.values() if s.label in offered for ref in s.sources}
    cited = {link["label"] for link in card["links"]}
    expected = {link["label"] for link in template.links if link["id"] in set(wanted.sources) | extra}
    assert cited == expected
    assert "pubmedhealth" not in str(card)


NUMB_BOTH_LEGS = [("R20.2", None), ("M79.604", None), ("M79.605", None)]  # numbness, pain in right and left leg


def _numb_legs() -> list[dict]:
    return [condition(ICD, code, onset_days=2) for code, _ in NUMB_BOTH_LEGS]


@pytest.mark.parametrize("resources,diabetic", [
    (lambda: [condition(ICD, "G62.9", onset_days=400), *_numb_legs()], False),
    (lambda: [condition(ICD, "G62.1", onset_days=400), *_numb_legs()], False),
    (lambda: [condition(ICD, "G62.9", onset_days=400), condition(ICD, "E11.9", onset_days=2000), *_numb_legs()], True),
    (lambda: [condition(SCT, "368581000119106", onset_days=2000)], True),
], ids=["polyneuropathy", "alcoholic-polyneuropathy", "polyneuropathy-with-diabetes", "diabetic-neuropathy"])
def test_neuropathy_diabetic_advice_only_with_diabetes(evaluate, resources, diabetic):
    cards = evaluate(hook_request(resources()))
    text = " ".join(str(c) for c in cards)
    assert ("Order a diabetic foot examination" in text) is diabetic
    assert ("ADA recommends ABI screening" in text) is diabetic


# The screening card (issue 18) is no variant of cards/*.yaml but its own kind (knowledge/therapy.yaml
# screening.card), pinned here with its sources; it is shown only with CDS_SCREENING_ENABLED=true.
SCREENING_PINNED = [
    (70, [], "At increased risk of PAD (age 65 or over): consider a resting ankle-brachial index"),
    (45, [condition(ICD, "E11.9", onset_days=900), condition(ICD, "I10", onset_days=900)],
     "At increased risk of PAD (under 50, diabetes and another risk factor): consider a resting ankle-brachial index"),
]


@pytest.mark.parametrize("age, resources, summary", SCREENING_PINNED, ids=["age-65", "under-50-diabetes"])
def test_screening_card_summary_suggestion_and_sources(knowledge, settings, age, resources, summary):
    from cds_service.engine import Engine
    from cds_service.store import Store
    from therapy_builders import full_request, patient
    store = Store(settings.database_url)
    store.create_schema()
    engine = Engine(knowledge, settings.with_overrides(screening_enabled=True, screening_key="k" * 32), memory=store)
    (card,) = engine.evaluate(full_request(resources, patient_resource=patient(age)), now=NOW).response["cards"]
    store.dispose()
    assert card["summary"] == summary
    assert [s["label"] for s in card["suggestions"]] == [ABI]
    reason = card["suggestions"][0]["actions"][0]["resource"]["reasonCode"][0]["text"]
    assert reason.endswith("(decision support)") and "At increased risk of PAD" in reason
    template = knowledge.templates["arterial-claudication"]
    expected = {link["label"] for link in template.links if link["id"] in knowledge.screening.card["sources"]}
    assert {link["label"] for link in card["links"]} == expected and expected
