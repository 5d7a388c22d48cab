"""bms_xero.views: what the panel and the jobs list show people, from the engine's values."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

import bms_xero.errors as errors
from bms_xero import views
from bms_xero.engine import BmsStatus, Panel
from bms_xero.engine._results import SyncOutcome, SyncOutcomeKind
from bms_xero.errors import (
    AccountCodeError,
    AuthError,
    BmsXeroError,
    ConfigurationError,
    ContactArchived,
    CreditNoteExceedsAmountDue,
    CreditNoteMismatch,
    CreditNoteRequired,
    CurrencyNotEnabled,
    DailyLimitReached,
    FieldProblem,
    InsufficientScope,
    InvoiceNumberConflict,
    InvoiceValidationError,
    MissingContactId,
    PaymentDeliveryFailed,
    PreflightFailed,
    PushInProgress,
    RateLimited,
    ReauthorizationRequired,
    SyncError,
    TaxCodeError,
    TransportError,
    UncertainOutcome,
    VersionConflict,
    XeroUnavailable,
    XeroValidationError,
    XeroValidationMessage,
)
from bms_xero.jobs import Job, JobKind, JobStatus, MemoryJobStore
from bms_xero.storage import SyncState
from bms_xero.views import (
    Action,
    ActionView,
    ErrorCode,
    ErrorView,
    JobRow,
    PanelLabels,
    PanelState,
    PanelView,
    TimeView,
    absolute_time,
    error_view,
    invoice_job,
    job_rows,
    relative_time,
)

NOW = datetime(2026, 1, 5, 1, 3, tzinfo=UTC)  # 14:03 in Auckland (NZDT, +13)
AUCKLAND = ZoneInfo("Pacific/Auckland")
TENANT = "T-1"

# --- times -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "just now"),
        (59, "just now"),
        (60, "1 minute ago"),
        (150, "2 minutes ago"),
        (3599, "59 minutes ago"),
        (3600, "1 hour ago"),
        (86399, "23 hours ago"),
        (86400, "yesterday"),
        (2 * 86400, "2 days ago"),
        (59 * 86400, "59 days ago"),
        (90 * 86400, "3 months ago"),
        (800 * 86400, "2 years ago"),
        (-1, "in less than a minute"),
        (-300, "in 5 minutes"),
        (-7200, "in 2 hours"),
        (-86400, "tomorrow"),
        (-3 * 86400, "in 3 days"),
    ],
)
def test_relative_time(seconds: int, expected: str) -> None:
    """Times read as people say them, rounded down to whole units."""
    assert expected == relative_time(NOW - timedelta(seconds=seconds), NOW)


@given(st.integers(min_value=60, max_value=3599))
def test_relative_minutes_never_overstate(seconds: int) -> None:
    """Within the hour, the minutes shown are the whole minutes that passed."""
    minutes = seconds // 60
    expected = f"{minutes} minute{'s' * (minutes != 1)} ago"
    assert expected == relative_time(NOW - timedelta(seconds=seconds), NOW)


@given(st.integers(min_value=-10 * 365 * 86400, max_value=10 * 365 * 86400))
def test_relative_time_says_which_way(seconds: int) -> None:
    """A past time ends in "ago" (or is "just now"/"yesterday"); a future one starts "in"
    (or is "tomorrow")."""
    text = relative_time(NOW - timedelta(seconds=seconds), NOW)
    if seconds >= 0:
        assert text in ("just now", "yesterday") or text.endswith(" ago")
    else:
        assert text == "tomorrow" or text.startswith("in ")


def test_absolute_time_in_the_hosts_zone() -> None:
    """The absolute form is in the host's time zone, with its abbreviation."""
    assert ("5 Jan 2026, 14:03 NZDT", "5 Jan 2026, 01:03 UTC") == (
        absolute_time(NOW, AUCKLAND),
        absolute_time(NOW, UTC),
    )


def test_time_view() -> None:
    """A TimeView carries both forms and the moment in the host's zone."""
    view = TimeView.of(NOW - timedelta(minutes=2), now=NOW, tz=AUCKLAND)
    assert ("2 minutes ago", "5 Jan 2026, 14:01 NZDT", "2026-01-05T14:01:00+13:00") == (
        view.relative,
        view.absolute,
        view.iso,
    )


def test_naive_times_are_refused() -> None:
    """A naive datetime is a ConfigurationError, not a guess at the zone."""
    with pytest.raises(ConfigurationError, match="timezone-aware"):
        TimeView.of(datetime(2026, 1, 5), now=NOW, tz=UTC)  # noqa: DTZ001
    with pytest.raises(ConfigurationError, match="tz must be a tzinfo"):
        TimeView.of(NOW, now=NOW, tz="Pacific/Auckland")  # type: ignore[arg-type]


# --- errors: every class a push, a pull or a job can record -------------------------------------

