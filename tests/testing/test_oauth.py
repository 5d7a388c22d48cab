"""Identity: the token endpoint, access tokens, refresh-token rotation, tenants and connections."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from bms_xero.testing import FakeXero
from tests.testing.helpers import API, CONNECTIONS_URL, TOKEN_URL, Api, check, token


@pytest.fixture(name="http")
def _http(xero: FakeXero) -> httpx.Client:
    return httpx.Client(transport=xero.transport)


def _grant(http: httpx.Client, xero: FakeXero, **form: str) -> httpx.Response:
    return http.post(TOKEN_URL, data=form, auth=(xero.client_id, xero.client_secret))


def _organisation(http: httpx.Client, access_token: str, tenant_id: str) -> httpx.Response:
    response = http.get(
        f"{API}/Organisation",
        headers={"Authorization": f"Bearer {access_token}", "xero-tenant-id": tenant_id},
    )
    check(response)
    return response


def test_client_credentials_issue_a_bearer_token(http: httpx.Client, xero: FakeXero) -> None:
    """The custom-connection grant returns a 30-minute Bearer token and no refresh token."""
    body = _grant(http, xero, grant_type="client_credentials").json()

    assert ("Bearer", 1800, False) == (
        body["token_type"],
        body["expires_in"],
        "refresh_token" in body,
    )


def test_access_tokens_are_jwt_shaped(http: httpx.Client, xero: FakeXero) -> None:
    """Access tokens are JWTs whose exp is the clock's time plus the lifetime."""
    access = _grant(http, xero, grant_type="client_credentials").json()["access_token"]

    payload = access.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert (1767603600 + 1800, xero.client_id) == (claims["exp"], claims["client_id"])


def test_client_credentials_in_the_form_are_accepted(http: httpx.Client, xero: FakeXero) -> None:
    """Client authentication may also be sent in the form."""
    response = http.post(
        TOKEN_URL,
        data={
            "grant_type": "client_credentials",
            "client_id": xero.client_id,
            "client_secret": xero.client_secret,
        },
    )

    assert 200 == response.status_code


def test_wrong_secret_is_invalid_client(http: httpx.Client, xero: FakeXero) -> None:
    """A wrong client secret gets 401 invalid_client."""
    response = http.post(
        TOKEN_URL, data={"grant_type": "client_credentials"}, auth=(xero.client_id, "wrong")
    )

    assert (401, {"error": "invalid_client"}) == (response.status_code, response.json())


def test_unknown_grant_type(http: httpx.Client, xero: FakeXero) -> None:
    """An unknown grant type gets 400 unsupported_grant_type."""
    response = _grant(http, xero, grant_type="password")

    assert (400, {"error": "unsupported_grant_type"}) == (response.status_code, response.json())


def test_api_calls_need_a_token(http: httpx.Client, xero: FakeXero) -> None:
    """A call without a token gets 401 problem JSON."""
    response = http.get(f"{API}/Organisation", headers={"xero-tenant-id": xero.tenant_id})

    body = check(response)
    assert (401, "AuthenticationUnsuccessful") == (response.status_code, body["Detail"])


def test_expired_tokens_get_token_expired(http: httpx.Client, xero: FakeXero) -> None:
    """After 30 minutes on the clock a token gets 401 TokenExpired."""
    access = token(http, xero)
    xero.clock.advance(1800)

    response = _organisation(http, access, xero.tenant_id)

    body = check(response)
    assert (401, "TokenExpired: token expired at 01/05/2026 09:30:00") == (
        response.status_code,
        body["Detail"],
    )


def test_token_lifetime_is_configurable() -> None:
    """FakeXero(token_lifetime=...) sets how long access tokens last."""
    short = FakeXero(token_lifetime=60)
    http = httpx.Client(transport=short.transport)
    access = token(http, short)
    short.clock.advance(61)

    assert 401 == _organisation(http, access, short.tenant_id).status_code


def test_tenant_header_is_required(http: httpx.Client, xero: FakeXero) -> None:
    """A call without xero-tenant-id gets 403 AuthenticationUnsuccessful."""
    response = http.get(
        f"{API}/Organisation", headers={"Authorization": f"Bearer {token(http, xero)}"}
    )

    body = check(response)
    assert (403, "AuthenticationUnsuccessful") == (response.status_code, body["Detail"])


