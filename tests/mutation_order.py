"""Under mutmut only: run a mutant's tests fastest first, and only the tests chosen for its module.

mutmut picks, by coverage, every test that reaches the mutated function (for `app.create_app` that is
every API test) and runs them with `-x` in the arbitrary order of a set. A killed mutant then costs
whatever happens to run before the first failing test, and a surviving one costs every test that
reaches it, end-to-end API tests included. Two things make `make mutation` fit on two cores:

- the tests of `tests/mutation/selection.yaml` for the mutated module, when the module is listed
  there (the module's own mirrored tests and the pin tests; see that file for why each is chosen);
  a mutant's score is then what those tests catch, never more;
- fastest first, by the durations mutmut recorded in its stats run, so a mutant a unit test kills
  is killed by that unit test before any slow one runs.

Outside mutmut (no MUTANT_UNDER_TEST naming a mutant of the package) this changes nothing.
"""
from __future__ import annotations

import fnmatch
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SELECTION = Path(__file__).resolve().parent / "mutation" / "selection.yaml"


@cache
def selection(path: Path = SELECTION) -> dict[str, tuple[str, ...]]:
    """{module: test file patterns}; a module not listed runs every test mutmut chose for it.
    Each entry says why those tests are the module's (`why`), so a narrowing is never silent."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    out: dict[str, tuple[str, ...]] = {}
    for module, entry in (data or {}).items():
        patterns = entry.get("tests") if isinstance(entry, dict) else None
        if not patterns or not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise ValueError(f"{path}: {module} needs a list of test file patterns under 'tests'")
        why = entry.get("why")
        if not isinstance(why, str) or not why.strip():
            raise ValueError(f"{path}: {module} needs a reason under 'why'")
        out[module] = tuple(patterns)
    return out


@cache
def durations(stats: Path = Path("mutmut-stats.json")) -> dict[str, float]:
    """Seconds per test id from mutmut's stats run (mutmut runs the tests inside mutants/)."""
    try:
        return dict(json.loads(stats.read_text(encoding="utf-8"))["duration_by_test"])
    except (OSError, ValueError, KeyError):
        return {}


def module_of(mutant: str) -> str | None:
    """`cds_service.findings.x_extract__mutmut_3` -> `findings`; None outside a mutant of the package."""
    parts = mutant.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "cds_service" else None


def chosen(nodeid: str, patterns: tuple[str, ...]) -> bool:
    file_name = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(file_name, p) for p in patterns)


def order(items: list[Any], module: str, times: dict[str, float],
          chosen_for: dict[str, tuple[str, ...]]) -> tuple[list[Any], list[Any]]:
    """(kept items fastest first, dropped items); a test with no recorded time goes last."""
    patterns = chosen_for.get(module)
    kept = [i for i in items if patterns is None or chosen(i.nodeid, patterns)]
    dropped = [i for i in items if patterns is not None and not chosen(i.nodeid, patterns)]
    kept.sort(key=lambda i: times.get(i.nodeid, float("inf")))
    return kept, dropped


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    module = module_of(os.environ.get("MUTANT_UNDER_TEST", ""))
    if module is None:
        return
    kept, dropped = order(items, module, durations(), selection())
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept
