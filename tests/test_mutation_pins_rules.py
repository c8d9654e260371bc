"""Issue 24: the pattern table's checks (rules.load: schema, then cross-references; rules.parse builds). A broken table stops the service at start with a
message that says where; each breakage below is made on a copy of the real table."""
from __future__ import annotations

import copy

import pytest
import yaml

from cds_service.config import REPO_ROOT
from cds_service.rules import PATTERNS, RulesError, load, parse


@pytest.fixture(scope="module")
def table() -> dict:
    data = yaml.safe_load((REPO_ROOT / "knowledge" / "patterns.yaml").read_text(encoding="utf-8"))
    if not data.get("combinations"):  # the table may have none: add a valid one to break
        coded = _coded(data)
        data["combinations"] = {"combo-test": {"all_of": [coded], "any_of": [coded]}}
        data["signs"]["combo-test"] = {"derived": True}
    parse(data)
    return data


def _coded(data: dict) -> str:
    return next(s for s, raw in data["signs"].items() if raw.get("read_from") and not raw.get("derived"))


def _derived_without_weights(data: dict) -> str:
    return next(s for s, raw in data["signs"].items() if raw.get("derived"))


def _measurement(data: dict) -> str:
    return next(iter(data["measurements"]))


def _combination(data: dict) -> str:
    return next(iter(data["combinations"]))


def _set(path: list, value):
    def change(data):
        node = data
        for part in path[:-1]:
            node = node[part(data) if callable(part) else part]
        last = path[-1]
        node[last(data) if callable(last) else last] = value
    return change


BREAKAGES = {
    "patterns": (_set(["patterns"], {"arterial-claudication": {}}), lambda d: f"patterns must be exactly {', '.join(PATTERNS)}"),
    "sign-not-mapping": (_set(["signs", "odd"], ["x"]), lambda d: "signs.odd: must be a mapping"),
    "unknown-key": (_set(["signs", _coded, "bogus"], 1), lambda d: f"signs.{_coded(d)}: unknown keys ['bogus']"),
    "read-from": (_set(["signs", _coded, "read_from"], ["Condition", "Patient"]),
                  lambda d: f"signs.{_coded(d)}.read_from: unknown resource types ['Patient']"),
    "no-read-from": (_set(["signs", _coded, "read_from"], []), lambda d: f"signs.{_coded(d)}: a sign with codes needs read_from"),
    "red-flag": (_set(["signs", _coded, "red_flag"], "nope"), lambda d: f"signs.{_coded(d)}.red_flag: unknown pattern 'nope'"),
    "lookback-zero": (_set(["signs", _coded, "lookback_days"], 0),
                      lambda d: f"signs.{_coded(d)}.lookback_days must be a positive whole number or null"),
    "lookback-text": (_set(["signs", _coded, "lookback_days"], "30"),
                      lambda d: f"signs.{_coded(d)}.lookback_days must be a positive whole number or null"),
    "weight-pattern": (_set(["signs", _coded, "present"], {"supports": {"nope": 1}}),
                       lambda d: f"signs.{_coded(d)}.present.supports: unknown pattern 'nope'"),
    "weight-negative": (_set(["signs", _coded, "absent"], {"against": {PATTERNS[0]: -1}}),
                        lambda d: f"signs.{_coded(d)}.absent.against.{PATTERNS[0]}: weight must be a number >= 0"),
    "weight-text": (_set(["signs", _coded, "present"], {"supports": {PATTERNS[1]: "3"}}),
                    lambda d: f"signs.{_coded(d)}.present.supports.{PATTERNS[1]}: weight must be a number >= 0"),
    "no-bands": (_set(["measurements", _measurement, "bands"], []), lambda d: f"measurements.{_measurement(d)}: no bands"),
    "closed-last-band-max": (lambda d: d["measurements"][_measurement(d)]["bands"][-1].update(max=9.0),
                             lambda d: f"measurements.{_measurement(d)}: the last band must be open-ended"),
    "closed-last-band-below": (lambda d: d["measurements"][_measurement(d)]["bands"][-1].update(below=9.0),
                               lambda d: f"measurements.{_measurement(d)}: the last band must be open-ended"),
    "band-sign-not-derived": (lambda d: d["measurements"][_measurement(d)]["bands"][0].update(sign=_coded(d)),
                              lambda d: f"measurements.{_measurement(d)}: band sign '{_coded(d)}' must be a derived sign"),
    "band-sign-unknown": (lambda d: d["measurements"][_measurement(d)]["bands"][0].update(sign="nope"),
                          lambda d: f"measurements.{_measurement(d)}: band sign 'nope' must be a derived sign"),
    "history-sign": (_set(["signs", _coded, "history_sign"], "nope"), lambda d: f"signs.{_coded(d)}: refers to unknown 'nope'"),
    "measurement-ref": (_set(["signs", _coded, "measurement"], "nope"), lambda d: f"signs.{_coded(d)}: refers to unknown 'nope'"),
    "requires-any": (_set(["signs", _coded, "red_flag_requires_any"], ["nope"]),
                     lambda d: f"signs.{_coded(d)}.red_flag_requires_any: unknown sign 'nope'"),
    "combination-not-derived": (lambda d: d["signs"][_combination(d)].pop("derived"),
                                lambda d: f"combinations.{_combination(d)}: must be a derived sign"),
    "combination-all-of": (lambda d: d["combinations"][_combination(d)].update(all_of=["nope"]),
                           lambda d: f"combinations.{_combination(d)}: unknown sign 'nope'"),
    "combination-any-of": (lambda d: d["combinations"][_combination(d)].update(any_of=["nope"]),
                           lambda d: f"combinations.{_combination(d)}: unknown sign 'nope'"),
    "laterality": (_set(["laterality_signs"], ["nope"]), lambda d: "laterality_signs: unknown sign 'nope'"),
}


