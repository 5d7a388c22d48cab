"""Every exception bms_xero raises, under one root.

Catch :class:`BmsXeroError` to catch everything; catch a branch to handle one kind of trouble.
Local faults (our side refused before anything was sent) and remote faults (Xero said no, or
never answered) are separate branches, so a host can tell "fix your data" from "try later"::

    BmsXeroError
    ├── LocalError                      nothing was sent; fix the input or configuration
    │   ├── InvoiceValidationError      an Invoice/LineItem/Customer breaks a rule (all problems)
    │   ├── InvoiceFileError            a file of invoices is not JSON, or not a list of them
    │   ├── ConfigurationError          a constructor or setting is wrong
    │   ├── InvalidRequest              a call's arguments break a rule Xero enforces
    │   └── PreflightError              the invoice can't go to this Xero organisation yet
    │       ├── MissingContactId        the customer has no Xero contact id
    │       ├── ContactArchived         the customer's Xero contact is archived
    │       ├── AccountCodeError        account code unknown or archived in the chart
    │       ├── TaxCodeError            tax code unmapped, or maps to an unusable TaxType
    │       ├── CurrencyNotEnabled      the invoice's currency is not enabled in the organisation
    │       ├── CreditNoteMismatch      a credit note can't go to its invoice (unpushed, other
    │       │                           customer or currency)
    │       ├── CorrectionNotACredit    a correction adds value: a credit note can't express it
    │       └── PreflightFailed         several of those for one invoice, together
    ├── RemoteError                     Xero (or the network to it) is involved
    │   ├── XeroApiError                Xero answered with an error status
    │   │   ├── XeroValidationError     400, or per-element ValidationErrors
    │   │   ├── AuthError               401/403
    │   │   │   ├── ReauthorizationRequired   refresh token rejected: reconnect to Xero
    │   │   │   ├── InsufficientScope   the token lacks a scope the call needs (names it)
    │   │   │   └── AuthorizationFailed the person declined, the redirect was wrong, or none
    │   │   │                           came in time (connecting the app)
    │   │   ├── NotFound                404
    │   │   ├── RateLimited             429 (minute / concurrent / app)
    │   │   │   └── DailyLimitReached   429 day limit: park work until ``resets_at``
    │   │   ├── XeroUnavailable         5xx, 503 "The Organisation is offline"
    │   │   └── UnexpectedResponse      an answer we could not read (HTML, bad JSON, bad shape)
    │   ├── TransportError              no usable response (``sent`` says if it may have arrived)
    │   ├── UncertainOutcome            a write may or may not have happened
    │   └── InvalidWebhook              a correctly signed webhook whose body can't be read
    ├── SyncError                       the engine can't do what was asked
    │   ├── CreditNoteRequired          Xero no longer allows editing this invoice
    │   ├── CreditNoteExceedsAmountDue  a credit note is worth more than its invoice owes
    │   ├── CreditNoteChanged           an allocated credit note can't be edited in Xero
    │   ├── CreditNoteNumberTaken       another credit note in Xero has its number
    │   ├── InvoiceNumberConflict       the number is taken by a different Xero invoice
    │   ├── PushInProgress              another worker is pushing this invoice (retry later)
    │   └── PaymentDeliveryFailed       the host's PaymentSink raised: redelivered later
    └── StorageError                    a store could not do what was asked
        ├── VersionConflict             someone else changed the record first (compare-and-swap)
        ├── StorageValueError           a value can't be stored (naive datetime, empty key, ...)
        ├── SchemaVersionError          the file was written by a newer bms_xero
        ├── LeaseLost                   a job's lease expired or passed to another worker
        └── RateBudgetUnavailable       the shared rate budget (Redis, PostgreSQL) is down

Every error carries structured fields (never only a message), and ``str(error)`` is one
readable sentence that says what is wrong and how to fix it. No error text ever contains a
secret: tokens and client secrets never reach the arguments of these classes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar, Self

import attrs

if TYPE_CHECKING:
    from bms_xero.engine._results import PaymentUpdate

__all__ = [
    "AccountCodeError",
    "AuthError",
    "AuthorizationFailed",
    "BmsXeroError",
    "ConfigurationError",
    "ContactArchived",
    "CorrectionNotACredit",
    "CreditNoteChanged",
    "CreditNoteExceedsAmountDue",
    "CreditNoteMismatch",
    "CreditNoteNumberTaken",
    "CreditNoteRequired",
    "CurrencyNotEnabled",
    "DailyLimitReached",
    "FieldProblem",
    "InsufficientScope",
    "InvalidRequest",
    "InvalidWebhook",
    "InvoiceFileError",
    "InvoiceNumberConflict",
    "InvoiceValidationError",
    "LeaseLost",
    "LocalError",
    "MissingContactId",
    "NotFound",
    "PaymentDeliveryFailed",
    "PreflightError",
    "PreflightFailed",
    "PushInProgress",
    "RateBudgetUnavailable",
    "RateLimited",
    "ReauthorizationRequired",
    "RemoteError",
    "SchemaVersionError",
    "StorageError",
    "StorageValueError",
    "SyncError",
    "TaxCodeError",
    "TransportError",
    "UncertainOutcome",
    "UnexpectedResponse",
    "VersionConflict",
    "XeroApiError",
    "XeroUnavailable",
    "XeroValidationError",
    "XeroValidationMessage",
]


class BmsXeroError(Exception):
    """Root of every exception bms_xero raises."""

    invoice_number: str | None = None
    #: The BMS credit note an error stopped, when it stopped one.
    credit_note_number: str | None = None
    #: Whether trying the same thing again later may succeed (timeouts, 5xx, races).
    retryable: bool = False
    #: For developers: the API or setting that fixes it (``"SyncEngine.link_customer"``),
    #: when there is one. ``str(error)`` includes it for logs; words for the people using
    #: the BMS (:class:`bms_xero.views.ErrorView`) never do.
    hint: str | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def for_invoice(self, invoice_number: str) -> Self:
        """A copy that names the invoice it stopped (``"invoice INV-1: ..."``).

        One batch-wide failure (a rate limit, an outage) stops many invoices; each gets its own
        copy so every job error names its invoice. Errors that already name one are returned
        unchanged.
        """
        if self.invoice_number is not None:
            return self
        # Not copy.copy: it re-calls __init__ with the message alone, which subclasses with
        # keyword-only fields (DailyLimitReached, UncertainOutcome, ...) refuse.
        named = type(self).__new__(type(self))
        named.__dict__.update(self.__dict__)
        named.invoice_number = invoice_number
        named.message = f"invoice {invoice_number}: {self.message}"
        named.args = (named.message,)
        return named

    def for_credit_note(self, credit_note_number: str, invoice_number: str) -> Self:
        """A copy that names the credit note it stopped and the invoice that credit note is
        for (``"credit note CN-1 (invoice INV-1): ..."``). Errors that already name a credit
        note are returned unchanged."""
        if self.credit_note_number is not None:
            return self
        named = type(self).__new__(type(self))
        named.__dict__.update(self.__dict__)
        named.invoice_number = invoice_number
        named.credit_note_number = credit_note_number
        message = self.message.removeprefix(f"invoice {self.invoice_number}: ")
        named.message = _credit_note_named(message, credit_note_number, invoice_number)
        named.args = (named.message,)
        return named

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


def _credit_note_named(message: str, credit_note_number: str, invoice_number: str) -> str:
    """How every error that stopped a credit note begins: the note, then its invoice."""
    return f"credit note {credit_note_number} (invoice {invoice_number}): {message}"


# --- local -------------------------------------------------------------------------------


class LocalError(BmsXeroError):
    """Refused on our side before any request was sent; retrying unchanged will fail again."""


@attrs.frozen
class FieldProblem:
    """One thing wrong with one field.

    Attributes:
        path: Where the problem is, e.g. ``"number"`` or ``"lines[2].account_code"``.
        message: What is wrong and how to fix it.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def under(self, prefix: str) -> FieldProblem:
        """The same problem, seen from a containing object (``lines[2]`` + ``.account_code``)."""
        return FieldProblem(f"{prefix}.{self.path}" if self.path else prefix, self.message)


