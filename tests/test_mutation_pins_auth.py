"""Issue 24: the client-JWT check (auth.Authenticator) pinned at its own level, one rule per test.

The app tests (test_auth, test_mutation_pins_security) see every refusal as the same 401. Here the
reason each refusal logs is pinned too: the operator reads it to tell an expired token from a
forged one, and a check that stopped firing would hide behind a later one with another reason.
"""
from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cds_service import auth as auth_mod
from cds_service.auth import Authenticator, TrustedClient, check_client_for_production
from cds_service.config import ConfigError
from cds_service.errors import DatabaseUnavailable, Unauthorized
from cds_service.store import StoreError

ISS = "https://ehr.example.org"
REMOTE = "https://remote.example.org"
JWKS_URL = "https://remote.example.org/jwks.json"
AUD = "https://cds.example.org/cds-services/leg-pain-claudication"


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(private, kid: str, alg: str) -> dict:
    algo = jwt.algorithms.ECAlgorithm if alg.startswith("ES") else jwt.algorithms.RSAAlgorithm
    data = json.loads(algo.to_jwk(private.public_key()))
    data.update(kid=kid, alg=alg, use="sig")
    return data


class Replay:
    """The store's replay record, as the authenticator uses it: what it was asked to remember."""

    def __init__(self, fresh: bool = True, down: bool = False):
        self.calls: list[tuple[str, float]] = []
        self.fresh, self.down = fresh, down

    def remember_jti(self, key: str, expires_at: float) -> bool:
        if self.down:
            raise StoreError("cannot record the token id (OperationalError)")
        self.calls.append((key, expires_at))
        return self.fresh


class KeyServer:
    """A requests.Session stand-in that records how the JWK Set was asked for."""

    def __init__(self, jwks: dict, status: int = 200):
        self.jwks, self.status = jwks, status
        self.calls: list[tuple[str, dict]] = []
        self.trust_env = True

    def get(self, url: str, **kwargs):
        self.calls.append((url, kwargs))
        response = requests.Response()
        response.status_code = self.status
        response._content = json.dumps(self.jwks).encode()
        return response


@pytest.fixture
def clients(ec_key, rsa_key):
    no_alg = {k: v for k, v in _jwk(ec_key, "e1", "ES384").items() if k != "alg"}
    inline = {"keys": [_jwk(ec_key, "k1", "ES384"), _jwk(rsa_key, "r1", "RS384"), no_alg]}
    return [TrustedClient(iss=ISS, algorithms=("ES384", "RS256", "RS384"), jwks=inline, tenants=("t1",)),
            TrustedClient(iss=REMOTE, algorithms=("ES384",), jwks_url=JWKS_URL)]


def _authenticator(settings, clients, store=None, http=None) -> Authenticator:
    return Authenticator(clients, store or Replay(), settings, http=http or KeyServer({"keys": []}))


def _token(private, alg: str = "ES384", *, kid: str = "k1", iss: str = ISS, header: dict | None = None,
           lifetime: int = 300, iat: int | None = None, drop: tuple = (), **claims) -> str:
    now = int(time.time()) if iat is None else iat
    payload = {"iss": iss, "aud": AUD, "iat": now, "exp": now + lifetime, "jti": "j-1", "tenant": "t1", **claims}
    for name in drop:
        payload.pop(name)
    return jwt.encode(payload, private, algorithm=alg, headers={"kid": kid, "typ": "JWT", **(header or {})})


def _unsigned(header: dict, payload: dict | None = None) -> str:
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    now = int(time.time())
    payload = payload or {"iss": ISS, "aud": AUD, "iat": now, "exp": now + 60, "jti": "j-1"}
    return ".".join([enc(json.dumps(header).encode()), enc(json.dumps(payload).encode()), enc(b"junk")])


def _reason(authenticator: Authenticator, token: str) -> str:
    with pytest.raises(Unauthorized) as refused:
        authenticator.verify_token(token, AUD)
    return refused.value.reason