@pytest.mark.parametrize("name", sorted(BREAKAGES))
def test_rule_a_broken_pattern_table_is_refused_saying_where(table, name, tmp_path):
    """Loader pin (issue 12): the table is checked by its schema and references when loaded; the
    refusal names the file and a line (the exact wording is pinned in tests/test_knowledge.py)."""
    import yaml

    from cds_service.rules import load
    change, _ = BREAKAGES[name]
    data = copy.deepcopy(table)
    change(data)
    path = tmp_path / "patterns.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(RulesError) as refused:
        load(path)
    assert str(refused.value).startswith("broken pattern table:\n  knowledge/patterns.yaml:")


def _write(tmp_path, data) -> object:
    """The table as a reviewer would save it, for the schema-checked loader (rules.load)."""
    path = tmp_path / "patterns.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _refusal(tmp_path, data) -> str:
    from cds_service.rules import load
    with pytest.raises(RulesError) as refused:
        load(_write(tmp_path, data))
    return str(refused.value)


def _minimal(signs: dict, measurements: dict, combinations: dict | None = None) -> dict:
    """The smallest table the schema accepts around the given signs: scoring and laterality as the
    code's old defaults were, every pattern with a seed."""
    return {"version": 1, "scoring": {"min_score": 3, "strong_score": 6},
            "patterns": {p: {"seed": f"why {p}"} for p in PATTERNS}, "measurements": measurements,
            "signs": signs, "combinations": combinations or {}, "laterality_signs": []}


def test_rule_every_problem_is_reported_at_once(table, tmp_path):
    """Both the schema's problems and the cross-references' problems are all listed, not just the first."""
    data = copy.deepcopy(table)
    data["signs"]["odd"] = "x"
    data["signs"][_coded(data)]["bogus"] = 1
    message = _refusal(tmp_path, data)
    assert message.startswith("broken pattern table:\n  knowledge/patterns.yaml:")
    assert "signs.odd: 'x' is a string; expected mapping" in message
    assert f"signs.{_coded(data)}: unknown key 'bogus'" in message or f"signs.{_coded(data)}.bogus" in message
    data = copy.deepcopy(table)
    data["laterality_signs"] = ["nope"]
    data["combinations"][_combination(data)]["any_of"] = ["nope-too"]
    lines = _refusal(tmp_path, data).split("\n  ")
    assert lines[0] == "broken pattern table:"
    assert any(line.endswith("laterality_signs[0]: unknown sign 'nope'") for line in lines), lines
    assert any(line.endswith(f"combinations.{_combination(data)}.any_of[0]: unknown sign 'nope-too'") for line in lines), lines


def test_rule_a_table_that_is_not_a_mapping_is_refused(tmp_path):
    assert _refusal(tmp_path, "- signs\n") == "broken pattern table:\n  knowledge/patterns.yaml:1: ['signs'] is an array; expected mapping"


