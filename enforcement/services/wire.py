"""Values as the API carries them: UTC times in ISO 8601, and the digest of a client's body
(what makes a replay recognisable)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from enforcement.reasons import reason


def iso_utc(value: dt.datetime | None) -> str | None:
    """``2026-11-22T03:04:05Z`` (the API's time format), or None."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def parse_time(
    value: str | dt.datetime, field: str, invalid: Callable[[Mapping[str, str]], Exception]
) -> dt.datetime:
    """An aware time in UTC; ``invalid({field: reason})`` is raised for anything else."""
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise invalid({field: reason("must be an ISO 8601 date and time")}) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise invalid({field: reason("must include a time zone (e.g. Z or +08:00)")})
    return moment.astimezone(dt.UTC)


def errors_reason(errors: Mapping[str, str]) -> str:
    """The field errors of a validation error as one message (``field: reason; ...``), kept
    translatable: each field's reason is shown in the reader's language where it is read."""
    message = ""
    for field, why in reversed(list(errors.items())):
        part = reason("${field}: ${why}", field=field, why=why)
        message = reason("${first}; ${rest}", first=part, rest=message) if message else part
    return message


def _json_value(value: Any) -> str:
    """Times, dates and UUIDs as the API's validation parsed them, in one spelling."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def digest(content: Any) -> str:
    """SHA-256 of the canonical JSON of what the client sent (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_value
    )
    return hashlib.sha256(text.encode()).hexdigest()


__all__ = ["digest", "errors_reason", "iso_utc", "parse_time"]
