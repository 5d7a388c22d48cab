"""Connecting an app to Xero: the authorization-code flow with ``state`` and PKCE, end to end.

Three steps, so that a web host can run them from two routes and ``bms-xero connect`` from a
terminal:

1. :func:`start_authorization` makes the authorise URL and remembers what the way back must
   match: a fresh ``state`` (CSRF protection) and a PKCE verifier (its S256 challenge goes in
   the URL). Keep the :class:`AuthorizationRequest` (a host: in the person's session).
2. The person approves in Xero, which redirects to ``redirect_uri?code=...&state=...``.
3. :func:`finish_authorization` checks the redirect (:func:`read_callback`: the state, an
   ``error=access_denied``, a missing code), trades the code for tokens, saves them, and says
   which authorisation this was (``auth_event_id``), so that the organisations it connected
   can be told apart in ``/connections``.

The id_token and access token are read without checking their signatures: bms_xero uses
their claims only to mark which organisations were just connected, never to decide who
someone is. Nothing here puts a code, verifier or token in a repr, a log line or an error.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs

from bms_xero.clock import Clock
from bms_xero.errors import AuthorizationFailed, ConfigurationError
from bms_xero.storage._tokens import TokenSet, TokenStore
from bms_xero.transport import Transport
from bms_xero.xero._auth import (
    AUTHORIZE_URL,
    DEFAULT_SCOPES,
    TOKEN_URL,
    Pkce,
    _require,
    _scope_list,
    authorize_url,
    redeem_code,
    save_new_tokens,
)
from bms_xero.xero._scopes import jwt_claims

__all__ = [
    "Authorization",
    "AuthorizationRequest",
    "auth_event_of",
    "finish_authorization",
    "read_callback",
    "start_authorization",
]


@attrs.frozen(kw_only=True)
class AuthorizationRequest:
    """One authorisation in progress: where to send the person, and what the way back must
    match.

    Attributes:
        url: The authorise URL to open in the person's browser (not in the repr: it
            carries the state).
        client_id: The app's client id.
        redirect_uri: Where Xero sends the person back (registered on the app, exactly).
        scopes: The scopes asked for.
        state: The value the redirect must carry back (never shown in a repr).
        code_verifier: The PKCE verifier (never shown in a repr); ``None`` without PKCE.

    .. versionadded:: Unreleased
    """

    url: str = attrs.field(repr=False)
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str = attrs.field(repr=False)
    code_verifier: str | None = attrs.field(repr=False, default=None)


@attrs.frozen(kw_only=True)
class Authorization:
    """What a finished authorisation gave.

    Attributes:
        token: The token set (saved to the store, when one was given).
        auth_event_id: The authorisation's id, as ``/connections`` lists it on each
            organisation it connected (from the id_token's ``authEventId``, else the
            access token's ``authentication_event_id``); ``None`` when neither says.
        id_token: The id_token's claims (the person's name and email with the ``profile``
            and ``email`` scopes), unverified; empty without the ``openid`` scope.

    .. versionadded:: Unreleased
    """

    token: TokenSet
    auth_event_id: str | None
    id_token: Mapping[str, Any] = attrs.field(factory=dict, repr=False)


def start_authorization(
    client_id: str,
    redirect_uri: str,
    *,
    scopes: Iterable[str] | str = DEFAULT_SCOPES,
    pkce: bool = True,
    authorize_url_base: str = AUTHORIZE_URL,
) -> AuthorizationRequest:
    """A new authorisation: a fresh ``state``, a PKCE pair, and the authorise URL.

    Args:
        client_id: The app's client id.
        redirect_uri: The app's registered redirect URI (an ``http(s)`` URL).
        scopes: The scopes to ask for (default: exactly those bms_xero needs).
        pkce: Send a PKCE challenge (required for apps without a secret; harmless and
            recommended for the others).
        authorize_url_base: The authorise endpoint (a ``FakeServer``'s ``authorize_url``).

    Raises:
        ConfigurationError: A missing client id, a redirect URI that is not an absolute
            http(s) URL, a malformed scope.
    """
    _require(client_id, "client_id")
    parts = urlsplit(_require(redirect_uri, "redirect_uri"))
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise ConfigurationError(
            "redirect_uri must be an absolute http(s) URL without a #fragment, registered on "
            "the app in the Xero developer portal"
        )
    chosen = _scope_list(scopes)
    state = secrets.token_urlsafe(24)
    pair = Pkce.new() if pkce else None
    url = authorize_url(
        client_id,
        redirect_uri,
        state=state,
        scopes=chosen,
        code_challenge=None if pair is None else pair.challenge,
        base_url=authorize_url_base,
    )
    return AuthorizationRequest(
        url=url,
        client_id=client_id,
        redirect_uri=redirect_uri,
        scopes=chosen,
        state=state,
        code_verifier=None if pair is None else pair.verifier,
    )


def _parameters(callback: str | Mapping[str, str]) -> dict[str, str]:
    if isinstance(callback, Mapping):
        return {str(k): str(v) for k, v in callback.items()}
    if not isinstance(callback, str):
        raise ConfigurationError("the callback must be the redirect's URL or its parameters")
    text = callback.strip()
    query = urlsplit(text).query if "?" in text or "://" in text else text
    return dict(parse_qsl(query, keep_blank_values=True))


def read_callback(request: AuthorizationRequest, callback: str | Mapping[str, str]) -> str:
    """The authorization code from the redirect, once it is known to belong to ``request``.

    Args:
        request: The authorisation it must belong to.
        callback: The redirect's whole URL (``https://host/callback?code=...&state=...``),
            its query string, or its parameters.

    Raises:
        AuthorizationFailed: The state differs (checked first, in constant time), Xero sent
            an error (``reason="denied"`` for ``access_denied``), or there is no code.
    """
    params = _parameters(callback)
    state = params.get("state", "")
    if not hmac.compare_digest(state.encode(), request.state.encode()):
        raise AuthorizationFailed("state_mismatch")
    error = params.get("error")
    if error:
        description = params.get("error_description") or None
        reason = "denied" if error == "access_denied" else "error"
        raise AuthorizationFailed(reason, oauth_error=error[:64], description=description)
    code = params.get("code", "")
    if not code.strip():
        raise AuthorizationFailed("no_code")
    return code


def auth_event_of(token: TokenSet, id_token: Mapping[str, Any]) -> str | None:
    """Which authorisation a token set came from: the id_token's ``authEventId`` (or
    ``authentication_event_id``), else the access token's ``authentication_event_id``
    (where Xero puts it)."""
    access = jwt_claims(token.access_token) or {}
    for value in (
        id_token.get("authEventId"),
        id_token.get("authentication_event_id"),
        access.get("authentication_event_id"),
    ):
        if isinstance(value, str) and value.strip():
            return value
    return None


def finish_authorization(
    transport: Transport,
    request: AuthorizationRequest,
    callback: str | Mapping[str, str],
    *,
    client_secret: str | None,
    clock: Clock | None = None,
    token_url: str = TOKEN_URL,
    store: TokenStore | None = None,
    connection_id: str | None = None,
) -> Authorization:
    """Check the redirect, trade its code for tokens (with the PKCE verifier) and save them.

    Args:
        transport: How the token request is sent.
        request: The authorisation from :func:`start_authorization`.
        callback: The redirect (see :func:`read_callback`).
        client_secret: The app's secret; ``""`` or ``None`` for a PKCE app.
        clock: The time.
        token_url: The token endpoint.
        store: Save the tokens here (over what it holds for ``connection_id``).
        connection_id: The key in ``store``.

    Raises:
        AuthorizationFailed: The redirect does not belong to ``request``, or the person
            declined (nothing is sent).
        ConfigurationError: A store without a connection id (nothing is sent).
        ReauthorizationRequired: Xero refused the code (used, expired, another verifier).
        AuthError: Xero refused the app's credentials.
        TransportError: The token endpoint could not be reached.
    """
    if store is not None:
        _require(connection_id, "connection_id")
    code = read_callback(request, callback)
    token, answer = redeem_code(
        transport,
        client_id=request.client_id,
        client_secret=client_secret,
        code=code,
        redirect_uri=request.redirect_uri,
        clock=clock,
        code_verifier=request.code_verifier,
        token_url=token_url,
    )
    claims = jwt_claims(answer.get("id_token")) or {}
    if store is not None:
        assert connection_id is not None
        save_new_tokens(store, connection_id, token)
    return Authorization(token=token, auth_event_id=auth_event_of(token, claims), id_token=claims)