#: (error_type, the text as a store keeps it) -> (code, message, action)
STORED = [
    (
        "MissingContactId",
        "invoice INV-1: customer C-1 (Acme Ltd) has no Xero identifier; sync the customer first "
        "(SyncEngine.link_customer) and push the invoice again",
        ErrorCode.CUSTOMER_NOT_LINKED,
        "Link the customer to Xero first",
        Action.LINK_CUSTOMER,
    ),
    (
        "ContactArchived",
        "invoice INV-1: customer C-1 (Acme) is linked to Xero contact X-9, which is archived in "
        "Xero; un-archive the contact in Xero, or link the customer to another contact "
        "(SyncEngine.link_customer), and push the invoice again",
        ErrorCode.CONTACT_ARCHIVED,
        "The customer's Xero contact is archived",
        Action.LINK_CUSTOMER,
    ),
    (
        "AccountCodeError",
        "invoice INV-1: account code '999' (used by lines[0].account_code) is not in Xero's "
        "chart of accounts; add it in Xero or map the line to an existing revenue account",
        ErrorCode.ACCOUNT_CODE,
        "Account code 999 is not in Xero's chart of accounts",
        Action.SYNC,
    ),
    (
        "AccountCodeError",
        "invoice INV-1: account code '210' is archived in Xero's chart of accounts; restore it "
        "in Xero or use an active account",
        ErrorCode.ACCOUNT_CODE,
        "Account code 210 is archived in Xero",
        Action.SYNC,
    ),
    (
        "AccountCodeError",
        "invoice INV-1: account code '400' is not a revenue account in Xero; sales invoice "
        "lines need a revenue account",
        ErrorCode.ACCOUNT_CODE,
        "Account code 400 is not a sales account in Xero",
        Action.SYNC,
    ),
    (
        "TaxCodeError",
        "invoice INV-1: tax code 'GST99' (used by lines[0].tax_code) has no Xero tax type; add "
        "it to the tax map, e.g. tax_map={'GST99': 'OUTPUT2'}",
        ErrorCode.TAX_CODE,
        "Tax code GST99 has no Xero tax rate",
        Action.SYNC,
    ),
    (
        "TaxCodeError",
        "invoice INV-1: tax code 'OLD' maps to Xero tax type 'OLDGST', which is not active in "
        "Xero; map it to an active tax rate",
        ErrorCode.TAX_CODE,
        "Tax code OLD maps to a tax rate that is not active in Xero",
        Action.SYNC,
    ),
    (
        "CurrencyNotEnabled",
        "invoice INV-1: currency USD is not enabled in this Xero organisation (it has NZD); add "
        "it in Xero (Settings, Currencies), or invoice in a currency it has",
        ErrorCode.CURRENCY,
        "Currency USD is not enabled in Xero",
        Action.SYNC,
    ),
    (
        "PreflightFailed",
        "invoice INV-1: 2 problems: customer C-1 (Acme) has no Xero identifier; sync the "
        "customer first (SyncEngine.link_customer) and push the invoice again; account code "
        "'999' is not in Xero's chart of accounts; add it in Xero or map the line to an "
        "existing revenue account",
        ErrorCode.CUSTOMER_NOT_LINKED,
        "Link the customer to Xero first (and 1 more problem)",
        Action.LINK_CUSTOMER,
    ),
    (
        "InvoiceValidationError",
        "invoice INV-1 is not valid (1 problem): lines[0].quantity: must be > 0",
        ErrorCode.INVALID_INVOICE,
        "The invoice is incomplete",
        None,
    ),
    (
        "XeroValidationError",
        "invoice INV-1: Xero rejected the data: Account code '999' is not a valid code for this "
        "document.",
        ErrorCode.XERO_REJECTED,
        "Xero refused the invoice: Account code '999' is not a valid code for this document.",
        Action.SYNC,
    ),
    (
        "CreditNoteRequired",
        "invoice INV-1: the Xero invoice can no longer be edited because it is PAID with "
        "payments or credits allocated; raise a credit note for the difference instead of "
        "changing the invoice: SyncEngine.correction_credit_note builds it from what Xero "
        "holds, and push_credit_note sends it",
        ErrorCode.CREDIT_NOTE_REQUIRED,
        "Xero no longer allows changes to this invoice (it is paid there)",
        None,
    ),
    (
        "InvoiceNumberConflict",
        "invoice INV-1: Xero already has an invoice with this number (X-1) that does not "
        "match: another contact; renumber the BMS invoice or link it by hand",
        ErrorCode.NUMBER_TAKEN,
        "Another invoice in Xero already has this number",
        None,
    ),
    (
        "SyncError",
        "invoice INV-1: was cancelled (its Xero invoice voided); raise a new invoice instead",
        ErrorCode.INVOICE_CANCELLED,
        "The invoice was cancelled, so it can't be sent to Xero again",
        None,
    ),
    (
        "SyncError",
        "invoice INV-1: no longer exists in the BMS, so nothing was pushed; cancel this job, or "
        "restore the invoice and retry it",
        ErrorCode.INVOICE_MISSING,
        "The invoice no longer exists in the BMS",
        Action.CANCEL,
    ),
    (
        "SyncError",
        "customer C-0: no longer exists in the BMS, so it was not linked; cancel this job, or "
        "restore the customer and retry it",
        ErrorCode.CUSTOMER_MISSING,
        "The customer no longer exists in the BMS",
        Action.CANCEL,
    ),
    (
        "SyncError",
        "customer C-1: customer C-1 (Acme): Xero already has a contact named 'Acme' with "
        "ContactNumber 'C-7', another customer's; give this customer a distinct name",
        ErrorCode.CONTACT_NAME_TAKEN,
        "Another customer's contact in Xero has this name",
        None,
    ),
    (
        "PushInProgress",
        "invoice INV-1: another worker is pushing this invoice right now; push it again later "
        "(no duplicate will be created)",
        ErrorCode.BUSY,
        "This invoice is being synced right now",
        None,
    ),
    (
        "ReauthorizationRequired",
        "invoice INV-1: Xero refused the refresh token (invalid_grant); connect again",
        ErrorCode.RECONNECT,
        "The connection to Xero has ended",
        Action.RECONNECT,
    ),
    (
        "AuthError",
        "invoice INV-1: Xero refused the app's credentials (invalid_client); check the client "
        "id and secret in the Xero developer portal",
        ErrorCode.RECONNECT,
        "Xero refused the BMS's credentials",
        Action.RECONNECT,
    ),
    (
        "InsufficientScope",
        "invoice INV-1: Xero refused PUT /Invoices: the access token lacks the scope "
        "accounting.invoices (it carries openid); authorise the app again asking for it",
        ErrorCode.PERMISSION,
        "Xero did not give the BMS permission for this",
        Action.RECONNECT,
    ),
    (
        "RateLimited",
        "invoice INV-1: Xero's minute limit was hit; retry after 40 s",
        ErrorCode.BUSY,
        "Xero is busy right now",
        None,
    ),
    (
        "DailyLimitReached",
        "invoice INV-1: Xero's daily call limit for this organisation is used up; work resumes "
        "at 2026-01-06T09:00:00+00:00",
        ErrorCode.BUSY,
        "Xero's daily limit for this organisation is used up",
        None,
    ),
    (
        "XeroUnavailable",
        "invoice INV-1: The Organisation is offline",
        ErrorCode.UNAVAILABLE,
        "Xero is not answering right now",
        Action.SYNC,
    ),
    (
        "RateBudgetUnavailable",
        "the shared rate budget (Redis at redis://:***@10.0.0.5:6379/0) could not take an "
        "in-flight slot (Connection refused); nothing was sent to Xero",
        ErrorCode.UNAVAILABLE,
        "The service that paces requests to Xero is not answering",
        Action.SYNC,
    ),
    (
        "TransportError",
        "invoice INV-1: could not get an access token (could not connect to send POST "
        "/connect/token (ConnectTimeout); nothing was sent); nothing was sent to the API",
        ErrorCode.UNAVAILABLE,
        "Xero's sign-in service can't be reached",
        Action.SYNC,
    ),
    (
        "TransportError",
        "invoice INV-1: could not connect to send PUT /Invoices (ConnectError)",
        ErrorCode.UNAVAILABLE,
        "Xero can't be reached right now",
        Action.SYNC,
    ),
    (
        "UncertainOutcome",
        "invoice INV-1: PUT /Invoices may or may not have been applied by Xero (timeout)",
        ErrorCode.UNCERTAIN,
        "Xero did not confirm the last change",
        Action.SYNC,
    ),
    (
        "UnexpectedResponse",
        "invoice INV-1: Xero answered 200 with HTML",
        ErrorCode.UNEXPECTED,
        "Xero's answer could not be read",
        Action.SYNC,
    ),
    (
        "NotFound",
        "invoice INV-1: GET /Invoices/X-1: not found",
        ErrorCode.NOT_FOUND,
        "Xero can't find the invoice",
        Action.SYNC,
    ),
    (
        "PaymentDeliveryFailed",
        "the PaymentSink raised on the update for invoice INV-1 (ValueError: db down); nothing "
        "is lost",
        ErrorCode.DELIVERY,
        "The BMS could not record Xero's payment news",
        None,
    ),
    (
        "VersionConflict",
        "invoice INV-1: T/I-1 changed since it was read (expected version 2, found 3)",
        ErrorCode.CONFLICT,
        "The invoice changed while it was syncing",
        Action.SYNC,
    ),
    (
        "ConfigurationError",
        "invoice INV-1: the InvoiceSource returned invoice I-2 (INV-2) when asked for I-1",
        ErrorCode.CONFIGURATION,
        "The Xero integration is not set up correctly",
        None,
    ),
    (
        "StorageValueError",
        "sync record T/I-1 can't be stored (1 problem): last_push_at: must be aware",
        ErrorCode.STORAGE,
        "The integration could not save its records",
        None,
    ),
    (
        "ValueError",  # the host's InvoiceSource raised
        "invoice INV-1: ValueError: the BMS database is down",
        ErrorCode.UNKNOWN,
        "The sync failed",
        Action.SYNC,
    ),
    (
        None,  # a record stored before bms_xero kept the class name
        "invoice INV-1: customer C-1 (Acme) has no Xero identifier; sync the customer first",
        ErrorCode.CUSTOMER_NOT_LINKED,
        "Link the customer to Xero first",
        Action.LINK_CUSTOMER,
    ),
]


