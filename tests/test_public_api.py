"""The public surface hosts write against is pinned, so a change to it is deliberate."""

from __future__ import annotations

from typing import Any

import bms_xero
import bms_xero.engine
import bms_xero.storage


def test_top_level_names() -> None:
    """`bms_xero` exports the names of architecture section 3, sorted."""
    expected = [
        "Account",
        "Allocation",
        "AllocationKind",
        "BmsStatus",
        "BmsXeroError",
        "CreditNote",
        "CreditNoteAllocation",
        "CreditNoteFailure",
        "CreditNoteLink",
        "CreditNoteOutcome",
        "CreditNotePushResult",
        "Customer",
        "Invoice",
        "InvoiceStatus",
        "LineAmountTypes",
        "LineItem",
        "Organisation",
        "OverCredit",
        "Panel",
        "PaymentSink",
        "PaymentStatus",
        "PaymentTermType",
        "PaymentTerms",
        "PaymentUpdate",
        "PushAction",
        "PushFailure",
        "PushOutcome",
        "PushResult",
        "Settlement",
        "SyncEngine",
        "TaxRate",
        "Tracking",
        "XeroClient",
        "XeroContact",
        "XeroCreditNote",
        "XeroInvoice",
        "XeroLineItem",
        "XeroPayment",
    ]
    assert expected == bms_xero.__all__
    assert all(hasattr(bms_xero, name) for name in expected)


def test_storage_names() -> None:
    """`bms_xero.storage` exports the stores and their protocols, token stores included."""
    assert {
        "MemoryStore",
        "SQLiteStore",
        "SyncStore",
        "TokenStore",
        "SQLiteTokenStore",
        "MemoryTokenStore",
    } <= set(bms_xero.storage.__all__)


def test_every_exported_name_exists() -> None:
    """Every name in a public module's __all__ is importable from it."""
    import importlib

    for module in (
        "bms_xero",
        "bms_xero.errors",
        "bms_xero.mapping",
        "bms_xero.engine",
        "bms_xero.storage",
        "bms_xero.xero",
        "bms_xero.testing",
        "bms_xero.jobs",
        "bms_xero.webhooks",
        "bms_xero.clock",
        "bms_xero.transport",
    ):
        loaded = importlib.import_module(module)
        missing = [n for n in loaded.__all__ if not hasattr(loaded, n)]
        assert [] == missing, module


def test_every_error_is_in_the_docs() -> None:
    """docs/errors.md draws the whole tree: every exception bms_xero.errors exports is in it,
    and the module's own docstring draws the same tree."""
    import re
    from pathlib import Path

    import bms_xero.errors as errors

    docs = (Path(__file__).resolve().parents[1] / "docs" / "errors.md").read_text()
    names = [
        name
        for name in errors.__all__
        if isinstance(getattr(errors, name), type)
        and issubclass(getattr(errors, name), BaseException)
    ]
    drawn = set(re.findall(r"(?:── |^)(\w+)", docs, flags=re.M))
    assert [] == [n for n in names if n not in drawn]
    assert [] == [n for n in names if n not in (errors.__doc__ or "")]


