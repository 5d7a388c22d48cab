"""Checks the stores share: key arguments, aware datetimes, the lookup tie-break."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from bms_xero.errors import FieldProblem, StorageValueError

if TYPE_CHECKING:
    from bms_xero.storage._records import SyncRecord

_E = TypeVar("_E", bound=enum.StrEnum)


def is_naive(value: datetime) -> bool:
    """Whether ``value`` lacks a usable UTC offset."""
    return value.tzinfo is None or value.utcoffset() is None


def to_utc(value: datetime) -> datetime:
    """The same instant in UTC. ``fold`` means nothing in UTC: dropping it keeps equal values
    equal in repr too, whichever store they came back from."""
    if type(value) is datetime and value.tzinfo is UTC and not value.fold:
        return value  # already what the conversion would make (records hold these)
    return value.astimezone(UTC).replace(fold=0)


def key_problems(**keys: object) -> list[FieldProblem]:
    """Problems with key arguments (each must be a non-empty string), named by argument."""
    return [
        FieldProblem(name, "must be a non-empty string")
        for name, value in keys.items()
        if not isinstance(value, str) or not value
    ]


def datetime_problem(path: str, value: object) -> FieldProblem | None:
    """Why ``value`` is not an aware datetime that fits in UTC, or ``None`` when it is."""
    if not isinstance(value, datetime):
        return FieldProblem(path, f"must be a datetime, not {type(value).__name__}")
    if is_naive(value):
        return FieldProblem(
            path,
            "must be timezone-aware (a naive datetime would shift between machines); pass "
            "e.g. datetime.now(UTC) or clock.now()",
        )
    if value.tzinfo is not UTC:
        try:
            value.astimezone(UTC)
        except OverflowError:
            return FieldProblem(path, f"{value.isoformat()} is out of range once in UTC")
    return None


def member(kind: type[_E], value: object) -> _E | None:
    """The member of ``kind`` that ``value`` is or names by its value (``"pushed"``), or None."""
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            return None
    return None


def aware_utc(value: datetime | None) -> datetime | None:
    """A record's datetime converter: the same instant in UTC (None stays None).

    Records check every raw value before any converter runs, so a bad datetime is reported
    with the record's other problems; this raises rather than pass anything else on, so a
    field never holds a naive or out-of-range datetime.
    """
    if value is None:
        return None
    problem = datetime_problem("", value)
    if problem is not None:
        raise StorageValueError(what="a datetime", problems=[problem])
    return to_utc(value)


def check_keys(what: str, **keys: object) -> None:
    """Raise StorageValueError when a key argument is not a non-empty string."""
    problems = key_problems(**keys)
    if problems:
        raise StorageValueError(what=what, problems=problems)


def check_cursor(tenant_id: object, name: object, value: object) -> datetime:
    """Validate ``set_cursor`` arguments; return the value in UTC."""
    problems = key_problems(tenant_id=tenant_id, name=name)
    problem = datetime_problem("value", value)
    if problem is not None:
        problems.append(problem)
    if problems:
        raise StorageValueError(what=f"cursor {name!r}", problems=problems)
    assert isinstance(value, datetime)
    return to_utc(value)


def first_by_invoice_id(records: Iterable[SyncRecord]) -> SyncRecord | None:
    """The record with the smallest invoice_id: the tie-break when a lookup matches several."""
    return min(records, key=lambda r: r.invoice_id, default=None)


def text_problem(name: str, value: object) -> FieldProblem | None:
    """Why an optional text field's ``value`` is neither ``None`` nor a string, or ``None``."""
    if value is None or isinstance(value, str):
        return None
    return FieldProblem(name, f"must be a string or None, not {type(value).__name__}")


def money_problem(name: str, value: object) -> FieldProblem | None:
    """Why an optional amount is neither ``None`` nor a finite Decimal (exact, never a float),
    or ``None``."""
    if value is None:
        return None
    if not isinstance(value, Decimal):
        return FieldProblem(name, f"must be a Decimal (exact money), not {type(value).__name__}")
    if not value.is_finite():
        return FieldProblem(name, f"must be a finite number, not {value}")
    return None


def optional_value_problems(
    values: Mapping[str, Any],
    *,
    text: Iterable[str] = (),
    datetimes: Iterable[str] = (),
    money: Iterable[str] = (),
) -> list[FieldProblem]:
    """What is wrong with a record's optional fields, each ``None`` or: a string (``text``),
    an aware datetime (``datetimes``), a finite Decimal (``money``: exact, never a float)."""
    found = [text_problem(name, values[name]) for name in text]
    found += [None if values[n] is None else datetime_problem(n, values[n]) for n in datetimes]
    found += [money_problem(name, values[name]) for name in money]
    return [problem for problem in found if problem is not None]
