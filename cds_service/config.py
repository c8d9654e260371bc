"""Settings from the environment, declared once.

Every setting is a ``CDS_*`` variable declared below as a field of ``Settings``: its name, its
parser (which validates), its development default, its production preset and what it means.
``from_env`` reads them from that declaration, and the README's configuration table is
generated from it (``python -m tools.readme_settings``; a test fails when the two disagree).
``CDS_ENV=production`` switches on the production preset (auth required, https-only FHIR
servers configured per client, no CORS); explicit variables still win over the preset, but
not over the production checks (``check_production``), which stop the start instead.

A wrong value is a ``ConfigError`` whose message starts with the variable's name, raised
once, in the gunicorn master (``cds-service serve`` checks everything before forking).
"""
from __future__ import annotations

import logging
import os
from dataclasses import Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, Literal, Mapping, TypeVar, cast

from .errors import ConfigError

__all__ = ["ConfigError", "DEFAULT_CORS_ORIGINS", "REPO_ROOT", "Settings", "from_env", "check_production", "declared",
           "markdown_table", "AuthMode", "EnvName"]

REPO_ROOT = Path(__file__).resolve().parent.parent
# The public CDS Hooks sandbox (https://github.com/cds-hooks/sandbox, served from its CNAME
# sandbox.cds-hooks.org) and a developer's own tools on this machine, on any port. The retired
# legacy-sandbox.cds-hooks.org is left out: it speaks the pre-1.0 request this service refuses.
DEFAULT_CORS_ORIGINS = ("https://sandbox.cds-hooks.org", "http://localhost:*", "http://127.0.0.1:*")
AuthMode = Literal["off", "required"]
EnvName = Literal["development", "production"]
T = TypeVar("T")
_SAME = object()
# FHIR servers the SMART app (/app/) may read and write in development: this machine on any port,
# and the open (no-auth) R4 server of SMART Health IT that public sandboxes point at.
DEFAULT_APP_FHIR_SERVERS = ("http://127.0.0.1:*", "http://localhost:*", "https://launch.smarthealthit.org/v/r4/fhir")


# -- parsers: text of the variable -> value, or ConfigError naming the variable ---------------