class InvoiceValidationError(LocalError, ValueError):
    """An invoice (or one of its parts) breaks a rule; every problem is listed at once.

    Attributes:
        problems: Each field that is wrong, with what to do about it.
        invoice_number: The invoice's number when known, so job errors can name it (a
            credit note's number, for a credit note).
        document: What was being built: ``"invoice"`` or ``"credit note"``.
    """

    def __init__(
        self,
        problems: Iterable[FieldProblem],
        *,
        invoice_number: str | None = None,
        document: str = "invoice",
    ) -> None:
        self.problems: tuple[FieldProblem, ...] = tuple(problems)
        self.invoice_number = invoice_number
        self.document = document
        what = f"{document} {invoice_number}" if invoice_number else document
        count = len(self.problems)
        listed = "; ".join(str(p) for p in self.problems)
        super().__init__(f"{what} is not valid ({count} problem{'s' * (count != 1)}): {listed}")

    @property
    def paths(self) -> tuple[str, ...]:
        """The paths of the fields that are wrong, in the order found."""
        return tuple(p.path for p in self.problems)


class InvoiceFileError(LocalError, ValueError):
    """A file (or text) of invoices can't be read at all, so no invoice in it was looked at.

    Attributes:
        reason: What is wrong, e.g. ``"not JSON (Expecting value)"``.
        source: Where the text came from (a file name), when known.
        line: The line of the problem (1-based), when known.
        column: The column of the problem (1-based), when known.
    """

    def __init__(
        self,
        *,
        reason: str,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.reason = reason
        self.source = source
        self.line = line
        self.column = column
        where = f" at line {line}, column {column}" if line is not None else ""
        what = source or "the invoices JSON"
        super().__init__(
            f"{what} can't be read{where}: {reason}; give a JSON array of invoices or an "
            'object {"invoices": [...]} (see docs/cli.md)'
        )


class ConfigurationError(LocalError, ValueError):
    """A setting or constructor argument is wrong (e.g. a tax map entry, a token store)."""


class InvalidRequest(LocalError, ValueError):
    """A client call's arguments break a rule Xero enforces; nothing was sent.

    For example a batch of more than 50 invoices, an ``Idempotency-Key`` over 128 characters,
    or a naive ``datetime`` for ``modified_since``.

    Attributes:
        argument: The name of the offending argument.
    """

    def __init__(self, message: str, *, argument: str) -> None:
        self.argument = argument
        super().__init__(f"{argument}: {message}")


class PreflightError(LocalError):
    """The invoice is valid, but this Xero organisation can't accept it yet.

    Attributes:
        invoice_number: The BMS invoice number (``None`` when checked outside an invoice).
    """

    def __init__(self, message: str, *, invoice_number: str | None = None) -> None:
        self.invoice_number = invoice_number
        prefix = f"invoice {invoice_number}: " if invoice_number else ""
        super().__init__(prefix + message)


class MissingContactId(PreflightError):
    """The invoice's customer has no Xero contact id.

    Attributes:
        customer_id: The BMS customer id.
        customer_name: The customer's name.
    """

    def __init__(
        self, *, customer_id: str, customer_name: str, invoice_number: str | None = None
    ) -> None:
        self.customer_id = customer_id
        self.customer_name = customer_name
        self.hint = "SyncEngine.link_customer"
        super().__init__(
            f"customer {customer_id} ({customer_name}) has no Xero identifier; sync the "
            f"customer first ({self.hint}) and push the invoice again",
            invoice_number=invoice_number,
        )


class ContactArchived(PreflightError):
    """The customer's Xero contact is archived, and Xero refuses new invoices for it.

    .. versionadded:: Unreleased

    Attributes:
        customer_id: The BMS customer id.
        customer_name: The customer's name.
        contact_id: The archived Xero ContactID.
    """

    def __init__(
        self,
        *,
        customer_id: str,
        customer_name: str,
        contact_id: str,
        invoice_number: str | None = None,
    ) -> None:
        self.customer_id = customer_id
        self.customer_name = customer_name
        self.contact_id = contact_id
        self.hint = "SyncEngine.link_customer"
        super().__init__(
            f"customer {customer_id} ({customer_name}) is linked to Xero contact {contact_id}, "
            "which is archived in Xero; un-archive the contact in Xero, or link the customer "
            f"to another contact ({self.hint}), and push the invoice again",
            invoice_number=invoice_number,
        )


class AccountCodeError(PreflightError):
    """An account code is not usable in the organisation's chart of accounts.

    Attributes:
        code: The account code.
        reason: ``"unknown"``, ``"archived"`` or ``"not_revenue"``.
        paths: The invoice fields that use it, e.g. ``("lines[0].account_code",)``.
    """

    _FIX: ClassVar[dict[str, str]] = {
        "unknown": "is not in Xero's chart of accounts; add it in Xero or map the line to an "
        "existing revenue account",
        "archived": "is archived in Xero's chart of accounts; restore it in Xero or use an "
        "active account",
        "not_revenue": "is not a revenue account in Xero; sales invoice lines need a revenue "
        "account",
    }

    def __init__(
        self,
        *,
        code: str,
        reason: str,
        paths: Sequence[str] = (),
        invoice_number: str | None = None,
    ) -> None:
        self.code = code
        self.reason = reason
        self.paths = tuple(paths)
        where = f" (used by {', '.join(self.paths)})" if self.paths else ""
        fix = self._FIX.get(reason, f"cannot be used ({reason})")
        super().__init__(f"account code {code!r}{where} {fix}", invoice_number=invoice_number)


class TaxCodeError(PreflightError):
    """A BMS tax code cannot be turned into a usable Xero TaxType.

    Attributes:
        tax_code: The BMS tax code.
        tax_type: The Xero TaxType it maps to, if it maps at all.
        reason: ``"not_mapped"``, ``"unknown_tax_type"``, ``"inactive"`` or ``"not_revenue"``.
        paths: The invoice fields that use it.
    """

    def __init__(
        self,
        *,
        tax_code: str,
        reason: str,
        tax_type: str | None = None,
        paths: Sequence[str] = (),
        invoice_number: str | None = None,
    ) -> None:
        self.tax_code = tax_code
        self.tax_type = tax_type
        self.reason = reason
        self.paths = tuple(paths)
        where = f" (used by {', '.join(self.paths)})" if self.paths else ""
        self.hint = f"SyncEngine(tax_map={{{tax_code!r}: ...}})"
        if reason == "not_mapped":
            text = (
                f"tax code {tax_code!r}{where} has no Xero tax type; add it to the tax map, "
                f"e.g. tax_map={{{tax_code!r}: 'OUTPUT2'}}"
            )
        elif reason == "unknown_tax_type":
            text = (
                f"tax code {tax_code!r}{where} maps to Xero tax type {tax_type!r}, which this "
                "organisation does not have; fix the tax map or add the rate in Xero"
            )
        elif reason == "inactive":
            text = (
                f"tax code {tax_code!r}{where} maps to Xero tax type {tax_type!r}, which is not "
                "active in Xero; map it to an active tax rate"
            )
        else:
            text = (
                f"tax code {tax_code!r}{where} maps to Xero tax type {tax_type!r}, which cannot "
                "be used on sales (revenue); map it to a sales tax rate"
            )
        super().__init__(text, invoice_number=invoice_number)


class CurrencyNotEnabled(PreflightError):
    """The invoice's currency is not one the organisation can invoice in.

    .. versionadded:: Unreleased

    Attributes:
        currency_code: The invoice's currency.
        enabled: The currencies the organisation has (its base currency and those enabled).
    """

    def __init__(
        self,
        *,
        currency_code: str,
        enabled: Iterable[str] = (),
        invoice_number: str | None = None,
    ) -> None:
        self.currency_code = currency_code
        self.enabled = tuple(enabled)
        has = f" (it has {', '.join(self.enabled)})" if self.enabled else ""
        super().__init__(
            f"currency {currency_code} is not enabled in this Xero organisation{has}; add it "
            "in Xero (Settings, Currencies), or invoice in a currency it has",
            invoice_number=invoice_number,
        )


class CreditNoteMismatch(PreflightError):
    """A credit note can't be allocated to the invoice it names, as things stand.

    Attributes:
        reason: ``"not_pushed"`` (the BMS invoice has no Xero invoice yet),
            ``"customer"`` (another contact than the invoice's in Xero), ``"currency"``,
            ``"status"`` (the Xero invoice is not approved, or is voided), or ``"amount"``
            (the credit note is worth nothing, or less).
        expected: What the invoice in Xero has (its ContactID, currency or status).
        actual: What the credit note has.
    """

    _FIX: ClassVar[dict[str, str]] = {
        "not_pushed": "push the invoice first, then the credit note",
        "customer": "give the credit note the invoice's customer (Xero allocates a credit note "
        "only to an invoice of the same contact)",
        "currency": "raise the credit note in the invoice's currency",
        "status": "only an approved invoice can be credited; a draft can simply be edited, "
        "and a voided one needs no credit",
        "amount": "a credit note must credit something: give it lines worth more than 0",
    }

    def __init__(
        self,
        *,
        reason: str,
        expected: str | None = None,
        actual: str | None = None,
        invoice_number: str | None = None,
    ) -> None:
        self.reason = reason
        self.expected = expected
        self.actual = actual
        what = {
            "not_pushed": "its invoice is not in Xero yet",
            "customer": f"it is for contact {actual} but the invoice is for {expected}",
            "currency": f"it is in {actual} but the invoice is in {expected}",
            "status": f"the Xero invoice is {expected}",
            "amount": f"it is worth {actual}",
        }.get(reason, reason)
        fix = self._FIX.get(reason, "check the credit note against its invoice")
        super().__init__(f"{what}: {fix}", invoice_number=invoice_number)


class CorrectionNotACredit(PreflightError):
    """The corrected invoice can't be reached from what Xero holds with one credit note.

    Attributes:
        reason: What stands in the way, in words.
    """

    def __init__(self, *, invoice_number: str, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"the correction can't be one credit note: {reason}", invoice_number=invoice_number
        )


class PreflightFailed(PreflightError):
    """Several preflight problems with one invoice, reported together.

    Attributes:
        errors: Each problem (a :class:`MissingContactId`, :class:`AccountCodeError` or
            :class:`TaxCodeError`).
    """

    def __init__(self, errors: Iterable[PreflightError], *, invoice_number: str | None) -> None:
        self.errors = tuple(errors)
        hints = dict.fromkeys(e.hint for e in self.errors if e.hint)
        self.hint = "; ".join(hints) or None
        listed = "; ".join(
            e.message.removeprefix(f"invoice {invoice_number}: ") for e in self.errors
        )
        super().__init__(f"{len(self.errors)} problems: {listed}", invoice_number=invoice_number)


# --- remote ------------------------------------------------------------------------------


class RemoteError(BmsXeroError):
    """Xero, or the network between us, is involved.

    Attributes:
        status_code: The HTTP status, when a response arrived.
        error_type: Xero's error type (``ValidationException``, ``TokenExpired``, ...).
        correlation_id: Xero's ``Xero-Correlation-Id`` response header, for support tickets.
        tenant_id: The organisation the request was for.
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_type: str | None = None,
        correlation_id: str | None = None,
        tenant_id: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.error_type = error_type
        self.correlation_id = correlation_id
        self.tenant_id = tenant_id
        super().__init__(message)


class XeroApiError(RemoteError):
    """Xero answered with an error status."""


@attrs.frozen
class XeroValidationMessage:
    """One of Xero's own validation messages, with the element it belongs to.

    Attributes:
        message: Xero's text, verbatim.
        element_index: Position of the element in the request batch, when known.
        invoice_number: The element's InvoiceNumber, when known.
        path: Where inside the element, e.g. ``"LineItems[1]"`` (empty for the element).
    """

    message: str
    element_index: int | None = None
    invoice_number: str | None = None
    path: str = ""


class XeroValidationError(XeroApiError):
    """Xero rejected the data; every message Xero gave is kept.

    Attributes:
        messages: Each validation message with the element it belongs to.
    """

    def __init__(
        self,
        messages: Sequence[XeroValidationMessage],
        *,
        status_code: int | None = 400,
        error_type: str | None = "ValidationException",
        correlation_id: str | None = None,
        tenant_id: str | None = None,
        invoice_number: str | None = None,
    ) -> None:
        self.messages = tuple(messages)
        self.invoice_number = invoice_number
        who = f"invoice {invoice_number}: " if invoice_number else ""
        text = "; ".join(m.message for m in self.messages) or "no message given"
        super().__init__(
            f"{who}Xero rejected the data: {text}",
            status_code=status_code,
            error_type=error_type,
            correlation_id=correlation_id,
            tenant_id=tenant_id,
        )


class AuthError(XeroApiError):
    """401 or 403: the token is expired or invalid, or the tenant is not connected."""


class ReauthorizationRequired(AuthError):
    """The refresh token was rejected (``invalid_grant``); a person must reconnect to Xero."""

    hint = "bms-xero connect (or the host's connect view), then JobStore.retry_failed"


class InsufficientScope(AuthError):
    """Xero refused a call because the access token lacks the scope it needs.

    Xero says so with a 401 ``AuthorizationUnsuccessful`` (or a 403); the client compares the
    call's scope (``bms_xero.xero.CALL_SCOPES``) with the scopes the token carries.

    Attributes:
        missing_scope: The granular scope the call needs (``accounting.payments.read``).
        granted: The scopes the token carries, when they could be read from it.
        method: The refused call's HTTP method.
        path: Its path (``/Payments``).

    .. versionadded:: Unreleased
    """

    def __init__(
        self,
        *,
        missing_scope: str,
        granted: Sequence[str] | None,
        method: str,
        path: str,
        status_code: int | None = 401,
        error_type: str | None = None,
        correlation_id: str | None = None,
        tenant_id: str | None = None,
    ) -> None:
        self.missing_scope = missing_scope
        self.granted = None if granted is None else tuple(granted)
        self.method = method
        self.path = path
        self.hint = "bms_xero.xero.DEFAULT_SCOPES"
        has = (
            f"it carries {' '.join(self.granted) or 'no scopes'}"
            if self.granted is not None
            else "its scopes could not be read"
        )
        ref = f" [correlation id {correlation_id}]" if correlation_id else ""
        super().__init__(
            f"Xero refused {method} {path}: the access token lacks the scope {missing_scope} "
            f"({has}); authorise the app again asking for it (bms_xero.xero.DEFAULT_SCOPES "
            "has every scope bms_xero needs; apps created from 2 March 2026 must ask for "
            "granular scopes, not accounting.transactions), or add it to the custom "
            f"connection in the Xero developer portal{ref}",
            status_code=status_code,
            error_type=error_type,
            correlation_id=correlation_id,
            tenant_id=tenant_id,
        )


class AuthorizationFailed(AuthError):
    """Connecting the app did not produce an authorization code.

    Attributes:
        reason: ``"denied"`` (the person declined), ``"error"`` (Xero sent another OAuth
            error back on the redirect), ``"state_mismatch"`` (the redirect is not the one
            this authorisation is waiting for: a stale tab, or forged), ``"no_code"`` (the
            redirect carries neither a code nor an error) or ``"timeout"`` (no redirect came
            in time).
        oauth_error: The ``error`` Xero sent on the redirect (``access_denied``, ...).
        description: Xero's ``error_description``, if any.

    .. versionadded:: Unreleased
    """

    _WHAT: ClassVar[dict[str, str]] = {
        "denied": "the person declined to connect the app in Xero",
        "error": "Xero refused the authorisation",
        "state_mismatch": "the redirect does not belong to this authorisation (its state "
        "differs: a stale browser tab, or a forged link); start again and use the newest "
        "link",
        "no_code": "the redirect carries no authorization code (was the whole address copied?)",
        "timeout": "no redirect came back from Xero in time",
    }

    def __init__(
        self,
        reason: str,
        *,
        oauth_error: str | None = None,
        description: str | None = None,
    ) -> None:
        self.reason = reason
        self.oauth_error = oauth_error
        self.description = description
        what = self._WHAT.get(reason, reason)
        said = f" ({oauth_error}{': ' + description if description else ''})" if oauth_error else ""
        super().__init__(
            f"connecting to Xero did not complete: {what}{said}; nothing was saved",
            error_type=oauth_error,
        )


class NotFound(XeroApiError):
    """404: the resource does not exist in this organisation."""


class RateLimited(XeroApiError):
    """429: a rate limit was hit.

    Attributes:
        problem: Xero's ``X-Rate-Limit-Problem`` (``minute``, ``day``, ``concurrent``, ...).
        retry_after: Seconds Xero asked us to wait, when it said.
    """

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        problem: str | None = None,
        retry_after: float | None = None,
        status_code: int | None = 429,
        error_type: str | None = None,
        correlation_id: str | None = None,
        tenant_id: str | None = None,
    ) -> None:
        self.problem = problem
        self.retry_after = retry_after
        super().__init__(
            message,
            status_code=status_code,
            error_type=error_type,
            correlation_id=correlation_id,
            tenant_id=tenant_id,
        )


class DailyLimitReached(RateLimited):
    """429 for the day limit: park this tenant's work until ``resets_at``; never sleep on it.

    Attributes:
        resets_at: When Xero will accept calls for this tenant again (UTC).
    """

    retryable = False

    def __init__(
        self,
        *,
        resets_at: datetime,
        retry_after: float | None = None,
        correlation_id: str | None = None,
        tenant_id: str | None = None,
    ) -> None:
        self.resets_at = resets_at
        super().__init__(
            f"Xero's daily call limit for this organisation is used up; work resumes at "
            f"{resets_at.isoformat()}",
            problem="day",
            retry_after=retry_after,
            correlation_id=correlation_id,
            tenant_id=tenant_id,
        )


class XeroUnavailable(XeroApiError):
    """5xx, including 503 "The Organisation is offline": try again later."""

    retryable = True


class UnexpectedResponse(XeroApiError):
    """Xero's answer could not be read: not JSON, or not the shape the spec describes."""


class TransportError(RemoteError):
    """No usable response arrived: a connect error, a timeout, a reset connection.

    Attributes:
        sent: ``False`` only when the request certainly never left (the connection could not
            be opened), so even a write can be repeated; ``True`` when it may have reached
            Xero (read timeout, reset), which makes a write's outcome uncertain.
    """

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        sent: bool = True,
        status_code: int | None = None,
        error_type: str | None = None,
        correlation_id: str | None = None,
        tenant_id: str | None = None,
    ) -> None:
        self.sent = sent
        super().__init__(
            message,
            status_code=status_code,
            error_type=error_type,
            correlation_id=correlation_id,
            tenant_id=tenant_id,
        )


