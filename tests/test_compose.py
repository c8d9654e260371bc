"""The compose files: a development stack reachable only from this machine, and a production
example whose environment the service accepts at start (and then serves correctly)."""
from __future__ import annotations

import json
import re
import time
import uuid

import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec

from cds_service import config
from cds_service.app import create_app
from cds_service.config import REPO_ROOT
from builders import hook_request

SERVICE = "/cds-services/leg-pain-claudication"
PUBLIC = "https://cds.example.org"
ISS = "https://ehr.example.org"
FHIR = "https://fhir.example.org/r4"


def _compose(name: str) -> dict:
    return yaml.safe_load((REPO_ROOT / name).read_text(encoding="utf-8"))


def _interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:?message} and ${NAME:-default}; an unknown name fails the test."""
    def one(match: re.Match) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if name in variables:
            return variables[name]
        assert op == ":-", f"compose file needs ${name} ({rest})"
        return rest
    return re.sub(r"\$\{(\w+)(?:(:[?-])([^}]*))?\}", one, value)


@pytest.mark.parametrize("name", ["compose.yaml", "compose.prod.yaml"])
def test_every_port_is_bound_to_loopback(name):
    services = _compose(name)["services"]
    ports = [p for s in services.values() for p in s.get("ports", ())]
    assert ports and all(str(p).startswith("127.0.0.1:") for p in ports), ports


def test_compose_yaml_is_labelled_and_runs_as_a_development_stack():
    text = (REPO_ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert text.startswith("# DEVELOPMENT STACK")
    for name, service in _compose("compose.yaml")["services"].items():
        if service.get("build") == ".":  # our image defaults to production
            assert service["environment"]["CDS_ENV"] == "development", name


def test_the_image_defaults_to_production():
    assert re.search(r"^ENV CDS_ENV=production$", (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8"), re.M)


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture
def prod_env(tmp_path, key):
    """compose.prod.yaml's environment for the cds service, with the three host-side things a
    test cannot have swapped in: the mounted clients file (generated here, same shape as the
    README's), the database (SQLite instead of the db container) and the image's knowledge dir."""
    service = _compose("compose.prod.yaml")["services"]["cds"]
    env = {k: _interpolate(str(v), {"POSTGRES_PASSWORD": "secret", "CDS_PUBLIC_BASE_URL": PUBLIC,
                                                  "CDS_SNOOZE_KEY": "a test snooze key of 32 characters or more"})
           for k, v in service["environment"].items()}
    mount = next(v.split(":")[1] for v in service["volumes"] if v.split(":")[1] == env["CDS_TRUSTED_CLIENTS"])
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", alg="ES384", use="sig")
    clients = tmp_path / "clients.json"
    clients.write_text(json.dumps({"clients": [{"iss": ISS, "jwks": {"keys": [jwk]}, "algorithms": ["ES384"],
                                                "fhir_servers": [FHIR]}]}))
    assert env["CDS_DATABASE_URL"].startswith("postgresql://") and mount == "/etc/cds/clients.json"
    return {**env, "CDS_TRUSTED_CLIENTS": str(clients), "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/prod.db",
            "CDS_KNOWLEDGE_DIR": str(REPO_ROOT)}


def _token(key, aud: str) -> str:
    now = int(time.time())
    return jwt.encode({"iss": ISS, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}, key,
                      algorithm="ES384", headers={"kid": "k1", "typ": "JWT"})


def test_the_service_starts_with_compose_prod_environment_and_serves(prod_env, key):
    settings = config.from_env(prod_env)
    assert (settings.production, settings.auth, settings.public_base_url, settings.cors_origins) == (
        True, "required", PUBLIC, ())
    client = create_app(settings).test_client()
    ok = client.post(SERVICE, json=hook_request([]), headers={"Authorization": f"Bearer {_token(key, PUBLIC + SERVICE)}"})
    assert ok.status_code == 200
    # a token for whatever host the caller names in Host is not for us
    foreign = client.post(SERVICE, json=hook_request([]), base_url="http://evil.example",
                          headers={"Authorization": f"Bearer {_token(key, 'http://evil.example' + SERVICE)}"})
    assert foreign.status_code == 401
    # a fhirServer the client's entry does not list is never called
    body = hook_request([], fhirServer="https://169.254.169.254/latest")
    del body["prefetch"]
    refused = client.post(SERVICE, json=body, headers={"Authorization": f"Bearer {_token(key, PUBLIC + SERVICE)}"})
    assert refused.status_code == 412
    assert refused.get_json()["issue"][0]["diagnostics"].endswith("fhirServer is not configured for this client")
    # no page may drive it from a browser
    preflight = client.options(SERVICE, headers={"Origin": "https://sandbox.cds-hooks.org",
                                                 "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_compose_prod_without_its_required_variables_does_not_start(prod_env):
    with pytest.raises(config.ConfigError, match="CDS_PUBLIC_BASE_URL"):
        config.from_env({k: v for k, v in prod_env.items() if k != "CDS_PUBLIC_BASE_URL"})
