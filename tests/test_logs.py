"""Logs: one JSON line per request with stage timings, and never a token or patient data."""
from __future__ import annotations

import json
import logging

import responses

from cds_service import logs

from builders import PATIENT, SCT, condition, hook_request
from test_auth import BASE, SERVICE, auth_app, auth_settings, clients_file, keys, token  # noqa: F401 - fixtures

SECRET_PATIENT = "patient-zz-unique-4711"
ACCESS_TOKEN = "access-token-SECRET-9f8e7d"


def _all_log_text(caplog, capfd) -> str:
    parts = [capfd.readouterr().err]
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(json.dumps({k: str(v) for k, v in record.__dict__.items()}))
    return "\n".join(parts)


@responses.activate
def test_no_token_or_patient_data_in_any_log_line(auth_app, keys, caplog, capfd):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    responses.get("https://fhir.example.org/r4/Condition", status=500)
    responses.get("https://fhir.example.org/r4/Observation", status=500)
    responses.get("https://fhir.example.org/r4/Procedure", status=500)
    responses.get("https://fhir.example.org/r4/ServiceRequest", status=500)
    client = auth_app.test_client()
    good = token(keys)
    bad = token(keys, tenant="t2")
    marker = condition(SCT, "63491006", patient=SECRET_PATIENT, text="Calf pain of Mrs Example")
    ok_body = hook_request([marker], patient=SECRET_PATIENT)
    fetch_body = hook_request([], patient=SECRET_PATIENT, fhirServer="https://fhir.example.org/r4",
                              fhirAuthorization={"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 300,
                                                 "scope": "patient/*.read", "subject": "cds"})
    del fetch_body["prefetch"]
    bad_body = hook_request([], patient=SECRET_PATIENT)
    bad_body["context"]["userId"] = "Nobody/" + SECRET_PATIENT
    statuses = [
        client.post(SERVICE, json=ok_body, headers={"Authorization": f"Bearer {good}"}).status_code,
        client.post(SERVICE, json=ok_body, headers={"Authorization": f"Bearer {bad}"}).status_code,
        client.post(SERVICE, json=fetch_body, headers={"Authorization": f"Bearer {token(keys)}"}).status_code,
        client.post(SERVICE, json=bad_body, headers={"Authorization": f"Bearer {token(keys)}"}).status_code,
        client.post(SERVICE, data=b"{not json", headers={"Authorization": f"Bearer {token(keys)}",
                                                        "Content-Type": "application/json"}).status_code,
    ]
    assert statuses == [200, 401, 412, 400, 400]
    text = _all_log_text(caplog, capfd)
    assert "request" in text  # something was logged
    for secret in (good, bad, good.split(".")[1], ACCESS_TOKEN, SECRET_PATIENT, "Mrs Example", marker["id"]):
        assert secret not in text, secret


def test_one_log_line_per_request_with_stage_timings(client, caplog):
    caplog.set_level(logging.INFO, logger="cds_service.request")
    client.post("/cds-services/leg-pain-claudication", json=hook_request([condition(SCT, "63491006")]))
    (record,) = [r for r in caplog.records if r.name == "cds_service.request"]
    assert record.status == 200 and record.cards == 1 and record.hookInstance
    assert set(record.timings_ms) == {"request", "prefetch", "evaluation", "render", "governance"}  # no fetch: all prefetched
    assert record.endpoint == "/cds-services/{id}" and record.duration_ms > 0


def test_audit_log_is_opt_in(settings, knowledge, caplog):
    from cds_service.app import create_app
    caplog.set_level(logging.INFO, logger="cds_service.audit")
    body = hook_request([condition(SCT, "63491006")])
    fb = {"feedback": [{"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2026-11-27T10:00:00Z"}]}
    quiet = create_app(settings, knowledge=knowledge).test_client()
    quiet.post("/cds-services/leg-pain-claudication", json=body)
    assert not [r for r in caplog.records if r.name == "cds_service.audit"]
    loud = create_app(settings.with_overrides(audit_log=True), knowledge=knowledge).test_client()
    card = loud.post("/cds-services/leg-pain-claudication", json=body).get_json()["cards"][0]
    loud.post("/cds-services/leg-pain-claudication/feedback", json=fb)
    audit = [r for r in caplog.records if r.name == "cds_service.audit"]
    assert [r.getMessage() for r in audit] == ["card issued", "feedback"]
    assert audit[0].card == card["uuid"] and audit[0].topic == "arterial-claudication"
    assert "pat-1" not in str([r.__dict__ for r in audit])


@responses.activate
def test_fetch_time_is_logged_when_the_fhir_server_is_called(client, caplog):
    caplog.set_level(logging.INFO, logger="cds_service.request")
    for rtype in ("Condition", "Observation", "Procedure", "ServiceRequest"):
        responses.get(f"https://fhir.example.org/r4/{rtype}", json={"resourceType": "Bundle", "type": "searchset"})
    body = hook_request([], fhirServer="https://fhir.example.org/r4")
    del body["prefetch"]
    assert client.post("/cds-services/leg-pain-claudication", json=body).status_code == 200
    (record,) = [r for r in caplog.records if r.name == "cds_service.request"]
    assert record.timings_ms["fetch"] > 0 and record.timings_ms["prefetch"] >= record.timings_ms["fetch"]