class UncertainOutcome(RemoteError):
    """A write was sent but no usable answer came back: it may or may not have happened.

    Resolve by looking the record up (e.g. the invoice by number) before writing again.

    Attributes:
        idempotency_key: The key the write was sent with.
        method: The HTTP method of the write.
        path: The API path of the write.
    """

    def __init__(
        self,
        message: str,
        *,
        idempotency_key: str | None,
        method: str,
        path: str,
        status_code: int | None = None,
        tenant_id: str | None = None,
    ) -> None:
        self.idempotency_key = idempotency_key
        self.method = method
        self.path = path
        super().__init__(message, status_code=status_code, tenant_id=tenant_id)


class InvalidWebhook(RemoteError):
    """A webhook request passed the signature check, but its body is not a payload we can read.

    Still answered 200: Xero retries a delivery that did not get a 200 for 24 hours and then
    disables the webhook, and what it said is found by an ordinary pull anyway. This error is
    kept on the response for the host's logs.

    Attributes:
        reason: What is wrong with the body, e.g. ``"not JSON"`` or
            ``"events[0].resourceId: missing"``.
    """

    def __init__(self, *, reason: str, tenant_id: str | None = None) -> None:
        self.reason = reason
        super().__init__(
            f"a correctly signed webhook body can't be read ({reason}); it was answered 200 "
            "and an ordinary pull finds what it was about. If this repeats, tell the "
            "bms_xero maintainers: Xero may have changed the payload",
            status_code=None,
            tenant_id=tenant_id,
        )


