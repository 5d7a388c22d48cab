"""Xero's identity service, in memory: the token endpoint, access tokens and connections.

One app (a client id and secret) is registered, and beside it a PKCE app
(:attr:`Identity.pkce_client_id`, no secret: it names itself in the form and must send a PKCE
challenge). ``client_credentials`` (a custom connection) gives tokens for every organisation
connected to the app; ``authorization_code`` gives tokens for the organisations chosen in
:meth:`Identity.authorize` (the consent step), plus a refresh token and, with ``openid``, an
id_token carrying ``authEventId``; a code is single-use and bound to its client, redirect URI
and PKCE challenge. Revoking a refresh token removes the connections its authorisation made. Refresh
tokens rotate on every use; the used one keeps working for a grace period (in case the answer
was lost), then ``invalid_grant``. Nothing here ever puts a token or secret in a repr.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from bms_xero.clock import Clock
from bms_xero.testing._ids import Ids

__all__ = ["FakeConnection", "Grant", "Identity", "TokenAnswer", "pkce_challenge", "scope_allows"]

_DEFAULT_SCOPE = (
    "accounting.invoices accounting.payments accounting.contacts accounting.settings "
    "accounting.transactions"
)


@attrs.define(kw_only=True)
class FakeConnection:
    """The app's connection to one organisation (what ``/connections`` lists)."""

    connection_id: str
    tenant_id: str
    auth_event_id: str
    created_at: datetime


@attrs.define(kw_only=True)
class Grant:
    """What an access token allows.

    ``tenant_ids`` is ``None`` for a custom connection: every organisation connected to the app.
    """

    client_id: str
    tenant_ids: frozenset[str] | None
    scope: str
    auth_event_id: str
    expires_mono: float
    expires_at: datetime


@attrs.define(kw_only=True)
class _Refresh:
    client_id: str
    tenant_ids: frozenset[str]
    scope: str
    auth_event_id: str
    expires_mono: float
    used_mono: float | None = None


@attrs.define(kw_only=True)
class _Code:
    tenant_ids: frozenset[str]
    scope: str
    auth_event_id: str
    expires_mono: float
    client_id: str | None = None
    redirect_uri: str | None = None
    challenge: str | None = attrs.field(default=None, repr=False)


@attrs.frozen
class TokenAnswer:
    """The token endpoint's answer.

    Attributes:
        status: HTTP status.
        body: JSON body.
    """

    status: int
    body: dict[str, Any] = attrs.field(repr=False)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _error(status: int, error: str) -> TokenAnswer:
    return TokenAnswer(status, {"error": error})


