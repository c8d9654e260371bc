"""Settings from the environment, with safe defaults for local development.

Every setting is a ``CDS_*`` variable; the README's configuration table lists them all.
``CDS_ENV=production`` switches on the production preset (auth required, https-only FHIR
servers configured per client, no CORS); explicit variables still win over the preset, but
not over the production checks (``check_production``), which stop the start instead.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

REPO_ROOT = Path(__file__).resolve().parent.parent
# The public CDS Hooks sandbox (https://github.com/cds-hooks/sandbox, served from its CNAME
# sandbox.cds-hooks.org) and a developer's own tools on this machine, on any port. The retired
# legacy-sandbox.cds-hooks.org is left out: it speaks the pre-1.0 request this service refuses.
DEFAULT_CORS_ORIGINS = ("https://sandbox.cds-hooks.org", "http://localhost:*", "http://127.0.0.1:*")
# FHIR servers the SMART app (/app/) may read and write in development: this machine on any port,
# and the open (no-auth) R4 server of SMART Health IT that public sandboxes point at.
DEFAULT_APP_FHIR_SERVERS = ("http://127.0.0.1:*", "http://localhost:*", "https://launch.smarthealthit.org/v/r4/fhir")


class ConfigError(ValueError):
    """A setting has a value the service cannot start with."""


def _bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def _int(value: str, name: str, minimum: int = 0) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    return number


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    auth: str = "off"  # off | required
    trusted_clients: Path | None = None
    allow_sandbox: bool = False
    public_base_url: str | None = None
    database_url: str = "sqlite:///cds-service.db"
    knowledge_dir: Path = REPO_ROOT
    cors_origins: tuple[str, ...] = DEFAULT_CORS_ORIGINS
    max_body_bytes: int = 5 * 1024 * 1024
    max_prefetch_resources: int = 50_000
    fhir_deadline_ms: int = 300
    fhir_timeout_ms: int = 250
    fhir_page_cap: int = 10
    fhir_max_response_bytes: int = 8 * 1024 * 1024
    fhir_allow_any_server: bool = True
    fhir_require_https: bool = False
    jwt_max_lifetime_s: int = 3600
    jwt_leeway_s: int = 30
    jwks_cache_s: int = 3600
    jwks_refetch_cooldown_s: int = 60
    jwks_timeout_ms: int = 2000
    audit_log: bool = False
    app_fhir_servers: tuple[str, ...] = DEFAULT_APP_FHIR_SERVERS
    app_auth_servers: tuple[str, ...] = ()
    app_open_link: bool = True
    app_client_id: str = "leg-pain-claudication-app"
    log_level: str = "INFO"
    service_id: str = "leg-pain-claudication"
    # Opt-in risk-based ABI screening card (issue 18): off unless a site switches it on.
    screening_enabled: bool = False
    screening_key: str | None = field(default=None, repr=False)  # HMAC key naming a patient in the store; required when enabled
    screening_abi_interval_days: int = 1826  # design choice: about five years (knowledge/therapy.yaml)
    screening_repeat_days: int = 365  # at most one screening card per patient per this many days
    snooze_days: int = 90
    snooze_key: str | None = None
    snooze_key_file: Path | None = None
    cards_off: tuple[str, ...] = ()
    shadow_mode: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.env == "production"

    def with_overrides(self, **changes) -> "Settings":
        return replace(self, **changes)


_PRESETS = {
    "development": {},
    "production": {
        "auth": "required",
        "fhir_allow_any_server": False,
        "fhir_require_https": True,
        "cors_origins": (),
        "app_fhir_servers": (),
        "app_open_link": False,
    },
}


def from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``CDS_*`` variables over the preset named by ``CDS_ENV``."""
    env = dict(os.environ if environ is None else environ)
    name = env.get("CDS_ENV", "development").strip().lower()
    if name not in _PRESETS:
        raise ConfigError(f"CDS_ENV must be development or production, not {name!r}")
    values: dict = {"env": name, **_PRESETS[name]}

    def get(key: str) -> str | None:
        value = env.get(key)
        return value if value not in (None, "") else None

    if (v := get("CDS_AUTH")) is not None:
        if v not in {"off", "required"}:
            raise ConfigError(f"CDS_AUTH must be off or required, not {v!r}")
        values["auth"] = v
    if (v := get("CDS_TRUSTED_CLIENTS")) is not None:
        values["trusted_clients"] = Path(v)
    if (v := get("CDS_ALLOW_SANDBOX")) is not None:
        values["allow_sandbox"] = _bool(v, "CDS_ALLOW_SANDBOX")
    if (v := get("CDS_PUBLIC_BASE_URL")) is not None:
        values["public_base_url"] = v.rstrip("/")
    if (v := get("CDS_DATABASE_URL")) is not None:
        values["database_url"] = v
    if (v := get("CDS_KNOWLEDGE_DIR")) is not None:
        values["knowledge_dir"] = Path(v)
    if (v := get("CDS_CORS_ORIGINS")) is not None:
        values["cors_origins"] = _origins(v)
    for key, attr, minimum in (
        ("CDS_MAX_BODY_BYTES", "max_body_bytes", 1024),
        ("CDS_MAX_PREFETCH_RESOURCES", "max_prefetch_resources", 1),
        ("CDS_FHIR_DEADLINE_MS", "fhir_deadline_ms", 10),
        ("CDS_FHIR_TIMEOUT_MS", "fhir_timeout_ms", 10),
        ("CDS_FHIR_PAGE_CAP", "fhir_page_cap", 1),
        ("CDS_FHIR_MAX_RESPONSE_BYTES", "fhir_max_response_bytes", 1024),
        ("CDS_JWT_MAX_LIFETIME_S", "jwt_max_lifetime_s", 1),
        ("CDS_JWT_LEEWAY_S", "jwt_leeway_s", 0),
        ("CDS_JWKS_CACHE_S", "jwks_cache_s", 0),
        ("CDS_JWKS_REFETCH_COOLDOWN_S", "jwks_refetch_cooldown_s", 0),
        ("CDS_JWKS_TIMEOUT_MS", "jwks_timeout_ms", 10),
        ("CDS_SCREENING_ABI_INTERVAL_DAYS", "screening_abi_interval_days", 1),
        ("CDS_SCREENING_REPEAT_DAYS", "screening_repeat_days", 1),
        ("CDS_SNOOZE_DAYS", "snooze_days", 0),
    ):
        if (v := get(key)) is not None:
            values[attr] = _int(v, key, minimum)
    if (v := get("CDS_FHIR_ALLOW_ANY_SERVER")) is not None:
        values["fhir_allow_any_server"] = _bool(v, "CDS_FHIR_ALLOW_ANY_SERVER")
    if (v := get("CDS_FHIR_REQUIRE_HTTPS")) is not None:
        values["fhir_require_https"] = _bool(v, "CDS_FHIR_REQUIRE_HTTPS")
    if (v := get("CDS_AUDIT_LOG")) is not None:
        values["audit_log"] = _bool(v, "CDS_AUDIT_LOG")
    if (v := get("CDS_SCREENING_ENABLED")) is not None:
        values["screening_enabled"] = _bool(v, "CDS_SCREENING_ENABLED")
    if (v := get("CDS_SCREENING_KEY")) is not None:
        values["screening_key"] = v
    if (v := get("CDS_APP_FHIR_SERVERS")) is not None:
        values["app_fhir_servers"] = _app_servers(v, "CDS_APP_FHIR_SERVERS")
    if (v := get("CDS_APP_AUTH_SERVERS")) is not None:
        values["app_auth_servers"] = _app_servers(v, "CDS_APP_AUTH_SERVERS")
    if (v := get("CDS_APP_OPEN_LINK")) is not None:
        values["app_open_link"] = _bool(v, "CDS_APP_OPEN_LINK")
    if (v := get("CDS_APP_CLIENT_ID")) is not None:
        values["app_client_id"] = v.strip()
    if (v := get("CDS_SNOOZE_KEY")) is not None:
        values["snooze_key"] = v
    if (v := get("CDS_SNOOZE_KEY_FILE")) is not None:
        values["snooze_key_file"] = Path(v)
    if (v := get("CDS_CARDS_OFF")) is not None:
        values["cards_off"] = tuple(x.strip() for x in v.split(",") if x.strip())
    if (v := get("CDS_SHADOW_MODE")) is not None:
        values["shadow_mode"] = _bool(v, "CDS_SHADOW_MODE")
    if (v := get("CDS_LOG_LEVEL")) is not None:
        values["log_level"] = v.upper()
    settings = Settings(**values)
    if settings.screening_enabled and len(settings.screening_key or "") < 32:
        raise ConfigError("CDS_SCREENING_ENABLED=true needs CDS_SCREENING_KEY (32 characters or more): the key of "
                          "the hash that names a patient in the store, so that the id itself is never stored")
    if settings.auth == "required" and settings.trusted_clients is None and not settings.allow_sandbox:
        raise ConfigError("CDS_AUTH=required needs CDS_TRUSTED_CLIENTS (or CDS_ALLOW_SANDBOX=true in development)")
    check_production(settings)
    return settings


