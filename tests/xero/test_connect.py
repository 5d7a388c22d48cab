"""Connecting an app: PKCE, state, the redirect, the code exchange, scopes, disconnect, revoke."""

from __future__ import annotations

import base64
import inspect
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest

from bms_xero.clock import SystemClock
from bms_xero.errors import (
    AuthError,
    AuthorizationFailed,
    ConfigurationError,
    InsufficientScope,
    InvalidRequest,
    ReauthorizationRequired,
)
from bms_xero.storage import MemoryTokenStore
from bms_xero.testing import FakeServer, FakeXero, serve
from bms_xero.transport import HttpxTransport
from bms_xero.xero import (
    CALL_SCOPES,
    DEFAULT_SCOPES,
    AuthorizationRequest,
    Pkce,
    RefreshTokenAuth,
    RetryPolicy,
    XeroClient,
    code_challenge,
    exchange_code,
    finish_authorization,
    read_callback,
    revoke_token,
    start_authorization,
)
from bms_xero.xero._calls import build_request
from bms_xero.xero._scopes import granted_scopes, needed_scope, satisfies

REDIRECT = "http://localhost:8765/callback"


@pytest.fixture(name="xero")
def _xero() -> FakeXero[Any]:
    xero = FakeXero(seed=41)
    xero.add_tenant("Second Ltd", connect=False)
    return xero


@pytest.fixture(name="http")
def _http(xero: FakeXero[Any]) -> Iterator[httpx.Client]:
    with httpx.Client(transport=xero.transport) as http:
        yield http


def _consent(http: httpx.Client, request: AuthorizationRequest) -> str:
    """The browser step: follow the authorise link to the redirect Xero answers with."""
    answer = http.get(request.url)
    assert 302 == answer.status_code
    return answer.headers["location"]


class TestPkce:
    def test_the_rfc_7636_example(self) -> None:
        """The S256 challenge of RFC 7636 appendix B's verifier is the RFC's."""
        verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

        assert "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" == code_challenge(verifier)

    def test_new_pairs_are_fresh_valid_and_hidden(self) -> None:
        """Pkce.new() makes a 64-character verifier, a different one each time, never shown
        in the repr."""
        one, two = Pkce.new(), Pkce.new()

        assert (64, True, True) == (
            len(one.verifier),
            one.verifier != two.verifier,
            one.verifier not in repr(one),
        )
        assert code_challenge(one.verifier) == one.challenge

    @pytest.mark.parametrize("verifier", ["short", "x" * 129, "a" * 42 + " ", "é" * 50, 7])
    def test_a_malformed_verifier_is_refused_without_quoting_it(self, verifier: Any) -> None:
        """A verifier RFC 7636 does not allow is a ConfigurationError that does not quote it."""
        with pytest.raises(ConfigurationError) as refused:
            Pkce.of(verifier)

        assert str(verifier) not in str(refused.value) or verifier == 7


class TestStart:
    def test_the_link_carries_state_challenge_and_the_needed_scopes(self) -> None:
        """The authorise URL asks for DEFAULT_SCOPES with a fresh state and an S256 challenge
        of the request's verifier."""
        request = start_authorization("APP", REDIRECT)
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}

        assert {
            "response_type": "code",
            "client_id": "APP",
            "redirect_uri": REDIRECT,
            "scope": " ".join(DEFAULT_SCOPES),
            "state": request.state,
            "code_challenge": code_challenge(request.code_verifier or ""),
            "code_challenge_method": "S256",
        } == query
        assert request.state not in repr(request)
        assert (request.code_verifier or "") not in f"{request!r}{request.url}"

    def test_each_start_has_its_own_state(self) -> None:
        """Two authorisations never share a state or a verifier."""
        one, two = start_authorization("APP", REDIRECT), start_authorization("APP", REDIRECT)

        assert (True, True) == (one.state != two.state, one.code_verifier != two.code_verifier)

    @pytest.mark.parametrize(
        "uri", ["", "localhost:8765/cb", "ftp://host/cb", "http://host/cb#frag", "/callback"]
    )
    def test_a_bad_redirect_uri_is_refused(self, uri: str) -> None:
        """A redirect URI that is not an absolute http(s) URL fails before anything."""
        with pytest.raises(ConfigurationError):
            start_authorization("APP", uri)

    def test_the_granular_scopes_are_exactly_what_calls_need(self) -> None:
        """DEFAULT_SCOPES is openid, offline_access and the scopes CALL_SCOPES names, nothing
        more, and never the legacy accounting.transactions."""
        needed = {s for s in CALL_SCOPES.values() if s is not None}
        kept = {s for s in needed if not any(satisfies([o], s) for o in needed if o != s)}

        assert {"openid", "offline_access", *kept} == set(DEFAULT_SCOPES)
        assert "accounting.transactions" not in DEFAULT_SCOPES


