"""Reading lists the way Xero does: If-Modified-Since, paging and a small ``where`` language."""

from __future__ import annotations

import email.utils
import math
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import attrs

from bms_xero.mapping._dates import parse_datetime

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "PageAsked",
    "QueryError",
    "Where",
    "changed_since",
    "if_modified_since",
    "paging",
]

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
T = TypeVar("T")


class QueryError(ValueError):
    """A query parameter or header the fake cannot read; answered with a 400."""


def if_modified_since(value: str) -> datetime:
    """The instant in an ``If-Modified-Since`` header, truncated to the second (Xero's accuracy).

    Accepts an HTTP-date (``Wed, 21 Oct 2026 07:28:00 GMT``) or ISO-8601
    (``2020-02-06T12:17:43.202-08:00``; without an offset it is UTC).

    Raises:
        QueryError: Neither form.
    """
    text = value.strip()
    parsed: datetime | None = None
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None:
        try:
            parsed = parse_datetime(text)
        except ValueError:
            raise QueryError(
                f"If-Modified-Since {value!r} is not a date; send an HTTP-date or ISO-8601 "
                "timestamp such as 2026-01-05T09:00:00Z"
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).replace(microsecond=0)


def changed_since(
    recent: OrderedDict[str, None],
    records: Mapping[str, T],
    since: datetime,
    updated: Callable[[T], datetime],
) -> list[T]:
    """Records updated at or after ``since``, oldest first.

    Inclusive, as Xero is at the second (xero-api.md section 14): ``since`` comes from
    :func:`if_modified_since`, already truncated to the second, so a cursor set to the last
    ``UpdatedDateUTC`` seen reads that second again and never skips a change.

    ``recent`` lists ids in update order, so the walk starts at the newest and stops at the
    first record that is older.
    """
    found: list[T] = []
    for key in reversed(recent):
        record = records[key]
        if updated(record) < since:
            break
        found.append(record)
    found.reverse()
    return found


@attrs.frozen
class PageAsked:
    """Which page of a list was asked for.

    Attributes:
        number: 1-based page, or ``None`` when the call was not paged.
        size: Records per page.
    """

    number: int | None
    size: int

    def cut(self, items: Sequence[T]) -> tuple[Sequence[T], dict[str, int] | None]:
        """The records on this page, and the ``pagination`` object (``None`` if unpaged)."""
        if self.number is None:
            return items, None
        start = (self.number - 1) * self.size
        return items[start : start + self.size], {
            "page": self.number,
            "pageSize": self.size,
            "pageCount": math.ceil(len(items) / self.size),
            "itemCount": len(items),
        }


def _positive(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name.casefold())
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(f"{name}={raw!r} is not a whole number") from None
    return max(1, value)


def paging(query: Mapping[str, str]) -> PageAsked:
    """``page`` (1-based) and ``pageSize`` (default 100, at most 1000) from a query."""
    number = _positive(query, "page")
    size = _positive(query, "pageSize")
    if size is not None and number is None:
        number = 1
    return PageAsked(number, min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE))


# --- where ------------------------------------------------------------------------------------

_CLAUSE = re.compile(r"\s*([A-Za-z_][\w.]*)\s*(==|!=|>=|<=|>|<)\s*(.+?)\s*$", re.DOTALL)
_GUID_CALL = re.compile(r'guid\("([^"]*)"\)', re.IGNORECASE)
_DATETIME_CALL = re.compile(
    r"datetime\(\s*(\d{4})\s*,\s*(\d{1,2})\s*,\s*(\d{1,2})"
    r"(?:\s*,\s*(\d{1,2})\s*,\s*(\d{1,2})\s*,\s*(\d{1,2}))?\s*\)",
    re.IGNORECASE,
)


