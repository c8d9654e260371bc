"""The FHIR fallback: fetch prefetch keys the client did not send, from the EHR's server.

Safety first: in production the service only calls FHIR servers configured for the
authenticated client, over https (never an open proxy); it follows ``next`` links only on
the same scheme, host and port as ``fhirServer``; it never follows redirects; it sends the
access token only there and never logs it (nor any URL, which would carry the patient id).
Every call has a timeout and the request as a whole one deadline, enforced while reading
the body too, so a stalled or dripping server can only make a key unobtainable (412).
"""
from __future__ import annotations

import errno
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FuturesTimeout
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson
import requests
import urllib3
from requests.adapters import HTTPAdapter

from typing import TYPE_CHECKING

from .config import Settings
from .errors import BadRequest
from .prefetch import KeyResult, PrefetchKey, classify, search_url

if TYPE_CHECKING:
    from .auth import VerifiedClient
    from .engine import HookRequest
    from .orders.engine import OrderRequest
    from .metrics import Metrics

log = logging.getLogger("cds_service.fhir")
ACCEPT = "application/fhir+json, application/json;q=0.9"
_CHUNK = 64 * 1024
_GRACE_S = 0.05


UNREACHABLE = "the FHIR server could not be reached"


class FetchFailed(Exception):
    """One key could not be had; the message is safe to return in an OperationOutcome."""


def _cause(exc: BaseException) -> BaseException | None:
    """The error behind ``exc``: urllib3 keeps it in ``reason``, requests in ``args``, Python in
    ``__cause__``/``__context__``."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        return reason
    nested = [a for a in getattr(exc, "args", ()) if isinstance(a, BaseException)]
    return nested[0] if nested else exc.__cause__ or exc.__context__


def transport_failure(exc: BaseException) -> str:
    """``ConnectionError/ECONNREFUSED``-style name of a socket-level failure, for the log only:
    the exception class and the errno name of the first OSError behind it, never a message."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = current.errno if isinstance(current, OSError) else None
        if code is not None and code in errno.errorcode:
            return f"{type(exc).__name__}/{errno.errorcode[code]}"
        current = _cause(current)
    return type(exc).__name__


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def _same_origin(url: str, base: str) -> bool:
    try:
        return _origin(url) == _origin(base)
    except ValueError:  # a server's next link with a port that is not one
        return False


def _within(url: str, base: str) -> bool:
    """``url`` is ``base`` or below it: same scheme, host and port, no user info, query or
    fragment, and a path under base's path with no dot segments (``/r4/../admin`` would leave
    it once the HTTP library normalises the path)."""
    if not _same_origin(url, base):
        return False
    parts, base_parts = urlsplit(url), urlsplit(base)
    if "@" in parts.netloc or parts.query or parts.fragment:
        return False
    if any(seg.lower().replace("%2e", ".") in (".", "..") for seg in parts.path.split("/")):
        return False
    path, prefix = parts.path.rstrip("/"), base_parts.path.rstrip("/")
    return path == prefix or path.startswith(prefix + "/")


def server_allowed(fhir_server: str, settings: Settings, client: VerifiedClient | None) -> str | None:
    """None when the service may call this server for this caller, else the reason it may not."""
    try:
        scheme, host, _ = _origin(fhir_server)
    except ValueError:  # a port out of range or not a number, an unclosed IPv6 bracket
        return "fhirServer is not a usable URL"
    if not host:
        return "fhirServer is not a usable URL"
    if settings.fhir_require_https and scheme != "https":
        return "fhirServer must use https"
    if client is not None and getattr(client, "fhir_servers", None):
        if any(_within(fhir_server, configured) for configured in client.fhir_servers):
            return None
        return "fhirServer is not configured for this client"
    if settings.fhir_allow_any_server:
        return None
    return "fhirServer is not configured for this client"


def _session() -> requests.Session:  # pragma: no mutate block (runs once at import, before a mutant could be switched on)
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=8, pool_maxsize=16, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.trust_env = False  # never route patient data through an ambient proxy setting
    return session


def _new_pool() -> ThreadPoolExecutor:  # pragma: no mutate block (runs at import and in a forked child, before a mutant could be switched on)
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="fhir-fetch")


_SESSION = _session()
_POOL = _new_pool()


def _renew_pool_after_fork() -> None:  # pragma: no mutate block
    """A forked child gets a pool of its own. Why: the child inherits the parent's pool object but not
    its threads, and the pool believes the threads it already started are still there, so work
    submitted in the child would wait forever. Only a pool used before the fork is affected
    (gunicorn --preload that served a call, or a test runner that forks after running tests)."""
    global _POOL
    _POOL = _new_pool()


os.register_at_fork(after_in_child=_renew_pool_after_fork)


def _unobtainable(given: KeyResult, resources: list, reason: str) -> KeyResult:
    """A key the server could not complete: what the client chose to send stands, marked partial
    (a first page with a next link), and a key it did not send has failed."""
    if given.state in ("present", "partial"):
        return KeyResult("partial", resources=resources, reason=f"later pages not fetched: {reason}")
    return KeyResult("failed", reason=reason)


