"""OAuth 2.0 with Xero: custom connections, refresh-token connections, the authorise flow.

Two ways to get an access token, both behind the small :class:`Authenticator` protocol:

* :class:`ClientCredentials` for a custom connection (one organisation, no refresh token):
  asks the token endpoint and caches the token until a minute before it expires.
* :class:`RefreshTokenAuth` for an app a person authorised: tokens live in a
  :class:`~bms_xero.storage._tokens.TokenStore`. Only one refresh runs per expiry and
  connection (a lock here; across processes the store's refresh lease, whose holder asks
  Xero while the others wait for its save, see :mod:`bms_xero.xero._refresh`); the rotated
  refresh token is saved *before* the new access token is used; a racer that loses the
  compare-and-swap uses the winner's tokens instead of refreshing again; a refresh Xero
  rejects with ``invalid_grant`` raises :class:`~bms_xero.errors.ReauthorizationRequired`
  once no other refresher's save turns up.

:func:`authorize_url` and :func:`exchange_code` cover the first connection (:mod:`._connect`
drives the whole flow, with state and PKCE: :class:`Pkce`, for apps without a secret too), and
:func:`revoke_token` the last. No secret or token ever appears in a repr, a log line or an
exception message, and whatever a custom transport raises on the token call becomes a
:class:`~bms_xero.errors.TransportError` naming only the exception's type (as on API calls).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import secrets
import socket
import string
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlencode

import attrs

from bms_xero.clock import Clock, SystemClock
from bms_xero.errors import (
    AuthError,
    BmsXeroError,
    ConfigurationError,
    ReauthorizationRequired,
    TransportError,
    UnexpectedResponse,
    VersionConflict,
)
from bms_xero.storage._tokens import RefreshLease, StoredToken, TokenSet, TokenStore
from bms_xero.transport import Headers, Request, Response, Transport
from bms_xero.xero import _refresh as flight
from bms_xero.xero._calls import USER_AGENT
from bms_xero.xero._decode import decode_error, read_json

__all__ = [
    "AUTHORIZE_URL",
    "DEFAULT_SCOPES",
    "REVOCATION_URL",
    "TOKEN_URL",
    "Authenticator",
    "ClientCredentials",
    "Pkce",
    "RefreshTokenAuth",
    "authorize_url",
    "code_challenge",
    "exchange_code",
    "revoke_token",
]

log = logging.getLogger("bms_xero.xero.auth")

AUTHORIZE_URL = "https://login.xero.com/identity/connect/authorize"
TOKEN_URL = "https://identity.xero.com/connect/token"  # noqa: S105 - a URL, not a secret
REVOCATION_URL = "https://identity.xero.com/connect/revocation"
#: Exactly the scopes bms_xero needs, granular (apps created from 2 March 2026 can't use
#: ``accounting.transactions``): ``openid`` for the id_token (which authorisation connected
#: which organisation), ``offline_access`` for a refresh token, and one per kind of record
#: (``CALL_SCOPES`` in :mod:`bms_xero.xero._scopes` says which call needs which).
DEFAULT_SCOPES: tuple[str, ...] = (
    "openid",
    "offline_access",
    "accounting.invoices",
    "accounting.payments.read",
    "accounting.contacts",
    "accounting.settings.read",
)
#: Refresh this long before the access token expires, so no call goes out with a dying token.
REFRESH_MARGIN = 60.0
#: Xero's access tokens last 30 minutes; used when an answer omits ``expires_in``.
DEFAULT_LIFETIME = 1800
#: How long a refresher's lease on a connection lasts (see :class:`RefreshTokenAuth`):
#: longer than a token request can take with the default timeouts (5 s connect, 30 s read).
DEFAULT_LEASE = 60.0


@runtime_checkable
class Authenticator(Protocol):
    """Supplies the bearer token for API calls."""

    def access_token(self, transport: Transport, clock: Clock) -> str:
        """A token valid for at least a minute, fetched or refreshed through ``transport``.

        Raises:
            ReauthorizationRequired: A person must connect the app to Xero again.
            AuthError: Xero refused the app's credentials.
            TransportError: The token endpoint could not be reached; the built-in
                authenticators turn anything a custom transport raises into one.
        """
        ...

    def invalidate(self, access_token: str) -> None:
        """Xero answered 401 to ``access_token``: don't hand it out again."""
        ...


