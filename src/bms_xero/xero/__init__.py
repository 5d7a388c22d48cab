"""Talking to Xero: the typed :class:`XeroClient`, OAuth, rate limits and retries.

Layers inside this package, from the outside in:

- :class:`XeroClient` (``_client``): the calls bms_xero makes, each paced by a
  :class:`RateLimiter` (``_limits``), retried per a :class:`RetryPolicy` (``_retry``) and
  authenticated by an :class:`Authenticator` (``_auth``). The limiter keeps each
  organisation's budget in a :class:`RateBudgetBackend` (``_budget``): this process's by
  default, or one shared by every process (``RedisRateBudget``, ``PostgresRateBudget``,
  imported only when used).
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

from typing import TYPE_CHECKING, Any

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
from bms_xero.xero._budget import (
    BudgetReadings,
    InProcessRateBudget,
    RateBudgetBackend,
    RateBudgetUnavailable,
    RequestStart,
    SentRequest,
    SlotLease,
    XeroReading,
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

if TYPE_CHECKING:
    from bms_xero.xero._budget_postgres import PostgresRateBudget
    from bms_xero.xero._budget_redis import RedisRateBudget

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
    "BudgetReadings",
    "ClientCredentials",
    "Connection",
    "ContactResult",
    "CreditNoteResult",
    "InProcessRateBudget",
    "InvoiceResult",
    "LimitState",
    "Page",
    "Pkce",
    "PostgresRateBudget",
    "RateBudgetBackend",
    "RateBudgetUnavailable",
    "RateLimiter",
    "RateLimits",
    "RedisRateBudget",
    "RefreshTokenAuth",
    "RequestStart",
    "RetryPolicy",
    "SentRequest",
    "SlotLease",
    "XeroClient",
    "XeroReading",
    "authorize_url",
    "code_challenge",
    "decode_error",
    "exchange_code",
    "finish_authorization",
    "read_callback",
    "revoke_token",
    "start_authorization",
]


#: Backends whose drivers are optional extras: imported on first use, so importing
#: bms_xero.xero never imports redis or psycopg.
_LAZY = {
    "RedisRateBudget": ("bms_xero.xero._budget_redis", "redis", "redis"),
    "PostgresRateBudget": ("bms_xero.xero._budget_postgres", "psycopg", "postgres"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'bms_xero.xero' has no attribute {name!r}")
    import importlib

    from bms_xero.errors import ConfigurationError

    module, driver, extra = _LAZY[name]
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name is None or e.name.split(".")[0] != driver:
            raise
        raise ConfigurationError(
            f"{name} needs the {driver} package, which is not installed; "
            f'pip install "bms-xero[{extra}]"'
        ) from e
    value = getattr(loaded, name)
    globals()[name] = value
    return value
