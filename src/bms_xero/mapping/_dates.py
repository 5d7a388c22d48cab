"""Xero's date formats, both ways.

Xero reads ``YYYY-MM-DD`` (we always send that) and writes Microsoft JSON dates:
``/Date(1573755038314)/`` or ``/Date(1550793549320+0000)/`` (epoch milliseconds, optional
offset), with ISO-8601 twins in fields named ``...String``. Date-only values are midnight UTC
and are never shifted through the local timezone.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, timedelta, timezone

__all__ = [
    "format_date",
    "format_ms_date",
    "format_ms_datetime",
    "parse_date",
    "parse_datetime",
]

_MS_DATE = re.compile(r"/Date\((-?\d+)(?:([+-])(\d{2})(\d{2}))?\)/")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _parse_ms(text: str) -> datetime | None:
    # Xero's usual form first, without the regular expression: a pull reads one
    # UpdatedDateUTC per invoice, each different (so not cached as parse_date is).
    # "/Date(1573755038314)/" or "/Date(1573755038314+0000)/", ASCII digits only (the
    # expression's \d takes any script's digits; those go the long way, to the same value).
    if text[:6] == "/Date(" and text[-2:] == ")/":
        millis = text[6:-7] if text[-7:-2] == "+0000" else text[6:-2]
        if millis.isdigit() and millis.isascii():
            return _EPOCH + timedelta(milliseconds=int(millis))
    match = _MS_DATE.fullmatch(text) or _MS_DATE.fullmatch(text.strip())
    if match is None:
        return None
    millis, sign, hours, minutes = match.groups()
    instant = _EPOCH + timedelta(milliseconds=int(millis))
    if sign is None or hours == minutes == "00":  # UTC: Xero's usual "+0000"
        return instant
    offset = timedelta(hours=int(hours), minutes=int(minutes))
    return instant.astimezone(timezone(offset if sign == "+" else -offset))


def parse_datetime(value: str) -> datetime:
    """A timestamp from Xero, as an aware UTC datetime.

    Accepts ``/Date(ms)/``, ``/Date(ms±hhmm)/`` and ISO-8601 (a naive ISO value is UTC, as in
    ``UpdatedDateUTCString``).

    Raises:
        ValueError: The text is neither form (or its offset is a day or more).
        OverflowError: A ``/Date(ms)/`` outside the years 1 to 9999, which no datetime holds.
    """
    parsed = _parse_ms(value)
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r} is not a Xero date (/Date(ms)/ or ISO-8601)") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)


@functools.lru_cache(maxsize=4096)
def parse_date(value: str) -> date:
    """A date-only value from Xero (``Date``, ``DueDate``, ``FullyPaidOnDate``, ...).

    ``/Date(ms)/`` is read in UTC (or in its own offset when it has one); ISO text is read as
    written, without any timezone conversion.

    Cached: a page of invoices repeats the same few dates, and a ``date`` is immutable.

    Raises:
        ValueError: The text is neither form.
    """
    parsed = _parse_ms(value)
    if parsed is not None:
        return parsed.date()
    text = value.strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"{value!r} is not a Xero date (/Date(ms)/ or YYYY-MM-DD)") from None


def format_date(value: date) -> str:
    """The form Xero documents for writes: ``YYYY-MM-DD``."""
    return value.isoformat()[:10] if isinstance(value, datetime) else value.isoformat()


def format_ms_date(value: date) -> str:
    """A date-only value as Xero writes it: midnight UTC, ``/Date(ms+0000)/``."""
    midnight = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return f"/Date({int(midnight.timestamp()) * 1000}+0000)/"


def format_ms_datetime(value: datetime) -> str:
    """A timestamp as Xero writes ``UpdatedDateUTC``: ``/Date(ms)/`` (UTC)."""
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    delta = value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return f"/Date({delta // timedelta(milliseconds=1)})/"
