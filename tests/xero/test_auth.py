"""OAuth: client credentials, refresh-token rotation through a store, the authorise flow."""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable
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
from bms_xero.xero._refresh import SAVE_WAIT

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
        self.token_calls = 0
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
        self.token_calls += 1
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


class HookClock(FakeClock):
    """A fake clock that runs ``on_sleep`` after each sleep: another process acting while
    this one waits."""

    def __init__(self) -> None:
        super().__init__()
        self.on_sleep: Callable[[], None] | None = None
        self.sleeps = 0

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        self.sleeps += 1
        if self.on_sleep is not None:
            self.on_sleep()


@pytest.fixture(name="clock")
def _clock() -> HookClock:
    return HookClock()


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


class NoLeaseStore:
    """A token store without the refresh lease: compare-and-swap only."""

    def __init__(self, inner: MemoryTokenStore) -> None:
        self.inner = inner

    def load(self, connection_id):
        return self.inner.load(connection_id)

    def save(self, connection_id, token, *, expected_version):
        return self.inner.save(connection_id, token, expected_version=expected_version)

    def delete(self, connection_id):
        self.inner.delete(connection_id)


def _auth(store, **kwargs) -> RefreshTokenAuth:
    return RefreshTokenAuth(CLIENT_ID, SECRET, store, connection_id="conn-1", **kwargs)


def _save_other(store, clock, name: str = "OTHER") -> None:
    """Another process saves the tokens of its refresh."""
    stored = store.load("conn-1")
    store.save(
        "conn-1",
        TokenSet(
            access_token=f"ACCESS-{name}",
            refresh_token=f"REFRESH-{name}",
            expires_at=clock.now() + timedelta(minutes=30),
        ),
        expected_version=stored.version if stored is not None else None,
    )


def _free(store, clock) -> bool:
    """Whether the connection's refresh lease is free now (claims it for a moment)."""
    free = store.acquire_refresh_lease("conn-1", holder="probe", now=clock.now(), seconds=1)
    store.release_refresh_lease("conn-1", holder="probe")
    return free