# ---------------------------------------------------------------- each refusal, with the reason it logs
REFUSALS = {
    "alg none": (lambda k: _unsigned({"alg": "none", "typ": "JWT", "kid": "k1"}), "algorithm 'none' is never accepted"),
    "an HMAC alg no list names": (lambda k: _unsigned({"alg": "HS1", "typ": "JWT", "kid": "k1"}),
                                  "algorithm 'HS1' is never accepted"),
    "alg not a string": (lambda k: _unsigned({"alg": 5, "typ": "JWT", "kid": "k1"}), "algorithm 5 is never accepted"),
    "no typ": (lambda k: _unsigned({"alg": "ES384", "kid": "k1"}), "header typ must be JWT"),
    "typ of an access token": (lambda k: _token(k, header={"typ": "at+jwt"}), "header typ must be JWT"),
    "no kid": (lambda k: _unsigned({"alg": "ES384", "typ": "JWT"}), "header has no kid"),
    "empty kid": (lambda k: _unsigned({"alg": "ES384", "typ": "JWT", "kid": ""}), "header has no kid"),
    "kid not a string": (lambda k: _unsigned({"alg": "ES384", "typ": "JWT", "kid": 5}), "not a JWT"),  # PyJWT's own check
    "untrusted iss": (lambda k: _token(k, iss="https://evil.example.org"), "issuer is not trusted"),
    "iss not a string": (lambda k: _unsigned({"alg": "ES384", "typ": "JWT", "kid": "k1"}, {"iss": 5}),
                         "issuer is not trusted"),
    "alg the client does not list": (lambda k: _unsigned({"alg": "ES512", "typ": "JWT", "kid": "k1"}),
                                     "algorithm ES512 is not allowed for this client"),
    "jku elsewhere": (lambda k: _token(k, header={"jku": "https://evil.example.org/jwks.json"}),
                      "jku is not the client's configured JWK Set URL"),
    "unknown kid": (lambda k: _token(k, kid="nope"), "unknown kid"),
    "RSA alg on an EC key's kid": (lambda k: _unsigned({"alg": "RS384", "typ": "JWT", "kid": "k1"}),
                                   "invalid token (InvalidAlgorithmError)"),  # the JWK's alg binds it
    "RSA alg on the kid of an EC key without alg": (lambda k: _unsigned({"alg": "RS384", "typ": "JWT", "kid": "e1"}),
                                                    "the key for this kid cannot be used with RS384"),
    "expired": (lambda k: _token(k, iat=int(time.time()) - 900, lifetime=300), "token expired"),
    "aud elsewhere": (lambda k: _token(k, aud="https://cds.example.org/cds-services/other"), "aud is not the URL called"),
    "no jti": (lambda k: _token(k, drop=("jti",)), "missing claim jti"),
    "nbf ahead": (lambda k: _token(k, nbf=int(time.time()) + 900), "iat or nbf is in the future"),
    "iat not a number": (lambda k: _token_with_claims(k, iat="now"), "invalid token (InvalidIssuedAtError)"),
    "lifetime over the limit": (lambda k: _token(k, lifetime=7200), "token lifetime exceeds the limit"),
    "jti empty": (lambda k: _token(k, jti=""), "jti must be a non-empty string"),
    "jti a number": (lambda k: _token(k, jti=7), "invalid token (InvalidJTIError)"),  # PyJWT's own check
    "jti of 256 characters": (lambda k: _token(k, jti="j" * 256), "jti must be a non-empty string"),
    "tenant not the client's": (lambda k: _token(k, tenant="t2"), "tenant is not allowed for this client"),
    "no tenant for a client with tenants": (lambda k: _token(k, drop=("tenant",)), "tenant is not allowed for this client"),
}


def _token_with_claims(private, **claims) -> str:
    now = int(time.time())
    payload = {"iss": ISS, "aud": AUD, "iat": now, "exp": now + 60, "jti": "j-1", "tenant": "t1", **claims}
    return jwt.encode(payload, private, algorithm="ES384", headers={"kid": "k1", "typ": "JWT"})


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_rule_each_refusal_logs_its_own_reason(settings, clients, ec_key, case):
    make, reason = REFUSALS[case]
    assert _reason(_authenticator(settings, clients), make(ec_key)) == reason


def test_rule_a_signature_by_another_key_is_a_bad_signature(settings, clients):
    other = ec.generate_private_key(ec.SECP384R1())
    assert _reason(_authenticator(settings, clients), _token(other)) == "bad signature"


def test_rule_a_refusal_logs_iss_tenant_and_jti_and_nothing_that_is_not_a_string(settings, clients, ec_key):
    with pytest.raises(Unauthorized) as refused:
        _authenticator(settings, clients).verify_token(_token(ec_key, tenant="t2", jti="j-77"), AUD)
    assert refused.value.log_fields == {"iss": ISS, "tenant": "t2", "jti": "j-77"}
    with pytest.raises(Unauthorized) as refused:
        _authenticator(settings, clients).verify_token(_token(ec_key, iss=ISS, tenant=["t1"], jti="j-78", kid="nope"), AUD)
    assert refused.value.log_fields == {"iss": ISS, "tenant": None, "jti": "j-78"}


