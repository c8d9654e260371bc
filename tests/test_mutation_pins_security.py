"""Issue 24: allow-lists, key expiry, replay and CORS on refusals, pinned through the Flask app with real tokens.

Each test names the rule it pins and was checked by making the one-line change by hand (in
fhir_client, auth or app) and seeing it fail.
"""
from __future__ import annotations

import json
import re
import time
import uuid

import jwt
import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import ec

from cds_service.app import create_app
from builders import bundle, hook_request

SERVICE = "/cds-services/leg-pain-claudication"
AUD = "http://localhost" + SERVICE
INLINE_ISS = "https://ehr.example.org"
REMOTE_ISS = "https://remote.example.org"
JWKS_URL = "https://remote.example.org/jwks.json"
ALLOWED_FHIR = "https://ehr.example.org/fhir"
ORIGIN = "https://ehr.example.org"


@pytest.fixture
def settings(settings):
    """A deadline no loaded machine reaches: these tests pin what is fetched, not how fast (2 shared cores)."""
    return settings.with_overrides(fhir_deadline_ms=30_000, fhir_timeout_ms=30_000)


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP384R1())


def _jwk(private, kid: str) -> dict:
    data = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    data.update(kid=kid, alg="ES384", use="sig")
    return data


def _token(private, *, kid: str = "k1", iss: str = INLINE_ISS, lifetime: int = 300, iat_shift: int = 0,
           header: dict | None = None, **claims) -> str:
    now = int(time.time()) + iat_shift
    payload = {"iss": iss, "aud": AUD, "iat": now, "exp": now + lifetime, "jti": str(uuid.uuid4()), **claims}
    return jwt.encode(payload, private, algorithm="ES384", headers={"kid": kid, "typ": "JWT", **(header or {})})


@pytest.fixture
def auth_settings(settings, tmp_path, key):
    clients = {"clients": [
        {"iss": INLINE_ISS, "jwks": {"keys": [_jwk(key, "k1")]}, "algorithms": ["ES384"], "fhir_servers": [ALLOWED_FHIR]},
        {"iss": REMOTE_ISS, "jwks_url": JWKS_URL, "algorithms": ["ES384"]},
    ]}
    path = tmp_path / "clients.json"
    path.write_text(json.dumps(clients))
    return settings.with_overrides(auth="required", trusted_clients=path, cors_origins=(ORIGIN,))


def _post(app, token: str | None, body=None, headers=None):
    head = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    return app.test_client().post(SERVICE, json=body if body is not None else hook_request([]), headers=head)


# ---------------------------------------------------------------- FHIR-server allow-list (fhir_client.server_allowed)
def _fallback_body(server: str) -> dict:
    body = hook_request([], fhirServer=server, fhirAuthorization={"access_token": "tok", "token_type": "Bearer",
                                                                  "expires_in": 300, "scope": "patient/*.read",
                                                                  "subject": "cds"})
    del body["prefetch"]
    return body


def _serve(base: str) -> None:
    responses.add(responses.GET, re.compile(re.escape(base.rstrip("/")) + r"/\w+\?"), json=bundle([]))


@pytest.mark.parametrize("server", [
    "https://ehr.example.org.evil.example/fhir",  # look-alike host that starts with the allowed one
    "https://ehr.example.org/fhir-evil",          # same host, a path that merely starts the same
    "https://ehr.example.org/fhirx",
    "https://ehr.example.org",                    # the host alone is not the configured base
])
@responses.activate
def test_rule_a_clients_fhir_server_allow_list_does_not_match_by_string_prefix(auth_settings, knowledge, key, server):
    """Even with the development default that allows any server, a client's own list decides."""
    assert auth_settings.fhir_allow_any_server
    _serve(server)
    response = _post(create_app(auth_settings, knowledge=knowledge), _token(key), _fallback_body(server))
    assert response.status_code == 412
    assert "not configured for this client" in response.get_json()["issue"][0]["diagnostics"]
    assert len(responses.calls) == 0  # the token never went there


@pytest.mark.parametrize("server", [ALLOWED_FHIR, ALLOWED_FHIR + "/", ALLOWED_FHIR + "/tenant-a"])
@responses.activate
def test_rule_the_configured_fhir_server_and_paths_under_it_are_allowed(auth_settings, knowledge, key, server):
    _serve(server)
    response = _post(create_app(auth_settings, knowledge=knowledge), _token(key), _fallback_body(server))
    assert response.status_code == 200
    assert responses.calls and all(c.request.url.startswith(server.rstrip("/") + "/") for c in responses.calls)


@responses.activate
def test_rule_without_an_allow_list_production_refuses_every_fhir_server(auth_settings, knowledge, key):
    settings = auth_settings.with_overrides(fhir_allow_any_server=False)
    _serve("https://ehr.example.org/other")
    # the remote client has no fhir_servers of its own
    responses.get(JWKS_URL, json={"keys": [_jwk(key, "k1")]})
    response = _post(create_app(settings, knowledge=knowledge), _token(key, iss=REMOTE_ISS),
                     _fallback_body("https://ehr.example.org/other"))
    assert response.status_code == 412
    assert [c.request.url for c in responses.calls] == [JWKS_URL]


# ---------------------------------------------------------------- JWKS cache lifetime (auth.key_for)
@responses.activate
def test_rule_the_jwks_cache_expires_so_a_revoked_key_stops_working(auth_settings, knowledge, key):
    """With a zero lifetime every use rereads the key set: a key the client withdrew is refused."""
    app = create_app(auth_settings.with_overrides(jwks_cache_s=0, jwks_refetch_cooldown_s=0), knowledge=knowledge)
    responses.get(JWKS_URL, json={"keys": [_jwk(key, "old")]})
    assert _post(app, _token(key, kid="old", iss=REMOTE_ISS)).status_code == 200
    responses.replace(responses.GET, JWKS_URL, json={"keys": [_jwk(key, "new")]})
    assert _post(app, _token(key, kid="old", iss=REMOTE_ISS)).status_code == 401
    assert len(responses.calls) == 2