class TestCallback:
    @pytest.fixture(name="request_")
    def _request(self) -> AuthorizationRequest:
        return start_authorization("APP", REDIRECT)

    def test_the_code_comes_from_a_matching_redirect(self, request_: AuthorizationRequest) -> None:
        """A redirect URL with this request's state gives its code (URL, query or mapping)."""
        query = f"code=C0DE-1&state={request_.state}"

        assert ["C0DE-1"] * 3 == [
            read_callback(request_, f"{REDIRECT}?{query}"),
            read_callback(request_, query),
            read_callback(request_, {"code": "C0DE-1", "state": request_.state}),
        ]

    @pytest.mark.parametrize("state", ["", "other", None])
    def test_another_state_is_refused_first(
        self, request_: AuthorizationRequest, state: str | None
    ) -> None:
        """A redirect with another (or no) state fails as state_mismatch, even when it
        carries an error."""
        params = {"error": "access_denied"} | ({} if state is None else {"state": state})

        with pytest.raises(AuthorizationFailed) as refused:
            read_callback(request_, params)

        assert "state_mismatch" == refused.value.reason

    def test_a_declined_consent_is_denied(self, request_: AuthorizationRequest) -> None:
        """error=access_denied means the person declined: reason denied, Xero's words kept."""
        with pytest.raises(AuthorizationFailed) as refused:
            read_callback(
                request_,
                {"error": "access_denied", "error_description": "no", "state": request_.state},
            )

        assert ("denied", "access_denied", "no") == (
            refused.value.reason,
            refused.value.oauth_error,
            refused.value.description,
        )
        assert isinstance(refused.value, AuthError)

    def test_a_redirect_without_code(self, request_: AuthorizationRequest) -> None:
        """A redirect with the state but neither code nor error is no_code."""
        with pytest.raises(AuthorizationFailed) as refused:
            read_callback(request_, {"state": request_.state})

        assert "no_code" == refused.value.reason


