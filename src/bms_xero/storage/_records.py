"""What the sync engine remembers per invoice: :class:`SyncRecord` and its :class:`SyncState`.

Pure values, no I/O. A record validates itself when built, so a store never has to: keys are
non-empty strings, money is a finite :class:`~decimal.Decimal`, and every datetime is
timezone-aware (it is normalised to UTC, so a record reads back exactly as it was written,
whatever the store).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs

from bms_xero._slots import copier
from bms_xero.domain import Allocation, InvoiceStatus, Settlement
from bms_xero.errors import FieldProblem, StorageValueError
from bms_xero.storage._checks import (
    aware_utc,
    datetime_problem,
    key_problems,
    member,
    money_problem,
    text_problem,
)

__all__ = ["SyncRecord", "SyncState"]


class SyncState(enum.StrEnum):
    """Where one BMS invoice stands with Xero."""

    #: The intent is persisted (``intent_key`` set) and the write is not confirmed yet.
    PENDING = "pending"
    #: Xero has it; ``fingerprint`` says what was pushed.
    PUSHED = "pushed"
    #: A write may or may not have happened: look the invoice up before writing again.
    UNCERTAIN = "uncertain"
    #: The last push failed permanently; ``last_error`` says why.
    FAILED = "failed"
    #: Cancelled in the BMS and voided in Xero.
    VOIDED = "voided"


_BAD_STATE = FieldProblem("state", f"must be one of {', '.join(s.value for s in SyncState)}")


def _state(value: SyncState | str) -> SyncState:
    """Accept a member or its value (``"pushed"``).

    The record has already refused anything else, with its path and its other problems
    (see ``__attrs_pre_init__``); this raises rather than let a bad value through.
    """
    state = member(SyncState, value)
    if state is None:
        raise StorageValueError(what="a sync record", problems=[_BAD_STATE])
    return state


_KEYS = ("tenant_id", "invoice_id", "invoice_number")
_OPTIONAL_TEXT = (
    "xero_invoice_id",
    "fingerprint",
    "intent_key",
    "intent_fingerprint",
    "xero_status",
    "last_error",
    "last_error_type",
    "told_status",
    "view_url",
    "online_invoice_url",
)
_DATETIMES = (
    "intent_at",
    "last_push_at",
    "last_pull_at",
    "xero_updated_at",
    "last_error_at",
    "emailed_at",
)
_MONEY = (
    "total",
    "amount_due",
    "amount_paid",
    "amount_credited",
    "paid_by_prepayments",
    "paid_by_overpayments",
)
_COUNTERS = ("version", "money_version", "told_version")


def _xero_status(value: InvoiceStatus | str | None) -> InvoiceStatus | str | None:
    """A status Xero sent, as the enum member when we know it, else as Xero spelled it (a
    status added later must never make a record unreadable)."""
    if isinstance(value, str) and not isinstance(value, InvoiceStatus):
        try:
            return InvoiceStatus(value)
        except ValueError:
            return value
    return value


@attrs.frozen(kw_only=True)
class SyncRecord:
    """The link between one BMS invoice and its Xero invoice, in one tenant.

    Stores key a record by ``(tenant_id, invoice_id)``. Build a changed copy with
    :meth:`evolve` and write it with ``store.put(new, expected_version=old.version)``.

    Attributes:
        tenant_id: The Xero organisation (tenant id) this record belongs to.
        invoice_id: The BMS invoice id.
        invoice_number: The BMS invoice number (also its InvoiceNumber in Xero).
        state: Where the invoice stands (see :class:`SyncState`).
        version: Set by the store: 1 on insert, +1 on every successful put. The value on a
            record passed to ``put`` is ignored; ``expected_version`` is what counts.
        xero_invoice_id: Xero's InvoiceID once known.
        fingerprint: Content hash of what Xero has (the last confirmed push).
        intent_key: The ``Idempotency-Key`` of the write in flight.
        intent_fingerprint: Content hash of the write in flight.
        intent_at: When the intent was persisted (the key's lifetime starts then).
        last_push_at: When Xero last confirmed a push.
        last_pull_at: When the invoice was last refreshed from Xero.
        xero_status: Xero's status: an :class:`~bms_xero.domain.InvoiceStatus` (a ``str``), or
            the raw string for a status Xero added after this release: the one status type
            of results, panels and records.
        total: Xero's Total.
        amount_due: Xero's AmountDue.
        amount_paid: Xero's AmountPaid.
        amount_credited: Xero's AmountCredited.
        fully_paid_on: Xero's FullyPaidOnDate.
        xero_updated_at: Xero's UpdatedDateUTC.
        last_error: What went wrong last, in words (names the invoice, quotes Xero).
        last_error_at: When it went wrong.
        last_error_type: The class name of that error (``"MissingContactId"``), so a panel
            can say what fixes it; ``None`` when there is none or it was stored before
            bms_xero kept it.
        paid_by_prepayments: The part of AmountCredited that prepayments applied (the
            customer's money, so the BMS shows it as paid).
        paid_by_overpayments: The part of AmountCredited that overpayments applied.
        allocations: Every live payment and credit applied to the invoice in Xero.
        money_version: Grows with every change to what Xero holds for the invoice's money
            (status, amounts, allocations), and never stays below Xero's UpdatedDateUTC in
            milliseconds; it is the ``sequence`` of the update that tells the host.
        told_version: The ``money_version`` the host's PaymentSink last accepted (or that
            needed no telling: the push's own result reported it). Smaller than
            ``money_version`` means an update is waiting to be delivered.
        told_status: The BMS status the host was last told (an update's
            ``previous_status``).
        delivered: The sink has accepted at least one update for this record. Until then
            the host knows only what its pushes' results said, and an answer to our own
            write with no money on it needs no update; after, every change is delivered.
        view_url: "View Xero Invoice": the deep link made when Xero confirmed the push, with
            the organisation's ShortCode when it was known, so the panel needs no Xero call.
        online_invoice_url: The customer's online invoice (pay) link, as
            ``GET /Invoices/{InvoiceID}/OnlineInvoice`` gave it, kept so the panel needs no
            Xero call (``SyncEngine.online_invoice_url``).
        emailed_at: When Xero was asked to email the invoice to its contact
            (``POST /Invoices/{InvoiceID}/Email``). Set before the request is sent and
            cleared only when Xero certainly did not send it, so an invoice is emailed at
            most once.

    What Xero holds (the amounts above) and what the host was told (``told_*``) are kept
    apart on purpose: every path that learns from Xero moves only the first, and one delivery
    step moves the second after the sink accepted, so nothing learned is ever lost between.
    """

    tenant_id: str
    invoice_id: str
    invoice_number: str
    state: SyncState = attrs.field(converter=_state)
    version: int = 0
    xero_invoice_id: str | None = None
    fingerprint: str | None = None
    intent_key: str | None = None
    intent_fingerprint: str | None = None
    intent_at: datetime | None = attrs.field(default=None, converter=aware_utc)
    last_push_at: datetime | None = attrs.field(default=None, converter=aware_utc)
    last_pull_at: datetime | None = attrs.field(default=None, converter=aware_utc)
    xero_status: InvoiceStatus | str | None = attrs.field(default=None, converter=_xero_status)
    total: Decimal | None = None
    amount_due: Decimal | None = None
    amount_paid: Decimal | None = None
    amount_credited: Decimal | None = None
    fully_paid_on: date | None = None
    xero_updated_at: datetime | None = attrs.field(default=None, converter=aware_utc)
    last_error: str | None = None
    last_error_at: datetime | None = attrs.field(default=None, converter=aware_utc)
    paid_by_prepayments: Decimal | None = None
    paid_by_overpayments: Decimal | None = None
    allocations: tuple[Allocation, ...] = ()
    money_version: int = 0
    told_version: int = 0
    told_status: str | None = None
    delivered: bool = False
    view_url: str | None = None
    online_invoice_url: str | None = None
    emailed_at: datetime | None = attrs.field(default=None, converter=aware_utc)
    last_error_type: str | None = None

    @property
    def key(self) -> str:
        """``"tenant/invoice-id"``: how errors name this record."""
        return f"{self.tenant_id}/{self.invoice_id}"

    @property
    def settlement(self) -> Settlement | None:
        """What settled the invoice in Xero, once its amounts are known."""
        if self.amount_paid is None and self.amount_credited is None:
            return None

        def known(value: Decimal | None) -> Decimal:
            return Decimal(0) if value is None else value  # not `or`: keep Xero's 0.00

        prepaid = known(self.paid_by_prepayments)
        overpaid = known(self.paid_by_overpayments)
        return Settlement(
            payments=known(self.amount_paid),
            prepayments=prepaid,
            overpayments=overpaid,
            credit_notes=known(self.amount_credited) - prepaid - overpaid,
        )

    @property
    def delivery_due(self) -> bool:
        """Whether Xero holds money news the host has not accepted yet."""
        return self.money_version > self.told_version

    def problems(self) -> list[FieldProblem]:
        """Everything wrong with this record: nothing, since it checked itself when built."""
        return _problems(attrs.asdict(self, recurse=False))

    def __attrs_pre_init__(self, **values: Any) -> None:
        """Check every raw value before any converter runs, so one error lists them all and
        no field is ever set to a value the record would refuse."""
        problems = _problems(values)
        if problems:
            raise StorageValueError(
                what=f"sync record {values['tenant_id']}/{values['invoice_id']}",
                problems=problems,
            )

    def evolve(self, **changes: Any) -> SyncRecord:
        """A copy with ``changes`` applied, validated like a new record.

        The same record ``attrs.evolve`` makes, at about a third of the CPU, which a push pays
        several times per invoice: this record's values are already checked and converted,
        so only the changed ones go through the converters, while the whole set is still
        checked as a new record's would be (one error naming every problem, nothing built).

        Raises:
            TypeError: A name that is not a field.
            StorageValueError: The values a new record would refuse.
        """
        unknown = changes.keys() - _FIELD_SET
        if unknown:
            raise TypeError(f"SyncRecord has no field {', '.join(sorted(unknown))}")
        merged = _Merged(self, changes)
        problems = _problems(merged, changes.keys())
        if problems:
            raise StorageValueError(
                what=f"sync record {merged['tenant_id']}/{merged['invoice_id']}",
                problems=problems,
            )
        converted = dict(changes)
        for name in changes.keys() & _CONVERTERS.keys():
            converted[name] = _CONVERTERS[name](changes[name])
        return _copy_with(self, converted)


_FIELD_NAMES = tuple(field.name for field in attrs.fields(SyncRecord))
_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    field.name: field.converter  # type: ignore[misc]
    for field in attrs.fields(SyncRecord)
    if callable(field.converter)
}


_FIELD_SET = frozenset(_FIELD_NAMES)


class _Merged(Mapping[str, Any]):
    """A record's values with ``changes`` laid over them, read only where a check looks."""

    __slots__ = ("_changes", "_record")

    def __init__(self, record: SyncRecord, changes: Mapping[str, Any]) -> None:
        self._record, self._changes = record, changes

    def __getitem__(self, name: str) -> Any:
        changes = self._changes
        return changes[name] if name in changes else getattr(self._record, name)

    def __iter__(self) -> Iterator[str]:
        return iter(_FIELD_NAMES)

    def __len__(self) -> int:
        return len(_FIELD_NAMES)


#: ``record`` with the already checked and converted values ``c`` in place of its own.
_copy_with = copier(SyncRecord)


_Rule = Callable[[Mapping[str, Any]], "FieldProblem | None"]


def _rules() -> tuple[tuple[tuple[str, ...], _Rule], ...]:
    """Every check of a record's raw values, in the order their problems are listed, each
    with the fields it reads. All but ``told_version <= money_version`` read one field."""

    def key(name: str) -> _Rule:
        def check(v: Mapping[str, Any]) -> FieldProblem | None:
            found = key_problems(**{name: v[name]})
            return found[0] if found else None

        return check

    def counter(name: str) -> _Rule:
        def check(v: Mapping[str, Any]) -> FieldProblem | None:
            value = v[name]
            if isinstance(value, bool) or not isinstance(value, int):
                return FieldProblem(name, "must be an int")
            return FieldProblem(name, "must not be negative") if value < 0 else None

        return check

    def told_at_most_money(v: Mapping[str, Any]) -> FieldProblem | None:
        told, money = v["told_version"], v["money_version"]
        if isinstance(told, int) and isinstance(money, int) and told > money:
            return FieldProblem("told_version", "must not be greater than money_version")
        return None

    def allocations(v: Mapping[str, Any]) -> FieldProblem | None:
        value = v["allocations"]
        if isinstance(value, tuple) and all(isinstance(a, Allocation) for a in value):
            return None
        return FieldProblem("allocations", "must be a tuple of Allocation")

    def optional(name: str, problem: Callable[[str, object], FieldProblem | None]) -> _Rule:
        return lambda v: problem(name, v[name])

    def instant_problem(name: str, value: object) -> FieldProblem | None:
        return None if value is None else datetime_problem(name, value)

    def paid_on(v: Mapping[str, Any]) -> FieldProblem | None:
        value = v["fully_paid_on"]
        if value is not None and (isinstance(value, datetime) or not isinstance(value, date)):
            return FieldProblem("fully_paid_on", f"must be a date, not {_kind(value)}")
        return None

    return (
        *(((name,), key(name)) for name in _KEYS),
        (("state",), lambda v: None if member(SyncState, v["state"]) is not None else _BAD_STATE),
        *(((name,), counter(name)) for name in _COUNTERS),
        (("told_version", "money_version"), told_at_most_money),
        (("delivered",), lambda v: None if isinstance(v["delivered"], bool) else _NOT_BOOL),
        (("allocations",), allocations),
        *(((name,), optional(name, text_problem)) for name in _OPTIONAL_TEXT),
        *(((name,), optional(name, instant_problem)) for name in _DATETIMES),
        *(((name,), optional(name, money_problem)) for name in _MONEY),
        (("fully_paid_on",), paid_on),
    )


_NOT_BOOL = FieldProblem("delivered", "must be a bool")
_RULES = _rules()
_RULES_READING: dict[str, tuple[int, ...]] = {
    name: tuple(i for i, (reads, _) in enumerate(_RULES) if name in reads) for name in _FIELD_NAMES
}


def _problems(values: Mapping[str, Any], names: Iterable[str] | None = None) -> list[FieldProblem]:
    """Everything wrong with a record's raw values (empty when it can be stored).

    ``names`` runs only the rules that read one of those fields, for :meth:`SyncRecord.evolve`:
    the others were passed by the record being changed, so what is found is what checking
    every field would find, in the same order.
    """
    if names is None:
        chosen: Iterable[int] = range(len(_RULES))
    else:
        chosen = sorted({i for name in names for i in _RULES_READING[name]})
    found = []
    for i in chosen:
        problem = _RULES[i][1](values)
        if problem is not None:
            found.append(problem)
    return found


def _kind(value: object) -> str:
    return type(value).__name__
