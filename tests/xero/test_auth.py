"""OAuth: client credentials, refresh-token rotation through a store, the authorise flow."""

from __future__ import annotations

import base64
import logging
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest

from bms_xero.clock import FakeClock
from bms_xero.errors import (
    AuthError,
    ConfigurationError,
    ReauthorizationRequired,
    TransportError,
)
from bms_xero.storage._tokens import MemoryTokenStore, TokenSet
from bms_xero.transport import HttpxTransport, Request, Response
from bms_xero.xero import (
    DEFAULT_SCOPES,
    ClientCredentials,
    RefreshTokenAuth,
    RetryPolicy,
    XeroClient,
    authorize_url,
    exchange_code,
)

CLIENT_ID = "APP-ID"
SECRET = "APP-SECRET-do-not-leak"


class Identity:
    """A token endpoint that rotates refresh tokens (no grace period) and an API that checks
    bearer tokens."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.valid_refresh = {"REFRESH-0"}
        self.valid_access = {"ACCESS-0"}
        self.refreshes = 0
        self.events: list[str] = []
        self.during_refresh = None  # called inside a refresh, to stage a race

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "identity.xero.com":
            return self.token(request)
        token = request.headers["Authorization"].removeprefix("Bearer ")
        self.events.append(f"api:{token}")
        if token not in self.valid_access:
            return httpx.Response(401, json={"Title": "Unauthorized", "Detail": "TokenExpired: x"})
        return httpx.Response(200, json={"Organisations": [{"Name": "Demo"}]})

    def token(self, request: httpx.Request) -> httpx.Response:
        expected = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
        if request.headers["Authorization"] != f"Basic {expected}":
            return httpx.Response(401, json={"error": "invalid_client"})
        form = dict(parse_qsl(request.content.decode()))
        if form["grant_type"] == "authorization_code":
            if form["code"] != "CODE-1":
                return httpx.Response(400, json={"error": "invalid_grant"})
            return self.issue()
        if form["grant_type"] != "refresh_token" or form["refresh_token"] not in self.valid_refresh:
            return httpx.Response(400, json={"error": "invalid_grant"})
        if self.during_refresh is not None:
            stage, self.during_refresh = self.during_refresh, None
            stage()
        self.valid_refresh.discard(form["refresh_token"])
        return self.issue()

    def issue(self) -> httpx.Response:
        self.refreshes += 1
        access, refresh = f"ACCESS-{self.refreshes}", f"REFRESH-{self.refreshes}"
        self.valid_access.add(access)
        self.valid_refresh.add(refresh)
        self.events.append(f"issued:{access}")
        return httpx.Response(
            200,
            json={
                "access_token": access,
                "refresh_token": refresh,
                "expires_in": 1800,
                "token_type": "Bearer",
                "scope": "openid offline_access accounting.invoices",
            },
        )


class RecordingStore(MemoryTokenStore):
    """A memory store that notes each save in the shared event list."""

    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events

    def save(self, connection_id, token, *, expected_version):
        stored = super().save(connection_id, token, expected_version=expected_version)
        self.events.append(f"saved:{token.access_token}")
        return stored


@pytest.fixture(name="clock")
def _clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(name="identity")
def _identity(clock: FakeClock) -> Identity:
    return Identity(clock)


@pytest.fixture(name="store")
def _store(identity: Identity, clock: FakeClock) -> RecordingStore:
    store = RecordingStore(identity.events)
    store.save(
        "conn-1",
        TokenSet(
            access_token="ACCESS-0",
            refresh_token="REFRESH-0",
            expires_at=clock.now() + timedelta(minutes=30),
        ),
        expected_version=None,
    )
    identity.events.clear()
    return store


def _transport(identity: Identity) -> HttpxTransport:
    return HttpxTransport(httpx.Client(transport=httpx.MockTransport(identity)))


def _client(identity: Identity, store, clock: FakeClock) -> XeroClient:
    return XeroClient(
        _transport(identity),
        auth=RefreshTokenAuth(CLIENT_ID, SECRET, store, connection_id="conn-1"),
        tenant_id="tenant-1",
        clock=clock,
        retry=RetryPolicy.none(),
    )


class TestRefreshTokenAuth:
    def test_a_fresh_token_is_used_without_refreshing(self, identity, store, clock):
        """While the stored access token has more than a minute left, no refresh happens."""
        _client(identity, store, clock).get_organisation()

        assert (0, ["api:ACCESS-0"]) == (identity.refreshes, identity.events)

    def test_the_rotated_refresh_token_is_saved_before_the_new_access_token_is_used(
        self, identity, store, clock
    ):
        """On expiry the client refreshes, saves the rotated tokens, then calls the API."""
        clock.advance(29 * 60 + 1)

        _client(identity, store, clock).get_organisation()

        assert ["issued:ACCESS-1", "saved:ACCESS-1", "api:ACCESS-1"] == identity.events
        stored = store.load("conn-1")
        assert stored is not None
        assert ("REFRESH-1", 2) == (stored.token.refresh_token, stored.version)

    def test_two_threads_refresh_once(self, identity, store, clock):
        """Two threads needing a refresh at once cause one refresh; both calls succeed."""
        clock.advance(31 * 60)
        client = _client(identity, store, clock)
        entered, release = threading.Event(), threading.Event()

        def hold_refresh() -> None:
            entered.set()
            release.wait(timeout=10)

        identity.during_refresh = hold_refresh
        errors: list[BaseException] = []

        def call() -> None:
            try:
                client.get_organisation()
            except BaseException as e:
                errors.append(e)

        first = threading.Thread(target=call)
        first.start()
        assert entered.wait(timeout=10)
        second = threading.Thread(target=call)
        second.start()
        release.set()
        first.join(timeout=10)
        second.join(timeout=10)

        assert ([], 1) == (errors, identity.refreshes)

    def test_the_loser_of_a_race_uses_the_winners_tokens(self, identity, store, clock):
        """When another process saves first, the loser uses the stored tokens, not its own."""
        clock.advance(31 * 60)

        def other_process_saves_first() -> None:
            stored = store.load("conn-1")
            assert stored is not None
            store.save(
                "conn-1",
                TokenSet(
                    access_token="ACCESS-OTHER",
                    refresh_token="REFRESH-OTHER",
                    expires_at=clock.now() + timedelta(minutes=30),
                ),
                expected_version=stored.version,
            )

        identity.during_refresh = other_process_saves_first
        auth = RefreshTokenAuth(CLIENT_ID, SECRET, store, connection_id="conn-1")

        token = auth.access_token(_transport(identity), clock)

        stored = store.load("conn-1")
        assert stored is not None
        assert ("ACCESS-OTHER", "REFRESH-OTHER", 1) == (
            token,
            stored.token.refresh_token,
            identity.refreshes,
        )

    def test_invalid_grant_after_someone_else_rotated_uses_their_tokens(
        self, identity, store, clock
    ):
        """A refresh refused because another process already rotated uses the stored tokens."""
        clock.advance(31 * 60)
        stale = store.load("conn-1")
        assert stale is not None
        identity.valid_refresh.clear()  # the other process's refresh consumed our token

        def other_process_rotated(request: httpx.Request) -> httpx.Response:
            if request.url.host == "identity.xero.com":
                store.save(
                    "conn-1",
                    TokenSet(
                        access_token="ACCESS-9",
                        refresh_token="REFRESH-9",
                        expires_at=clock.now() + timedelta(minutes=30),
                    ),
                    expected_version=stale.version,
                )
            return identity(request)

        transport = HttpxTransport(
            httpx.Client(transport=httpx.MockTransport(other_process_rotated))
        )
        auth = RefreshTokenAuth(CLIENT_ID, SECRET, store, connection_id="conn-1")

        assert "ACCESS-9" == auth.access_token(transport, clock)

    def test_invalid_grant_means_reconnect(self, identity, store, clock):
        """A refresh token Xero refuses raises ReauthorizationRequired saying to reconnect."""
        clock.advance(31 * 60)
        identity.valid_refresh.clear()

        with pytest.raises(ReauthorizationRequired) as caught:
            _client(identity, store, clock).get_organisation()

        assert str(caught.value).startswith("reconnect to Xero")
        assert "invalid_grant" == caught.value.error_type

    def test_no_stored_tokens_means_connect_first(self, identity, clock):
        """Without stored tokens the error says to authorise the app."""
        auth = RefreshTokenAuth(CLIENT_ID, SECRET, MemoryTokenStore(), connection_id="none")

        with pytest.raises(ReauthorizationRequired, match="authorize_url"):
            auth.access_token(_transport(identity), clock)

    def test_a_401_marks_the_token_bad_and_refreshes(self, identity, store, clock):
        """An access token Xero rejects early is replaced by a refresh and the call resent."""
        identity.valid_access.discard("ACCESS-0")

        _client(identity, store, clock).get_organisation()

        assert ["api:ACCESS-0", "issued:ACCESS-1", "saved:ACCESS-1", "api:ACCESS-1"] == (
            identity.events
        )

    def test_the_store_must_be_a_token_store(self):
        """A store that doesn't implement TokenStore is refused."""
        with pytest.raises(ConfigurationError):
            RefreshTokenAuth(CLIENT_ID, SECRET, object(), connection_id="c")  # type: ignore[arg-type]


