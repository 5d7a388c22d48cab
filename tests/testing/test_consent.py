"""The consent step, PKCE and public clients, id_tokens, revocation and scopes in FakeXero."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from bms_xero.clock import SystemClock
from bms_xero.testing import FakeServer, FakeXero, serve
from tests.testing.helpers import API, CONNECTIONS_URL, TOKEN_URL

AUTHORIZE = "https://login.xero.com/identity/connect/authorize"
REVOKE = "https://identity.xero.com/connect/revocation"
REDIRECT = "http://localhost:8765/callback?keep=1"
VERIFIER = "v" * 50


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


@pytest.fixture(name="http")
def _http(xero: FakeXero) -> Iterator[httpx.Client]:
    with httpx.Client(transport=xero.transport) as http:
        yield http


def _link(xero: FakeXero, **changes: str | None) -> str:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": xero.client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid offline_access accounting.invoices accounting.settings.read",
        "state": "st-1",
        "code_challenge": _challenge(VERIFIER),
        "code_challenge_method": "S256",
    }
    params.update(changes)
    return f"{AUTHORIZE}?{urlencode({k: v for k, v in params.items() if v is not None})}"


def _back(answer: httpx.Response) -> dict[str, str]:
    """The parameters of the redirect back to the app."""
    assert 302 == answer.status_code
    location = answer.headers["location"]
    assert location.startswith("http://localhost:8765/callback?keep=1&")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _redeem(http: httpx.Client, xero: FakeXero, code: str, **form: str) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    data.update(form)
    return http.post(TOKEN_URL, data=data, auth=(xero.client_id, xero.client_secret))


class TestConsent:
    def test_an_http_client_is_redirected_back_with_a_code(
        self, http: httpx.Client, xero: FakeXero
    ) -> None:
        """Without a browser the consent approves at once: 302 to the redirect URI (its own
        query kept) with code, scope and the state."""
        back = _back(http.get(_link(xero)))

        assert ("1", "st-1", True) == (back["keep"], back["state"], len(back["code"]) >= 16)

    def test_the_code_gives_tokens_with_an_id_token(
        self, http: httpx.Client, xero: FakeXero
    ) -> None:
        """The code, the redirect URI and the verifier give tokens; the id_token names the
        authorisation (authEventId), as /connections does for each organisation."""
        code = _back(http.get(_link(xero)))["code"]

        body = _redeem(http, xero, code, code_verifier=VERIFIER).json()
        event = _claims(body["id_token"])["authEventId"]
        listed = http.get(
            CONNECTIONS_URL, headers={"Authorization": f"Bearer {body['access_token']}"}
        ).json()

        assert ({event}, xero.client_id) == (
            {c["authEventId"] for c in listed},
            _claims(body["id_token"])["aud"],
        )
        assert event == _claims(body["access_token"])["authentication_event_id"]

    @pytest.mark.parametrize(
        "change",
        [
            {"code_verifier": "w" * 50},
            {"code_verifier": None},
            {"redirect_uri": "http://localhost:8765/other"},
        ],
    )
    def test_a_code_is_bound_to_its_verifier_and_redirect(
        self, http: httpx.Client, xero: FakeXero, change: dict[str, str | None]
    ) -> None:
        """Another verifier, none, or another redirect URI: invalid_grant, and the code is
        spent."""
        code = _back(http.get(_link(xero)))["code"]
        form = {"code_verifier": VERIFIER, **change}

        refused = _redeem(http, xero, code, **{k: v for k, v in form.items() if v is not None})
        again = _redeem(http, xero, code, code_verifier=VERIFIER)

        assert (400, "invalid_grant", 400) == (
            refused.status_code,
            refused.json()["error"],
            again.status_code,
        )

    def test_a_browser_gets_a_page_and_its_form_decides(
        self, http: httpx.Client, xero: FakeXero
    ) -> None:
        """Asked for HTML, the step answers a page listing the organisations; posting Allow
        with one ticked redirects with a code for that one only."""
        second = xero.add_tenant("Second Ltd", connect=False)
        page = http.get(_link(xero), headers={"Accept": "text/html"})
        fields = dict(re.findall(r"type='hidden' name='([^']+)' value='([^']*)'", page.text))
        fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}

        posted = http.post(
            AUTHORIZE.replace("?", ""), data={**fields, "tenant": second, "decision": "allow"}
        )
        tokens = _redeem(http, xero, _back(posted)["code"], code_verifier=VERIFIER).json()
        listed = http.get(
            CONNECTIONS_URL, headers={"Authorization": f"Bearer {tokens['access_token']}"}
        ).json()

        event = _claims(tokens["access_token"])["authentication_event_id"]
        assert (200, True, True) == (
            page.status_code,
            "Second Ltd" in page.text,
            "Allow access" in page.text,
        )
        assert [second] == [c["tenantId"] for c in listed if c["authEventId"] == event]

    def test_cancel_on_the_page_is_access_denied(self, http: httpx.Client, xero: FakeXero) -> None:
        """Posting Cancel redirects with error=access_denied and the state."""
        page = http.get(_link(xero), headers={"Accept": "text/html"})
        fields = dict(re.findall(r"type='hidden' name='([^']+)' value='([^']*)'", page.text))
        fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}

        back = _back(http.post(AUTHORIZE, data={**fields, "decision": "deny"}))

        assert {"keep": "1", "error": "access_denied", "state": "st-1"} == back

    def test_a_declining_policy(self, http: httpx.Client, xero: FakeXero) -> None:
        """set_consent(approve=False) makes the step decline for HTTP clients."""
        xero.set_consent(approve=False)

        assert "access_denied" == _back(http.get(_link(xero)))["error"]

    def test_the_policy_picks_organisations(self, http: httpx.Client, xero: FakeXero) -> None:
        """set_consent(tenant_ids) connects just those organisations under the new
        authEventId; the token also covers those connected before, under their own."""
        second, third = (xero.add_tenant(n, connect=False) for n in ("Second", "Third"))
        xero.set_consent([second])
        code = _back(http.get(_link(xero)))["code"]
        access = _redeem(http, xero, code, code_verifier=VERIFIER).json()["access_token"]
        event = _claims(access)["authentication_event_id"]

        listed = http.get(CONNECTIONS_URL, headers={"Authorization": f"Bearer {access}"}).json()

        assert {xero.tenant_id: False, second: True} == {
            c["tenantId"]: c["authEventId"] == event for c in listed
        }
        assert third not in xero.connected_tenant_ids

    @pytest.mark.parametrize(
        "change",
        [{"client_id": "NOT-AN-APP"}, {"redirect_uri": "not a url"}, {"redirect_uri": None}],
    )
    def test_a_bad_client_or_redirect_is_never_redirected(
        self, http: httpx.Client, xero: FakeXero, change: dict[str, str | None]
    ) -> None:
        """An unknown client id or a bad redirect URI gets an error page, not a redirect."""
        answer = http.get(_link(xero, **change))

        assert (400, None) == (answer.status_code, answer.headers.get("location"))

    @pytest.mark.parametrize(
        ("change", "error"),
        [
            ({"response_type": "token"}, "unsupported_response_type"),
            ({"scope": ""}, "invalid_scope"),
            ({"scope": "openid <script>"}, "invalid_scope"),
            ({"code_challenge_method": "plain"}, "invalid_request"),
        ],
    )
    def test_other_problems_go_back_as_errors(
        self, http: httpx.Client, xero: FakeXero, change: dict[str, str], error: str
    ) -> None:
        """Other bad requests redirect back with the OAuth error and the state."""
        back = _back(http.get(_link(xero, **change)))

        assert (error, "st-1") == (back["error"], back["state"])


class TestPublicClient:
    def test_the_pkce_app_must_send_a_challenge(self, http: httpx.Client, xero: FakeXero) -> None:
        """The PKCE app's consent without code_challenge is invalid_request."""
        link = _link(xero, client_id=xero.pkce_client_id, code_challenge=None)

        assert "invalid_request" == _back(http.get(link))["error"]

    def test_the_pkce_app_needs_no_secret(self, http: httpx.Client, xero: FakeXero) -> None:
        """The PKCE app redeems and refreshes with its client id in the form and no secret;
        a client_credentials grant is not for it."""
        code = _back(http.get(_link(xero, client_id=xero.pkce_client_id)))["code"]
        base = {"client_id": xero.pkce_client_id}
        tokens = http.post(
            TOKEN_URL,
            data={
                **base,
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": VERIFIER,
            },
        ).json()
        refreshed = http.post(
            TOKEN_URL,
            data={
                **base,
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
            },
        )
        custom = http.post(TOKEN_URL, data={**base, "grant_type": "client_credentials"})

        assert (200, 400, "unauthorized_client") == (
            refreshed.status_code,
            custom.status_code,
            custom.json()["error"],
        )

    def test_the_web_app_still_needs_its_secret(self, http: httpx.Client, xero: FakeXero) -> None:
        """The web app's client id without its secret is invalid_client."""
        code = _back(http.get(_link(xero)))["code"]
        answer = http.post(
            TOKEN_URL,
            data={
                "client_id": xero.client_id,
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": VERIFIER,
            },
        )

        assert (401, "invalid_client") == (answer.status_code, answer.json()["error"])