# --- sync --------------------------------------------------------------------------------


class SyncError(BmsXeroError):
    """The sync engine can't do what was asked with this invoice.

    Attributes:
        invoice_number: The BMS invoice number.
    """

    def __init__(self, message: str, *, invoice_number: str | None = None) -> None:
        self.invoice_number = invoice_number
        prefix = f"invoice {invoice_number}: " if invoice_number else ""
        super().__init__(prefix + message)


class CreditNoteRequired(SyncError):
    """Xero no longer allows editing (or voiding) this invoice: paid, credited or voided.

    The way forward is a credit note: for a correction, the difference
    (``SyncEngine.correction_credit_note`` builds it from what Xero holds); for a cancel, the
    whole invoice (``SyncEngine.cancellation_credit_note``), allocated up to what it still
    owes. Either goes to Xero with ``SyncEngine.push_credit_note``.

    Attributes:
        xero_invoice_id: The Xero invoice that can't change.
        xero_status: Its status in Xero.
        xero_messages: What Xero said, verbatim, when it said anything.
        cancelling: Whether a cancel was refused (else an edit).
    """

    def __init__(
        self,
        *,
        invoice_number: str,
        xero_invoice_id: str,
        xero_status: str | None,
        xero_messages: Sequence[str] = (),
        cancelling: bool = False,
    ) -> None:
        self.xero_invoice_id = xero_invoice_id
        self.xero_status = xero_status
        self.xero_messages = tuple(xero_messages)
        self.cancelling = cancelling
        said = f" (Xero: {'; '.join(self.xero_messages)})" if self.xero_messages else ""
        self.hint = (
            "SyncEngine.cancellation_credit_note"
            if cancelling
            else "SyncEngine.correction_credit_note"
        ) + ", then SyncEngine.push_credit_note"
        if cancelling:
            way = (
                "Xero can't void it; credit it in full instead: build the credit note with "
                "SyncEngine.cancellation_credit_note and send it with push_credit_note("
                "note, over_credit=OverCredit.ALLOCATE_DUE) (what was already paid is then "
                "credit to refund)"
            )
        else:
            way = (
                "raise a credit note for the difference instead of changing the invoice: "
                "SyncEngine.correction_credit_note builds it from what Xero holds, and "
                "push_credit_note sends it"
            )
        super().__init__(
            f"the Xero invoice can no longer be edited because it is {xero_status or 'locked'}"
            f" with payments or credits allocated{said}; {way}",
            invoice_number=invoice_number,
        )


