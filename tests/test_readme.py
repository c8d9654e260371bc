"""The README's examples work as written: the trusted-clients file passes the service's own schema,
and the "Calling it" commands run against a real `cds-service serve` (the feedback names a card
the call before it returned)."""
from __future__ import annotations

import json
import re
import subprocess

import pytest

from bench.load import Server
from cds_service.auth import load_clients
from cds_service.config import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def _block_after(heading: str, language: str) -> str:
    section = README.split(heading, 1)[1]
    match = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert match, f"no {language} block after {heading!r}"
    return match.group(1)


def test_the_trusted_clients_example_passes_the_schema(tmp_path):
    path = tmp_path / "clients.json"
    path.write_text(_block_after("### Trusted clients", "json"))
    clients = load_clients(path)
    assert [c.iss for c in clients] == ["https://ehr.example.org"]


@pytest.mark.timeout(120)
def test_the_calling_it_commands_run_and_the_feedback_names_a_real_card(tmp_path):
    script = _block_after("## Calling it", "sh")
    assert "<card uuid>" not in script
    server = Server(workers=1, env={"CDS_KNOWLEDGE_DIR": str(REPO_ROOT)})
    try:
        run = subprocess.run(["bash", "-euo", "pipefail", "-c", script.replace("localhost:8080", f"127.0.0.1:{server.port}")],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    finally:
        server.stop()
    assert run.returncode == 0, run.stderr
    out = run.stdout.replace(" ", "")
    cards = json.loads(out[out.index('{"cards"'):].split("\n", 1)[0].split('{"received"', 1)[0])["cards"]
    assert cards and '{"received":1,"stored":1}' in out
