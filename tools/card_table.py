"""Print a Markdown table of the cards for the examples and the issue-14 rule cases, per code checkout.

Usage: ``python tools/card_table.py [ROOT ...]`` (default: this checkout). Each ROOT is a checkout
of the service (for a before/after table, one of main and this branch); the requests come from
tests/cases.py of *this* checkout, dated as of tools/make_examples.EXAMPLES_NOW, and each ROOT
evaluates them with ``cds-service evaluate --now`` in its own process.
"""
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tools"))
import builders  # noqa: E402
import cases  # noqa: E402
from make_examples import EXAMPLES_NOW  # noqa: E402

NOW = "2026-11-27T12:00:00Z"


def requests(folder: Path) -> list[str]:
    builders.NOW = EXAMPLES_NOW
    names = []
    for name in cases.CASES:
        body = builders.hook_request(cases.resources_for(name, "example-patient"), patient="example-patient")
        (folder / f"{name}.json").write_text(json.dumps(body))
        names.append(name)
    for name in cases.RULE_CASES:
        body = builders.hook_request(cases.rule_resources(name, "example-patient"), patient="example-patient")
        body["hookInstance"] = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
        (folder / f"{name}.json").write_text(json.dumps(body))
        names.append(name)
    return names


def cards(root: Path, request: Path) -> str:
    code = "import sys; from cds_service.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": str(root), "CDS_KNOWLEDGE_DIR": str(root)}
    out = subprocess.run([sys.executable, "-c", code, "evaluate", "--now", NOW, str(request)], cwd=root, env=env,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return f"error: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}"
    shown = []
    for card in json.loads(out.stdout).get("cards", []):
        labels = [s["label"] for s in card.get("suggestions", ())]
        shown.append(f"{card['indicator']}: {card['summary']}" + (f" [{'; '.join(labels)}]" if labels else ""))
    return "<br>".join(shown) or "(no card)"


def main(roots: list[Path]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        names = requests(folder)
        print("| case | " + " | ".join(r.name for r in roots) + " |")
        print("|---" * (len(roots) + 1) + "|")
        for name in names:
            row = [cards(r, folder / f"{name}.json").replace("|", "/") for r in roots]
            print(f"| {name} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main([Path(a).resolve() for a in sys.argv[1:]] or [ROOT])
