"""Contacts, accounts, tax rates and the organisation, over HTTP and through the helpers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bms_xero.errors import ConfigurationError
from bms_xero.testing import FakeXero
from tests.testing.helpers import Api, messages


def test_put_contacts_creates(api: Api, xero: FakeXero) -> None:
    """PUT /Contacts creates a contact with its ContactNumber."""
    status, body = api.call(
        "PUT", "/Contacts", {"Contacts": [{"Name": "Beta Ltd", "ContactNumber": "C-2"}]}
    )

    created = body["Contacts"][0]
    assert (200, "C-2", [created["ContactID"]]) == (
        status,
        created["ContactNumber"],
        [c["ContactID"] for c in xero.contacts()],
    )


def test_contact_names_are_unique(api: Api, contact_id: str) -> None:
    """A second contact with an active contact's name is rejected with Xero's message."""
    status, body = api.call(
        "PUT",
        "/Contacts",
        {"Contacts": [{"Name": "ACME LTD"}]},
        params={"summarizeErrors": "false"},
    )

    expected = [
        "The contact name ACME LTD is already assigned to another contact. The contact name "
        "must be unique across all active contacts."
    ]
    assert (200, expected) == (status, messages(body["Contacts"][0]))


def test_get_contact_by_number(api: Api, contact_id: str) -> None:
    """GET /Contacts/{ContactNumber} finds the contact by its number."""
    status, body = api.call("GET", "/Contacts/C-1")

    assert (200, contact_id) == (status, body["Contacts"][0]["ContactID"])


def test_get_contact_by_id(api: Api, contact_id: str) -> None:
    """GET /Contacts/{ContactID} returns that contact."""
    status, body = api.call("GET", f"/Contacts/{contact_id}")

    assert (200, "Acme Ltd") == (status, body["Contacts"][0]["Name"])


def test_post_contacts_matches_by_number(api: Api, xero: FakeXero, contact_id: str) -> None:
    """POST /Contacts with a known ContactNumber updates that contact."""
    status, body = api.call(
        "POST", "/Contacts", {"Contacts": [{"ContactNumber": "C-1", "Name": "Acme Limited"}]}
    )

    assert (200, contact_id, ["Acme Limited"]) == (
        status,
        body["Contacts"][0]["ContactID"],
        [c["Name"] for c in xero.contacts()],
    )


def test_archived_contacts_are_hidden_unless_asked_for(api: Api, contact_id: str) -> None:
    """Archived contacts are left out of GET /Contacts unless includeArchived=true."""
    api.call("POST", f"/Contacts/{contact_id}", {"Contacts": [{"ContactStatus": "ARCHIVED"}]})

    _, plain = api.call("GET", "/Contacts")
    _, everything = api.call("GET", "/Contacts", params={"includeArchived": "true"})

    assert (0, 1) == (len(plain["Contacts"]), len(everything["Contacts"]))


def test_contacts_if_modified_since(api: Api, xero: FakeXero, contact_id: str) -> None:
    """GET /Contacts with If-Modified-Since returns only later contacts."""
    xero.clock.advance(10)
    xero.add_contact(name="Later Ltd")

    _, body = api.call("GET", "/Contacts", headers={"If-Modified-Since": "2026-01-05T09:00:05Z"})

    assert ["Later Ltd"] == [c["Name"] for c in body["Contacts"]]


def test_add_contact_refuses_a_taken_name(xero: FakeXero, contact_id: str) -> None:
    """xero.add_contact() with a name already used raises a clear error."""
    with pytest.raises(ConfigurationError, match="already exists"):
        xero.add_contact(name="Acme Ltd")


def test_accounts_include_archived_ones(api: Api) -> None:
    """GET /Accounts lists every account, archived ones with Status ARCHIVED (and the
    Rounding system account every organisation has)."""
    status, body = api.call("GET", "/Accounts")

    found = {a["Code"]: (a["Status"], a["Class"]) for a in body["Accounts"]}
    expected = {
        "090": ("ACTIVE", "ASSET"),
        "200": ("ACTIVE", "REVENUE"),
        "210": ("ARCHIVED", "REVENUE"),
        "400": ("ACTIVE", "EXPENSE"),
        "860": ("ACTIVE", "LIABILITY"),
    }
    assert (200, expected) == (status, found)


def test_accounts_where_filter(api: Api) -> None:
    """GET /Accounts with a where clause filters accounts."""
    _, body = api.call(
        "GET", "/Accounts", params={"where": 'Status=="ACTIVE" AND Class=="REVENUE"'}
    )

    assert ["200"] == [a["Code"] for a in body["Accounts"]]


def test_rounding_account_is_a_system_account(xero: FakeXero) -> None:
    """add_account(system_account="ROUNDING") shows as SystemAccount ROUNDING."""
    xero.add_account(code="860", name="Rounding", type="CURRLIAB", system_account="ROUNDING")

    _, body = Api(xero).call("GET", "/Accounts")

    assert ["860"] == [a["Code"] for a in body["Accounts"] if a.get("SystemAccount") == "ROUNDING"]


def test_archive_account_helper(api: Api, xero: FakeXero) -> None:
    """xero.archive_account() archives an account in place."""
    xero.archive_account("200")

    _, body = api.call("GET", "/Accounts", params={"where": 'Code=="200"'})

    assert ["ARCHIVED"] == [a["Status"] for a in body["Accounts"]]


def test_add_account_refuses_unknown_types(xero: FakeXero) -> None:
    """xero.add_account() with a type Xero does not have raises a clear error."""
    with pytest.raises(ConfigurationError, match="not a Xero account type"):
        xero.add_account(code="500", name="Nope", type="INCOME")


def test_tax_rates(api: Api) -> None:
    """GET /TaxRates shows each rate's EffectiveRate, Status and CanApplyToRevenue."""
    status, body = api.call("GET", "/TaxRates")

    found = {
        r["TaxType"]: (r["EffectiveRate"], r["Status"], r["CanApplyToRevenue"])
        for r in body["TaxRates"]
    }
    expected = {
        "OUTPUT2": (Decimal("15.0000"), "ACTIVE", True),
        "INPUT2": (Decimal("15.0000"), "ACTIVE", False),
        "OLDGST": (Decimal("12.5000"), "DELETED", True),
    }
    assert (200, expected) == (status, found)


