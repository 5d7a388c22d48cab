"""Writes in XML, as pyxero sends them: read into the same shape as JSON, answered in JSON."""

from __future__ import annotations

import urllib.parse
from decimal import Decimal
from typing import Any

import httpx

from bms_xero.mapping.wire import decode_json
from bms_xero.testing import FakeXero
from tests.spec import validate
from tests.testing.helpers import API, Api, invoice

INVOICES = b"""<?xml version="1.0" encoding="utf-8"?>
<Invoices>
  <Invoice>
    <Type>ACCREC</Type>
    <Contact><ContactID>{contact}</ContactID></Contact>
    <InvoiceNumber>INV-X1</InvoiceNumber>
    <Date>2026-01-05T00:00:00</Date>
    <DueDate>2026-02-05T00:00:00</DueDate>
    <Status>AUTHORISED</Status>
    <LineAmountTypes>Exclusive</LineAmountTypes>
    <SentToContact>false</SentToContact>
    <LineItems>
      <LineItem>
        <Description>Widget</Description>
        <Quantity>3</Quantity>
        <UnitAmount>10.03</UnitAmount>
        <AccountCode>200</AccountCode>
        <TaxType>OUTPUT2</TaxType>
        <Tracking>
          <TrackingCategory><Name>Region</Name><Option>North</Option></TrackingCategory>
        </Tracking>
      </LineItem>
    </LineItems>
  </Invoice>
</Invoices>
"""


