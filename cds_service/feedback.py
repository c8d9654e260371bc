"""Feedback validation (our schema plus RFC 3339 timestamps) and conversion to store rows."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .errors import BadRequest
from .store import FeedbackRow
from .validation import require_valid


def _timestamp(value: str, where: str) -> str:
    """Normalise an RFC 3339 timestamp so the same instant always stores the same way."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{where} is not an RFC 3339 timestamp", expression=where) from None
    if parsed.tzinfo is None:
        raise BadRequest(f"{where} needs a time zone offset", expression=where)
    return parsed.isoformat()


def parse(body: Any, service_id: str) -> list[FeedbackRow]:
    if not isinstance(body, dict):
        raise BadRequest("the feedback body must be a JSON object")
    require_valid("feedback", body)
    rows = []
    for i, item in enumerate(body["feedback"]):
        reason = (item.get("overrideReason") or {}).get("reason") or {}
        accepted = item.get("acceptedSuggestions")
        rows.append(FeedbackRow(
            service_id=service_id, card_uuid=item["card"], outcome=item["outcome"],
            outcome_timestamp=_timestamp(item["outcomeTimestamp"], f"feedback.{i}.outcomeTimestamp"),
            accepted_suggestions=json.dumps([s["id"] for s in accepted]) if accepted else None,
            override_system=reason.get("system"), override_code=reason.get("code"), override_display=reason.get("display"),
            user_comment=(item.get("overrideReason") or {}).get("userComment"),
        ))
    return rows