class CreditNoteExceedsAmountDue(SyncError):
    """A credit note is worth more than its invoice still owes in Xero.

    Attributes:
        credit_note_number: The BMS credit note.
        total: What it is worth, or still has to allocate (Xero's per-line rounded figures).
        amount_due: What the invoice still owes in Xero, less what the credit notes before
            this one in the same push take.
        ahead: What those earlier credit notes take (0 when there are none).
        xero_credit_note_id: ``None`` when nothing was sent; else the credit note Xero holds,
            unallocated, because the invoice came to owe less since it was created.
    """

    def __init__(
        self,
        *,
        credit_note_number: str,
        invoice_number: str,
        total: Decimal,
        amount_due: Decimal,
        ahead: Decimal = Decimal(0),
        xero_credit_note_id: str | None = None,
    ) -> None:
        self.total = total
        self.amount_due = amount_due
        self.ahead = ahead
        self.xero_credit_note_id = xero_credit_note_id
        self.hint = "SyncEngine.push_credit_note(note, over_credit=OverCredit.ALLOCATE_DUE)"
        owes = f"the invoice owes {amount_due} in Xero"
        if ahead:
            owes += f" after the {ahead} the credit notes before it in this push take"
        ways = (
            f"push it with over_credit=OverCredit.ALLOCATE_DUE (allocate {amount_due}, the "
            f"customer is owed {total - amount_due}) or OverCredit.LEAVE_UNALLOCATED (all of "
            "it is owed back)"
        )
        if xero_credit_note_id is None:
            said = (
                f"is worth {total} but {owes}, and Xero allocates no more than is owed; nothing "
                f"was sent. Credit at most {amount_due}, or {ways}"
            )
        else:
            said = (
                f"is in Xero (CreditNoteID {xero_credit_note_id}) with {total} to allocate, but "
                f"{owes} now, and Xero allocates no more than is owed; it was left unallocated. "
                f"Allocate it in Xero, or {ways}"
            )
        super().__init__(said)
        self.invoice_number = invoice_number
        self.credit_note_number = credit_note_number
        self.message = _credit_note_named(self.message, credit_note_number, invoice_number)
        self.args = (self.message,)


