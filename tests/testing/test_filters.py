"""Reading lists: searchTerm, createdByMyApp, GUIDs in any form, where methods and nulls, and
multi-field order."""

from __future__ import annotations

from typing import Any

import pytest

from bms_xero.testing import FakeXero
from tests.testing.helpers import Api, invoice


def _numbers(api: Api, **params: str) -> list[str]:
    status, body = api.call("GET", "/Invoices", params=params)
    assert 200 == status, body
    return [i["InvoiceNumber"] for i in body["Invoices"]]


def _refusal(api: Api, path: str = "/Invoices", **params: str) -> str:
    status, body = api.call("GET", path, params=params)
    assert (400, "QueryParseException") == (status, body["Type"])
    return str(body["Message"])


@pytest.fixture(name="three")
def _three(api: Api, contact_id: str) -> list[dict[str, Any]]:
    return api.create(
        invoice(contact_id, "INV-0001"),
        invoice(contact_id, "INV-0002", Reference="PO-7781"),
        invoice(contact_id, "WEB-0003", status="DRAFT"),
    )


class TestSearchTerm:
    def test_invoice_number_and_reference(self, api: Api, three: list[dict[str, Any]]) -> None:
        """``searchTerm`` is a case-insensitive contains over InvoiceNumber and Reference."""
        assert ["WEB-0003"] == _numbers(api, searchTerm="web")
        assert ["INV-0002"] == _numbers(api, searchTerm="po-77")
        assert [] == _numbers(api, searchTerm="nothing")

    def test_with_other_filters(self, api: Api, three: list[dict[str, Any]]) -> None:
        """It narrows what the other filters found."""
        assert ["INV-0002"] == _numbers(api, searchTerm="po", Statuses="AUTHORISED")

    def test_contact_fields(self, api: Api, xero: FakeXero) -> None:
        """On contacts it searches Name, FirstName, LastName, ContactNumber, CompanyNumber and
        EmailAddress."""
        api.call(
            "PUT",
            "/Contacts",
            {
                "Contacts": [
                    {"Name": "Acme", "FirstName": "Wile", "LastName": "Coyote"},
                    {
                        "Name": "Globex",
                        "CompanyNumber": "NZBN-42",
                        "EmailAddress": "ap@globex.test",
                    },
                    {"Name": "Initech", "ContactNumber": "C-99"},
                ]
            },
        )

        def names(term: str) -> list[str]:
            status, body = api.call("GET", "/Contacts", params={"searchTerm": term})
            assert 200 == status
            return [c["Name"] for c in body["Contacts"]]

        assert (["Acme"], ["Acme"], ["Globex"], ["Globex"], ["Initech"]) == (
            names("wile"),
            names("COYO"),
            names("nzbn"),
            names("@globex"),
            names("c-9"),
        )


class TestCreatedByMyApp:
    def test_invoices_the_app_created(self, api: Api, three: list[dict[str, Any]]) -> None:
        """``createdByMyApp=true`` keeps the invoices this app created (all three here), in
        any case of ``true``."""
        assert 3 == len(_numbers(api, createdByMyApp="True"))
        assert 3 == len(_numbers(api, createdByMyApp="false"))

    def test_created_by_is_the_calling_app(self, api: Api, xero: FakeXero, contact_id: str) -> None:
        """The stored invoice remembers the app (the client_id) that created it."""
        api.create(invoice(contact_id, "INV-0001"))

        (stored,) = xero._orgs[xero.tenant_id].invoices.values()
        assert xero.client_id == stored.created_by


class TestGuids:
    def test_ids_without_dashes_in_upper_case(self, api: Api, three: list[dict[str, Any]]) -> None:
        """``IDs=`` takes 32 hex digits in any case, as Xero does."""
        dashless = three[1]["InvoiceID"].replace("-", "").upper()

        assert ["INV-0002"] == _numbers(api, IDs=dashless)

    def test_path_id_without_dashes(self, api: Api, three: list[dict[str, Any]]) -> None:
        """``GET /Invoices/{id}`` finds the invoice by its dashless, upper-case id."""
        dashless = three[0]["InvoiceID"].replace("-", "").upper()

        status, body = api.call("GET", f"/Invoices/{dashless}")

        assert (200, "INV-0001") == (status, body["Invoices"][0]["InvoiceNumber"])

    def test_where_guid_without_dashes(self, api: Api, three: list[dict[str, Any]]) -> None:
        """``Guid("...")`` in ``where`` reads a dashless GUID too."""
        dashless = three[2]["InvoiceID"].replace("-", "")

        assert ["WEB-0003"] == _numbers(api, where=f'InvoiceID==Guid("{dashless}")')

    def test_contact_reference_in_upper_case(self, api: Api, contact_id: str) -> None:
        """An invoice's ContactID in upper case names the same contact."""
        (created,) = api.create(invoice(contact_id.upper(), "INV-0001"))

        assert ([], contact_id) == (
            created.get("ValidationErrors", []),
            created["Contact"]["ContactID"],
        )


