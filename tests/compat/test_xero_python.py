"""Xero's official Python SDK (xero-python) against ``bms-xero fake-server``.

Each test is one step a real integration takes, driven through the SDK exactly as an app
would drive it against Xero: the SDK builds the URLs, headers, query strings and JSON, and
reads the answers into its models and exceptions. The fake is served on loopback by
:func:`bms_xero.testing.serve` (what ``bms-xero fake-server`` runs), and the SDK is pointed
at it through its public knobs: ``AccountingApi(base_url=...)``, ``IdentityApi(base_url=...)``
and the token URL on ``TokenApi``. docs/testing.md records which steps agreed before the
fidelity fixes and after.

Every step must agree: a step that fails is a place where an app tested against the fake
would meet different behaviour in production.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from urllib3.util.retry import Retry
from xero_python.accounting import (
    Account,
    AccountingApi,
    Contact,
    Contacts,
    Invoice,
    Invoices,
    LineAmountTypes,
    LineItem,
    Payment,
    PaymentDelete,
    Payments,
)
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.exceptions import (
    AccountingBadRequestException,
    NotFoundException,
    RateLimitException,
)
from xero_python.identity import IdentityApi

from bms_xero.testing import FakeServer, FakeXero, serve

# Organisation needs accounting.settings(.read): FakeXero refuses a token without it, as Xero.
SCOPE = ["offline_access", "accounting.transactions", "accounting.contacts", "accounting.settings"]


def _furnish(xero: FakeXero) -> None:
    xero.add_account(code="200", name="Sales", type="REVENUE")
    xero.add_account(code="090", name="Business Bank Account", type="BANK")
    xero.add_tax_rate(tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"))


class Sdk:
    """One app using xero-python against a served fake: its API objects and its token store."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.xero = server.xero
        self.tenant_id = self.xero.tenant_id
        self.saved: list[dict[str, Any]] = []
        self.token = self._first_token()
        # Configuration is a process-wide default that every Configuration() copies; the
        # token is set on this copy, never through the constructor (which the default wins).
        config = Configuration()
        config.oauth2_token = OAuth2Token(
            client_id=self.xero.client_id, client_secret=self.xero.client_secret
        )
        self.client = ApiClient(
            config,
            oauth2_token_getter=lambda: self.token,
            oauth2_token_saver=self._save,
        )
        self.accounting = AccountingApi(self.client, base_url=server.api_url)
        self.identity = IdentityApi(self.client, base_url=server.url)

    def _first_token(self) -> dict[str, Any]:
        """Tokens from the authorization-code grant (what an app's OAuth library does), handed
        to the SDK already expired, so its first call refreshes through the identity API."""
        code = self.xero.authorize(scope=" ".join(SCOPE))
        answer = httpx.post(
            self.server.token_url,
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": "x"},
            auth=(self.xero.client_id, self.xero.client_secret),
        ).json()
        return {
            "access_token": answer["access_token"],
            "refresh_token": answer["refresh_token"],
            "scope": SCOPE,
            "expires_in": answer["expires_in"],
            "expires_at": time.time() - 1,
            "token_type": "Bearer",
            "id_token": None,
        }

    def _save(self, token: dict[str, Any]) -> None:
        self.saved.append(token)
        self.token = token

    def close(self) -> None:
        self.client.rest_client.pool_manager.clear()


@pytest.fixture(name="xero")
def _xero() -> FakeXero:
    xero = FakeXero(seed=11)
    _furnish(xero)
    return xero


@contextlib.contextmanager
def _served(xero: FakeXero, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sdk]:
    with serve(xero) as server:
        # The SDK's token endpoints are class attributes, the only way to move them.
        monkeypatch.setattr(TokenApi, "refresh_token_url", server.token_url)
        monkeypatch.setattr(TokenApi, "revoke_token_url", f"{server.url}/connect/revocation")
        sdk = Sdk(server)
        try:
            yield sdk
        finally:
            sdk.close()


@pytest.fixture(name="sdk")
def _sdk(xero: FakeXero, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sdk]:
    with _served(xero, monkeypatch) as sdk:
        yield sdk


def _contact(sdk: Sdk, name: str = "Acme Ltd", **extra: Any) -> str:
    created = sdk.accounting.create_contacts(
        sdk.tenant_id, Contacts(contacts=[Contact(name=name, **extra)])
    )
    return str(created.contacts[0].contact_id)