def test_the_request_line_counts_unknown_leg_codes_and_names_none(client, caplog):
    from builders import ICD
    caplog.set_level(logging.INFO, logger="cds_service.request")
    client.post("/cds-services/leg-pain-claudication", json=hook_request(
        [condition(ICD, "I87.1", patient="pat-1"), condition(ICD, "I70.25"), condition(ICD, "I82.401")]))
    (record,) = [r for r in caplog.records if r.name == "cds_service.request"]
    assert record.unknown_codes == 1
    assert "I87.1" not in json.dumps({k: str(v) for k, v in record.__dict__.items()})


def test_the_request_line_counts_unknown_snomed_leg_codes_and_names_none(client, caplog):
    """The SNOMED CT side (unknown_snomed_codes): a listed leg code in no value set counts; a code the
    issue excludes by name (diabetic mononeuropathy) and a known one do not; neither code is logged."""
    caplog.set_level(logging.INFO, logger="cds_service.request")
    client.post("/cds-services/leg-pain-claudication", json=hook_request(
        [condition(SCT, "1208847002"), condition(SCT, "1290770000"), condition(SCT, "230577008"),
         condition(SCT, "404223003")]))
    (record,) = [r for r in caplog.records if r.name == "cds_service.request"]
    assert record.unknown_codes == 2
    line = json.dumps({k: str(v) for k, v in record.__dict__.items()})
    assert "1208847002" not in line and "1290770000" not in line and PATIENT not in line


def test_a_log_line_is_one_json_object_with_the_extra_fields():
    from pathlib import Path

    from cds_service.logs import JsonLines
    record = logging.makeLogRecord({"name": "cds_service.request", "levelname": "INFO", "levelno": 20, "msg": "request %s",
                                    "args": ("x",), "status": 200, "timings_ms": {"prefetch": 0.5}, "where": Path("/a")})
    line = json.loads(JsonLines().format(record))
    assert list(line)[:4] == ["time", "level", "logger", "message"]
    assert line["message"] == "request x" and line["status"] == 200 and line["timings_ms"] == {"prefetch": 0.5}
    assert line["where"] == "/a" and "args" not in line and "msg" not in line  # not serialisable: its str
    try:
        raise ValueError("boom")
    except ValueError:
        import sys
        record.exc_info = sys.exc_info()
    assert "ValueError: boom" in json.loads(JsonLines().format(record))["exc_info"]


def test_the_log_handler_writes_to_the_stderr_of_the_moment(monkeypatch):
    """The handler is made once per process; a stream kept from then (a test's capture, closed since)
    would turn every later record into a logging error."""
    import io
    import sys

    from cds_service import logs
    logs.configure()
    now = io.StringIO()
    monkeypatch.setattr(sys, "stderr", now)
    logging.getLogger("cds_service.request").warning("written where stderr is now")
    assert "written where stderr is now" in now.getvalue()


def test_a_failing_log_handler_never_prints_the_exception_being_handled(monkeypatch, capfd):
    """logging's default report of a failed emit prints the exception being handled, and a FHIR
    client's connection error names the search URL with the patient id in it."""
    import io
    import sys

    from cds_service import logs
    logs.configure()
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stderr", closed)
    try:
        raise ConnectionError(f"GET https://fhir.example.org/r4/Condition?patient={SECRET_PATIENT}")
    except ConnectionError:
        logging.getLogger("cds_service.fhir").warning("fhir server unreachable")
    monkeypatch.undo()
    err = capfd.readouterr().err
    assert "logging failed for a WARNING record of cds_service.fhir" in err
    assert SECRET_PATIENT not in err


def test_the_log_handler_follows_stderr_when_it_is_replaced(monkeypatch):
    """The handler is added once per process; a stderr replaced and closed since (a test's capture)
    must not turn later lines into "Logging error" tracebacks, which quote URLs and patient ids."""
    import io
    import sys

    from cds_service import logs
    root = logging.getLogger("cds_service")
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    logs.configure("INFO")
    first.close()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("cds_service.fhir").warning("fhir server unreachable", extra={"reason": "ConnectionError"})
    (line,) = second.getvalue().splitlines()
    assert json.loads(line)["message"] == "fhir server unreachable"


def test_the_gunicorn_logger_builds_no_access_line(monkeypatch):
    from gunicorn.config import Config
    logger = logs.gunicorn_logger_class()(Config())

    def atoms(*_args):
        raise AssertionError("the access line's fields were built")

    monkeypatch.setattr(logger, "atoms", atoms)
    assert logger.access(object(), object(), {}, 0.01) is None
    logger.error("still logs errors")  # its other loggers are gunicorn's own
