"""Which granular scope each call needs, and the typed error for a token that lacks it.

Apps created on or after 2 March 2026 can't ask for ``accounting.transactions``; they ask for
``accounting.invoices`` (Invoices, CreditNotes, Items, ...), ``accounting.payments``
(Payments, BatchPayments, Overpayments, Prepayments), ``accounting.contacts`` and
``accounting.settings`` (xero-api.md sections 11 and 14), each with a ``.read`` form. A write
needs the scope itself; a read is allowed by the ``.read`` form or the scope itself; the
legacy ``accounting.transactions`` (and its ``.read``) still covers invoices and payments for
older apps. ``/connections`` needs no accounting scope.

No I/O: :func:`scope_error` looks at Xero's refusal, the call and the access token (a JWT
whose ``scope`` claim is read without checking its signature: it only words the error).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from bms_xero.errors import AuthError, InsufficientScope

__all__ = [
    "CALL_SCOPES",
    "granted_scopes",
    "jwt_claims",
    "needed_scope",
    "satisfies",
    "scope_error",
]

# The first path segment (lower case) -> the granular family that covers it.
_FAMILIES: Final = MappingProxyType(
    {
        "invoices": "invoices",
        "creditnotes": "invoices",
        "items": "invoices",
        "quotes": "invoices",
        "repeatinginvoices": "invoices",
        "purchaseorders": "invoices",
        "payments": "payments",
        "batchpayments": "payments",
        "overpayments": "payments",
        "prepayments": "payments",
        "contacts": "contacts",
        "contactgroups": "contacts",
        "accounts": "settings",
        "taxrates": "settings",
        "currencies": "settings",
        "organisation": "settings",
        "trackingcategories": "settings",
        "brandingthemes": "settings",
    }
)
#: Families that ``accounting.transactions`` covered before granular scopes.
_LEGACY: Final = frozenset({"invoices", "payments"})

_INVOICES = "accounting.invoices"
_INVOICES_READ = "accounting.invoices.read"
_PAYMENTS_READ = "accounting.payments.read"
_CONTACTS = "accounting.contacts"
_CONTACTS_READ = "accounting.contacts.read"
_SETTINGS_READ = "accounting.settings.read"

#: Each :class:`~bms_xero.xero.XeroClient` method that calls Xero, and the granular scope it
#: needs (``None``: any token will do). ``DEFAULT_SCOPES`` satisfies every one.
CALL_SCOPES: Final[Mapping[str, str | None]] = MappingProxyType(
    {
        "create_invoices": _INVOICES,
        "update_invoice": _INVOICES,
        "update_invoices": _INVOICES,
        "email_invoice": _INVOICES,
        "get_invoice": _INVOICES_READ,
        "get_online_invoice_url": _INVOICES_READ,
        "iter_invoices": _INVOICES_READ,
        "iter_changed_invoices": _INVOICES_READ,
        "get_invoices_by_number": _INVOICES_READ,
        "create_credit_notes": _INVOICES,
        "allocate_credit_note": _INVOICES,
        "get_credit_note": _INVOICES_READ,
        "get_credit_notes_by_number": _INVOICES_READ,
        "iter_payments": _PAYMENTS_READ,
        "iter_changed_payments": _PAYMENTS_READ,
        "get_contacts": _CONTACTS_READ,
        "find_contact_by_name": _CONTACTS_READ,
        "find_contact_by_number": _CONTACTS_READ,
        "create_contacts": _CONTACTS,
        "get_accounts": _SETTINGS_READ,
        "get_tax_rates": _SETTINGS_READ,
        "get_currencies": _SETTINGS_READ,
        "get_organisation": _SETTINGS_READ,
        "connections": None,
        "disconnect": None,
    }
)


def needed_scope(method: str, path: str) -> str | None:
    """The granular scope a request needs, from its method and its path under the API base
    (``/Invoices/{id}/Email``); ``None`` for what needs none or is not known here."""
    if "://" in path:
        return None  # /connections and the identity endpoints
    first = path.strip("/").split("/", 1)[0].lower()
    family = _FAMILIES.get(first)
    if family is None:
        return None
    read = method.upper() in ("GET", "HEAD")
    return f"accounting.{family}.read" if read else f"accounting.{family}"


def satisfies(granted: Iterable[str], needed: str) -> bool:
    """Whether a token carrying ``granted`` may make a call that needs ``needed``."""
    have = set(granted)
    if needed in have:
        return True
    base = needed.removesuffix(".read")
    family = base.removeprefix("accounting.")
    if needed.endswith(".read") and base in have:
        return True
    if family in _LEGACY:
        legacy = {"accounting.transactions"}
        if needed.endswith(".read"):
            legacy.add("accounting.transactions.read")
        return bool(have & legacy)
    return False


def jwt_claims(token: str | None) -> dict[str, object] | None:
    """The claims of a JWT, unverified, or ``None`` when ``token`` is not one.

    Never use them to decide who someone is: the signature is not checked. bms_xero reads
    them only to word errors and to tell which organisations an authorisation connected.
    """
    if not isinstance(token, str):
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1]
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def granted_scopes(access_token: str | None) -> tuple[str, ...] | None:
    """The scopes an access token carries (its ``scope`` claim: a list, or a space-separated
    string), or ``None`` when that can't be read."""
    claims = jwt_claims(access_token)
    if claims is None:
        return None
    scope = claims.get("scope")
    if isinstance(scope, str):
        return tuple(scope.split())
    if isinstance(scope, list) and all(isinstance(s, str) for s in scope):
        return tuple(scope)
    return None


def scope_error(error: AuthError, *, method: str, path: str, access_token: str | None) -> AuthError:
    """``error``, or the :class:`~bms_xero.errors.InsufficientScope` it means.

    A 401 ``AuthorizationUnsuccessful`` is Xero's word for a missing scope (an expired or
    unknown token is ``TokenExpired`` / ``AuthenticationUnsuccessful``); a 403 is one too when
    the token visibly lacks the call's scope (otherwise it means the organisation is not
    connected). Only calls whose scope is known are turned.
    """
    if isinstance(error, InsufficientScope):
        return error
    needed = needed_scope(method, path)
    if needed is None or error.status_code not in (401, 403):
        return error
    granted = granted_scopes(access_token)
    lacks = granted is not None and not satisfies(granted, needed)
    said_so = error.status_code == 401 and error.error_type == "AuthorizationUnsuccessful"
    if not (lacks or (said_so and granted is None)):
        return error
    return InsufficientScope(
        missing_scope=needed,
        granted=granted,
        method=method,
        path=path,
        status_code=error.status_code,
        error_type=error.error_type,
        correlation_id=error.correlation_id,
        tenant_id=error.tenant_id,
    )
