"""What a BMS shows people about its Xero sync, ready to render in any web framework.

Every host draws the same two screens: the **Xero Integration panel** beside an invoice (View
Xero Invoice, Last Push, Last Pull, Sync Invoice with Xero Invoice) and an **Admin ->
Background Jobs** list. This module turns the engine's values into what those screens show,
so a Django template, a Flask view or a FastAPI endpoint renders them without glue:

- :class:`PanelView`, from a :class:`~bms_xero.engine.Panel` (or the
  :class:`~bms_xero.engine.SyncOutcome` of the Sync button) and the invoice's waiting or
  failed job: labels, times ("2 minutes ago" and an absolute form in the host's time zone),
  the BMS status ("Paid"), a :class:`PanelState` ("queued" while a push waits for the
  worker), the :class:`Action` values available, and the last error as an :class:`ErrorView`;
- :class:`JobRow`, from a :class:`~bms_xero.jobs.Job`: what the job does, for which invoice
  or customer, its status, attempts, next run, last error and the actions an operator has;
- :class:`ErrorView`, from an error's class name and text (:func:`error_view`, what a store
  keeps) or from the exception itself (:meth:`ErrorView.of`): a stable :class:`ErrorCode`,
  a message in the BMS's words ("Link the customer to Xero first"), what to fix, and the
  action that fixes it. Developer hints (``SyncEngine.link_customer``) never reach these
  words: they stay in the exception (``error.hint``, ``str(error)``) and in the docs.

Everything here is pure: values in, frozen values out, ``now`` and the time zone passed in.
The two loaders at the bottom (:func:`panel_view`, :func:`job_rows`) are the only I/O: they
read the sync store and the job store, never Xero. Every value has ``to_dict()`` for a JSON
view. See ``docs/views.md``.

.. versionadded:: Unreleased
"""

from __future__ import annotations

import contextlib
import enum
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from bms_xero.engine._results import BmsStatus, Panel, SyncOutcome
from bms_xero.errors import BmsXeroError, ConfigurationError
from bms_xero.jobs._records import Job, JobKind, JobStatus
from bms_xero.storage._records import SyncState

if TYPE_CHECKING:
    from bms_xero.engine import SyncEngine
    from bms_xero.jobs import JobStore

__all__ = [
    "Action",
    "ActionView",
    "ErrorCode",
    "ErrorView",
    "JobRow",
    "PanelLabels",
    "PanelState",
    "PanelView",
    "TimeView",
    "absolute_time",
    "error_view",
    "invoice_job",
    "job_rows",
    "panel_view",
    "relative_time",
]


# --- small validators ---------------------------------------------------------------------------


