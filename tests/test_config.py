from __future__ import annotations

import pytest

from cds_service.config import ConfigError, from_env

PRODUCTION = {"CDS_ENV": "production", "CDS_TRUSTED_CLIENTS": "/etc/clients.json",
              "CDS_PUBLIC_BASE_URL": "https://cds.example.org"}


def test_development_defaults():
    s = from_env({})
    assert (s.env, s.auth, s.fhir_allow_any_server) == ("development", "off", True)
    assert s.cors_origins == ("https://sandbox.cds-hooks.org", "http://localhost:*", "http://127.0.0.1:*")


def test_production_preset_needs_trusted_clients():
    with pytest.raises(ConfigError, match="CDS_TRUSTED_CLIENTS"):
        from_env({"CDS_ENV": "production"})
    s = from_env(PRODUCTION)
    assert (s.auth, s.fhir_allow_any_server, s.fhir_require_https, s.cors_origins) == ("required", False, True, ())
    assert s.public_base_url == "https://cds.example.org"


@pytest.mark.parametrize("change,message", [
    ({"CDS_PUBLIC_BASE_URL": None}, "needs CDS_PUBLIC_BASE_URL"),
    ({"CDS_PUBLIC_BASE_URL": "http://cds.example.org"}, "must be an https URL"),
    ({"CDS_FHIR_ALLOW_ANY_SERVER": "true"}, "CDS_FHIR_ALLOW_ANY_SERVER=true is refused"),
])
def test_production_refuses_to_start_unsafe(change, message):
    env = {k: v for k, v in {**PRODUCTION, **change}.items() if v is not None}
    with pytest.raises(ConfigError, match=message) as caught:
        from_env(env)
    assert "\n" not in str(caught.value)


def test_production_with_auth_off_needs_no_public_base_url():
    """Auth off is an explicit choice (e.g. behind a gateway that authenticates); no aud to check."""
    assert from_env({"CDS_ENV": "production", "CDS_AUTH": "off"}).public_base_url is None


def test_cors_origins_are_checked():
    assert from_env({"CDS_CORS_ORIGINS": "none"}).cors_origins == ()
    assert from_env({"CDS_CORS_ORIGINS": "https://ehr.example.org/, http://localhost:*"}).cors_origins == (
        "https://ehr.example.org", "http://localhost:*")
    for bad in ("*", "ehr.example.org", "https://ehr.example.org/app", "https://*.example.org", "ftp://x"):
        with pytest.raises(ConfigError, match="CDS_CORS_ORIGINS"):
            from_env({"CDS_CORS_ORIGINS": bad})


def test_sandbox_keys_are_refused_in_production():
    with pytest.raises(ConfigError, match="publicly known key"):
        from_env({**PRODUCTION, "CDS_ALLOW_SANDBOX": "true"})


@pytest.mark.parametrize("env,message", [({"CDS_AUTH": "maybe"}, "CDS_AUTH"), ({"CDS_ENV": "staging"}, "CDS_ENV"),
                                         ({"CDS_FHIR_DEADLINE_MS": "fast"}, "whole number"),
                                         ({"CDS_AUDIT_LOG": "perhaps"}, "true or false")])
def test_bad_values_are_clear_errors(env, message):
    with pytest.raises(ConfigError, match=message):
        from_env(env)


def test_overrides_and_lists():
    s = from_env({"CDS_CORS_ORIGINS": "https://a.example, https://b.example", "CDS_PUBLIC_BASE_URL": "https://x/"})
    assert s.cors_origins == ("https://a.example", "https://b.example") and s.public_base_url == "https://x"


def test_screening_is_off_by_default_and_switched_on_per_site():
    s = from_env({})
    assert (s.screening_enabled, s.screening_abi_interval_days, s.screening_repeat_days) == (False, 1826, 365)
    s = from_env({"CDS_SCREENING_ENABLED": "true", "CDS_SCREENING_KEY": "s" * 32,
                  "CDS_SCREENING_ABI_INTERVAL_DAYS": "1000", "CDS_SCREENING_REPEAT_DAYS": "30"})
    assert (s.screening_enabled, s.screening_abi_interval_days, s.screening_repeat_days) == (True, 1000, 30)
    assert "s" * 32 not in repr(s)  # the key never reaches a log line through the settings


@pytest.mark.parametrize("env, message", [
    ({"CDS_SCREENING_ENABLED": "true"}, "needs CDS_SCREENING_KEY"),
    ({"CDS_SCREENING_ENABLED": "true", "CDS_SCREENING_KEY": "short"}, "needs CDS_SCREENING_KEY"),
    ({"CDS_SCREENING_ENABLED": "maybe"}, "CDS_SCREENING_ENABLED must be true or false"),
    ({"CDS_SCREENING_ABI_INTERVAL_DAYS": "0"}, "CDS_SCREENING_ABI_INTERVAL_DAYS must be at least 1"),
    ({"CDS_SCREENING_REPEAT_DAYS": "soon"}, "CDS_SCREENING_REPEAT_DAYS must be a whole number"),
])
def test_bad_screening_settings_are_clear_errors(env, message):
    with pytest.raises(ConfigError, match=message):
        from_env(env)


def test_app_settings_development_and_production():
    dev = from_env({})
    assert dev.app_open_link is True
    assert dev.app_fhir_servers == ("http://127.0.0.1:*", "http://localhost:*", "https://launch.smarthealthit.org/v/r4/fhir")
    prod = from_env(PRODUCTION)
    assert (prod.app_open_link, prod.app_fhir_servers, prod.app_auth_servers) == (False, (), ())
    prod = from_env({**PRODUCTION, "CDS_APP_FHIR_SERVERS": "https://ehr.example.org/fhir/",
                     "CDS_APP_AUTH_SERVERS": "https://auth.example.org", "CDS_APP_CLIENT_ID": "app-1"})
    assert (prod.app_fhir_servers, prod.app_auth_servers, prod.app_client_id) == (
        ("https://ehr.example.org/fhir",), ("https://auth.example.org",), "app-1")
    assert from_env({"CDS_APP_FHIR_SERVERS": "none"}).app_fhir_servers == ()


@pytest.mark.parametrize("env,message", [
    ({**PRODUCTION, "CDS_APP_OPEN_LINK": "true"}, "CDS_APP_OPEN_LINK .* is refused"),
    ({**PRODUCTION, "CDS_APP_FHIR_SERVERS": "http://ehr.example.org/fhir"}, "must be https URLs"),
    ({**PRODUCTION, "CDS_APP_AUTH_SERVERS": "http://auth.example.org"}, "must be https URLs"),
    ({"CDS_APP_FHIR_SERVERS": "ftp://x/fhir"}, "CDS_APP_FHIR_SERVERS: .* http or https"),
    ({"CDS_APP_AUTH_SERVERS": "https://*.example.org"}, "CDS_APP_AUTH_SERVERS: .*only as the port"),
    ({"CDS_APP_OPEN_LINK": "maybe"}, "CDS_APP_OPEN_LINK must be true or false"),
])
def test_app_settings_are_checked(env, message):
    with pytest.raises(ConfigError, match=message):
        from_env(env)