class TestSingleFlight:
    def test_a_refresher_holding_the_lease_makes_the_others_wait_for_its_save(
        self, identity, store, clock
    ):
        """While another process holds the refresh lease, the caller waits and uses the
        tokens it saves; it never asks Xero itself."""
        clock.advance(31 * 60)
        store.acquire_refresh_lease("conn-1", holder="other", now=clock.now(), seconds=30)

        def other_saves_and_releases() -> None:
            _save_other(store, clock)
            store.release_refresh_lease("conn-1", holder="other")
            clock.on_sleep = None

        clock.on_sleep = other_saves_and_releases

        token = _auth(store).access_token(_transport(identity), clock)

        assert ("ACCESS-OTHER", 0, 1) == (token, identity.token_calls, clock.sleeps)

    def test_a_dead_refreshers_lease_runs_out_then_the_waiter_refreshes(
        self, identity, store, clock
    ):
        """A refresher that died holding the lease delays the others only until its lease
        runs out; then one of them refreshes."""
        clock.advance(31 * 60)
        store.acquire_refresh_lease("conn-1", holder="dead", now=clock.now(), seconds=30)
        started = clock.monotonic()

        token = _auth(store).access_token(_transport(identity), clock)

        waited = clock.monotonic() - started
        assert ("ACCESS-1", 1) == (token, identity.refreshes)
        assert 30 <= waited < 31  # the dead holder's 30 s, not the caller's own 60

    def test_waiting_is_bounded(self, identity, store, clock):
        """A holder that keeps the lease without ever saving makes the caller give up after
        twice lease_seconds with a retryable TransportError (nothing sent), not hang."""
        clock.advance(31 * 60)
        store.acquire_refresh_lease("conn-1", holder="stuck", now=clock.now(), seconds=10)
        clock.on_sleep = lambda: store.acquire_refresh_lease(
            "conn-1", holder="stuck", now=clock.now(), seconds=10
        )
        started = clock.monotonic()

        with pytest.raises(TransportError) as caught:
            _auth(store, lease_seconds=10).access_token(_transport(identity), clock)

        assert (False, True, 0) == (
            caught.value.sent,
            caught.value.retryable,
            identity.token_calls,
        )
        assert 20 <= clock.monotonic() - started < 21

    def test_the_lease_is_released_after_a_refresh_and_after_a_refusal(
        self, identity, store, clock
    ):
        """The refresher frees the lease when it is done, whether Xero said yes or no."""
        clock.advance(31 * 60)
        _auth(store).access_token(_transport(identity), clock)
        refreshed_free = _free(store, clock)
        clock.advance(31 * 60)
        identity.valid_refresh.clear()

        with pytest.raises(ReauthorizationRequired):
            _auth(store).access_token(_transport(identity), clock)

        assert (True, True) == (refreshed_free, _free(store, clock))

    def test_the_winner_saving_just_before_the_lease_is_taken_is_used(self, identity, store, clock):
        """A caller that gets the lease looks at the store again first: if the last holder
        saved just before it released, those tokens are used."""
        clock.advance(31 * 60)

        class SavesOnAcquire(RecordingStore):
            def acquire_refresh_lease(self, connection_id, *, holder, now, seconds):
                granted = super().acquire_refresh_lease(
                    connection_id, holder=holder, now=now, seconds=seconds
                )
                if granted and holder != "probe":
                    _save_other(self, clock, "JUST-SAVED")
                return granted

        racing = SavesOnAcquire(identity.events)
        racing.save("conn-1", store.load("conn-1").token, expected_version=None)

        token = _auth(racing).access_token(_transport(identity), clock)

        assert ("ACCESS-JUST-SAVED", 0) == (token, identity.token_calls)

    def test_without_the_lease_a_refused_refresh_waits_for_a_racing_save(
        self, identity, store, clock
    ):
        """A store without the lease: invalid_grant while another process is about to save
        its refresh; the caller waits for that save and uses it instead of raising."""
        clock.advance(31 * 60)
        identity.valid_refresh.clear()  # the other refresher spent our refresh token

        def other_saves() -> None:
            _save_other(store, clock, "9")
            clock.on_sleep = None

        clock.on_sleep = other_saves

        assert "ACCESS-9" == _auth(NoLeaseStore(store)).access_token(_transport(identity), clock)

    def test_without_the_lease_reconnect_is_said_after_waiting_for_a_save(
        self, identity, store, clock
    ):
        """A store without the lease: a refusal nobody resolves raises
        ReauthorizationRequired once the save wait is over."""
        clock.advance(31 * 60)
        identity.valid_refresh.clear()
        started = clock.monotonic()

        with pytest.raises(ReauthorizationRequired):
            _auth(NoLeaseStore(store)).access_token(_transport(identity), clock)

        assert SAVE_WAIT <= clock.monotonic() - started < SAVE_WAIT + 1

    def test_the_lease_holder_says_reconnect_at_once(self, identity, store, clock):
        """Holding the lease, nobody else can have spent the token: a refusal raises
        ReauthorizationRequired without waiting."""
        clock.advance(31 * 60)
        identity.valid_refresh.clear()
        started = clock.monotonic()

        with pytest.raises(ReauthorizationRequired):
            _auth(store).access_token(_transport(identity), clock)

        assert (0.0, 0) == (clock.monotonic() - started, clock.sleeps)

    def test_a_refused_refresh_token_is_not_sent_again(self, identity, store, clock):
        """After Xero refused a refresh token for good, later calls raise at once without
        asking Xero; new tokens (a reconnect) end that."""
        clock.advance(31 * 60)
        identity.valid_refresh.clear()
        auth = _auth(store)
        with pytest.raises(ReauthorizationRequired):
            auth.access_token(_transport(identity), clock)
        asked = identity.token_calls

        with pytest.raises(ReauthorizationRequired):
            auth.access_token(_transport(identity), clock)
        unchanged = identity.token_calls
        _save_other(store, clock, "RECONNECTED")

        assert (1, 1, "ACCESS-RECONNECTED") == (
            asked,
            unchanged,
            auth.access_token(_transport(identity), clock),
        )

    @pytest.mark.parametrize("seconds", [0, -1, True, "30"])
    def test_lease_seconds_must_be_positive(self, store, seconds):
        """lease_seconds is a number of seconds above 0."""
        with pytest.raises(ConfigurationError):
            _auth(store, lease_seconds=seconds)


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
