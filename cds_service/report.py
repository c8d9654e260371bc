"""``cds-service report``: how the cards fared over a period, from non-identifying rows only.

Reads the card log (one row per card evaluated: topic, variant, what governance did with it),
the hook-call count and the stored feedback joined on the card's uuid. Never reads the
patient-linked snooze tables. Per pattern and variant: cards shown, suggestions accepted,
overrides by reason (``incorrect``, "card is wrong", also on its own), cards snoozed, cards per
100 hook calls; ``--json`` in the shape issue #19 fixes; ``--html`` one self-contained page
with a weekly plot per pattern (inline SVG: no script, nothing fetched).

A card counts in the period in which it was evaluated; feedback on it counts with it. Cards
evaluated in shadow mode count as shown (they are what would have been shown) and are named
as such in the text and HTML forms.
"""
from __future__ import annotations

import html
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

from .store import Store

SHOWN_STATUSES = ("shown", "shadow")
INCORRECT = "incorrect"


def _counts() -> dict:
    return {"shown": 0, "accepted": 0, "overridden": 0, "snoozed": 0, "override_reasons": {}}


def _week(at: float) -> str:
    day = datetime.fromtimestamp(at, tz=timezone.utc).date()
    return (day - timedelta(days=day.weekday())).isoformat()  # the Monday of its ISO week


def build(store: Store, since: datetime, until: datetime) -> tuple[dict, dict]:
    """The JSON document, and extras for the text and HTML forms (shadow counts, weekly series)."""
    cards, feedback, calls = store.report_rows(since.timestamp(), until.timestamp())
    topics: dict[str, dict] = {}
    card_of: dict[str, tuple[str, str, float]] = {}
    shadow: Counter = Counter()
    weekly: dict[str, dict[str, Counter]] = defaultdict(lambda: {"shown": Counter(), "overridden": Counter()})
    for row in cards:
        topic = topics.setdefault(row["topic"], {**_counts(), "by_variant": {}})
        variant = topic["by_variant"].setdefault(row["variant"], _counts())
        if row["status"] in SHOWN_STATUSES:
            for target in (topic, variant):
                target["shown"] += 1
            card_of[row["card_uuid"]] = (row["topic"], row["variant"], row["at"])
            weekly[row["topic"]]["shown"][_week(row["at"])] += 1
            if row["status"] == "shadow":
                shadow[row["topic"]] += 1
        elif row["status"] == "snoozed":
            for target in (topic, variant):
                target["snoozed"] += 1
    for item in feedback:
        if item["card_uuid"] not in card_of:
            continue
        topic_code, variant_id, at = card_of[item["card_uuid"]]
        targets = (topics[topic_code], topics[topic_code]["by_variant"][variant_id])
        if item["outcome"] == "accepted":
            for target in targets:
                target["accepted"] += 1
        elif item["outcome"] == "overridden":
            reason = item["override_code"] or "none given"
            for target in targets:
                target["overridden"] += 1
                target["override_reasons"][reason] = target["override_reasons"].get(reason, 0) + 1
            weekly[topic_code]["overridden"][_week(at)] += 1
    document = {"topics": topics, "hook_calls": len(calls), "since": since.isoformat(), "until": until.isoformat()}
    return document, {"shadow": shadow, "weekly": weekly, "shadow_calls": sum(1 for c in calls if c["shadow"])}


def per_100(n: int, calls: int) -> str:
    return f"{100 * n / calls:.1f}" if calls else "-"


def text(document: dict, extras: dict) -> str:
    calls = document["hook_calls"]
    lines = [f"Cards from {document['since']} to {document['until']}: {calls} hook calls"
             + (f" ({extras['shadow_calls']} in shadow mode)" if extras["shadow_calls"] else ""), ""]
    header = f"{'pattern / variant':58} {'shown':>6} {'per 100':>8} {'accepted':>9} {'overridden':>11} {'snoozed':>8}"
    lines += [header, "-" * len(header)]
    for code, topic in sorted(document["topics"].items()):
        lines.append(f"{code:58} {topic['shown']:>6} {per_100(topic['shown'], calls):>8} {topic['accepted']:>9} "
                     f"{topic['overridden']:>11} {topic['snoozed']:>8}")
        for vid, v in sorted(topic["by_variant"].items()):
            lines.append(f"  {vid:56} {v['shown']:>6} {per_100(v['shown'], calls):>8} {v['accepted']:>9} "
                         f"{v['overridden']:>11} {v['snoozed']:>8}")
        if extras["shadow"].get(code):
            lines.append(f"  ({extras['shadow'][code]} of the shown were evaluated in shadow mode and not returned)")
    lines += ["", "Overrides by reason:"]
    for code, topic in sorted(document["topics"].items()):
        reasons = {r: n for r, n in topic["override_reasons"].items() if r != INCORRECT}
        if reasons:
            lines.append(f"  {code}: " + ", ".join(f"{r} {n}" for r, n in sorted(reasons.items())))
    lines += ["", "Cards marked wrong by clinicians (override reason 'incorrect'):"]
    wrong = [(code, vid, v["override_reasons"].get(INCORRECT, 0)) for code, topic in sorted(document["topics"].items())
             for vid, v in sorted(topic["by_variant"].items()) if v["override_reasons"].get(INCORRECT)]
    lines += [f"  {code} / {vid}: {n}" for code, vid, n in wrong] or ["  none"]
    return "\n".join(lines) + "\n"