class Identity:
    """Tokens, codes and connections for the fake's one app.

    Args:
        clock: The fake's clock.
        ids: The fake's id stream.
        token_lifetime: Seconds an access token lasts.
        refresh_grace: Seconds a used refresh token keeps working.
        refresh_lifetime: Seconds an unused refresh token lasts.
        code_lifetime: Seconds an authorization code lasts.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        ids: Ids,
        token_lifetime: float,
        refresh_grace: float,
        refresh_lifetime: float = 60 * 86_400,
        code_lifetime: float = 300,
    ) -> None:
        self._clock = clock
        self._ids = ids
        self.token_lifetime = token_lifetime
        self.refresh_grace = refresh_grace
        self.refresh_lifetime = refresh_lifetime
        self.code_lifetime = code_lifetime
        self.client_id = ids.client_id()
        self.client_secret = ids.secret(24)
        # Derived, not drawn from the id stream, so seeded ids stay what they were.
        digest = hashlib.sha256(f"pkce:{self.client_id}".encode()).hexdigest()
        self.pkce_client_id = digest[:32].upper()
        self.connections: dict[str, FakeConnection] = {}  # by tenant id
        self._access: dict[str, Grant] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._codes: dict[str, _Code] = {}

    def __repr__(self) -> str:
        return f"Identity(client_id={self.client_id!r}, connections={len(self.connections)})"

    # --- connections ---------------------------------------------------------------------

    def connect(self, tenant_id: str, auth_event_id: str | None = None) -> FakeConnection:
        """Connect the app to an organisation (idempotent)."""
        found = self.connections.get(tenant_id)
        if found is None:
            found = FakeConnection(
                connection_id=self._ids.guid(),
                tenant_id=tenant_id,
                auth_event_id=auth_event_id or self._ids.guid(),
                created_at=self._clock.now(),
            )
            self.connections[tenant_id] = found
        elif auth_event_id is not None:
            found.auth_event_id = auth_event_id  # re-authorising moves the connection
        return found

    def disconnect(self, tenant_id: str) -> bool:
        """Remove the app's connection to an organisation; False if it had none."""
        return self.connections.pop(tenant_id, None) is not None

    def covers(self, grant: Grant, tenant_id: str) -> bool:
        """Whether a token may call the API for this organisation."""
        if tenant_id not in self.connections:
            return False
        return grant.tenant_ids is None or tenant_id in grant.tenant_ids

    def visible(self, grant: Grant, auth_event_id: str | None = None) -> list[FakeConnection]:
        """The connections a token can see (optionally only one authorization's)."""
        return [
            c
            for c in self.connections.values()
            if self.covers(grant, c.tenant_id)
            and (auth_event_id is None or c.auth_event_id == auth_event_id)
        ]

    # --- codes and tokens ----------------------------------------------------------------

    def authorize(
        self,
        tenant_ids: Iterable[str],
        scope: str | None = None,
        *,
        client_id: str | None = None,
        redirect_uri: str | None = None,
        code_challenge: str | None = None,
        keep: Iterable[str] = (),
    ) -> str:
        """An authorization code for the given organisations (which become connected).

        ``client_id``, ``redirect_uri`` and ``code_challenge`` (S256), when given, bind the
        code: redeeming it needs the same client and redirect URI and the verifier. ``keep``
        names organisations connected earlier that the tokens cover too, their connections
        (and ``authEventId``) left as they are.
        """
        chosen = frozenset(tenant_ids)
        event = self._ids.guid()
        for tenant_id in chosen:
            self.connect(tenant_id, event)
        code = self._ids.secret(16)
        self._codes[code] = _Code(
            tenant_ids=chosen | {t for t in keep if t in self.connections},
            scope=scope or f"openid profile email offline_access {_DEFAULT_SCOPE}",
            auth_event_id=event,
            expires_mono=self._clock.monotonic() + self.code_lifetime,
            client_id=client_id,
            redirect_uri=redirect_uri,
            challenge=code_challenge,
        )
        return code

    def check_bearer(self, authorization: str | None) -> Grant | str:
        """The grant behind a ``Bearer`` header, or the 401 detail to answer with."""
        if not authorization or not authorization.startswith("Bearer "):
            return "AuthenticationUnsuccessful"
        grant = self._access.get(authorization[len("Bearer ") :].strip())
        if grant is None:
            return "AuthenticationUnsuccessful"
        if self._clock.monotonic() >= grant.expires_mono:
            stamp = grant.expires_at.strftime("%m/%d/%Y %H:%M:%S")
            return f"TokenExpired: token expired at {stamp}"
        return grant

    def token(self, form: Mapping[str, str], authorization: str | None) -> TokenAnswer:
        """Answer ``POST /connect/token`` (form already decoded)."""
        client = self._client(form, authorization)
        if client is None:
            return _error(401, "invalid_client")
        grant_type = form.get("grant_type")
        if grant_type == "client_credentials" and client == self.pkce_client_id:
            return _error(400, "unauthorized_client")  # a PKCE app has no custom connection
        if grant_type == "client_credentials":
            scope = form.get("scope") or _DEFAULT_SCOPE
            return self._issue(client, None, scope, self._ids.guid(), refresh=False)
        if grant_type == "authorization_code":
            return self._redeem(client, form.get("code", ""), form)
        if grant_type == "refresh_token":
            return self._rotate(client, form.get("refresh_token", ""))
        return _error(400, "unsupported_grant_type")

    def revoke(self, form: Mapping[str, str], authorization: str | None) -> TokenAnswer:
        """Answer ``POST /connect/revocation``: forget a refresh token (and every token of its
        authorisation), and remove the connections that authorisation made. An unknown token
        is answered 200 too (RFC 7009)."""
        client = self._client(form, authorization)
        if client is None:
            return _error(401, "invalid_client")
        found = self._refresh.get(form.get("token", ""))
        if found is None or found.client_id != client:
            return TokenAnswer(200, {})
        event = found.auth_event_id
        for token in [t for t, r in self._refresh.items() if r.auth_event_id == event]:
            del self._refresh[token]
        for tenant_id in found.tenant_ids:
            connection = self.connections.get(tenant_id)
            if connection is not None and connection.auth_event_id == event:
                self.disconnect(tenant_id)
        return TokenAnswer(200, {})

    def _client(self, form: Mapping[str, str], authorization: str | None) -> str | None:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            try:
                decoded = base64.b64decode(authorization[len("Basic ") :], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            client_id, _, secret = decoded.partition(":")
        if client_id == self.client_id and secret == self.client_secret:
            return client_id
        if client_id == self.pkce_client_id and not secret:
            return client_id  # the PKCE app has no secret to send
        return None

    def _redeem(self, client: str, code: str, form: Mapping[str, str]) -> TokenAnswer:
        found = self._codes.pop(code, None)  # single-use, even when refused below
        if found is None or self._clock.monotonic() >= found.expires_mono:
            return _error(400, "invalid_grant")
        if found.client_id is not None and found.client_id != client:
            return _error(400, "invalid_grant")
        if found.redirect_uri is not None and form.get("redirect_uri") != found.redirect_uri:
            return _error(400, "invalid_grant")
        verifier = form.get("code_verifier")
        if found.challenge is not None and (
            verifier is None or pkce_challenge(verifier) != found.challenge
        ):
            return _error(400, "invalid_grant")
        if found.challenge is None and client == self.pkce_client_id:
            return _error(400, "invalid_grant")
        return self._issue(client, found.tenant_ids, found.scope, found.auth_event_id, refresh=True)

    def _rotate(self, client: str, token: str) -> TokenAnswer:
        found = self._refresh.get(token)
        now = self._clock.monotonic()
        if found is None or found.client_id != client or now >= found.expires_mono:
            return _error(400, "invalid_grant")
        if found.used_mono is not None and now >= found.used_mono + self.refresh_grace:
            del self._refresh[token]
            return _error(400, "invalid_grant")
        if found.used_mono is None:
            found.used_mono = now
        return self._issue(client, found.tenant_ids, found.scope, found.auth_event_id, refresh=True)

    def _issue(
        self,
        client: str,
        tenant_ids: frozenset[str] | None,
        scope: str,
        auth_event_id: str,
        *,
        refresh: bool,
    ) -> TokenAnswer:
        now_mono = self._clock.monotonic()
        now = self._clock.now()
        expires_at = now + timedelta(seconds=self.token_lifetime)
        issued = int(now.timestamp())
        payload = {
            "nbf": issued,
            "exp": int(expires_at.timestamp()),
            "iss": "https://identity.xero.com",
            "aud": "https://identity.xero.com/resources",
            "client_id": client,
            "authentication_event_id": auth_event_id,
            "scope": scope.split(),
            "jti": self._ids.secret(16),
        }
        header = {"alg": "RS256", "kid": "fake-xero", "typ": "JWT"}
        access = ".".join(
            (
                _b64(json.dumps(header).encode()),
                _b64(json.dumps(payload).encode()),
                _b64(bytes.fromhex(self._ids.secret(32))),
            )
        )
        self._access[access] = Grant(
            client_id=client,
            tenant_ids=tenant_ids,
            scope=scope,
            auth_event_id=auth_event_id,
            expires_mono=now_mono + self.token_lifetime,
            expires_at=expires_at,
        )
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": int(self.token_lifetime),
            "token_type": "Bearer",
            "scope": scope,
        }
        if tenant_ids is not None and "openid" in scope.split():
            body["id_token"] = self._id_token(client, auth_event_id, issued)
        if refresh and tenant_ids is not None:
            token = self._ids.secret(32)
            self._refresh[token] = _Refresh(
                client_id=client,
                tenant_ids=tenant_ids,
                scope=scope,
                auth_event_id=auth_event_id,
                expires_mono=now_mono + self.refresh_lifetime,
            )
            body["refresh_token"] = token
        return TokenAnswer(200, body)

    def _id_token(self, client: str, auth_event_id: str, issued: int) -> str:
        """An OpenID Connect id_token for the fake's one user, naming the authorisation
        (``authEventId``). Built from hashes, so it draws nothing from the id stream."""
        user = hashlib.sha256(f"user:{self.client_id}".encode()).hexdigest()
        claims = {
            "nbf": issued,
            "exp": issued + 300,
            "iat": issued,
            "iss": "https://identity.xero.com",
            "aud": client,
            "sub": user[:32],
            "xero_userid": f"{user[:8]}-{user[8:12]}-{user[12:16]}-{user[16:20]}-{user[20:32]}",
            "preferred_username": "demo.user@example.com",
            "email": "demo.user@example.com",
            "given_name": "Demo",
            "family_name": "User",
            "authEventId": auth_event_id,
        }
        header = {"alg": "RS256", "kid": "fake-xero", "typ": "JWT"}
        payload = _b64(json.dumps(claims).encode())
        signature = _b64(hashlib.sha256(f"{payload}:{self.client_secret}".encode()).digest())
        return ".".join((_b64(json.dumps(header).encode()), payload, signature))