def test_rule_an_accepted_token_names_its_client_tenant_jti_and_servers(settings, ec_key):
    client = TrustedClient(iss=ISS, algorithms=("ES384",), jwks={"keys": [_jwk(ec_key, "k1", "ES384")]},
                           fhir_servers=("https://fhir.example.org/r4",))
    verified = _authenticator(settings, [client]).verify_token(_token(ec_key, jti="j-9"), AUD)
    assert (verified.iss, verified.tenant, verified.jti, verified.fhir_servers) == (
        ISS, "t1", "j-9", ("https://fhir.example.org/r4",))
    assert _authenticator(settings, [client]).verify_token(_token(ec_key, drop=("tenant",)), AUD).tenant is None


# ---------------------------------------------------------------- the key binds the algorithm (RFC 7517 §4.4)
def test_rule_a_key_published_for_rs384_does_not_verify_a_token_that_says_rs256(settings, clients, rsa_key):
    """The client allows RS256 and RS384, and the same RSA key could sign either: the JWK's own ``alg``
    decides, so a token whose header picks another algorithm for that kid is refused."""
    authenticator = _authenticator(settings, clients)
    assert authenticator.verify_token(_token(rsa_key, "RS384", kid="r1"), AUD).iss == ISS
    assert _reason(authenticator, _token(rsa_key, "RS256", kid="r1", jti="j-2")) == "invalid token (InvalidAlgorithmError)"


# ---------------------------------------------------------------- replay record (store.remember_jti)
def test_rule_the_replay_record_is_per_issuer_and_lasts_until_the_token_cannot_be_accepted(settings, clients, ec_key):
    replay = Replay()
    now = int(time.time())
    _authenticator(settings, clients, store=replay).verify_token(_token(ec_key, iat=now, lifetime=300, jti="j-5"), AUD)
    assert replay.calls == [(f"{ISS}|j-5", float(now + 300 + settings.jwt_leeway_s))]


def test_rule_a_replayed_jti_is_refused(settings, clients, ec_key):
    assert _reason(_authenticator(settings, clients, store=Replay(fresh=False)), _token(ec_key)) == "jti replayed"


def test_rule_the_replay_check_fails_closed_when_the_store_fails(settings, clients, ec_key):
    with pytest.raises(DatabaseUnavailable) as down:
        _authenticator(settings, clients, store=Replay(down=True)).verify_token(_token(ec_key), AUD)
    assert down.value.status == 503 and down.value.use == "replay-check"


# ---------------------------------------------------------------- fetching the JWK Set (auth._fetch, auth.key_for)
def test_rule_the_jwk_set_is_fetched_with_a_timeout_and_never_through_a_redirect(settings, clients, ec_key):
    """A redirect could hand the service an attacker's keys; a key server that never answers must not hold a worker."""
    server = KeyServer({"keys": [_jwk(ec_key, "k1", "ES384")]})
    authenticator = _authenticator(settings, clients, http=server)
    assert server.trust_env is False  # no ambient proxy between the service and the key server
    assert authenticator.verify_token(_token(ec_key, iss=REMOTE), AUD).iss == REMOTE
    ((url, kwargs),) = server.calls
    assert url == JWKS_URL
    assert kwargs == {"timeout": settings.jwks_timeout_ms / 1000.0, "allow_redirects": False,
                      "headers": {"Accept": "application/json"}}


@pytest.mark.parametrize("status,jwks", [(404, {"keys": []}), (200, {"keys": [{"kty": "EC", "kid": "k1"}]})])
def test_rule_a_failed_or_empty_key_fetch_keeps_the_keys_already_held(settings, clients, ec_key, monkeypatch, status, jwks):
    server = KeyServer({"keys": [_jwk(ec_key, "k1", "ES384")]})
    authenticator = _authenticator(settings.with_overrides(jwks_cache_s=10, jwks_refetch_cooldown_s=0), clients, http=server)
    clock = [1000.0]
    monkeypatch.setattr(auth_mod.time, "monotonic", lambda: clock[0])
    assert authenticator.key_for(clients[1], "k1") is not None
    server.status, server.jwks = status, jwks
    clock[0] += 11  # stale: refetched, and the answer is useless
    assert authenticator.key_for(clients[1], "k1") is not None
    assert len(server.calls) == 2