def _invoice(contact_id: str, number: str, amount: str = "100.00", **extra: Any) -> Invoice:
    fields: dict[str, Any] = {
        "type": "ACCREC",
        "contact": Contact(contact_id=contact_id),
        "invoice_number": number,
        "date": date(2026, 1, 5),
        "due_date": date(2026, 2, 5),
        "status": "AUTHORISED",
        "line_amount_types": LineAmountTypes.EXCLUSIVE,
        "line_items": [
            LineItem(
                description="Widget",
                quantity=Decimal("1"),
                unit_amount=Decimal(amount),
                account_code="200",
                tax_type="OUTPUT2",
            )
        ],
    }
    fields.update(extra)
    return Invoice(**fields)


def _create(sdk: Sdk, *invoices: Invoice) -> list[Any]:
    answer = sdk.accounting.create_invoices(
        sdk.tenant_id, Invoices(invoices=list(invoices)), summarize_errors=False
    )
    return list(answer.invoices)


def _numbers(answer: Any) -> list[str]:
    return [i.invoice_number for i in answer.invoices]


def _strict_json(body: bytes) -> Any:
    """JSON as a strict parser reads it: NaN and Infinity are not JSON."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(body, parse_constant=refuse)


@pytest.fixture(name="three")
def _three(sdk: Sdk) -> list[str]:
    """Three authorised invoices for Acme, the middle one with a PO reference."""
    contact_id = _contact(sdk)
    created = _create(
        sdk,
        _invoice(contact_id, "INV-0001", "100.00"),
        _invoice(contact_id, "INV-0002", "50.00", reference="PO-7781"),
        _invoice(contact_id, "WEB-0003", "75.00", status="DRAFT"),
    )
    return [str(i.invoice_id) for i in created]


# --- identity ------------------------------------------------------------------------------


def test_sdk_refreshes_through_the_identity_endpoint(sdk: Sdk) -> None:
    """An expired token is refreshed by the SDK at the fake's token URL; the new refresh
    token is a different one (rotation), and the call goes through."""
    first_refresh = sdk.token["refresh_token"]

    organisations = sdk.accounting.get_organisations(sdk.tenant_id)

    assert "Demo Company (NZ)" == organisations.organisations[0].name
    assert 1 == len(sdk.saved)
    assert first_refresh != sdk.saved[0]["refresh_token"]


def test_get_connections(sdk: Sdk) -> None:
    """``GET /Connections`` (capital C, as the SDK sends it) lists the tenant."""
    connections = sdk.identity.get_connections()

    assert [sdk.tenant_id] == [str(c.tenant_id) for c in connections]


def test_delete_connection(sdk: Sdk) -> None:
    """``DELETE /Connections/{id}`` disconnects the tenant: it is gone from the list."""
    (connection,) = sdk.identity.get_connections()

    sdk.identity.delete_connection(str(connection.id))

    assert [] == sdk.identity.get_connections()


# --- contacts -------------------------------------------------------------------------------


def test_create_contact(sdk: Sdk) -> None:
    """``PUT /Contacts`` creates a contact and answers its ContactID."""
    contact_id = _contact(sdk, email_address="ap@acme.test")

    assert [contact_id] == [c["ContactID"] for c in sdk.xero.contacts()]


def test_get_contact_by_id(sdk: Sdk) -> None:
    """``GET /Contacts/{ContactID}`` reads it back into the SDK's Contact model."""
    contact_id = _contact(sdk, contact_number="C-1")

    (contact,) = sdk.accounting.get_contact(sdk.tenant_id, contact_id).contacts

    assert ("Acme Ltd", "C-1") == (contact.name, contact.contact_number)


def test_search_contacts(sdk: Sdk) -> None:
    """``searchTerm`` on ``GET /Contacts`` is a case-insensitive contains over the names."""
    _contact(sdk, "Acme Ltd")
    _contact(sdk, "Globex", first_name="Hank", last_name="Scorpio")

    by_name = sdk.accounting.get_contacts(sdk.tenant_id, search_term="ACME")
    by_last_name = sdk.accounting.get_contacts(sdk.tenant_id, search_term="scorp")

    assert ["Acme Ltd"] == [c.name for c in by_name.contacts]
    assert ["Globex"] == [c.name for c in by_last_name.contacts]


