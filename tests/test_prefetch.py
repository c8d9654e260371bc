"""Prefetch templates and the fallback searches built from them (cds_service/prefetch.py)."""
from __future__ import annotations

from cds_service import prefetch

LONGEST_ID = "p" * 64  # the request schema's longest patientId
BASE = "https://" + "fhir." * 38 + "example.org/r4"  # a 200-character FHIR base, longer than any seen in practice


def test_every_prefetch_and_fallback_url_stays_under_2000_characters(engine):
    context = {"patientId": LONGEST_ID, "userId": "Practitioner/x"}
    assert engine.prefetch_keys and len(BASE) >= 200
    for key in engine.prefetch_keys:
        template = engine.prefetch_templates[key.key]
        url = prefetch.search_url(BASE, key, context)
        by = "?_id=" if key.by_id else "?patient="  # the Patient itself is searched by id (issue 18)
        assert url.startswith(BASE + "/" + key.resource_type + by + LONGEST_ID)
        assert len(template) < prefetch.MAX_URL and len(url) < prefetch.MAX_URL, key.key
        assert len(url) - len(BASE) <= prefetch.MAX_URL - 1000, f"{key.key}: leave 1,000 characters for the base"


def test_the_patient_fallback_searches_by_id_not_by_patient(engine):
    key = next(k for k in engine.prefetch_keys if k.key == "patient")
    url = prefetch.search_url(BASE, key, {"patientId": "pat-1"})
    assert url == BASE + "/Patient?_id=pat-1" and "patient=" not in url


def test_every_order_service_url_stays_under_2000_characters(knowledge, settings):
    from cds_service.orders import engine as orders_engine
    context = {"patientId": LONGEST_ID, "userId": "Practitioner/x"}
    engines = orders_engine.build(knowledge, settings)
    assert engines
    for engine in engines.values():
        for key in engine.prefetch_keys:
            url = prefetch.search_url(BASE, key, context)
            assert len(engine.prefetch_templates[key.key]) < prefetch.MAX_URL and len(url) < prefetch.MAX_URL, key.key
            assert len(url) - len(BASE) <= prefetch.MAX_URL - 1000, key.key


def test_conditions_are_read_by_patient_and_filtered_here(engine):
    key = next(k for k in engine.prefetch_keys if k.key == "conditions")
    assert "code=" not in key.params and key.required
    observations = next(k for k in engine.prefetch_keys if k.key == "observations")
    assert "77194-9" in observations.params  # Observations stay code-filtered


def test_an_unfiltered_condition_search_still_yields_only_known_codes(evaluate):
    from builders import ICD, SCT, condition, hook_request
    asthma, migraine = condition(ICD, "J45.909"), condition(SCT, "37796009")
    assert evaluate(hook_request([asthma, migraine])) == []


# -- prefetch.decode: read only what the service uses, answer exactly as a whole decode would (issue 23) ----

import orjson  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st  # noqa: E402

from builders import LNC, NOW, SCT, abi, bundle, condition, hook_request, observation, procedure  # noqa: E402
from cds_service.errors import CDSError  # noqa: E402
from cds_service.records import Probe, Unread  # noqa: E402