def _require(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{name} must be a non-empty string")
    return value


def _scope_list(scopes: Iterable[str] | str) -> tuple[str, ...]:
    items = tuple(scopes.split()) if isinstance(scopes, str) else tuple(scopes)
    for scope in items:
        if not isinstance(scope, str) or not scope or " " in scope:
            raise ConfigurationError(f"scopes: {scope!r} is not a single scope name")
    return items


def _optional_secret(value: object, name: str = "client_secret") -> str:
    """The secret of a confidential app, or ``""`` for a public (PKCE) app that has none."""
    if value is None or value == "":
        return ""
    return _require(value, name)


def _token_request(
    client_id: str, client_secret: str, form: Sequence[tuple[str, str]], *, token_url: str
) -> Request:
    """A form POST to an identity endpoint. A confidential app authenticates with Basic; a
    public (PKCE) app, whose ``client_secret`` is ``""``, names itself in the form instead."""
    headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Accept", "application/json"),
        ("User-Agent", USER_AGENT),
    ]
    if client_secret:
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        headers.insert(0, ("Authorization", f"Basic {basic}"))
    else:
        form = [*form, ("client_id", client_id)]
    return Request("POST", token_url, Headers(headers), urlencode(form).encode("ascii"))


def _seconds(value: Any) -> float:
    if isinstance(value, bool):
        return float(DEFAULT_LIFETIME)
    if isinstance(value, int | Decimal):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return float(DEFAULT_LIFETIME)
    return float(DEFAULT_LIFETIME)


def decode_token(
    status: int, headers: Headers, body: bytes, *, now: datetime, grant: str
) -> TokenSet:
    """The token set from a token endpoint answer, or the typed error it means.

    Raises:
        ReauthorizationRequired: ``invalid_grant``: the refresh token or code is no longer
            valid; a person must connect again.
        AuthError: The client id or secret was refused.
        UnexpectedResponse: A 200 without a usable token.
    """
    if status == 200:
        data = read_json(body)
        if not isinstance(data, Mapping) or not isinstance(data.get("access_token"), str):
            raise UnexpectedResponse("Xero's token answer has no access_token", status_code=200)
        refresh = data.get("refresh_token")
        lifetime = min(max(_seconds(data.get("expires_in", DEFAULT_LIFETIME)), 0.0), 86400.0)
        scope = data.get("scope")
        return TokenSet(
            access_token=data["access_token"],
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            expires_at=now + timedelta(seconds=lifetime),
            scopes=tuple(scope.split()) if isinstance(scope, str) else (),
        )
    answer: Any = None
    with contextlib.suppress(UnexpectedResponse):
        answer = read_json(body)
    code = answer.get("error") if isinstance(answer, Mapping) else None
    if code == "invalid_grant":
        if grant == "authorization_code":
            raise ReauthorizationRequired(
                "reconnect to Xero: the authorization code was refused (invalid_grant); codes "
                "are single-use and expire within minutes, and the redirect URI and PKCE "
                "verifier must be the authorisation's own, so start the authorisation again",
                status_code=status,
                error_type="invalid_grant",
            )
        raise ReauthorizationRequired(
            "reconnect to Xero: the refresh token was refused (invalid_grant); it expired "
            "(60 days unused), was revoked, or was rotated elsewhere. A person must authorise "
            "the app again (authorize_url, then exchange_code)",
            status_code=status,
            error_type="invalid_grant",
        )
    if code in ("invalid_client", "unauthorized_client"):
        raise AuthError(
            f"Xero refused the app's credentials ({code}); check the client id and secret "
            "in the Xero developer portal (and, for a custom connection, that it is "
            "authorised)",
            status_code=status,
            error_type=code,
        )
    if code == "invalid_scope":
        raise AuthError(
            "Xero refused the requested scopes (invalid_scope); ask only for scopes the app "
            "is allowed (granular scopes for apps created from March 2026)",
            status_code=status,
            error_type=code,
        )
    raise decode_error(status, headers, body, now=now)


#: Failures of a custom transport that mean the token request never left this machine.
_NOT_SENT: tuple[type[Exception], ...] = (ConnectionRefusedError, socket.gaierror)


