from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from cds_service import dates


@pytest.mark.parametrize("value,expected", [
    ("2024", datetime(2024, 1, 1, tzinfo=timezone.utc)),
    ("2024-03", datetime(2024, 3, 1, tzinfo=timezone.utc)),
    ("2024-03-05", datetime(2024, 3, 5, tzinfo=timezone.utc)),
    ("2024-03-05T10:00:00Z", datetime(2024, 3, 5, 10, tzinfo=timezone.utc)),
    ("2024-03-05T10:00:00+02:00", datetime(2024, 3, 5, 8, tzinfo=timezone.utc)),
    (date(2024, 3, 5), datetime(2024, 3, 5, tzinfo=timezone.utc)),
    ("2024-13", None), ("yesterday", None), (12, None), (None, None),
])
def test_parse(value, expected):
    parsed = dates.parse(value)
    assert parsed == expected if expected is None else parsed.astimezone(timezone.utc) == expected


def test_show():
    assert dates.show(None) == "date not recorded"
    assert dates.show(datetime(2024, 3, 5, 10, tzinfo=timezone.utc)) == "2024-03-05"
