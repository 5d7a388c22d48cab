"""The contacts of the invoices a push sends, checked against Xero before anything is sent.

Xero refuses a new invoice for an archived contact, and a contact merged into another is
archived with ``MergedToContactID`` naming the one kept (Xero moves its invoices there). So,
for every invoice a push is about to send:

- a merged contact is replaced by the contact it was merged into (following a chain of
  merges), and the customer's link in the store is moved to it;
- an archived contact (not merged) refuses the invoice with
  :class:`~bms_xero.errors.ContactArchived` when the push would create it or approve it (what
  Xero refuses); edits of an invoice it already has go on, as Xero keeps those usable.

The contacts come from :meth:`ReferenceCache.contacts`: one ``GET /Contacts?IDs=`` per push at
most (and one more per merge followed), none for contacts read within the cache's lifetime.
If they can't be read the push goes on unchecked: Xero checks the contact itself, in its own
words.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import attrs

from bms_xero.domain import Invoice, InvoiceStatus, XeroContact
from bms_xero.engine import plan
from bms_xero.engine import push_plan as pp
from bms_xero.engine._context import Context
from bms_xero.engine._reference import ReferenceCache
from bms_xero.engine.plan import Step
from bms_xero.errors import BmsXeroError, ContactArchived, PreflightError, PreflightFailed
from bms_xero.mapping.wire import WireInvoice

__all__ = ["ARCHIVED", "Contacts"]

log = logging.getLogger("bms_xero.engine")

#: Xero's ContactStatus of an archived (or merged) contact.
ARCHIVED = "ARCHIVED"
#: Merges followed from one contact; a longer chain ends at the contact reached.
MAX_MERGES = 5
#: What a push knows of a record's Xero status before it approves the invoice.
_UNAPPROVED = frozenset({InvoiceStatus.DRAFT, InvoiceStatus.SUBMITTED})

#: Builds an invoice's wire form, or says why it can't be built.
Build = Callable[[Invoice], tuple[WireInvoice | None, PreflightError | None]]


class Contacts:
    """Contacts as Xero holds them now, merged ones followed to the contact kept."""

    def __init__(self, ctx: Context, reference: ReferenceCache) -> None:
        self._ctx = ctx
        self._reference = reference

    def current(self, contact_ids: Iterable[str]) -> dict[str, XeroContact]:
        """Each of these contacts as Xero holds it, a merged one replaced by the contact it
        was merged into; an id Xero does not know is left out.

        Raises:
            BmsXeroError: The contacts could not be read.
        """
        asked = list(dict.fromkeys(contact_ids))
        known = self._reference.contacts(asked)
        for _ in range(MAX_MERGES):
            onward = {
                c.merged_to_contact_id
                for c in known.values()
                if c.merged_to_contact_id and c.merged_to_contact_id not in known
            }
            if not onward:
                break
            known.update(self._reference.contacts(sorted(onward)))
        current: dict[str, XeroContact] = {}
        for contact_id in asked:
            contact = known.get(contact_id)
            seen: set[str] = set()
            while (
                contact is not None
                and contact.merged_to_contact_id in known
                and contact.contact_id not in seen
            ):
                seen.add(contact.contact_id)
                contact = known[contact.merged_to_contact_id or ""]
            if contact is not None:
                current[contact_id] = contact
        return current

    def survivor(self, contact: XeroContact) -> XeroContact:
        """The contact itself, or the one it was merged into (when that can be read).

        Raises:
            BmsXeroError: The contact kept could not be read.
        """
        if not contact.merged_to_contact_id:
            return contact
        return self.current([contact.contact_id]).get(contact.contact_id, contact)

    def forget(self, contact_id: str | None) -> None:
        """Read this contact again next time (Xero refused an invoice for it)."""
        self._reference.forget(contact_id)

    def checked(self, items: list[pp.Item], build: Build) -> list[pp.Item]:
        """The push's items, each invoice that will be sent checked against its contact.

        An invoice that will not be sent (unchanged, cancelled) is not looked at: it costs
        nothing, and a paid invoice whose contact was merged stays as Xero has it.
        """
        due = [
            item
            for item in items
            if item.twice is None and item.invoice.customer.xero_contact_id and _sends(item)
        ]
        if not due:
            return items
        try:
            current = self.current(item.invoice.customer.xero_contact_id or "" for item in due)
        except BmsXeroError as e:
            log.info(
                "contacts not checked before the push (%s); Xero checks them", type(e).__name__
            )
            return items
        out = list(items)
        position = {item.index: i for i, item in enumerate(items)}
        moved: set[str] = set()
        for item in due:
            contact = current.get(item.invoice.customer.xero_contact_id or "")
            if contact is None:
                continue
            checked = item
            if contact.contact_id != item.invoice.customer.xero_contact_id:
                customer = item.invoice.customer.with_xero_contact_id(contact.contact_id)
                invoice = attrs.evolve(item.invoice, customer=customer)
                wire, problem = build(invoice)
                checked = attrs.evolve(item, invoice=invoice, wire=wire, problem=problem)
                if customer.id not in moved:
                    moved.add(customer.id)
                    self._ctx.store.set_contact_id(
                        self._ctx.tenant_id, customer.id, contact.contact_id
                    )
                    log.info(
                        "customer %s: Xero contact merged into %s; link moved",
                        customer.id,
                        contact.contact_id,
                    )
            if contact.status == ARCHIVED and _creates_or_approves(checked):
                refused = ContactArchived(
                    customer_id=checked.invoice.customer.id,
                    customer_name=checked.invoice.customer.name,
                    contact_id=contact.contact_id,
                    invoice_number=checked.invoice.number,
                )
                checked = attrs.evolve(checked, problem=_joined(checked, refused))
            out[position[item.index]] = checked
        return out


def _sends(item: pp.Item) -> bool:
    """Whether the push may send this invoice (so its contact matters)."""
    step = plan.step_for(item.record, item.content, force=item.force)
    return step not in (Step.SKIP, Step.REFUSE_VOIDED)


def _creates_or_approves(item: pp.Item) -> bool:
    """Whether sending it would be refused for an archived contact: a create (or a create
    that may follow a lookup), or an update that approves a draft."""
    step = plan.step_for(item.record, item.content, force=item.force)
    if step in (Step.CREATE, Step.RESOLVE):
        return True
    record = item.record
    return (
        step is Step.UPDATE
        and record is not None
        and item.invoice.status is InvoiceStatus.AUTHORISED
        and record.xero_status in _UNAPPROVED
    )


def _joined(item: pp.Item, refused: PreflightError) -> PreflightError:
    """The item's problems with ``refused`` added (together, as preflight reports them)."""
    if item.problem is None:
        return refused
    earlier = item.problem.errors if isinstance(item.problem, PreflightFailed) else (item.problem,)
    return PreflightFailed([*earlier, refused], invoice_number=item.invoice.number)