CONDITION = condition(SCT, "63491006", rid="c-1")
ERROR_OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "forbidden"}]}
ENTRIES = [{"resource": CONDITION}, {"resource": condition(SCT, "444814009")}, {"resource": abi(0.7, "left")},
           {"resource": observation(LNC, "8302-2")}, {"resource": procedure(SCT, "401191002")},
           {"resource": {"resourceType": "Condition", "code": "oops"}}, {"resource": {**CONDITION, "onsetDateTime": "soon"}},
           {"resource": condition(SCT, "63491006", patient="other")}, {"resource": {"resourceType": ["Condition"]}},
           {"resource": {"resourceType": "MedicationRequest", "status": "active"}}, {"resource": {"resourceType": "Patient"}},
           {"resource": ERROR_OUTCOME}, {"resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "warning"}]}},
           {"resource": None}, {"resource": "x"}, {"fullUrl": "urn:x"}, "garbage", 5, None, {}]
KEY_VALUES = [bundle([CONDITION]), None, ERROR_OUTCOME, CONDITION, [], "x", 7, {"resourceType": "Bundle", "entry": "x"},
              {"resourceType": "Bundle", "entry": None}, {"resourceType": "Bundle"}, {"resourceType": 5, "entry": []},
              {"resourceType": "Bundle", "entry": [], "link": [{"relation": "next", "url": "https://x/next"}]},
              {"resourceType": "Bundle", "entry": [], "link": "x"}]


def _outcome(engine, body):
    try:
        result = engine.evaluate(body, now=NOW)
    except CDSError as exc:
        return type(exc).__name__, str(exc)
    return result.response, result.stats.resources_seen, result.stats.resources_used, result.stats.malformed, \
        result.stats.other_patient, result.stats.duplicates, result.stats.unknown_codes, result.stats.keys


@st.composite
def bodies(draw):
    body = hook_request([])
    for key in ("conditions", "observations", "procedures"):
        if draw(st.booleans()):
            body["prefetch"][key] = {"resourceType": "Bundle", "type": "searchset",
                                     "entry": draw(st.lists(st.sampled_from(ENTRIES), max_size=6))}
        else:
            body["prefetch"][key] = draw(st.sampled_from(KEY_VALUES))
    if draw(st.booleans()):
        body["prefetch"] = draw(st.sampled_from([None, [], "x", {}]))
    return body


@hypothesis_settings(max_examples=300, deadline=None, derandomize=True,  # the engine holds no state between calls
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(body=bodies())
def test_the_partial_decode_answers_exactly_as_a_whole_decode(engine, body):
    raw = orjson.dumps(body)
    assert _outcome(engine, prefetch.decode(raw)) == _outcome(engine, orjson.loads(raw))


def test_irrelevant_resources_stay_unread_and_relevant_ones_are_read_whole(engine):
    raw = orjson.dumps(hook_request([CONDITION, condition(SCT, "444814009"), observation(LNC, "8302-2")]))
    decoded = prefetch.decode(raw)
    assert all(type(v) is prefetch.Searchset for v in decoded["prefetch"].values())
    probes = [r for v in decoded["prefetch"].values() for r in v.resources]
    assert len(probes) == 3 and all(type(r) is Probe for r in probes)
    assert probes[0].whole() == CONDITION and not hasattr(probes[0], "onsetDateTime")
    assert [c["source"]["topic"]["code"] for c in engine.evaluate(decoded, now=NOW).response["cards"]] == \
        ["arterial-claudication"]


def test_the_entry_by_entry_path_keeps_the_probed_fields_only(engine):
    raw = orjson.dumps(hook_request([CONDITION, condition(SCT, "444814009"), observation(LNC, "8302-2")]))
    decoded = prefetch._decode_entries(raw)
    unread = [e["resource"] for v in decoded["prefetch"].values() for e in v["entry"]]
    assert len(unread) == 3 and all(type(r) is Unread and set(r) <= set(prefetch.PROBED_FIELDS) for r in unread)
    assert unread[0].whole() == CONDITION and "onsetDateTime" not in unread[0]
    assert _outcome(engine, decoded) == _outcome(engine, prefetch.decode(raw))


def test_resources_of_types_read_elsewhere_are_decoded_whole():
    medication = {"resourceType": "MedicationRequest", "status": "active", "medicationCodeableConcept": {"text": "x"}}
    raw = orjson.dumps(hook_request(prefetch={"medicationRequests": bundle([medication])}))
    assert prefetch.decode(raw)["prefetch"]["medicationRequests"].resources == [medication]
    assert prefetch._decode_entries(raw)["prefetch"]["medicationRequests"]["entry"][0] == {"resource": medication}
    assert type(prefetch._decode_entries(raw)["prefetch"]["medicationRequests"]["entry"][0]["resource"]) is dict


# Every field records.Probe and the typed pass declare, given a value of the wrong JSON type: msgspec refuses
# the whole body and the entry-by-entry path answers; with right types the typed pass answers. Either way the
# same as a whole decode.
_WRONG = [5, "x", [1], {"a": 1}, True, [None], ["x"]]
_PATHS = [("resourceType",), ("code",), ("code", "coding"), ("code", "coding", 0), ("code", "coding", 0, "system"),
          ("code", "coding", 0, "code"), ("component",), ("component", 0), ("component", 0, "code"),
          ("component", 0, "code", "coding"), ("valueCodeableConcept",), ("valueCodeableConcept", "coding", 0, "code")]
_VALID = [CONDITION, abi(0.7, "left"), observation(LNC, "8302-2"), procedure(SCT, "401191002"),
          condition(SCT, "444814009"), {"resourceType": "MedicationRequest", "status": "active"}]


def _put(resource: dict, path: tuple, value) -> dict:
    out = orjson.loads(orjson.dumps(resource))
    here = out
    for step in path[:-1]:
        if isinstance(step, int):
            if not isinstance(here, list) or not here:
                return out
            here = here[step]
        else:
            here = here.setdefault(step, [{}] if step in ("coding", "component") else {})
    if isinstance(path[-1], int):
        if isinstance(here, list) and here:
            here[path[-1]] = value
    elif isinstance(here, dict):
        here[path[-1]] = value
    return out


@st.composite
def typed_bodies(draw):
    entries = []
    for resource in draw(st.lists(st.sampled_from(_VALID), min_size=1, max_size=6)):
        if draw(st.booleans()):
            resource = _put(resource, draw(st.sampled_from(_PATHS)), draw(st.sampled_from(_WRONG + [None])))
        entries.append({"resource": resource})
    body = hook_request([])
    body["prefetch"]["conditions"] = {"resourceType": "Bundle", "entry": entries}
    if draw(st.booleans()):
        body["prefetch"]["observations"] = {"resourceType": "Bundle", "entry": draw(st.sampled_from([None, [{}], []]))}
    return body


@hypothesis_settings(max_examples=300, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(body=typed_bodies())
def test_the_typed_pass_and_the_entry_by_entry_path_give_the_same_intake(engine, body):
    raw = orjson.dumps(body)
    assert _outcome(engine, prefetch.decode(raw)) == _outcome(engine, prefetch._decode_entries(raw)) \
        == _outcome(engine, orjson.loads(raw))


def test_bytes_that_are_not_utf8_are_refused_as_before_even_in_a_resource_never_read():
    raw = orjson.dumps(hook_request([condition(SCT, "444814009", text="PLACEHOLDER")])).replace(b"PLACEHOLDER", b"\xff")
    with pytest.raises(orjson.JSONDecodeError):
        prefetch.decode(raw)


def _whole_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@hypothesis_settings(max_examples=200, deadline=None, derandomize=True)
@given(before=st.integers(65530, 65536), middle=st.sampled_from(["\u200b", "é", "😀", "a"]).map(str.encode),
       cut=st.integers(0, 3), tail=st.binary(max_size=4))
def test_the_utf8_check_in_pieces_agrees_with_a_whole_decode(before, middle, cut, tail):
    raw = b"x" * before + middle[:cut or None] + tail  # characters whole or cut, across the 64 KiB boundary
    assert prefetch._utf8(raw) is _whole_utf8(raw)


def test_a_number_orjson_refuses_in_a_resource_that_is_read_is_the_same_400(engine):
    raw = orjson.dumps(hook_request([{**CONDITION, "onsetDateTime": "PLACEHOLDER"}])).replace(b'"PLACEHOLDER"', b"1e999")
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(raw)
    with pytest.raises(CDSError, match="not valid JSON"):
        engine.evaluate(prefetch.decode(raw), now=NOW)


def test_envelope_parts_absent_null_and_unknown(engine):
    body = hook_request([])
    body["extension"] = {"x": 1}
    body["somethingElse"] = [1, 2]
    decoded = prefetch.decode(orjson.dumps(body))
    assert decoded["extension"] == {"x": 1} and "somethingElse" not in decoded  # nothing reads an unknown part
    del body["prefetch"]
    assert "prefetch" not in prefetch.decode(orjson.dumps(body))
    body["prefetch"] = None
    assert prefetch.decode(orjson.dumps(body))["prefetch"] is None


_MEDICATION = {"resourceType": "MedicationRequest", "status": "active", "subject": {"reference": "Patient/pat-1"},
               "medicationCodeableConcept": {"text": "cilostazol"}}
# A key given twice, the first time with a value the typed pass accepts too (null), then the real one.
_GIVEN_TWICE = {
    "prefetch": (b'"prefetch":{', b'"prefetch":null,"prefetch":{'),
    "key": (b'"conditions":{', b'"conditions":null,"conditions":{'),
    "entry": (b'"entry":[', b'"entry":null,"entry":['),
    "resource": (b'{"resource":{', b'{"resource":null,"resource":{'),
}


@pytest.mark.parametrize("twice", sorted(_GIVEN_TWICE))
@pytest.mark.parametrize("shape", ["bundle-with-a-known-code", "bundle-of-another-type", "single-resource"])
def test_a_key_given_twice_null_first_answers_as_a_whole_decode(engine, twice, shape):
    """Cap 2 s. The last value counts, as in orjson; each msgspec scan must accept what the typed pass accepted
    (a null prefetch first was a 500 when a resource had to be read whole)."""
    value = {"bundle-with-a-known-code": bundle([CONDITION]), "bundle-of-another-type": bundle([_MEDICATION]),
             "single-resource": CONDITION}[shape]
    raw = orjson.dumps(hook_request(prefetch={"conditions": value, "medicationRequests": bundle([_MEDICATION])}))
    before, after = _GIVEN_TWICE[twice]
    assert before in raw
    raw = raw.replace(before, after, 1)
    assert _outcome(engine, prefetch.decode(raw)) == _outcome(engine, orjson.loads(raw))
