"""What the engine needs from the outside world, as small Protocols named for roles.

:class:`bms_xero.xero.XeroClient` is the real :class:`XeroApi`; hosts implement
:class:`PaymentSink` to apply pulled payments to their own invoices.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from bms_xero.domain import (
    CreditNoteAllocation,
    Organisation,
    XeroContact,
    XeroCreditNote,
    XeroInvoice,
    XeroPayment,
)
from bms_xero.engine._results import PaymentUpdate
from bms_xero.mapping._reference import ChartOfAccounts, TaxRates
from bms_xero.mapping.wire import WireInvoice
from bms_xero.xero import ContactResult, CreditNoteResult, InvoiceResult

__all__ = ["PaymentSink", "XeroApi"]


@runtime_checkable
class PaymentSink(Protocol):
    """Receives each payment/status change pulled from Xero, for the host to apply.

    Updates carry absolute values (amount paid, due, status), so applying one twice is
    harmless: after a crash the engine may deliver an update again (at least once). Each
    carries a ``sequence`` that grows with every change to the invoice's money: keep the
    last one applied per invoice to drop a stale or repeated update.

    An update is marked told only after ``apply`` returns. If it raises, the update stays in
    the outbox and comes again on the next pull or ``SyncEngine.deliver()``: raise when the
    BMS could not record it, and never swallow a failure to "keep going".
    """

    def apply(self, update: PaymentUpdate) -> None:
        """Apply one update to the BMS invoice it names."""
        ...


class XeroApi(Protocol):
    """The calls the engine makes; :class:`bms_xero.xero.XeroClient` provides them."""

    @property
    def tenant_id(self) -> str | None:
        """The organisation this client talks to."""
        ...

    def create_invoices(
        self, payloads: Sequence[WireInvoice], *, idempotency_key: str
    ) -> list[InvoiceResult]:
        """PUT /Invoices with summarizeErrors=false; one result per element."""
        ...

    def update_invoice(
        self, invoice_id: str, payload: WireInvoice, *, idempotency_key: str
    ) -> InvoiceResult:
        """POST /Invoices/{InvoiceID} (a void or delete: a status change)."""
        ...

    def update_invoices(
        self, payloads: Sequence[WireInvoice], *, idempotency_key: str
    ) -> list[InvoiceResult]:
        """POST /Invoices: up to 50 updates, each naming its InvoiceID (``for_update``)."""
        ...

    def iter_invoices(
        self,
        *,
        ids: Iterable[str] = (),
        numbers: Iterable[str] = (),
        modified_since: datetime | None = None,
        page_size: int = 1000,
    ) -> Iterator[XeroInvoice]:
        """GET /Invoices, paged lazily."""
        ...

    def iter_changed_invoices(
        self, *, since: datetime | None, page_size: int = 1000
    ) -> Iterator[XeroInvoice]:
        """Sales invoices changed since ``since``, oldest first, paged so none is skipped."""
        ...

    def iter_changed_payments(
        self, *, since: datetime | None, page_size: int = 1000
    ) -> Iterator[XeroPayment]:
        """Payments changed since ``since``, oldest first, paged so none is skipped."""
        ...

    def get_invoice(self, invoice_id: str) -> XeroInvoice:
        """GET /Invoices/{InvoiceID}."""
        ...

    def get_invoices_by_number(self, numbers: Iterable[str]) -> list[XeroInvoice]:
        """The invoices with these numbers (those that exist)."""
        ...

    def iter_payments(self, *, modified_since: datetime | None = None) -> Iterator[XeroPayment]:
        """GET /Payments, paged lazily."""
        ...

    def create_credit_notes(
        self, payloads: Sequence[Mapping[str, Any]], *, idempotency_key: str
    ) -> list[CreditNoteResult]:
        """PUT /CreditNotes with summarizeErrors=false; one result per element."""
        ...

    def get_credit_note(self, credit_note_id: str) -> XeroCreditNote:
        """GET /CreditNotes/{CreditNoteID}."""
        ...

    def get_credit_notes_by_number(self, numbers: Iterable[str]) -> list[XeroCreditNote]:
        """The sales credit notes with these numbers (those that exist)."""
        ...

    def allocate_credit_note(
        self,
        credit_note_id: str,
        *,
        invoice_id: str,
        amount: Decimal,
        on: date,
        idempotency_key: str,
    ) -> CreditNoteAllocation:
        """PUT /CreditNotes/{CreditNoteID}/Allocations."""
        ...

    def get_accounts(self) -> ChartOfAccounts:
        """GET /Accounts."""
        ...

    def get_tax_rates(self) -> TaxRates:
        """GET /TaxRates."""
        ...

    def get_organisation(self) -> Organisation:
        """GET /Organisation."""
        ...

    def find_contact_by_number(self, contact_number: str) -> XeroContact | None:
        """The contact with this ContactNumber, if any."""
        ...

    def find_contact_by_name(self, name: str) -> XeroContact | None:
        """The active contact with this name (case aside), if any."""
        ...

    def get_contacts(
        self, *, ids: Iterable[str] = (), include_archived: bool = False
    ) -> list[XeroContact]:
        """GET /Contacts?IDs=..., archived (and merged) ones too when asked."""
        ...

    def get_online_invoice_url(self, invoice_id: str) -> str:
        """GET /Invoices/{InvoiceID}/OnlineInvoice."""
        ...

    def email_invoice(self, invoice_id: str, *, idempotency_key: str) -> None:
        """POST /Invoices/{InvoiceID}/Email."""
        ...

    def get_currencies(self) -> dict[str, str]:
        """GET /Currencies: code → description."""
        ...

    def create_contacts(
        self, contacts: Sequence[Mapping[str, Any]], *, idempotency_key: str
    ) -> list[ContactResult]:
        """PUT /Contacts."""
        ...