@dataclass
class Fetcher:
    """Fetches the keys of one hook request; created per request by FallbackFactory."""

    settings: Settings
    fhir_server: str
    access_token: str | None
    context: dict
    denied: str | None
    metrics: Metrics | None = None

    def __call__(self, jobs: list[tuple[PrefetchKey, KeyResult]]) -> list[KeyResult]:
        deadline = time.monotonic() + self.settings.fhir_deadline_ms / 1000.0
        if self.denied:
            return [KeyResult("failed", reason=self.denied) if r.state in ("absent", "failed") else r for _, r in jobs]
        futures = [_POOL.submit(self._one, key, result, deadline) for key, result in jobs]
        results = []
        for (_, given), future in zip(jobs, futures, strict=True):
            try:
                results.append(future.result(timeout=max(deadline - time.monotonic(), 0.0) + _GRACE_S))
            except FuturesTimeout:  # the worker ends on its own at its next read; the request does not wait
                self._count("failure")
                results.append(_unobtainable(given, given.resources, "the overall deadline for FHIR calls passed"))
        return results

    def _one(self, key: PrefetchKey, given: KeyResult, deadline: float) -> KeyResult:
        resources = list(given.resources) if given.state == "present" else []
        if given.state == "present":
            url = given.next_url
        else:
            url = search_url(self.fhir_server, key, self.context)
        pages = 0
        seen: set[str] = set()
        try:
            while url:
                # Paging that cannot go on ends here, and the key says so (partial), never "present".
                cut = ("a next link points to another server; not followed" if not _same_origin(url, self.fhir_server)
                       else "a next link repeats a page already read" if url in seen
                       else f"more than {self.settings.fhir_page_cap} pages" if pages >= self.settings.fhir_page_cap
                       else None)
                if cut:
                    if pages == 0 and given.state != "present":
                        raise FetchFailed(cut)
                    self._count("partial")
                    return KeyResult("partial", resources=resources, reason=f"later pages not fetched: {cut}")
                seen.add(url)
                bundle = self._get(url, deadline)
                try:
                    page = classify(key.key, bundle, provided=True)
                except BadRequest:  # the server's answer is broken, not the client's request: the key is unobtainable
                    raise FetchFailed("the FHIR server's answer is not a valid Bundle") from None
                if page.state == "failed":
                    raise FetchFailed(f"the FHIR server answered with {page.reason}")
                if bundle.get("resourceType") != "Bundle":
                    raise FetchFailed("the FHIR server did not answer with a Bundle")
                resources.extend(page.resources)
                url = page.next_url
                pages += 1
        except FetchFailed as exc:
            self._count("failure")
            return _unobtainable(given, resources, str(exc))
        self._count("success")
        return KeyResult("present", resources=resources)

    def _get(self, url: str, deadline: float) -> dict:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchFailed("the overall deadline for FHIR calls passed")
        timeout = min(self.settings.fhir_timeout_ms / 1000.0, remaining)
        headers = {"Accept": ACCEPT}
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        try:
            with _SESSION.get(url, headers=headers, timeout=(timeout, timeout), stream=True, allow_redirects=False) as resp:
                if resp.status_code in (401, 403):
                    raise FetchFailed(f"the FHIR server refused the access token (HTTP {resp.status_code})")
                if 300 <= resp.status_code < 400:
                    raise FetchFailed("the FHIR server answered with a redirect; not followed")
                if resp.status_code != 200:
                    raise FetchFailed(f"the FHIR server answered HTTP {resp.status_code}")
                body = bytearray()
                while True:  # read1 returns what has arrived, so a server dripping bytes cannot outlast the deadline
                    chunk = resp.raw.read1(_CHUNK, decode_content=True)
                    if not chunk:
                        break
                    body.extend(chunk)
                    if len(body) > self.settings.fhir_max_response_bytes:
                        raise FetchFailed("the FHIR server's answer is too large")
                    if time.monotonic() > deadline:
                        raise FetchFailed("the overall deadline for FHIR calls passed")
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            # Timeouts, refused connections, resets and TLS failures all read the same to the
            # caller: which one it was tells a web page whether a port is open. The kind goes
            # to the log (exception and errno names only: messages quote the URL, i.e. the patient id).
            log.warning("fhir server unreachable", extra={"reason": transport_failure(exc)})
            raise FetchFailed(UNREACHABLE) from None
        try:
            document = orjson.loads(body)  # orjson reads the bytearray in place: no copy
        except orjson.JSONDecodeError:
            raise FetchFailed("the FHIR server's answer is not JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("resourceType"), str):
            raise FetchFailed("the FHIR server's answer is not a FHIR resource")
        return document

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.observe_fhir(outcome)


class FallbackFactory:
    """Makes a Fetcher for a hook request that names a fhirServer (None otherwise)."""

    def __init__(self, settings: Settings, metrics: Metrics | None = None):
        self.settings = settings
        self.metrics = metrics

    def __call__(self, request: HookRequest | OrderRequest, client: VerifiedClient | None = None) -> Fetcher | None:
        if not request.fhir_server:
            return None
        denied = server_allowed(request.fhir_server, self.settings, client)
        if denied:
            log.warning("fhir server refused", extra={"reason": denied, "iss": getattr(client, "iss", None)})
        return Fetcher(settings=self.settings, fhir_server=request.fhir_server, access_token=request.access_token,
                       context={"patientId": request.patient_id, "userId": request.user_id,
                                "encounterId": request.encounter_id}, denied=denied, metrics=self.metrics)