class TestClientCredentials:
    def test_wrong_secret_is_an_auth_error_without_the_secret(self, identity, clock):
        """Refused credentials raise AuthError; the secret is not in the message."""
        auth = ClientCredentials(CLIENT_ID, "wrong-secret-value")

        with pytest.raises(AuthError) as caught:
            auth.access_token(_transport(identity), clock)

        assert "invalid_client" == caught.value.error_type
        assert "wrong-secret-value" not in str(caught.value)

    def test_scopes_are_sent(self, clock):
        """Configured scopes are asked for in the form body."""
        seen: list[bytes] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request.content)
            return httpx.Response(200, json={"access_token": "a", "expires_in": 1800})

        ClientCredentials("id", "secret", scopes="accounting.invoices").access_token(
            HttpxTransport(httpx.Client(transport=httpx.MockTransport(handler))), clock
        )

        assert {"grant_type": ["client_credentials"], "scope": ["accounting.invoices"]} == (
            parse_qs(seen[0].decode())
        )


class TestAuthorise:
    def test_authorize_url(self):
        """The authorise URL carries the client id, redirect, default scopes and state."""
        url = authorize_url("APP-ID", "https://bms.example/callback", state="xyz")
        parts = urlsplit(url)

        assert "https://login.xero.com/identity/connect/authorize" == (
            f"{parts.scheme}://{parts.netloc}{parts.path}"
        )
        assert {
            "response_type": "code",
            "client_id": "APP-ID",
            "redirect_uri": "https://bms.example/callback",
            "scope": " ".join(DEFAULT_SCOPES),
            "state": "xyz",
        } == dict(parse_qsl(parts.query))

    def test_pkce_challenge(self):
        """A PKCE challenge is sent with method S256."""
        query = dict(
            parse_qsl(
                urlsplit(authorize_url("a", "https://x", state="s", code_challenge="abc")).query
            )
        )

        assert ("abc", "S256") == (query["code_challenge"], query["code_challenge_method"])

    def test_exchange_code_saves_the_tokens(self, identity, clock):
        """exchange_code trades the code and stores the token set under the connection id."""
        store = MemoryTokenStore()

        token = exchange_code(
            _transport(identity),
            client_id=CLIENT_ID,
            client_secret=SECRET,
            code="CODE-1",
            redirect_uri="https://bms.example/callback",
            clock=clock,
            store=store,
            connection_id="conn-9",
        )

        stored = store.load("conn-9")
        assert stored is not None
        assert (token, 1, clock.now() + timedelta(seconds=1800)) == (
            stored.token,
            stored.version,
            token.expires_at,
        )

    def test_a_used_code_means_start_again(self, identity, clock):
        """A refused code raises ReauthorizationRequired saying to start again."""
        with pytest.raises(ReauthorizationRequired, match="start the authorisation again"):
            exchange_code(
                _transport(identity),
                client_id=CLIENT_ID,
                client_secret=SECRET,
                code="CODE-OLD",
                redirect_uri="https://bms.example/callback",
                clock=clock,
            )