def test_spec_tests_fail_under_ci_without_the_spec(tmp_path: Any) -> None:
    """Without ../shared, a spec test skips on a laptop (saying how to get it) and fails in
    CI, where passing without the oracle would check nothing."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    test = "tests/mapping/test_wire.py::test_payload_validates_against_spec"
    env = {**os.environ, "BMS_XERO_SPEC_DIR": str(tmp_path / "missing")}
    env.pop("CI", None)
    laptop = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", test],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    ci = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
        cwd=root,
        env={**env, "CI": "true"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (0, True) == (laptop.returncode, "BMS_XERO_SPEC_DIR" in laptop.stdout)
    assert (1, True) == (ci.returncode, "CI must check payloads" in ci.stdout)


#: Every public module and what it exports: a change here is a change to the surface hosts
#: write against, to be listed in the CHANGELOG (docs/compatibility.md).
PUBLIC = {
    "bms_xero.cli": [
        "build_parser",
        "main",
        "run_config",
        "run_connect",
        "run_connections",
        "run_demo",
        "run_disconnect",
        "run_fake_server",
        "run_jobs",
        "run_panel",
        "run_pull",
        "run_push",
        "run_retry",
        "run_worker",
    ],
    "bms_xero.clock": [
        "Clock",
        "FakeClock",
        "SystemClock",
    ],
    "bms_xero.domain": [
        "Account",
        "Allocation",
        "AllocationKind",
        "CreditNote",
        "CreditNoteAllocation",
        "Customer",
        "Invoice",
        "InvoiceStatus",
        "LineAmountTypes",
        "LineItem",
        "Organisation",
        "PaymentStatus",
        "PaymentTermType",
        "PaymentTerms",
        "Settlement",
        "TaxRate",
        "Tracking",
        "XeroContact",
        "XeroCreditNote",
        "XeroInvoice",
        "XeroLineItem",
        "XeroPayment",
    ],
    "bms_xero.engine": [
        "BmsStatus",
        "CreditNoteFailure",
        "CreditNoteLink",
        "CreditNoteOutcome",
        "CreditNotePushResult",
        "CustomerLink",
        "CustomerLinkFailure",
        "CustomerLinkOutcome",
        "OverCredit",
        "Panel",
        "PaymentSink",
        "PaymentUpdate",
        "PushAction",
        "PushFailure",
        "PushOutcome",
        "PushResult",
        "SyncEngine",
        "SyncOutcome",
        "SyncOutcomeKind",
        "XeroApi",
    ],
    "bms_xero.engine.credit_plan": [
        "Allocation",
        "Claim",
        "IN_FLIGHT",
        "OverCredit",
        "Step",
        "allocation_for",
        "correction",
        "credit_total",
        "full_credit",
        "holder_of",
        "in_flight",
        "next_step",
        "owner_of",
        "plan_allocations",
    ],
    "bms_xero.engine.plan": [
        "CANCELLED_STATUSES",
        "LinkStyle",
        "PUSHED_STATUSES",
        "Resolution",
        "Step",
        "apply_xero",
        "bms_status",
        "cancel_status",
        "content_hash",
        "credit_note_link",
        "credit_note_urls",
        "deep_link",
        "edits_locked",
        "fingerprint",
        "held_cursor",
        "is_duplicate_number",
        "is_edit_refused",
        "is_tombstone",
        "known_status",
        "mark_told",
        "needs_read",
        "next_money_version",
        "older_than_payment",
        "payment_stamps",
        "pending_update",
        "resolve",
        "short_code_of",
        "snapshot_order",
        "step_for",
    ],
    "bms_xero.engine.push_plan": [
        "Action",
        "Adopt",
        "CREATE_TRIES",
        "Create",
        "Done",
        "Fail",
        "Item",
        "LoadReference",
        "Lookup",
        "Reference",
        "Update",
        "batches",
        "link",
        "locked",
        "numbers_of",
        "plan_push",
        "refreshable",
        "resolved_step",
        "stored",
    ],
    "bms_xero.errors": [
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
    ],
    "bms_xero.integrations": [],
    "bms_xero.integrations.celery": [
        "CeleryTasks",
        "Finished",
        "Run",
        "Step",
        "TASK_NAMES",
        "TaskOptions",
        "Wait",
        "default_queue",
        "next_step",
        "register_tasks",
        "task_result",
    ],
    "bms_xero.jobs": [
        "Backoff",
        "CustomerSource",
        "Failure",
        "InvoiceSource",
        "Job",
        "JobKind",
        "JobStatus",
        "JobStore",
        "MemoryInvoiceSource",
        "MemoryJobStore",
        "PostgresJobStore",
        "PullSchedule",
        "RunReport",
        "SQLiteJobStore",
        "TenantSync",
        "Worker",
        "classify",
    ],
    "bms_xero.jobs.contract": [
        "CHECKS",
        "ContractCheck",
        "run_contract",
    ],
    "bms_xero.mapping": [
        "ChartOfAccounts",
        "PreflightFailed",
        "RoundingLine",
        "RoundingPolicy",
        "TaxMap",
        "TaxRates",
        "Totals",
        "WireInvoice",
        "decode_json",
        "difference",
        "due_date",
        "due_date_of",
        "encode_json",
        "format_date",
        "format_ms_date",
        "format_ms_datetime",
        "invoice_payload",
        "invoice_totals",
        "invoices_body",
        "parse_accounts",
        "parse_contacts",
        "parse_date",
        "parse_datetime",
        "parse_invoice",
        "parse_invoices",
        "parse_organisation",
        "parse_payment",
        "parse_payments",
        "parse_tax_rates",
        "preflight",
        "rounding_line",
    ],
    "bms_xero.mapping.bms_json": [
        "invoice_from_dict",
        "invoice_items",
        "invoice_to_dict",
        "invoices_from_json",
        "read_invoices",
    ],
    "bms_xero.mapping.wire": [
        "WireInvoice",
        "allocation_payload",
        "contact_payload",
        "content_hash",
        "credit_note_payload",
        "decode_json",
        "due_date_of",
        "encode_json",
        "invoice_payload",
        "invoices_body",
        "invoices_request_body",
        "parse_accounts",
        "parse_allocations",
        "parse_contacts",
        "parse_credit_note",
        "parse_credit_notes",
        "parse_invoice",
        "parse_invoices",
        "parse_organisation",
        "parse_payment",
        "parse_payments",
        "parse_tax_rates",
        "status_change",
    ],
    "bms_xero.storage": [
        "CreditNoteRecord",
        "CreditNoteState",
        "CreditNoteStore",
        "CursorStore",
        "CustomerLinkStore",
        "MemoryStore",
        "MemoryTokenStore",
        "PostgresStore",
        "PostgresTokenStore",
        "RefreshLease",
        "SQLiteStore",
        "SQLiteTokenStore",
        "StoredToken",
        "SyncRecord",
        "SyncRecordStore",
        "SyncState",
        "SyncStore",
        "TokenSet",
        "TokenStore",
    ],
    "bms_xero.storage.contract": [
        "CHECKS",
        "CREDIT_NOTE_CHECKS",
        "ContractCheck",
        "REFRESH_LEASE_CHECKS",
        "run_contract",
        "run_credit_note_contract",
        "run_refresh_lease_contract",
    ],
    "bms_xero.testing": [
        "AnswerHook",
        "FakeClock",
        "FakeRequest",
        "FakeServer",
        "FakeTransport",
        "FakeXero",
        "FaultKind",
        "InFlightRequest",
        "NetworkFault",
        "RandomFaults",
        "RecordedRequest",
        "Reply",
        "ScheduledFault",
        "SentEmail",
        "serve",
    ],
    "bms_xero.testing.plugin": [
        "fake_xero",
        "fake_xero_server",
    ],
    "bms_xero.transport": [
        "DEFAULT_TIMEOUT",
        "Headers",
        "HttpxTransport",
        "Request",
        "Response",
        "Transport",
    ],
    "bms_xero.views": [
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
    ],
    "bms_xero.webhooks": [
        "DispatchReport",
        "SIGNATURE_HEADER",
        "WebhookEvent",
        "WebhookPayload",
        "WebhookReceiver",
        "WebhookResponse",
        "XeroLinks",
        "dispatch",
        "handle",
        "parse_payload",
        "sign",
        "verify_signature",
    ],
    "bms_xero.xero": [
        "API_BASE",
        "AUTHORIZE_URL",
        "Authenticator",
        "Authorization",
        "AuthorizationRequest",
        "BudgetReadings",
        "CALL_SCOPES",
        "CONNECTIONS_URL",
        "ClientCredentials",
        "Connection",
        "ContactResult",
        "CreditNoteResult",
        "DEFAULT_SCOPES",
        "InProcessRateBudget",
        "InvoiceResult",
        "LimitState",
        "MAX_BATCH",
        "MAX_IDEMPOTENCY_KEY",
        "MAX_PAGE_SIZE",
        "Page",
        "Pkce",
        "PostgresRateBudget",
        "REVOCATION_URL",
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
        "TOKEN_URL",
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
    ],
}


def test_public_modules_are_pinned() -> None:
    """The public modules are exactly these (every other module's name starts with ``_``),
    and each exports exactly these names."""
    import importlib
    import pkgutil

    found = sorted(
        info.name
        for info in pkgutil.walk_packages(bms_xero.__path__, "bms_xero.")
        if not any(part.startswith("_") for part in info.name.split(".")[1:])
        # The Django app's modules import only once Django is set up: pinned in
        # tests/contrib/django/test_public_names.py, where it is.
        and not info.name.startswith("bms_xero.contrib")
    )
    assert sorted(PUBLIC) == found
    assert PUBLIC == {m: sorted(importlib.import_module(m).__all__) for m in PUBLIC}