def _split(text: str, words: Iterable[str]) -> list[str]:
    """Split on the given operators outside double quotes."""
    pattern = re.compile(
        "|".join(rf"\s+{w}\s+" if w.isalpha() else re.escape(w) for w in words), re.IGNORECASE
    )
    parts, start, quoted, i = [], 0, False, 0
    while i < len(text):
        if text[i] == '"':
            quoted = not quoted
        elif not quoted:
            match = pattern.match(text, i)
            if match:
                parts.append(text[start:i])
                start = i = match.end()
                continue
        i += 1
    parts.append(text[start:])
    return parts


class _Guid(str):
    """A ``Guid("...")`` literal: compared case-insensitively."""

    __slots__ = ()


def _literal(raw: str) -> Any:
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        return raw[1:-1]
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    guid = _GUID_CALL.fullmatch(raw)
    if guid:
        return _Guid(guid.group(1).lower())
    stamp = _DATETIME_CALL.fullmatch(raw)
    if stamp:
        year, month, day, hour, minute, second = (int(p) if p else 0 for p in stamp.groups())
        try:
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            raise QueryError(f"{raw} is not a valid date") from None
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise QueryError(
            f'cannot read {raw!r} in the where clause; use "text", true/false, a number, '
            'Guid("...") or DateTime(yyyy, mm, dd)'
        ) from None


def _field(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if isinstance(expected, datetime):
        if not isinstance(actual, str):
            return False
        try:
            actual = parse_datetime(actual)
        except ValueError:
            return False
    elif isinstance(expected, _Guid) and isinstance(actual, str):
        actual = actual.lower()
    elif isinstance(expected, Decimal) and isinstance(actual, int | Decimal):
        actual = Decimal(actual)
    if op == "==":
        return bool(actual == expected)
    if op == "!=":
        return bool(actual != expected)
    try:
        return bool(
            {
                ">": actual > expected,
                ">=": actual >= expected,
                "<": actual < expected,
                "<=": actual <= expected,
            }[op]
        )
    except TypeError:
        return False


class Where:
    """A ``where`` filter: clauses ``Field op value`` joined by AND/&& and OR/||.

    Supports ``==``/``!=`` on text, booleans, numbers and ``Guid("...")``, and ``<``, ``<=``,
    ``>``, ``>=`` on numbers and ``DateTime(yyyy, mm, dd)``; nested fields with dots
    (``Contact.ContactID``). Anything else (methods such as ``.Contains``, parentheses) is a
    :class:`QueryError`, so a test never silently gets unfiltered data.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._groups: list[list[tuple[str, str, Any]]] = []
        for group in _split(text, ("OR", "||")):
            clauses = []
            for clause in _split(group, ("AND", "&&")):
                match = _CLAUSE.fullmatch(clause)
                if match is None or "(" in match.group(1):
                    raise QueryError(
                        f"FakeXero cannot read the where clause {clause.strip()!r}; it supports "
                        'Field == "value" (also !=, <, <=, >, >=) joined by AND or OR'
                    )
                clauses.append((match.group(1), match.group(2), _literal(match.group(3))))
            self._groups.append(clauses)

    def __call__(self, record: Mapping[str, Any]) -> bool:
        """Whether the rendered record matches."""
        return any(
            all(_compare(_field(record, path), op, value) for path, op, value in group)
            for group in self._groups
        )

    def on_records(self, fields: Mapping[str, Callable[[T], Any]]) -> Callable[[T], bool] | None:
        """The same filter read straight off stored records, or ``None`` if it cannot be.

        ``fields`` maps a field name to a function giving, from a stored record, exactly the
        value the rendered record has there. When every clause names one of them (as
        ``Type=="ACCREC"`` does), the filter needs no rendering, which on a large
        organisation is most of the cost of a read; otherwise render and call the filter.
        """
        try:
            groups = [
                [(fields[path], op, value) for path, op, value in group] for group in self._groups
            ]
        except KeyError:
            return None

        def matches(record: T) -> bool:
            return any(
                all(_compare(read(record), op, value) for read, op, value in group)
                for group in groups
            )

        return matches
