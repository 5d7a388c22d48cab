"""The one private cattrs converter for Xero's JSON (never cattrs' global converter).

Registers, in one place: PascalCase renames (``line_item_id`` ↔ ``LineItemID``), Decimal money,
Xero's dates, and tolerant enums (an unknown value stays a string instead of failing).
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from bms_xero.domain import Account, XeroContact, XeroCreditNote, XeroInvoice, XeroPayment
from bms_xero.mapping._dates import format_date, parse_date, parse_datetime

__all__ = ["make_converter", "pascal"]

# Field names whose Xero spelling is not the plain PascalCase of ours.
_RENAMES: dict[type, dict[str, str]] = {
    XeroInvoice: {"fully_paid_on": "FullyPaidOnDate", "updated_at": "UpdatedDateUTC"},
    XeroPayment: {"updated_at": "UpdatedDateUTC"},
    XeroCreditNote: {"updated_at": "UpdatedDateUTC"},
    XeroContact: {"status": "ContactStatus", "email": "EmailAddress"},
    Account: {"account_class": "Class"},
}


def pascal(name: str) -> str:
    """``line_item_id`` → ``LineItemID``: Xero's spelling of a snake_case field name."""
    text = "".join(part[:1].upper() + part[1:] for part in name.split("_"))
    return text[:-2] + "ID" if text.endswith("Id") else text


def _decimal(value: Any, _: type) -> Decimal:
    if value is None:  # Xero omits or nulls amounts it means as zero
        return Decimal(0)
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, float):  # only if the caller parsed JSON without parse_float=Decimal
        return Decimal(repr(value))
    if isinstance(value, Decimal | int | str):
        result = Decimal(value)
        if not result.is_finite():
            raise ValueError(f"{value!r} is not a finite amount")
        return result
    raise TypeError(f"{value!r} is not an amount")


def _date(value: Any, _: type) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return parse_date(value)
    raise TypeError(f"{value!r} is not a date")


def _datetime(value: Any, _: type) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return parse_datetime(value)
    raise TypeError(f"{value!r} is not a timestamp")


def _str(value: Any, _: type) -> str:
    # Xero sometimes sends numbers where the spec says string (e.g. Account.Code 4400).
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"{value!r} is not text")


def _tolerant_enum_union(tp: Any) -> bool:
    """``SomeStrEnum | str`` (optionally ``| None``): known values become members."""
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return False
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    return str in args and any(isinstance(a, type) and issubclass(a, enum.StrEnum) for a in args)


def _structure_tolerant(tp: Any) -> Any:
    kinds = [a for a in typing.get_args(tp) if isinstance(a, type) and issubclass(a, enum.StrEnum)]
    optional = type(None) in typing.get_args(tp)

    def structure(value: Any, _: type) -> Any:
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise TypeError(f"{value!r} is not text")
        for kind in kinds:
            try:
                return kind(value)
            except ValueError:
                continue
        return value  # a value Xero added after we were written: keep it, never crash

    return structure


def _messages(value: Any, _: type) -> tuple[str, ...]:
    """Xero's ``ValidationErrors``/``Warnings``: ``[{"Message": ...}]`` → message texts."""
    if value is None:
        return ()
    return tuple(
        str(item.get("Message", "")) if isinstance(item, dict) else str(item) for item in value
    )


def make_converter() -> cattrs.Converter:
    """A converter configured for Xero's wire format."""
    c = cattrs.Converter(forbid_extra_keys=False)
    c.register_structure_hook(Decimal, _decimal)
    c.register_unstructure_hook(Decimal, lambda d: d)  # the JSON encoder writes it exactly
    c.register_structure_hook(date, _date)
    c.register_unstructure_hook(date, format_date)
    c.register_structure_hook(datetime, _datetime)
    c.register_structure_hook(str, _str)
    c.register_structure_hook_factory(_tolerant_enum_union, _structure_tolerant)
    # A plain enum field (not "| str") holds a value we set ourselves: a member or a failure,
    # never the raw string the str hook above would otherwise let through.
    c.register_structure_hook(enum.StrEnum, lambda v, t: t(v))
    c.register_unstructure_hook(enum.Enum, lambda e: e.value)

    def structure_factory(cls: type) -> Any:
        renames = _RENAMES.get(cls, {})
        overrides = {
            a.name: override(rename=renames.get(a.name, pascal(a.name))) for a in attrs.fields(cls)
        }
        if "validation_errors" in overrides:
            overrides["validation_errors"] = override(
                rename="ValidationErrors", struct_hook=_messages
            )
            overrides["warnings"] = override(rename="Warnings", struct_hook=_messages)
        generated: Any = make_dict_structure_fn(cls, c, **overrides)  # type: ignore[arg-type]

        def structure(value: Any, tp: type) -> Any:
            # Without this, "abc" reads as an object with every field missing.
            if not isinstance(value, Mapping):
                raise TypeError(f"expected an object, got {type(value).__name__}")
            return generated(value, tp)

        return structure

    def unstructure_factory(cls: type) -> Any:
        overrides = {a.name: override(rename=pascal(a.name)) for a in attrs.fields(cls)}
        return make_dict_unstructure_fn(
            cls,
            c,
            _cattrs_omit_if_default=True,
            **overrides,  # type: ignore[arg-type]
        )

    c.register_structure_hook_factory(attrs.has, structure_factory)
    c.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    return c
