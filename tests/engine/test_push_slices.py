"""A push of more invoices than a slice goes through slice by slice (``_push.SLICE``), so what
it holds at once is bounded; nothing else about it may change: outcomes in input order, each
invoice once in Xero, a repeat refused even when its first occurrence was in an earlier slice,
and no request more than one push of the same invoices would make."""

from __future__ import annotations

from typing import Any

import pytest

from bms_xero import Customer, SyncEngine
from bms_xero.engine import _push
from bms_xero.errors import StorageError
from bms_xero.storage import MemoryStore
from bms_xero.testing import FakeXero
from tests.engine.conftest import make_engine, make_invoice, with_line, writes, xero_by_number


@pytest.fixture(name="small_slices")
def _small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_push, "SLICE", 3)


@pytest.mark.usefixtures("small_slices")
def test_a_push_across_slices_is_a_push(
    engine: SyncEngine, xero: FakeXero[Any], customer: Customer
) -> None:
    invoices = [make_invoice(customer, n) for n in range(1, 9)]
    repeat = invoices[1]  # its first occurrence is in the first slice, the repeat in the third

    outcomes = engine.push_many([*invoices, repeat])

    assert [i.number for i in [*invoices, repeat]] == [o.invoice_number for o in outcomes]
    assert [True] * 8 + [False] == [o.ok for o in outcomes]
    assert "appears twice in one push" in str(outcomes[-1].error)  # type: ignore[union-attr]
    assert {i.number: 1 for i in invoices} == {n: len(v) for n, v in xero_by_number(xero).items()}
    assert 3 == writes(xero)  # one batch per slice of three: 3 + 3 + 2


@pytest.mark.usefixtures("small_slices")
def test_a_repeated_number_in_a_later_slice_is_refused(
    engine: SyncEngine, xero: FakeXero[Any], customer: Customer
) -> None:
    first = make_invoice(customer, 1)
    others = [make_invoice(customer, n) for n in range(2, 5)]
    same_number = make_invoice(customer, 9, number=first.number)

    outcomes = engine.push_many([first, *others, same_number])

    assert [True, True, True, True, False] == [o.ok for o in outcomes]
    assert 1 == len(xero_by_number(xero)[first.number])


@pytest.mark.usefixtures("small_slices")
def test_changes_scattered_through_slices_go_in_one_batch(
    engine: SyncEngine, xero: FakeXero[Any], customer: Customer
) -> None:
    """Unchanged invoices settle at once; only the changed ones wait, and go together."""
    invoices = [make_invoice(customer, n) for n in range(1, 10)]
    engine.push_many(invoices)
    before = writes(xero)
    changed = [
        with_line(invoice, description="Widget, revised") if n % 3 == 0 else invoice
        for n, invoice in enumerate(invoices)
    ]

    outcomes = engine.push_many(changed)

    assert [True] * 9 == [o.ok for o in outcomes]
    assert 1 == writes(xero) - before  # one update of three, not one per slice


class _FailsLater(MemoryStore):
    """A store whose second ``get_many`` fails (a database that went away mid-push)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def get_many(self, tenant_id: str, invoice_ids: Any) -> Any:
        self.calls += 1
        if self.calls == 2:
            raise StorageError("the database went away")
        return super().get_many(tenant_id, invoice_ids)


@pytest.mark.usefixtures("small_slices")
def test_a_failure_after_a_sent_slice_keeps_its_outcomes(
    xero: FakeXero[Any], customer: Customer
) -> None:
    """The first slice is in Xero: its outcomes reach the host, the rest fail with the error."""
    engine = make_engine(xero, _FailsLater())
    invoices = [make_invoice(customer, n) for n in range(1, 7)]

    outcomes = engine.push_many(invoices)

    assert [True, True, True, False, False, False] == [o.ok for o in outcomes]
    assert {"the database went away"} == {
        str(o.error).split(": ", 1)[-1]
        for o in outcomes
        if not o.ok  # type: ignore[union-attr]
    }
    assert 3 == len(xero_by_number(xero))
