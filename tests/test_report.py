"""``cds-service report`` on data the test creates through the HTTP endpoints: the JSON shape of
issue #19 exactly, the text form with "card is wrong" on its own, and an HTML page that needs no
network (no script, style sheet or image is fetched: no URL at all)."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from cds_service import cli
from cds_service.app import create_app

from builders import ICD, NOW, SCT, abi, condition, hook_request
from helpers import by_topic

URL = "/cds-services/leg-pain-claudication"
LEFT_CALF = [{"coding": [{"system": SCT, "code": "53840002:272741003=7771000"}]}]
ARTERIAL, NEURO = "arterial-claudication", "neurogenic-claudication"


def _feedback(client, card, outcome, code=None):
    item = {"card": card["uuid"], "outcome": outcome, "outcomeTimestamp": NOW.isoformat()}
    if code:
        item["overrideReason"] = {"reason": next(r for r in card["overrideReasons"] if r["code"] == code)}
    if outcome == "accepted":
        item["acceptedSuggestions"] = [{"id": card["suggestions"][0]["uuid"]}]
    assert client.post(URL + "/feedback", json={"feedback": [item]}).status_code == 200


@pytest.fixture
def activity(settings, knowledge, monkeypatch):
    """Five chart openings: an accepted suggestion, an override that snoozes (then a snoozed card),
    a card marked wrong, and one chart with nothing to say."""
    monkeypatch.setenv("CDS_DATABASE_URL", settings.database_url)
    client = create_app(settings, knowledge=knowledge).test_client()

    def open_chart(resources, patient):
        return by_topic(client.post(URL, json=hook_request(resources, patient=patient)).get_json()["cards"])

    claudication = condition(SCT, "63491006", body_site=LEFT_CALF, patient="p1")
    _feedback(client, open_chart([claudication], "p1")[ARTERIAL], "accepted")
    low = [condition(SCT, "63491006", body_site=LEFT_CALF, patient="p2"), abi(0.72, "left", patient="p2")]
    _feedback(client, open_chart(low, "p2")[ARTERIAL], "overridden", "already-assessed")
    assert ARTERIAL not in open_chart(low, "p2")  # snoozed
    neuro = condition(SCT, "368581000119106", onset_days=3000, patient="p3")
    _feedback(client, open_chart([neuro], "p3")[NEURO], "overridden", "incorrect")
    open_chart([condition(ICD, "Z00.00", patient="p4")], "p4")
    return settings


def _run(capsys, *args) -> str:
    assert cli.main(["report", "--since", (NOW - timedelta(days=1)).isoformat(),
                     "--until", (NOW + timedelta(days=1)).isoformat(), *args]) == 0
    return capsys.readouterr().out


def test_report_json_has_exactly_the_issues_shape(activity, capsys):
    document = json.loads(_run(capsys, "--json"))
    assert set(document) == {"topics", "hook_calls", "since", "until"}
    assert document["hook_calls"] == 5
    assert document["since"] == (NOW - timedelta(days=1)).isoformat()
    assert document["topics"] == {
        ARTERIAL: {"shown": 2, "accepted": 1, "overridden": 1, "snoozed": 1,
                   "override_reasons": {"already-assessed": 1},
                   "by_variant": {
                       "default": {"shown": 1, "accepted": 1, "overridden": 0, "snoozed": 0, "override_reasons": {}},
                       "abi-abnormal-exertional": {"shown": 1, "accepted": 0, "overridden": 1, "snoozed": 1,
                                                   "override_reasons": {"already-assessed": 1}}}},
        NEURO: {"shown": 1, "accepted": 0, "overridden": 1, "snoozed": 0, "override_reasons": {"incorrect": 1},
                "by_variant": {"neuropathy": {"shown": 1, "accepted": 0, "overridden": 1, "snoozed": 0,
                                              "override_reasons": {"incorrect": 1}}}},
    }


def test_report_outside_the_period_is_empty(activity, capsys):
    assert cli.main(["report", "--json", "--since", "2020-01-01", "--until", "2020-02-01"]) == 0
    assert json.loads(capsys.readouterr().out)["topics"] == {}


def test_report_text_shows_rates_and_cards_marked_wrong_on_their_own(activity, capsys):
    out = _run(capsys)
    assert "5 hook calls" in out
    assert re.search(r"^arterial-claudication\s+2\s+40\.0\s+1\s+1\s+1$", out, re.M), out
    wrong = out.split("Cards marked wrong by clinicians (override reason 'incorrect'):")[1]
    assert wrong.strip() == "neurogenic-claudication / neuropathy: 1"
    assert "incorrect" not in out.split("Overrides by reason:")[1].split("Cards marked wrong")[0]


class _Fetches(HTMLParser):
    """Every attribute that would make a browser fetch something, and every tag that could."""

    def __init__(self):
        super().__init__()
        self.fetching: list[tuple[str, str, str]] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "data", "poster", "action", "xlink:href") and value:
                self.fetching.append((tag, name, value))


def assert_self_contained(page: str) -> _Fetches:
    parser = _Fetches()
    parser.feed(page)
    assert parser.fetching == []
    assert not {"script", "link", "img", "iframe", "object", "embed"} & parser.tags
    assert not re.search(r"https?://", page) and "url(" not in page and "@import" not in page
    return parser


def test_report_html_is_one_self_contained_page_with_a_weekly_plot(activity, capsys, tmp_path):
    page_path = tmp_path / "report.html"
    assert _run(capsys, "--html", str(page_path)) == ""
    page = page_path.read_text(encoding="utf-8")
    parser = assert_self_contained(page)
    assert {"svg", "polyline", "table"} <= parser.tags
    assert page.count("<svg") == 2  # one plot per pattern shown
    assert "shown in the week of" in page and "overridden in the week of" in page
    assert "card is wrong" in page


def test_shadow_mode_cards_count_as_shown_and_say_so(settings, knowledge, monkeypatch, capsys):
    monkeypatch.setenv("CDS_DATABASE_URL", settings.database_url)
    client = create_app(settings.with_overrides(shadow_mode=True), knowledge=knowledge).test_client()
    assert client.post(URL, json=hook_request([condition(SCT, "63491006", body_site=LEFT_CALF)])).get_json() == {"cards": []}
    assert json.loads(_run(capsys, "--json"))["topics"][ARTERIAL]["shown"] == 1
    assert "1 in shadow mode" in _run(capsys)


def test_report_refuses_an_empty_period(capsys, settings, monkeypatch):
    monkeypatch.setenv("CDS_DATABASE_URL", settings.database_url)
    assert cli.main(["report", "--since", "2026-02-01", "--until", "2026-01-01"]) == 2
    with pytest.raises(SystemExit):
        cli.main(["report", "--since", "last tuesday"])