class TestWhereMethods:
    def test_contains(self, api: Api, three: list[dict[str, Any]]) -> None:
        """``Reference.Contains("PO")`` filters."""
        assert ["INV-0002"] == _numbers(api, where='Reference.Contains("PO")')

    def test_starts_with_and_ends_with(self, api: Api, three: list[dict[str, Any]]) -> None:
        """``StartsWith`` and ``EndsWith`` filter, and join with AND."""
        assert ["INV-0001", "INV-0002"] == _numbers(
            api, where='InvoiceNumber.StartsWith("INV")', order="InvoiceNumber"
        )
        assert ["WEB-0003"] == _numbers(api, where='InvoiceNumber.EndsWith("3")')
        assert ["INV-0002"] == _numbers(
            api, where='InvoiceNumber.StartsWith("INV") AND InvoiceNumber.EndsWith("2")'
        )

    def test_method_names_in_lower_case(self, api: Api, three: list[dict[str, Any]]) -> None:
        """pyxero writes ``Name.contains("x")``; the method's case does not matter."""
        assert ["INV-0002"] == _numbers(api, where='Reference.contains("PO")')

    def test_text_methods_are_case_sensitive(self, api: Api, three: list[dict[str, Any]]) -> None:
        """As .NET's string methods, ``Contains`` compares case-sensitively."""
        assert [] == _numbers(api, where='Reference.Contains("po")')

    def test_method_on_a_null_field_is_a_400(self, api: Api, contact_id: str) -> None:
        """A method on a field some records lack is an error, as on Xero."""
        api.call("PUT", "/Contacts", {"Contacts": [{"Name": "No Email"}]})

        message = _refusal(api, "/Contacts", where='EmailAddress.StartsWith("ap")')

        assert "EmailAddress!=null&&" in message

    def test_null_guard_first(self, api: Api, xero: FakeXero) -> None:
        """``EmailAddress!=null&&EmailAddress.StartsWith("ap")`` skips records without one."""
        api.call(
            "PUT",
            "/Contacts",
            {"Contacts": [{"Name": "No Email"}, {"Name": "Mail", "EmailAddress": "ap@x.test"}]},
        )

        status, body = api.call(
            "GET",
            "/Contacts",
            params={"where": 'EmailAddress!=null&&EmailAddress.StartsWith("ap")'},
        )

        assert (200, ["Mail"]) == (status, [c["Name"] for c in body["Contacts"]])

    def test_equals_null(self, api: Api, three: list[dict[str, Any]]) -> None:
        """``Field == null`` matches records without the field; ``!= null`` the others."""
        assert [] == _numbers(api, where="InvoiceNumber == null")
        assert 3 == len(_numbers(api, where="InvoiceNumber != null"))

    def test_on_stored_fields(self, api: Api, three: list[dict[str, Any]]) -> None:
        """A method on a field read straight off the records (no rendering) works the same."""
        assert ["WEB-0003"] == _numbers(
            api, where='Type=="ACCREC" && InvoiceNumber.Contains("WEB")'
        )

    def test_other_methods_are_a_400(self, api: Api, three: list[dict[str, Any]]) -> None:
        """Methods the fake does not know are refused, never ignored."""
        assert "FakeXero cannot read" in _refusal(api, where='Reference.ToUpper()=="PO"')


class TestOrder:
    def test_two_fields(self, api: Api, three: list[dict[str, Any]]) -> None:
        """``order=Status ASC,InvoiceNumber DESC`` sorts by Status, then InvoiceNumber."""
        assert ["INV-0002", "INV-0001", "WEB-0003"] == _numbers(
            api, order="Status ASC,InvoiceNumber DESC"
        )

    def test_two_fields_the_other_way(self, api: Api, three: list[dict[str, Any]]) -> None:
        """``order=Status DESC, InvoiceNumber`` (no direction: ascending)."""
        assert ["WEB-0003", "INV-0001", "INV-0002"] == _numbers(
            api, order="Status DESC, InvoiceNumber"
        )

    def test_dates_sort_by_instant(self, api: Api, contact_id: str) -> None:
        """``/Date(...)/`` values sort by when, not as text (9 digits before 10)."""
        from datetime import date

        api.create(
            invoice(contact_id, "LATE", issued=date(2026, 1, 5)),
            invoice(contact_id, "EARLY", issued=date(1970, 1, 2)),
        )

        assert ["EARLY", "LATE"] == _numbers(api, order="Date")

    def test_bad_part_names_it(self, api: Api, three: list[dict[str, Any]]) -> None:
        """A part that is not ``Field [ASC|DESC]`` is a 400 naming it."""
        assert "'Total SIDEWAYS'" in _refusal(api, order="Status, Total SIDEWAYS")


def test_ordering_against_null_is_a_400(api: Api, three: list[dict[str, Any]]) -> None:
    """``Total > null`` compares nothing: a 400, not an empty or full list."""
    assert "use == null or != null" in _refusal(api, where="Total > null")


def test_a_long_run_of_spaces_in_where_is_answered_at_once() -> None:
    """A where clause with 16,000 spaces is refused (or read) in well under a second: no
    quadratic rescan of whitespace can tie up the fake's thread."""
    import time

    from bms_xero.testing._query import QueryError, Where

    start = time.monotonic()
    with pytest.raises(QueryError):
        Where("A==x" + " " * 16_000 + "y ")
    assert time.monotonic() - start < 0.5
