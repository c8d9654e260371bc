"""Client JWT authentication: real tokens signed with keys generated here (EC P-384, RSA, EC P-256)."""
from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cds_service.app import create_app
from cds_service.auth import load_clients
from cds_service.config import ConfigError
from builders import hook_request

ISS = "https://ehr.example.org"
JWKS_URL = "https://ehr.example.org/jwks.json"
BASE = "http://localhost"
SERVICE = "/cds-services/leg-pain-claudication"


def _jwk(private, kid, alg):
    public = private.public_key()
    algo = jwt.algorithms.ECAlgorithm if alg.startswith("ES") else jwt.algorithms.RSAAlgorithm
    data = json.loads(algo.to_jwk(public))
    data.update(kid=kid, alg=alg, use="sig")
    return data


@pytest.fixture(scope="module")
def keys():
    return {"ES384": (ec.generate_private_key(ec.SECP384R1()), "k-es384"),
            "RS384": (rsa.generate_private_key(public_exponent=65537, key_size=2048), "k-rs384"),
            "ES256": (ec.generate_private_key(ec.SECP256R1()), "k-es256")}


@pytest.fixture
def clients_file(tmp_path, keys):
    jwks = {"keys": [_jwk(k, kid, alg) for alg, (k, kid) in keys.items()]}
    data = {"clients": [
        {"iss": ISS, "jwks": jwks, "algorithms": ["ES384", "RS384"], "tenants": ["t1"]},
        {"iss": "https://p256.example.org", "jwks": jwks, "algorithms": ["ES256"]},
        {"iss": "https://remote.example.org", "jwks_url": JWKS_URL, "algorithms": ["ES384"]},
    ]}
    path = tmp_path / "clients.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def auth_settings(settings, clients_file):
    return settings.with_overrides(auth="required", trusted_clients=clients_file, jwks_refetch_cooldown_s=60)


@pytest.fixture
def auth_app(auth_settings, knowledge):
    return create_app(auth_settings, knowledge=knowledge)


def token(keys, alg="ES384", *, iss=ISS, aud=BASE + SERVICE, lifetime=300, iat=None, header=None, drop=(), **claims):
    private, kid = keys[alg]
    now = int(time.time()) if iat is None else iat
    payload = {"iss": iss, "aud": aud, "iat": now, "exp": now + lifetime, "jti": str(uuid.uuid4()), "tenant": "t1"}
    payload.update(claims)
    for name in drop:
        payload.pop(name)
    head = {"kid": kid, "typ": "JWT", **(header or {})}
    return jwt.encode(payload, private, algorithm=alg, headers=head)


def call(app, tok=None, path=SERVICE, body=None):
    headers = {"Authorization": f"Bearer {tok}"} if tok else {}
    client = app.test_client()
    if path.endswith("/cds-services"):
        return client.get(path, headers=headers)
    return client.post(path, json=body if body is not None else hook_request([]), headers=headers)


def test_valid_tokens_are_accepted(auth_app, keys):
    assert call(auth_app, token(keys, "ES384")).status_code == 200
    assert call(auth_app, token(keys, "RS384")).status_code == 200
    assert call(auth_app, token(keys, "ES256", iss="https://p256.example.org")).status_code == 200


def test_discovery_and_feedback_need_a_token_too(auth_app, keys):
    assert call(auth_app, path="/cds-services").status_code == 401
    assert call(auth_app, token(keys, aud=BASE + "/cds-services"), path="/cds-services").status_code == 200
    fb = {"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-11-27T10:00:00Z"}]}
    assert call(auth_app, path=SERVICE + "/feedback", body=fb).status_code == 401
    assert call(auth_app, token(keys, aud=BASE + SERVICE + "/feedback"), path=SERVICE + "/feedback", body=fb).status_code == 200


def _none_token():
    payload = {"iss": ISS, "aud": BASE + SERVICE, "iat": int(time.time()), "exp": int(time.time()) + 60, "jti": "n"}
    return jwt.encode(payload, None, algorithm="none", headers={"kid": "k-es384", "typ": "JWT"})