# --- invoices: writes -----------------------------------------------------------------------


def test_batch_with_a_bad_element_summarize_errors_false(sdk: Sdk) -> None:
    """With ``summarizeErrors=false`` the batch answers 200: the good element is stored, the
    bad one carries HasErrors and its message."""
    contact_id = _contact(sdk)
    bad_line = LineItem(description="Widget", quantity=1, unit_amount=10, account_code="999")

    good, bad = _create(
        sdk,
        _invoice(contact_id, "INV-0001"),
        _invoice(contact_id, "INV-0002", line_items=[bad_line]),
    )

    assert (False, "OK") == (good.has_errors, good.status_attribute_string)
    assert (True, "ERROR") == (bad.has_errors, bad.status_attribute_string)
    assert ["Account code '999' is not a valid code for this document."] == [
        e.message for e in bad.validation_errors
    ]
    assert ["INV-0001"] == [i["InvoiceNumber"] for i in sdk.xero.invoices()]


def test_batch_with_a_bad_element_summarized(sdk: Sdk) -> None:
    """Without it the SDK raises AccountingBadRequestException: a 400 ValidationException
    whose Elements hold only the rejected element; the good one is still stored."""
    contact_id = _contact(sdk)
    bad_line = LineItem(description="Widget", quantity=1, unit_amount=10, account_code="999")

    with pytest.raises(AccountingBadRequestException) as raised:
        sdk.accounting.create_invoices(
            sdk.tenant_id,
            Invoices(
                invoices=[
                    _invoice(contact_id, "INV-0001"),
                    _invoice(contact_id, "INV-0002", line_items=[bad_line]),
                ]
            ),
        )

    error = raised.value
    assert 400 == error.status
    assert "Account code '999' is not a valid code for this document." == error.reason
    assert ("ValidationException", ["INV-0002"]) == (
        error.error_data["Type"],
        [e["InvoiceNumber"] for e in error.error_data["Elements"]],
    )
    assert ["INV-0001"] == [i["InvoiceNumber"] for i in sdk.xero.invoices()]


def test_update_invoice(sdk: Sdk, three: list[str]) -> None:
    """``POST /Invoices/{InvoiceID}`` changes the reference of an authorised invoice."""
    changed = sdk.accounting.update_invoice(
        sdk.tenant_id,
        three[0],
        Invoices(invoices=[Invoice(invoice_id=three[0], reference="Changed")]),
    )

    assert "Changed" == changed.invoices[0].reference
    assert "AUTHORISED" == sdk.xero.invoice(three[0])["Status"]


def test_void_invoice(sdk: Sdk, three: list[str]) -> None:
    """A void is a status update; voiding it again is harmless."""
    void = Invoices(invoices=[Invoice(invoice_id=three[0], status="VOIDED")])

    first = sdk.accounting.update_invoice(sdk.tenant_id, three[0], void)
    again = sdk.accounting.update_invoice(sdk.tenant_id, three[0], void)

    assert ["VOIDED", "VOIDED"] == [first.invoices[0].status, again.invoices[0].status]


def test_huge_quantity_is_a_validation_error(sdk: Sdk) -> None:
    """A Quantity of 1e24 is answered with a 400 ValidationException naming the field."""
    contact_id = _contact(sdk)
    line = LineItem(
        description="Widget",
        quantity=Decimal("1e24"),
        unit_amount=Decimal("1"),
        account_code="200",
        tax_type="OUTPUT2",
    )

    with pytest.raises(AccountingBadRequestException) as raised:
        sdk.accounting.create_invoices(
            sdk.tenant_id, Invoices(invoices=[_invoice(contact_id, "INV-1", line_items=[line])])
        )

    assert "Quantity" in raised.value.reason
    assert [] == sdk.xero.invoices()


