"""Issue 24: the application wiring (app.create_app) pinned, one rule per test: which paths are
open under authentication, what each error answer says, and what the request log and metrics record."""
from __future__ import annotations

import json
import logging

import pytest

from cds_service.app import create_app
from cds_service.errors import DatabaseUnavailable, Unauthorized
from cds_service.auth import VerifiedClient
from builders import hook_request
from test_metrics import value

SERVICE = "/cds-services/leg-pain-claudication"


class _Gate:
    """An authenticator that lets through exactly the token "good" and records what it was asked to check."""

    def __init__(self, down: bool = False):
        self.paths: list[str] = []
        self.down = down

    def verify(self, request):
        self.paths.append(request.path)
        if self.down:
            raise DatabaseUnavailable("the token replay check is unavailable; try again shortly", "replay-check")
        if request.headers.get("Authorization") != "Bearer good":
            exc = Unauthorized("unknown kid")
            exc.log_fields = {"iss": "https://ehr.example.org", "tenant": "t1", "jti": "j-1"}
            raise exc
        return VerifiedClient(iss="https://ehr.example.org", tenant=None, jti="j-1", fhir_servers=())


@pytest.fixture
def gate():
    return _Gate()


@pytest.fixture
def gated(settings, knowledge, gate):
    return create_app(settings, knowledge=knowledge, authenticator=gate)


def _outcome(response) -> tuple[str, str]:
    issue = response.get_json()["issue"][0]
    return issue["code"], issue["diagnostics"]


# ---------------------------------------------------------------- what authentication guards
@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json",
                                  "/questionnaires/leg-pain-on-walking", "/app/launch"])
def test_rule_probes_metrics_the_openapi_document_the_questionnaire_and_the_app_are_open(gated, gate, path):
    gated.test_client().get(path)
    assert gate.paths == []


@pytest.mark.parametrize("path", ["/cds-services", "/healthz/x", "/questionnaires", "/application", "/metricsx"])
def test_rule_every_other_path_needs_a_token(gated, gate, path):
    response = gated.test_client().get(path)
    assert response.status_code == 401 and gate.paths == [path]


def test_rule_a_preflight_is_never_asked_for_a_token(gated, gate):
    gated.test_client().options(SERVICE)
    assert gate.paths == []


def test_rule_the_request_log_names_the_caller_and_the_time_authentication_took(gated, caplog):
    caplog.set_level(logging.INFO, logger="cds_service.request")
    assert gated.test_client().post(SERVICE, json=hook_request([]), headers={"Authorization": "Bearer good"}).status_code == 200
    (record,) = [r for r in caplog.records if r.name == "cds_service.request"]
    assert record.iss == "https://ehr.example.org" and record.auth_ms >= 0
    assert (record.method, record.endpoint, record.status) == ("POST", "/cds-services/{id}", 200)


def test_rule_a_refusal_is_logged_with_its_reason_and_the_tokens_iss_tenant_and_jti_and_counted(gated, caplog):
    caplog.set_level(logging.INFO)
    client = gated.test_client()
    response = client.post(SERVICE, json=hook_request([]), headers={"Authorization": "Bearer bad"})
    assert response.status_code == 401 and _outcome(response) == ("login", "Unauthorized")
    (record,) = [r for r in caplog.records if r.name == "cds_service.auth"]
    assert record.getMessage() == "unauthorized" and record.levelno == logging.WARNING
    assert (record.reason, record.iss, record.tenant, record.jti) == ("unknown kid", "https://ehr.example.org", "t1", "j-1")
    (request_line,) = [r for r in caplog.records if r.name == "cds_service.request"]
    assert request_line.error == "login"
    assert value(client.get("/metrics").data.decode(), "cds_auth_failures_total") == 1


def test_rule_a_replay_check_outage_is_a_503_counted_by_use(settings, knowledge):
    app = create_app(settings, knowledge=knowledge, authenticator=_Gate(down=True))
    client = app.test_client()
    assert client.post(SERVICE, json=hook_request([])).status_code == 503
    text = client.get("/metrics").data.decode()
    assert value(text, "cds_database_unavailable_total", use="replay-check") == 1
    assert value(text, "cds_auth_failures_total") == 0


