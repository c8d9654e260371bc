"""The lenient draft reader: reads code, subject and body site; counts each R4 deviation; never
drops an order whose code is readable; counts, never fails on, a draft with nothing readable."""
from __future__ import annotations

from cds_service.orders import reader

from order_builders import LEFT_LEG, compression, medication, sandbox_medication


def _bundle(*resources, **extra) -> dict:
    return {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources], **extra}


def test_sandbox_shaped_draft_is_read_and_every_deviation_counted():
    intake = reader.read(_bundle(sandbox_medication()))
    (order,) = intake.orders
    assert order.reference == "MedicationRequest/request-123"
    assert [(c.system, c.code) for c in order.codings] == [(reader_rxnorm(), "242461")]
    assert order.subject == "Patient/pat-1"
    assert intake.deviations == {"Bundle.type-missing": 1, "MedicationRequest.intent-missing": 1,
                                 "MedicationRequest.category-not-a-list": 1}
    assert intake.unreadable == 0


def reader_rxnorm() -> str:
    return "http://www.nlm.nih.gov/research/umls/rxnorm"


def test_conformant_draft_has_no_deviation():
    intake = reader.read(_bundle(medication("242462", "cilostazol 50 MG Oral Tablet"), type="collection"))
    assert len(intake.orders) == 1 and not intake.deviations


def test_coding_as_one_object_and_without_system_is_still_read():
    draft = medication("242461", "x")
    draft["medicationCodeableConcept"] = {"coding": {"code": "242461"}}
    intake = reader.read(_bundle(draft, type="collection"))
    (order,) = intake.orders
    assert order.codings[0].system is None and order.codings[0].code == "242461"
    assert intake.deviations["MedicationRequest.medicationCodeableConcept.coding-not-a-list"] == 1
    assert intake.deviations["MedicationRequest.medicationCodeableConcept.coding-without-system"] == 1


def test_contained_medication_code_is_read():
    draft = medication("0", "x")
    del draft["medicationCodeableConcept"]
    draft["contained"] = [{"resourceType": "Medication", "id": "m", "code": {"coding": [{"system": reader_rxnorm(), "code": "21107"}]}}]
    draft["medicationReference"] = {"reference": "#m"}
    (order,) = reader.read(_bundle(draft, type="collection")).orders
    assert order.codings[0].code == "21107"


def test_body_site_single_object_and_device_request_are_read():
    service = compression(body_site=LEFT_LEG)
    service["bodySite"] = LEFT_LEG  # one object, not a list
    device = compression("442111003", "Intermittent pneumatic compression stockings", resource_type="DeviceRequest")
    intake = reader.read(_bundle(service, device, type="collection"))
    assert [o.resource_type for o in intake.orders] == ["ServiceRequest", "DeviceRequest"]
    assert intake.orders[0].site_codings == (("http://snomed.info/sct", "32153003"),)
    assert intake.deviations["ServiceRequest.bodySite-not-a-list"] == 1


def test_nothing_readable_is_counted_not_dropped_silently_nor_fatal():
    empty = {"resourceType": "MedicationRequest", "id": "x", "status": "draft"}
    junk = [None, "text", {"resource": "not an object"}, {"resource": {"no": "type"}}]
    intake = reader.read({"resourceType": "Bundle", "entry": [{"resource": empty}, *junk]})
    assert intake.orders == []
    assert intake.seen == 5 and intake.unreadable == 5
    assert intake.deviations["MedicationRequest.code-unreadable"] == 1
    assert intake.deviations["Bundle.entry-without-resource"] == 4


def test_entry_not_a_list_and_a_bare_resource_instead_of_a_bundle():
    assert reader.read({"resourceType": "Bundle", "type": "collection", "entry": {"resource": medication("242461", "c")}}).orders
    intake = reader.read(medication("242461", "c"))
    assert len(intake.orders) == 1 and intake.deviations["draftOrders-not-a-Bundle"] == 1


def test_other_order_types_are_not_judged_and_not_unreadable():
    nutrition = {"resourceType": "NutritionOrder", "id": "n", "status": "draft"}
    intake = reader.read(_bundle(nutrition, type="collection"))
    assert intake.orders == [] and intake.other_types == 1 and intake.unreadable == 0
