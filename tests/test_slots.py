"""``bms_xero._slots``: values built without attrs' ``__init__`` equal the ones it builds,
and a class that checks its values in ``__init__`` can't be built that way."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest

from bms_xero._slots import copier, maker
from bms_xero.domain import Allocation, AllocationKind, Tracking, XeroLineItem
from bms_xero.storage import SyncRecord, SyncState


def test_a_made_value_equals_the_constructed_one() -> None:
    fields = {
        "line_item_id": "L-1",
        "description": "Widgets",
        "quantity": Decimal("2"),
        "unit_amount": Decimal("10.50"),
        "account_code": "200",
        "tax_type": "OUTPUT2",
        "tax_amount": Decimal("3.15"),
        "line_amount": Decimal("21.00"),
        "discount_rate": None,
        "item_code": None,
        "tracking": (Tracking(name="Region", option="North"),),
    }

    made = maker(XeroLineItem)(**fields)

    assert XeroLineItem(**fields) == made
    assert type(made) is XeroLineItem
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.description = "changed"  # type: ignore[misc]


def test_every_field_must_be_given() -> None:
    with pytest.raises(TypeError, match="missing"):
        maker(Allocation)(kind=AllocationKind.PAYMENT, id="P-1")


def test_a_class_whose_init_does_more_is_refused() -> None:
    @attrs.frozen
    class Checked:
        amount: Decimal = attrs.field(validator=attrs.validators.instance_of(Decimal))

    @attrs.frozen
    class Hooked:
        amount: Decimal

        def __attrs_post_init__(self) -> None:
            pass

    @attrs.frozen(init=False)
    class OwnInit:
        amount: Decimal

        def __init__(self, amount: Decimal) -> None:
            if amount < 0:
                raise ValueError("negative")
            self.__attrs_init__(amount=amount)  # type: ignore[attr-defined]

    @attrs.frozen(cache_hash=True)
    class Cached:
        amount: Decimal

    @attrs.frozen
    class Private:
        _amount: Decimal

    def refusal(cls: type[Any]) -> str:
        with pytest.raises(TypeError) as caught:
            maker(cls)
        return str(caught.value)

    assert "(amount)" in refusal(Checked)
    assert "(__attrs_post_init__)" in refusal(Hooked)
    assert "its own __init__" in refusal(OwnInit)
    assert "cache_hash" in refusal(Cached)
    assert "(_amount)" in refusal(Private)  # taken as amount=, not _amount=
    assert "__attrs_pre_init__" in refusal(SyncRecord)  # and its converters
    assert "state" in refusal(SyncRecord)
    assert "its own __init__" in refusal(Tracking)  # it checks its name and option


def test_a_class_it_cannot_build_by_slots_is_refused() -> None:
    @attrs.frozen
    class Named:
        new: str

    class Loose:
        pass

    @attrs.frozen
    class OnLoose(Loose):
        amount: Decimal

    with pytest.raises(TypeError, match=r"Named\.new: a name the generated code uses"):
        maker(Named)
    with pytest.raises(TypeError, match="not a slotted attrs class"):
        maker(attrs.frozen(slots=False)(type("Unslotted", (), {"__annotations__": {"x": "int"}})))
    made = maker(OnLoose)(amount=Decimal("1"))  # its own slot, a dict from its base: fine
    assert OnLoose(amount=Decimal("1")) == made


def test_a_copy_equals_attrs_evolve() -> None:
    record = SyncRecord(tenant_id="t", invoice_id="B-1", invoice_number="INV-1", state="pushed")
    changes = {"version": 3, "fingerprint": "abc", "state": SyncState.FAILED}

    assert attrs.evolve(record, **changes) == copier(SyncRecord)(record, changes)


def test_a_subclass_with_fields_of_its_own_keeps_them() -> None:
    @attrs.frozen(kw_only=True)
    class Noted(SyncRecord):
        note: str = "kept"

    record = Noted(tenant_id="t", invoice_id="B-1", invoice_number="INV-1", state="pushed")

    copied = copier(SyncRecord)(record, {"version": 2})

    assert (Noted, "kept", 2) == (type(copied), copied.note, copied.version)
