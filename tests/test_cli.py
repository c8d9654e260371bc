"""The cds-service command: check, evaluate."""
from __future__ import annotations

import json
import shutil

from cds_service import cli
from cds_service.config import REPO_ROOT


def test_check_passes_on_the_shipped_knowledge(capsys):
    assert cli.main(["check"]) == 0
    assert "ok: 43 value sets" in capsys.readouterr().out


def _copy(tmp_path):
    for name in ("valuesets", "knowledge", "cards"):
        shutil.copytree(REPO_ROOT / name, tmp_path / name)
    return tmp_path


def test_check_fails_on_a_broken_value_set(tmp_path, capsys):
    base = _copy(tmp_path)
    path = base / "valuesets" / "pallor.json"
    vs = json.loads(path.read_text())
    vs["compose"]["include"][0]["system"] = "http://example.org/made-up"
    path.write_text(json.dumps(vs))
    assert cli.main(["check", "--dir", str(base)]) == 1
    assert "pallor" in capsys.readouterr().err


def test_check_fails_on_a_broken_card_template(tmp_path, capsys):
    base = _copy(tmp_path)
    path = base / "cards" / "venous-claudication.yaml"
    path.write_text(path.read_text().replace("indicator: critical", "indicator: urgent"))
    assert cli.main(["check", "--dir", str(base)]) == 1
    assert "indicator" in capsys.readouterr().err


def test_check_fails_when_a_sign_has_no_value_set(tmp_path, capsys):
    base = _copy(tmp_path)
    (base / "valuesets" / "pallor.json").unlink()
    assert cli.main(["check", "--dir", str(base)]) == 1
    assert "'pallor' has no value set" in capsys.readouterr().err


def test_evaluate_prints_the_cards(capsys):
    code = cli.main(["evaluate", "--now", "2026-11-27T12:00:00Z", str(REPO_ROOT / "examples" / "venous-dvt-swelling.json")])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["cards"][0]["source"]["topic"]["code"] == "venous-claudication"


def test_evaluate_reports_a_bad_request_as_operation_outcome(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"hook": "patient-view"}')
    assert cli.main(["evaluate", str(bad)]) == 1
    assert json.loads(capsys.readouterr().out)["resourceType"] == "OperationOutcome"