class CreditNoteNumberTaken(SyncError):
    """The credit note's number belongs to another credit note in Xero; nothing of ours is
    there under it.

    Attributes:
        xero_credit_note_id: The credit note that has the number.
    """

    def __init__(self, *, number: str, xero_credit_note_id: str | None, total: Decimal) -> None:
        self.xero_credit_note_id = xero_credit_note_id
        super().__init__(
            f"CreditNoteNumber {number} is taken in Xero by another credit note "
            f"(CreditNoteID {xero_credit_note_id}, total {total}), not the one the BMS sent; "
            "give this credit note another number (Xero's own numbering is CN-0001, ...: use "
            "a prefix of the BMS's)"
        )


class CreditNoteChanged(SyncError):
    """The BMS changed a credit note that Xero already has; Xero can't edit an allocated
    credit note, so nothing was sent.

    Attributes:
        xero_credit_note_id: The credit note Xero holds.
    """

    def __init__(self, *, xero_credit_note_id: str) -> None:
        self.xero_credit_note_id = xero_credit_note_id
        super().__init__(
            f"Xero already has it (CreditNoteID {xero_credit_note_id}) with other content, and "
            "Xero can't edit an allocated credit note; raise another credit note for what "
            "changed instead of editing this one"
        )


class PushInProgress(SyncError):
    """Another engine or worker stored an intent for this invoice first; retry later.

    Nothing was sent. When the other push finishes (or dies), the next push of this invoice
    picks up from its record, so retrying can never create a duplicate.
    """

    retryable = True

    def __init__(self, *, invoice_number: str, what: str = "invoice") -> None:
        super().__init__(
            f"another worker is pushing this {what} right now; push it again later (no "
            "duplicate will be created)",
            invoice_number=invoice_number,
        )