def test_nan_amount_is_a_validation_error(sdk: Sdk) -> None:
    """A NaN amount (the SDK writes floats as they are) is a 400 whose body is still JSON."""
    contact_id = _contact(sdk)
    line = LineItem(
        description="Widget",
        quantity=1,
        unit_amount=float("nan"),
        account_code="200",
        tax_type="OUTPUT2",
    )

    with pytest.raises(AccountingBadRequestException) as raised:
        sdk.accounting.create_invoices(
            sdk.tenant_id, Invoices(invoices=[_invoice(contact_id, "INV-1", line_items=[line])])
        )

    assert "UnitAmount" in raised.value.reason
    assert "ValidationException" == _strict_json(raised.value.body)["Type"]


# --- invoices: reads ------------------------------------------------------------------------


def test_get_invoice_by_id(sdk: Sdk, three: list[str]) -> None:
    """``GET /Invoices/{InvoiceID}`` reads one invoice with its totals."""
    (invoice,) = sdk.accounting.get_invoice(sdk.tenant_id, three[0]).invoices

    assert ("INV-0001", Decimal("115.00")) == (invoice.invoice_number, invoice.total)


def test_get_invoices_where(sdk: Sdk, three: list[str]) -> None:
    """``where=Status=="DRAFT"`` filters."""
    answer = sdk.accounting.get_invoices(sdk.tenant_id, where='Status=="DRAFT"')

    assert ["WEB-0003"] == _numbers(answer)


def test_get_invoices_where_contains(sdk: Sdk, three: list[str]) -> None:
    """``where=Reference.Contains("PO")`` filters (the form pyxero and Xero's docs use)."""
    answer = sdk.accounting.get_invoices(sdk.tenant_id, where='Reference.Contains("PO")')

    assert ["INV-0002"] == _numbers(answer)


def test_get_invoices_where_starts_with(sdk: Sdk, three: list[str]) -> None:
    """``InvoiceNumber.StartsWith("INV")`` filters."""
    answer = sdk.accounting.get_invoices(
        sdk.tenant_id, where='InvoiceNumber.StartsWith("INV")', order="InvoiceNumber"
    )

    assert ["INV-0001", "INV-0002"] == _numbers(answer)


def test_get_invoices_order(sdk: Sdk, three: list[str]) -> None:
    """``order=InvoiceNumber DESC`` sorts."""
    answer = sdk.accounting.get_invoices(sdk.tenant_id, order="InvoiceNumber DESC")

    assert ["WEB-0003", "INV-0002", "INV-0001"] == _numbers(answer)


def test_get_invoices_order_by_two_fields(sdk: Sdk, three: list[str]) -> None:
    """``order=Status ASC,InvoiceNumber DESC`` sorts by the first, then the second."""
    answer = sdk.accounting.get_invoices(sdk.tenant_id, order="Status ASC,InvoiceNumber DESC")

    assert ["INV-0002", "INV-0001", "WEB-0003"] == _numbers(answer)


def test_get_invoices_by_ids(sdk: Sdk, three: list[str]) -> None:
    """``IDs=`` (the SDK joins the list with commas) picks those invoices."""
    answer = sdk.accounting.get_invoices(sdk.tenant_id, i_ds=[three[2], three[0]])

    assert {"INV-0001", "WEB-0003"} == set(_numbers(answer))


def test_get_invoices_by_dashless_ids(sdk: Sdk, three: list[str]) -> None:
    """``IDs=`` in 32 hex digits, upper case, finds them too (Xero reads any GUID form)."""
    dashless = three[1].replace("-", "").upper()

    answer = sdk.accounting.get_invoices(sdk.tenant_id, i_ds=[dashless])

    assert ["INV-0002"] == _numbers(answer)


def test_get_invoices_search_term(sdk: Sdk, three: list[str]) -> None:
    """``searchTerm`` matches InvoiceNumber or Reference, case-insensitively."""
    by_number = sdk.accounting.get_invoices(sdk.tenant_id, search_term="web")
    by_reference = sdk.accounting.get_invoices(sdk.tenant_id, search_term="po-77")

    assert ["WEB-0003"] == _numbers(by_number)
    assert ["INV-0002"] == _numbers(by_reference)


def test_get_invoices_statuses_and_numbers(sdk: Sdk, three: list[str]) -> None:
    """``Statuses=`` and ``InvoiceNumbers=`` filter."""
    by_status = sdk.accounting.get_invoices(sdk.tenant_id, statuses=["DRAFT"])
    by_number = sdk.accounting.get_invoices(sdk.tenant_id, invoice_numbers=["INV-0002"])

    assert (["WEB-0003"], ["INV-0002"]) == (_numbers(by_status), _numbers(by_number))