def _hs256_with_public_key(keys):
    private, kid = keys["ES384"]
    pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    payload = {"iss": ISS, "aud": BASE + SERVICE, "iat": int(time.time()), "exp": int(time.time()) + 60, "jti": "h"}
    import hashlib, hmac, base64  # noqa: E401 - PyJWT refuses a PEM as an HMAC secret, so sign by hand like an attacker
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")  # noqa: E731
    head = enc(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = enc(json.dumps(payload).encode())
    sig = enc(hmac.new(pem, head + b"." + body, hashlib.sha256).digest())
    return (head + b"." + body + b"." + sig).decode()


def _bad_signature(keys):
    t = token(keys)
    head, body, sig = t.split(".")
    other = token(keys).split(".")[2]
    return ".".join([head, body, other])


def _unsigned(header: dict, payload: dict, signature: bytes = b"junk-signature") -> str:
    import base64
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    return ".".join([enc(json.dumps(header).encode()), enc(json.dumps(payload).encode()), enc(signature)])


def _mismatched(keys, alg, key_of):
    """A token any caller can make from public values: a trusted iss, the kid of a key of the
    other type, an alg the client allows, and a junk signature."""
    now = int(time.time())
    payload = {"iss": ISS, "aud": BASE + SERVICE, "iat": now, "exp": now + 60, "jti": str(uuid.uuid4()), "tenant": "t1"}
    return _unsigned({"alg": alg, "typ": "JWT", "kid": keys[key_of][1]}, payload)


CASES = {
    "no header": lambda k: None,
    "not a JWT": lambda k: "not-a-jwt",
    "bad signature": _bad_signature,
    "alg none": lambda k: _none_token(),
    "HS256 with the public key as secret": _hs256_with_public_key,
    "algorithm not allowed for the client": lambda k: token(k, "ES256"),
    "unknown kid": lambda k: token(k, header={"kid": "nope"}),
    "untrusted iss": lambda k: token(k, iss="https://evil.example.org"),
    "jku not the client's": lambda k: token(k, header={"jku": "https://evil.example.org/jwks.json"}),
    "wrong aud": lambda k: token(k, aud="https://elsewhere.example.org/cds-services/leg-pain-claudication"),
    "aud of another service": lambda k: token(k, aud=BASE + "/cds-services/other-service"),
    "expired": lambda k: token(k, iat=int(time.time()) - 600, lifetime=300),
    "iat in the future": lambda k: token(k, iat=int(time.time()) + 600, lifetime=300),
    "lifetime over the limit": lambda k: token(k, lifetime=7200),
    "missing jti": lambda k: token(k, drop=("jti",)),
    "missing exp": lambda k: token(k, drop=("exp",)),
    "wrong tenant": lambda k: token(k, tenant="t2"),
    "typ not JWT": lambda k: token(k, header={"typ": "at+jwt"}),
    "RS384 header on an EC key's kid": lambda k: _mismatched(k, "RS384", "ES384"),
    "ES384 header on an RSA key's kid": lambda k: _mismatched(k, "ES384", "RS384"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_failure_is_401_without_detail(auth_app, keys, case):
    response = call(auth_app, CASES[case](keys))
    assert response.status_code == 401, case
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["issue"][0]["diagnostics"] == "Unauthorized"


def test_replayed_jti_is_refused_also_on_another_worker(auth_settings, knowledge, keys):
    worker_a = create_app(auth_settings, knowledge=knowledge)
    worker_b = create_app(auth_settings, knowledge=knowledge)  # same database, another process in production
    t = token(keys)
    assert call(worker_a, t).status_code == 200
    assert call(worker_a, t).status_code == 401
    assert call(worker_b, t).status_code == 401


def test_preflight_health_and_metrics_stay_open(auth_app):
    c = auth_app.test_client()
    assert c.options(SERVICE, headers={"Origin": "https://x", "Access-Control-Request-Method": "POST"}).status_code == 200
    assert c.get("/healthz").status_code == 200
    assert c.get("/metrics").status_code == 200
    assert c.get("/questionnaires/leg-pain-on-walking").status_code == 200  # the link cards offer; no patient data
    assert c.get("/cds-services").status_code == 401  # while everything else still needs the JWT


def test_public_base_url_sets_the_expected_audience(auth_settings, knowledge, keys):
    app = create_app(auth_settings.with_overrides(public_base_url="https://cds.example.org"), knowledge=knowledge)
    assert call(app, token(keys)).status_code == 401
    assert call(app, token(keys, aud="https://cds.example.org" + SERVICE)).status_code == 200


def test_aud_may_be_a_list(auth_app, keys):
    assert call(auth_app, token(keys, aud=["https://other.example", BASE + SERVICE])).status_code == 200


@responses.activate
def test_jwks_is_fetched_once_and_cached(auth_app, keys):
    jwks = {"keys": [_jwk(keys["ES384"][0], "k-es384", "ES384")]}
    responses.get(JWKS_URL, json=jwks)
    for _ in range(10):
        assert call(auth_app, token(keys, iss="https://remote.example.org")).status_code == 200
    assert len(responses.calls) == 1


@responses.activate
def test_unknown_kid_flood_makes_a_bounded_number_of_fetches(auth_app, keys):
    responses.get(JWKS_URL, json={"keys": [_jwk(keys["ES384"][0], "k-es384", "ES384")]})
    assert call(auth_app, token(keys, iss="https://remote.example.org")).status_code == 200
    for i in range(50):
        assert call(auth_app, token(keys, iss="https://remote.example.org", header={"kid": f"rotated-{i}"})).status_code == 401
    assert len(responses.calls) <= 2


@responses.activate
def test_unknown_kid_triggers_a_refetch_after_rotation(auth_settings, knowledge, keys):
    app = create_app(auth_settings.with_overrides(jwks_refetch_cooldown_s=0), knowledge=knowledge)
    responses.get(JWKS_URL, json={"keys": [_jwk(keys["ES384"][0], "old", "ES384")]})
    assert call(app, token(keys, iss="https://remote.example.org", header={"kid": "old"})).status_code == 200
    responses.replace(responses.GET, JWKS_URL, json={"keys": [_jwk(keys["ES384"][0], "new", "ES384")]})
    assert call(app, token(keys, iss="https://remote.example.org", header={"kid": "new"})).status_code == 200


def test_an_invalid_trusted_clients_file_stops_the_service(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"clients": [{"iss": ISS, "algorithms": ["ES384"]}]}))
    with pytest.raises(ConfigError, match="invalid"):
        load_clients(path)
    path.write_text(json.dumps({"clients": [{"iss": ISS, "jwks_url": JWKS_URL, "algorithms": ["HS256"]}]}))
    with pytest.raises(ConfigError):
        load_clients(path)


def test_sandbox_keys_load_in_development(settings, knowledge):
    app = create_app(settings.with_overrides(auth="required", allow_sandbox=True), knowledge=knowledge)
    authenticator = app.extensions["cds"].authenticator
    assert "https://sandbox.cds-hooks.org" in authenticator.clients


@pytest.fixture
def keys_without_alg_file(tmp_path, keys):
    """JWKs as many EHRs publish them: no ``alg`` member, so only the key type says what fits."""
    jwks = {"keys": [{k: v for k, v in _jwk(priv, kid, alg).items() if k != "alg"} for alg, (priv, kid) in keys.items()]}
    path = tmp_path / "no-alg.json"
    path.write_text(json.dumps({"clients": [{"iss": ISS, "jwks": jwks, "algorithms": ["ES384", "RS384"]}]}))
    return path


@pytest.mark.parametrize("alg,key_of", [("RS384", "ES384"), ("ES384", "RS384")])
def test_mismatched_key_type_is_401_also_when_the_jwk_names_no_alg(settings, knowledge, keys, keys_without_alg_file,
                                                                  alg, key_of):
    app = create_app(settings.with_overrides(auth="required", trusted_clients=keys_without_alg_file), knowledge=knowledge)
    response = call(app, _mismatched(keys, alg, key_of))
    assert response.status_code == 401
    assert response.get_json()["issue"][0]["diagnostics"] == "Unauthorized"
    # the same keys still verify the tokens they did sign (RS384 is not RS256 by default)
    assert call(app, token(keys, "RS384")).status_code == 200
    assert call(app, token(keys, "ES384")).status_code == 200


# -- production --------------------------------------------------------------------------------
def test_production_never_takes_aud_from_the_host_header(auth_settings, knowledge, keys):
    """A token minted for another host, sent with that host in the Host header, is refused: the
    audience is CDS_PUBLIC_BASE_URL (start-up refuses production without it; even settings built
    in code without one refuse every token rather than trust Host)."""
    foreign = "http://evil.example.org"
    for public in (None, "https://cds.example.org"):
        app = create_app(auth_settings.with_overrides(env="production", public_base_url=public,
                                                      fhir_allow_any_server=False), knowledge=knowledge)
        response = app.test_client().post(SERVICE, json=hook_request([]), base_url=foreign, headers={
            "Host": "evil.example.org", "Authorization": f"Bearer {token(keys, aud=foreign + SERVICE)}"})
        assert response.status_code == 401, public
    assert call(app, token(keys, aud="https://cds.example.org" + SERVICE)).status_code == 200


def _client_file(tmp_path, **entry):
    path = tmp_path / "prod-clients.json"
    path.write_text(json.dumps({"clients": [{"iss": ISS, "algorithms": ["ES384"], **entry}]}))
    return path


@pytest.mark.parametrize("entry,message", [
    ({"jwks_url": "http://ehr.example.org/jwks.json"}, "jwks_url must be https"),
    ({"jwks_url": JWKS_URL, "fhir_servers": ["http://fhir.example.org/r4"]}, "must be https"),
])
def test_production_refuses_an_unsafe_trusted_client(settings, knowledge, tmp_path, entry, message):
    prod = settings.with_overrides(env="production", auth="required", public_base_url="https://cds.example.org",
                                   fhir_allow_any_server=False, fhir_require_https=True,
                                   trusted_clients=_client_file(tmp_path, **entry))
    with pytest.raises(ConfigError, match=message):
        create_app(prod, knowledge=knowledge)
    # development lets a local key server be http
    assert create_app(prod.with_overrides(env="development", fhir_require_https=False), knowledge=knowledge)


def test_production_accepts_a_safe_trusted_client(settings, tmp_path):
    from cds_service.auth import load_trusted_clients
    prod = settings.with_overrides(env="production", auth="required", public_base_url="https://cds.example.org",
                                   fhir_allow_any_server=False, fhir_require_https=True,
                                   trusted_clients=_client_file(tmp_path, jwks_url=JWKS_URL,
                                                                fhir_servers=["https://fhir.example.org/r4"]))
    assert [c.iss for c in load_trusted_clients(prod)] == [ISS]