def test_add_tax_rate_refuses_floats(xero: FakeXero) -> None:
    """xero.add_tax_rate() refuses a float rate."""
    with pytest.raises(ConfigurationError, match="floats lose cents"):
        xero.add_tax_rate(tax_type="X", name="X", rate=15.0)  # type: ignore[arg-type]


def test_organisation_has_a_short_code(xero: FakeXero) -> None:
    """GET /Organisation returns the organisation with its ShortCode and base currency."""
    tenant = xero.add_tenant(name="Demo UK Ltd", short_code="!UKdem", base_currency="GBP")

    status, body = Api(xero, tenant).call("GET", "/Organisation")

    org = body["Organisations"][0]
    assert (200, "Demo UK Ltd", "!UKdem", "GBP", "UK") == (
        status,
        org["Name"],
        org["ShortCode"],
        org["BaseCurrency"],
        org["Version"],
    )


def test_generated_short_codes_look_like_xeros(api: Api) -> None:
    """Without one given, the ShortCode is a ! and five letters or digits."""
    _, body = api.call("GET", "/Organisation")

    code = body["Organisations"][0]["ShortCode"]
    assert (6, "!", True) == (len(code), code[0], code[1:].isalnum())


def test_unknown_endpoint_is_not_implemented(api: Api) -> None:
    """An endpoint the fake does not serve answers 501 saying what it serves."""
    status, body = api.call("GET", "/Quotes")

    assert (501, True) == (status, "/Invoices" in body["Message"])


def test_unsupported_method_is_405(api: Api) -> None:
    """A method a served endpoint does not take answers 405."""
    status, _ = api.call("DELETE", "/Invoices")

    assert 405 == status


def test_contacts_search_term(api: Api, xero: FakeXero, contact_id: str) -> None:
    """searchTerm finds contacts by part of their name, number or e-mail."""
    xero.add_contact(name="Beta Ltd", email="accounts@beta.example")

    _, body = api.call("GET", "/Contacts", params={"searchTerm": "BETA"})

    assert ["Beta Ltd"] == [c["Name"] for c in body["Contacts"]]


def test_get_one_account(api: Api, xero: FakeXero) -> None:
    """GET /Accounts/{AccountID} returns that account."""
    account_id = xero.add_account(code="260", name="Other Revenue")

    status, body = api.call("GET", f"/Accounts/{account_id}")

    assert (200, ["260"]) == (status, [a["Code"] for a in body["Accounts"]])


def test_tax_rates_by_tax_type(api: Api) -> None:
    """GET /TaxRates?TaxType= returns just that rate."""
    _, body = api.call("GET", "/TaxRates", params={"TaxType": "INPUT2"})

    assert ["INPUT2"] == [r["TaxType"] for r in body["TaxRates"]]