def test_rule_the_first_use_fetches_the_key_set_whatever_the_clock_reads(settings, clients, ec_key, monkeypatch):
    """A fresh host's monotonic clock may read less than the cool-down: the first fetch still happens."""
    server = KeyServer({"keys": [_jwk(ec_key, "k1", "ES384")]})
    authenticator = _authenticator(settings.with_overrides(jwks_refetch_cooldown_s=60), clients, http=server)
    monkeypatch.setattr(auth_mod.time, "monotonic", lambda: 5.0)
    assert authenticator.key_for(clients[1], "k1") is not None


def test_rule_a_key_set_is_trusted_for_exactly_its_lifetime(settings, clients, ec_key, monkeypatch):
    server = KeyServer({"keys": [_jwk(ec_key, "k1", "ES384")]})
    authenticator = _authenticator(settings.with_overrides(jwks_cache_s=100, jwks_refetch_cooldown_s=0), clients,
                                   http=server)
    clock = [1000.0]
    monkeypatch.setattr(auth_mod.time, "monotonic", lambda: clock[0])
    authenticator.key_for(clients[1], "k1")
    clock[0] = 1100.0  # exactly the lifetime: still trusted
    authenticator.key_for(clients[1], "k1")
    assert len(server.calls) == 1
    clock[0] = 1100.5
    authenticator.key_for(clients[1], "k1")
    assert len(server.calls) == 2


def test_rule_an_unknown_kid_refetches_once_the_cool_down_has_passed_exactly(settings, clients, ec_key, monkeypatch):
    server = KeyServer({"keys": [_jwk(ec_key, "k1", "ES384")]})
    authenticator = _authenticator(settings.with_overrides(jwks_cache_s=3600, jwks_refetch_cooldown_s=60), clients,
                                   http=server)
    clock = [1000.0]
    monkeypatch.setattr(auth_mod.time, "monotonic", lambda: clock[0])
    authenticator.key_for(clients[1], "k1")
    clock[0] = 1059.0
    assert authenticator.key_for(clients[1], "rotated") is None
    assert len(server.calls) == 1  # within the cool-down: no fetch
    clock[0] = 1060.0
    authenticator.key_for(clients[1], "rotated")
    assert len(server.calls) == 2


# ---------------------------------------------------------------- production refusals name the setting
def test_rule_production_refusals_name_the_entry_and_the_setting(settings):
    prod = settings.with_overrides(fhir_require_https=True)
    with pytest.raises(ConfigError) as refused:
        check_client_for_production(TrustedClient(iss=ISS, algorithms=("ES384",), jwks_url="http://k.example.org/j"), prod)
    assert str(refused.value) == f"trusted client {ISS}: jwks_url must be https when CDS_ENV=production"
    with pytest.raises(ConfigError) as refused:
        check_client_for_production(TrustedClient(iss=ISS, algorithms=("ES384",), jwks_url=JWKS_URL,
                                                  fhir_servers=("http://fhir.example.org/r4",)), prod)
    assert str(refused.value) == (f"trusted client {ISS}: fhir_servers entry http://fhir.example.org/r4 must be https "
                                  "when CDS_ENV=production")


# ---------------------------------------------------------------- the trusted-clients file (auth.load_clients)
def _clients_file(tmp_path: Path, data) -> Path:
    path = tmp_path / "clients.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_rule_an_unreadable_clients_file_stops_the_start_naming_the_file(tmp_path):
    from cds_service.auth import load_clients
    missing = tmp_path / "absent.json"
    with pytest.raises(ConfigError) as refused:
        load_clients(missing)
    assert str(refused.value).startswith(f"trusted clients file {missing} is not readable JSON: ")
    broken = _clients_file(tmp_path, "{not json")
    with pytest.raises(ConfigError) as refused:
        load_clients(broken)
    assert str(refused.value).startswith(f"trusted clients file {broken} is not readable JSON: ")