def text_of(error_type: str) -> str:
    """The first stored text of that class in the table."""
    return next(text for kind, text, *_ in STORED if kind == error_type)


@pytest.mark.parametrize(("error_type", "text", "code", "message", "action"), STORED)
def test_error_view_of_a_stored_error(
    error_type: str | None, text: str, code: ErrorCode, message: str, action: Action | None
) -> None:
    """Each kind of error a store keeps reads in the BMS's words, with the action that fixes
    it; the error's own text stays available as the detail."""
    view = error_view(error_type, text)
    assert view is not None
    assert (code, message, action, text, error_type) == (
        view.code,
        view.message,
        view.action,
        view.detail,
        view.error_type,
    )


def test_no_error_no_view() -> None:
    """Nothing stored, nothing shown."""
    assert None is error_view(None, None)


def test_fixes_carry_the_details() -> None:
    """The fix names what to fix: the customer, or the days' reset in the host's zone."""
    missing = error_view("MissingContactId", text_of("MissingContactId"))
    day = error_view("DailyLimitReached", text_of("DailyLimitReached"), tz=AUCKLAND)
    assert missing is not None and day is not None
    assert (
        "Acme Ltd (C-1) has no contact in Xero yet: link the customer to its Xero contact (or "
        "create one), then sync the invoice again.",
        "Nothing to do: it syncs by itself after 6 Jan 2026, 22:00 NZDT.",
    ) == (missing.fix, day.fix)