def _send(
    api: Api,
    method: str,
    path: str,
    body: bytes,
    *,
    content_type: str | None = "application/xml",
    params: dict[str, str] | None = None,
) -> httpx.Response:
    headers = {"Accept": "application/json"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return api.http.request(
        method, API + path, content=body, params=params, headers=api.headers(headers)
    )


def _xml(template: bytes, **values: str) -> bytes:
    return template.replace(b"{contact}", values.get("contact", "").encode())


def test_xml_invoices_are_created(api: Api, contact_id: str) -> None:
    """``<Invoices><Invoice>...`` creates the invoice, with Xero's totals, answered in JSON."""
    answer = _send(api, "PUT", "/Invoices", _xml(INVOICES, contact=contact_id))

    assert 200 == answer.status_code
    assert answer.headers["content-type"].startswith("application/json")
    body = decode_json(answer.content)
    validate(body, "Invoices")
    (created,) = body["Invoices"]
    assert ("INV-X1", Decimal("34.60"), "AUTHORISED", False) == (
        created["InvoiceNumber"],
        created["Total"],
        created["Status"],
        created["SentToContact"],
    )
    assert [{"Name": "Region", "Option": "North"}] == created["LineItems"][0]["Tracking"]


def test_xml_reads_as_the_json_does(api: Api, xero: FakeXero, contact_id: str) -> None:
    """The same invoice in XML and in JSON is stored the same."""
    _send(api, "PUT", "/Invoices", _xml(INVOICES, contact=contact_id))
    as_json = invoice(
        contact_id,
        "INV-J1",
        {
            "Description": "Widget",
            "Quantity": Decimal("3"),
            "UnitAmount": Decimal("10.03"),
            "AccountCode": "200",
            "TaxType": "OUTPUT2",
            "Tracking": [{"Name": "Region", "Option": "North"}],
        },
    )
    api.create(as_json)

    from_xml, from_json = xero.invoices()
    ignored = ("InvoiceID", "InvoiceNumber", "UpdatedDateUTC", "LineItems")
    assert {k: v for k, v in from_xml.items() if k not in ignored} == {
        k: v for k, v in from_json.items() if k not in ignored
    }
    strip = [{k: v for k, v in line.items() if k != "LineItemID"} for line in from_xml["LineItems"]]
    assert strip == [
        {k: v for k, v in line.items() if k != "LineItemID"} for line in from_json["LineItems"]
    ]


def test_text_xml_and_a_body_starting_with_a_tag(api: Api, contact_id: str) -> None:
    """``text/xml`` is XML, and so is a body starting with ``<`` whatever its type says."""
    body = _xml(INVOICES, contact=contact_id)

    first = _send(api, "PUT", "/Invoices", body, content_type="text/xml; charset=utf-8")
    second = _send(api, "PUT", "/Invoices", body.replace(b"INV-X1", b"INV-X2"), content_type=None)

    assert (200, 200) == (first.status_code, second.status_code)


def test_one_invoice_as_the_root(api: Api, contact_id: str) -> None:
    """A single ``<Invoice>`` root is one element, as pyxero sends a single save."""
    one = (
        b"<Invoice><Type>ACCREC</Type><Contact><ContactID>"
        + contact_id.encode()
        + b"</ContactID></Contact><Status>DRAFT</Status><LineItems><LineItem>"
        b"<Description>Consulting</Description></LineItem></LineItems></Invoice>"
    )

    answer = _send(api, "PUT", "/Invoices", one)

    assert "DRAFT" == decode_json(answer.content)["Invoices"][0]["Status"]


def test_form_encoded_xml(api: Api, contact_id: str) -> None:
    """Older pyxero posts ``xml=<Invoices>...`` form-encoded; that is XML too."""
    body = urllib.parse.urlencode({"xml": _xml(INVOICES, contact=contact_id).decode()}).encode()

    answer = _send(api, "PUT", "/Invoices", body, content_type="application/x-www-form-urlencoded")

    assert "INV-X1" == decode_json(answer.content)["Invoices"][0]["InvoiceNumber"]


def test_summarized_errors_in_xml(api: Api, contact_id: str) -> None:
    """A bad XML element is answered as a bad JSON one: a 400 echoing it."""
    bad = _xml(INVOICES, contact=contact_id).replace(b"<AccountCode>200", b"<AccountCode>999")

    answer = _send(api, "PUT", "/Invoices", bad)

    body = decode_json(answer.content)
    assert (400, "ValidationException") == (answer.status_code, body["Type"])
    assert ["Account code '999' is not a valid code for this document."] == [
        e["Message"] for e in body["Elements"][0]["ValidationErrors"]
    ]


def test_per_element_errors_in_xml(api: Api, contact_id: str) -> None:
    """With ``summarizeErrors=false`` an XML batch answers 200 per element."""
    answer = _send(
        api,
        "PUT",
        "/Invoices",
        _xml(INVOICES, contact=contact_id),
        params={"summarizeErrors": "false"},
    )

    assert (200, False) == (answer.status_code, answer.json()["Invoices"][0]["HasErrors"])


def test_xml_contacts(api: Api, xero: FakeXero) -> None:
    """``<Contacts><Contact>`` creates contacts."""
    answer = _send(
        api,
        "PUT",
        "/Contacts",
        b"<Contacts><Contact><Name>Acme</Name><EmailAddress>ap@acme.test</EmailAddress>"
        b"</Contact><Contact><Name>Globex</Name></Contact></Contacts>",
    )

    assert 200 == answer.status_code
    assert ["Acme", "Globex"] == [c["Name"] for c in xero.contacts()]


def _authorised(api: Api, contact_id: str) -> dict[str, Any]:
    (created,) = api.create(invoice(contact_id, "INV-0001"))
    return created


def test_xml_payments_and_their_reversal(api: Api, xero: FakeXero, contact_id: str) -> None:
    """``<Payments><Payment>`` pays; ``<Payment><Status>DELETED</Status></Payment>`` (how
    pyxero deletes) reverses it."""
    created = _authorised(api, contact_id)
    pay = (
        "<Payments><Payment><Invoice><InvoiceID>{id}</InvoiceID></Invoice>"
        "<Account><Code>090</Code></Account><Date>2026-01-20T00:00:00</Date>"
        "<Amount>115.00</Amount></Payment></Payments>"
    ).format(id=created["InvoiceID"])

    paid = _send(api, "PUT", "/Payments", pay.encode())
    payment_id = paid.json()["Payments"][0]["PaymentID"]
    reversed_ = _send(
        api, "POST", f"/Payments/{payment_id}", b"<Payment><Status>DELETED</Status></Payment>"
    )

    assert (200, 200) == (paid.status_code, reversed_.status_code)
    assert ["DELETED"] == [p["Status"] for p in xero.payments()]


def test_xml_allocation_with_applied_amount(api: Api, xero: FakeXero, contact_id: str) -> None:
    """pyxero's ``<Allocation>`` carries ``AppliedAmount``; it is the allocation's Amount."""
    created = _authorised(api, contact_id)
    prepayment_id = xero.prepay(contact_id, Decimal("50.00"))
    body = (
        "<Allocation><Invoice><InvoiceID>{id}</InvoiceID></Invoice>"
        "<AppliedAmount>20.00</AppliedAmount><Date>2026-01-06T00:00:00</Date></Allocation>"
    ).format(id=created["InvoiceID"])

    answer = _send(api, "PUT", f"/Prepayments/{prepayment_id}/Allocations", body.encode())

    assert 200 == answer.status_code
    assert Decimal("20.00") == xero.invoice(created["InvoiceID"])["AmountCredited"]


def test_doctype_is_refused(api: Api, xero: FakeXero) -> None:
    """A DOCTYPE (which could declare expanding entities) is a 400; nothing is parsed."""
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><Contacts><Contact><Name>&lol2;</Name>'
        b"</Contact></Contacts>"
    )

    answer = _send(api, "PUT", "/Contacts", bomb)

    assert (400, "PostDataInvalidException") == (answer.status_code, answer.json()["Type"])
    assert "DOCTYPE" in answer.json()["Message"]
    assert [] == xero.contacts()


