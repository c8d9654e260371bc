"""records' field checks, one FHIR R4 rule per test, each check built here rather than at import.

Why built here: `records` builds its checks (`_pattern`, `_object`, `_list`) once at import, so a
slip inside one (a pattern no longer anchored, a required field no longer required, a choice[x]
allowed twice) would reach every request while no test ran the factory that made it. These tests
call the factories themselves, so they fail when a factory changes. tests/test_records.py holds the
reader as a whole against the fhir.resources models. Time cap: under a second.
"""
from __future__ import annotations

import math

import pytest

from cds_service import records
from cds_service.records import Malformed


def _refused(check, value, message):
    """The whole reason, anchored: the reason names what broke (it is counted, never shown)."""
    with pytest.raises(Malformed, match=f"^{message}$"):
        check(value)


def test_rule_a_fhir_code_is_words_separated_by_single_spaces():
    code = records._pattern(records._CODE, "code")
    assert code("final") == "final" and code("entered in error") == "entered in error"
    for bad in (" final", "final ", "two  spaces", "", 12, None):
        _refused(code, bad, "not a FHIR code")


def test_rule_a_fhir_id_is_letters_digits_dash_and_dot_only():
    fhir_id = records._pattern(records._ID, "id")
    assert fhir_id("abc-1.2") == "abc-1.2"
    for bad in ("a_b", "a b", "", ["a"]):
        _refused(fhir_id, bad, "not a FHIR id")


@pytest.mark.parametrize("value", ["2024", "2024-03", "2024-03-05", "2024-03-05T10:20:30Z",
                                   "2024-03-05T10:20:30.125+01:00", "2024-03-05T23:59:60-14:00"])
def test_rule_a_fhir_date_time_may_be_partial_but_a_time_needs_its_zone(value):
    assert records._pattern(records._DATE_TIME, "dateTime")(value) == value


@pytest.mark.parametrize("value", ["2024-03-05T10:20:30", "2024-13", "2024-02-32", "24-03-05", "2024-03-05T24:00:00Z",
                                   "2024-03-05 10:20:30Z", "x2024", "2024-03-05T10:20:30Z ", 2024])
def test_rule_a_malformed_date_time_is_refused(value):
    _refused(records._pattern(records._DATE_TIME, "dateTime"), value, "not a FHIR dateTime")


def test_rule_an_instant_is_a_full_date_and_time_with_its_zone():
    instant = records._pattern(records._INSTANT, "instant")
    assert instant("2024-03-05T10:20:30Z") == "2024-03-05T10:20:30Z"
    for bad in ("2024-03-05", "2024-03-05T10:20:30", "2024"):
        _refused(instant, bad, "not a FHIR instant")


def test_rule_a_decimal_is_a_finite_number_or_a_string_holding_one():
    assert records._decimal(0.9) == 0.9 and records._decimal(1) == 1.0 and isinstance(records._decimal(1), float)
    assert records._decimal("0.85") == 0.85 and records._decimal("-1e2") == -100.0
    _refused(records._decimal, True, "a boolean is not a decimal")
    _refused(records._decimal, False, "a boolean is not a decimal")
    for bad in (math.nan, math.inf, -math.inf):
        _refused(records._decimal, bad, "not a finite decimal")
    for bad in ("1.", ".5", "01", "0.9 ", "abc", None, [1]):
        _refused(records._decimal, bad, "not a FHIR decimal")


def test_rule_a_boolean_is_lax_as_fhir_resources_reads_it():
    assert records._boolean(True) is True and records._boolean(False) is False
    assert records._boolean(1) is True and records._boolean(0) is False and records._boolean(1.0) is True
    assert records._boolean("Yes") is True and records._boolean("off") is False and records._boolean("T") is True
    for bad in (2, -1, 0.5, "maybe", "", None, {}):
        _refused(records._boolean, bad, "not a boolean")


def test_rule_an_integer_is_a_json_integer_never_a_boolean_a_float_or_a_string():
    assert records._integer(3) == 3 and records._integer(0) == 0
    for bad in (True, False, 3.0, "3", None):
        _refused(records._integer, bad, "not an integer")


def test_rule_strings_uris_and_present_elements():
    assert records._string("left") == "left"
    for bad in ("", 1, None):
        _refused(records._string, bad, "not a non-empty string")
    assert records._uri("") == "" and records._uri("http://snomed.info/sct") == "http://snomed.info/sct"
    _refused(records._uri, 1, "not a string")
    assert records._present({"low": {}}) == {"low": {}}
    for bad in ([], "range", None):
        _refused(records._present, bad, "not an object")


def test_rule_a_list_refuses_a_non_list_and_a_null_entry_and_checks_each_entry():
    strings = records._list(records._string)
    assert strings(["a", "b"]) == ["a", "b"] and strings([]) == []
    _refused(strings, "a", "not a list")
    _refused(strings, {"a": 1}, "not a list")
    _refused(strings, ["a", None], "null in a list")
    _refused(strings, ["a", ""], "not a non-empty string")