def test_a_job_that_gave_up_on_a_passing_error_offers_retry() -> None:
    """A job that gave up on Xero not answering says so and offers Retry."""
    view = error_view(
        "XeroUnavailable", "gave up after 8 attempts: invoice INV-1: The Organisation is offline"
    )
    assert view is not None
    assert (
        ErrorCode.UNAVAILABLE,
        "It was tried 8 times without success: retry it later.",
        Action.RETRY,
    ) == (view.code, view.fix, view.action)


def test_every_error_class_has_words() -> None:
    """Every exception bms_xero.errors exports has its own entry (none falls to "unknown")."""
    names = [
        name
        for name in errors.__all__
        if isinstance(getattr(errors, name), type)
        and issubclass(getattr(errors, name), BaseException)
    ]
    assert [] == [n for n in names if n not in views._RULES]


def live_errors() -> list[BmsXeroError]:
    """One of each error a push or a pull raises, built as the engine builds them."""
    missing = MissingContactId(customer_id="C-1", customer_name="Acme", invoice_number="INV-1")
    account = AccountCodeError(code="999", reason="unknown", invoice_number="INV-1")
    update = PaymentDeliveryFailed(failures=[(_update(), ValueError("db down"))])
    return [
        missing,
        ContactArchived(
            customer_id="C-1", customer_name="Acme", contact_id="X-9", invoice_number="INV-1"
        ),
        account,
        TaxCodeError(tax_code="GST99", reason="not_mapped", invoice_number="INV-1"),
        TaxCodeError(tax_code="OLD", reason="inactive", tax_type="OLDGST"),
        CurrencyNotEnabled(currency_code="USD", enabled=["NZD"], invoice_number="INV-1"),
        PreflightFailed([missing, account], invoice_number="INV-1"),
        InvoiceValidationError([FieldProblem("number", "must not be empty")]),
        XeroValidationError([XeroValidationMessage("Contact is archived")], invoice_number="I"),
        CreditNoteRequired(invoice_number="INV-1", xero_invoice_id="X", xero_status="PAID"),
        CreditNoteRequired(
            invoice_number="INV-1", xero_invoice_id="X", xero_status="PAID", cancelling=True
        ),
        CreditNoteMismatch(reason="not_pushed", invoice_number="INV-1"),
        CreditNoteExceedsAmountDue(
            credit_note_number="CN-1",
            invoice_number="INV-1",
            total=Decimal("50"),
            amount_due=Decimal("20"),
        ),
        InvoiceNumberConflict(invoice_number="INV-1", xero_invoice_id="X", reason="other total"),
        PushInProgress(invoice_number="INV-1"),
        update,
        SyncError("no longer exists in the BMS, so nothing was pushed", invoice_number="INV-1"),
        ReauthorizationRequired("Xero refused the refresh token; connect again"),
        AuthError("Xero refused the app's credentials", status_code=401),
        InsufficientScope(
            missing_scope="accounting.invoices", granted=["openid"], method="PUT", path="/Inv"
        ),
        RateLimited("Xero's minute limit was hit", problem="minute", retry_after=40),
        DailyLimitReached(resets_at=datetime(2026, 1, 6, 9, tzinfo=UTC)),
        XeroUnavailable("The Organisation is offline", status_code=503),
        TransportError("could not get an access token (timeout)", sent=False),
        UncertainOutcome(
            "PUT /Invoices may have landed", idempotency_key="k", method="PUT", path="/"
        ),
        VersionConflict(key="T/I-1", expected_version=1, actual_version=2),
        ConfigurationError("tax_map: 'X' must map to a TaxType"),
    ]