def _send(transport: Transport, request: Request) -> Response:
    """Send a token request; whatever a custom transport raises becomes a typed error.

    A :class:`~bms_xero.errors.BmsXeroError` (an ``HttpxTransport``'s ``TransportError``)
    passes as it is. Anything else (``ConnectionResetError``, ``OSError``, ``ValueError``,
    ...) becomes a ``TransportError`` naming only the exception's type: its text may quote
    the request, whose form and headers hold the client secret, a refresh token or a code.
    """
    try:
        return transport.send(request)
    except BmsXeroError:
        raise
    except Exception as e:
        sent = not isinstance(e, _NOT_SENT)
        raise TransportError(
            f"the transport failed during {request.method} {request.path} (the token "
            f"endpoint; {type(e).__name__}); "
            + ("nothing was sent" if not sent else "the request may have reached Xero"),
            sent=sent,
        ) from None


def _fetch(transport: Transport, request: Request, clock: Clock, *, grant: str) -> TokenSet:
    response = _send(transport, request)
    token = decode_token(
        response.status, response.headers, response.content, now=clock.now(), grant=grant
    )
    log.debug("token endpoint: %s grant -> %s", grant, response.status)
    return token


class ClientCredentials:
    """Tokens for a custom connection (``client_credentials`` grant), cached until near expiry.

    Args:
        client_id: The custom connection's client id.
        client_secret: Its secret (never shown in reprs or errors).
        scopes: Scopes to ask for; empty asks for those configured on the connection.
        token_url: The token endpoint.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        scopes: Iterable[str] | str = (),
        token_url: str = TOKEN_URL,
    ) -> None:
        self.client_id = _require(client_id, "client_id")
        self._secret = _require(client_secret, "client_secret")
        self.scopes = _scope_list(scopes)
        self.token_url = token_url
        self._token: TokenSet | None = None
        self._lock = threading.Lock()

    def access_token(self, transport: Transport, clock: Clock) -> str:
        """See :meth:`Authenticator.access_token`."""
        with self._lock:
            token = self._token
            if token is None or token.expires_within(clock.now(), REFRESH_MARGIN):
                form = [("grant_type", "client_credentials")]
                if self.scopes:
                    form.append(("scope", " ".join(self.scopes)))
                request = _token_request(
                    self.client_id, self._secret, form, token_url=self.token_url
                )
                token = self._token = _fetch(transport, request, clock, grant="client_credentials")
            return token.access_token

    def invalidate(self, access_token: str) -> None:
        """See :meth:`Authenticator.invalidate`."""
        with self._lock:
            if self._token is not None and self._token.access_token == access_token:
                self._token = None

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self.client_id!r}, client_secret=<redacted>)"


class RefreshTokenAuth:
    """Tokens for an authorised app connection, kept in a :class:`TokenStore`.

    One refresh per expiry. In a process, share one instance (or one
    :class:`~bms_xero.xero.XeroClient` and its ``with_tenant`` copies) per connection: its
    lock makes refreshes single-flight. Across processes, a store that is also a
    :class:`~bms_xero.storage.RefreshLease` (both built-in ones are) elects one refresher:
    it holds the lease while it asks Xero and saves; the others poll the store with a short
    backoff and use the saved tokens (see :mod:`bms_xero.xero._refresh`). Waiting is
    bounded: a refresher that dies holding the lease loses it after ``lease_seconds``, and a
    caller that has waited ``2 * lease_seconds`` gives up with a retryable
    :class:`~bms_xero.errors.TransportError` (nothing was sent to the API).

    A store without the lease still works: compare-and-swap keeps the tokens whole and the
    loser of a race uses the winner's tokens, but every process asks Xero, and a refresh Xero
    refuses (``invalid_grant``) first waits a few seconds for the winner's save. Either way
    :class:`~bms_xero.errors.ReauthorizationRequired` therefore means the connection really
    is gone (with the lease, no other refresher can have spent the token); the refused token
    is remembered, so later calls raise at once without asking Xero again (until new tokens
    are saved).

    Args:
        client_id: The app's client id.
        client_secret: The app's secret (never shown in reprs or errors); ``""`` or ``None``
            for a PKCE app, which has none (its refreshes name the client id in the form).
        store: Where the connection's tokens live.
        connection_id: The key of this connection in ``store``.
        token_url: The token endpoint.
        lease_seconds: How long a refresher's lease lasts (a store with
            :class:`~bms_xero.storage.RefreshLease`): longer than a token request takes.

    .. versionchanged:: Unreleased
        Single-flight across processes through the store's refresh lease.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str | None,
        store: TokenStore,
        *,
        connection_id: str,
        token_url: str = TOKEN_URL,
        lease_seconds: float = DEFAULT_LEASE,
    ) -> None:
        self.client_id = _require(client_id, "client_id")
        self._secret = _optional_secret(client_secret)
        if not isinstance(store, TokenStore):
            raise ConfigurationError(
                f"store must implement TokenStore (load, save, delete), not {type(store).__name__}"
            )
        self.store = store
        self.connection_id = _require(connection_id, "connection_id")
        self.token_url = token_url
        if (
            isinstance(lease_seconds, bool)
            or not isinstance(lease_seconds, int | float)
            or not lease_seconds > 0
        ):
            raise ConfigurationError(f"lease_seconds must be > 0, not {lease_seconds!r}")
        self.lease_seconds = float(lease_seconds)
        self._lock = threading.Lock()
        self._rejected: str | None = None
        # The stored version whose refresh token Xero refused for good, and the error said.
        self._refused: tuple[int, ReauthorizationRequired] | None = None

    def _usable(self, stored: StoredToken | None, now: datetime) -> bool:
        return (
            stored is not None
            and not stored.token.expires_within(now, REFRESH_MARGIN)
            and stored.token.access_token != self._rejected
        )

    def access_token(self, transport: Transport, clock: Clock) -> str:
        """See :meth:`Authenticator.access_token`."""
        stored = self.store.load(self.connection_id)
        if stored is not None and self._usable(stored, clock.now()):
            return stored.token.access_token
        with self._lock:
            # Whoever held the lock before us may have refreshed already.
            stored = self.store.load(self.connection_id)
            if stored is not None and self._usable(stored, clock.now()):
                return stored.token.access_token
            self._check_refreshable(stored)
            if isinstance(self.store, RefreshLease):
                return self._single_flight(self.store, transport, clock)
            # Without the lease, processes race: a refusal may be a race lost, not the end.
            return self._refresh(stored, transport, clock, save_wait=flight.SAVE_WAIT)

    def _check_refreshable(self, stored: StoredToken | None) -> StoredToken:
        """``stored``, if a refresh could work; else the ReauthorizationRequired to raise."""
        if stored is None:
            raise ReauthorizationRequired(
                f"reconnect to Xero: no tokens are stored for connection "
                f"{self.connection_id!r}; authorise the app (authorize_url, then exchange_code)"
            )
        if stored.token.refresh_token is None:
            raise ReauthorizationRequired(
                f"reconnect to Xero: connection {self.connection_id!r} has no refresh token "
                "(authorise with the offline_access scope)"
            )
        if self._refused is not None and self._refused[0] == stored.version:
            said = self._refused[1]  # refused already: don't spend another call on it
            raise ReauthorizationRequired(
                str(said), status_code=said.status_code, error_type=said.error_type
            )
        return stored

    def _single_flight(self, lease: RefreshLease, transport: Transport, clock: Clock) -> str:
        """Refresh as the one holder of the store's lease, or wait for that holder's save."""
        holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        limit = 2 * self.lease_seconds
        started = clock.monotonic()
        polls = 0
        while True:
            stored = self.store.load(self.connection_id)
            now = clock.now()
            usable = stored is not None and self._usable(stored, now)
            leased = not usable and lease.acquire_refresh_lease(
                self.connection_id, holder=holder, now=now, seconds=self.lease_seconds
            )
            step = flight.waiting_step(
                usable=usable,
                leased=leased,
                waited=clock.monotonic() - started,
                limit=limit,
                polls=polls,
            )
            if isinstance(step, flight.Use):
                assert stored is not None
                return stored.token.access_token
            if isinstance(step, flight.Wait):
                clock.sleep(step.seconds)
                polls += 1
                continue
            if isinstance(step, flight.Busy):
                log.warning(
                    "connection %s: another process held the token refresh for %.0f s; "
                    "giving up this try",
                    self.connection_id,
                    limit,
                )
                raise TransportError(
                    f"another process has been refreshing the tokens of connection "
                    f"{self.connection_id!r} for {limit:.0f} s without saving; nothing was "
                    "sent, try again later",
                    sent=False,
                )
            try:
                # The holder before us may have saved just before it released the lease.
                latest = self.store.load(self.connection_id)
                if latest is not None and self._usable(latest, clock.now()):
                    return latest.token.access_token
                # No other lease holder is asking Xero (a lease outlasts a token request), so
                # a refusal now means the connection is gone: no wait for another's save.
                return self._refresh(
                    self._check_refreshable(latest), transport, clock, save_wait=0.0
                )
            finally:
                self._release(lease, holder)

    def _release(self, lease: RefreshLease, holder: str) -> None:
        try:
            lease.release_refresh_lease(self.connection_id, holder=holder)
        except BmsXeroError as e:  # it runs out by itself; the refresh itself went fine
            log.warning(
                "connection %s: could not release the token refresh lease (%s); it runs out "
                "by itself",
                self.connection_id,
                type(e).__name__,
            )

    def _refresh(
        self,
        stored: StoredToken | None,
        transport: Transport,
        clock: Clock,
        *,
        save_wait: float,
        again: int = 1,
    ) -> str:
        stored = self._check_refreshable(stored)
        assert stored.token.refresh_token is not None
        request = _token_request(
            self.client_id,
            self._secret,
            [("grant_type", "refresh_token"), ("refresh_token", stored.token.refresh_token)],
            token_url=self.token_url,
        )
        try:
            fresh = _fetch(transport, request, clock, grant="refresh_token")
        except ReauthorizationRequired as refused:
            return self._after_refused(
                stored, refused, transport, clock, save_wait=save_wait, again=again
            )
        if fresh.refresh_token is None:
            # Xero keeps the old refresh token valid when it does not send a new one.
            fresh = TokenSet(
                access_token=fresh.access_token,
                refresh_token=stored.token.refresh_token,
                expires_at=fresh.expires_at,
                scopes=fresh.scopes or stored.token.scopes,
            )
        try:
            # Persist the rotated refresh token before the new access token is used.
            saved = self.store.save(self.connection_id, fresh, expected_version=stored.version)
        except VersionConflict:
            latest = self.store.load(self.connection_id)
            log.debug(
                "token refresh for connection %s lost a race; using the stored tokens",
                self.connection_id,
            )
            if latest is not None and self._usable(latest, clock.now()):
                return latest.token.access_token
            raise
        log.debug(
            "refreshed tokens for connection %s (version %d)", self.connection_id, saved.version
        )
        return saved.token.access_token

    def _after_refused(
        self,
        stored: StoredToken,
        refused: ReauthorizationRequired,
        transport: Transport,
        clock: Clock,
        *,
        save_wait: float,
        again: int,
    ) -> str:
        """``invalid_grant``: use a racing refresher's save if one comes within
        ``save_wait`` seconds, else raise."""
        started = clock.monotonic()
        polls = 0
        while True:
            latest = self.store.load(self.connection_id)
            step = flight.after_refused(
                used_version=stored.version,
                latest_version=None if latest is None else latest.version,
                latest_usable=latest is not None and self._usable(latest, clock.now()),
                waited=clock.monotonic() - started,
                limit=save_wait,
                polls=polls,
            )
            if isinstance(step, flight.Use):
                assert latest is not None
                log.debug(
                    "connection %s: refresh refused after another process rotated the "
                    "tokens; using its tokens",
                    self.connection_id,
                )
                return latest.token.access_token
            if isinstance(step, flight.Wait):
                clock.sleep(step.seconds)
                polls += 1
                continue
            if isinstance(step, flight.Refresh) and again > 0:
                return self._refresh(latest, transport, clock, save_wait=save_wait, again=again - 1)
            if isinstance(step, flight.Reconnect) and latest is not None:
                self._refused = (latest.version, refused)
            raise refused

    def invalidate(self, access_token: str) -> None:
        """See :meth:`Authenticator.invalidate`."""
        self._rejected = access_token

    def __repr__(self) -> str:
        return (
            f"RefreshTokenAuth(client_id={self.client_id!r}, "
            f"client_secret={'<redacted>' if self._secret else '<none: PKCE app>'}, "
            f"connection_id={self.connection_id!r}, store={self.store!r})"
        )


