"""FHIR date, dateTime and instant values (possibly partial) as aware UTC datetimes."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def parse(value: object) -> datetime | None:
    """Return an aware UTC datetime, the start of a partial date, or None when unusable."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _PARTIAL.match(text)
    try:
        if match:
            year, month, day = match.groups()
            return datetime(int(year), int(month or 1), int(day or 1), tzinfo=timezone.utc)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def days_between(earlier: datetime, later: datetime) -> float:
    return (later - earlier).total_seconds() / 86400.0


def show(value: datetime | None) -> str:
    return value.date().isoformat() if value else "date not recorded"
