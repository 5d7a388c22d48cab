"""What the client returns besides domain types: per-element write results, connections."""

from __future__ import annotations

from datetime import datetime

import attrs

from bms_xero.domain import XeroContact, XeroCreditNote, XeroInvoice
from bms_xero.errors import XeroValidationError, XeroValidationMessage

__all__ = ["Connection", "ContactResult", "CreditNoteResult", "InvoiceResult", "Page"]


@attrs.frozen(kw_only=True)
class InvoiceResult:
    """What Xero did with one invoice of a write (``summarizeErrors=false``).

    Attributes:
        index: The element's position in the request batch.
        invoice_number: The number sent (or Xero's, when it numbered the invoice).
        invoice: The invoice as Xero stored it; ``None`` when Xero rejected the element.
        errors: Every validation message for this element, line-item ones included.
        warnings: Xero's warnings on this element (the invoice was still saved).
    """

    index: int
    invoice_number: str | None
    invoice: XeroInvoice | None
    errors: tuple[XeroValidationMessage, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether Xero saved the element without errors."""
        return self.invoice is not None and not self.errors

    @property
    def invoice_id(self) -> str | None:
        """Xero's InvoiceID when the element was saved."""
        return self.invoice.invoice_id if self.ok and self.invoice is not None else None

    def raise_for_errors(self) -> XeroInvoice:
        """The saved invoice, or :class:`~bms_xero.errors.XeroValidationError` with Xero's words."""
        if self.invoice is None or self.errors:
            raise XeroValidationError(
                self.errors
                or (XeroValidationMessage("Xero returned no invoice for this element"),),
                status_code=200,
                invoice_number=self.invoice_number,
            )
        return self.invoice


@attrs.frozen(kw_only=True)
class CreditNoteResult:
    """What Xero did with one credit note of a write (``summarizeErrors=false``).

    Attributes:
        index: The element's position in the request batch.
        credit_note_number: The number sent (or Xero's, when it numbered the note).
        credit_note: The credit note as Xero stored it; ``None`` when Xero rejected it.
        errors: Every validation message for this element, line-item ones included.
        warnings: Xero's warnings on this element (the credit note was still saved).
    """

    index: int
    credit_note_number: str | None
    credit_note: XeroCreditNote | None
    errors: tuple[XeroValidationMessage, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether Xero saved the element without errors."""
        return self.credit_note is not None and not self.errors


@attrs.frozen(kw_only=True)
class ContactResult:
    """What Xero did with one contact of a write.

    Attributes:
        index: The element's position in the request batch.
        name: The contact name sent.
        contact: The contact as Xero stored it; ``None`` when Xero rejected the element.
        errors: Every validation message for this element.
    """

    index: int
    name: str | None
    contact: XeroContact | None
    errors: tuple[XeroValidationMessage, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether Xero saved the element without errors."""
        return self.contact is not None and not self.errors


@attrs.frozen(kw_only=True)
class Connection:
    """One organisation (tenant) the token set may act on, from ``GET /connections``.

    Attributes:
        id: The connection's id (used to disconnect).
        tenant_id: The value to send as ``xero-tenant-id``.
        tenant_type: ``ORGANISATION`` (or ``PRACTICEMANAGER``, ...).
        tenant_name: The organisation's name.
        auth_event_id: The authorisation that created the connection.
        created_at: When it was created (UTC), if Xero said.
        updated_at: When it last changed (UTC), if Xero said.
    """

    id: str
    tenant_id: str
    tenant_type: str | None = None
    tenant_name: str | None = None
    auth_event_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Page:
    """Paging facts from a list answer (``pagination`` in Xero's envelope).

    Attributes:
        page: This page's number (from 1).
        page_size: Records per page.
        page_count: Pages in all, when Xero said.
        item_count: Records in all, when Xero said.
    """

    page: int
    page_size: int | None = None
    page_count: int | None = None
    item_count: int | None = None