def test_rule_an_invalid_clients_file_names_the_first_place_that_is_wrong(tmp_path):
    from cds_service.auth import load_clients
    path = _clients_file(tmp_path, {"clients": [{"iss": "a", "jwks_url": "https://a/j", "algorithms": ["ES384"]},
                                                {"iss": "", "jwks_url": "ftp://b", "algorithms": ["ES384"]}]})
    with pytest.raises(ConfigError) as refused:
        load_clients(path)
    assert str(refused.value) == f"trusted clients file {path} is invalid at clients.1.iss: '' should be non-empty"
    path = _clients_file(tmp_path, {"servers": []})
    with pytest.raises(ConfigError) as refused:
        load_clients(path)
    assert str(refused.value) == f"trusted clients file {path} is invalid at (file): 'clients' is a required property"


def test_rule_each_client_entry_is_read_whole_and_optional_lists_default_to_empty(tmp_path, ec_key):
    from cds_service.auth import load_clients
    jwks = {"keys": [_jwk(ec_key, "k1", "ES384")]}
    path = _clients_file(tmp_path, {"clients": [
        {"iss": ISS, "jwks": jwks, "algorithms": ["ES384", "RS384"], "tenants": ["t1", "t2"],
         "fhir_servers": ["https://fhir.example.org/r4"]},
        {"iss": REMOTE, "jwks_url": JWKS_URL, "algorithms": ["ES256"]}]})
    assert load_clients(path) == [
        TrustedClient(iss=ISS, algorithms=("ES384", "RS384"), jwks=jwks, tenants=("t1", "t2"),
                      fhir_servers=("https://fhir.example.org/r4",)),
        TrustedClient(iss=REMOTE, algorithms=("ES256",), jwks_url=JWKS_URL)]


def test_rule_the_trusted_clients_are_the_files_then_the_sandbox_and_production_checks_each(settings, tmp_path):
    from cds_service.auth import load_trusted_clients
    path = _clients_file(tmp_path, {"clients": [{"iss": ISS, "jwks_url": "http://k.example.org/j", "algorithms": ["ES384"]}]})
    assert load_trusted_clients(settings) == []
    both = settings.with_overrides(trusted_clients=path, allow_sandbox=True)
    issuers = [c.iss for c in load_trusted_clients(both)]
    assert issuers[0] == ISS and issuers[1:] == ["https://sandbox.cds-hooks.org"]
    with pytest.raises(ConfigError, match="jwks_url must be https"):
        load_trusted_clients(settings.with_overrides(trusted_clients=path, env="production"))


# ---------------------------------------------------------------- keys as configured (Authenticator.__init__, _parse_jwks)
def test_rule_only_usable_keys_with_a_kid_are_kept(ec_key):
    good = _jwk(ec_key, "k1", "ES384")
    jwks = {"keys": [good, "junk", {**good, "kid": ""}, {**good, "kid": 5}, {k: v for k, v in good.items() if k != "kid"},
                     {"kty": "EC", "kid": "broken"}, {**good, "kid": "k2"}]}
    assert Authenticator._parse_jwks(jwks) == {"k1": good, "k2": {**good, "kid": "k2"}}
    assert Authenticator._parse_jwks({}) == {}


def test_rule_inline_keys_count_as_fresh_so_no_fetch_is_made_for_them(settings, ec_key):
    both = TrustedClient(iss=REMOTE, algorithms=("ES384",), jwks_url=JWKS_URL, jwks={"keys": [_jwk(ec_key, "k1", "ES384")]})
    server = KeyServer({"keys": []})
    authenticator = _authenticator(settings, [both], http=server)
    assert authenticator.verify_token(_token(ec_key, iss=REMOTE), AUD).iss == REMOTE
    assert server.calls == []
    assert set(authenticator.clients) == {REMOTE}


def test_rule_from_settings_trusts_exactly_the_configured_clients(settings, tmp_path, ec_key):
    path = _clients_file(tmp_path, {"clients": [{"iss": ISS, "jwks": {"keys": [_jwk(ec_key, "k1", "ES384")]},
                                                 "algorithms": ["ES384"]}]})
    replay = Replay()
    authenticator = Authenticator.from_settings(settings.with_overrides(trusted_clients=path), replay)
    assert list(authenticator.clients) == [ISS] and authenticator.store is replay
    assert authenticator.verify_token(_token(ec_key), AUD).iss == ISS