@responses.activate
def test_rule_within_its_lifetime_the_jwks_cache_is_used(auth_settings, knowledge, key):
    app = create_app(auth_settings.with_overrides(jwks_cache_s=3600, jwks_refetch_cooldown_s=0), knowledge=knowledge)
    responses.get(JWKS_URL, json={"keys": [_jwk(key, "old")]})
    assert _post(app, _token(key, kid="old", iss=REMOTE_ISS)).status_code == 200
    responses.replace(responses.GET, JWKS_URL, json={"keys": [_jwk(key, "new")]})
    assert _post(app, _token(key, kid="old", iss=REMOTE_ISS)).status_code == 200
    assert len(responses.calls) == 1


# ---------------------------------------------------------------- replay check (auth._verify + store)
def test_rule_the_replay_check_fails_closed_when_the_database_is_down(auth_settings, knowledge, key):
    """No record of the token id can be written: the call is refused (503: the service cannot judge it), never let through."""
    from cds_service.store import Store, seen_jti_table
    store = Store(auth_settings.database_url)
    app = create_app(auth_settings, knowledge=knowledge, store=store)
    assert _post(app, _token(key)).status_code == 200
    with store.engine.begin() as conn:  # the replay table is gone: every write to it fails
        seen_jti_table.drop(conn)
    response = _post(app, _token(key))
    assert response.status_code == 503  # auth.py: without the replay check the token cannot be judged


# ---------------------------------------------------------------- CORS on refusals (app wiring)
def test_rule_a_401_carries_cors_headers_and_exposes_www_authenticate(auth_settings, knowledge):
    response = _post(create_app(auth_settings, knowledge=knowledge), None, headers={"Origin": ORIGIN})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "www-authenticate" in response.headers["Access-Control-Expose-Headers"].lower()
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path,body,status", [(SERVICE, {"hook": "patient-view"}, 400), ("/cds-services/none", None, 404)])
def test_rule_error_answers_carry_cors_headers_for_an_allowed_origin(settings, knowledge, path, body, status):
    app = create_app(settings.with_overrides(cors_origins=(ORIGIN,)), knowledge=knowledge)
    response = app.test_client().post(path, json=body if body is not None else hook_request([]), headers={"Origin": ORIGIN})
    assert response.status_code == status
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "www-authenticate" in response.headers["Access-Control-Expose-Headers"].lower()


# ---------------------------------------------------------------- token boundaries (auth._verify)
def test_rule_a_lifetime_of_exactly_the_limit_is_accepted_one_second_more_is_not(auth_settings, knowledge, key):
    app = create_app(auth_settings, knowledge=knowledge)
    limit = auth_settings.jwt_max_lifetime_s
    assert _post(app, _token(key, lifetime=limit)).status_code == 200
    assert _post(app, _token(key, lifetime=limit + 1)).status_code == 401


def test_rule_a_jti_of_255_characters_is_accepted_256_is_not(auth_settings, knowledge, key):
    app = create_app(auth_settings, knowledge=knowledge)
    assert _post(app, _token(key, jti="j" * 255)).status_code == 200
    assert _post(app, _token(key, jti="k" * 256)).status_code == 401
    assert _post(app, _token(key, jti="")).status_code == 401


def test_rule_an_iat_slightly_ahead_within_the_leeway_is_accepted(auth_settings, knowledge, key):
    """Clocks drift: an iat a few seconds ahead (well inside the leeway) is not a token from the future."""
    app = create_app(auth_settings, knowledge=knowledge)
    assert auth_settings.jwt_leeway_s >= 20
    assert _post(app, _token(key, iat_shift=auth_settings.jwt_leeway_s - 15)).status_code == 200
    assert _post(app, _token(key, iat_shift=auth_settings.jwt_leeway_s + 600)).status_code == 401


def test_rule_scheme_and_typ_are_case_insensitive_and_a_jku_equal_to_the_configured_url_is_accepted(
        auth_settings, knowledge, key):
    app = create_app(auth_settings, knowledge=knowledge)
    token = _token(key, header={"typ": "jwt"})
    response = app.test_client().post(SERVICE, json=hook_request([]), headers={"Authorization": f"bearer {token}"})
    assert response.status_code == 200
    with responses.RequestsMock() as mock:
        mock.get(JWKS_URL, json={"keys": [_jwk(key, "k1")]})
        assert _post(app, _token(key, iss=REMOTE_ISS, header={"jku": JWKS_URL})).status_code == 200
        assert _post(app, _token(key, iss=REMOTE_ISS, header={"jku": JWKS_URL + "?x"})).status_code == 401


def test_rule_a_tenant_outside_the_clients_list_is_refused(settings, tmp_path, knowledge, key):
    clients = {"clients": [{"iss": INLINE_ISS, "jwks": {"keys": [_jwk(key, "k1")]}, "algorithms": ["ES384"],
                            "tenants": ["t1"]}]}
    path = tmp_path / "tenants.json"
    path.write_text(json.dumps(clients))
    app = create_app(settings.with_overrides(auth="required", trusted_clients=path), knowledge=knowledge)
    assert _post(app, _token(key, tenant="t1")).status_code == 200
    assert _post(app, _token(key, tenant="t2")).status_code == 401
    assert _post(app, _token(key)).status_code == 401
