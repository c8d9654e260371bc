"""tests/mutation_order.py: under mutmut, a mutant's tests run fastest first and only those chosen for its module.
Time cap: under a second (no mutmut run; the hook is driven with stand-in items)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

import mutation_order


@dataclass
class Item:
    nodeid: str


class Hook:
    def __init__(self) -> None:
        self.deselected: list[Item] = []

    def pytest_deselected(self, items: list[Item]) -> None:
        self.deselected += items


@dataclass
class Config:
    hook: Hook


ITEMS = [Item("tests/test_api_hooks.py::test_slow"), Item("tests/test_findings.py::test_b"),
         Item("tests/test_findings.py::test_a"), Item("tests/test_mutation_pins_findings.py::test_pin"),
         Item("tests/test_cards.py::test_unrecorded")]
TIMES = {"tests/test_api_hooks.py::test_slow": 2.0, "tests/test_findings.py::test_b": 0.02,
         "tests/test_findings.py::test_a": 0.01, "tests/test_mutation_pins_findings.py::test_pin": 0.005}


def test_a_mutant_is_named_by_its_module_and_nothing_else_is():
    assert mutation_order.module_of("cds_service.findings.x_extract__mutmut_3") == "findings"
    assert mutation_order.module_of("cds_service.auth.xǁVerifierǁ__init____mutmut_12") == "auth"
    for other in ("", "fail", "stats", "mutant_generation", "cds_service"):
        assert mutation_order.module_of(other) is None


def test_the_chosen_tests_run_fastest_first_and_the_others_are_dropped():
    kept, dropped = mutation_order.order(list(ITEMS), "findings", TIMES,
                                         {"findings": ("test_findings*.py", "test_mutation_pins_*.py")})
    assert [i.nodeid for i in kept] == ["tests/test_mutation_pins_findings.py::test_pin",
                                        "tests/test_findings.py::test_a", "tests/test_findings.py::test_b"]
    assert {i.nodeid for i in dropped} == {"tests/test_api_hooks.py::test_slow", "tests/test_cards.py::test_unrecorded"}


def test_a_module_not_listed_keeps_every_test_and_an_unrecorded_test_goes_last():
    kept, dropped = mutation_order.order(list(ITEMS), "app", TIMES, {"findings": ("test_findings.py",)})
    assert dropped == []
    assert kept[0].nodeid == "tests/test_mutation_pins_findings.py::test_pin"
    assert kept[-1].nodeid == "tests/test_cards.py::test_unrecorded"
    assert kept[-2].nodeid == "tests/test_api_hooks.py::test_slow"


def test_the_patterns_match_the_file_name_not_a_test_name():
    assert mutation_order.chosen("tests/test_cards.py::test_findings_are_listed", ("test_cards.py",))
    assert not mutation_order.chosen("tests/test_cards.py::test_findings_are_listed", ("test_findings*.py",))


def test_outside_mutmut_the_hook_changes_nothing(monkeypatch):
    monkeypatch.delenv("MUTANT_UNDER_TEST", raising=False)
    items, config = list(ITEMS), Config(Hook())
    mutation_order.pytest_collection_modifyitems(config, items)
    assert items == ITEMS and config.hook.deselected == []
    monkeypatch.setenv("MUTANT_UNDER_TEST", "fail")  # mutmut's forced-fail run: every test, as collected
    mutation_order.pytest_collection_modifyitems(config, items)
    assert items == ITEMS and config.hook.deselected == []


def test_under_a_mutant_the_hook_reorders_and_reports_what_it_drops(monkeypatch):
    monkeypatch.setenv("MUTANT_UNDER_TEST", "cds_service.findings.x_extract__mutmut_3")
    monkeypatch.setattr(mutation_order, "durations", lambda: TIMES)
    monkeypatch.setattr(mutation_order, "selection", lambda: {"findings": ("test_findings.py",)})
    items, config = list(ITEMS), Config(Hook())
    mutation_order.pytest_collection_modifyitems(config, items)
    assert [i.nodeid for i in items] == ["tests/test_findings.py::test_a", "tests/test_findings.py::test_b"]
    assert len(config.hook.deselected) == 3


def test_the_selection_file_names_test_patterns_for_mutated_modules_only(tmp_path):
    listed = mutation_order.selection()
    tool_modules = {"laterality", "records", "prefetch", "fhir_client", "rules", "findings", "assessment",
                    "cards", "auth", "app"}
    assert set(listed) == tool_modules  # every mutated module says which tests are its own
    tests_dir = Path(mutation_order.__file__).parent
    for module, patterns in listed.items():
        for pattern in patterns:  # a pattern that names no test file is a typo that would drop tests silently
            assert list(tests_dir.glob(pattern)), (module, pattern)


@pytest.mark.parametrize("text", ["findings: [test_findings.py]\n", "findings: {why: own, tests: []}\n",
                                  "findings: {why: own, tests: [1]}\n", "findings: {why: no tests}\n",
                                  "findings: {why: own, tests: test_findings.py}\n"])
def test_a_selection_entry_without_test_patterns_is_refused(tmp_path, text):
    path = tmp_path / "selection.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match="needs a list of test file patterns"):
        mutation_order.selection.__wrapped__(path)


@pytest.mark.parametrize("why", ["", "why: ' '\n", "why: [a]\n"])
def test_a_selection_entry_without_a_reason_is_refused(tmp_path, why):
    path = tmp_path / "selection.yaml"
    path.write_text("findings:\n  tests: [test_findings.py]\n" + ("  " + why if why else ""))
    with pytest.raises(ValueError, match="needs a reason"):
        mutation_order.selection.__wrapped__(path)


def test_durations_are_read_from_mutmut_stats_and_missing_stats_give_none(tmp_path):
    stats = tmp_path / "mutmut-stats.json"
    stats.write_text('{"duration_by_test": {"tests/test_x.py::test_y": 0.5}}')
    assert mutation_order.durations.__wrapped__(stats) == {"tests/test_x.py::test_y": 0.5}
    assert mutation_order.durations.__wrapped__(tmp_path / "absent.json") == {}
