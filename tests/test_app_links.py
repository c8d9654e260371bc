"""The links from patient-view cards to the SMART app (cds_service/app_links.py), through the API:
a `smart` link with appContext on every non-critical card, none on a critical card, and the
development-only `absolute` link only without fhirAuthorization, for an allowlisted server."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from builders import PATIENT, hook_request
from cases import resources_for
from cds_service.app import create_app

SERVICE = "/cds-services/leg-pain-claudication"
FHIR = "http://127.0.0.1:8081/fhir"
AUTH = {"access_token": "secret-token-value", "token_type": "Bearer", "expires_in": 300, "scope": "patient/*.read",
        "subject": "cds"}


def _cards(client, name, **extra):
    response = client.post(SERVICE, json=hook_request(resources_for(name, PATIENT), **extra))
    assert response.status_code == 200
    return response.get_json()["cards"]


def _links(card, kind):
    """The card's links of that type to the app (cards also link to their sources)."""
    return [link for link in card.get("links", ()) if link["type"] == kind and "/app/" in link["url"]]


def test_a_smart_link_with_the_current_cards_as_app_context(client):
    (card,) = _cards(client, "arterial-left-calf-low-abi")
    (link,) = _links(card, "smart")
    assert link["url"] == "http://localhost/app/launch"
    context = json.loads(link["appContext"])
    assert context == {"cards": [{"uuid": card["uuid"], "topic": "arterial-claudication", "summary": card["summary"]}]}


def test_a_critical_card_has_no_app_link(client):
    (card,) = _cards(client, "arterial-acute-limb-ischaemia", fhirServer=FHIR)
    assert card["indicator"] == "critical"
    assert _links(card, "smart") == [] and _links(card, "absolute") == []


def test_the_open_link_in_development_without_authorization(client):
    (card,) = _cards(client, "venous-dvt-swelling", fhirServer=FHIR + "/")
    (link,) = _links(card, "absolute")
    parts = urlsplit(link["url"])
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "localhost", "/app/")
    assert parse_qs(parts.query) == {"fhirServer": [FHIR], "patient": [PATIENT]}
    assert client.get(parts.path + "?" + parts.query).status_code == 200  # and the app opens for it


def test_no_open_link_when_the_request_carries_authorization(client):
    (card,) = _cards(client, "venous-dvt-swelling", fhirServer=FHIR, fhirAuthorization=AUTH)
    assert _links(card, "absolute") == [] and len(_links(card, "smart")) == 1
    assert "secret-token-value" not in json.dumps(card)


def test_no_open_link_without_a_fhir_server_or_for_one_off_the_list(client):
    (card,) = _cards(client, "venous-dvt-swelling")
    assert _links(card, "absolute") == []
    (card,) = _cards(client, "venous-dvt-swelling", fhirServer="https://ehr.example.org/fhir")
    assert _links(card, "absolute") == []


@pytest.fixture
def no_open_link(settings, knowledge):
    return create_app(settings.with_overrides(app_open_link=False), knowledge=knowledge).test_client()


def test_no_open_link_when_the_setting_is_off(no_open_link):
    (card,) = _cards(no_open_link, "venous-dvt-swelling", fhirServer=FHIR)
    assert _links(card, "absolute") == [] and len(_links(card, "smart")) == 1


def test_the_public_base_url_names_the_app(settings, knowledge):
    client = create_app(settings.with_overrides(public_base_url="https://cds.example.org"), knowledge=knowledge).test_client()
    (card,) = _cards(client, "venous-dvt-swelling", fhirServer=FHIR)
    assert _links(card, "smart")[0]["url"] == "https://cds.example.org/app/launch"
    assert _links(card, "absolute")[0]["url"].startswith("https://cds.example.org/app/?")


def test_order_cards_get_no_app_link(client):
    from order_builders import heart_failure, order_request, sandbox_medication
    body = order_request([sandbox_medication()], [heart_failure()], fhirServer=FHIR)
    cards = client.post(SERVICE + "-order-sign", json=body).get_json()["cards"]
    assert cards and all(link["url"].find("/app/") < 0 for c in cards for link in c.get("links", ()))


def test_the_offer_to_ask_the_questions_links_to_the_app(client):
    """Issue 21's card ("cause not yet clear: ask the questions") opens the app that asks them."""
    body = hook_request(resources_for("leg-pain-ask-the-questions", PATIENT), answers=[], fhirServer=FHIR)
    (card,) = client.post(SERVICE, json=body).get_json()["cards"]
    assert card["source"]["topic"]["code"] == "leg-pain-questions" and card["indicator"] == "info"
    assert [link["url"] for link in _links(card, "smart")] == ["http://localhost/app/launch"]
    assert json.loads(_links(card, "smart")[0]["appContext"])["cards"][0]["topic"] == "leg-pain-questions"
    assert len(_links(card, "absolute")) == 1