def pkce_challenge(verifier: str) -> str:
    """The S256 challenge of a PKCE verifier (RFC 7636), as Xero computes it."""
    return _b64(hashlib.sha256(verifier.encode("ascii", "replace")).digest())


# The accounting resources (first path segment, lower case) and the granular family whose
# scope covers each: the fake's own reading of Xero's granular scopes (xero-api.md 11, 14).
_FAMILIES = {
    **dict.fromkeys(
        ("invoices", "creditnotes", "items", "quotes", "repeatinginvoices", "purchaseorders"),
        "invoices",
    ),
    **dict.fromkeys(("payments", "batchpayments", "overpayments", "prepayments"), "payments"),
    **dict.fromkeys(("contacts", "contactgroups"), "contacts"),
    **dict.fromkeys(
        (
            "accounts",
            "taxrates",
            "currencies",
            "organisation",
            "organisations",
            "trackingcategories",
            "brandingthemes",
        ),
        "settings",
    ),
}


def scope_allows(scope: str, method: str, path: str) -> bool:
    """Whether a token granted ``scope`` may make this accounting call.

    A write needs ``accounting.<family>``; a read also accepts ``accounting.<family>.read``.
    The legacy ``accounting.transactions`` (``.read`` for reads) covers invoices and
    payments. Resources outside the four families are not checked.
    """
    family = _FAMILIES.get(path.strip("/").split("/", 1)[0].lower())
    if family is None:
        return True
    granted = set(scope.split())
    read = method.upper() in ("GET", "HEAD")
    wanted = {f"accounting.{family}"}
    if family in ("invoices", "payments"):
        wanted.add("accounting.transactions")
    if read:
        wanted |= {f"{w}.read" for w in wanted}
    return bool(granted & wanted)