def test_rule_zero_weights_and_the_smallest_window_are_valid(table):
    data = copy.deepcopy(table)
    sign = _coded(data)
    data["signs"][sign].update(lookback_days=1, present={"supports": {PATTERNS[0]: 0}})
    assert parse(data).signs[sign].lookback_days == 1


def test_rule_the_scoring_thresholds_and_windows_come_from_the_table(table):
    data = copy.deepcopy(table)
    data["scoring"] = {"min_score": 4, "strong_score": 8}
    data["measurements"][_measurement(data)].update(recent_days=30, source="G1")
    data["combinations"][_combination(data)].update(within_days=3, recent_days=5)
    rules = parse(data)
    assert (rules.min_score, rules.strong_score) == (4.0, 8.0)
    assert (rules.measurements[_measurement(data)].recent_days, rules.measurements[_measurement(data)].source) == (30, "G1")
    combo = rules.combinations[_combination(data)]
    assert (combo.within_days, combo.recent_days) == (3, 5)


def test_rule_the_first_band_that_holds_wins_and_an_open_band_holds_any_value(tmp_path):
    """Measurement.band: max is inclusive, below exclusive; an open band takes every value the bands before it
    do not (rules.cross_check refuses a table whose last band is closed)."""
    data = _minimal({"low": {"derived": True}, "mid": {"derived": True}, "open": {"derived": True}, "last": {"derived": True}},
                    {"m": {"source": "G1", "bands": [{"sign": "low", "max": 0.5}, {"sign": "mid", "below": 1.4},
                                                     {"sign": "open"}, {"sign": "last"}]}})
    m = load(_write(tmp_path, data)).measurements["m"]
    assert [m.band(v).sign for v in (0.5, 0.51, 1.39, 1.4, 9.0)] == ["low", "mid", "mid", "open", "open"]


def test_rule_checking_goes_on_past_a_broken_sign_or_measurement(table, tmp_path):
    """A sign that is not a mapping, or a measurement with no bands, is reported and checking continues
    to the signs and measurements after it; the same for the cross-reference checks."""
    data = copy.deepcopy(table)
    coded = _coded(data)
    data["signs"] = {"odd": "x", **data["signs"]}
    data["signs"][coded]["bogus"] = 1
    data["measurements"] = {"empty": {"source": "G1", "bands": []}, **data["measurements"]}
    message = _refusal(tmp_path, data)
    for problem in ("signs.odd: 'x' is a string; expected mapping", f"signs.{coded}", "measurements.empty.bands: [] should be non-empty"):
        assert problem in message, (problem, message)
    assert "bogus" in message
    data = copy.deepcopy(table)
    data["measurements"] = {"first": {"source": "G1", "bands": [{"sign": "nope"}]}, **data["measurements"]}
    data["measurements"][_measurement(table)]["bands"][-1]["max"] = 9.0
    message = _refusal(tmp_path, data)
    last = len(table["measurements"][_measurement(table)]["bands"]) - 1
    for problem in ("measurements.first.bands[0].sign: unknown sign 'nope'",
                    f"measurements.{_measurement(table)}.bands[{last}]: the last band must be open-ended (no max, no below)"):
        assert problem in message, (problem, message)


def test_rule_a_band_label_is_read_from_the_table(table):
    data = copy.deepcopy(table)
    data["measurements"][_measurement(data)]["bands"][0]["label"] = "a label of its own"
    assert parse(data).measurements[_measurement(data)].bands[0].label == "a label of its own"


def test_rule_an_unreadable_pattern_table_is_refused_naming_the_file(tmp_path):
    from cds_service.rules import load
    assert _refusal(tmp_path, "signs: [unclosed").startswith("broken pattern table:\n  knowledge/patterns.yaml:2: not readable YAML: ")
    with pytest.raises(RulesError, match=r"^broken pattern table:\n  knowledge/patterns.yaml: not readable \("):
        load(tmp_path / "missing.yaml")


def test_rule_a_sign_that_does_not_say_so_is_not_discriminating_exertional_acute_or_leg_bound(knowledge):
    """Absent keys read as False (never None): the schema declares them boolean and the cards compare them."""
    plain = knowledge.rules.signs["pallor"]
    assert (plain.derived, plain.discriminating, plain.discriminating_with_exertional, plain.exertional, plain.acute,
            plain.red_flag_needs_leg) == (False, False, False, False, False, False)
    for sign in knowledge.rules.signs.values():
        assert all(type(v) is bool for v in (sign.derived, sign.discriminating, sign.discriminating_with_exertional,
                                             sign.exertional, sign.acute, sign.red_flag_needs_leg, sign.done_marker)), sign.id