def _text(_instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{attribute.name} must be a non-empty string, not {value!r}")


def _optional_text(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _text(_instance, attribute, value)


def _aware(_instance: object, attribute: attrs.Attribute[datetime], value: object) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ConfigurationError(
            f"{attribute.name} must be a timezone-aware datetime (e.g. datetime.now(UTC)), "
            f"not {value!r}"
        )


def _check_tz(tz: object) -> tzinfo:
    if not isinstance(tz, tzinfo):
        raise ConfigurationError(
            f"tz must be a tzinfo, e.g. zoneinfo.ZoneInfo('Pacific/Auckland'), not {tz!r}"
        )
    return tz


def _check_now(now: object) -> datetime:
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise ConfigurationError(
            f"now must be a timezone-aware datetime (e.g. datetime.now(UTC)), not {now!r}"
        )
    return now


def _actions(values: Iterable[ActionView]) -> tuple[ActionView, ...]:
    """The actions as a tuple, each one checked."""
    found = tuple(values)
    for value in found:
        if not isinstance(value, ActionView):
            raise ConfigurationError(f"actions must be ActionView values, not {value!r}")
    return found


def _json(_instance: object, _attribute: object, value: object) -> object:
    """How ``to_dict`` writes a value: enums by value, times and money as text."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


# --- actions ------------------------------------------------------------------------------------


class Action(enum.StrEnum):
    """Something a person can do from the panel or the jobs list; the host routes each one
    (a link, or a CSRF-protected POST to its own view)."""

    #: Open the invoice in Xero (:attr:`ActionView.url` is the deep link).
    VIEW_IN_XERO = "view_in_xero"
    #: The "Sync Invoice with Xero Invoice" button (``SyncEngine.sync``).
    SYNC = "sync"
    #: Link the invoice's customer to a Xero contact (``SyncEngine.link_customer``, or a
    #: ``link_customer`` job).
    LINK_CUSTOMER = "link_customer"
    #: Connect the BMS to Xero again (the connection ended or lacks a permission).
    RECONNECT = "reconnect"
    #: Run a failed (or cancelled) job again with a fresh attempt budget
    #: (``JobStore.retry_now``).
    RETRY = "retry"
    #: Run a waiting job now instead of at its next run (``JobStore.retry_now``).
    RUN_NOW = "run_now"
    #: Cancel a job (``JobStore.cancel``).
    CANCEL = "cancel"


#: What each action's button says, unless the host passes its own labels.
_ACTION_LABELS: Mapping[Action, str] = {
    Action.VIEW_IN_XERO: "View Xero Invoice",
    Action.SYNC: "Sync Invoice with Xero Invoice",
    Action.LINK_CUSTOMER: "Link customer to Xero",
    Action.RECONNECT: "Reconnect to Xero",
    Action.RETRY: "Retry",
    Action.RUN_NOW: "Run now",
    Action.CANCEL: "Cancel",
}


@attrs.frozen(kw_only=True)
class ActionView:
    """One available action, as a button or a link.

    Attributes:
        action: Which action.
        label: What the button says.
        url: Where it goes, for :attr:`Action.VIEW_IN_XERO` (Xero's deep link); ``None``
            for actions the host routes itself.
    """

    action: Action = attrs.field(converter=Action)
    label: str = attrs.field(validator=_text)
    url: str | None = attrs.field(default=None, validator=_optional_text)

    @classmethod
    def of(cls, action: Action, url: str | None = None) -> ActionView:
        """The action with its default label."""
        return cls(action=action, label=_ACTION_LABELS[action], url=url)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, for a JSON view."""
        return attrs.asdict(self, value_serializer=_json)


# --- times --------------------------------------------------------------------------------------

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}{'s' * (n != 1)}"


def relative_time(at: datetime, now: datetime) -> str:
    """``at`` as people say it, seen from ``now``: ``"just now"``, ``"2 minutes ago"``,
    ``"3 hours ago"``, ``"yesterday"``, ``"5 days ago"``; ahead of ``now``: ``"in 2
    minutes"``, ``"in less than a minute"``, ``"tomorrow"``. Whole units, rounded down, so a
    time never reads as later than it is. Pure."""
    seconds = int((now - at).total_seconds())
    ahead = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        return "in less than a minute" if ahead else "just now"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 60:
        amount = _count(minutes, "minute")
    elif hours < 24:
        amount = _count(hours, "hour")
    elif days == 1:
        return "tomorrow" if ahead else "yesterday"
    elif days < 60:
        amount = _count(days, "day")
    elif days < 365:
        amount = _count(days // 30, "month")
    else:
        amount = _count(days // 365, "year")
    return f"in {amount}" if ahead else f"{amount} ago"


def absolute_time(at: datetime, tz: tzinfo) -> str:
    """``at`` in the host's time zone, e.g. ``"5 Jan 2026, 14:03 NZDT"``; the same in every
    locale (English month names). Pure."""
    local = at.astimezone(_check_tz(tz))
    zone = local.tzname() or local.strftime("%z")
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}, {local:%H:%M} {zone}"


@attrs.frozen(kw_only=True)
class TimeView:
    """A moment, ready to show.

    Attributes:
        at: The moment, in the host's time zone.
        relative: ``"2 minutes ago"`` (or ``"in 5 minutes"``), as of the view's ``now``.
        absolute: ``"5 Jan 2026, 14:03 NZDT"``, for a tooltip or a ``<time>`` element.
    """

    at: datetime = attrs.field(validator=_aware)
    relative: str = attrs.field(validator=_text)
    absolute: str = attrs.field(validator=_text)

    @classmethod
    def of(cls, at: datetime, *, now: datetime, tz: tzinfo) -> TimeView:
        """``at`` seen from ``now``, in ``tz``."""
        local = _check_now(at).astimezone(_check_tz(tz))
        return cls(at=local, relative=relative_time(local, now), absolute=absolute_time(at, tz))

    @classmethod
    def next_run(cls, at: datetime, *, now: datetime, tz: tzinfo) -> TimeView:
        """When something waiting runs: ``"now"`` once it is due, else :meth:`of`."""
        if at > _check_now(now):
            return cls.of(at, now=now, tz=tz)
        return attrs.evolve(cls.of(now, now=now, tz=tz), relative="now")

    @classmethod
    def maybe(cls, at: datetime | None, *, now: datetime, tz: tzinfo) -> TimeView | None:
        """:meth:`of`, or ``None`` for a moment that never happened."""
        return None if at is None else cls.of(at, now=now, tz=tz)

    @property
    def iso(self) -> str:
        """ISO 8601, for ``<time datetime="...">``."""
        return self.at.isoformat()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, for a JSON view."""
        return attrs.asdict(self, value_serializer=_json) | {"iso": self.iso}


# --- errors -------------------------------------------------------------------------------------


class ErrorCode(enum.StrEnum):
    """What kind of trouble an error is, as a stable string a host can branch on or style."""

    CUSTOMER_NOT_LINKED = "customer_not_linked"
    CONTACT_ARCHIVED = "contact_archived"
    CONTACT_NAME_TAKEN = "contact_name_taken"
    ACCOUNT_CODE = "account_code"
    TAX_CODE = "tax_code"
    CURRENCY = "currency"
    INVALID_INVOICE = "invalid_invoice"
    XERO_REJECTED = "xero_rejected"
    CREDIT_NOTE_REQUIRED = "credit_note_required"
    CREDIT_NOTE = "credit_note"
    NUMBER_TAKEN = "number_taken"
    INVOICE_CANCELLED = "invoice_cancelled"
    INVOICE_MISSING = "invoice_missing"
    CUSTOMER_MISSING = "customer_missing"
    RECONNECT = "reconnect"
    PERMISSION = "permission"
    BUSY = "busy"
    UNAVAILABLE = "unavailable"
    UNEXPECTED = "unexpected"
    UNCERTAIN = "uncertain"
    NOT_FOUND = "not_found"
    DELIVERY = "delivery"
    CONFLICT = "conflict"
    CONFIGURATION = "configuration"
    STORAGE = "storage"
    UNKNOWN = "unknown"


@attrs.frozen(kw_only=True)
class ErrorView:
    """An error as the people using the BMS should read it.

    Attributes:
        code: What kind of trouble it is (stable: branch on it, style by it).
        message: One line in the BMS's words, e.g. ``"Link the customer to Xero first"``.
        fix: What to do about it, with the details that matter (the customer, the code).
        action: The action that fixes it (or retries it once fixed), when there is one.
        error_type: The error's class name (``"MissingContactId"``), when known.
        detail: The error's own text, for an administrator (it may name APIs and settings:
            show it folded away, never as the message).
    """

    code: ErrorCode = attrs.field(converter=ErrorCode)
    message: str = attrs.field(validator=_text)
    fix: str = attrs.field(validator=_text)
    action: Action | None = attrs.field(default=None, converter=attrs.converters.optional(Action))
    error_type: str | None = attrs.field(default=None, validator=_optional_text)
    detail: str | None = attrs.field(default=None, validator=_optional_text)

    @classmethod
    def of(cls, error: BaseException, *, tz: tzinfo = UTC) -> ErrorView:
        """The view of a live exception: the same as :func:`error_view` of its class name and
        text (what a store keeps), so a panel reads the same before and after a reload. A
        subclass the table does not know is read as its nearest known base class."""
        known = next(
            (k.__name__ for k in type(error).__mro__ if k.__name__ in _RULES),
            type(error).__name__,
        )
        text = str(error) if isinstance(error, BmsXeroError) else f"{type(error).__name__}: {error}"
        view = error_view(known, text, tz=tz)
        assert view is not None
        return attrs.evolve(view, error_type=type(error).__name__)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, for a JSON view."""
        return attrs.asdict(self, value_serializer=_json)


@attrs.frozen
class _Words:
    code: ErrorCode
    message: str
    fix: str
    action: Action | None = None


_Rule = Callable[[str, tzinfo], _Words]

_NAMED = re.compile(
    r"^(?:gave up after \d+ attempts: )?"
    r"(?:credit note \S+ \(invoice [^)]*\): |invoice (?:id )?\S+: |customer \S+: "
    r"|payments pull: )?"
)
_GAVE_UP = re.compile(r"^gave up after (\d+) attempts: ")
_QUOTED = r"(['\"])(?P<value>.*?)\1"


def _body(text: str) -> str:
    """The error's own words, without the invoice (or job) naming in front."""
    return _NAMED.sub("", text, count=1)


def _search(pattern: str, text: str, group: str = "value") -> str | None:
    found = re.search(pattern, text)
    return None if found is None else found.group(group)


def _customer_not_linked(text: str, _tz: tzinfo) -> _Words:
    found = re.search(r"customer (?P<id>\S+) \((?P<name>.*)\) has no Xero identifier", text)
    who = f"{found.group('name')} ({found.group('id')})" if found else "The customer"
    return _Words(
        ErrorCode.CUSTOMER_NOT_LINKED,
        "Link the customer to Xero first",
        f"{who} has no contact in Xero yet: link the customer to its Xero contact (or create "
        "one), then sync the invoice again.",
        Action.LINK_CUSTOMER,
    )


def _contact_archived(text: str, _tz: tzinfo) -> _Words:
    name = _search(r"customer \S+ \((?P<value>.*)\) is linked to Xero contact", text)
    whose = f"{name}'s contact" if name else "the customer's contact"
    return _Words(
        ErrorCode.CONTACT_ARCHIVED,
        "The customer's Xero contact is archived",
        f"Restore {whose} in Xero, or link the customer to another contact, then sync the "
        "invoice again.",
        Action.LINK_CUSTOMER,
    )


def _account_code(text: str, _tz: tzinfo) -> _Words:
    code = _search(r"account code " + _QUOTED, text)
    account = f"Account code {code}" if code is not None else "An account code on the invoice"
    if "is archived" in text:
        return _Words(
            ErrorCode.ACCOUNT_CODE,
            f"{account} is archived in Xero",
            "Restore the account in Xero's chart of accounts, or put an active account on "
            "the invoice line, then sync again.",
            Action.SYNC,
        )
    if "is not a revenue account" in text:
        return _Words(
            ErrorCode.ACCOUNT_CODE,
            f"{account} is not a sales account in Xero",
            "Put a revenue (sales) account on the invoice line, then sync again.",
            Action.SYNC,
        )
    return _Words(
        ErrorCode.ACCOUNT_CODE,
        f"{account} is not in Xero's chart of accounts",
        "Add the account in Xero, or put an account Xero has on the invoice line, then sync again.",
        Action.SYNC,
    )


def _tax_code(text: str, _tz: tzinfo) -> _Words:
    code = _search(r"tax code " + _QUOTED, text)
    tax = f"Tax code {code}" if code is not None else "A tax code on the invoice"
    if "has no Xero tax type" in text:
        message = f"{tax} has no Xero tax rate"
        fix = "Map the tax code to a Xero tax rate in the integration's settings, then sync again."
    elif "does not have" in text:
        message = f"{tax} maps to a tax rate this Xero organisation does not have"
        fix = "Map it to a tax rate Xero has, or add the rate in Xero, then sync again."
    elif "not active" in text:
        message = f"{tax} maps to a tax rate that is not active in Xero"
        fix = "Map it to an active tax rate, then sync again."
    else:
        message = f"{tax} maps to a tax rate Xero can't use on sales"
        fix = "Map it to a sales tax rate, then sync again."
    return _Words(ErrorCode.TAX_CODE, message, fix, Action.SYNC)


def _currency(text: str, _tz: tzinfo) -> _Words:
    code = _search(r"currency (?P<value>\S+) is not enabled", text)
    return _Words(
        ErrorCode.CURRENCY,
        f"Currency {code} is not enabled in Xero" if code else "The currency is not in Xero",
        "Add the currency in Xero (Settings, Currencies), or invoice in a currency Xero has, "
        "then sync again.",
        Action.SYNC,
    )


def _invalid_invoice(text: str, _tz: tzinfo) -> _Words:
    problems = _search(r"problems?\): (?P<value>.*)$", text)
    return _Words(
        ErrorCode.INVALID_INVOICE,
        "The invoice is incomplete",
        f"Correct the invoice in the BMS ({problems}), then sync again."
        if problems
        else "Correct the invoice in the BMS, then sync again.",
    )


#: What each preflight problem looks like inside a PreflightFailed (or an untyped record).
_RECOGNISED: tuple[tuple[str, _Rule], ...] = (
    (r"has no Xero identifier", _customer_not_linked),
    (r"is linked to Xero contact \S+, which is archived", _contact_archived),
    (r"account code ['\"]", _account_code),
    (r"tax code ['\"]", _tax_code),
    (r"currency \S+ is not enabled", _currency),
)


def _first_recognised(text: str) -> tuple[_Rule, str] | None:
    """The rule of the problem mentioned first in ``text``, and the text from there on."""
    found = [(m.start(), rule) for pattern, rule in _RECOGNISED if (m := re.search(pattern, text))]
    if not found:
        return None
    start, rule = min(found, key=lambda pair: pair[0])
    # Back up to the start of that problem's own sentence ("customer C-1 (...) has no ...").
    begin = max(text.rfind("; ", 0, start) + 2, text.rfind(": ", 0, start) + 2, 0)
    return rule, text[begin if begin > 1 else 0 :]


def _preflight_failed(text: str, tz: tzinfo) -> _Words:
    many = _search(r"^(?P<value>\d+) problems: ", text)
    first = _first_recognised(text)
    if first is None:
        return _Words(
            ErrorCode.INVALID_INVOICE,
            "The invoice can't go to Xero yet",
            "Fix what the details list, then sync again.",
            Action.SYNC,
        )
    rule, rest = first
    words = rule(rest, tz)
    others = int(many) - 1 if many else 0
    if others <= 0:
        return words
    return attrs.evolve(
        words,
        message=f"{words.message} (and {_count(others, 'more problem')})",
        fix=f"{words.fix} The details list the other {_count(others, 'problem')}.",
    )


def _xero_rejected(text: str, _tz: tzinfo) -> _Words:
    said = _search(r"Xero rejected the data: (?P<value>.*)$", text)
    return _Words(
        ErrorCode.XERO_REJECTED,
        f"Xero refused the invoice: {said}" if said else "Xero refused the invoice",
        "Correct the invoice as Xero says, then sync again.",
        Action.SYNC,
    )


def _credit_note_required(text: str, _tz: tzinfo) -> _Words:
    status = _search(r"because it is (?P<value>[A-Za-z]+)", text)
    why = f" (it is {status.lower()} there)" if status and status != "locked" else ""
    if "can't void it" in text:
        fix = (
            "Payments or credits are on it: cancel it with a credit note for the whole "
            "invoice instead."
        )
    else:
        fix = "Raise a credit note for the difference instead of changing the invoice."
    return _Words(
        ErrorCode.CREDIT_NOTE_REQUIRED,
        f"Xero no longer allows changes to this invoice{why}",
        fix,
    )


def _credit_note(message: str, fix: str) -> _Rule:
    def rule(_text: str, _tz: tzinfo) -> _Words:
        return _Words(ErrorCode.CREDIT_NOTE, message, fix)

    return rule


def _fixed(code: ErrorCode, message: str, fix: str, action: Action | None = None) -> _Rule:
    def rule(_text: str, _tz: tzinfo) -> _Words:
        return _Words(code, message, fix, action)

    return rule


def _sync_error(text: str, _tz: tzinfo) -> _Words:
    if "no longer exists in the BMS, so it was not linked" in text:  # a link_customer job
        return _Words(
            ErrorCode.CUSTOMER_MISSING,
            "The customer no longer exists in the BMS",
            "Cancel this job, or restore the customer and retry it.",
            Action.CANCEL,
        )
    if "no longer exists in the BMS" in text:
        return _Words(
            ErrorCode.INVOICE_MISSING,
            "The invoice no longer exists in the BMS",
            "Cancel this job, or restore the invoice and retry it.",
            Action.CANCEL,
        )
    if "was cancelled" in text:
        return _Words(
            ErrorCode.INVOICE_CANCELLED,
            "The invoice was cancelled, so it can't be sent to Xero again",
            "Raise a new invoice instead.",
        )
    if "already has a contact named" in text:
        name = _search(r"already has a contact named " + _QUOTED, text)
        return _Words(
            ErrorCode.CONTACT_NAME_TAKEN,
            "Another customer's contact in Xero has this name",
            f"Xero keeps contact names unique and {name or 'this name'} belongs to another "
            "customer: give this customer a distinct name, or link it to that contact.",
        )
    return _Words(
        ErrorCode.UNKNOWN,
        "The invoice could not be synced",
        "Sync it again; if it keeps failing, show the details to your administrator.",
        Action.SYNC,
    )


def _permission(text: str, _tz: tzinfo) -> _Words:
    scope = _search(r"lacks the scope (?P<value>\S+)", text)
    return _Words(
        ErrorCode.PERMISSION,
        "Xero did not give the BMS permission for this",
        "Reconnect to Xero and allow everything the BMS asks for"
        + (f" (it needs {scope})." if scope else "."),
        Action.RECONNECT,
    )


def _day_limit(text: str, tz: tzinfo) -> _Words:
    resets = _search(r"resumes at (?P<value>\S+)", text)
    when = "after Xero's daily reset"
    if resets:
        with contextlib.suppress(ValueError):  # not a time: say it without one
            when = f"after {absolute_time(datetime.fromisoformat(resets), tz)}"
    return _Words(
        ErrorCode.BUSY,
        "Xero's daily limit for this organisation is used up",
        f"Nothing to do: it syncs by itself {when}.",
    )


def _transport(text: str, _tz: tzinfo) -> _Words:
    if "could not get an access token" in text:
        return _Words(
            ErrorCode.UNAVAILABLE,
            "Xero's sign-in service can't be reached",
            "Try again in a few minutes; if it lasts, ask your administrator to check the "
            "server's connection to Xero.",
            Action.SYNC,
        )
    return _Words(
        ErrorCode.UNAVAILABLE,
        "Xero can't be reached right now",
        "Try again in a few minutes; queued work is tried again by itself.",
        Action.SYNC,
    )


def _unknown(text: str, tz: tzinfo) -> _Words:
    """An error whose class is not known: a record stored before bms_xero kept the class
    name, or the host's own exception. Its words may still say what it is."""
    first = _first_recognised(text)
    if first is not None:
        rule, rest = first
        return rule(rest, tz)
    return _Words(
        ErrorCode.UNKNOWN,
        "The sync failed",
        "Try again; if it keeps failing, show the details to your administrator.",
        Action.SYNC,
    )


_BUSY = _fixed(
    ErrorCode.BUSY,
    "Xero is busy right now",
    "Nothing to do: it syncs by itself in a minute or so.",
)
_RECONNECT = _fixed(
    ErrorCode.RECONNECT,
    "The connection to Xero has ended",
    "Reconnect to Xero; what waits for it syncs again afterwards.",
    Action.RECONNECT,
)
_CONFIGURATION = _fixed(
    ErrorCode.CONFIGURATION,
    "The Xero integration is not set up correctly",
    "Tell your administrator: the details say what to change.",
)
_STORAGE = _fixed(
    ErrorCode.STORAGE,
    "The integration could not save its records",
    "Tell your administrator: the details say what went wrong.",
)
_CONFLICT = _fixed(
    ErrorCode.CONFLICT,
    "The invoice changed while it was syncing",
    "Sync it again.",
    Action.SYNC,
)

#: Every error a push, a pull or a job can record, by class name.
_RULES: Mapping[str, _Rule] = {
    # nothing was sent: fix the invoice, the customer or the settings
    "MissingContactId": _customer_not_linked,
    "ContactArchived": _contact_archived,
    "AccountCodeError": _account_code,
    "TaxCodeError": _tax_code,
    "CurrencyNotEnabled": _currency,
    "PreflightFailed": _preflight_failed,
    "PreflightError": _preflight_failed,
    "InvoiceValidationError": _invalid_invoice,
    "InvoiceFileError": _invalid_invoice,
    "CreditNoteMismatch": _credit_note(
        "The credit note doesn't match its invoice in Xero",
        "Check the credit note's invoice, customer, currency and amount (the details say "
        "which), then send it again.",
    ),
    "CorrectionNotACredit": _credit_note(
        "The correction can't be made with a credit note",
        "A credit note can only take value off an invoice: raise a new invoice for what was added.",
    ),
    "ConfigurationError": _CONFIGURATION,
    "InvalidRequest": _CONFIGURATION,
    "LocalError": _CONFIGURATION,
    # Xero said no
    "XeroValidationError": _xero_rejected,
    "ReauthorizationRequired": _RECONNECT,
    "AuthorizationFailed": _fixed(
        ErrorCode.RECONNECT,
        "Connecting to Xero did not complete",
        "Connect to Xero again.",
        Action.RECONNECT,
    ),
    "InsufficientScope": _permission,
    "AuthError": _fixed(
        ErrorCode.RECONNECT,
        "Xero refused the BMS's credentials",
        "Reconnect to Xero; if that does not help, ask your administrator to check the "
        "app's credentials.",
        Action.RECONNECT,
    ),
    "NotFound": _fixed(
        ErrorCode.NOT_FOUND,
        "Xero can't find the invoice",
        "It may have been deleted in Xero: check it there, then sync again.",
        Action.SYNC,
    ),
    "RateLimited": _BUSY,
    "DailyLimitReached": _day_limit,
    "XeroUnavailable": _fixed(
        ErrorCode.UNAVAILABLE,
        "Xero is not answering right now",
        "Try again in a few minutes; queued work is tried again by itself.",
        Action.SYNC,
    ),
    "UnexpectedResponse": _fixed(
        ErrorCode.UNEXPECTED,
        "Xero's answer could not be read",
        "Try again later; if it keeps happening, tell your administrator.",
        Action.SYNC,
    ),
    "TransportError": _transport,
    "UncertainOutcome": _fixed(
        ErrorCode.UNCERTAIN,
        "Xero did not confirm the last change",
        "Nothing is lost: the next sync checks Xero first and never sends the invoice twice.",
        Action.SYNC,
    ),
    "XeroApiError": _fixed(
        ErrorCode.UNEXPECTED,
        "Xero refused the request",
        "Try again later; if it keeps happening, tell your administrator.",
        Action.SYNC,
    ),
    "InvalidWebhook": _fixed(
        ErrorCode.UNEXPECTED,
        "A message from Xero could not be read",
        "Nothing to do: the next pull finds what it was about.",
    ),
    "RemoteError": _transport,
    # the engine can't do it
    "CreditNoteRequired": _credit_note_required,
    "CreditNoteExceedsAmountDue": _credit_note(
        "The credit note is worth more than the invoice still owes in Xero",
        "Credit at most what the invoice owes, or leave the rest as credit to refund.",
    ),
    "CreditNoteChanged": _credit_note(
        "Xero already has this credit note and can't change it",
        "Raise another credit note for what changed.",
    ),
    "CreditNoteNumberTaken": _credit_note(
        "Another credit note in Xero already has this number",
        "Give the credit note another number.",
    ),
    "InvoiceNumberConflict": _fixed(
        ErrorCode.NUMBER_TAKEN,
        "Another invoice in Xero already has this number",
        "Renumber the invoice in the BMS, or ask your administrator to link it to that Xero "
        "invoice.",
    ),
    "PushInProgress": _fixed(
        ErrorCode.BUSY,
        "This invoice is being synced right now",
        "Nothing to do: refresh in a moment.",
    ),
    "PaymentDeliveryFailed": _fixed(
        ErrorCode.DELIVERY,
        "The BMS could not record Xero's payment news",
        "Nothing is lost: it is delivered again with the next pull; if it keeps failing, "
        "tell your administrator.",
    ),
    "SyncError": _sync_error,
    # the stores
    "VersionConflict": _CONFLICT,
    "LeaseLost": _CONFLICT,
    "StorageValueError": _STORAGE,
    "SchemaVersionError": _STORAGE,
    "RateBudgetUnavailable": _fixed(
        ErrorCode.UNAVAILABLE,
        "The service that paces requests to Xero is not answering",
        "Nothing was sent: try again in a few minutes, and ask your administrator to check "
        "the shared rate budget's server; queued work is tried again by itself.",
        Action.SYNC,
    ),
    "StorageError": _STORAGE,
    "BmsXeroError": _unknown,
}

#: Codes whose trouble passes by itself: a job that gave up on one is worth a retry.
_PASSING = frozenset({ErrorCode.BUSY, ErrorCode.UNAVAILABLE, ErrorCode.CONFLICT})


def error_view(error_type: str | None, text: str | None, *, tz: tzinfo = UTC) -> ErrorView | None:
    """The :class:`ErrorView` of an error kept as its class name and its text, as sync
    records (``last_error_type``, ``last_error``) and jobs (``error_type``, ``last_error``)
    keep them; ``None`` when there is no error. Pure.

    The class decides the code, the message and the fix; the text adds the details (the
    customer, the account or tax code, Xero's own words). A text without a class (a record
    written before bms_xero kept it) is recognised by its words where it can be. Times in
    the words (a day limit's reset) are shown in ``tz``.
    """
    if text is None and error_type is None:
        return None
    text = text or ""
    body = _body(text)
    rule = _RULES.get(error_type or "", _unknown)
    words = rule(body, _check_tz(tz))
    gave_up = _GAVE_UP.match(text)
    action = words.action
    fix = words.fix
    if gave_up and words.code in _PASSING:
        fix = f"It was tried {gave_up.group(1)} times without success: retry it later."
        action = Action.RETRY
    return ErrorView(
        code=words.code,
        message=words.message,
        fix=fix,
        action=action,
        error_type=error_type or None,
        detail=text or None,
    )


# --- the panel ----------------------------------------------------------------------------------


class PanelState(enum.StrEnum):
    """Where the invoice stands with Xero, for the panel's badge."""

    #: Never sent to Xero, nothing queued.
    NOT_SYNCED = "not_synced"
    #: A push (or a refresh) waits for the worker.
    QUEUED = "queued"
    #: A worker is running it right now, or a push is under way.
    SYNCING = "syncing"
    #: Xero has it as the BMS last sent it.
    SYNCED = "synced"
    #: The last try failed: :attr:`PanelView.error` says why and what fixes it.
    FAILED = "failed"
    #: Cancelled in the BMS and voided (or deleted) in Xero.
    VOIDED = "voided"


#: What the panel's badge says.
_STATE_LABELS: Mapping[PanelState, str] = {
    PanelState.NOT_SYNCED: "Not in Xero yet",
    PanelState.QUEUED: "Queued",
    PanelState.SYNCING: "Syncing",
    PanelState.SYNCED: "In Xero",
    PanelState.FAILED: "Sync failed",
    PanelState.VOIDED: "Voided in Xero",
}

#: What the BMS calls each status.
_STATUS_LABELS: Mapping[BmsStatus, str] = {
    BmsStatus.DRAFT: "Draft",
    BmsStatus.AWAITING_APPROVAL: "Awaiting approval",
    BmsStatus.AWAITING_PAYMENT: "Awaiting payment",
    BmsStatus.PARTIALLY_PAID: "Partially paid",
    BmsStatus.PAID: "Paid",
    BmsStatus.CREDITED: "Credited",
    BmsStatus.VOIDED: "Voided",
    BmsStatus.DELETED: "Deleted",
    BmsStatus.UNKNOWN: "Unknown",
}


@attrs.frozen(kw_only=True)
class PanelLabels:
    """The panel's fixed words; pass your own to translate them or match the BMS's terms.

    Attributes:
        title: The panel's heading.
        view_in_xero: The deep link's text.
        last_push: The label of the last push time.
        last_pull: The label of the last pull time.
        sync: The Sync button's text.
        never: What a time that never happened shows.
    """

    title: str = attrs.field(default="Xero Integration", validator=_text)
    view_in_xero: str = attrs.field(default="View Xero Invoice", validator=_text)
    last_push: str = attrs.field(default="Last Push", validator=_text)
    last_pull: str = attrs.field(default="Last Pull", validator=_text)
    sync: str = attrs.field(default="Sync Invoice with Xero Invoice", validator=_text)
    never: str = attrs.field(default="Never", validator=_text)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, for a JSON view."""
        return attrs.asdict(self)


_WAITING = frozenset({JobStatus.PENDING, JobStatus.LEASED})
_PANEL_JOBS = frozenset({JobKind.PUSH, JobKind.PULL_INVOICES})


def _moot(job: Job, panel: Panel) -> bool:
    """Whether the job has nothing to tell the panel: done, cancelled or superseded, or a
    failure older than the last push that reached Xero (pressing Sync fixed it)."""
    if job.status in _WAITING:
        return False
    if job.status is not JobStatus.FAILED:
        return True
    return panel.last_push_at is not None and panel.last_push_at >= job.updated_at


def _panel_state(panel: Panel, job: Job | None, now: datetime) -> PanelState:
    """The badge for a panel and the invoice's waiting or failed job. Pure.

    A waiting job wins (the worker is about to change things), then a voided invoice, then
    an error (the record's, or the failed job's), then what the record says.
    """
    if job is not None and job.status in _WAITING:
        return PanelState.SYNCING if job.is_leased(now) else PanelState.QUEUED
    if panel.state is SyncState.VOIDED:
        return PanelState.VOIDED
    if panel.last_error is not None or (job is not None and job.status is JobStatus.FAILED):
        return PanelState.FAILED
    if panel.state is SyncState.PENDING:
        return PanelState.SYNCING
    if panel.linked:
        return PanelState.SYNCED
    return PanelState.NOT_SYNCED


def _error_of(
    panel: Panel, job: Job | None, tz: tzinfo
) -> tuple[ErrorView | None, datetime | None]:
    """The error to show: the record's or the job's, whichever is newer."""
    record = (
        (panel.last_error_at, error_view(panel.last_error_type, panel.last_error, tz=tz))
        if panel.last_error is not None
        else None
    )
    held = (
        (job.updated_at, error_view(job.error_type, job.last_error, tz=tz))
        if job is not None and job.last_error is not None and job.status is not JobStatus.DONE
        else None
    )
    if record is None and held is None:
        if isinstance(panel, SyncOutcome) and panel.error is not None:
            # What held the press back without being stored (busy, queued at once).
            return ErrorView.of(panel.error, tz=tz), None
        return None, None
    if record is None or (held is not None and (record[0] is None or held[0] > record[0])):
        assert held is not None
        return held[1], held[0]
    return record[1], record[0]


@attrs.frozen(kw_only=True)
class PanelView:
    """The Xero Integration panel for one invoice, ready to render.

    Build it with :meth:`of` (pure) or :func:`panel_view` (reads the stores).

    Attributes:
        invoice_id: The BMS invoice.
        invoice_number: Its number, once the engine has seen it.
        labels: The fixed words (title, "View Xero Invoice", "Last Push", ...).
        state: Where it stands with Xero (``QUEUED`` while a push waits for the worker).
        state_label: The badge's text ("Queued", "In Xero", "Sync failed", ...).
        status: What the BMS should show for the invoice, from Xero (``None`` until known).
        status_label: "Paid", "Awaiting payment", ... (``None`` until known).
        view_url: "View Xero Invoice": the deep link into the right organisation.
        online_invoice_url: The customer's online invoice (pay) link, once fetched.
        last_push: When Xero last confirmed a push (``None``: never).
        last_pull: When the invoice was last read from Xero (``None``: never).
        next_run: When the waiting job may run (``QUEUED`` and ``SYNCING`` only).
        error: The last error, typed, when there is one.
        error_at: When it happened.
        actions: What a person can do here, in button order: View in Xero (with its URL),
            Sync, then what fixes the error (link the customer, reconnect), then Retry for
            a failed job.
        total: Xero's total.
        amount_paid: Paid so far.
        amount_due: Still to pay.
        job_id: The waiting or failed job shown, if any (for Retry).
    """

    invoice_id: str = attrs.field(validator=_text)
    invoice_number: str | None = None
    labels: PanelLabels = attrs.field(factory=PanelLabels)
    state: PanelState = attrs.field(converter=PanelState)
    state_label: str = attrs.field(validator=_text)
    status: BmsStatus | None = None
    status_label: str | None = None
    view_url: str | None = None
    online_invoice_url: str | None = None
    last_push: TimeView | None = None
    last_pull: TimeView | None = None
    next_run: TimeView | None = None
    error: ErrorView | None = None
    error_at: TimeView | None = None
    actions: tuple[ActionView, ...] = attrs.field(default=(), converter=_actions)
    total: Decimal | None = None
    amount_paid: Decimal | None = None
    amount_due: Decimal | None = None
    job_id: str | None = None

    @classmethod
    def of(
        cls,
        panel: Panel,
        *,
        now: datetime,
        tz: tzinfo = UTC,
        job: Job | None = None,
        labels: PanelLabels | None = None,
    ) -> PanelView:
        """The view of ``panel`` at ``now``, times in ``tz``. Pure.

        Args:
            panel: ``SyncEngine.panel(invoice_id)``, or the ``SyncOutcome`` the Sync button
                returned (its job and error are used when ``job`` is not given).
            now: The moment "2 minutes ago" is counted from (aware).
            tz: The host's time zone, for the absolute times.
            job: The invoice's push (or refresh) job that is waiting or failed, if any
                (:func:`invoice_job` finds it).
            labels: The panel's fixed words.

        Raises:
            ConfigurationError: ``job`` is another invoice's, or not a push or refresh.
        """
        now = _check_now(now)
        tz = _check_tz(tz)
        labels = labels or PanelLabels()
        if job is None and isinstance(panel, SyncOutcome):
            job = panel.job
        if job is not None and (job.kind not in _PANEL_JOBS or job.invoice_id != panel.invoice_id):
            raise ConfigurationError(
                f"job {job.id} is a {job.kind.value} job for {job.subject}, not a push or "
                f"refresh of invoice id {panel.invoice_id}; pass that invoice's job "
                "(invoice_job finds it)"
            )
        if job is not None and _moot(job, panel):
            job = None
        state = _panel_state(panel, job, now)
        error, error_at = _error_of(panel, job, tz)
        actions = [ActionView.of(Action.VIEW_IN_XERO, panel.view_url)] if panel.view_url else []
        actions.append(ActionView(action=Action.SYNC, label=labels.sync))
        if error is not None and error.action in (Action.LINK_CUSTOMER, Action.RECONNECT):
            actions.append(ActionView.of(error.action))
        if job is not None and job.status is JobStatus.FAILED:
            actions.append(ActionView.of(Action.RETRY))
        if actions[0].action is Action.VIEW_IN_XERO:
            actions[0] = attrs.evolve(actions[0], label=labels.view_in_xero)
        next_run = None
        if state in (PanelState.QUEUED, PanelState.SYNCING) and job is not None:
            runs_at = job.run_after
            if isinstance(panel, SyncOutcome) and panel.runs_at is not None:
                runs_at = max(runs_at, panel.runs_at)
            next_run = TimeView.next_run(runs_at, now=now, tz=tz)
        return cls(
            invoice_id=panel.invoice_id,
            invoice_number=panel.invoice_number,
            labels=labels,
            state=state,
            state_label=_STATE_LABELS[state],
            status=panel.status,
            status_label=None if panel.status is None else _STATUS_LABELS[panel.status],
            view_url=panel.view_url,
            online_invoice_url=panel.online_invoice_url,
            last_push=TimeView.maybe(panel.last_push_at, now=now, tz=tz),
            last_pull=TimeView.maybe(panel.last_pull_at, now=now, tz=tz),
            next_run=next_run,
            error=error,
            error_at=TimeView.maybe(error_at, now=now, tz=tz),
            actions=tuple(actions),
            total=panel.total,
            amount_paid=panel.amount_paid,
            amount_due=panel.amount_due,
            job_id=None if job is None else job.id,
        )

    @property
    def queued(self) -> bool:
        """Whether a push (or refresh) waits for the worker."""
        return self.state is PanelState.QUEUED

    def has(self, action: Action) -> bool:
        """Whether ``action`` is available."""
        return any(a.action is action for a in self.actions)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, for a JSON view (times as ``{at, relative, absolute, iso}``)."""
        data = attrs.asdict(self, value_serializer=_json)
        for name in ("last_push", "last_pull", "next_run", "error_at"):
            value = getattr(self, name)
            data[name] = None if value is None else value.to_dict()
        return data


# --- the jobs list --------------------------------------------------------------------------


def _status_label(job: Job, now: datetime) -> str:
    if job.status is JobStatus.PENDING:
        return "Retrying" if job.attempts > 0 and job.last_error else "Waiting"
    if job.status is JobStatus.LEASED:
        return "Running" if job.is_leased(now) else "Waiting"
    return {
        JobStatus.DONE: "Done",
        JobStatus.FAILED: "Failed",
        JobStatus.CANCELLED: "Cancelled",
        JobStatus.SUPERSEDED: "Replaced by newer work",
    }.get(job.status, job.status.value)


def _job_actions(job: Job, now: datetime, error: ErrorView | None) -> tuple[ActionView, ...]:
    """What an operator can do with a job, per its status (the store's rules)."""
    found: list[Action] = []
    fix = None if error is None else error.action
    if fix in (Action.LINK_CUSTOMER, Action.RECONNECT) and job.status in (
        JobStatus.FAILED,
        JobStatus.PENDING,
    ):
        assert fix is not None
        found.append(fix)
    if job.status is JobStatus.FAILED:
        found += [Action.RETRY, Action.CANCEL]
    elif job.status is JobStatus.CANCELLED:
        found.append(Action.RETRY)
    elif job.status is JobStatus.PENDING:
        if job.run_after > now:
            found.append(Action.RUN_NOW)
        found.append(Action.CANCEL)
    elif job.status is JobStatus.LEASED:
        found.append(Action.CANCEL)
    return tuple(ActionView.of(a) for a in found)


@attrs.frozen(kw_only=True)
class JobRow:
    """One line of the Background Jobs list, ready to render.

    Attributes:
        id: The job.
        kind: What it does.
        description: One line, e.g. "Push invoice INV-0001 to Xero".
        subject: What it is about, e.g. "Invoice INV-0001", "Customer C-1", "Payments".
        invoice_id: The BMS invoice, for push and refresh jobs.
        invoice_number: Its number, when known.
        customer_id: The BMS customer, for link-customer jobs.
        queue: The queue it waits in.
        status: Where it stands.
        status_label: "Waiting", "Retrying", "Running", "Done", "Failed", "Cancelled",
            "Replaced by newer work".
        attempts: How many times a worker has taken it.
        next_run: When it runs next (waiting jobs only).
        created: When it was queued.
        updated: When it last changed.
        error: Its last error, typed (``None`` once done or replaced).
        actions: What an operator can do: retry and cancel a failed job, run a waiting one
            now or cancel it, and first what fixes the error (link the customer, reconnect).
        needs_reconnect: It failed because the Xero connection is gone.
    """

    id: str = attrs.field(validator=_text)
    kind: JobKind = attrs.field(converter=JobKind)
    description: str = attrs.field(validator=_text)
    subject: str = attrs.field(validator=_text)
    invoice_id: str | None = None
    invoice_number: str | None = None
    customer_id: str | None = None
    queue: str = "default"
    status: JobStatus = attrs.field(converter=JobStatus)
    status_label: str = attrs.field(validator=_text)
    attempts: int = 0
    next_run: TimeView | None = None
    created: TimeView
    updated: TimeView
    error: ErrorView | None = None
    actions: tuple[ActionView, ...] = attrs.field(default=(), converter=_actions)
    needs_reconnect: bool = False

    @classmethod
    def of(cls, job: Job, *, now: datetime, tz: tzinfo = UTC) -> JobRow:
        """The row for ``job`` at ``now``, times in ``tz``. Pure."""
        now = _check_now(now)
        tz = _check_tz(tz)
        finished = job.status in (JobStatus.DONE, JobStatus.SUPERSEDED)
        error = None if finished else error_view(job.error_type, job.last_error, tz=tz)
        waiting = job.status is JobStatus.PENDING or (
            job.status is JobStatus.LEASED and not job.is_leased(now)
        )
        subject = job.subject
        return cls(
            id=job.id,
            kind=job.kind,
            description=job.description,
            subject=subject[:1].upper() + subject[1:],
            invoice_id=job.invoice_id,
            invoice_number=job.invoice_number,
            customer_id=job.customer_id,
            queue=job.queue,
            status=job.status,
            status_label=_status_label(job, now),
            attempts=job.attempts,
            next_run=TimeView.next_run(job.run_after, now=now, tz=tz) if waiting else None,
            created=TimeView.of(job.created_at, now=now, tz=tz),
            updated=TimeView.of(job.updated_at, now=now, tz=tz),
            error=error,
            actions=_job_actions(job, now, error),
            needs_reconnect=job.needs_reconnect,
        )

    @property
    def failed(self) -> bool:
        """Whether the job failed for good (an operator may retry it)."""
        return self.status is JobStatus.FAILED

    def has(self, action: Action) -> bool:
        """Whether ``action`` is available."""
        return any(a.action is action for a in self.actions)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, for a JSON view."""
        data = attrs.asdict(self, value_serializer=_json)
        for name in ("next_run", "created", "updated"):
            value = getattr(self, name)
            data[name] = None if value is None else value.to_dict()
        return data


# --- loaders: the only I/O ----------------------------------------------------------------------


def invoice_job(jobs: JobStore, tenant_id: str, invoice_id: str) -> Job | None:
    """The invoice's newest push (or refresh) job that is waiting or failed, if any: the
    one its panel shows. Reads the job store."""
    found = jobs.list_jobs(
        tenant_id=tenant_id,
        invoice_id=invoice_id,
        kinds=_PANEL_JOBS,
        statuses=(*_WAITING, JobStatus.FAILED),
        limit=1,
    )
    return found[0] if found else None


def panel_view(
    engine: SyncEngine,
    invoice_id: str,
    *,
    jobs: JobStore | None = None,
    now: datetime | None = None,
    tz: tzinfo = UTC,
    labels: PanelLabels | None = None,
) -> PanelView:
    """The panel of ``invoice_id``, read from the engine's store (and ``jobs``, for its
    waiting or failed job); never asks Xero, so it renders while Xero is down.

    ``now`` defaults to the system clock (pass the one your tests use).
    """
    job = None if jobs is None else invoice_job(jobs, engine.tenant_id, invoice_id)
    return PanelView.of(
        engine.panel(invoice_id),
        now=now or datetime.now(UTC),
        tz=tz,
        job=job,
        labels=labels,
    )


def job_rows(
    jobs: JobStore,
    *,
    now: datetime | None = None,
    tz: tzinfo = UTC,
    tenant_id: str | None = None,
    statuses: Collection[JobStatus] | None = None,
    kinds: Collection[JobKind] | None = None,
    limit: int = 100,
) -> list[JobRow]:
    """The Background Jobs list, newest first, filtered like ``JobStore.list_jobs`` (e.g.
    ``statuses={JobStatus.FAILED}``). Reads the job store only."""
    now = now or datetime.now(UTC)
    listed = jobs.list_jobs(tenant_id=tenant_id, statuses=statuses, kinds=kinds, limit=limit)
    return [JobRow.of(job, now=now, tz=tz) for job in listed]
