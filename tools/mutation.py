"""`make mutation`: mutation testing of the clinical core and the security paths, with a per-module report.

Runs mutmut (pinned in the `mutation` extra; configured under [tool.mutmut] in pyproject.toml)
niced, on the modules named (all listed below by default, the ones least likely to change first),
then reads mutmut's results and tests/mutation/equivalent.yaml, which lists the mutants that
cannot change behaviour, each with the reason. The score of a module is

    killed / (mutants - equivalent)

where a mutant that timed out counts as killed (the tests noticed it) and a mutant that no test
reaches counts as survived. The report goes to stdout and to mutants/report.md; the exit status
is 1 when a module scores below --min-score (90 by default), so the target can gate a change.

    python tools/mutation.py                      # every module
    python tools/mutation.py laterality records   # one or two while iterating
    python tools/mutation.py --report-only        # re-read the last results
    python tools/mutation.py --again findings     # re-run only what a test has not killed yet

Each module's mutants run only the tests tests/mutation/selection.yaml chooses for it, fastest first
(tests/mutation_order.py), so a score is what the module's own and pin tests catch.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import tomllib

import yaml

ROOT = Path(__file__).resolve().parent.parent
MODULES = ("laterality", "records", "prefetch", "fhir_client", "rules",
           "findings", "assessment", "cards", "auth", "app")
EQUIVALENT = ROOT / "tests" / "mutation" / "equivalent.yaml"
KILLED = {1, 3, 36, 24, -24, 152, 255}  # mutmut: test failure, pytest internal error, timeouts
SURVIVED = {0, 5, 33}  # survived, or no test reaches the mutant
TIMED_OUT = {24, -24, 36, 152}  # killed, but only by mutmut's clock: the weakest verdict, re-run by --again


def load_equivalent(path: Path = EQUIVALENT) -> dict[str, dict[str, str]]:
    """{module: {mutant name: reason}}; an entry without a reason is refused."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    out: dict[str, dict[str, str]] = {}
    for module, entries in (data or {}).items():
        if module not in MODULES:
            raise SystemExit(f"{path}: {module} is not one of the mutated modules {MODULES}")
        for name, reason in (entries or {}).items():
            if not isinstance(reason, str) or not reason.strip():
                raise SystemExit(f"{path}: {module}: {name} needs a reason")
            if not name.startswith(f"cds_service.{module}."):
                raise SystemExit(f"{path}: {name} is not a mutant of cds_service.{module}")
        out[module] = dict(entries or {})
    return out


def results(module: str) -> dict[str, int | None]:
    meta = ROOT / "mutants" / "cds_service" / f"{module}.py.meta"
    if not meta.exists():
        return {}
    return json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]


def summarise(module: str, codes: dict[str, int | None], equivalent: dict[str, str]) -> dict[str, Any]:
    row: dict[str, Any] = {"module": module, "mutants": len(codes), "killed": 0, "survived": [], "equivalent": 0,
           "not_checked": 0, "stale_equivalent": []}
    for name, code in sorted(codes.items()):
        if code is None:
            row["not_checked"] += 1
        elif name in equivalent:
            row["equivalent"] += 1
            if code in KILLED:
                row["stale_equivalent"].append(name)  # a test kills it after all: the entry is wrong
        elif code in KILLED:
            row["killed"] += 1
        else:
            row["survived"].append(name)
    counted = row["mutants"] - row["equivalent"] - row["not_checked"]
    row["score"] = 100.0 * row["killed"] / counted if counted else None
    return row