def test_malformed_xml_is_a_400(api: Api) -> None:
    """XML that does not parse is a 400 saying so."""
    answer = _send(api, "PUT", "/Contacts", b"<Contacts><Contact><Name>Acme</Contacts>")

    assert 400 == answer.status_code
    assert "not valid XML" in answer.json()["Message"]


def test_wrong_root_is_a_400(api: Api) -> None:
    """``<Contacts>`` sent to ``/Invoices`` is a 400 naming the root expected."""
    answer = _send(
        api, "PUT", "/Invoices", b"<Contacts><Contact><Name>A</Name></Contact></Contacts>"
    )

    assert 400 == answer.status_code
    assert "<Invoices>" in answer.json()["Message"]


def test_too_deep_xml_is_a_400(api: Api) -> None:
    """Nesting deeper than any Xero record is refused, not recursed into."""
    deep = b"<Contacts><Contact>" + b"<A>" * 100 + b"x" + b"</A>" * 100 + b"</Contact></Contacts>"

    answer = _send(api, "PUT", "/Contacts", deep)

    assert 400 == answer.status_code
    assert "nested more than" in answer.json()["Message"]


def test_a_doctype_in_utf16_is_refused_too(api: Api, xero: FakeXero) -> None:
    """A body in another encoding can't hide a DOCTYPE from the check: XML is read in
    UTF-8 only, whatever a byte-order mark or the declaration says."""
    doc = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b '
        '"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Contacts><Contact><Name>&b;</Name></Contact>'
        "</Contacts>"
    )
    for body in (doc.encode("utf-16"), doc.encode("utf-16-le")):
        answer = _send(api, "PUT", "/Contacts", body)
        assert 400 == answer.status_code
    declared = doc.replace('version="1.0"', 'version="1.0" encoding="cp037"').encode()
    assert 400 == _send(api, "PUT", "/Contacts", declared).status_code
    assert [] == xero.contacts()


def test_xml_without_elements_is_a_400_saying_so(api: Api) -> None:
    """An empty <Contact/> or a root holding only text is refused, not read as nothing."""
    empty = _send(api, "PUT", "/Contacts", b"<Contact/>")
    text = _send(api, "PUT", "/Contacts", b"<Contacts>text</Contacts>")
    assert (400, 400) == (empty.status_code, text.status_code)
    assert "an empty <Contact>" in empty.json()["Message"]