def _update() -> Any:
    from bms_xero import PaymentUpdate, Settlement

    return PaymentUpdate(
        sequence=1,
        invoice_id="I-1",
        invoice_number="INV-1",
        xero_invoice_id="X-1",
        status=BmsStatus.PAID,
        xero_status="PAID",
        total=Decimal("115"),
        amount_paid=Decimal("115"),
        amount_due=Decimal("0"),
        amount_credited=Decimal("0"),
        settlement=Settlement(),
    )


@pytest.mark.parametrize("error", live_errors(), ids=lambda e: type(e).__name__)
def test_every_live_error_has_words(error: BmsXeroError) -> None:
    """Each error a push or a pull raises reads as a known kind, the same live as stored (so
    a panel reads the same before and after a reload), with its text as the detail."""
    named = error.for_invoice("INV-1")
    view = ErrorView.of(named)
    assert (False, str(named)) == (ErrorCode.UNKNOWN is view.code, view.detail)
    assert error_view(type(named).__name__, str(named)) == view


def test_a_subclass_reads_as_its_base() -> None:
    """A host's subclass of a known error reads as that error, keeping its own name."""

    class NoContactYet(MissingContactId):
        pass

    view = ErrorView.of(NoContactYet(customer_id="C-1", customer_name="Acme"))
    assert (ErrorCode.CUSTOMER_NOT_LINKED, "NoContactYet") == (view.code, view.error_type)


#: Words of developers, never of people: API names, settings, code.
DEVELOPER = re.compile(r"SyncEngine|tax_map|OverCredit|push_credit_note|DEFAULT_SCOPES|\w+\(|=")


@pytest.mark.parametrize("error", live_errors(), ids=lambda e: type(e).__name__)
def test_people_never_read_developer_hints(error: BmsXeroError) -> None:
    """The message and the fix never carry a developer hint: it stays in the exception."""
    view = ErrorView.of(error)
    assert (None, None) == (DEVELOPER.search(view.message), DEVELOPER.search(view.fix))
    if error.hint is not None:
        assert error.hint not in view.message + view.fix


def test_hints_stay_on_the_exception() -> None:
    """Errors with a developer hint carry it as a field, and their text still names it."""
    missing = MissingContactId(customer_id="C-1", customer_name="Acme")
    scope = InsufficientScope(missing_scope="a.b", granted=None, method="GET", path="/P")
    assert ("SyncEngine.link_customer", "bms_xero.xero.DEFAULT_SCOPES") == (
        missing.hint,
        scope.hint,
    )
    assert (True, True) == (
        str(missing.hint) in str(missing),
        str(scope.hint) in str(scope),
    )
    assert missing.hint == missing.for_invoice("INV-1").hint


def test_an_unknown_exception_is_still_shown() -> None:
    """A host's own exception is "unknown" with its type and text in the detail."""
    view = ErrorView.of(KeyError("I-1"))
    assert (ErrorCode.UNKNOWN, "KeyError", "KeyError: 'I-1'") == (
        view.code,
        view.error_type,
        view.detail,
    )


def test_error_view_validates() -> None:
    """An ErrorView with no words is refused when built."""
    with pytest.raises(ConfigurationError, match="message must be a non-empty string"):
        ErrorView(code=ErrorCode.BUSY, message=" ", fix="Wait.")


# --- the panel ---------------------------------------------------------------------------------

URL = "https://go.xero.com/app/!Demo1/invoicing/view/X-1"


def panel(**changes: Any) -> Panel:
    values: dict[str, Any] = {
        "invoice_id": "I-1",
        "invoice_number": "INV-1",
        "linked": True,
        "state": SyncState.PUSHED,
        "xero_invoice_id": "X-1",
        "view_url": URL,
        "last_push_at": NOW - timedelta(minutes=2),
        "last_pull_at": NOW - timedelta(hours=3),
        "status": BmsStatus.AWAITING_PAYMENT,
        "total": Decimal("115.00"),
        "amount_due": Decimal("115.00"),
        "amount_paid": Decimal("0.00"),
    }
    return Panel(**(values | changes))


def job(**changes: Any) -> Job:
    values: dict[str, Any] = {
        "id": "J-1",
        "tenant_id": TENANT,
        "kind": JobKind.PUSH,
        "invoice_id": "I-1",
        "invoice_number": "INV-1",
        "run_after": NOW,
        "created_at": NOW - timedelta(minutes=1),
        "updated_at": NOW - timedelta(minutes=1),
    }
    return Job(**(values | changes))


def actions(view: PanelView | JobRow) -> list[Action]:
    return [a.action for a in view.actions]


def test_a_pushed_invoice() -> None:
    """A pushed invoice shows the deep link, both times in both forms, and "Awaiting
    payment", with the seed's labels."""
    view = PanelView.of(panel(), now=NOW, tz=AUCKLAND)
    assert (
        PanelState.SYNCED,
        "In Xero",
        "Awaiting payment",
        [Action.VIEW_IN_XERO, Action.SYNC],
        URL,
        "View Xero Invoice",
        "Sync Invoice with Xero Invoice",
    ) == (
        view.state,
        view.state_label,
        view.status_label,
        actions(view),
        view.actions[0].url,
        view.actions[0].label,
        view.actions[1].label,
    )
    assert view.last_push is not None and view.last_pull is not None
    assert (
        "2 minutes ago",
        "5 Jan 2026, 14:01 NZDT",
        "3 hours ago",
        ("Xero Integration", "Last Push", "Last Pull"),
    ) == (
        view.last_push.relative,
        view.last_push.absolute,
        view.last_pull.relative,
        (view.labels.title, view.labels.last_push, view.labels.last_pull),
    )


