"""Small helpers shared by the blueprints: JSON in and out, the per-app services."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol

import orjson
from flask import Response, current_app, g, request

from .errors import INVALID_JSON, BadRequest, NotFound, UnsupportedMediaType
from .request_body import BODY

JSON_MEDIA_TYPES = ("application/json", "application/fhir+json")

if TYPE_CHECKING:
    from .auth import Authenticator, VerifiedClient
    from .config import Settings
    from .engine import Engine, Fetcher, HookRequest
    from .metrics import Metrics
    from .orders.engine import OrderEngine, OrderRequest
    from .store import Store


class FetcherFactory(Protocol):
    """Makes the FHIR fallback for one request (None when it names no fhirServer)."""

    def __call__(self, request: HookRequest | OrderRequest, client: VerifiedClient | None = None) -> Fetcher | None: ...


@dataclass
class Services:
    """Everything a request handler needs, built once by create_app."""

    settings: Settings
    engine: Engine
    store: Store
    authenticator: Authenticator | None
    fetcher_factory: FetcherFactory | None
    metrics: Metrics
    order_engines: dict[str, OrderEngine] | None = None  # service id -> OrderEngine (order-select, order-sign)

    def service_ids(self) -> tuple[str, ...]:
        return (self.settings.service_id, *(self.order_engines or {}))


def services() -> Services:
    svc: Services = current_app.extensions["cds"]
    return svc


def json_response(document: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(document), status=status, mimetype="application/json", headers=headers)


def require_json_media_type() -> None:
    """415 unless the body is declared JSON. A browser may send ``text/plain`` from any page
    without a preflight; insisting on a JSON media type makes every cross-site POST preflighted,
    so CORS (not the service's good will) decides which pages may call it. Parameters such as
    ``charset`` are allowed."""
    if request.mimetype not in JSON_MEDIA_TYPES:
        raise UnsupportedMediaType("the request body must be sent as application/json or application/fhir+json")


def read_json(decode: Callable[[bytes], Any] = orjson.loads) -> Any:
    """The request body as JSON; oversized bodies were refused by Werkzeug (413) before this.
    ``decode`` is orjson.loads, or prefetch.decode for a patient-view call (reads only what it uses)."""
    require_json_media_type()
    raw = request.environ.get(BODY)  # as request_body.BufferedBody read it: 8 MiB are not copied twice more
    limit = request.max_content_length
    if raw is None or (limit is not None and len(raw) > limit):
        raw = request.get_data(cache=False)  # Werkzeug's reader, and its 413 above Flask's limit
    if not raw:
        raise BadRequest("the request body is empty; a JSON object is expected")
    try:
        return decode(raw)
    except orjson.JSONDecodeError:
        raise BadRequest(INVALID_JSON) from None


def note(**values: Any) -> None:
    """Attach values to the request's log line (never patient data)."""
    g.setdefault("log_fields", {}).update(values)


def require_service(service_id: str) -> Services:
    """The per-app services, after checking the path names one of our CDS services (404 otherwise)."""
    svc = services()
    if service_id not in svc.service_ids():
        raise NotFound("no CDS service with that id; see GET /cds-services")
    return svc