class TestFinish:
    @pytest.mark.parametrize("pkce_app", [False, True])
    def test_an_authorisation_end_to_end(
        self, xero: FakeXero[Any], http: httpx.Client, pkce_app: bool
    ) -> None:
        """Consent, the code exchange (with the verifier; a PKCE app without a secret) and
        the saved tokens reach /connections, where this authorisation's organisations are
        marked by its auth event id."""
        client_id = xero.pkce_client_id if pkce_app else xero.client_id
        secret = None if pkce_app else xero.client_secret
        request = start_authorization(client_id, REDIRECT)
        store = MemoryTokenStore()

        done = finish_authorization(
            HttpxTransport(http),
            request,
            _consent(http, request),
            client_secret=secret,
            clock=xero.clock,
            store=store,
            connection_id="main",
        )
        client = XeroClient.from_token_store(
            client_id, secret, store, connection_id="main", http_client=http, clock=xero.clock
        )
        found = client.connections()

        assert (2, {done.auth_event_id}) == (len(found), {c.auth_event_id for c in found})
        assert done.id_token["authEventId"] == done.auth_event_id
        stored = store.load("main")
        assert stored is not None and stored.token.refresh_token is not None

    def test_the_verifier_must_be_the_challenge_s(
        self, xero: FakeXero[Any], http: httpx.Client
    ) -> None:
        """A code redeemed with another verifier is refused (invalid_grant)."""
        request = start_authorization(xero.client_id, REDIRECT)
        code = read_callback(request, _consent(http, request))

        with pytest.raises(ReauthorizationRequired):
            exchange_code(
                HttpxTransport(http),
                client_id=xero.client_id,
                client_secret=xero.client_secret,
                code=code,
                redirect_uri=REDIRECT,
                code_verifier=Pkce.new().verifier,
            )

    def test_a_stale_redirect_sends_nothing(self, xero: FakeXero[Any], http: httpx.Client) -> None:
        """A redirect meant for another authorisation fails before the token endpoint."""
        first, second = (start_authorization(xero.client_id, REDIRECT) for _ in range(2))
        redirect = _consent(http, first)
        before = len(xero.requests)

        with pytest.raises(AuthorizationFailed):
            finish_authorization(
                HttpxTransport(http), second, redirect, client_secret=xero.client_secret
            )

        assert before == len(xero.requests)

    def test_no_secret_needs_a_verifier(self) -> None:
        """exchange_code with no secret and no verifier is refused before sending."""

        class Never:
            def send(self, request: Any, *, timeout: float | None = None) -> Any:
                raise AssertionError("sent")

            def close(self) -> None:
                pass

        with pytest.raises(ConfigurationError, match="PKCE"):
            exchange_code(
                Never(), client_id="APP", client_secret="", code="C", redirect_uri=REDIRECT
            )

    def test_a_pkce_app_refreshes_without_a_secret(
        self, xero: FakeXero[Any], http: httpx.Client
    ) -> None:
        """RefreshTokenAuth with an empty secret refreshes, naming the client in the form and
        sending no Authorization header."""
        request = start_authorization(xero.pkce_client_id, REDIRECT)
        store = MemoryTokenStore()
        finish_authorization(
            HttpxTransport(http),
            request,
            _consent(http, request),
            client_secret="",
            clock=xero.clock,
            store=store,
            connection_id="main",
        )
        client = XeroClient.from_token_store(
            xero.pkce_client_id,
            "",
            store,
            connection_id="main",
            tenant_id=xero.tenant_id,
            http_client=http,
            clock=xero.clock,
            retry=RetryPolicy.none(),
        )
        xero.clock.advance(3600)  # the access token expired: one refresh

        client.get_organisation()

        refreshes = [r for r in xero.requests if r.path == "/connect/token"][-1]
        assert (200, False) == (refreshes.status, "authorization" in refreshes.headers)
        assert "<none: PKCE app>" in repr(RefreshTokenAuth("A", None, store, connection_id="x"))


class TestDisconnect:
    def _connected(self, xero: FakeXero[Any], http: httpx.Client) -> tuple[XeroClient, str]:
        request = start_authorization(xero.client_id, REDIRECT)
        store = MemoryTokenStore()
        finish_authorization(
            HttpxTransport(http),
            request,
            _consent(http, request),
            client_secret=xero.client_secret,
            clock=xero.clock,
            store=store,
            connection_id="main",
        )
        stored = store.load("main")
        assert stored is not None and stored.token.refresh_token is not None
        client = XeroClient.from_token_store(
            xero.client_id,
            xero.client_secret,
            store,
            connection_id="main",
            http_client=http,
            clock=xero.clock,
        )
        return client, stored.token.refresh_token

    def test_delete_connection_removes_one_organisation(
        self, xero: FakeXero[Any], http: httpx.Client
    ) -> None:
        """disconnect(id) removes that connection (True), and again finds none (False)."""
        client, _ = self._connected(xero, http)
        first, second = client.connections()

        assert (True, False, [second.tenant_id]) == (
            client.disconnect(first.id),
            client.disconnect(first.id),
            [c.tenant_id for c in client.connections()],
        )

    @pytest.mark.parametrize("bad", ["", "a/b", "x?y", None])
    def test_a_bad_connection_id_is_refused(
        self, xero: FakeXero[Any], http: httpx.Client, bad: Any
    ) -> None:
        """A connection id that could change the path is refused before sending."""
        client, _ = self._connected(xero, http)

        with pytest.raises(InvalidRequest):
            client.disconnect(bad)

    def test_revoking_the_refresh_token_ends_the_connection(
        self, xero: FakeXero[Any], http: httpx.Client
    ) -> None:
        """After revocation the refresh token is refused and the organisations it connected
        are gone."""
        client, refresh = self._connected(xero, http)

        revoke_token(
            HttpxTransport(http),
            client_id=xero.client_id,
            client_secret=xero.client_secret,
            token=refresh,
        )
        xero.clock.advance(3600)

        with pytest.raises(ReauthorizationRequired):
            client.connections()
        assert [] == xero.connected_tenant_ids

    def test_revocation_with_the_wrong_secret(
        self, xero: FakeXero[Any], http: httpx.Client
    ) -> None:
        """A refused client at the revocation endpoint is an AuthError without the secret."""
        wrong = "not-the-secret-0123456789"
        with pytest.raises(AuthError) as refused:
            revoke_token(
                HttpxTransport(http), client_id=xero.client_id, client_secret=wrong, token="t"
            )

        assert wrong not in f"{refused.value}{refused.value!r}"


