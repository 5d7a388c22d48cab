"""Xero's identity service, in memory: the token endpoint, access tokens and connections.

One app (a client id and secret) is registered. ``client_credentials`` (a custom connection)
gives tokens for every organisation connected to the app; ``authorization_code`` gives tokens
for the organisations chosen in :meth:`Identity.authorize`, plus a refresh token. Refresh
tokens rotate on every use; the used one keeps working for a grace period (in case the answer
was lost), then ``invalid_grant``. Nothing here ever puts a token or secret in a repr.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from bms_xero.clock import Clock
from bms_xero.testing._ids import Ids

__all__ = ["FakeConnection", "Grant", "Identity", "TokenAnswer"]

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

    def authorize(self, tenant_ids: Iterable[str], scope: str | None = None) -> str:
        """An authorization code for the given organisations (which become connected)."""
        chosen = frozenset(tenant_ids)
        event = self._ids.guid()
        for tenant_id in chosen:
            self.connect(tenant_id, event)
        code = self._ids.secret(16)
        self._codes[code] = _Code(
            tenant_ids=chosen,
            scope=scope or f"openid profile email offline_access {_DEFAULT_SCOPE}",
            auth_event_id=event,
            expires_mono=self._clock.monotonic() + self.code_lifetime,
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
        if grant_type == "client_credentials":
            scope = form.get("scope") or _DEFAULT_SCOPE
            return self._issue(client, None, scope, self._ids.guid(), refresh=False)
        if grant_type == "authorization_code":
            return self._redeem(client, form.get("code", ""))
        if grant_type == "refresh_token":
            return self._rotate(client, form.get("refresh_token", ""))
        return _error(400, "unsupported_grant_type")

    def revoke(self, form: Mapping[str, str], authorization: str | None) -> TokenAnswer:
        """Answer ``POST /connect/revocation``: forget a refresh token."""
        if self._client(form, authorization) is None:
            return _error(401, "invalid_client")
        self._refresh.pop(form.get("token", ""), None)
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
        return None

    def _redeem(self, client: str, code: str) -> TokenAnswer:
        found = self._codes.pop(code, None)
        if found is None or self._clock.monotonic() >= found.expires_mono:
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