class PaymentDeliveryFailed(SyncError):
    """The host's PaymentSink raised for some updates; nothing is lost.

    Xero's state is stored and the cursors moved before delivery, and an update is marked
    told only after ``apply`` returned, so each refused update stays in the outbox and is
    delivered again by the next ``pull()`` or ``deliver()``. The others were delivered.

    Attributes:
        failures: ``(update, exception)`` for each update the sink raised on.
        delivered: The updates the sink accepted in the same run.
    """

    retryable = True

    def __init__(
        self,
        *,
        failures: Sequence[tuple[PaymentUpdate, Exception]],
        delivered: Sequence[PaymentUpdate] = (),
    ) -> None:
        self.failures = tuple(failures)
        self.delivered = tuple(delivered)
        self.hint = "SyncEngine.deliver"
        first, error = self.failures[0]
        more = f" and {len(self.failures) - 1} more" if len(self.failures) > 1 else ""
        super().__init__(
            f"the PaymentSink raised on the update for invoice {first.invoice_number}{more} "
            f"({type(error).__name__}: {error}); nothing is lost: fix what the sink needs and "
            "the next pull() or deliver() delivers them again"
        )


class InvoiceNumberConflict(SyncError):
    """The invoice number already belongs to a Xero invoice this BMS invoice did not create.

    Attributes:
        xero_invoice_id: The Xero invoice that holds the number.
    """

    def __init__(self, *, invoice_number: str, xero_invoice_id: str, reason: str) -> None:
        self.xero_invoice_id = xero_invoice_id
        super().__init__(
            f"Xero already has an invoice with this number ({xero_invoice_id}) that does not "
            f"match: {reason}; renumber the BMS invoice or link it by hand",
            invoice_number=invoice_number,
        )