# ---------------------------------------------------------------- the Authorization header and the audience (verify)
def _request(path: str = "/cds-services/leg-pain-claudication", authorization: str | None = None):
    from flask import Request
    from werkzeug.test import EnvironBuilder
    headers = {"Authorization": authorization} if authorization is not None else {}
    return Request(EnvironBuilder(path=path, base_url="http://internal:8080", headers=headers).get_environ())


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "Bearer ", "Bearer    ", "Token abc"])
def test_rule_without_a_bearer_token_the_reason_is_no_bearer_token(settings, clients, header):
    with pytest.raises(Unauthorized) as refused:
        _authenticator(settings, clients).verify(_request(authorization=header))
    assert refused.value.reason == "no bearer token"


def test_rule_the_bearer_token_is_read_trimmed_and_checked_against_the_public_url(settings, clients, ec_key):
    public = settings.with_overrides(public_base_url="https://cds.example.org")
    verified = _authenticator(public, clients).verify(_request(authorization=f"Bearer  {_token(ec_key)} "))
    assert verified.iss == ISS


def test_rule_the_audience_is_the_public_url_else_in_development_the_url_called(settings, clients):
    assert _authenticator(settings.with_overrides(public_base_url="https://cds.example.org"), clients).expected_audience(
        _request("/cds-services")) == "https://cds.example.org/cds-services"
    assert _authenticator(settings, clients).expected_audience(_request("/cds-services")) == "http://internal:8080/cds-services"
    with pytest.raises(Unauthorized) as refused:
        _authenticator(settings.with_overrides(env="production"), clients).expected_audience(_request())
    assert refused.value.reason == "CDS_PUBLIC_BASE_URL is not set; the Host header is never trusted in production"


def test_rule_a_refusal_logs_none_for_claims_that_are_not_strings(settings, clients, ec_key):
    with pytest.raises(Unauthorized) as refused:
        _authenticator(settings, clients).verify_token(_token(ec_key, jti=7, tenant=3), AUD)
    assert refused.value.log_fields == {"iss": ISS, "tenant": None, "jti": None}
    with pytest.raises(Unauthorized) as refused:
        _authenticator(settings, clients).verify_token(_unsigned({"alg": "ES384", "typ": "JWT", "kid": "k1"},
                                                                 {"iss": 5, "tenant": "t1", "jti": "j-3"}), AUD)
    assert refused.value.log_fields == {"iss": None, "tenant": "t1", "jti": "j-3"}
    with pytest.raises(Unauthorized) as refused:
        _authenticator(settings, clients).verify_token("not-a-jwt", AUD)
    assert not hasattr(refused.value, "log_fields")  # nothing could be read


# ---------------------------------------------------------------- the service's own claim checks, past PyJWT's
@pytest.mark.parametrize("claims", [{"iat": "IAT"}, {"exp": "EXP"}])
def test_rule_iat_and_exp_written_as_strings_are_refused(settings, clients, ec_key, claims):
    """PyJWT reads "1764288000" as a time; the service wants numbers, as RFC 7519 says."""
    now = int(time.time())
    values = {"IAT": str(now), "EXP": str(now + 60)}
    token = _token_with_claims(ec_key, **{k: values[v] for k, v in claims.items()})
    assert _reason(_authenticator(settings, clients), token) == "iat and exp must be numbers"


def test_rule_the_services_own_iat_check_allows_exactly_the_leeway(settings, clients, ec_key, monkeypatch):
    """The service's clock (here set 100 s behind the real one, so PyJWT's own check passes) decides:
    an iat of exactly now + leeway is accepted, one second more is a token from the future."""
    real = int(time.time())
    behind = real - 100
    monkeypatch.setattr(auth_mod.time, "time", lambda: float(behind))
    leeway = settings.jwt_leeway_s
    authenticator = _authenticator(settings, clients)
    assert authenticator.verify_token(_token(ec_key, iat=behind + leeway, jti="j-a"), AUD).iss == ISS
    assert _reason(authenticator, _token(ec_key, iat=behind + leeway + 1, jti="j-b")) == "iat is in the future"


def test_rule_a_tenant_that_is_not_a_string_is_no_tenant(settings, ec_key):
    client = TrustedClient(iss=ISS, algorithms=("ES384",), jwks={"keys": [_jwk(ec_key, "k1", "ES384")]})
    assert _authenticator(settings, [client]).verify_token(_token(ec_key, tenant=3), AUD).tenant is None


def test_rule_the_replay_outage_answer_says_to_try_again(settings, clients, ec_key):
    with pytest.raises(DatabaseUnavailable) as down:
        _authenticator(settings, clients, store=Replay(down=True)).verify_token(_token(ec_key), AUD)
    assert down.value.message == "the token replay check is unavailable; try again shortly"