def test_rule_a_pattern_table_that_cannot_be_read_is_refused_as_broken(tmp_path):
    from cds_service import rules
    broken = tmp_path / "patterns.yaml"
    broken.write_text("version: [\n")
    with pytest.raises(rules.RulesError) as refused:
        rules.load(broken)
    assert str(refused.value).startswith("broken pattern table:\n") and len(str(refused.value)) > 25


# The parser's contract, read whole. Each test below builds its Rules inside the test body (never
# from a shared fixture) so that mutation testing sees which test reads which part of the table.

def _every_section() -> dict:
    """A small table using every optional section and every key a sign may carry, each value distinct."""
    p0, p1, p2, p3 = PATTERNS
    signs = {
        "s": {"seed": "why", "read_from": ["Observation"], "discriminating": True, "discriminating_with_exertional": True,
              "exertional": True, "acute": True, "lookback_days": 7, "history_sign": "h", "measurement": "m",
              "red_flag": p2, "red_flag_requires_any": ["h"], "red_flag_needs_leg": True,
              "red_flag_warning_codes": {"codes": ["X1", "X2"], "sign": "w", "reason": "milder too"}, "done_marker": True,
              "present": {"supports": {p0: 2}, "against": {p1: 1.5}}, "absent": {"against": {p3: 1}}},
        "h": {"read_from": ["Condition"]},
        "w": {"derived": True, "red_flag": p2},
        "low": {"derived": True}, "mid": {"derived": True}, "open": {"derived": True},
        "combo": {"derived": True},
    }
    data = _minimal(signs, {"m": {"source": "G1 m", "recent_days": 90, "bands": [
        {"sign": "low", "label": "low band", "max": 0.9}, {"sign": "mid", "below": 1.4}, {"sign": "open"}]}},
        {"combo": {"all_of": ["s"], "any_of": ["h"], "within_days": 3, "recent_days": 5}})
    data["laterality_signs"] = ["s"]
    data["abi_reading"] = {"pattern": p0, "measurement": "m", "source": "abi why", "lasting_bands": ["low"],
                           "not_low_bands": ["mid", "open"],
                           "not_reassuring": {"source": "nr why", "context_any": ["h"], "wound_any": ["s"]}}
    data["dvt_status"] = {"pattern": p1, "source": "dvt why", "dvt": "s", "history": "h", "pulmonary_embolism": "w",
                          "new_symptoms": ["s", "h"], "new_within_days": 21, "chronic_venous": ["low"], "swelling": "mid"}
    data["prefetch_keys"] = {"extraObs": {"resource_type": "Observation", "signs": ["s"], "reason": "long list"}}
    return data


def test_rule_every_section_of_the_table_is_read_into_its_own_field(tmp_path):
    """rules.parse: every key of every section lands in its own field (nothing dropped, nothing swapped),
    checked through the schema-checked loader so the table is one a reviewer could save."""
    from cds_service.rules import (AbiReading, Band, Combination, DvtStatus, ExtraPrefetchKey, Measurement, Rules, Sign,
                                   WarningCodes, Weights)
    p0, p1, p2, p3 = PATTERNS
    data = _every_section()
    rules = load(_write(tmp_path, data))
    expected_signs = {
        "s": Sign(id="s", seed="why", read_from=frozenset({"Observation"}), discriminating=True,
                  discriminating_with_exertional=True, exertional=True, acute=True, lookback_days=7, history_sign="h",
                  measurement="m", red_flag=p2, red_flag_requires_any=("h",), red_flag_needs_leg=True,
                  red_flag_warning_codes=WarningCodes(frozenset({"X1", "X2"}), "w"), done_marker=True,
                  present=Weights(supports={p0: 2.0}, against={p1: 1.5}), absent=Weights(supports={}, against={p3: 1.0})),
        "h": Sign(id="h", read_from=frozenset({"Condition"})),
        "w": Sign(id="w", derived=True, red_flag=p2),
        **{k: Sign(id=k, derived=True) for k in ("low", "mid", "open", "combo")},
    }
    assert rules == Rules(
        patterns=data["patterns"], signs=expected_signs,
        measurements={"m": Measurement(id="m", source="G1 m", recent_days=90, bands=(
            Band(sign="low", label="low band", max=0.9), Band(sign="mid", label="mid", below=1.4), Band(sign="open", label="open")))},
        combinations={"combo": Combination(id="combo", all_of=("s",), any_of=("h",), within_days=3, recent_days=5)},
        laterality_signs=frozenset({"s"}), min_score=3.0, strong_score=6.0,
        prefetch_keys={"extraObs": ExtraPrefetchKey(key="extraObs", resource_type="Observation", signs=("s",), reason="long list")},
        abi_reading=AbiReading(pattern=p0, measurement="m", source="abi why", lasting_bands=("low",), not_low_bands=("mid", "open"),
                               not_reassuring_source="nr why", not_reassuring_context=("h",), not_reassuring_wounds=("s",)),
        dvt_status=DvtStatus(pattern=p1, source="dvt why", dvt="s", history="h", pulmonary_embolism="w", new_symptoms=("s", "h"),
                             new_within_days=21, chronic_venous=("low",), swelling="mid"))
    assert rules.patterns is not None and set(rules.patterns) == set(PATTERNS)
    assert rules.red_flags() == {"s": expected_signs["s"], "w": expected_signs["w"]}


