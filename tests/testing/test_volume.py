"""FakeXero stays fast with many invoices (benchmarks push tens of thousands through it)."""

from __future__ import annotations

from bms_xero.testing import FakeXero
from tests.testing.conftest import furnish
from tests.testing.helpers import Api, check, invoice, line


def test_ten_thousand_invoices_in_batches_of_fifty() -> None:
    """10,000 invoices pushed 50 per request are all stored, numbered uniquely and readable."""
    xero = FakeXero(seed=3, minute_limit=10**6, day_limit=10**6)
    furnish(xero)
    contact = xero.add_contact(name="Acme Ltd")
    api = Api(xero, checked=False)  # checking 10,000 invoices against the spec takes minutes
    for batch in range(200):
        body = {
            "Invoices": [
                invoice(contact, f"INV-{batch * 50 + n:05d}", line("19.99", "3")) for n in range(50)
            ]
        }
        response = api.send("PUT", "/Invoices", body, params={"summarizeErrors": "false"})
        assert 200 == response.status_code
        if batch == 0:
            check(response)

    latest = check(
        api.send("GET", "/Invoices", params={"InvoiceNumbers": "INV-09999,INV-00000", "page": "1"})
    )
    numbers = {i["InvoiceNumber"] for i in xero.invoices()}
    assert (10_000, ["INV-00000", "INV-09999"]) == (
        len(numbers),
        sorted(i["InvoiceNumber"] for i in latest["Invoices"]),
    )
