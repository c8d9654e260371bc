from __future__ import annotations

import pytest

from cds_service.config import ConfigError, from_env


def test_development_defaults():
    s = from_env({})
    assert (s.env, s.auth, s.cors_origins, s.fhir_allow_any_server) == ("development", "off", ("*",), True)


def test_production_preset_needs_trusted_clients():
    with pytest.raises(ConfigError, match="CDS_TRUSTED_CLIENTS"):
        from_env({"CDS_ENV": "production"})
    s = from_env({"CDS_ENV": "production", "CDS_TRUSTED_CLIENTS": "/etc/clients.json"})
    assert (s.auth, s.fhir_allow_any_server, s.fhir_require_https, s.cors_origins) == ("required", False, True, ())


def test_sandbox_keys_are_refused_in_production():
    with pytest.raises(ConfigError, match="publicly known key"):
        from_env({"CDS_ENV": "production", "CDS_TRUSTED_CLIENTS": "x", "CDS_ALLOW_SANDBOX": "true"})


@pytest.mark.parametrize("env,message", [({"CDS_AUTH": "maybe"}, "CDS_AUTH"), ({"CDS_ENV": "staging"}, "CDS_ENV"),
                                         ({"CDS_FHIR_DEADLINE_MS": "fast"}, "whole number"),
                                         ({"CDS_AUDIT_LOG": "perhaps"}, "true or false")])
def test_bad_values_are_clear_errors(env, message):
    with pytest.raises(ConfigError, match=message):
        from_env(env)


def test_overrides_and_lists():
    s = from_env({"CDS_CORS_ORIGINS": "https://a.example, https://b.example", "CDS_PUBLIC_BASE_URL": "https://x/"})
    assert s.cors_origins == ("https://a.example", "https://b.example") and s.public_base_url == "https://x"
