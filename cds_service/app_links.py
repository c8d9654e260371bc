"""The links from patient-view cards to the SMART app (/app/).

Every non-critical card gets a ``smart`` link (CDS Hooks 2.0.1 §Link): the EHR launches
``/app/launch`` with ``iss`` and ``launch`` and passes ``appContext`` to the app, here the
current cards (uuid, topic, summary) so the app can say what it was opened from. Critical
cards get none: nothing should stand between a clinician and an urgent referral.

The public sandbox turns a ``smart`` link into a launch only where its FHIR server gives it a
launch context, which most open servers do not (its launch-context-retrieval.js). So in
development only (``CDS_APP_OPEN_LINK``, off in production), a request without
``fhirAuthorization`` whose ``fhirServer`` is on the app's allowlist also gets an ``absolute``
link opening the app with the FHIR base and the patient as query parameters. It carries no
token: there is none in such a request, and a token never goes into a URL.
"""
from __future__ import annotations

from urllib.parse import urlencode

import orjson

from .config import Settings
from .smart_app import allowlist

SMART_LABEL = "Open the leg-pain app: both legs, the ABI over time, and the questions"
OPEN_LABEL = "Open the leg-pain app (development link, open FHIR server)"


def app_context(cards: list[dict]) -> str:
    """The patient's current cards, named for the app (CDS Hooks appContext is a string)."""
    named = [{"uuid": c["uuid"], "topic": c["source"]["topic"]["code"], "summary": c["summary"]} for c in cards]
    return orjson.dumps({"cards": named}).decode()


def add(cards: list[dict], *, settings: Settings, base_url: str | None, fhir_server: str | None,
        patient_id: str, authorized: bool) -> list[dict]:
    """The cards with the app's links appended to each non-critical card's ``links``."""
    if not base_url or not cards:
        return cards
    base = base_url.rstrip("/")
    context = app_context(cards)
    links = [{"label": SMART_LABEL, "url": f"{base}/app/launch", "type": "smart", "appContext": context}]
    if (settings.app_open_link and not authorized and fhir_server
            and allowlist.allowed(fhir_server, settings.app_fhir_servers)):
        query = urlencode({"fhirServer": fhir_server.rstrip("/"), "patient": patient_id})
        links.append({"label": OPEN_LABEL, "url": f"{base}/app/?{query}", "type": "absolute"})
    for card in cards:
        if card["indicator"] != "critical":
            card["links"] = [*card.get("links", ()), *links]
    return cards