def _origins(value: str) -> tuple[str, ...]:
    """CDS_CORS_ORIGINS: comma-separated origins (``:*`` for any port), or ``none``."""
    from .cors import origin_problem
    if value.strip().lower() == "none":
        return ()
    origins = tuple(o.strip().rstrip("/") for o in value.split(",") if o.strip())
    for origin in origins:
        if (problem := origin_problem(origin)) is not None:
            raise ConfigError(f"CDS_CORS_ORIGINS: {problem}")
    return origins


def _app_servers(value: str, name: str) -> tuple[str, ...]:
    """CDS_APP_FHIR_SERVERS / CDS_APP_AUTH_SERVERS: comma-separated base URLs (``:*`` for any port), or ``none``."""
    from .smart_app.allowlist import server_problem
    if value.strip().lower() == "none":
        return ()
    servers = tuple(s.strip().rstrip("/") for s in value.split(",") if s.strip())
    for server in servers:
        if (problem := server_problem(server)) is not None:
            raise ConfigError(f"{name}: {problem}")
    return servers


def check_production(settings: Settings) -> None:
    """What production never starts with, whatever the variables say (one ConfigError each).

    With auth required, the token's ``aud`` is checked against CDS_PUBLIC_BASE_URL, never
    against the Host header a caller chooses, and the service calls only the FHIR servers a
    trusted client's entry lists (so it cannot be used as a proxy). The trusted clients file
    gets its own checks when it is loaded (``auth.check_client_for_production``).
    """
    if not settings.production:
        return
    if settings.allow_sandbox:
        raise ConfigError("CDS_ALLOW_SANDBOX trusts a publicly known key: it is refused when CDS_ENV=production")
    if settings.app_open_link:
        raise ConfigError("CDS_APP_OPEN_LINK opens the app on a FHIR server without a launch: it is refused when "
                          "CDS_ENV=production")
    for server in (*settings.app_fhir_servers, *settings.app_auth_servers):
        if not server.startswith("https://"):
            raise ConfigError(f"CDS_APP_FHIR_SERVERS and CDS_APP_AUTH_SERVERS must be https URLs when "
                              f"CDS_ENV=production, not {server!r}")
    if settings.auth != "required":
        return
    if not settings.public_base_url:
        raise ConfigError("CDS_ENV=production needs CDS_PUBLIC_BASE_URL (the https URL clients call, e.g. "
                          "https://cds.example.org): a token's aud is never checked against the Host header")
    if not settings.public_base_url.startswith("https://"):
        raise ConfigError("CDS_PUBLIC_BASE_URL must be an https URL when CDS_ENV=production")
    if settings.fhir_allow_any_server:
        raise ConfigError("CDS_FHIR_ALLOW_ANY_SERVER=true is refused when CDS_ENV=production: every fhirServer "
                          "must be one listed in the calling client's fhir_servers")
