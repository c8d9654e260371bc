"""The SMART app's server allowlist (cds_service/smart_app/allowlist.py): matching and CSP sources."""
from __future__ import annotations

import pytest

from cds_service.smart_app.allowlist import allowed, csp_sources, server_problem

ENTRIES = ("http://127.0.0.1:*", "https://fhir.example.org/r4", "https://auth.example.org:8443")


@pytest.mark.parametrize("server", [
    "http://127.0.0.1:8080/fhir", "http://127.0.0.1:1/", "https://fhir.example.org/r4", "https://fhir.example.org/r4/",
    "https://fhir.example.org/r4/tenant-a", "https://FHIR.example.org:443/r4", "https://auth.example.org:8443/fhir",
])
def test_servers_on_the_list(server):
    assert allowed(server, ENTRIES)


@pytest.mark.parametrize("server", [
    None, "", "not a url", "ftp://127.0.0.1/fhir", "https://127.0.0.1:8080/fhir",  # scheme differs
    "http://127.0.0.2:8080/fhir", "http://localhost:8080/fhir",  # host differs
    "https://fhir.example.org/r4x", "https://fhir.example.org/", "https://fhir.example.org:8443/r4",  # path, port
    "https://auth.example.org/fhir",  # the entry names port 8443
    "https://user:pw@fhir.example.org/r4", "http://127.0.0.1:*/fhir", "https://fhir.example.org.evil.test/r4",
])
def test_servers_off_the_list(server):
    assert not allowed(server, ENTRIES)


def test_nothing_is_allowed_by_an_empty_list():
    assert not allowed("http://127.0.0.1:8080/fhir", ())


def test_csp_sources_are_scheme_host_and_port():
    assert csp_sources((*ENTRIES, "https://fhir.example.org/other")) == [
        "http://127.0.0.1:*", "https://fhir.example.org:443", "https://auth.example.org:8443"]


@pytest.mark.parametrize("entry", ["ftp://h/x", "https://", "https://h/x?y=1", "https://u:p@h", "https://*.h.org",
                                   "https://h:*:*"])
def test_unusable_entries_are_named(entry):
    assert server_problem(entry)


@pytest.mark.parametrize("entry", ["http://127.0.0.1:*", "https://fhir.example.org/r4", "http://localhost:8080"])
def test_usable_entries(entry):
    assert server_problem(entry) is None