def authorize_url(
    client_id: str,
    redirect_uri: str,
    *,
    state: str,
    scopes: Iterable[str] | str = DEFAULT_SCOPES,
    code_challenge: str | None = None,
    base_url: str = AUTHORIZE_URL,
) -> str:
    """Where to send a person to connect the app to their Xero organisation.

    Args:
        client_id: The app's client id.
        redirect_uri: Where Xero sends the person back (registered on the app).
        state: An unguessable value you check on the way back (CSRF protection).
        scopes: The scopes to ask for (``offline_access`` gives a refresh token).
        code_challenge: A PKCE S256 challenge, for apps that can't keep a secret.
        base_url: The authorise endpoint.
    """
    _require(client_id, "client_id")
    _require(redirect_uri, "redirect_uri")
    _require(state, "state")
    query = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", " ".join(_scope_list(scopes))),
        ("state", state),
    ]
    if code_challenge is not None:
        query += [("code_challenge", code_challenge), ("code_challenge_method", "S256")]
    return f"{base_url}?{urlencode(query)}"


def exchange_code(
    transport: Transport,
    *,
    client_id: str,
    client_secret: str | None,
    code: str,
    redirect_uri: str,
    clock: Clock | None = None,
    code_verifier: str | None = None,
    token_url: str = TOKEN_URL,
    store: TokenStore | None = None,
    connection_id: str | None = None,
) -> TokenSet:
    """Trade the code from the redirect for a token set (and save it, when given a store).

    Args:
        transport: How the token request is sent.
        client_id: The app's client id.
        client_secret: The app's secret; ``""`` or ``None`` for a PKCE app, which has none
            (then ``code_verifier`` is required).
        code: The ``code`` from the redirect.
        redirect_uri: The redirect URI the authorisation used, exactly.
        clock: The time (for the token's expiry).
        code_verifier: The PKCE verifier whose challenge the authorisation sent.
        token_url: The token endpoint.
        store: Save the tokens here, under ``connection_id``.
        connection_id: The key in ``store``.

    Raises:
        ConfigurationError: A missing argument, a malformed verifier, no secret and no
            verifier (nothing is sent).
        ReauthorizationRequired: The code was refused (used, expired, wrong redirect URI or
            verifier).
        AuthError: The client id or secret was refused.
        TransportError: The token endpoint could not be reached (whatever the transport
            raised; ``sent`` says whether the code may have reached Xero and been used).

    .. versionchanged:: Unreleased
        ``client_secret`` may be empty for PKCE apps.
    """
    token, _ = redeem_code(
        transport,
        client_id=client_id,
        client_secret=client_secret,
        code=code,
        redirect_uri=redirect_uri,
        clock=clock,
        code_verifier=code_verifier,
        token_url=token_url,
    )
    if store is not None:
        save_new_tokens(store, _require(connection_id, "connection_id"), token)
    return token


