"""The SMART on FHIR app under /app/: the evidence per leg and the seed's questions, in the browser.

Served by the service itself (static files in ``static/``, the SMART client library vendored in
``static/vendor/`` at a pinned version), so nothing is fetched from a CDN. The launch, discovery,
PKCE and token exchange are the vendored ``fhirclient`` library's; the service only decides which
FHIR servers a page may be opened for (``allowlist``) and says so to the browser in the
Content-Security-Policy. Tokens never reach the service: they stay in the browser's sessionStorage.
"""
from __future__ import annotations

from .blueprint import PATH_PREFIX, bp

__all__ = ["PATH_PREFIX", "bp"]