def test_never_pushed() -> None:
    """An invoice never pushed offers only Sync and shows no times."""
    view = PanelView.of(Panel(invoice_id="I-1"), now=NOW)
    assert (PanelState.NOT_SYNCED, [Action.SYNC], None, None, None) == (
        view.state,
        actions(view),
        view.last_push,
        view.status_label,
        view.error,
    )


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (BmsStatus.PAID, "Paid"),
        (BmsStatus.PARTIALLY_PAID, "Partially paid"),
        (BmsStatus.CREDITED, "Credited"),
        (BmsStatus.VOIDED, "Voided"),
    ],
)
def test_status_labels(status: BmsStatus, label: str) -> None:
    """The BMS's words for Xero's status."""
    assert label == PanelView.of(panel(status=status), now=NOW).status_label


def test_queued_while_the_push_waits() -> None:
    """While a push job waits for the worker the panel says "Queued" and when it may run."""
    view = PanelView.of(
        Panel(invoice_id="I-1"), now=NOW, job=job(run_after=NOW + timedelta(minutes=5))
    )
    assert (PanelState.QUEUED, "Queued", True, "in 5 minutes", "J-1") == (
        view.state,
        view.state_label,
        view.queued,
        None if view.next_run is None else view.next_run.relative,
        view.job_id,
    )


def test_syncing_while_a_worker_holds_it() -> None:
    """A job a worker holds reads "Syncing"."""
    held = job(status=JobStatus.LEASED, leased_by="w", lease_until=NOW + timedelta(minutes=5))
    assert PanelState.SYNCING is PanelView.of(panel(), now=NOW, job=held).state


def test_a_failed_job_offers_its_fix_and_retry() -> None:
    """A push that failed for want of a Xero contact shows why, with Link customer and
    Retry."""
    text = text_of("MissingContactId")
    failed = job(status=JobStatus.FAILED, last_error=text, error_type="MissingContactId")
    view = PanelView.of(Panel(invoice_id="I-1"), now=NOW, job=failed)
    assert (
        PanelState.FAILED,
        [Action.SYNC, Action.LINK_CUSTOMER, Action.RETRY],
        ErrorCode.CUSTOMER_NOT_LINKED,
        "1 minute ago",
    ) == (
        view.state,
        actions(view),
        None if view.error is None else view.error.code,
        None if view.error_at is None else view.error_at.relative,
    )


def test_a_failure_fixed_by_a_later_push_is_not_shown() -> None:
    """A failed job older than the last push that reached Xero is moot: the panel is clean."""
    stale = job(
        status=JobStatus.FAILED,
        last_error=text_of("MissingContactId"),
        error_type="MissingContactId",
        updated_at=NOW - timedelta(minutes=10),
        created_at=NOW - timedelta(minutes=10),
    )
    view = PanelView.of(panel(), now=NOW, job=stale)
    assert (PanelState.SYNCED, None, None) == (view.state, view.error, view.job_id)


def test_the_records_error_shows_with_its_action() -> None:
    """The sync record's typed error shows with the action that fixes it."""
    view = PanelView.of(
        Panel(
            invoice_id="I-1",
            state=SyncState.FAILED,
            last_error=text_of("ReauthorizationRequired"),
            last_error_type="ReauthorizationRequired",
            last_error_at=NOW,
        ),
        now=NOW,
    )
    assert (PanelState.FAILED, [Action.SYNC, Action.RECONNECT]) == (view.state, actions(view))


def test_voided() -> None:
    """A cancelled invoice reads "Voided in Xero"."""
    view = PanelView.of(panel(state=SyncState.VOIDED, status=BmsStatus.VOIDED), now=NOW)
    assert (PanelState.VOIDED, "Voided") == (view.state, view.status_label)


def test_a_busy_press_shows_why_it_was_queued() -> None:
    """The SyncOutcome of a busy press shows "Queued", the busy reason and the job."""
    queued = job()
    outcome = SyncOutcome.of(
        Panel(invoice_id="I-1"),
        SyncOutcomeKind.QUEUED,
        error=RateLimited("minute budget spent", problem="minute").for_invoice("INV-1"),
        job=queued,
        runs_at=NOW + timedelta(seconds=90),
    )
    view = PanelView.of(outcome, now=NOW)
    assert (PanelState.QUEUED, ErrorCode.BUSY, "in 1 minute", "J-1") == (
        view.state,
        None if view.error is None else view.error.code,
        None if view.next_run is None else view.next_run.relative,
        view.job_id,
    )


def test_another_invoices_job_is_refused() -> None:
    """Handing the panel another invoice's job is a ConfigurationError."""
    with pytest.raises(ConfigurationError, match="not a push or refresh of invoice id I-1"):
        PanelView.of(panel(), now=NOW, job=job(invoice_id="I-2"))