# ---------------------------------------------------------------- error answers (OperationOutcome, never a 500 page)
def test_rule_an_unknown_path_is_404_not_found_and_logged_as_unmatched(client, caplog):
    caplog.set_level(logging.INFO, logger="cds_service.request")
    response = client.get("/nowhere")
    assert response.status_code == 404 and _outcome(response) == ("not-found", "no such endpoint")
    (record,) = [r for r in caplog.records if r.name == "cds_service.request"]
    assert record.endpoint == "unmatched"
    assert value(client.get("/metrics").data.decode(), "cds_http_requests_total", endpoint="unmatched", method="GET",
                 status="404") == 1


def test_rule_a_wrong_method_is_405_naming_the_allowed_ones(client):
    response = client.get(SERVICE)
    assert response.status_code == 405 and _outcome(response) == ("not-supported", "method not allowed on this endpoint")
    assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}


def test_rule_a_body_over_the_limit_is_413_naming_the_limit(settings, knowledge):
    app = create_app(settings.with_overrides(max_body_bytes=2048), knowledge=knowledge)
    assert app.config["MAX_CONTENT_LENGTH"] == 2048
    response = app.test_client().post(SERVICE, data=b"{" + b" " * 4096 + b"}", content_type="application/json")
    assert response.status_code == 413
    assert _outcome(response) == ("too-costly", "request body is larger than 2048 bytes")


def test_rule_the_body_read_has_a_deadline_of_three_read_timeouts(settings, knowledge):
    app = create_app(settings, knowledge=knowledge, body_read_timeout_s=4.0)
    body = app.wsgi_app.app  # the collector pause is outermost (issue 23); the buffered body reader inside it
    assert (body.max_bytes, body.read_timeout_s, body.deadline_s) == (settings.max_body_bytes, 4.0, 12.0)


def test_rule_a_body_not_declared_json_is_415_not_supported(client):
    response = client.post(SERVICE, data=b"{}", content_type="text/plain")
    assert response.status_code == 415 and _outcome(response)[0] == "not-supported"


class _Broken:
    def __call__(self, request, client=None):
        raise RuntimeError("a message quoting pat-1")


def test_rule_an_unexpected_error_is_a_500_outcome_logged_by_type_and_place_only(settings, knowledge, caplog):
    caplog.set_level(logging.INFO, logger="cds_service.request")
    app = create_app(settings, knowledge=knowledge, fetcher_factory=_Broken())
    body = hook_request([], fhirServer="https://fhir.example.org/r4")
    del body["prefetch"]
    response = app.test_client().post(SERVICE, json=body)
    assert response.status_code == 500
    assert _outcome(response) == ("exception", "internal error; the request was not processed")
    (record,) = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert record.levelno == logging.ERROR and record.error_type == "RuntimeError"
    assert record.where.startswith(__file__) and record.where.rsplit(":", 1)[1].isdigit()
    assert "pat-1" not in json.dumps({k: str(v) for k, v in record.__dict__.items() if k != "exc_info"})


def test_rule_discovery_keeps_the_declared_key_order(client):
    """JSON answers are not re-sorted: a reader sees hook and id first, as the specification lists them."""
    service = json.loads(client.get("/cds-services").data)["services"][0]
    assert list(service)[:3] == ["hook", "id", "title"]


def test_rule_the_engine_remembers_screening_in_the_apps_own_store(app):
    """The screening card's once-per-period rule reads the same store the app keeps its snoozes in."""
    services = app.extensions["cds"]
    assert services.engine.memory is services.store and services.store is not None


def test_rule_answers_keep_the_order_the_service_wrote_not_sorted_keys(client):
    from builders import SCT, condition, hook_request
    response = client.post("/cds-services/leg-pain-claudication", json=hook_request([condition(SCT, "63491006")]))
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith('{"cards":[{"uuid":')  # uuid, summary, indicator... as built
    refused = client.post("/cds-services/leg-pain-claudication", data=b"{", content_type="application/json")
    assert refused.status_code == 400
    assert refused.get_data(as_text=True).startswith('{"resourceType":"OperationOutcome","issue":')


def test_rule_without_knowledge_given_the_app_loads_the_configured_knowledge_folder(settings, knowledge):
    from cds_service.app import create_app
    loaded = create_app(settings).extensions["cds"].engine.knowledge
    assert loaded.version == knowledge.version and settings.knowledge_dir is not None