def test_unknown_tenant_is_forbidden(http: httpx.Client, xero: FakeXero) -> None:
    """A call for a tenant the fake does not have gets 403."""
    response = _organisation(http, token(http, xero), "00000000-0000-4000-8000-000000000000")

    assert 403 == check(response)["Status"]


def test_added_tenants_are_connected(http: httpx.Client, xero: FakeXero) -> None:
    """add_tenant() connects the new organisation; the custom-connection token covers it."""
    tenant = xero.add_tenant(name="Second Ltd")

    response = _organisation(http, token(http, xero), tenant)

    assert "Second Ltd" == check(response)["Organisations"][0]["Name"]


def test_disconnected_tenants_are_forbidden(http: httpx.Client, xero: FakeXero) -> None:
    """After disconnect() calls for that tenant get 403."""
    access = token(http, xero)
    xero.disconnect(xero.tenant_id)

    assert 403 == _organisation(http, access, xero.tenant_id).status_code


def test_authorization_code_gives_a_refresh_token(http: httpx.Client, xero: FakeXero) -> None:
    """Redeeming a code from authorize() returns tokens including a refresh token."""
    code = xero.authorize()

    body = _grant(http, xero, grant_type="authorization_code", code=code).json()

    assert (True, True) == ("refresh_token" in body, "offline_access" in body["scope"])


def test_codes_are_single_use(http: httpx.Client, xero: FakeXero) -> None:
    """An authorization code works once."""
    code = xero.authorize()
    _grant(http, xero, grant_type="authorization_code", code=code)

    again = _grant(http, xero, grant_type="authorization_code", code=code)

    assert (400, {"error": "invalid_grant"}) == (again.status_code, again.json())


def test_codes_cover_only_the_chosen_tenants(http: httpx.Client, xero: FakeXero) -> None:
    """A token from a code for one organisation gets 403 for another."""
    other = xero.add_tenant(name="Other Ltd")
    code = xero.authorize([xero.tenant_id])
    access = _grant(http, xero, grant_type="authorization_code", code=code).json()["access_token"]

    statuses = [_organisation(http, access, t).status_code for t in (xero.tenant_id, other)]

    assert [200, 403] == statuses


def _refreshable(http: httpx.Client, xero: FakeXero) -> str:
    code = xero.authorize()
    return str(
        _grant(http, xero, grant_type="authorization_code", code=code).json()["refresh_token"]
    )


def test_refresh_tokens_rotate(http: httpx.Client, xero: FakeXero) -> None:
    """Each refresh returns a new refresh token and a working access token."""
    first = _refreshable(http, xero)

    body = _grant(http, xero, grant_type="refresh_token", refresh_token=first).json()

    assert (True, 200) == (
        body["refresh_token"] != first,
        _organisation(http, body["access_token"], xero.tenant_id).status_code,
    )


def test_used_refresh_token_works_within_the_grace_period(
    http: httpx.Client, xero: FakeXero
) -> None:
    """A refresh token used once still works for 30 minutes (in case the answer was lost)."""
    first = _refreshable(http, xero)
    _grant(http, xero, grant_type="refresh_token", refresh_token=first)
    xero.clock.advance(1799)

    again = _grant(http, xero, grant_type="refresh_token", refresh_token=first)

    assert 200 == again.status_code


def test_used_refresh_token_fails_after_the_grace_period(
    http: httpx.Client, xero: FakeXero
) -> None:
    """After the grace period a used refresh token gets invalid_grant."""
    first = _refreshable(http, xero)
    _grant(http, xero, grant_type="refresh_token", refresh_token=first)
    xero.clock.advance(1800)

    again = _grant(http, xero, grant_type="refresh_token", refresh_token=first)

    assert (400, {"error": "invalid_grant"}) == (again.status_code, again.json())


def test_rotated_refresh_token_outlives_the_old_one(http: httpx.Client, xero: FakeXero) -> None:
    """The refresh token from a rotation keeps working after the old one has expired."""
    first = _refreshable(http, xero)
    second = _grant(http, xero, grant_type="refresh_token", refresh_token=first).json()
    xero.clock.advance(3600)

    third = _grant(http, xero, grant_type="refresh_token", refresh_token=second["refresh_token"])

    assert 200 == third.status_code