def _thing():
    return records._object("Thing", {"a": records._string, "b": records._decimal, "x1": records._string,
                                      "x2": records._string}, required=("a",), choices=(("x1", "x2"),))


def test_rule_an_object_keeps_its_declared_fields_and_reads_an_absent_one_as_none():
    fields = _thing()({"a": "yes", "b": 2, "undeclared": {"anything": 1}})
    assert (fields.a, fields.b, fields.x1) == ("yes", 2.0, None)
    assert "undeclared" not in fields.__dict__
    with pytest.raises(AttributeError):
        fields.undeclared  # noqa: B018 - a typo in findings must not read as None
    assert type(fields).__name__ == "Thing" and repr(fields) == "Thing({'a': 'yes', 'b': 2.0})"


def test_rule_an_object_skips_a_null_value_and_then_misses_a_required_field():
    assert _thing()({"a": "yes", "b": None}).b is None
    _refused(_thing(), {"a": None}, r"Thing\.a is required")
    _refused(_thing(), {"b": 1}, r"Thing\.a is required")


def test_rule_an_object_holds_at_most_one_element_of_a_choice():
    assert _thing()({"a": "yes", "x2": "one"}).x2 == "one"
    _refused(_thing(), {"a": "yes", "x1": "one", "x2": "two"}, r"Thing holds more than one of x1\[x\]")


def test_rule_an_object_refuses_a_non_object_and_a_broken_declared_field():
    _refused(_thing(), ["a"], "Thing is not an object")
    _refused(_thing(), {"a": "yes", "b": "not a number"}, "not a FHIR decimal")


def test_rule_the_first_known_coding_wins_and_a_broken_concept_is_malformed():
    index = {("http://snomed.info/sct", "1"): "first", ("http://snomed.info/sct", "2"): "second"}
    sct = "http://snomed.info/sct"
    assert records._known(None, index) is None
    assert records._known({"text": "leg pain"}, index) is None
    assert records._known({"coding": [{"system": sct, "code": "9"}, {"system": sct, "code": "2"},
                                      {"system": sct, "code": "1"}]}, index) == "second"
    assert records._known({"coding": [{"system": sct, "code": 1}, {"code": "1"}]}, index) is None
    _refused(lambda c: records._known(c, index), ["coding"], "CodeableConcept is not an object")
    _refused(lambda c: records._known(c, index), {"coding": {"system": sct}}, "coding is not a list")
    _refused(lambda c: records._known(c, index), {"coding": ["1"]}, "coding entry is not an object")


class _EveryCodeIsAGap:
    def is_gap(self, system: str, code: str) -> bool:
        return True


def test_rule_a_condition_without_a_usable_code_is_never_a_coding_gap():
    gaps = _EveryCodeIsAGap()
    assert records._gap({"resourceType": "Condition"}, gaps) is False  # no code at all: not a crash
    assert records._gap({"resourceType": "Condition", "code": {"text": "leg pain"}}, gaps) is False
    assert records._gap({"resourceType": "Condition", "code": {"coding": [{"system": 1, "code": "I70"}]}}, gaps) is False
    assert records._gap({"resourceType": "Condition", "code": {"coding": [{"system": "s", "code": "I70"}]}}, gaps) is True


def test_rule_a_subject_that_is_not_a_reference_is_malformed_and_says_which_part():
    _refused(lambda r: records._belongs_to(r, "p1"), {"subject": "Patient/p1"}, "subject is not a Reference")
    _refused(lambda r: records._belongs_to(r, "p1"), {"subject": {"reference": 7}}, r"subject\.reference is not a string")
    assert records._belongs_to({"subject": {"display": "no reference"}}, "p1") is True


def test_rule_a_coding_whose_code_is_not_a_string_is_skipped_even_when_unhashable():
    sct = "http://snomed.info/sct"
    assert records._known({"coding": [{"system": sct, "code": ["1"]}, {"system": {"a": 1}, "code": "1"}]},
                          {(sct, "1"): "known"}) is None


def test_rule_every_skipped_resource_is_counted_once_each_and_the_rest_still_read(knowledge):
    """Two of each kind: another patient's, a duplicate, a broken one, a coding gap; the record after them still counts."""
    from builders import PATIENT, SCT, condition
    other = [condition(SCT, "63491006", patient="someone-else") for _ in range(2)]
    first = condition(SCT, "63491006", rid="dup")
    dups = [condition(SCT, "63491006", rid="dup") for _ in range(2)]
    broken = [dict(condition(SCT, "63491006"), recordedDate="yesterday") for _ in range(2)]
    gaps = [condition("http://hl7.org/fhir/sid/icd-10-cm", "I99.8") for _ in range(2)]
    last = condition(SCT, "63491006", rid="last")
    intake = records.select([*other, first, *dups, *broken, *gaps, last], knowledge.terminology, PATIENT,
                            _EveryCodeIsAGap())
    assert (intake.other_patient, intake.duplicates, intake.malformed, intake.unknown_codes) == (2, 2, 2, 2)
    assert [r.model.id for r in intake.records] == ["dup", "last"] and intake.seen == 10
