"""Client JWT authentication as CDS Hooks 2.0.1 intends (PyJWT + cryptography, no hand-written crypto).

Every call to discovery, a service or feedback must carry ``Authorization: Bearer <JWT>``
signed by a trusted client. Keys come only from the client's configured JWK Set (inline or
its configured URL); a ``jku`` in the token is accepted only when it *is* that URL, so a
token can never make the service fetch a key from where it likes. ``aud`` must be the URL
actually called (under CDS_PUBLIC_BASE_URL; never taken from the Host header in production),
``jti`` is refused on replay across workers and instances (kept in the database), and the
lifetime is bounded. Failures answer 401 with no detail; the reason is
logged with ``iss``, ``tenant`` and ``jti`` only.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import requests
from flask import Request

from .config import ConfigError, Settings
from .errors import DatabaseUnavailable, Unauthorized
from .store import Store, StoreError
from .validation import validator

SANDBOX_CLIENTS = Path("knowledge") / "sandbox-client.json"  # under CDS_KNOWLEDGE_DIR
_FORBIDDEN_ALGS = {"none", "HS256", "HS384", "HS512"}


@dataclass
class TrustedClient:
    iss: str
    algorithms: tuple[str, ...]
    jwks_url: str | None = None
    jwks: dict | None = None
    tenants: tuple[str, ...] = ()
    fhir_servers: tuple[str, ...] = ()


@dataclass
class _KeyCache:
    keys: dict[str, dict] = field(default_factory=dict)  # kid -> the JWK as published (checked usable)
    fetched_at: float = 0.0
    last_attempt: float = 0.0


def load_clients(path: Path) -> list[TrustedClient]:
    """Read and validate a trusted-clients file; a bad file stops the service at start."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"trusted clients file {path} is not readable JSON: {exc}") from None
    errors = sorted(validator("trusted-clients").iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        where = ".".join(str(p) for p in errors[0].absolute_path) or "(file)"
        raise ConfigError(f"trusted clients file {path} is invalid at {where}: {errors[0].message}")
    clients = []
    for raw in data["clients"]:
        bad = set(raw["algorithms"]) & _FORBIDDEN_ALGS
        if bad:
            raise ConfigError(f"trusted client {raw['iss']}: algorithms {sorted(bad)} are never accepted")
        clients.append(TrustedClient(iss=raw["iss"], algorithms=tuple(raw["algorithms"]), jwks_url=raw.get("jwks_url"),
                                     jwks=raw.get("jwks"), tenants=tuple(raw.get("tenants") or ()),
                                     fhir_servers=tuple(raw.get("fhir_servers") or ())))
    return clients


def check_client_for_production(client: TrustedClient, settings: Settings) -> None:
    """A trusted client entry production refuses to start with (ConfigError, one line): keys
    fetched over plain http could be swapped on the way, and a FHIR server the service is
    told to call must be reachable the way the settings allow (https by default)."""
    if client.jwks_url and not client.jwks_url.startswith("https://"):
        raise ConfigError(f"trusted client {client.iss}: jwks_url must be https when CDS_ENV=production")
    if settings.fhir_require_https:
        for server in client.fhir_servers:
            if not server.startswith("https://"):
                raise ConfigError(f"trusted client {client.iss}: fhir_servers entry {server} must be https "
                                  "when CDS_ENV=production")


def load_trusted_clients(settings: Settings) -> list[TrustedClient]:
    """Every client the settings trust, checked for production when CDS_ENV=production. The
    serve command calls this before starting workers, so a bad file stops the start with one
    line instead of failing inside each worker."""
    clients: list[TrustedClient] = []
    if settings.trusted_clients is not None:
        clients += load_clients(settings.trusted_clients)
    if settings.allow_sandbox:
        clients += load_clients(settings.knowledge_dir / SANDBOX_CLIENTS)
    if settings.production:
        for client in clients:
            check_client_for_production(client, settings)
    return clients


@dataclass(frozen=True)
class VerifiedClient:
    iss: str
    tenant: str | None
    jti: str
    fhir_servers: tuple[str, ...]


class Authenticator:
    def __init__(self, clients: list[TrustedClient], store: Store, settings: Settings,
                 http: requests.Session | None = None):
        self.clients = {c.iss: c for c in clients}
        self.store = store
        self.settings = settings
        self.http = http or requests.Session()
        self.http.trust_env = False
        self._caches: dict[str, _KeyCache] = {iss: _KeyCache() for iss in self.clients}
        self._lock = threading.Lock()
        for client in clients:
            if client.jwks:  # inline keys count as freshly fetched
                self._caches[client.iss].keys = self._parse_jwks(client.jwks)
                self._caches[client.iss].fetched_at = time.monotonic()

    @classmethod
    def from_settings(cls, settings: Settings, store: Store) -> "Authenticator":
        return cls(load_trusted_clients(settings), store, settings)

    # -- keys ----------------------------------------------------------------------------
    @staticmethod
    def _parse_jwks(jwks: dict) -> dict[str, dict]:
        """kid -> JWK, keeping only keys PyJWT can build; unusable ones are skipped, not fatal."""
        keys = {}
        for raw in jwks.get("keys", ()):
            if not isinstance(raw, dict) or not isinstance(raw.get("kid"), str) or not raw["kid"]:
                continue
            try:
                jwt.PyJWK(raw)
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
                continue
            keys[raw["kid"]] = raw
        return keys

    @staticmethod
    def key_object(jwk: dict, alg: str) -> jwt.PyJWK:
        """The key as a PyJWK bound to one algorithm: the JWK's own ``alg`` when it publishes one,
        else the token's. PyJWT then refuses a token whose ``alg`` is not the key's, and a key of
        the wrong type cannot be built for it, so an RS384 header on an EC key's kid (or the
        reverse) is a 401, never a TypeError deep in the signature check."""
        try:
            return jwt.PyJWK(jwk, algorithm=jwk.get("alg") or alg)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            raise Unauthorized(f"the key for this kid cannot be used with {alg}") from None

    def _fetch(self, jwks_url: str, cache: _KeyCache) -> None:
        cache.last_attempt = time.monotonic()
        try:
            resp = self.http.get(jwks_url, timeout=self.settings.jwks_timeout_ms / 1000.0,
                                 allow_redirects=False, headers={"Accept": "application/json"})
            if resp.status_code != 200:
                return
            keys = self._parse_jwks(resp.json())
        except (requests.RequestException, ValueError):
            return
        if keys:
            cache.keys = keys
            cache.fetched_at = time.monotonic()

    def key_for(self, client: TrustedClient, kid: str) -> dict | None:
        """The client's key for ``kid``: cached for a lifetime, refetched once on an unknown kid,
        at most once per cool-down so a flood of bad tokens cannot hammer the key server. (Keys never
        fetched are no keys at all, so the unknown kid fetches them whatever ``stale`` says.)"""
        cache = self._caches[client.iss]
        with self._lock:
            if client.jwks_url:
                now = time.monotonic()
                stale = now - cache.fetched_at > self.settings.jwks_cache_s
                may_fetch = cache.last_attempt == 0.0 or now - cache.last_attempt >= self.settings.jwks_refetch_cooldown_s
                if (stale or kid not in cache.keys) and may_fetch:
                    self._fetch(client.jwks_url, cache)
            return cache.keys.get(kid)

    # -- verification ----------------------------------------------------------------------
    def expected_audience(self, request: Request) -> str:
        """The URL a token's ``aud`` must name. Only development falls back to the URL the
        request says it was sent to (Host header), which a caller chooses; production refuses
        every token rather than do that (``config.check_production`` stops the start first)."""
        if self.settings.public_base_url:
            return self.settings.public_base_url + request.path
        if self.settings.production:
            raise Unauthorized("CDS_PUBLIC_BASE_URL is not set; the Host header is never trusted in production")
        return request.base_url

    def verify(self, request: Request) -> VerifiedClient:
        header_value = request.headers.get("Authorization", "")
        scheme, _, token = header_value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("no bearer token")
        return self.verify_token(token.strip(), self.expected_audience(request))

    def verify_token(self, token: str, audience: str) -> VerifiedClient:
        fields: dict = {}
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Unauthorized("not a JWT") from None
        if not isinstance(unverified, dict):
            raise Unauthorized("claims are not an object")
        iss = unverified.get("iss")
        fields = {"iss": iss if isinstance(iss, str) else None,
                  "tenant": unverified.get("tenant") if isinstance(unverified.get("tenant"), str) else None,
                  "jti": unverified.get("jti") if isinstance(unverified.get("jti"), str) else None}
        try:
            return self._verify(token, header, unverified, audience, fields)
        except Unauthorized as exc:
            exc.log_fields = fields  # type: ignore[attr-defined]
            raise

    def _verify(self, token: str, header: dict, unverified: dict, audience: str, fields: dict) -> VerifiedClient:
        alg = header.get("alg")
        if not isinstance(alg, str) or alg in _FORBIDDEN_ALGS or alg.startswith("HS"):
            raise Unauthorized(f"algorithm {alg!r} is never accepted")
        if str(header.get("typ", "")).upper() != "JWT":
            raise Unauthorized("header typ must be JWT")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("header has no kid")
        client = self.clients.get(fields["iss"]) if fields["iss"] else None
        if client is None:
            raise Unauthorized("issuer is not trusted")
        if alg not in client.algorithms:
            raise Unauthorized(f"algorithm {alg} is not allowed for this client")
        jku = header.get("jku")
        if jku is not None and jku != client.jwks_url:
            raise Unauthorized("jku is not the client's configured JWK Set URL")
        jwk = self.key_for(client, kid)
        if jwk is None:
            raise Unauthorized("unknown kid")
        key = self.key_object(jwk, alg)
        leeway = self.settings.jwt_leeway_s
        try:
            claims = jwt.decode(token, key=key, algorithms=[alg], audience=audience, issuer=client.iss,
                                leeway=leeway, options={"require": ["iss", "aud", "exp", "iat", "jti"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized("aud is not the URL called") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthorized(f"missing claim {exc.claim}") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("iat or nbf is in the future") from None
        except jwt.InvalidSignatureError:
            raise Unauthorized("bad signature") from None
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token ({type(exc).__name__})") from None
        now = time.time()
        iat, exp = claims["iat"], claims["exp"]
        if not isinstance(iat, (int, float)) or not isinstance(exp, (int, float)):
            raise Unauthorized("iat and exp must be numbers")
        if iat > now + leeway:
            raise Unauthorized("iat is in the future")
        if exp - iat > self.settings.jwt_max_lifetime_s:
            raise Unauthorized("token lifetime exceeds the limit")
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti or len(jti) > 255:
            raise Unauthorized("jti must be a non-empty string")
        tenant = claims.get("tenant")
        if client.tenants and tenant not in client.tenants:
            raise Unauthorized("tenant is not allowed for this client")
        try:
            fresh = self.store.remember_jti(f"{client.iss}|{jti}", float(exp) + leeway)
        except StoreError:  # without the replay check the token cannot be judged: 503, never a silent pass
            raise DatabaseUnavailable("the token replay check is unavailable; try again shortly", "replay-check") from None
        if not fresh:
            raise Unauthorized("jti replayed")
        return VerifiedClient(iss=client.iss, tenant=tenant if isinstance(tenant, str) else None, jti=jti,
                              fhir_servers=client.fhir_servers)
