"""What the sync engine remembers per credit note: :class:`CreditNoteRecord`.

A pure value, validated when built, as :class:`~bms_xero.storage.SyncRecord` is. A credit
note takes two writes in Xero, each of which may land without its answer reaching us: the
create (``PUT /CreditNotes``) and the allocation (``PUT /CreditNotes/{id}/Allocations``).
Each gets its own intent, stored before it is sent, so the next push knows which question to
ask Xero before it writes again.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from bms_xero.errors import FieldProblem, StorageValueError
from bms_xero.storage._checks import aware_utc, key_problems, member, optional_value_problems

__all__ = ["CreditNoteRecord", "CreditNoteState"]


class CreditNoteState(enum.StrEnum):
    """Where one BMS credit note stands with Xero."""

    #: The create's intent is stored (``intent_key``); Xero's answer is not confirmed yet.
    PENDING = "pending"
    #: The create may or may not have landed: look the number up before creating again.
    UNCERTAIN = "uncertain"
    #: Xero has the credit note; the allocation is not made yet (or was refused).
    CREATED = "created"
    #: The allocation's intent is stored (``allocation_key``) and the request may still be
    #: in flight: read the credit note's allocations before allocating again, and leave a
    #: recent one to the process that sent it.
    ALLOCATING = "allocating"
    #: The allocation's sender saw an uncertain answer: read the credit note's allocations
    #: before allocating again.
    ALLOCATION_UNCERTAIN = "allocation_uncertain"
    #: Allocated to the linked Xero invoice: done.
    ALLOCATED = "allocated"
    #: Created and left unallocated on purpose (it was more than the invoice owed): the
    #: customer has credit to refund or to apply to another invoice. Done.
    UNALLOCATED = "unallocated"
    #: The last push failed before anything reached Xero; ``last_error`` says why.
    FAILED = "failed"


_BAD_STATE = FieldProblem("state", f"must be one of {', '.join(s.value for s in CreditNoteState)}")


def _state(value: CreditNoteState | str) -> CreditNoteState:
    state = member(CreditNoteState, value)
    if state is None:
        raise StorageValueError(what="a credit note record", problems=[_BAD_STATE])
    return state


_KEYS = ("tenant_id", "credit_note_id", "credit_note_number", "invoice_id")
_OPTIONAL_TEXT = (
    "policy",
    "xero_credit_note_id",
    "xero_invoice_id",
    "fingerprint",
    "intent_key",
    "intent_fingerprint",
    "allocation_key",
    "xero_status",
    "last_error",
    "view_url",
)
_DATETIMES = ("intent_at", "allocation_at", "last_push_at", "last_error_at")
_MONEY = ("total", "allocated", "remaining_credit")


@attrs.frozen(kw_only=True)
class CreditNoteRecord:
    """The link between one BMS credit note and its Xero credit note, in one tenant.

    Stores key a record by ``(tenant_id, credit_note_id)`` and write it with
    compare-and-swap on ``version``, as sync records are.

    Attributes:
        tenant_id: The Xero organisation.
        credit_note_id: The BMS credit note id.
        credit_note_number: Its number (Xero's CreditNoteNumber).
        invoice_id: The BMS invoice it credits.
        state: Where it stands (see :class:`CreditNoteState`).
        version: Set by the store: 1 on insert, +1 on every put.
        xero_credit_note_id: Xero's CreditNoteID once known.
        xero_invoice_id: The Xero invoice it is (to be) allocated to.
        fingerprint: Content hash of what Xero has.
        intent_key: The Idempotency-Key of the create in flight.
        intent_fingerprint: Content hash of the create in flight.
        intent_at: When the create's intent was stored.
        allocation_key: The Idempotency-Key of the allocation in flight.
        allocation_at: When the allocation's intent was stored.
        allocated: What Xero confirmed is allocated to the invoice.
        total: Xero's Total for the credit note.
        remaining_credit: Xero's RemainingCredit (unallocated: a refund is due for it).
        xero_status: Xero's status of the credit note.
        last_push_at: When Xero last confirmed a write.
        last_error: What went wrong last, in words.
        last_error_at: When.
        view_url: The link that opens the credit note in Xero.
        policy: The ``OverCredit`` the credit note was created under: a retry of a credit
            note Xero has follows it, whatever the retry passes.
    """

    tenant_id: str
    credit_note_id: str
    credit_note_number: str
    invoice_id: str
    state: CreditNoteState = attrs.field(converter=_state)
    version: int = 0
    xero_credit_note_id: str | None = None
    xero_invoice_id: str | None = None
    fingerprint: str | None = None
    intent_key: str | None = None
    intent_fingerprint: str | None = None
    intent_at: datetime | None = attrs.field(default=None, converter=aware_utc)
    allocation_key: str | None = None
    allocation_at: datetime | None = attrs.field(default=None, converter=aware_utc)
    allocated: Decimal | None = None
    total: Decimal | None = None
    remaining_credit: Decimal | None = None
    xero_status: str | None = None
    last_push_at: datetime | None = attrs.field(default=None, converter=aware_utc)
    last_error: str | None = None
    last_error_at: datetime | None = attrs.field(default=None, converter=aware_utc)
    view_url: str | None = None
    policy: str | None = None

    @property
    def key(self) -> str:
        """``"tenant/credit-note-id"``: how errors name this record."""
        return f"{self.tenant_id}/credit-note/{self.credit_note_id}"

    @property
    def done(self) -> bool:
        """Whether Xero has it as the push left it (allocated, or unallocated on purpose)."""
        return self.state in (CreditNoteState.ALLOCATED, CreditNoteState.UNALLOCATED)

    def __attrs_pre_init__(self, **values: Any) -> None:
        """Check every raw value before any converter runs (one error lists them all)."""
        problems = _problems(values)
        if problems:
            raise StorageValueError(
                what=f"credit note record {values['tenant_id']}/{values['credit_note_id']}",
                problems=problems,
            )

    def problems(self) -> list[FieldProblem]:
        """Everything wrong with it: nothing, since it checked itself when built."""
        return _problems(attrs.asdict(self, recurse=False))

    def evolve(self, **changes: Any) -> CreditNoteRecord:
        """A copy with ``changes`` applied (validated like a new record)."""
        return attrs.evolve(self, **changes)


def _problems(values: Mapping[str, Any]) -> list[FieldProblem]:
    found = key_problems(**{name: values[name] for name in _KEYS})
    if member(CreditNoteState, values["state"]) is None:
        found.append(_BAD_STATE)
    version = values["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        found.append(FieldProblem("version", "must be an int >= 0"))
    found += optional_value_problems(
        values, text=_OPTIONAL_TEXT, datetimes=_DATETIMES, money=_MONEY
    )
    return found
