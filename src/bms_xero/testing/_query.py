"""Reading lists the way Xero does: If-Modified-Since, paging and a small ``where`` language."""

from __future__ import annotations

import email.utils
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import attrs

from bms_xero.mapping._dates import parse_datetime

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "Lookup",
    "PageAsked",
    "QueryError",
    "Where",
    "if_modified_since",
    "normal_guid",
    "order_by",
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
        return items[start : start + self.size], self.pagination(len(items))

    def pagination(self, total: int) -> dict[str, int]:
        """The ``pagination`` object of this page of a list ``total`` records long."""
        return {
            "page": self.number or 1,
            "pageSize": self.size,
            "pageCount": math.ceil(total / self.size),
            "itemCount": total,
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


_DASHLESS = re.compile(r"[0-9a-fA-F]{32}")
_DASHED = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def normal_guid(text: str) -> str:
    """A GUID as the fake stores ids: lower case, with dashes.

    Xero reads a GUID in any case, with or without its dashes (32 hex digits), and with or
    without braces; anything that is not a GUID comes back unchanged (stripped), so an
    InvoiceNumber passed where an id may be stays itself.
    """
    value = text.strip()
    if value.startswith("{") and value.endswith("}"):
        value = value[1:-1]
    if _DASHLESS.fullmatch(value):
        value = "-".join((value[:8], value[8:12], value[12:16], value[16:20], value[20:]))
    if _DASHED.fullmatch(value):
        return value.lower()
    return text.strip()


_ORDER_PART = re.compile(r"([A-Za-z_][\w.]*)(?:\s+(\w+))?")


def order_by(text: str) -> list[tuple[str, bool]]:
    """The fields of an ``order`` parameter, each with whether it sorts descending.

    ``order=Status ASC,InvoiceNumber DESC`` sorts by Status, then by InvoiceNumber among
    equal statuses; a field without a direction sorts ascending.

    Raises:
        QueryError: A part that is not ``Field``, ``Field ASC`` or ``Field DESC``.
    """
    out: list[tuple[str, bool]] = []
    for raw in text.split(","):
        part = raw.strip()
        match = _ORDER_PART.fullmatch(part)
        direction = (match.group(2) or "ASC").upper() if match else ""
        if match is None or direction not in ("ASC", "DESC"):
            raise QueryError(
                f"order={text!r}: FakeXero reads Field, Field ASC or Field DESC, several "
                f"joined by commas (e.g. Status ASC,InvoiceNumber DESC); not {part!r}"
            )
        out.append((match.group(1), direction == "DESC"))
    return out


# --- where ------------------------------------------------------------------------------------

# Matched against the stripped clause, greedily: a lazy value followed by optional space
# backtracks quadratically over long runs of whitespace (a slow request, for one bad clause).
_CLAUSE = re.compile(r"([A-Za-z_][\w.]*)\s*(==|!=|>=|<=|>|<)\s*(.+)", re.DOTALL)
# Field.Contains("text"), .StartsWith, .EndsWith: the text methods Xero's filters take. pyxero
# writes them in lower case (name__contains=... becomes Name.contains("...")), which Xero
# accepts, so the method's case does not matter.
_METHOD_CALL = re.compile(
    r'\s*([A-Za-z_][\w.]*)\.(contains|startswith|endswith)\(\s*"((?:[^"\\]|\\.)*)"\s*\)\s*$',
    re.DOTALL | re.IGNORECASE,
)
_METHODS = {"contains": "Contains", "startswith": "StartsWith", "endswith": "EndsWith"}
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
        elif not quoted and not (i and text[i].isspace() and text[i - 1].isspace()):
            # A word operator's leading space is matched from the first space of a run: a
            # try at every space of a long run would rescan it each time (quadratic).
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
    if raw.lower() == "null":
        return None
    guid = _GUID_CALL.fullmatch(raw)
    if guid:
        return _Guid(normal_guid(guid.group(1)).lower())
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
            f'cannot read {raw!r} in the where clause; use "text", true/false, null, a number, '
            'Guid("...") or DateTime(yyyy, mm, dd)'
        ) from None