class TestRevocation:
    def test_revoking_removes_the_authorisations_connections(
        self, http: httpx.Client, xero: FakeXero
    ) -> None:
        """Revoking a refresh token makes it invalid_grant and disconnects the organisations
        its authorisation connected."""
        code = _back(http.get(_link(xero)))["code"]
        tokens = _redeem(http, xero, code, code_verifier=VERIFIER).json()

        revoked = http.post(
            REVOKE,
            data={"token": tokens["refresh_token"]},
            auth=(xero.client_id, xero.client_secret),
        )
        refresh = http.post(
            TOKEN_URL,
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth=(xero.client_id, xero.client_secret),
        )

        assert (200, 400, []) == (
            revoked.status_code,
            refresh.status_code,
            xero.connected_tenant_ids,
        )

    def test_an_unknown_token_is_answered_200(self, http: httpx.Client, xero: FakeXero) -> None:
        """Revoking a token the fake never issued answers 200 and changes nothing (RFC 7009)."""
        answer = http.post(
            REVOKE, data={"token": "nope"}, auth=(xero.client_id, xero.client_secret)
        )

        assert (200, [xero.tenant_id]) == (answer.status_code, xero.connected_tenant_ids)


class TestScopes:
    def _token(self, http: httpx.Client, xero: FakeXero, scope: str) -> str:
        answer = http.post(
            TOKEN_URL,
            data={"grant_type": "client_credentials", "scope": scope},
            auth=(xero.client_id, xero.client_secret),
        )
        return str(answer.json()["access_token"])

    def _get(self, http: httpx.Client, xero: FakeXero, token: str, path: str) -> httpx.Response:
        return http.get(
            f"{API}{path}",
            headers={"Authorization": f"Bearer {token}", "xero-tenant-id": xero.tenant_id},
        )

    def test_a_call_outside_the_scope_is_authorization_unsuccessful(
        self, http: httpx.Client, xero: FakeXero
    ) -> None:
        """A token without accounting.payments(.read) reading Payments gets 401
        AuthorizationUnsuccessful; its Invoices read."""
        token = self._token(http, xero, "accounting.invoices")

        refused = self._get(http, xero, token, "/Payments")

        assert (200, 401, "AuthorizationUnsuccessful") == (
            self._get(http, xero, token, "/Invoices").status_code,
            refused.status_code,
            refused.json()["Detail"],
        )

    def test_read_scopes_do_not_write(self, http: httpx.Client, xero: FakeXero) -> None:
        """accounting.contacts.read reads contacts but can't create one."""
        token = self._token(http, xero, "accounting.contacts.read")

        created = http.put(
            f"{API}/Contacts",
            json={"Contacts": [{"Name": "Acme"}]},
            headers={"Authorization": f"Bearer {token}", "xero-tenant-id": xero.tenant_id},
        )

        assert (200, 401) == (
            self._get(http, xero, token, "/Contacts").status_code,
            created.status_code,
        )

    def test_the_legacy_scope_still_covers_invoices_and_payments(
        self, http: httpx.Client, xero: FakeXero
    ) -> None:
        """accounting.transactions reads payments and invoices, not the organisation."""
        token = self._token(http, xero, "accounting.transactions")

        assert [200, 200, 401] == [
            self._get(http, xero, token, p).status_code
            for p in ("/Payments", "/Invoices", "/Organisation")
        ]

    def test_scopes_can_be_left_unenforced(self, http: httpx.Client) -> None:
        """FakeXero(enforce_scopes=False) lets any valid token call anything."""
        lax = FakeXero(seed=3, enforce_scopes=False)
        with httpx.Client(transport=lax.transport) as client:
            token = self._token(client, lax, "accounting.invoices")

            assert 200 == self._get(client, lax, token, "/Organisation").status_code


@pytest.fixture(name="server")
def _server() -> Iterator[FakeServer]:
    with serve(FakeXero(SystemClock(), seed=5), "127.0.0.1", 0) as server:
        yield server


def test_the_server_serves_the_consent_step(server: FakeServer) -> None:
    """Over loopback the consent step redirects to the app, and its code redeems at the
    server's token endpoint."""
    xero = server.xero
    link = _link(xero).replace(AUTHORIZE, server.authorize_url)
    with httpx.Client() as http:
        back = _back(http.get(link))
        answer = http.post(
            server.token_url,
            data={
                "grant_type": "authorization_code",
                "code": back["code"],
                "redirect_uri": REDIRECT,
                "code_verifier": VERIFIER,
            },
            auth=(xero.client_id, xero.client_secret),
        )

    assert (200, True) == (answer.status_code, "id_token" in answer.json())
    assert server.revocation_url.endswith("/connect/revocation")