class Raising:
    """A custom transport whose every send raises ``error`` (quoting the secret, as a careless
    one might: the message of the typed error must not repeat it)."""

    def __init__(self, error: type[Exception]) -> None:
        self.error = error
        self.sent: list[Request] = []

    def send(self, request: Request, *, timeout: float | None = None) -> Response:
        self.sent.append(request)
        raise self.error(f"failed sending {request.content.decode()} with {SECRET}")

    def close(self) -> None:
        pass


#: What a custom transport may raise, and whether the request may have left.
RAISED = [
    (ConnectionResetError, True),
    (OSError, True),
    (ValueError, True),
    (RuntimeError, True),
    (ConnectionRefusedError, False),
]


class TestCustomTransportFailures:
    @pytest.mark.parametrize(("error", "sent"), RAISED)
    def test_the_token_call_raises_a_transport_error(self, clock, error, sent):
        """Any exception a custom transport raises on the token call is a TransportError
        naming the exception's type, never the exception itself or the secret."""
        with pytest.raises(TransportError) as caught:
            ClientCredentials(CLIENT_ID, SECRET).access_token(Raising(error), clock)

        shown = f"{caught.value} {caught.value!r} {caught.value.__cause__!r}"
        assert (sent, True, False, None) == (
            caught.value.sent,
            error.__name__ in str(caught.value),
            SECRET in shown,
            caught.value.__cause__,
        )

    @pytest.mark.parametrize(("error", "sent"), RAISED)
    def test_a_refresh_raises_a_transport_error(self, store, clock, error, sent):
        """A refresh through a failing custom transport is a TransportError; the stored
        tokens are left as they were."""
        clock.advance(31 * 60)
        auth = RefreshTokenAuth(CLIENT_ID, SECRET, store, connection_id="conn-1")
        before = store.load("conn-1")

        with pytest.raises(TransportError) as caught:
            auth.access_token(Raising(error), clock)

        assert (sent, before, False) == (
            caught.value.sent,
            store.load("conn-1"),
            "REFRESH-0" in str(caught.value),
        )

    @pytest.mark.parametrize(("error", "sent"), RAISED)
    def test_exchange_code_raises_a_transport_error(self, clock, error, sent):
        """exchange_code through a failing custom transport is a TransportError without
        the code or the secret."""
        with pytest.raises(TransportError) as caught:
            exchange_code(
                Raising(error),
                client_id=CLIENT_ID,
                client_secret=SECRET,
                code="CODE-1",
                redirect_uri="https://bms.example/callback",
                clock=clock,
            )

        assert (sent, False, False) == (
            caught.value.sent,
            "CODE-1" in str(caught.value),
            SECRET in str(caught.value),
        )

    @pytest.mark.parametrize(("error", "sent"), RAISED)
    def test_api_calls_meet_the_same_typed_error(self, clock, error, sent):
        """Through a client, the token call's failure and an API call's failure are both
        TransportErrors: the token one says nothing reached the API."""
        token_fails = XeroClient(
            Raising(error),
            auth=ClientCredentials(CLIENT_ID, SECRET),
            tenant_id="tenant-1",
            clock=clock,
            retry=RetryPolicy.none(),
        )

        class StaticAuth:
            def access_token(self, transport, clock):
                return "static"

            def invalidate(self, access_token):
                pass

        api_fails = XeroClient(
            Raising(error),
            auth=StaticAuth(),
            tenant_id="tenant-1",
            clock=clock,
            retry=RetryPolicy.none(),
        )

        with pytest.raises(TransportError) as at_token:
            token_fails.get_organisation()
        with pytest.raises(TransportError) as at_api:
            api_fails.get_organisation()

        assert (False, True, False) == (
            at_token.value.sent,
            error.__name__ in str(at_api.value),
            SECRET in f"{at_token.value} {at_api.value}",
        )

    def test_a_typed_error_from_the_transport_passes_as_it_is(self, clock):
        """A transport that raises a bms_xero error itself (HttpxTransport does) keeps it."""

        class Typed(Raising):
            def send(self, request, *, timeout=None):
                raise TransportError("connect failed; nothing was sent", sent=False)

        with pytest.raises(TransportError, match=r"^connect failed; nothing was sent$"):
            ClientCredentials(CLIENT_ID, SECRET).access_token(Typed(OSError), clock)