def test_get_invoices_if_modified_since(sdk: Sdk, three: list[str]) -> None:
    """The SDK's ``if_modified_since`` (a datetime) returns only what changed since."""
    sdk.xero.clock.advance(60)
    since = sdk.xero.clock.now()
    sdk.accounting.update_invoice(
        sdk.tenant_id, three[1], Invoices(invoices=[Invoice(reference="PO-7782")])
    )

    answer = sdk.accounting.get_invoices(sdk.tenant_id, if_modified_since=since)

    assert ["INV-0002"] == _numbers(answer)


def test_get_invoices_page(sdk: Sdk, three: list[str]) -> None:
    """``page`` and ``pageSize`` page the list, with line items and ``pagination``."""
    answer = sdk.accounting.get_invoices(sdk.tenant_id, page=2, page_size=2)

    assert ["WEB-0003"] == _numbers(answer)
    assert (2, 2, 2, 3) == (
        answer.pagination.page,
        answer.pagination.page_size,
        answer.pagination.page_count,
        answer.pagination.item_count,
    )
    assert ["Widget"] == [line.description for line in answer.invoices[0].line_items]


def test_get_invoices_created_by_my_app(sdk: Sdk, three: list[str]) -> None:
    """``createdByMyApp=True`` (the SDK writes Python's ``True``) is understood."""
    answer = sdk.accounting.get_invoices(sdk.tenant_id, created_by_my_app=True)

    assert 3 == len(answer.invoices)


# --- payments -------------------------------------------------------------------------------


def _pay(sdk: Sdk, invoice_id: str, amount: str) -> Any:
    payment = Payment(
        invoice=Invoice(invoice_id=invoice_id),
        account=Account(code="090"),
        amount=Decimal(amount),
        date=date(2026, 1, 20),
    )
    return sdk.accounting.create_payments(
        sdk.tenant_id, Payments(payments=[payment]), summarize_errors=False
    ).payments[0]


def test_create_payment(sdk: Sdk, three: list[str]) -> None:
    """``PUT /Payments`` pays an invoice in full: it becomes PAID."""
    payment = _pay(sdk, three[0], "115.00")

    assert (False, Decimal("115.00")) == (payment.has_validation_errors, payment.amount)
    assert "PAID" == sdk.xero.invoice(three[0])["Status"]


def test_get_payments_where(sdk: Sdk, three: list[str]) -> None:
    """``GET /Payments`` with ``where`` on the invoice finds the payment."""
    _pay(sdk, three[0], "15.00")

    answer = sdk.accounting.get_payments(
        sdk.tenant_id, where=f'Invoice.InvoiceID==Guid("{three[0]}")'
    )

    assert [Decimal("15.00")] == [p.amount for p in answer.payments]


def test_reverse_payment(sdk: Sdk, three: list[str]) -> None:
    """``POST /Payments/{PaymentID}`` with Status DELETED reverses it: the invoice is due."""
    payment = _pay(sdk, three[0], "115.00")

    deleted = sdk.accounting.delete_payment(
        sdk.tenant_id, str(payment.payment_id), PaymentDelete(status="DELETED")
    )

    assert "DELETED" == deleted.payments[0].status
    assert ("AUTHORISED", Decimal("115.00")) == (
        sdk.xero.invoice(three[0])["Status"],
        sdk.xero.invoice(three[0])["AmountDue"],
    )


def test_tiny_payment_is_refused(sdk: Sdk, three: list[str]) -> None:
    """A payment of 0.001 rounds to nothing: refused, not stored as 0.00."""
    payment = _pay(sdk, three[0], "0.001")

    assert payment.has_validation_errors
    assert [] == sdk.xero.payments()


# --- errors ---------------------------------------------------------------------------------


def test_unknown_invoice_is_not_found(sdk: Sdk) -> None:
    """An unknown InvoiceID raises the SDK's NotFoundException."""
    with pytest.raises(NotFoundException) as raised:
        sdk.accounting.get_invoice(sdk.tenant_id, "00000000-0000-0000-0000-000000000000")

    assert 404 == raised.value.status