def test_labels_can_be_translated() -> None:
    """The host's own labels replace the seed's."""
    labels = PanelLabels(title="Intégration Xero", sync="Synchroniser", view_in_xero="Voir")
    view = PanelView.of(panel(), now=NOW, labels=labels)
    assert ["Voir", "Synchroniser"] == [a.label for a in view.actions]
    with pytest.raises(ConfigurationError):
        PanelLabels(title="")


def test_panel_view_to_json() -> None:
    """to_dict() is plain JSON: enums by value, money and times as text."""
    data = PanelView.of(panel(), now=NOW, tz=AUCKLAND).to_dict()
    encoded = json.loads(json.dumps(data))
    assert ("synced", "115.00", "2 minutes ago", "view_in_xero", URL) == (
        encoded["state"],
        encoded["total"],
        encoded["last_push"]["relative"],
        encoded["actions"][0]["action"],
        encoded["actions"][0]["url"],
    )


def test_action_view_of() -> None:
    """An action comes with its default label."""
    assert ActionView(action=Action.RETRY, label="Retry") == ActionView.of(Action.RETRY)


# --- the jobs list -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "label", "expected"),
    [
        ({}, "Waiting", [Action.CANCEL]),
        ({"run_after": NOW + timedelta(minutes=5)}, "Waiting", [Action.RUN_NOW, Action.CANCEL]),
        (
            {"run_after": NOW + timedelta(minutes=5), "attempts": 2, "last_error": "x"},
            "Retrying",
            [Action.RUN_NOW, Action.CANCEL],
        ),
        (
            {"status": JobStatus.LEASED, "leased_by": "w", "lease_until": NOW + timedelta(1)},
            "Running",
            [Action.CANCEL],
        ),
        (
            {"status": JobStatus.FAILED, "last_error": "x", "error_type": "XeroValidationError"},
            "Failed",
            [Action.RETRY, Action.CANCEL],
        ),
        ({"status": JobStatus.DONE}, "Done", []),
        ({"status": JobStatus.CANCELLED}, "Cancelled", [Action.RETRY]),
        ({"status": JobStatus.SUPERSEDED, "last_error": "x"}, "Replaced by newer work", []),
    ],
)
def test_job_row_per_status(changes: dict[str, Any], label: str, expected: list[Action]) -> None:
    """Each status reads in words and offers what the job store allows."""
    row = JobRow.of(job(**changes), now=NOW)
    assert (label, expected) == (row.status_label, actions(row))


def test_a_failed_push_row() -> None:
    """A push that failed for want of a Xero contact names its invoice, says what to fix,
    and offers Link customer before Retry."""
    row = JobRow.of(
        job(
            status=JobStatus.FAILED,
            attempts=1,
            last_error=text_of("MissingContactId"),
            error_type="MissingContactId",
        ),
        now=NOW,
        tz=AUCKLAND,
    )
    assert (
        "Push invoice INV-1 to Xero",
        "Invoice INV-1",
        "Link the customer to Xero first",
        [Action.LINK_CUSTOMER, Action.RETRY, Action.CANCEL],
        1,
        True,
        None,
    ) == (
        row.description,
        row.subject,
        None if row.error is None else row.error.message,
        actions(row),
        row.attempts,
        row.failed,
        row.next_run,
    )


def test_a_due_row_runs_now() -> None:
    """A job that is due says it runs "now"."""
    row = JobRow.of(job(run_after=NOW - timedelta(minutes=3)), now=NOW)
    assert row.next_run is not None
    assert ("now", NOW) == (row.next_run.relative, row.next_run.at)


def test_a_waiting_row_says_when_it_runs() -> None:
    """A waiting job says when it runs next."""
    row = JobRow.of(job(run_after=NOW + timedelta(minutes=30)), now=NOW, tz=AUCKLAND)
    assert row.next_run is not None
    assert ("in 30 minutes", "5 Jan 2026, 14:33 NZDT") == (
        row.next_run.relative,
        row.next_run.absolute,
    )


def test_rows_of_other_kinds() -> None:
    """Link-customer and pull jobs name their customer, or the payments."""
    link = JobRow.of(
        job(kind=JobKind.LINK_CUSTOMER, invoice_id=None, invoice_number=None, customer_id="C-1"),
        now=NOW,
    )
    pull = JobRow.of(job(kind=JobKind.PULL, invoice_id=None, invoice_number=None), now=NOW)
    assert (
        ("Customer C-1", "Link customer C-1 to Xero", "C-1"),
        ("Payments", "Pull payments from Xero"),
    ) == ((link.subject, link.description, link.customer_id), (pull.subject, pull.description))


def test_a_reconnect_row() -> None:
    """A job failed on a connection that is gone offers Reconnect and says so."""
    row = JobRow.of(
        job(
            status=JobStatus.FAILED,
            last_error="invoice INV-1: reconnect",
            error_type="ReauthorizationRequired",
        ),
        now=NOW,
    )
    assert ([Action.RECONNECT, Action.RETRY, Action.CANCEL], True) == (
        actions(row),
        row.needs_reconnect,
    )