def _bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def _int(minimum: int) -> Callable[[str, str], int]:
    def parse(name: str, value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
        if number < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, not {number}")
        return number
    return parse


def _choice(*choices: str) -> Callable[[str, str], Any]:
    def parse(name: str, value: str) -> str:
        value = value.strip().lower()
        if value not in choices:
            raise ConfigError(f"{name} must be {' or '.join(choices)}, not {value!r}")
        return value
    return parse


def _path(name: str, value: str) -> Path:
    return Path(value)


def _url(name: str, value: str) -> str:
    value = value.strip().rstrip("/")
    if not value.startswith(("https://", "http://")):
        raise ConfigError(f"{name} must be an absolute http(s) URL, not {value!r}")
    return value


def _origins(name: str, value: str) -> tuple[str, ...]:
    """Comma-separated origins (``:*`` for any port), or ``none``."""
    from .cors import origin_problem
    if value.strip().lower() == "none":
        return ()
    origins = tuple(o.strip().rstrip("/") for o in value.split(",") if o.strip())
    for origin in origins:
        if (problem := origin_problem(origin)) is not None:
            raise ConfigError(f"{name}: {problem}")
    return origins


def _database_url(name: str, value: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError
    try:
        url = make_url(value)
        url.get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError):
        raise ConfigError(f"{name} is not a database URL SQLAlchemy knows (sqlite:///file or postgresql://...)") from None
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ConfigError(f"{name} must name SQLite or PostgreSQL, not {url.get_backend_name()!r}")
    return value


def _log_level(name: str, value: str) -> str:
    level = value.strip().upper()
    if level not in logging.getLevelNamesMapping() or level == "NOTSET":
        raise ConfigError(f"{name} must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {value!r}")
    return level


def _text(name: str, value: str) -> str:
    return value.strip()


def _app_servers(name: str, value: str) -> tuple[str, ...]:
    """Comma-separated base URLs (``:*`` for any port), or ``none``."""
    from .smart_app.allowlist import server_problem
    if value.strip().lower() == "none":
        return ()
    servers = tuple(s.strip().rstrip("/") for s in value.split(",") if s.strip())
    for server in servers:
        if (problem := server_problem(server)) is not None:
            raise ConfigError(f"{name}: {problem}")
    return servers


def _raw(name: str, value: str) -> str:
    """A secret, kept exactly as given."""
    return value


def _names(name: str, value: str) -> tuple[str, ...]:
    """Comma-separated names (blank entries dropped)."""
    return tuple(x.strip() for x in value.split(",") if x.strip())


def setting(env: str, default: T, parse: Callable[[str, str], T], doc: str, *, production: Any = _SAME,
            shown: str | None = None, shown_production: str | None = None, secret: bool = False) -> T:
    """Declare one ``CDS_*`` setting (a dataclass field carrying its own metadata). A ``secret``
    stays out of the settings' repr (and so out of any log line that prints them)."""
    meta = {"env": env, "parse": parse, "doc": doc, "production": production, "shown": shown,
            "shown_production": shown_production}
    return cast(T, field(default=default, metadata=meta, repr=not secret))


@dataclass(frozen=True)
class Settings:
    env: EnvName = setting("CDS_ENV", "development", _choice("development", "production"), "preset",
                           production="production", shown_production="`production` (the image's default)")
    auth: AuthMode = setting("CDS_AUTH", "off", _choice("off", "required"),
                             "require a signed client JWT on discovery, service and feedback calls", production="required")
    trusted_clients: Path | None = setting(
        "CDS_TRUSTED_CLIENTS", None, _path, "JSON file of trusted clients (see below)",
        shown_production="required; each `jwks_url` and `fhir_servers` entry must be https")
    allow_sandbox: bool = setting("CDS_ALLOW_SANDBOX", False, _bool,
                                  "trust the public sandbox's published keys (`knowledge/sandbox-client.json`)",
                                  shown_production="refused")
    public_base_url: str | None = setting(
        "CDS_PUBLIC_BASE_URL", None, _url,
        "the URL clients call; a JWT's `aud` must be this plus the path. Unset in development, the request's own URL "
        "(Host header) is used; production never does that", shown_production="required (with auth), https")
    database_url: str = setting("CDS_DATABASE_URL", "sqlite:///cds-service.db", _database_url,
                                "feedback and seen JWT ids; PostgreSQL lets several instances share them",
                                shown_production="`postgresql://…`")
    knowledge_dir: Path = setting("CDS_KNOWLEDGE_DIR", REPO_ROOT, _path, "folder holding `valuesets/`, `knowledge/`, `cards/`",
                                  shown="the checkout", shown_production="`/app` in the image")
    cors_origins: tuple[str, ...] = setting(
        "CDS_CORS_ORIGINS", DEFAULT_CORS_ORIGINS, _origins,
        "web origins whose pages may call the service from a browser (below)", production=(), shown_production="`none`")
    max_body_bytes: int = setting("CDS_MAX_BODY_BYTES", 5 * 1024 * 1024, _int(1024), "larger request bodies get 413")
    max_prefetch_resources: int = setting("CDS_MAX_PREFETCH_RESOURCES", 50_000, _int(1),
                                          "more resources in one request get 413")
    fhir_deadline_ms: int = setting("CDS_FHIR_DEADLINE_MS", 300, _int(10),
                                    "overall deadline for all FHIR fallback calls of one request")
    fhir_timeout_ms: int = setting("CDS_FHIR_TIMEOUT_MS", 250, _int(10), "timeout of one FHIR call")
    fhir_page_cap: int = setting("CDS_FHIR_PAGE_CAP", 10, _int(1), "most `next` pages followed per key")
    fhir_max_response_bytes: int = setting("CDS_FHIR_MAX_RESPONSE_BYTES", 8 * 1024 * 1024, _int(1024),
                                           "a larger FHIR answer makes the key unobtainable (bounds memory)")
    fhir_allow_any_server: bool = setting(
        "CDS_FHIR_ALLOW_ANY_SERVER", True, _bool,
        "call any `fhirServer` (the sandbox's); otherwise only the calling client's `fhir_servers` (same scheme, host "
        "and port, path at or below)", production=False, shown_production="`false`; `true` refused with auth required")
    fhir_require_https: bool = setting("CDS_FHIR_REQUIRE_HTTPS", False, _bool, "refuse plain-http FHIR servers",
                                       production=True)
    jwt_max_lifetime_s: int = setting("CDS_JWT_MAX_LIFETIME_S", 3600, _int(1), "longest accepted `exp - iat`")
    jwt_leeway_s: int = setting("CDS_JWT_LEEWAY_S", 30, _int(0), "clock leeway for `exp` and `iat`")
    jwks_cache_s: int = setting("CDS_JWKS_CACHE_S", 3600, _int(0), "how long a fetched JWK Set is trusted")
    jwks_refetch_cooldown_s: int = setting("CDS_JWKS_REFETCH_COOLDOWN_S", 60, _int(0),
                                           "at most one JWK Set fetch per client in this interval")
    jwks_timeout_ms: int = setting("CDS_JWKS_TIMEOUT_MS", 2000, _int(10), "timeout of a JWK Set fetch")
    audit_log: bool = setting("CDS_AUDIT_LOG", False, _bool,
                              "log each card issued and each feedback item (ids and codes only)", shown_production="opt-in")
    log_level: str = setting("CDS_LOG_LEVEL", "INFO", _log_level, "log level")
    # Opt-in risk-based ABI screening card (issue 18): off unless a site switches it on.
    screening_enabled: bool = setting("CDS_SCREENING_ENABLED", False, _bool,
                                      "the risk-based ABI screening card (below); off by default",
                                      shown_production="opt-in per site")
    screening_key: str | None = setting(
        "CDS_SCREENING_KEY", None, _raw, "key of the HMAC that names a patient in the store; the patient id is never stored",
        shown_production="required when screening is on (32+ characters, a secret)", secret=True)
    screening_abi_interval_days: int = setting(
        "CDS_SCREENING_ABI_INTERVAL_DAYS", 1826, _int(1),
        "an ABI on record within this many days means no screening card (five years: a design choice, not "
        "guideline-derived)")
    screening_repeat_days: int = setting("CDS_SCREENING_REPEAT_DAYS", 365, _int(1),
                                         "at most one screening card per patient in this many days")
    app_fhir_servers: tuple[str, ...] = setting(
        "CDS_APP_FHIR_SERVERS", DEFAULT_APP_FHIR_SERVERS, _app_servers,
        "FHIR servers the SMART app (`/app/`) may be opened for and connect to (base URLs, `:*` for any port, path at "
        "or below); also the app's Content-Security-Policy", production=(),
        shown_production="`none`; entries must be https")
    app_auth_servers: tuple[str, ...] = setting(
        "CDS_APP_AUTH_SERVERS", (), _app_servers,
        "authorization servers the app's page may connect to (the token endpoint), for the Content-Security-Policy",
        shown="unset", shown_production="entries must be https")
    app_open_link: bool = setting(
        "CDS_APP_OPEN_LINK", True, _bool,
        "cards of a request without `fhirAuthorization` also link to the app with the FHIR base and the patient as "
        "query parameters (open servers, the sandbox)", production=False, shown_production="`false`; `true` refused")
    app_client_id: str = setting("CDS_APP_CLIENT_ID", "leg-pain-claudication-app", _text,
                                 "the app's SMART `client_id` as registered with the EHR")
    snooze_days: int = setting(
        "CDS_SNOOZE_DAYS", 90, _int(0),
        "how long an override snoozes a snoozable card variant (a variant's `snooze_days` wins); also how long an "
        "accepted suggestion is remembered. `0` stores and reads nothing patient-linked (below)")
    snooze_key: str | None = setting(
        "CDS_SNOOZE_KEY", None, _raw,
        "secret HMAC key: a keyed hash of (client, FHIR server, patient id) is all that stands for a patient in the "
        "snooze tables", shown="unset: a published development key",
        shown_production="required (at least 32 characters) unless `CDS_SNOOZE_DAYS=0`; the development key is refused",
        secret=True)
    snooze_key_file: Path | None = setting(
        "CDS_SNOOZE_KEY_FILE", None, _path, "file holding that key (a mounted Docker or Kubernetes secret)",
        shown_production="alternative to `CDS_SNOOZE_KEY`")
    cards_off: tuple[str, ...] = setting(
        "CDS_CARDS_OFF", (), _names,
        "comma-separated card variants switched off at this site: `pattern/variant`, or `pattern` for all its variants "
        "(names as `cds-service catalogue` lists them; a name that matches none stops the start)", shown="unset")
    shadow_mode: bool = setting("CDS_SHADOW_MODE", False, _bool,
                                "evaluate and record every card for the report, return none (try the service at a site "
                                "before clinicians see it)")
    # not variables:
    service_id: str = "leg-pain-claudication"  # the one CDS service's id in discovery and its URL
    extra: Mapping[str, str] = field(default_factory=dict)  # room for tests and tools

    @property
    def production(self) -> bool:
        return self.env == "production"

    def with_overrides(self, **changes: Any) -> "Settings":
        return replace(self, **changes)


def declared() -> list[Field[Any]]:
    """The ``CDS_*`` settings, in declaration order."""
    return [f for f in fields(Settings) if "env" in f.metadata]


def from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``CDS_*`` variables over the preset named by ``CDS_ENV``."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in declared():
        raw = env.get(f.metadata["env"])
        if raw not in (None, ""):
            values[f.name] = f.metadata["parse"](f.metadata["env"], raw)
    if values.get("env") == "production":
        preset = {f.name: f.metadata["production"] for f in declared() if f.metadata["production"] is not _SAME}
        values = {**preset, **values}
    settings = Settings(**values)
    if settings.screening_enabled and len(settings.screening_key or "") < 32:
        raise ConfigError("CDS_SCREENING_ENABLED=true needs CDS_SCREENING_KEY (32 characters or more): the key of "
                          "the hash that names a patient in the store, so that the id itself is never stored")
    if settings.auth == "required" and settings.trusted_clients is None and not settings.allow_sandbox:
        raise ConfigError("CDS_AUTH=required needs CDS_TRUSTED_CLIENTS (or CDS_ALLOW_SANDBOX=true in development)")
    check_production(settings)
    return settings


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


def _shown(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return f"`{','.join(value)}`" if value else "none"
    return f"`{value}`"


def markdown_table() -> str:
    """The README's configuration table, from the declaration."""
    rows = ["| variable | default (development) | production preset | meaning |", "|---|---|---|---|"]
    for f in declared():
        m = f.metadata
        dev = m["shown"] or _shown(f.default)
        prod = m["shown_production"] or ("same" if m["production"] is _SAME else _shown(m["production"]))
        rows.append(f"| `{m['env']}` | {dev} | {prod} | {m['doc']} |")
    return "\n".join(rows) + "\n"
