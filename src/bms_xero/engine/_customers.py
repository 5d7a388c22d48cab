"""BMS customers linked to Xero contacts: one (``link_customer``), many (``link_customers``),
or on the way to a push (``SyncEngine(auto_link_customers=True)``).

Each customer is keyed in Xero by its ContactNumber (``Customer.contact_number``, else the BMS
customer id). A customer is linked to, in this order: the contact id it already carries; the
contact with its ContactNumber; an active contact with its name (Xero keeps names unique)
that carries no other ContactNumber; else a contact created for it. Creates go up to 50 per
request, with one Idempotency-Key per request, so a retried request never creates twice. A
contact merged into another in Xero is followed to the one kept. Each link is recorded in the
store's :class:`~bms_xero.storage.CustomerLinkStore`, so later pushes use it even when the
host's Customer lacks the id.

One customer's trouble (a name taken by another customer's contact, Xero refusing the
create) is that customer's outcome, never the batch's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, NoReturn

import attrs

from bms_xero.domain import Customer, XeroContact
from bms_xero.engine._contacts import Contacts
from bms_xero.engine._context import Context
from bms_xero.errors import (
    BmsXeroError,
    ConfigurationError,
    SyncError,
    XeroValidationError,
    XeroValidationMessage,
)
from bms_xero.mapping.wire import contact_payload
from bms_xero.xero import MAX_BATCH

__all__ = ["CustomerLink", "CustomerLinkFailure", "CustomerLinkOutcome", "CustomerLinker"]

#: Xero's longest ContactNumber.
MAX_CONTACT_NUMBER = 50


@attrs.frozen(kw_only=True)
class CustomerLink:
    """A customer linked to its Xero contact.

    Attributes:
        customer: The customer, with ``xero_contact_id`` set.
        contact_id: The Xero ContactID it is linked to.
        created: Whether this call created the contact (else it was found, or given).
    """

    customer: Customer
    contact_id: str
    created: bool = False

    ok: ClassVar[bool] = True

    @property
    def customer_id(self) -> str:
        """The BMS customer id."""
        return self.customer.id

    def unwrap(self) -> Customer:
        """The linked customer."""
        return self.customer


@attrs.frozen(kw_only=True)
class CustomerLinkFailure:
    """A customer that could not be linked; ``error`` says why and what to do."""

    customer_id: str
    error: BmsXeroError

    ok: ClassVar[bool] = False

    def unwrap(self) -> NoReturn:
        """Raise the error."""
        raise self.error


#: One customer's outcome: a :class:`CustomerLink` or a :class:`CustomerLinkFailure`.
CustomerLinkOutcome = CustomerLink | CustomerLinkFailure


def contact_number_of(customer: Customer) -> str:
    """The ContactNumber that keys the customer in Xero."""
    return customer.contact_number or customer.id


class CustomerLinker:
    """Finds or creates the Xero contact of each customer and records the links."""

    def __init__(self, ctx: Context, contacts: Contacts) -> None:
        self._ctx = ctx
        self._contacts = contacts

    def link(self, customers: Sequence[Customer]) -> list[CustomerLinkOutcome]:
        """One outcome per customer, in order (a customer given twice is linked once)."""
        outcomes: dict[str, CustomerLinkOutcome] = {}
        to_create: list[tuple[Customer, str]] = []
        for customer in customers:
            if customer.id in outcomes or any(c.id == customer.id for c, _ in to_create):
                continue
            found = self._find(customer)
            if found is None:
                to_create.append((customer, contact_number_of(customer)))
            else:
                outcomes[customer.id] = found
        for start in range(0, len(to_create), MAX_BATCH):
            outcomes.update(self._create(to_create[start : start + MAX_BATCH]))
        return [outcomes[c.id] for c in customers]

    # --- one customer --------------------------------------------------------------------------

    def _find(self, customer: Customer) -> CustomerLinkOutcome | None:
        """The customer's outcome without creating anything, or ``None`` to create it."""
        number = contact_number_of(customer)
        if len(number) > MAX_CONTACT_NUMBER:
            return CustomerLinkFailure(
                customer_id=customer.id,
                error=ConfigurationError(
                    f"customer {customer.id}: Xero ContactNumbers hold at most "
                    f"{MAX_CONTACT_NUMBER} characters; set Customer.contact_number to a "
                    "shorter key"
                ),
            )
        try:
            if customer.xero_contact_id is not None:
                return self._linked(customer, customer.xero_contact_id)
            contact = self._ctx.client.find_contact_by_number(number) or self._named(
                customer, number
            )
            if contact is None:
                return None
            return self._linked(customer, self._contacts.survivor(contact).contact_id)
        except BmsXeroError as e:
            return CustomerLinkFailure(customer_id=customer.id, error=e)

    def _named(self, customer: Customer, number: str) -> XeroContact | None:
        """The active contact with the customer's name, if it can be this customer's."""
        found = self._ctx.client.find_contact_by_name(customer.name)
        if found is None:
            return None
        if found.contact_number and found.contact_number != number:
            raise SyncError(
                f"customer {customer.id} ({customer.name}): Xero already has a contact named "
                f"{found.name!r} with ContactNumber {found.contact_number!r}, another "
                "customer's; give this customer a distinct name, or link it to that contact "
                "by passing Customer(xero_contact_id=...)"
            )
        return found

    def _linked(
        self, customer: Customer, contact_id: str, *, created: bool = False
    ) -> CustomerLink:
        self._ctx.store.set_contact_id(self._ctx.tenant_id, customer.id, contact_id)
        return CustomerLink(
            customer=customer.with_xero_contact_id(contact_id),
            contact_id=contact_id,
            created=created,
        )

    # --- creates -------------------------------------------------------------------------------

    def _create(self, batch: Sequence[tuple[Customer, str]]) -> dict[str, CustomerLinkOutcome]:
        """One request creating up to 50 contacts; each answer is its customer's outcome."""
        try:
            made = self._ctx.client.create_contacts(
                [contact_payload(customer, number) for customer, number in batch],
                idempotency_key=self._ctx.new_key(),
            )
        except BmsXeroError as e:
            return {
                customer.id: CustomerLinkFailure(customer_id=customer.id, error=e)
                for customer, _ in batch
            }
        answers = {result.index: result for result in made}
        outcomes: dict[str, CustomerLinkOutcome] = {}
        for i, (customer, _) in enumerate(batch):
            result = answers.get(i)
            if result is not None and result.ok and result.contact is not None:
                try:
                    outcomes[customer.id] = self._linked(
                        customer, result.contact.contact_id, created=True
                    )
                except BmsXeroError as e:
                    outcomes[customer.id] = CustomerLinkFailure(customer_id=customer.id, error=e)
                continue
            messages = (
                result.errors if result is not None and result.errors else ()
            ) or (XeroValidationMessage("Xero returned no contact"),)
            outcomes[customer.id] = CustomerLinkFailure(
                customer_id=customer.id,
                error=XeroValidationError(messages, status_code=200),
            )
        return outcomes