class TestScopes:
    def test_every_call_names_its_scope(self) -> None:
        """CALL_SCOPES lists every public XeroClient method that calls Xero, no other."""
        calls = {
            name
            for name, member in inspect.getmembers(XeroClient, inspect.isfunction)
            if not name.startswith("_") and name not in ("close", "with_tenant", "limit_state")
        }

        assert calls == set(CALL_SCOPES)

    @pytest.mark.parametrize(
        ("method", "path", "scope"),
        [
            ("PUT", "/Invoices", "accounting.invoices"),
            ("POST", "/Invoices/abc/Email", "accounting.invoices"),
            ("GET", "/Invoices/abc/OnlineInvoice", "accounting.invoices.read"),
            ("PUT", "/CreditNotes/abc/Allocations", "accounting.invoices"),
            ("GET", "/Payments", "accounting.payments.read"),
            ("GET", "/Contacts/C-1", "accounting.contacts.read"),
            ("PUT", "/Contacts", "accounting.contacts"),
            ("GET", "/Organisation", "accounting.settings.read"),
            ("GET", "https://api.xero.com/connections", None),
            ("GET", "/Reports/BalanceSheet", None),
        ],
    )
    def test_the_scope_of_a_request(self, method: str, path: str, scope: str | None) -> None:
        """Each request's scope follows its resource and whether it reads or writes."""
        assert scope == needed_scope(method, path)

    @pytest.mark.parametrize(
        ("granted", "needed", "ok"),
        [
            ("accounting.invoices", "accounting.invoices.read", True),
            ("accounting.invoices.read", "accounting.invoices", False),
            ("accounting.transactions", "accounting.payments.read", True),
            ("accounting.transactions.read", "accounting.invoices", False),
            ("accounting.transactions", "accounting.contacts.read", False),
            ("accounting.settings", "accounting.settings.read", True),
        ],
    )
    def test_which_grants_satisfy(self, granted: str, needed: str, ok: bool) -> None:
        """A write scope covers its reads; the legacy transactions scope covers invoices and
        payments only."""
        assert ok == satisfies(granted.split(), needed)

    def test_a_missing_scope_is_named(self, xero: FakeXero[Any], http: httpx.Client) -> None:
        """A token without accounting.payments.read reading payments gets InsufficientScope
        naming it and what the token carries; invoices still read."""
        scope = "openid offline_access accounting.invoices"
        request = start_authorization(xero.client_id, REDIRECT, scopes=scope)
        store = MemoryTokenStore()
        finish_authorization(
            HttpxTransport(http),
            request,
            _consent(http, request),
            client_secret=xero.client_secret,
            clock=xero.clock,
            store=store,
            connection_id="main",
        )
        client = XeroClient.from_token_store(
            xero.client_id,
            xero.client_secret,
            store,
            connection_id="main",
            tenant_id=xero.tenant_id,
            http_client=http,
            clock=xero.clock,
            retry=RetryPolicy.none(),
        )
        list(client.iter_invoices())
        tokens_before = xero.count_requests(path="/connect/token")

        with pytest.raises(InsufficientScope) as refused:
            list(client.iter_payments())

        error = refused.value
        # A new token would carry the same scopes: no refresh, one refused request.
        assert (tokens_before, 1) == (
            xero.count_requests(path="/connect/token"),
            xero.count_requests(path="/Payments"),
        )
        assert ("accounting.payments.read", tuple(scope.split()), "GET", "/Payments", 401) == (
            error.missing_scope,
            error.granted,
            error.method,
            error.path,
            error.status_code,
        )
        assert "accounting.payments.read" in str(error)

    def test_a_403_for_a_disconnected_tenant_stays_an_auth_error(self, xero: FakeXero[Any]) -> None:
        """A 403 for an organisation the token covers the scope of is not a scope problem."""
        client = xero.client(retry=RetryPolicy.none())
        xero.disconnect(xero.tenant_id)

        with pytest.raises(AuthError) as refused:
            client.get_organisation()

        assert not isinstance(refused.value, InsufficientScope)

    def test_unreadable_tokens_have_no_scopes(self) -> None:
        """A token that is not a JWT (or has no scope claim) has unknown scopes."""
        claims = base64.urlsafe_b64encode(json.dumps({"sub": "x"}).encode()).decode()

        assert [None, None, ("a", "b")] == [
            granted_scopes("opaque"),
            granted_scopes(f"h.{claims}.s"),
            granted_scopes(
                "h." + base64.urlsafe_b64encode(b'{"scope": "a b"}').decode().rstrip("=") + ".s"
            ),
        ]

    def test_requests_carry_no_scope_check_state(self) -> None:
        """Scopes are worked out from the request alone (no hidden state in Call)."""
        from bms_xero.xero._calls import payments_call

        request = build_request(
            payments_call(page=1, page_size=10), access_token="t", tenant_id="x"
        )

        assert "accounting.payments.read" == needed_scope(request.method, "/Payments")


