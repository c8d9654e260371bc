"""tools/mutation.py: copies refreshed after a change, and what `--again` re-runs. Time cap: under a second."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location("mutation_tool", ROOT / "tools" / "mutation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_changed_unmutated_file_is_copied_again_and_mutated_or_unchanged_ones_are_left(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.mutmut]\nonly_mutate = ["cds_service/auth.py"]\n')
    for base in (tmp_path, tmp_path / "mutants"):
        (base / "cds_service" / "schemas").mkdir(parents=True)
    source, copy = tmp_path / "cds_service", tmp_path / "mutants" / "cds_service"
    (source / "schemas" / "card.json").write_text('{"new": 1}')
    (copy / "schemas" / "card.json").write_text('{"old": 1}')
    (source / "auth.py").write_text("x = 1\n")
    (copy / "auth.py").write_text("x = 1  # a mutant trampoline\n")
    (source / "engine.py").write_text("y = 2\n")
    (copy / "engine.py").write_text("y = 2\n")
    (source / "new.py").write_text("z = 3\n")  # not copied yet: mutmut copies it itself
    assert _tool().refresh_copies(tmp_path) == ["cds_service/schemas/card.json"]
    assert (copy / "schemas" / "card.json").read_text() == '{"new": 1}'
    assert (copy / "auth.py").read_text() == "x = 1  # a mutant trampoline\n"
    assert not (copy / "new.py").exists()


def test_again_re_runs_every_mutant_not_killed_and_no_killed_one(monkeypatch):
    tool = _tool()
    codes = {"findings": {"cds_service.findings.x_a__mutmut_1": 1, "cds_service.findings.x_a__mutmut_2": 0,
                          "cds_service.findings.x_a__mutmut_3": None, "cds_service.findings.x_a__mutmut_4": 33,
                          "cds_service.findings.x_a__mutmut_5": -24, "cds_service.findings.x_a__mutmut_6": 5},
             "cards": {"cds_service.cards.x_b__mutmut_1": 0}}
    monkeypatch.setattr(tool, "results", lambda module: codes.get(module, {}))
    assert tool.not_killed(["findings"]) == ["cds_service.findings.x_a__mutmut_2", "cds_service.findings.x_a__mutmut_3",
                                             "cds_service.findings.x_a__mutmut_4", "cds_service.findings.x_a__mutmut_5",
                                             "cds_service.findings.x_a__mutmut_6"]  # _5 only timed out
    assert tool.not_killed(["findings", "cards"])[-1] == "cds_service.findings.x_a__mutmut_6"
    assert "cds_service.cards.x_b__mutmut_1" in tool.not_killed(["cards", "laterality"])


def test_narrowed_stats_keep_only_the_tests_chosen_for_each_module(tmp_path):
    import json
    (tmp_path / "mutants").mkdir()
    (tmp_path / "tests" / "mutation").mkdir(parents=True)
    (tmp_path / "tests" / "mutation" / "selection.yaml").write_text(
        "findings:\n  why: its own tests\n  tests: [test_findings*.py]\n")
    stats = {"tests_by_mangled_function_name": {
        "cds_service.findings.x_extract": ["tests/test_findings.py::test_a", "tests/test_api_hooks.py::test_b"],
        "cds_service.cards.x_render": ["tests/test_api_hooks.py::test_b"]},
        "duration_by_test": {"tests/test_findings.py::test_a": 0.1, "tests/test_api_hooks.py::test_b": 1.0}}
    (tmp_path / "mutants" / "mutmut-stats.json").write_text(json.dumps(stats))
    assert _tool().narrow_stats(tmp_path) == 1
    after = json.loads((tmp_path / "mutants" / "mutmut-stats.json").read_text())
    assert after["tests_by_mangled_function_name"] == {
        "cds_service.findings.x_extract": ["tests/test_findings.py::test_a"],
        "cds_service.cards.x_render": ["tests/test_api_hooks.py::test_b"]}  # a module not listed keeps its tests
    assert after["duration_by_test"] == stats["duration_by_test"]
    assert _tool().narrow_stats(tmp_path / "nothing-yet") == 0