def test_rule_absent_optional_keys_read_as_their_documented_defaults(tmp_path):
    """rules.parse: a sign that says nothing is not derived, discriminating, exertional, acute, leg-bound or a
    done marker (False, never None: the cards compare them), has no window, red flag or weights; a measurement
    is recent for 365 days and a band is labelled by its sign; a combination looks 14 days back; the
    optional sections are absent (None, no extra prefetch keys)."""
    from cds_service.rules import Sign, Weights
    data = _every_section()
    for key in ("abi_reading", "dvt_status", "prefetch_keys"):
        del data[key]
    data["measurements"]["m"] = {"source": "G1", "bands": [{"sign": "open"}]}
    data["combinations"]["combo"] = {"all_of": ["s"], "any_of": ["h"]}
    data["laterality_signs"] = []
    rules = load(_write(tmp_path, data))
    assert rules.laterality_signs == frozenset()
    plain = rules.signs["h"]
    assert plain == Sign(id="h", read_from=frozenset({"Condition"}))
    assert [type(getattr(plain, f)) for f in ("derived", "discriminating", "discriminating_with_exertional", "exertional",
                                              "acute", "red_flag_needs_leg", "done_marker")] == [bool] * 7
    assert (plain.seed, plain.lookback_days, plain.history_sign, plain.measurement, plain.red_flag,
            plain.red_flag_requires_any, plain.red_flag_warning_codes) == ("", None, None, None, None, (), None)
    assert plain.present == Weights() == plain.absent
    m = rules.measurements["m"]
    assert (m.recent_days, m.bands[0].label, m.bands[0].max, m.bands[0].below) == (365, "open", None, None)
    c = rules.combinations["combo"]
    assert (c.within_days, c.recent_days) == (14, 14)
    assert (rules.abi_reading, rules.dvt_status, rules.severe_pain, rules.prefetch_keys) == (None, None, None, {})


def _problems(tmp_path, data) -> list[str]:
    """Each problem of a refused table as 'path: message', without the file and line prefix."""
    lines = _refusal(tmp_path, data).split("\n  ")
    assert lines[0] == "broken pattern table:"
    return [line.split(": ", 1)[1] for line in lines[1:]]