def redeem_code(
    transport: Transport,
    *,
    client_id: str,
    client_secret: str | None,
    code: str,
    redirect_uri: str,
    clock: Clock | None = None,
    code_verifier: str | None = None,
    token_url: str = TOKEN_URL,
) -> tuple[TokenSet, Mapping[str, Any]]:
    """:func:`exchange_code` without the store: the token set and the token endpoint's
    whole JSON answer (for its ``id_token``). Every argument is checked before sending."""
    secret = _optional_secret(client_secret)
    form = [
        ("grant_type", "authorization_code"),
        ("code", _require(code, "code")),
        ("redirect_uri", _require(redirect_uri, "redirect_uri")),
    ]
    if code_verifier is not None:
        form.append(("code_verifier", check_code_verifier(code_verifier)))
    elif not secret:
        raise ConfigurationError(
            "client_secret is empty, so this is a PKCE app: pass the code_verifier whose "
            "challenge the authorisation sent (or the app's client secret)"
        )
    request = _token_request(_require(client_id, "client_id"), secret, form, token_url=token_url)
    clock = clock or SystemClock()
    response = _send(transport, request)
    token = decode_token(
        response.status,
        response.headers,
        response.content,
        now=clock.now(),
        grant="authorization_code",
    )
    log.debug("token endpoint: authorization_code grant -> %s", response.status)
    answer = read_json(response.content)
    return token, answer if isinstance(answer, Mapping) else {}


