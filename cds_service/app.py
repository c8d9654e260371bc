"""The Flask application factory: knowledge, storage, auth and blueprints wired once.

``create_app(settings)`` loads and checks the knowledge files first, so a broken value set
or template stops the service at start, never at request time.
"""
from __future__ import annotations

import gc
import logging
import threading
import time
import traceback
from typing import TYPE_CHECKING

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from . import config as config_mod, cors, knowledge as knowledge_mod, logs
from .api import discovery, feedback, health, hooks, metrics as metrics_api, openapi, questionnaires
from . import smart_app
from .engine import Engine
from .governance import Governance
from .errors import CDSError, DatabaseUnavailable, Unauthorized, operation_outcome
from .http import FetcherFactory, Services, json_response
from .orders import engine as orders_engine
from .metrics import Metrics
from .request_body import BufferedBody
from .store import Store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from .auth import Authenticator

log = logging.getLogger(logs.REQUEST_LOGGER)
auth_log = logging.getLogger(logs.AUTH_LOGGER)
_OPEN_PATHS = ("/healthz", "/readyz", "/metrics", "/openapi.json")
_HTTP_ISSUE = {404: "not-found", 405: "not-supported", 413: "too-costly", 415: "not-supported"}


class CollectorPause:
    """WSGI middleware: the garbage collector is paused while any request is in flight in this worker.

    Why: decoding a prefetch allocates one container per JSON object and array, and the collector,
    triggered by those allocations, would traverse the whole decoded body several times while it is
    being built and read (reference counting frees it anyway: it holds no cycles). The collector is
    process-wide and a worker runs several threads, so a lock-protected counter pauses it when the
    first request starts and resumes it when the last one ends (after the response was written: the
    pause covers ``close()``), collecting the young generation then. Under a load that never leaves
    the worker idle, a young collection still runs once ``RESUME_AFTER`` allocations are pending."""

    RESUME_AFTER = 200_000  # allocations pending before a young collection runs anyway

    def __init__(self, app: WSGIApplication):
        self.app = app
        self._lock = threading.Lock()
        self._in_flight = 0

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        with self._lock:
            self._in_flight += 1
            if self._in_flight == 1:
                gc.disable()
        try:
            answer = self.app(environ, start_response)
        except BaseException:
            self._leave()
            raise
        return _Closing(answer, self._leave)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1
            idle = self._in_flight == 0
            if idle:
                gc.enable()
        if idle or gc.get_count()[0] > self.RESUME_AFTER:
            gc.collect(0)


class _Closing:
    """The app's answer, calling ``done`` once when the server closes it (PEP 3333)."""

    def __init__(self, answer: Iterable[bytes], done: Callable[[], None]):
        self._answer = answer
        self._done: Callable[[], None] | None = done

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._answer)

    def close(self) -> None:
        try:
            close = getattr(self._answer, "close", None)
            if close is not None:
                close()
        finally:
            done, self._done = self._done, None
            if done is not None:
                done()


def _endpoint_label() -> str:
    rule = request.url_rule.rule if request.url_rule else "unmatched"
    return rule.replace("<service_id>", "{id}")


def create_app(settings: config_mod.Settings | None = None, *, knowledge: knowledge_mod.Knowledge | None = None,
               store: Store | None = None, fetcher_factory: FetcherFactory | None = None,
               authenticator: Authenticator | None = None, body_read_timeout_s: float = 10.0) -> Flask:
    settings = settings or config_mod.from_env()
    logs.configure(settings.log_level)
    knowledge = knowledge or knowledge_mod.load(settings.knowledge_dir)
    order_engines = orders_engine.build(knowledge, settings)
    store = store or Store(settings.database_url)
    store.create_schema()
    if authenticator is None and settings.auth == "required":
        from .auth import Authenticator
        authenticator = Authenticator.from_settings(settings, store)
    metrics = Metrics()
    engine = Engine(knowledge, settings, Governance(settings, knowledge, store, metrics), memory=store)
    if fetcher_factory is None:
        from .fhir_client import FallbackFactory
        fetcher_factory = FallbackFactory(settings, metrics=metrics)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.wsgi_app = BufferedBody(  # type: ignore[method-assign]  # Flask's documented way to add middleware
        app.wsgi_app, settings.max_body_bytes, read_timeout_s=body_read_timeout_s, deadline_s=3 * body_read_timeout_s)
    app.wsgi_app = CollectorPause(app.wsgi_app)  # type: ignore[method-assign]  # outermost: covers the body read too
    app.extensions["cds"] = Services(settings=settings, engine=engine, store=store, authenticator=authenticator,
                                     fetcher_factory=fetcher_factory, metrics=metrics, order_engines=order_engines)
    cors.install(app, settings.cors_origins)
    for blueprint in (discovery.bp, hooks.bp, feedback.bp, health.bp, metrics_api.bp, openapi.bp, questionnaires.bp,
                      smart_app.bp):
        app.register_blueprint(blueprint)

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        g.log_fields = {}
        # The SMART app's pages are opened by a browser, not by a CDS client: the app authenticates
        # to the FHIR server through its own SMART launch, never to this service.
        if (authenticator is not None and request.method != "OPTIONS" and request.path not in _OPEN_PATHS
                and not request.path.startswith((questionnaires.PATH_PREFIX, smart_app.PATH_PREFIX))):
            g.auth_started = time.perf_counter()
            client = authenticator.verify(request)
            g.client = client
            g.log_fields["auth_ms"] = round((time.perf_counter() - g.auth_started) * 1e3, 2)
            g.log_fields["iss"] = client.iss

    @app.after_request
    def _finish(response: Response) -> Response:
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        endpoint = _endpoint_label()
        metrics.observe_request(endpoint, request.method, response.status_code, elapsed)
        log.info("request", extra={"method": request.method, "endpoint": endpoint, "status": response.status_code,
                                   "duration_ms": round(elapsed * 1e3, 2), **g.get("log_fields", {})})
        return response

    @app.errorhandler(CDSError)
    def _cds_error(exc: CDSError) -> Response:
        if isinstance(exc, Unauthorized):
            metrics.auth_failures.inc()
            auth_log.warning("unauthorized", extra={"reason": exc.reason, **getattr(exc, "log_fields", {})})
        if isinstance(exc, DatabaseUnavailable):
            metrics.database_unavailable.labels(exc.use).inc()
        g.setdefault("log_fields", {})["error"] = exc.issue_code
        return json_response(exc.outcome(), status=exc.status, headers=exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        code = exc.code or 500
        message = {404: "no such endpoint", 405: "method not allowed on this endpoint",
                   413: f"request body is larger than {settings.max_body_bytes} bytes"}.get(code, exc.name)
        allowed = getattr(exc, "valid_methods", None)  # set on MethodNotAllowed only
        headers = {"Allow": ", ".join(allowed)} if code == 405 and allowed else None
        return json_response(operation_outcome(message, _HTTP_ISSUE.get(code, "processing")), status=code, headers=headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # Log where it happened and the exception type only: messages may quote request data.
        frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        log.error("unhandled error", extra={"error_type": type(exc).__name__,
                                            "where": f"{frame.filename}:{frame.lineno}" if frame else "?"})
        return json_response(operation_outcome("internal error; the request was not processed", "exception"), status=500)

    return app