# --- storage -------------------------------------------------------------------------------


class StorageError(BmsXeroError):
    """A store could not do what was asked (corrupt file, unknown schema version, ...)."""


class VersionConflict(StorageError):
    """A compare-and-swap write lost: the record changed since it was read. Re-read and retry.

    Attributes:
        key: What was being written (e.g. ``"tenant/invoice-id"``).
        expected_version: The version the writer read.
        actual_version: The version found (``None`` when the record is missing).
    """

    def __init__(
        self, *, key: str, expected_version: int | None, actual_version: int | None
    ) -> None:
        self.key = key
        self.expected_version = expected_version
        self.actual_version = actual_version
        super().__init__(
            f"{key} changed since it was read (expected version {expected_version}, found "
            f"{actual_version}); read it again and retry"
        )


class StorageValueError(StorageError, ValueError):
    """A value was refused before anything was written; every problem is listed at once.

    Attributes:
        what: What was being stored, e.g. ``"sync record tenant-1/I-1"`` or ``"cursor 'pull'"``.
        problems: Each field that is wrong, with what to do about it.
    """

    def __init__(self, *, what: str, problems: Iterable[FieldProblem]) -> None:
        self.what = what
        self.problems: tuple[FieldProblem, ...] = tuple(problems)
        count = len(self.problems)
        listed = "; ".join(str(p) for p in self.problems)
        super().__init__(f"{what} can't be stored ({count} problem{'s' * (count != 1)}): {listed}")


class SchemaVersionError(StorageError):
    """A database holds a schema newer than this bms_xero knows; nothing was changed.

    Attributes:
        location: The database (a file path).
        component: Whose tables, e.g. ``"sync"`` or ``"tokens"``.
        found_version: The version recorded in the database.
        supported_version: The newest version this code can use.
    """

    def __init__(
        self, *, location: str, component: str, found_version: int, supported_version: int
    ) -> None:
        self.location = location
        self.component = component
        self.found_version = found_version
        self.supported_version = supported_version
        super().__init__(
            f"{location} holds {component!r} schema version {found_version}, but this bms_xero "
            f"understands only up to version {supported_version}; a newer bms_xero wrote it, so "
            "upgrade bms_xero here (downgrading the file or database is not supported)"
        )


class LeaseLost(StorageError):
    """A worker tried to finish a job whose lease it no longer holds; nothing was changed.

    The lease expired (the job may already be running elsewhere) or the job was cancelled,
    retried or re-leased meanwhile. The job's outcome is left to whoever holds it now.

    Attributes:
        job_id: The job.
        worker_id: The worker that held the lease.
        reason: ``"expired"``, ``"taken"`` (re-leased or changed by someone else) or
            ``"missing"`` (the job no longer exists).
    """

    def __init__(self, *, job_id: str, worker_id: str, reason: str) -> None:
        self.job_id = job_id
        self.worker_id = worker_id
        self.reason = reason
        why = {
            "expired": "its lease expired",
            "taken": "it was re-leased, cancelled or retried by someone else",
            "missing": "it no longer exists",
        }.get(reason, reason)
        super().__init__(
            f"job {job_id}: worker {worker_id} can no longer record its outcome because {why}; "
            "the job will run again (or already has) elsewhere. Use a lease longer than the "
            "slowest job if this happens often"
        )


class RateBudgetUnavailable(StorageError):
    """The shared rate budget (Redis, PostgreSQL) could not be reached; nothing was sent.

    The limiter fails closed: without the shared budget it cannot know what the other
    processes are sending, and pacing alone would give each process the organisation's
    whole budget (the 429s the shared budget exists to prevent). Retryable: the worker
    retries the job with backoff once the server is back.

    Attributes:
        backend: Which budget, with any password in its URL redacted
            (``"Redis at redis://:***@10.0.0.5:6379/0"``).
        operation: What the limiter was doing (``"take an in-flight slot"``).
        reason: The driver's words (first line, redacted).
        tenant_id: The organisation the request was for.
    """

    retryable = True

    def __init__(
        self, *, backend: str, operation: str, reason: str, tenant_id: str | None = None
    ) -> None:
        self.backend = backend
        self.operation = operation
        self.reason = reason
        self.tenant_id = tenant_id
        super().__init__(
            f"the shared rate budget ({backend}) could not {operation} ({reason}); nothing "
            "was sent to Xero. Check that the server runs and the URL is right; the work "
            "can be retried once it answers"
        )
