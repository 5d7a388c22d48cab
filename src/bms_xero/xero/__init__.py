"""Talking to Xero: the typed :class:`XeroClient`, OAuth, rate limits and retries.

Layers inside this package, from the outside in:

- :class:`XeroClient` (``_client``): the calls bms_xero makes, each paced by a
  :class:`RateLimiter` (``_limits``), retried per a :class:`RetryPolicy` (``_retry``) and
  authenticated by an :class:`Authenticator` (``_auth``).
- A sans-I/O core: ``_calls`` builds requests, ``_decode`` reads answers (and turns any
  error answer into a typed error with :func:`decode_error`). Neither does I/O.
- Below it, :mod:`bms_xero.transport` sends the bytes.

Quick start (a custom connection)::

    from bms_xero.xero import XeroClient

    client = XeroClient.from_client_credentials(client_id, client_secret)
    org = client.get_organisation()

An app a person connects: :func:`start_authorization`, then :func:`finish_authorization` on
the redirect (``_connect``), then :meth:`XeroClient.from_token_store`.
"""

from bms_xero.xero._auth import (
    AUTHORIZE_URL,
    DEFAULT_SCOPES,
    REVOCATION_URL,
    TOKEN_URL,
    Authenticator,
    ClientCredentials,
    Pkce,
    RefreshTokenAuth,
    authorize_url,
    code_challenge,
    exchange_code,
    revoke_token,
)
from bms_xero.xero._calls import (
    API_BASE,
    CONNECTIONS_URL,
    MAX_BATCH,
    MAX_IDEMPOTENCY_KEY,
    MAX_PAGE_SIZE,
)
from bms_xero.xero._client import XeroClient
from bms_xero.xero._connect import (
    Authorization,
    AuthorizationRequest,
    finish_authorization,
    read_callback,
    start_authorization,
)
from bms_xero.xero._decode import decode_error
from bms_xero.xero._limits import LimitState, RateLimiter, RateLimits
from bms_xero.xero._models import (
    Connection,
    ContactResult,
    CreditNoteResult,
    InvoiceResult,
    Page,
)
from bms_xero.xero._retry import RetryPolicy
from bms_xero.xero._scopes import CALL_SCOPES

__all__ = [
    "API_BASE",
    "AUTHORIZE_URL",
    "CALL_SCOPES",
    "CONNECTIONS_URL",
    "DEFAULT_SCOPES",
    "MAX_BATCH",
    "MAX_IDEMPOTENCY_KEY",
    "MAX_PAGE_SIZE",
    "REVOCATION_URL",
    "TOKEN_URL",
    "Authenticator",
    "Authorization",
    "AuthorizationRequest",
    "ClientCredentials",
    "Connection",
    "ContactResult",
    "CreditNoteResult",
    "InvoiceResult",
    "LimitState",
    "Page",
    "Pkce",
    "RateLimiter",
    "RateLimits",
    "RefreshTokenAuth",
    "RetryPolicy",
    "XeroClient",
    "authorize_url",
    "code_challenge",
    "decode_error",
    "exchange_code",
    "finish_authorization",
    "read_callback",
    "revoke_token",
    "start_authorization",
]
