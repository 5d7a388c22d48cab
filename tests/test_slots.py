"""``bms_xero._slots``: values built without attrs' ``__init__`` equal the ones it builds,
and a class that checks its values in ``__init__`` can't be built that way."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest

from bms_xero._slots import copier, maker
from bms_xero.domain import Tracking, XeroLineItem
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
        maker(Tracking)(name="Region")


def test_a_class_that_checks_its_values_is_refused() -> None:
    @attrs.frozen
    class Checked:
        amount: Decimal = attrs.field(validator=attrs.validators.instance_of(Decimal))

    @attrs.frozen
    class Hooked:
        amount: Decimal

        def __attrs_post_init__(self) -> None:
            pass

    with pytest.raises(TypeError, match=r"Checked checks its values in __init__ \(amount\)"):
        maker(Checked)
    with pytest.raises(TypeError, match=r"__attrs_post_init__"):
        maker(Hooked)
    with pytest.raises(TypeError, match="not a slotted attrs class"):
        maker(attrs.frozen(slots=False)(type("Loose", (), {"__annotations__": {"x": "int"}})))


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