def test_job_row_to_json() -> None:
    """to_dict() is plain JSON."""
    row = JobRow.of(job(status=JobStatus.FAILED, last_error="x", error_type="X"), now=NOW)
    encoded = json.loads(json.dumps(row.to_dict()))
    assert ("failed", "push", "unknown", "retry") == (
        encoded["status"],
        encoded["kind"],
        encoded["error"]["code"],
        encoded["actions"][0]["action"],
    )


# --- the loaders -------------------------------------------------------------------------------


def test_invoice_job_and_job_rows() -> None:
    """The loaders read the job store: the invoice's live job, and the list newest first."""
    jobs = MemoryJobStore()
    push = jobs.enqueue_push(TENANT, "I-1", invoice_number="INV-1", now=NOW)
    jobs.enqueue_pull(TENANT, now=NOW + timedelta(seconds=1))
    assert (push, None) == (invoice_job(jobs, TENANT, "I-1"), invoice_job(jobs, TENANT, "I-2"))
    assert ["Pull payments from Xero", "Push invoice INV-1 to Xero"] == [
        r.description for r in job_rows(jobs, now=NOW, tenant_id=TENANT)
    ]
    assert [] == job_rows(jobs, now=NOW, statuses={JobStatus.FAILED})


# --- docs/views.md ------------------------------------------------------------------------------

PAGE = Path(__file__).resolve().parents[1] / "docs" / "views.md"


def test_views_page_examples_run() -> None:
    """The Python blocks of docs/views.md run top to bottom, as written."""
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
    namespace: dict[str, object] = {"__name__": "docs_views"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"{PAGE.name} block {number}", "exec"), namespace)  # noqa: S102
    assert len(blocks) >= 3


# --- the examples ------------------------------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str) -> Any:
    """Import an example script as a module (examples/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), EXAMPLES / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shown(page: str, *texts: str) -> list[str]:
    """The texts the page shows, of those asked."""
    return [text for text in texts if text in page]


def test_panel_flask_host() -> None:
    """examples/panel_flask.py: the panel says queued, then shows the deep link and Last Push
    once the worker ran; the invoice without a Xero contact is on the failed jobs page with
    what to fix, and clears once its customer is linked."""
    app, xero, engine, jobs, invoices = load("panel_flask.py").demo()
    client = app.test_client()

    def page(path: str) -> str:
        return str(client.get(path).get_data(as_text=True))

    assert ["Queued"] == shown(page("/invoices/I-1/xero"), "Queued", "Sync failed")
    engine.run_pending(jobs=jobs, source=invoices)
    xero.clock.advance(120)
    panel = ["View Xero Invoice", "Last Push", "2 minutes ago", "Awaiting payment"]
    assert panel == shown(page("/invoices/I-1/xero"), *panel)
    failed = ["Push invoice INV-0002 to Xero", "Link the customer to Xero first"]
    assert failed == shown(page("/admin/jobs?failed=1"), *failed, "INV-0001")
    assert 303 == client.post("/invoices/I-2/link_customer").status_code
    engine.run_pending(jobs=jobs, source=invoices)
    assert ("synced", []) == (
        client.get("/invoices/I-2/xero.json").get_json()["state"],
        shown(page("/admin/jobs?failed=1"), "INV-0002"),
    )
    assert (303, 404) == (
        client.post("/invoices/I-1/sync").status_code,
        client.post("/invoices/I-9/sync").status_code,
    )


def require_fastapi() -> None:
    """FastAPI is a test dependency of examples/panel_fastapi.py only."""
    import importlib.util

    from tests.services import missing

    if importlib.util.find_spec("fastapi") is None:
        missing("FastAPI", "pip install fastapi (the dev extra should list it)")


def test_panel_fastapi_host() -> None:
    """examples/panel_fastapi.py: JSON of the same view models; Sync answers with the
    outcome and the fresh panel; an unknown job is a 404."""
    require_fastapi()
    from fastapi.testclient import TestClient

    app = load("panel_fastapi.py").demo()[0]
    with TestClient(app) as http:
        before = http.get("/invoices/I-1/xero").json()
        listed = http.get("/admin/jobs").json()
        synced = http.post("/invoices/I-1/sync").json()
        assert ("queued", ["Push invoice INV-0001 to Xero"], "synced", "view_in_xero") == (
            before["state"],
            [row["description"] for row in listed],
            synced["outcome"],
            synced["panel"]["actions"][0]["action"],
        )
        assert (404, 404, []) == (
            http.post("/invoices/I-9/sync").status_code,
            http.post("/admin/jobs/J-404/retry").status_code,
            http.get("/admin/jobs", params={"failed": True}).json(),
        )


def test_the_glue_count_in_the_docs_is_true() -> None:
    """docs/views.md counts the Flask example's glue; the count matches the code."""
    source = (EXAMPLES / "panel_flask.py").read_text().splitlines()
    start = source.index("    app = Flask(__name__)")
    end = source.index("    return app", start)
    lines = [line for line in source[start : end + 1] if line.strip()]
    counted = len([line for line in lines if not line.strip().startswith("#")])
    claimed = re.search(r"\*\*(\d+) lines\*\*", PAGE.read_text(encoding="utf-8"))
    assert claimed is not None
    assert counted == int(claimed.group(1))
