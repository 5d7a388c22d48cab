"""OAuth 2.0 with Xero: custom connections, refresh-token connections, the authorise flow.

Two ways to get an access token, both behind the small :class:`Authenticator` protocol:

* :class:`ClientCredentials` for a custom connection (one organisation, no refresh token):
  asks the token endpoint and caches the token until a minute before it expires.
* :class:`RefreshTokenAuth` for an app a person authorised: tokens live in a
  :class:`~bms_xero.storage._tokens.TokenStore`. Only one refresh runs at a time per
  connection (a lock here, compare-and-swap in the store across processes); the rotated
  refresh token is saved *before* the new access token is used; a racer that loses the
  compare-and-swap uses the winner's tokens instead of refreshing again; a refresh Xero
  rejects with ``invalid_grant`` raises :class:`~bms_xero.errors.ReauthorizationRequired`.

:func:`authorize_url` and :func:`exchange_code` cover the first connection. No secret or
token ever appears in a repr, a log line or an exception message, and whatever a custom
transport raises on the token call becomes a :class:`~bms_xero.errors.TransportError`
naming only the exception's type (as on API calls).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import socket
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlencode

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
from bms_xero.storage._tokens import StoredToken, TokenSet, TokenStore
from bms_xero.transport import Headers, Request, Response, Transport
from bms_xero.xero._calls import USER_AGENT
from bms_xero.xero._decode import decode_error, read_json

__all__ = [
    "AUTHORIZE_URL",
    "DEFAULT_SCOPES",
    "TOKEN_URL",
    "Authenticator",
    "ClientCredentials",
    "RefreshTokenAuth",
    "authorize_url",
    "exchange_code",
]

log = logging.getLogger("bms_xero.xero.auth")

AUTHORIZE_URL = "https://login.xero.com/identity/connect/authorize"
TOKEN_URL = "https://identity.xero.com/connect/token"  # noqa: S105 - a URL, not a secret
#: The granular scopes bms_xero needs (mandatory for apps created from March 2026).
DEFAULT_SCOPES: tuple[str, ...] = (
    "openid",
    "profile",
    "email",
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


def _token_request(
    client_id: str, client_secret: str, form: Sequence[tuple[str, str]], *, token_url: str
) -> Request:
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
    return Request(
        "POST",
        token_url,
        Headers(
            [
                ("Authorization", f"Basic {basic}"),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Accept", "application/json"),
                ("User-Agent", USER_AGENT),
            ]
        ),
        urlencode(form).encode("ascii"),
    )


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
                "are single-use and expire within minutes, so start the authorisation again",
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

    Share one instance (or one :class:`~bms_xero.xero.XeroClient` and its ``with_tenant``
    copies) per connection in a process: its lock makes refreshes single-flight. Separate
    processes are kept apart by the store's compare-and-swap: the loser re-reads and uses the
    winner's tokens, and a refresh refused because another process already rotated the token
    is resolved the same way.

    Args:
        client_id: The app's client id.
        client_secret: The app's secret (never shown in reprs or errors).
        store: Where the connection's tokens live.
        connection_id: The key of this connection in ``store``.
        token_url: The token endpoint.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        store: TokenStore,
        *,
        connection_id: str,
        token_url: str = TOKEN_URL,
    ) -> None:
        self.client_id = _require(client_id, "client_id")
        self._secret = _require(client_secret, "client_secret")
        if not isinstance(store, TokenStore):
            raise ConfigurationError(
                f"store must implement TokenStore (load, save, delete), not {type(store).__name__}"
            )
        self.store = store
        self.connection_id = _require(connection_id, "connection_id")
        self.token_url = token_url
        self._lock = threading.Lock()
        self._rejected: str | None = None

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
            return self._refresh(stored, transport, clock)

    def _refresh(self, stored: StoredToken | None, transport: Transport, clock: Clock) -> str:
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
        request = _token_request(
            self.client_id,
            self._secret,
            [("grant_type", "refresh_token"), ("refresh_token", stored.token.refresh_token)],
            token_url=self.token_url,
        )
        try:
            fresh = _fetch(transport, request, clock, grant="refresh_token")
        except ReauthorizationRequired:
            # Another process may have rotated the token while we asked: use its tokens.
            latest = self.store.load(self.connection_id)
            if (
                latest is not None
                and latest.version != stored.version
                and self._usable(latest, clock.now())
            ):
                return latest.token.access_token
            raise
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

    def invalidate(self, access_token: str) -> None:
        """See :meth:`Authenticator.invalidate`."""
        self._rejected = access_token

    def __repr__(self) -> str:
        return (
            f"RefreshTokenAuth(client_id={self.client_id!r}, client_secret=<redacted>, "
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
    client_secret: str,
    code: str,
    redirect_uri: str,
    clock: Clock | None = None,
    code_verifier: str | None = None,
    token_url: str = TOKEN_URL,
    store: TokenStore | None = None,
    connection_id: str | None = None,
) -> TokenSet:
    """Trade the code from the redirect for a token set (and save it, when given a store).

    Raises:
        ReauthorizationRequired: The code was refused (used, expired, wrong redirect URI).
        AuthError: The client id or secret was refused.
        TransportError: The token endpoint could not be reached (whatever the transport
            raised; ``sent`` says whether the code may have reached Xero and been used).
    """
    form = [
        ("grant_type", "authorization_code"),
        ("code", _require(code, "code")),
        ("redirect_uri", _require(redirect_uri, "redirect_uri")),
    ]
    if code_verifier is not None:
        form.append(("code_verifier", code_verifier))
    request = _token_request(
        _require(client_id, "client_id"),
        _require(client_secret, "client_secret"),
        form,
        token_url=token_url,
    )
    token = _fetch(transport, request, clock or SystemClock(), grant="authorization_code")
    if store is not None:
        key = _require(connection_id, "connection_id")
        for tries_left in (2, 1, 0):
            current = store.load(key)
            version = None if current is None else current.version
            try:
                store.save(key, token, expected_version=version)
                break
            except VersionConflict:
                if not tries_left:
                    raise
    return token