def save_new_tokens(store: TokenStore, connection_id: str, token: TokenSet) -> None:
    """Save a new authorisation's tokens over whatever ``store`` holds for the connection
    (compare-and-swap, a few times, in case another process writes meanwhile)."""
    for tries_left in (2, 1, 0):
        current = store.load(connection_id)
        version = None if current is None else current.version
        try:
            store.save(connection_id, token, expected_version=version)
            return
        except VersionConflict:
            if not tries_left:
                raise


# --- PKCE (RFC 7636) and revocation -----------------------------------------------------------

#: The characters RFC 7636 allows in a code verifier, which is 43 to 128 of them long.
_VERIFIER_CHARS = frozenset(string.ascii_letters + string.digits + "-._~")


def check_code_verifier(verifier: object) -> str:
    """``verifier``, if RFC 7636 allows it (43-128 of ``A-Z a-z 0-9 - . _ ~``).

    Raises:
        ConfigurationError: It is not (the message never quotes it).
    """
    if (
        not isinstance(verifier, str)
        or not 43 <= len(verifier) <= 128
        or not set(verifier) <= _VERIFIER_CHARS
    ):
        raise ConfigurationError(
            "code_verifier must be 43 to 128 characters of A-Z, a-z, 0-9 and -._~ (RFC 7636); "
            "make one with Pkce.new()"
        )
    return verifier