_COLOURS = {"shown": "#1f77b4", "overridden": "#d62728"}


def _svg(title: str, weeks: list[str], series: dict[str, Counter]) -> str:
    """A small line plot of weekly counts; inline SVG in HTML (no namespace URL needed), nothing external."""
    width, height, left, bottom, top, right = 520, 220, 44, 40, 28, 110
    top_value = max([1, *(c[w] for c in series.values() for w in weeks)])
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(i: int) -> float:
        return left + (plot_w * i / (len(weeks) - 1) if len(weeks) > 1 else plot_w / 2)

    def y(v: int) -> float:
        return top + plot_h - plot_h * v / top_value

    parts = [f'<svg width="{width}" height="{height}" role="img" '
             f'aria-label="{html.escape(title)}">',
             f'<text x="{left}" y="16" font-size="13" font-weight="bold">{html.escape(title)}</text>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#333"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>',
             f'<text x="{left - 6}" y="{top + 4}" font-size="10" text-anchor="end">{top_value}</text>',
             f'<text x="{left - 6}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>']
    for i, week in enumerate(weeks):
        if len(weeks) <= 8 or i % max(1, len(weeks) // 8) == 0:
            parts.append(f'<text x="{x(i):.1f}" y="{top + plot_h + 14}" font-size="9" text-anchor="middle">{week[5:]}</text>')
    for j, (name, counts) in enumerate(series.items()):
        points = " ".join(f"{x(i):.1f},{y(counts[w]):.1f}" for i, w in enumerate(weeks))
        colour = _COLOURS[name]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        parts += [f'<circle cx="{x(i):.1f}" cy="{y(counts[w]):.1f}" r="3" fill="{colour}"><title>{name} in the week of '
                  f'{w}: {counts[w]}</title></circle>' for i, w in enumerate(weeks)]
        parts.append(f'<rect x="{left + plot_w + 12}" y="{top + 16 * j}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{left + plot_w + 26}" y="{top + 9 + 16 * j}" font-size="11">{name}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.0f}" y="{height - 6}" font-size="10" text-anchor="middle">'
                 'week starting (month-day)</text></svg>')
    return "\n".join(parts)


def _weeks(since: datetime, until: datetime) -> list[str]:
    first = datetime.fromisoformat(_week(since.timestamp())).date()
    last = datetime.fromisoformat(_week(max(since.timestamp(), until.timestamp() - 1))).date()
    return [(first + timedelta(weeks=i)).isoformat() for i in range((last - first).days // 7 + 1)]


def html_page(document: dict, extras: dict) -> str:
    since, until = datetime.fromisoformat(document["since"]), datetime.fromisoformat(document["until"])
    weeks = _weeks(since, until)
    calls = document["hook_calls"]
    rows = []
    for code, topic in sorted(document["topics"].items()):
        for label, v in [(f"<b>{html.escape(code)}</b>", topic)] + [
                (f"&nbsp;&nbsp;{html.escape(vid)}", v) for vid, v in sorted(topic["by_variant"].items())]:
            reasons = ", ".join(f"{html.escape(r)} {n}" for r, n in sorted(v["override_reasons"].items()) if r != INCORRECT)
            rows.append(f"<tr><td>{label}</td><td>{v['shown']}</td><td>{per_100(v['shown'], calls)}</td>"
                        f"<td>{v['accepted']}</td><td>{v['overridden']}</td><td>{reasons or '-'}</td>"
                        f"<td>{v['override_reasons'].get(INCORRECT, 0)}</td><td>{v['snoozed']}</td></tr>")
    plots = [_svg(code, weeks, extras["weekly"][code]) for code in sorted(document["topics"])
             if code in extras["weekly"]] or ["<p>No cards were shown in this period.</p>"]
    shadow = (f"<p>{extras['shadow_calls']} of the hook calls ran in shadow mode: their cards were recorded, not "
              "returned, and count as shown here.</p>") if extras["shadow_calls"] else ""
    title = f"Card report {html.escape(document['since'])} to {html.escape(document['until'])}"
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\n"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "th,td{border:1px solid #999;padding:3px 6px;text-align:right}td:first-child{text-align:left}"
            "th{background:#eee}figure{display:inline-block;margin:0 1em 1em 0}</style></head><body>\n"
            f"<h1>{title}</h1>\n<p>{calls} hook calls. Counts only: no patient data is stored for this report.</p>"
            f"{shadow}\n<table>\n<tr><th>pattern / variant</th><th>shown</th><th>per 100 hook calls</th><th>accepted</th>"
            "<th>overridden</th><th>override reasons</th><th>card is wrong</th><th>snoozed</th></tr>\n"
            + "\n".join(rows) + "\n</table>\n<h2>Cards shown and overridden per week</h2>\n"
            + "\n".join(f"<figure>{p}</figure>" for p in plots) + "\n</body></html>\n")