_SEVERE = {"sign": "s", "at_least": 7, "same_day_as": ["h"], "line": "{value}/10 on {date}", "reason": "why"}
CROSS_REFERENCE_BREAKAGES = {
    "needs-leg-off-a-red-flag": (lambda d: d["signs"]["h"].update(red_flag_needs_leg=True),
                                 "signs.h.red_flag_needs_leg: only a red flag can need a leg"),
    "warning-codes-off-a-red-flag": (
        lambda d: d["signs"]["h"].update(red_flag_warning_codes={"codes": ["X3"], "sign": "w", "reason": "r"}),
        "signs.h.red_flag_warning_codes: only a red flag can have warning codes"),
    "warning-sign-derived-of-another-pattern": (
        lambda d: d["signs"]["w"].update(red_flag=PATTERNS[1]),
        f"signs.s.red_flag_warning_codes.sign: 'w' must be a derived red flag of {PATTERNS[2]}"),
    "warning-sign-not-derived": (
        lambda d: d["signs"]["s"]["red_flag_warning_codes"].update(sign="h") or d["signs"]["h"].update(red_flag=PATTERNS[2]),
        f"signs.s.red_flag_warning_codes.sign: 'h' must be a derived red flag of {PATTERNS[2]}"),
    "abi-measurement": (lambda d: d["abi_reading"].update(measurement="nope"), "abi_reading.measurement: unknown measurement 'nope'"),
    "abi-lasting-band": (lambda d: d["abi_reading"].update(lasting_bands=["nope"]), "abi_reading.lasting_bands[0]: unknown sign 'nope'"),
    "abi-not-low-band": (lambda d: d["abi_reading"].update(not_low_bands=["mid", "nope"]),
                         "abi_reading.not_low_bands[1]: unknown sign 'nope'"),
    "abi-context": (lambda d: d["abi_reading"]["not_reassuring"].update(context_any=["nope"]),
                    "abi_reading.not_reassuring.context_any[0]: unknown sign 'nope'"),
    "abi-wound": (lambda d: d["abi_reading"]["not_reassuring"].update(wound_any=["h", "nope"]),
                  "abi_reading.not_reassuring.wound_any[1]: unknown sign 'nope'"),
    **{f"dvt-{key}": (lambda d, key=key: d["dvt_status"].update({key: "nope"}), f"dvt_status.{key}: unknown sign 'nope'")
       for key in ("dvt", "history", "pulmonary_embolism", "swelling")},
    "dvt-new-symptoms": (lambda d: d["dvt_status"].update(new_symptoms=["s", "nope"]), "dvt_status.new_symptoms[1]: unknown sign 'nope'"),
    "dvt-chronic-venous": (lambda d: d["dvt_status"].update(chronic_venous=["nope"]), "dvt_status.chronic_venous[0]: unknown sign 'nope'"),
    "severe-pain-sign-not-an-observation": (lambda d: d.update(severe_pain={**_SEVERE, "sign": "h"}),
                                            "severe_pain.sign: 'h' is not a sign read from Observation"),
    "severe-pain-unknown-sign": (lambda d: d.update(severe_pain={**_SEVERE, "sign": "nope"}),
                                 "severe_pain.sign: 'nope' is not a sign read from Observation"),
    "severe-pain-same-day": (lambda d: d.update(severe_pain={**_SEVERE, "same_day_as": ["h", "nope"]}),
                             "severe_pain.same_day_as[1]: unknown sign 'nope'"),
    "prefetch-key-wrong-type": (lambda d: d["prefetch_keys"].update(extraCond={"resource_type": "Condition", "signs": ["s"], "reason": "r"}),
                                "prefetch_keys.extraCond.signs[0]: 's' is not a sign read from Condition"),
    "prefetch-key-unknown-sign": (lambda d: d["prefetch_keys"]["extraObs"].update(signs=["s", "nope"]),
                                  "prefetch_keys.extraObs.signs[1]: 'nope' is not a sign read from Observation"),
    "prefetch-key-twice": (lambda d: d["prefetch_keys"].update(otherObs={"resource_type": "Observation", "signs": ["s"], "reason": "r"}),
                           "prefetch_keys.otherObs.signs[0]: 's' already has the prefetch key 'extraObs'"),
}


@pytest.mark.parametrize("name", sorted(CROSS_REFERENCE_BREAKAGES))
def test_rule_a_broken_cross_reference_is_refused_naming_its_path(tmp_path, name):
    """rules.cross_check: what the schema cannot say (a sign named elsewhere exists, a warning sign is a derived
    red flag of the same pattern, one prefetch key per sign) is refused with the exact path and reason, alone."""
    data = _every_section()
    assert load(_write(tmp_path, copy.deepcopy(data))) is not None  # the table is valid before the breakage
    change, expected = CROSS_REFERENCE_BREAKAGES[name]
    change(data)
    assert _problems(tmp_path, data) == [expected]


def test_rule_a_valid_severe_pain_block_is_accepted_and_read(tmp_path):
    data = _every_section()
    data["severe_pain"] = dict(_SEVERE)
    pain = load(_write(tmp_path, data)).severe_pain
    assert (pain.sign, pain.at_least, pain.same_day_as) == ("s", 7.0, frozenset({"h"}))