def test_unreadable_where_is_a_bad_request(sdk: Sdk) -> None:
    """A ``where`` the fake cannot read is a 400 the SDK raises, never an unfiltered list."""
    with pytest.raises(AccountingBadRequestException) as raised:
        sdk.accounting.get_invoices(sdk.tenant_id, where="Total.Round(2) == 1")

    assert 400 == raised.value.status


def test_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over the minute limit the SDK raises RateLimitException carrying Xero's headers, after
    urllib3 (under the SDK) has waited out ``Retry-After`` three times."""
    waits: list[float | None] = []
    monkeypatch.setattr(
        Retry,
        "sleep_for_retry",
        lambda self, response: waits.append(self.get_retry_after(response)) or True,
    )
    xero = FakeXero(seed=11, minute_limit=2)
    with _served(xero, monkeypatch) as sdk:
        sdk.accounting.get_organisations(sdk.tenant_id)
        sdk.accounting.get_organisations(sdk.tenant_id)

        with pytest.raises(RateLimitException) as raised:
            sdk.accounting.get_organisations(sdk.tenant_id)

    assert "minute" == raised.value.rate_limit
    assert "60" == raised.value.headers["Retry-After"]
    assert [60, 60, 60] == waits


def test_rate_limit_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the wait urllib3 takes for ``Retry-After`` passes on the fake's clock too, the
    retried call goes through: the window the fake reported really did reset then."""
    xero = FakeXero(seed=11, minute_limit=1)

    def wait(self: Retry, response: Any) -> bool:
        xero.clock.advance(self.get_retry_after(response) or 0)
        return True

    monkeypatch.setattr(Retry, "sleep_for_retry", wait)
    with _served(xero, monkeypatch) as sdk:
        sdk.accounting.get_organisations(sdk.tenant_id)
        answer = sdk.accounting.get_organisations(sdk.tenant_id)

    assert 1 == len(answer.organisations)
    assert [200, 429, 200] == [r.status for r in xero.requests if r.api == "accounting"]


def test_idempotency_key_replays(sdk: Sdk) -> None:
    """The SDK's ``idempotency_key``: a resend answers the first answer and stores nothing."""
    contact_id = _contact(sdk)
    batch = Invoices(invoices=[_invoice(contact_id, "INV-0001")])

    first = sdk.accounting.create_invoices(sdk.tenant_id, batch, idempotency_key="push-1")
    again = sdk.accounting.create_invoices(sdk.tenant_id, batch, idempotency_key="push-1")

    assert first.invoices[0].invoice_id == again.invoices[0].invoice_id
    assert 1 == len(sdk.xero.invoices())
    assert [False, True] == [r.replayed for r in sdk.xero.requests if r.method == "PUT"][-2:]


def test_idempotency_key_with_another_request(sdk: Sdk) -> None:
    """The same key with a different body is a 400 the SDK raises."""
    contact_id = _contact(sdk)
    sdk.accounting.create_invoices(
        sdk.tenant_id, Invoices(invoices=[_invoice(contact_id, "INV-1")]), idempotency_key="k"
    )

    with pytest.raises(AccountingBadRequestException) as raised:
        sdk.accounting.create_invoices(
            sdk.tenant_id, Invoices(invoices=[_invoice(contact_id, "INV-2")]), idempotency_key="k"
        )

    assert (
        "Idempotency Key: k is used with a different request." == raised.value.error_data["Message"]
    )


def test_answers_carry_rate_headers(sdk: Sdk) -> None:
    """Every accounting answer carries the remaining-calls headers the SDK exposes."""
    _, status, headers = sdk.accounting.get_organisations(
        sdk.tenant_id, _return_http_data_only=False
    )

    assert 200 == status
    assert {"X-DayLimit-Remaining", "X-MinLimit-Remaining", "X-AppMinLimit-Remaining"} <= set(
        headers
    )


def test_dates_read_back(sdk: Sdk, three: list[str]) -> None:
    """The SDK reads the fake's ``/Date(...)/`` values into dates and datetimes."""
    (invoice,) = sdk.accounting.get_invoice(sdk.tenant_id, three[0]).invoices

    assert (date(2026, 1, 5), date(2026, 2, 5)) == (invoice.date, invoice.due_date)
    assert datetime(2026, 1, 5, 9, tzinfo=UTC) <= invoice.updated_date_utc
