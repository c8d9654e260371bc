"""Which FHIR and authorization servers the SMART app may talk to, and the CSP sources for them.

An entry is a base URL: scheme, host, an optional port (``:*`` for any port) and an optional
path. A server matches when scheme and host are equal, the port matches, and its path is the
entry's path or below it (``https://h/fhir`` allows ``https://h/fhir/r4`` but not ``https://h/fhirx``).
The same entries, reduced to scheme, host and port, are the sources the Content-Security-Policy
lets the page connect to: the browser then enforces the list too.
"""
from __future__ import annotations

from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def server_problem(entry: str) -> str | None:
    """Why an allowlist entry is unusable, or None."""
    try:
        parts = urlsplit(entry.replace(":*", ""))
    except ValueError:
        return f"{entry!r} is not a URL"
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return f"{entry!r} must be an http or https URL with a host"
    if parts.query or parts.fragment or parts.username or parts.password:
        return f"{entry!r} must not carry a query, a fragment or credentials"
    if "*" in entry.replace(":*", "", 1) or entry.count(":*") > 1:
        return f"{entry!r}: '*' is allowed only as the port (':*')"
    return None


def _split(url: str) -> tuple[str, str, int | None, str] | None:
    any_port = False
    if ":*" in url:
        url, any_port = url.replace(":*", "", 1), True
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    port = None if any_port else (port or _DEFAULT_PORTS[parts.scheme])
    return parts.scheme, parts.hostname.lower(), port, parts.path.rstrip("/")


def allowed(server: str | None, entries: tuple[str, ...]) -> bool:
    """Whether ``server`` (a FHIR base URL from a launch or a link) is on the allowlist."""
    if not server or not isinstance(server, str) or ":*" in server:
        return False
    wanted = _split(server.rstrip("/"))
    if wanted is None:
        return False
    scheme, host, port, path = wanted
    for entry in entries:
        e = _split(entry)
        if e is None:
            continue
        e_scheme, e_host, e_port, e_path = e
        if (scheme, host) != (e_scheme, e_host) or (e_port is not None and e_port != port):
            continue
        if path == e_path or path.startswith(e_path + "/"):
            return True
    return False


def csp_sources(entries: tuple[str, ...]) -> list[str]:
    """Scheme, host and port of each entry (CSP source expressions), without duplicates."""
    sources: list[str] = []
    for entry in entries:
        e = _split(entry)
        if e is None:
            continue
        scheme, host, port, _ = e
        source = f"{scheme}://{host}:{'*' if port is None else port}"
        if source not in sources:
            sources.append(source)
    return sources