def _field(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _text_method(path: str, actual: Any, method: str, expected: str) -> bool:
    """``Field.Contains("x")`` and its kin, case-sensitive as .NET's string methods are.

    Xero raises an error when a record has no value there ("add a not null at the start of
    the query", as Xero's filter guide puts it), so the fake answers 400 too, unless an
    earlier ``Field != null`` in the same AND group ruled the record out.
    """
    if actual is None:
        raise QueryError(
            f"{path} is null on some records, so {path}.{_METHODS[method]}(...) cannot be "
            f"applied to them; put {path}!=null&& before it, as Xero requires"
        )
    if not isinstance(actual, str):
        raise QueryError(f"{path} is not text, so {path}.{_METHODS[method]}(...) does not apply")
    if method == "contains":
        return expected in actual
    if method == "startswith":
        return actual.startswith(expected)
    return actual.endswith(expected)


def _compare(actual: Any, op: str, expected: Any, path: str = "") -> bool:
    if op in _METHODS:
        return _text_method(path, actual, op, expected)
    if expected is None:  # Field == null, Field != null
        if op not in ("==", "!="):
            raise QueryError(f"{path} {op} null compares nothing; use == null or != null")
        return (actual is None) == (op == "==")
    if isinstance(expected, datetime):
        if not isinstance(actual, str):
            return False
        try:
            actual = parse_datetime(actual)
        except ValueError:
            return False
    elif isinstance(expected, _Guid) and isinstance(actual, str):
        actual = actual.lower()  # records hold ids dashed already; the literal was normalised
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


def _cannot_fail(op: str, expected: Any) -> bool:
    """Whether a clause evaluates on every record without raising (see :func:`_compare`).

    Text methods raise on a record with no text there; ordering against ``null`` always
    raises; a NaN literal raises when ordered (and a signalling one even when compared), as
    :mod:`decimal` does. Everything else is a plain true or false.
    """
    if op in _METHODS:
        return False
    if expected is None:
        return op in ("==", "!=")
    if isinstance(expected, Decimal) and not expected.is_finite():
        return op in ("==", "!=") and not expected.is_snan()
    return True


@attrs.frozen
class Lookup:
    """A ``Field == "text"`` (or ``Field == Guid("...")``) clause, as an index sees it.

    Attributes:
        path: The field (``InvoiceNumber``, ``Contact.ContactID``).
        value: The text; a GUID literal's in the lower case the fake stores ids in.
        guid: Whether it was a ``Guid("...")`` literal (compared in any case).
    """

    path: str
    value: str
    guid: bool


class Where:
    """A ``where`` filter: clauses joined by AND/&& and OR/||.

    A clause is ``Field op value`` or ``Field.Method("text")``:

    - ``==``/``!=`` on text, booleans, numbers, ``Guid("...")`` and ``null``
      (``EmailAddress != null``);
    - ``<``, ``<=``, ``>``, ``>=`` on numbers and ``DateTime(yyyy, mm, dd)``;
    - ``.Contains("x")``, ``.StartsWith("x")``, ``.EndsWith("x")`` on text (case-sensitive;
      the method name in any case). As on Xero, a record with no value there is an error
      unless a ``Field != null`` earlier in the same AND group excludes it first.

    Fields may be nested with dots (``Contact.ContactID``). Clauses are evaluated left to
    right and stop early, as Xero's do. Anything else (other methods, parentheses) is a
    :class:`QueryError`, so a test never silently gets unfiltered data.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._groups: list[list[tuple[str, str, Any]]] = []
        for group in _split(text, ("OR", "||")):
            clauses = []
            for clause in _split(group, ("AND", "&&")):
                call = _METHOD_CALL.fullmatch(clause)
                if call is not None:
                    argument = re.sub(r"\\(.)", r"\1", call.group(3))
                    clauses.append((call.group(1), call.group(2).lower(), argument))
                    continue
                match = _CLAUSE.fullmatch(clause.strip())
                if match is None or "(" in match.group(1):
                    raise QueryError(
                        f"FakeXero cannot read the where clause {clause.strip()!r}; it supports "
                        'Field == "value" (also !=, <, <=, >, >=; == null, != null) and '
                        'Field.Contains("text") (also StartsWith, EndsWith), joined by AND or OR'
                    )
                clauses.append((match.group(1), match.group(2), _literal(match.group(3))))
            self._groups.append(clauses)

    def __call__(self, record: Mapping[str, Any]) -> bool:
        """Whether the rendered record matches.

        Raises:
            QueryError: A text method met a record with no value there (Xero errors too).
        """
        return any(
            all(_compare(_field(record, path), op, value, path) for path, op, value in group)
            for group in self._groups
        )

    def lookups(self) -> tuple[tuple[tuple[Lookup, ...], bool], ...]:
        """For each OR group: the clauses an index could answer, and whether the group is
        one clause alone (then that index answers it exactly).

        A group's lookups are its ``Field == "text"`` clauses up to its first clause that
        can fail (see :func:`_cannot_fail`): clauses run left to right and stop at the first
        false one, so a record such a lookup rules out stops there without raising, and
        leaving it out changes neither the answer nor whether the read fails. A lookup after
        ``Reference.Contains("x")`` could hide a record Xero would have failed on; it is not
        offered. A group with none means no index can narrow the filter.
        """
        out = []
        for group in self._groups:
            found = []
            for path, op, value in group:
                if op == "==" and isinstance(value, str):
                    found.append(Lookup(path, str(value), isinstance(value, _Guid)))
                if not _cannot_fail(op, value):
                    break
            out.append((tuple(found), len(group) == 1))
        return tuple(out)

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

        paths = [[path for path, _, _ in group] for group in self._groups]

        def matches(record: T) -> bool:
            return any(
                all(
                    _compare(read(record), op, value, path)
                    for (read, op, value), path in zip(group, names, strict=True)
                )
                for group, names in zip(groups, paths, strict=True)
            )

        return matches
