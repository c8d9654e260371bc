"""GET /metrics in the Prometheus text format. Open: counters only, no patient data."""
from __future__ import annotations

from flask import Blueprint, Response

from ..http import services

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    m = services().metrics
    return Response(m.render(), mimetype=None, content_type=m.content_type)