def test_unknown_refresh_token_is_invalid_grant(http: httpx.Client, xero: FakeXero) -> None:
    """A refresh token the fake never issued gets invalid_grant."""
    response = _grant(http, xero, grant_type="refresh_token", refresh_token="nope")

    assert (400, {"error": "invalid_grant"}) == (response.status_code, response.json())


def test_connections_list_the_tokens_tenants(http: httpx.Client, xero: FakeXero) -> None:
    """GET /connections lists each organisation the token can reach."""
    other = xero.add_tenant(name="Other Ltd")

    response = http.get(CONNECTIONS_URL, headers={"Authorization": f"Bearer {token(http, xero)}"})

    expected = [
        (xero.tenant_id, "ORGANISATION", "Demo Company (NZ)"),
        (other, "ORGANISATION", "Other Ltd"),
    ]
    assert expected == [(c["tenantId"], c["tenantType"], c["tenantName"]) for c in response.json()]


def test_connections_filter_by_auth_event(http: httpx.Client, xero: FakeXero) -> None:
    """?authEventId= narrows the list to one authorization's organisations."""
    other = xero.add_tenant(name="Other Ltd")
    code = xero.authorize([other])
    access = _grant(http, xero, grant_type="authorization_code", code=code).json()["access_token"]
    event = json.loads(base64.urlsafe_b64decode(access.split(".")[1] + "=="))[
        "authentication_event_id"
    ]

    response = http.get(
        CONNECTIONS_URL,
        params={"authEventId": event},
        headers={"Authorization": f"Bearer {token(http, xero)}"},
    )

    assert [other] == [c["tenantId"] for c in response.json()]


def test_deleting_a_connection_disconnects(http: httpx.Client, xero: FakeXero) -> None:
    """DELETE /connections/{id} disconnects the organisation."""
    access = token(http, xero)
    headers = {"Authorization": f"Bearer {access}"}
    [connection] = http.get(CONNECTIONS_URL, headers=headers).json()

    deleted = http.delete(f"{CONNECTIONS_URL}/{connection['id']}", headers=headers)

    assert (204, 403) == (
        deleted.status_code,
        _organisation(http, access, xero.tenant_id).status_code,
    )


def test_request_log_redacts_authorization(api: Api, xero: FakeXero) -> None:
    """The request log never holds a token or client secret."""
    api.call("GET", "/Organisation")

    logged = [r.headers.get("authorization") for r in xero.requests]
    assert ["[redacted]", "[redacted]"] == logged


def test_repr_shows_no_secret(xero: FakeXero) -> None:
    """The fake's repr does not contain its client secret."""
    assert xero.client_secret not in repr(xero) + repr(xero.transport)


def test_seeded_fakes_are_identical() -> None:
    """Two fakes with the same seed have the same tenant id and credentials."""
    a, b = FakeXero(seed=42), FakeXero(seed=42)

    assert (a.tenant_id, a.client_id, a.client_secret) == (
        b.tenant_id,
        b.client_id,
        b.client_secret,
    )


def test_unseeded_fakes_differ() -> None:
    """Without a seed every fake gets its own ids."""
    assert FakeXero().tenant_id != FakeXero().tenant_id


def test_other_hosts_are_unreachable(http: httpx.Client) -> None:
    """The transport serves only Xero's hosts; anything else is a connection error."""
    with pytest.raises(httpx.ConnectError):
        http.get("https://example.com/")


def test_revoked_refresh_tokens_stop_working(http: httpx.Client, xero: FakeXero) -> None:
    """A refresh token revoked at /connect/revocation gets invalid_grant."""
    refresh = _refreshable(http, xero)
    revoked = http.post(
        "https://identity.xero.com/connect/revocation",
        data={"token": refresh},
        auth=(xero.client_id, xero.client_secret),
    )

    again = _grant(http, xero, grant_type="refresh_token", refresh_token=refresh)

    assert (200, 400) == (revoked.status_code, again.status_code)