def report(modules: list[str], elapsed: float | None, min_score: float, cpu: float | None = None) -> int:
    equivalent = load_equivalent()
    rows = [summarise(m, results(m), equivalent.get(m, {})) for m in modules]
    lines = ["| module | mutants | killed | survived | equivalent | not checked | score |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        score = f"{r['score']:.1f} %" if r["score"] is not None else "-"
        lines.append(f"| {r['module']} | {r['mutants']} | {r['killed']} | {len(r['survived'])} | {r['equivalent']} "
                     f"| {r['not_checked']} | {score} |")
    if elapsed is not None:
        lines.append(f"\nmutmut ran for {elapsed / 60:.1f} min on {os.cpu_count()} cores (niced), "
                     f"{(cpu or 0.0) / 60:.1f} CPU min in all (the wall time grows with other load; the CPU time "
                     f"does not), load average {os.getloadavg()[0]:.2f} at the end.")
    for r in rows:
        if r["survived"]:
            lines.append(f"\nSurvived in {r['module']} (see `mutmut show NAME`):")
            lines += [f"- {name}" for name in r["survived"]]
        if r["stale_equivalent"]:
            lines.append(f"\nListed as equivalent but killed in {r['module']} (remove from {EQUIVALENT.name}):")
            lines += [f"- {name}" for name in r["stale_equivalent"]]
    text = "\n".join(lines) + "\n"
    print(text)
    (ROOT / "mutants").mkdir(exist_ok=True)
    (ROOT / "mutants" / "report.md").write_text(text, encoding="utf-8")
    below = [r["module"] for r in rows if r["score"] is None or r["score"] < min_score or r["not_checked"]]
    if below:
        print(f"below {min_score:.0f} % (or not fully checked): {', '.join(below)}")
        return 1
    return 0


def not_killed(modules: list[str]) -> list[str]:
    """The mutants of these modules that no failing test has killed yet (survived, untested, not
    checked, or timed out), equivalent ones included so that a stale entry shows: what `--again`
    re-runs after a new test or a fix."""
    return sorted(name for m in modules for name, code in results(m).items() if code not in KILLED or code in TIMED_OUT)


def narrow_stats(root: Path = ROOT) -> int:
    """Keep, in mutmut's map of which tests reach which function, only the tests
    tests/mutation/selection.yaml chooses for the function's module: the tests the conftest hook
    (tests/mutation_order.py) would run anyway. mutmut passes a mutant's test ids to pytest, which
    collects each one before the hook drops it; a smaller list saves about half a second per mutant.
    Returns how many test ids were dropped (0 before mutmut's first stats run)."""
    stats_path = root / "mutants" / "mutmut-stats.json"
    if not stats_path.exists():
        return 0
    sys.path.insert(0, str(root / "tests"))
    try:
        import mutation_order  # type: ignore[import-not-found]  # tests/ is not a package
    finally:
        sys.path.pop(0)
    chosen_for = mutation_order.selection(root / "tests" / "mutation" / "selection.yaml")
    stats = json.loads(stats_path.read_text(encoding="utf-8"))
    dropped = 0
    for function, tests in stats["tests_by_mangled_function_name"].items():
        patterns = chosen_for.get(mutation_order.module_of(function) or "")
        if patterns is None:
            continue
        kept = [t for t in tests if mutation_order.chosen(t, patterns)]
        dropped += len(tests) - len(kept)
        stats["tests_by_mangled_function_name"][function] = kept
    stats_path.write_text(json.dumps(stats), encoding="utf-8")
    return dropped


def refresh_copies(root: Path = ROOT) -> list[str]:
    """mutmut copies the package's unmutated files (engine.py, the schemas, ...) into mutants/ once and
    never again, so after a change to one (a merge) the mutants would run against the old copy: every
    unmutated file whose content differs is copied again. Returns the paths refreshed."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]
    mutated = set(config["only_mutate"])
    refreshed = []
    for src in sorted((root / "cds_service").rglob("*")):
        rel = src.relative_to(root).as_posix()
        if not src.is_file() or "__pycache__" in src.parts or rel in mutated:
            continue
        copy = root / "mutants" / rel
        if copy.exists() and copy.read_bytes() != src.read_bytes():
            shutil.copy2(src, copy)
            refreshed.append(rel)
    return refreshed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="module", help=f"any of {', '.join(MODULES)}")
    parser.add_argument("--report-only", action="store_true", help="read the last results, run nothing")
    parser.add_argument("--min-score", type=float, default=90.0)
    parser.add_argument("--jobs", type=int, default=4,
                        help="mutmut's parallel test processes (more than the 2 cores: many mutants wait on sockets and deadlines)")
    parser.add_argument("--again", action="store_true", help="re-run only the mutants not killed in the last run")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.modules) - set(MODULES))
    if unknown:
        parser.error(f"not a mutated module: {', '.join(unknown)}")
    modules = list(args.modules) or list(MODULES)
    elapsed = None
    if not args.report_only:
        mutmut = Path(sys.executable).with_name("mutmut")
        started = time.monotonic()
        refresh_copies()
        narrow_stats()
        # nice: the machine is shared; mutmut forks one test process per mutant.
        names = not_killed(modules) if args.again else [f"cds_service.{m}.*" for m in modules]
        if names:
            subprocess.run(["nice", "-n", "15", str(mutmut), "run", "--max-children", str(args.jobs), *names],
                           cwd=ROOT, check=False)
        elapsed = time.monotonic() - started
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = used.ru_utime + used.ru_stime
        return report(modules, elapsed, args.min_score, cpu)
    return report(modules, elapsed, args.min_score)


if __name__ == "__main__":
    sys.exit(main())