def test_no_secret_in_logs_reprs_or_errors(identity, store, clock, caplog):
    """Across a refresh and a failed refresh, no token or secret appears anywhere visible."""
    caplog.set_level(logging.DEBUG)
    client = _client(identity, store, clock)
    clock.advance(31 * 60)
    client.get_organisation()
    clock.advance(31 * 60)
    identity.valid_refresh.clear()
    with pytest.raises(ReauthorizationRequired) as caught:
        client.get_organisation()

    stored = store.load("conn-1")
    visible = [r.getMessage() for r in caplog.records]
    visible += [repr(client), repr(client._auth), repr(store), repr(stored), str(stored)]
    visible += [str(caught.value), repr(caught.value)]
    secrets = [SECRET, "ACCESS-0", "ACCESS-1", "REFRESH-0", "REFRESH-1"]

    leaks = [(s, v) for v in visible for s in secrets if s in v]
    assert [] == leaks
    assert any("refreshed tokens for connection conn-1" in m for m in visible)


def test_token_set_refuses_naive_expiry():
    """A token set's expiry must be timezone-aware."""
    with pytest.raises(ValueError, match="timezone-aware"):
        TokenSet(access_token="a", expires_at=datetime(2026, 1, 1))  # noqa: DTZ001


def test_token_set_expiry_margin():
    """expires_within says whether less than the margin is left."""
    token = TokenSet(access_token="a", expires_at=datetime(2026, 1, 1, 0, 1, tzinfo=UTC))

    assert (True, False) == (
        token.expires_within(datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC), 60),
        token.expires_within(datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC), 59),
    )