def code_challenge(verifier: str) -> str:
    """The S256 challenge of a PKCE verifier: ``BASE64URL(SHA256(verifier))``, unpadded."""
    digest = hashlib.sha256(check_code_verifier(verifier).encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@attrs.frozen
class Pkce:
    """A PKCE verifier and its S256 challenge, for one authorisation.

    Send :attr:`challenge` with the authorise URL (``authorize_url(...,
    code_challenge=pkce.challenge)``); keep :attr:`verifier` (never shown in a repr) until
    the redirect comes back and pass it to :func:`exchange_code`.

    Attributes:
        verifier: The secret half (64 random URL-safe characters from :meth:`new`).
        challenge: ``code_challenge(verifier)``.

    .. versionadded:: Unreleased
    """

    verifier: str = attrs.field(repr=False)
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        """A fresh pair from 48 random bytes."""
        return cls.of(secrets.token_urlsafe(48))

    @classmethod
    def of(cls, verifier: str) -> Pkce:
        """The pair for a verifier you already have (checked)."""
        return cls(verifier, code_challenge(verifier))


def revoke_token(
    transport: Transport,
    *,
    client_id: str,
    client_secret: str | None,
    token: str,
    revocation_url: str = REVOCATION_URL,
) -> None:
    """Revoke a refresh token (``POST /connect/revocation``); Xero then removes the
    connections authorised with it.

    Args:
        transport: How the request is sent.
        client_id: The app's client id.
        client_secret: The app's secret; ``""`` or ``None`` for a PKCE app.
        token: The refresh token.
        revocation_url: The revocation endpoint.

    Raises:
        AuthError: The client id or secret was refused.
        TransportError: The endpoint could not be reached.

    .. versionadded:: Unreleased
    """
    request = _token_request(
        _require(client_id, "client_id"),
        _optional_secret(client_secret),
        [("token", _require(token, "token")), ("token_type_hint", "refresh_token")],
        token_url=revocation_url,
    )
    response = _send(transport, request)
    log.debug("revocation endpoint -> %s", response.status)
    if 200 <= response.status <= 299:
        return
    answer: Any = None
    with contextlib.suppress(UnexpectedResponse):
        answer = read_json(response.content)
    code = answer.get("error") if isinstance(answer, Mapping) else None
    if code in ("invalid_client", "unauthorized_client"):
        raise AuthError(
            f"Xero refused the app's credentials ({code}) when revoking the token; check the "
            "client id and secret",
            status_code=response.status,
            error_type=code,
        )
    raise decode_error(response.status, response.headers, response.content, now=_utc_now())


def _utc_now() -> datetime:
    return SystemClock().now()
