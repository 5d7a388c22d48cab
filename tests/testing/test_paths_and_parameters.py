"""Paths in any case, and no query parameter silently ignored (501 or 400, naming it)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bms_xero.testing import FakeServer, FakeXero, serve
from tests.testing.helpers import CONNECTIONS_URL, Api, body_of, invoice


@pytest.fixture(name="server")
def _server(xero: FakeXero) -> Iterator[FakeServer]:
    with serve(xero) as server:
        yield server


def _bearer(api: Api) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.access_token}"}


class TestPathsInAnyCase:
    def test_connections_with_a_capital_c(self, api: Api, xero: FakeXero) -> None:
        """``GET /Connections``, as the official SDK sends it, lists the tenant."""
        answer = api.http.get("https://api.xero.com/Connections", headers=_bearer(api))

        assert 200 == answer.status_code
        assert [xero.tenant_id] == [c["tenantId"] for c in answer.json()]

    def test_delete_connection_with_a_capital_c(self, api: Api, xero: FakeXero) -> None:
        """``DELETE /Connections/{id}`` disconnects the organisation."""
        (connection,) = api.http.get(CONNECTIONS_URL, headers=_bearer(api)).json()

        deleted = api.http.delete(
            f"https://api.xero.com/Connections/{connection['id']}", headers=_bearer(api)
        )

        assert 204 == deleted.status_code
        assert [] == api.http.get(CONNECTIONS_URL, headers=_bearer(api)).json()

    def test_connections_over_the_server(self, server: FakeServer, xero: FakeXero) -> None:
        """The loopback server routes ``/Connections`` and ``/CONNECTIONS/{id}`` too."""
        with httpx.Client(timeout=10) as http:
            access = http.post(
                server.token_url,
                data={"grant_type": "client_credentials"},
                auth=(xero.client_id, xero.client_secret),
            ).json()["access_token"]
            bearer = {"Authorization": f"Bearer {access}"}
            listed = http.get(f"{server.url}/Connections", headers=bearer)
            deleted = http.delete(
                f"{server.url}/CONNECTIONS/{listed.json()[0]['id']}", headers=bearer
            )

        assert (200, 204) == (listed.status_code, deleted.status_code)

    def test_accounting_prefix_in_any_case(self, api: Api) -> None:
        """``/API.XRO/2.0/organisation`` is the organisation."""
        answer = api.http.get(
            "https://api.xero.com/API.XRO/2.0/organisation", headers=api.headers()
        )

        assert 200 == answer.status_code

    def test_token_endpoint_in_any_case(self, api: Api, xero: FakeXero) -> None:
        """``POST /Connect/Token`` issues a token."""
        answer = api.http.post(
            "https://identity.xero.com/Connect/Token",
            data={"grant_type": "client_credentials"},
            auth=(xero.client_id, xero.client_secret),
        )

        assert 200 == answer.status_code

    def test_request_log_keeps_the_lowercase_connections_path(
        self, api: Api, xero: FakeXero
    ) -> None:
        """The log names the connections path in lower case, however it was sent."""
        api.http.get("https://api.xero.com/Connections", headers=_bearer(api))

        assert "/connections" == xero.requests[-1].path
        assert 1 == xero.count_requests("GET", "/connections")


class TestOrganisations:
    def test_plural_is_the_organisation(self, api: Api) -> None:
        """``GET /Organisations`` (pyxero's path) answers as ``GET /Organisation`` does."""
        plural = body_of(api.send("GET", "/Organisations"))
        singular = body_of(api.send("GET", "/Organisation"))

        assert plural["Organisations"] == singular["Organisations"]


class TestUnreadParameters:
    @pytest.mark.parametrize(
        ("method", "path", "params"),
        [
            ("GET", "/Invoices", {"DateFrom": "2026-01-01"}),
            ("GET", "/Accounts", {"page": "1"}),
            ("GET", "/Payments", {"searchTerm": "x"}),
            ("GET", "/Contacts", {"Statuses": "ACTIVE"}),
            ("GET", "/Organisation", {"where": 'Name=="x"'}),
            ("GET", "/TaxRates", {"page": "2"}),
            ("GET", "/BatchPayments", {"page": "1"}),
            ("GET", "/Prepayments", {"searchTerm": "x"}),
        ],
    )
    def test_unknown_parameter_is_a_501_naming_it(
        self, api: Api, method: str, path: str, params: dict[str, str]
    ) -> None:
        """A parameter an endpoint does not read is a 501 naming it, never ignored."""
        (name,) = params
        status, body = api.call(method, path, params=params)

        assert (501, "NotImplementedException") == (status, body["Type"])
        assert repr(name) in body["Message"]

    def test_unknown_parameter_on_a_write(self, api: Api, contact_id: str) -> None:
        """A write with a parameter the fake does not read is refused and stores nothing."""
        status, body = api.call(
            "PUT",
            "/Invoices",
            {"Invoices": [invoice(contact_id, "INV-0001")]},
            params={"allowBackorders": "true"},
        )

        assert (501, []) == (status, api.xero.invoices())
        assert "'allowBackorders'" in body["Message"]

    def test_parameter_names_in_any_case(self, api: Api, contact_id: str) -> None:
        """Parameter names match in any case (``summarizeerrors``, ``PAGE``)."""
        status, _ = api.call(
            "PUT",
            "/Invoices",
            {"Invoices": [invoice(contact_id, "INV-0001")]},
            params={"summarizeerrors": "false"},
        )
        listed, _ = api.call("GET", "/Invoices", params={"PAGE": "1"})

        assert (200, 200) == (status, listed)

    def test_unknown_parameter_on_connections(self, api: Api) -> None:
        """``GET /connections`` with a filter the fake does not know is a 501."""
        answer = api.http.get(CONNECTIONS_URL, params={"tenantType": "X"}, headers=_bearer(api))

        assert 501 == answer.status_code
        assert "'tenantType'" in answer.json()["Message"]

    def test_bad_boolean_is_a_400(self, api: Api) -> None:
        """``includeArchived=maybe`` is a 400 naming it."""
        status, body = api.call("GET", "/Invoices", params={"includeArchived": "maybe"})

        assert (400, "QueryParseException") == (status, body["Type"])
        assert "includeArchived" in body["Message"]

    def test_contacts_summary_only_is_a_501(self, api: Api, contact_id: str) -> None:
        """``summaryOnly=true`` on contacts is a 501 (Xero's summary fields are unknown)."""
        status, body = api.call("GET", "/Contacts", params={"summaryOnly": "true"})
        plain, _ = api.call("GET", "/Contacts", params={"summaryOnly": "false"})

        assert (501, 200) == (status, plain)
        assert "summaryOnly" in body["Message"]


class TestAccept:
    def test_xml_only_accept_is_a_406(self, api: Api) -> None:
        """A client that accepts only XML is told the fake answers JSON only."""
        answer = api.send("GET", "/Organisation", headers={"Accept": "application/xml"})

        assert (406, "NotAcceptableException") == (answer.status_code, body_of(answer)["Type"])

    def test_json_among_others_is_answered(self, api: Api) -> None:
        """``Accept: application/xml, application/json`` gets JSON."""
        answer = api.send(
            "GET", "/Organisation", headers={"Accept": "application/xml, application/json"}
        )

        assert 200 == answer.status_code
