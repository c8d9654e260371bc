"""The cds-service command: check, evaluate."""
from __future__ import annotations

import json
import shutil

from cds_service import cli
from cds_service.config import REPO_ROOT


def test_check_passes_on_the_shipped_knowledge(capsys):
    assert cli.main(["check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: ") and " value sets (" in out and "5 medication classes" in out


def _copy(tmp_path):
    for name in ("valuesets", "knowledge", "cards", "questionnaires"):
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


def test_check_fails_without_the_incomplete_record_line(tmp_path, capsys):
    base = _copy(tmp_path)
    path = base / "cards" / "_common.yaml"
    path.write_text("\n".join(l for l in path.read_text().splitlines() if not l.startswith("incomplete_record")))
    assert cli.main(["check", "--dir", str(base)]) == 1
    assert "incomplete_record is required" in capsys.readouterr().err


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


def _edit(base, relative: str, old: str, new: str) -> None:
    path = base / relative
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_check_rejects_a_variant_without_sources(tmp_path, capsys):
    base = _copy(tmp_path)
    _edit(base, "cards/neurogenic-claudication.yaml", "    sources: [sbns-bass-2018, nice-cks-sciatica, nass-2013]\n", "")
    assert cli.main(["check", "--dir", str(base)]) == 1
    assert "cards/neurogenic-claudication.yaml:24: variants[0].sources: sources is required" in capsys.readouterr().err


def test_check_rejects_a_source_that_is_not_a_link(tmp_path, capsys):
    base = _copy(tmp_path)
    _edit(base, "cards/neurogenic-claudication.yaml", "    sources: [sbns-bass-2018, nice-cks-sciatica, nass-2013]\n", "    sources: [made-up]\n")
    assert cli.main(["check", "--dir", str(base)]) == 1
    assert "source 'made-up' is not one of the template's links" in capsys.readouterr().err


def test_check_rejects_an_order_without_a_reason(tmp_path, capsys):
    base = _copy(tmp_path)
    _edit(base, "cards/venous-claudication.yaml", '    reason: "{where} signs consistent with venous claudication"\n', "")
    assert cli.main(["check", "--dir", str(base)]) == 1
    assert "the variant needs a reason" in capsys.readouterr().err


def test_check_rejects_a_link_without_an_id(tmp_path, capsys):
    base = _copy(tmp_path)
    _edit(base, "cards/venous-claudication.yaml", "  - id: wells-2003\n    label:", "  - label:")
    assert cli.main(["check", "--dir", str(base)]) == 1
    assert "links[0].id: id is required" in capsys.readouterr().err


def test_check_rejects_an_unknown_sign_in_abi_reading(tmp_path, capsys):
    base = _copy(tmp_path)
    _edit(base, "knowledge/patterns.yaml", "wound_any: [neuropathic-ulcer, ischaemic-ulcer, foot-or-leg-ulcer, diabetic-foot-ulcer]",
          "wound_any: [made-up-wound]")
    assert cli.main(["check", "--dir", str(base)]) == 1
    assert "abi_reading.not_reassuring.wound_any[0]: unknown sign 'made-up-wound'" in capsys.readouterr().err


def test_check_rejects_abi_reading_without_a_source(tmp_path, capsys):
    base = _copy(tmp_path)
    _edit(base, "knowledge/patterns.yaml", "  measurement: ankle-brachial-index\n  source:", "  measurement: ankle-brachial-index\n  sauce:")
    assert cli.main(["check", "--dir", str(base)]) == 1
    err = capsys.readouterr().err
    assert "abi_reading.sauce: unknown key" in err and "abi_reading.source: source is required" in err


def test_check_rejects_a_bad_dvt_status(tmp_path, capsys):
    base = _copy(tmp_path)
    _edit(base, "knowledge/patterns.yaml", "  new_within_days: 30", "  new_within_days: 0")
    _edit(base, "knowledge/patterns.yaml", "  dvt: deep-vein-thrombosis", "  dvt: deep-vein-thrombus")
    assert cli.main(["check", "--dir", str(base)]) == 1
    assert "dvt_status.new_within_days: 0 is less than the minimum of 1" in capsys.readouterr().err
    _edit(base, "knowledge/patterns.yaml", "  new_within_days: 0", "  new_within_days: 30")  # the schema first, then references
    assert cli.main(["check", "--dir", str(base)]) == 1
    assert "dvt_status.dvt: unknown sign 'deep-vein-thrombus'" in capsys.readouterr().err


def test_check_rejects_a_suggestion_source_that_is_not_a_link(tmp_path, capsys):
    base = _copy(tmp_path)
    _edit(base, "cards/neurogenic-claudication.yaml", "diabetic-peripheral-angiopathy]\n    sources: [ada-2025]",
          "diabetic-peripheral-angiopathy]\n    sources: [ada-2052]")
    assert cli.main(["check", "--dir", str(base)]) == 1
    assert "suggestions.foot-exam.sources[0]: source 'ada-2052' is not one of the template's links" in capsys.readouterr().err


def test_check_rejects_a_conditional_consider_line_with_an_unknown_key(tmp_path, capsys):
    base = _copy(tmp_path)
    _edit(base, "cards/venous-claudication.yaml", "when: {situations_any: [dvt-history]}", "when: {situation: [dvt-history]}")
    assert cli.main(["check", "--dir", str(base)]) == 1
    assert ".when.situation: unknown key" in capsys.readouterr().err


def _serve(tmp_path, **env):
    """``cds-service serve`` in a child process with only these CDS_* variables; the timeout only
    guards the suite against a service that wrongly starts."""
    import os
    import subprocess
    import sys
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    clean.update(CDS_DATABASE_URL=f"sqlite:///{tmp_path}/cli.db", CDS_KNOWLEDGE_DIR=str(REPO_ROOT), **env)
    return subprocess.run([sys.executable, "-m", "cds_service.cli", "serve", "--port", "0", "--workers", "1"],
                          env=clean, capture_output=True, text=True, timeout=60)


def test_production_start_problems_are_one_line_and_no_traceback(tmp_path):
    clients = tmp_path / "clients.json"
    clients.write_text(json.dumps({"clients": [{"iss": "https://ehr.example.org", "algorithms": ["ES384"],
                                                "jwks_url": "http://ehr.example.org/jwks.json"}]}))
    prod = {"CDS_ENV": "production", "CDS_TRUSTED_CLIENTS": str(clients)}
    for env, message in (({}, "needs CDS_PUBLIC_BASE_URL"),
                         ({"CDS_PUBLIC_BASE_URL": "https://cds.example.org"}, "jwks_url must be https")):
        result = _serve(tmp_path, **prod, **env)
        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr, result.stderr


def test_check_counts_the_order_rules(capsys):
    assert cli.main(["check"]) == 0
    assert "3 order card templates" in capsys.readouterr().out


def test_check_fails_on_a_broken_order_rule(tmp_path, capsys):
    base = _copy(tmp_path)
    path = base / "knowledge" / "order-rules.yaml"
    path.write_text(path.read_text().replace("critical_below: 0.6", "critical_below: 0.9"))
    assert cli.main(["check", "--dir", str(base)]) == 1
    assert "abi thresholds must rise" in capsys.readouterr().err


def test_evaluate_dispatches_an_order_request_to_the_order_pipeline(capsys):
    example = REPO_ROOT / "examples" / "orders" / "cilostazol-heart-failure-sandbox.json"
    assert cli.main(["evaluate", "--now", "2026-11-27T12:00:00Z", str(example)]) == 0
    (card,) = json.loads(capsys.readouterr().out)["cards"]
    assert card["source"]["topic"]["code"] == "cilostazol-heart-failure"


def test_evaluate_links_the_questions_only_when_told_where_the_service_is(capsys):
    example = str(REPO_ROOT / "examples" / "leg-pain-ask-the-questions.json")
    assert cli.main(["evaluate", "--now", "2026-11-27T12:00:00Z", example]) == 0
    (card,) = json.loads(capsys.readouterr().out)["cards"]
    assert card["source"]["topic"]["code"] == "leg-pain-questions" and "links" not in card
    assert cli.main(["evaluate", "--now", "2026-11-27T12:00:00Z", "--base-url", "https://cds.example.org", example]) == 0
    (card,) = json.loads(capsys.readouterr().out)["cards"]
    assert card["links"][0]["url"] == "https://cds.example.org/questionnaires/leg-pain-on-walking"


def test_serve_shares_one_socket_unless_asked_to_reuse_the_port():
    import argparse
    base = dict(host="127.0.0.1", port=8080, workers=2, threads=32)
    assert cli.gunicorn_settings(argparse.Namespace(**base, reuse_port=False), "INFO")["reuse_port"] is False
    assert cli.gunicorn_settings(argparse.Namespace(**base, reuse_port=True), "INFO")["reuse_port"] is True
    assert cli.gunicorn_settings(argparse.Namespace(**base, reuse_port=False), "INFO")["logger_class"].__name__ == "NoAccessLog"


def test_serve_with_reuse_port_shares_connections_out_among_its_workers(tmp_path):
    from bench import bodies, load
    body = bodies.write(tmp_path / "body.json", bodies.prefetch_body(10))
    server = load.Server(workers=2, threads=2, args=("--reuse-port",))
    try:
        for _ in range(3):  # the kernel hashes each connection to a socket: 8 of them all on one worker is unlikely
            row = server.run_measured(server.url + "/cds-services/leg-pain-claudication", body, 8, 0.5)
            if len(row.worker_share) == 2 and min(row.worker_share) > 0:
                break
        assert row.errors == 0 and row.requests > 0 and min(row.worker_share) > 0
    finally:
        assert server.stop() == 0