class TestUrls:
    @pytest.fixture(name="server")
    def _server(self) -> Iterator[FakeServer]:
        with serve(FakeXero(SystemClock(), seed=42), "127.0.0.1", 0) as server:
            yield server

    def test_client_credentials_reach_a_local_server(self, server: FakeServer) -> None:
        """from_client_credentials with token_url, api_url and connections_url talks to a
        fake-server over loopback."""
        xero = server.xero
        with XeroClient.from_client_credentials(
            xero.client_id,
            xero.client_secret,
            token_url=server.token_url,
            api_url=server.api_url,
            connections_url=server.connections_url,
        ) as client:
            found = client.connections()
            name = client.with_tenant(found[0].tenant_id).get_organisation().name

        assert ([xero.tenant_id], "Demo Company (NZ)") == ([c.tenant_id for c in found], name)

    def test_a_token_store_client_reaches_a_local_server(self, server: FakeServer) -> None:
        """from_token_store with the URLs refreshes at the server's token endpoint."""
        xero = server.xero
        request = start_authorization(
            xero.client_id, REDIRECT, authorize_url_base=server.authorize_url
        )
        with httpx.Client() as http:
            redirect = http.get(request.url).headers["location"]
            store = MemoryTokenStore()
            finish_authorization(
                HttpxTransport(http),
                request,
                redirect,
                client_secret=xero.client_secret,
                token_url=server.token_url,
                store=store,
                connection_id="main",
            )
        with XeroClient.from_token_store(
            xero.client_id,
            xero.client_secret,
            store,
            connection_id="main",
            tenant_id=xero.tenant_id,
            token_url=server.token_url,
            api_url=server.api_url,
            connections_url=server.connections_url,
        ) as client:
            assert "Demo Company (NZ)" == client.get_organisation().name

    def test_a_relative_url_is_refused(self) -> None:
        """An api_url that is not absolute is a ConfigurationError."""
        with pytest.raises(ConfigurationError, match="api_url"):
            XeroClient.from_client_credentials("id", "secret", api_url="/api.xro/2.0")


def test_the_token_request_of_a_public_client() -> None:
    """A PKCE app's code exchange names the client in the form and sends no Basic header."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"access_token": "a", "expires_in": 1800})

    pair = Pkce.new()
    exchange_code(
        HttpxTransport(httpx.Client(transport=httpx.MockTransport(answer))),
        client_id="APP",
        client_secret=None,
        code="C",
        redirect_uri=REDIRECT,
        code_verifier=pair.verifier,
    )

    form = dict(parse_qsl(seen[0].content.decode()))
    assert (None, "APP", pair.verifier) == (
        seen[0].headers.get("authorization"),
        form["client_id"],
        form["code_verifier"],
    )
