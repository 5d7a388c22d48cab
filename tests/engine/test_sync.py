"""The Sync button (`SyncEngine.sync`) answers a web request in time, and `panel()` never
asks Xero."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bms_xero import Customer, Invoice, Panel, SyncEngine
from bms_xero.clock import FakeClock
from bms_xero.engine import BmsStatus
from bms_xero.engine._results import SyncOutcome, SyncOutcomeKind
from bms_xero.errors import (
    AuthError,
    ConfigurationError,
    DailyLimitReached,
    MissingContactId,
    RateLimited,
    ReauthorizationRequired,
    TransportError,
    XeroUnavailable,
)
from bms_xero.jobs import JobKind, JobStatus, MemoryInvoiceSource, MemoryJobStore, Worker
from bms_xero.storage import MemoryStore, SyncRecord, SyncState
from bms_xero.testing import FakeXero
from bms_xero.transport import HttpxTransport
from bms_xero.views import Action, ErrorCode, PanelState, PanelView, panel_view
from bms_xero.xero import LimitState, RetryPolicy, XeroClient
from tests.engine.conftest import TAX_MAP, make_engine, make_invoice, make_xero

DEADLINE = 5.0


def accounting_requests(xero: FakeXero[Any]) -> int:
    return sum(1 for r in xero.requests if r.api == "accounting")


@pytest.fixture(name="jobs")
def _jobs() -> MemoryJobStore:
    return MemoryJobStore()


# --- the three outcomes ----------------------------------------------------------------------


def test_synced_pushes_pulls_and_is_still_a_panel(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer, jobs: MemoryJobStore
) -> None:
    """A press that reaches Xero is SYNCED, and reads like the Panel `sync` used to return."""
    invoice = make_invoice(customer)
    outcome = engine.sync(invoice, deadline=DEADLINE, jobs=jobs)
    now = xero.clock.now()
    assert (SyncOutcomeKind.SYNCED, True, None, None) == (
        outcome.kind,
        outcome.ok,
        outcome.error,
        outcome.job,
    )
    assert isinstance(outcome, Panel)
    assert (now, now, BmsStatus.AWAITING_PAYMENT) == (
        outcome.last_push_at,
        outcome.last_pull_at,
        outcome.status,
    )
    assert engine.panel("I-1") == outcome.panel == outcome.unwrap()
    assert [] == jobs.list_jobs()


def test_failed_keeps_the_typed_error_and_queues_nothing(
    xero: FakeXero[Any], engine: SyncEngine, jobs: MemoryJobStore
) -> None:
    """A press that can't succeed by waiting is FAILED with the typed error, shown on the
    panel, and nothing is queued; `unwrap()` raises it as `sync` used to."""
    invoice = make_invoice(Customer(id="C-9", name="Nobody Ltd"))
    outcome = engine.sync(invoice, deadline=DEADLINE, jobs=jobs)
    assert (SyncOutcomeKind.FAILED, MissingContactId, None) == (
        outcome.kind,
        type(outcome.error),
        outcome.job,
    )
    assert ("MissingContactId", str(outcome.error)) == (
        engine.panel("I-1").last_error_type,
        engine.panel("I-1").last_error,
    )
    assert [] == jobs.list_jobs()
    with pytest.raises(MissingContactId):
        outcome.unwrap()
    view = PanelView.of(outcome, now=xero.clock.now())
    assert (PanelState.FAILED, ErrorCode.CUSTOMER_NOT_LINKED, True) == (
        view.state,
        None if view.error is None else view.error.code,
        view.has(Action.LINK_CUSTOMER),
    )


def spend_minute_budget(xero: FakeXero[Any], engine: SyncEngine, customer: Customer) -> None:
    """Sync invoice I-1 on an engine whose organisation allows 6 calls a minute: its first
    press spends all six, and Xero's last answer says none are left."""
    assert engine.sync(make_invoice(customer)).ok
    assert 0 == engine._client.limit_state().minute_remaining  # type: ignore[attr-defined]


def test_spent_minute_budget_queues_at_once(customer: Customer, jobs: MemoryJobStore) -> None:
    """With this minute's budget spent, a press with a deadline sends nothing, takes no time
    on the fake clock, and queues the push for the worker, saying when it may run."""
    xero = make_xero(minute_limit=6)
    engine = make_engine(xero, MemoryStore())
    customer = Customer(id="C-1", name="Acme Ltd", xero_contact_id=xero.add_contact(name="Acme"))
    spend_minute_budget(xero, engine, customer)
    sent, started = len(xero.requests), xero.clock.monotonic()
    outcome = engine.sync(make_invoice(customer, 2), deadline=DEADLINE, jobs=jobs)
    assert (0, 0.0) == (len(xero.requests) - sent, xero.clock.monotonic() - started)
    assert (SyncOutcomeKind.QUEUED, RateLimited, "minute") == (
        outcome.kind,
        type(outcome.error),
        getattr(outcome.error, "problem", None),
    )
    [job] = jobs.list_jobs()
    assert (JobKind.PUSH, "I-2", JobStatus.PENDING, job, job.run_after) == (
        job.kind,
        job.invoice_id,
        job.status,
        outcome.job,
        outcome.runs_at,
    )
    assert None is engine.panel("I-2").last_error  # nothing was tried: the job says it
    view = PanelView.of(outcome, now=xero.clock.now())
    assert (PanelState.QUEUED, ErrorCode.BUSY) == (
        view.state,
        None if view.error is None else view.error.code,
    )


def test_the_queued_push_is_done_by_the_worker(customer: Customer, jobs: MemoryJobStore) -> None:
    """The push a busy press queued reaches Xero when the worker runs it after the minute."""
    xero = make_xero(minute_limit=6)
    engine = make_engine(xero, MemoryStore())
    customer = Customer(id="C-1", name="Acme Ltd", xero_contact_id=xero.add_contact(name="Acme"))
    spend_minute_budget(xero, engine, customer)
    invoice = make_invoice(customer, 2)
    assert engine.sync(invoice, deadline=DEADLINE, jobs=jobs).queued
    xero.clock.advance(61)
    report = Worker(engine, jobs, MemoryInvoiceSource([invoice]), clock=xero.clock).run_pending()
    assert ([JobStatus.DONE], True) == (
        [j.status for j in report.jobs],
        engine.panel("I-2").linked,
    )


def test_spent_minute_budget_without_jobs_fails_at_once(customer: Customer) -> None:
    """Without a job store to queue on, a busy press fails at once with the typed, retryable
    RateLimited, having sent nothing."""
    xero = make_xero(minute_limit=6)
    engine = make_engine(xero, MemoryStore())
    customer = Customer(id="C-1", name="Acme Ltd", xero_contact_id=xero.add_contact(name="Acme"))
    spend_minute_budget(xero, engine, customer)
    sent = len(xero.requests)
    outcome = engine.sync(make_invoice(customer, 2), deadline=DEADLINE)
    assert (SyncOutcomeKind.FAILED, RateLimited, True, 0) == (
        outcome.kind,
        type(outcome.error),
        outcome.error is not None and outcome.error.retryable,
        len(xero.requests) - sent,
    )


def test_without_deadline_the_press_waits_for_the_budget(customer: Customer) -> None:
    """Without a deadline (and with one longer than the window) the press waits for the next
    minute, as before, and syncs."""
    for deadline in (None, 90.0):
        xero = make_xero(minute_limit=6)
        engine = make_engine(xero, MemoryStore())
        customer = Customer(
            id="C-1", name="Acme Ltd", xero_contact_id=xero.add_contact(name="Acme")
        )
        spend_minute_budget(xero, engine, customer)
        started = xero.clock.monotonic()
        outcome = engine.sync(make_invoice(customer, 2), deadline=deadline)
        assert (SyncOutcomeKind.SYNCED, True) == (
            outcome.kind,
            xero.clock.monotonic() - started > DEADLINE,
        )


def test_parked_for_the_day_queues_until_the_reset(jobs: MemoryJobStore) -> None:
    """Once Xero's day limit parked the organisation, a press sends nothing and queues the
    push to run at the reset; the job store's tenant is parked until then too."""
    xero = make_xero(day_limit=3)
    engine = make_engine(xero, MemoryStore())
    customer = Customer(id="C-1", name="Acme Ltd", xero_contact_id=xero.add_contact(name="Acme"))
    first = engine.sync(make_invoice(customer, 1), deadline=DEADLINE, jobs=jobs)
    assert (SyncOutcomeKind.QUEUED, DailyLimitReached) == (first.kind, type(first.error))
    assert isinstance(first.error, DailyLimitReached)
    resets_at = first.error.resets_at
    sent, started = len(xero.requests), xero.clock.monotonic()
    outcome = engine.sync(make_invoice(customer, 2), deadline=DEADLINE, jobs=jobs)
    assert (0, 0.0) == (len(xero.requests) - sent, xero.clock.monotonic() - started)
    assert (SyncOutcomeKind.QUEUED, resets_at, resets_at) == (
        outcome.kind,
        outcome.runs_at,
        jobs.parked_until(engine.tenant_id, now=xero.clock.now()),
    )
    assert ["I-1", "I-2"] == sorted(j.invoice_id or "" for j in jobs.list_jobs())


def test_xero_refusing_queues_the_push(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer, jobs: MemoryJobStore
) -> None:
    """While Xero answers 503, a press queues the push (after the client's own few retries,
    well inside the deadline) and shows why; the worker finishes it once Xero is back."""
    xero.inject("offline_503", times=None)
    started = xero.clock.monotonic()
    invoice = make_invoice(customer)
    outcome = engine.sync(invoice, deadline=DEADLINE, jobs=jobs)
    assert (SyncOutcomeKind.QUEUED, XeroUnavailable, True) == (
        outcome.kind,
        type(outcome.error),
        xero.clock.monotonic() - started < DEADLINE,
    )
    assert outcome.job is not None and JobKind.PUSH is outcome.job.kind
    assert "XeroUnavailable" == engine.panel("I-1").last_error_type
    xero.clear_faults()
    Worker(engine, jobs, MemoryInvoiceSource([invoice]), clock=xero.clock).run_pending()
    assert (True, None) == (engine.panel("I-1").linked, engine.panel("I-1").last_error)


def test_a_failed_read_back_queues_the_refresh(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer, jobs: MemoryJobStore
) -> None:
    """When the push landed but reading the invoice back failed, the refresh is queued (not
    another push) and the panel shows the push."""
    xero.inject("offline_503", "GET", "/Invoices", times=None)
    pressed = xero.clock.now()
    outcome = engine.sync(make_invoice(customer), deadline=DEADLINE, jobs=jobs)
    assert (SyncOutcomeKind.QUEUED, JobKind.PULL_INVOICES, pressed) == (
        outcome.kind,
        None if outcome.job is None else outcome.job.kind,
        outcome.last_push_at,
    )


def test_a_voided_invoice_is_only_read_back(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer, jobs: MemoryJobStore
) -> None:
    """On a cancelled invoice the press reads it back and sends no write."""
    invoice = make_invoice(customer)
    engine.push(invoice)
    engine.cancel(invoice)
    writes = xero.count_requests("POST", "/Invoices") + xero.count_requests("PUT", "/Invoices")
    outcome = engine.sync(invoice, deadline=DEADLINE, jobs=jobs)
    assert (SyncOutcomeKind.SYNCED, SyncState.VOIDED, writes) == (
        outcome.kind,
        outcome.state,
        xero.count_requests("POST", "/Invoices") + xero.count_requests("PUT", "/Invoices"),
    )


def test_a_voided_invoice_queues_only_its_refresh(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer, jobs: MemoryJobStore
) -> None:
    """When reading a cancelled invoice back fails, the refresh is queued, never a push
    (which Xero would refuse)."""
    invoice = make_invoice(customer)
    engine.push(invoice)
    engine.cancel(invoice)
    xero.inject("offline_503", "GET", "/Invoices", times=None)
    outcome = engine.sync(invoice, deadline=DEADLINE, jobs=jobs)
    assert (SyncOutcomeKind.QUEUED, [JobKind.PULL_INVOICES]) == (
        outcome.kind,
        [j.kind for j in jobs.list_jobs()],
    )


@pytest.mark.parametrize("deadline", [-1, "5", True, math.nan, math.inf * -1])
def test_a_bad_deadline_is_refused_before_anything_is_sent(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer, deadline: Any
) -> None:
    """A deadline that is not a number of seconds >= 0 is a ConfigurationError; nothing is
    sent."""
    with pytest.raises(ConfigurationError, match="deadline must be a number of seconds"):
        engine.sync(make_invoice(customer), deadline=deadline)
    assert 0 == accounting_requests(xero)


def test_sync_takes_only_invoices(xero: FakeXero[Any], engine: SyncEngine) -> None:
    """Something other than an Invoice is a TypeError before anything is sent."""
    with pytest.raises(TypeError, match="sync takes an Invoice"):
        engine.sync("I-1")  # type: ignore[arg-type]
    assert 0 == accounting_requests(xero)


# --- the limiter's verdict, a pure decision ----------------------------------------------------

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def state(**changes: Any) -> LimitState:
    values: dict[str, Any] = {
        "tenant_id": "T",
        "in_flight": 0,
        "minute_remaining": 60,
        "day_remaining": None,
        "app_minute_remaining": None,
        "parked_until": None,
    }
    return LimitState(**(values | changes))


@pytest.mark.parametrize(
    ("known", "wait", "calls", "deadline", "expected"),
    [
        (None, 0.0, 8, 5.0, None),  # a client without a limiter: go
        (state(), 0.0, 8, 5.0, None),
        (state(minute_remaining=8), 0.0, 8, 5.0, None),
        (state(minute_remaining=7), 0.0, 8, 5.0, RateLimited),  # the 8th would wait
        (state(minute_remaining=0), 30.0, 1, 0.0, RateLimited),
        (state(minute_remaining=0), 30.0, 8, 61.0, None),  # waiting one window is allowed
        (state(), 4.0, 1, 5.0, None),  # a hold shorter than the deadline
        (state(), 40.0, 1, 5.0, RateLimited),  # a hold after a 429, longer
        (state(app_minute_remaining=2), 0.0, 8, 5.0, RateLimited),
        (state(parked_until=NOW + timedelta(hours=3)), 0.0, 1, 86400.0, DailyLimitReached),
        (state(parked_until=NOW), 0.0, 8, 5.0, None),  # the park just ended
    ],
)
def test_limit_verdict(
    known: LimitState | None, wait: float, calls: int, deadline: float, expected: type | None
) -> None:
    """The pure verdict: send, wait-for-the-minute (RateLimited), or parked for the day."""
    verdict = SyncEngine._limit_verdict(
        None if known is None else (known, wait, 61.0), calls=calls, deadline=deadline, now=NOW
    )
    assert expected is (None if verdict is None else type(verdict))


def test_limit_verdict_says_when_the_park_ends() -> None:
    """A parked verdict carries the reset time and the seconds until it."""
    verdict = SyncEngine._limit_verdict(
        (state(parked_until=NOW + timedelta(hours=2)), 7200.0, 61.0),
        calls=1,
        deadline=5.0,
        now=NOW,
    )
    assert isinstance(verdict, DailyLimitReached)
    assert (NOW + timedelta(hours=2), 7200.0) == (verdict.resets_at, verdict.retry_after)


def test_limit_verdict_says_how_long_a_hold_lasts() -> None:
    """A hold longer than the deadline is RateLimited with its remaining seconds."""
    verdict = SyncEngine._limit_verdict((state(), 42.0, 61.0), calls=1, deadline=5.0, now=NOW)
    assert isinstance(verdict, RateLimited)
    assert (42.0, "minute") == (verdict.retry_after, verdict.problem)


def test_a_hold_after_a_429_queues_the_next_press(customer: Customer, jobs: MemoryJobStore) -> None:
    """After Xero answered 429 with a long Retry-After, the limiter holds the organisation;
    the next press reads that hold without waiting and queues at once."""
    xero = make_xero()
    engine = make_engine(xero, MemoryStore())
    customer = Customer(id="C-1", name="Acme Ltd", xero_contact_id=xero.add_contact(name="Acme"))
    engine._client.limiter.hold(engine._client.tenant_id, 45.0)  # type: ignore[attr-defined]
    sent, started = len(xero.requests), xero.clock.monotonic()
    outcome = engine.sync(make_invoice(customer), deadline=DEADLINE, jobs=jobs)
    assert (SyncOutcomeKind.QUEUED, 0, 0.0) == (
        outcome.kind,
        len(xero.requests) - sent,
        xero.clock.monotonic() - started,
    )
    assert isinstance(outcome.error, RateLimited) and outcome.error.retry_after == 45.0


# --- credentials and the token endpoint show on the panel ------------------------------------


class Refused:
    """An Authenticator whose token request fails with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def access_token(self, transport: Any, clock: Any) -> str:
        raise self.error

    def invalidate(self, access_token: str) -> None:
        pass


def engine_with(xero: FakeXero[Any], store: MemoryStore, client: XeroClient) -> SyncEngine:
    return SyncEngine(client=client, store=store, tax_map=TAX_MAP, clock=xero.clock)


def test_wrong_credentials_show_on_the_panel(
    xero: FakeXero[Any], customer: Customer, jobs: MemoryJobStore
) -> None:
    """A press with credentials Xero refuses fails with the AuthError, and the panel of an
    invoice never pushed before shows it (with Reconnect), even after a reload."""
    store = MemoryStore()
    client = XeroClient.from_client_credentials(
        xero.client_id,
        "not-the-secret",
        http_client=httpx.Client(transport=xero.transport),
        tenant_id=xero.tenant_id,
        clock=xero.clock,
        retry=RetryPolicy.seeded(7),
    )
    engine = engine_with(xero, store, client)
    outcome = engine.sync(make_invoice(customer), deadline=DEADLINE, jobs=jobs)
    assert (SyncOutcomeKind.FAILED, AuthError) == (outcome.kind, type(outcome.error))
    panel = engine.panel("I-1")
    assert ("AuthError", str(outcome.error), False, SyncState.FAILED) == (
        panel.last_error_type,
        panel.last_error,
        panel.linked,
        panel.state,
    )
    view = panel_view(engine, "I-1", jobs=jobs, now=xero.clock.now())
    assert (ErrorCode.RECONNECT, True) == (
        None if view.error is None else view.error.code,
        view.has(Action.RECONNECT),
    )
    assert "not-the-secret" not in str(outcome.error) + repr(view)


def test_token_endpoint_unreachable_shows_on_the_panel(
    xero: FakeXero[Any], customer: Customer, jobs: MemoryJobStore
) -> None:
    """When the token endpoint can't be reached the push is queued (it passes) and the panel
    says so."""
    xero.inject("connect_timeout", path="/connect/token", times=None)
    engine = make_engine(xero, MemoryStore())
    outcome = engine.sync(make_invoice(customer), deadline=DEADLINE, jobs=jobs)
    assert (SyncOutcomeKind.QUEUED, TransportError, "TransportError") == (
        outcome.kind,
        type(outcome.error),
        engine.panel("I-1").last_error_type,
    )
    view = PanelView.of(engine.panel("I-1"), now=xero.clock.now(), job=outcome.job)
    assert (PanelState.QUEUED, ErrorCode.UNAVAILABLE) == (
        view.state,
        None if view.error is None else view.error.code,
    )


def test_a_connection_gone_shows_reconnect_on_the_panel(
    xero: FakeXero[Any], customer: Customer, jobs: MemoryJobStore
) -> None:
    """ReauthorizationRequired from the token endpoint fails the press (waiting can't cure
    it) and the panel offers Reconnect."""
    store = MemoryStore()
    client = XeroClient(
        HttpxTransport(httpx.Client(transport=xero.transport)),
        auth=Refused(ReauthorizationRequired("Xero refused the refresh token; reconnect")),
        tenant_id=xero.tenant_id,
        clock=xero.clock,
    )
    engine = engine_with(xero, store, client)
    outcome = engine.sync(make_invoice(customer), deadline=DEADLINE, jobs=jobs)
    assert (SyncOutcomeKind.FAILED, "ReauthorizationRequired", []) == (
        outcome.kind,
        engine.panel("I-1").last_error_type,
        jobs.list_jobs(),
    )
    view = PanelView.of(engine.panel("I-1"), now=xero.clock.now())
    assert (ErrorCode.RECONNECT, Action.RECONNECT) == (
        None if view.error is None else view.error.code,
        None if view.error is None else view.error.action,
    )


def test_an_error_on_a_pushed_invoice_keeps_its_link(
    xero: FakeXero[Any], engine: SyncEngine, store: Any, customer: Customer
) -> None:
    """An auth failure recorded by the press never makes a linked invoice look unlinked."""
    invoice = make_invoice(customer)
    pushed = engine.push(invoice)
    client = XeroClient(
        HttpxTransport(httpx.Client(transport=xero.transport)),
        auth=Refused(AuthError("Xero refused the app's credentials", status_code=401)),
        tenant_id=xero.tenant_id,
        clock=xero.clock,
    )
    outcome = engine_with(xero, store, client).sync(invoice, deadline=DEADLINE)
    panel = engine.panel("I-1")
    assert (SyncOutcomeKind.FAILED, pushed.xero_invoice_id, "AuthError") == (
        outcome.kind,
        panel.xero_invoice_id,
        panel.last_error_type,
    )


# --- the panel never touches the network -----------------------------------------------------


class Counting(httpx.BaseTransport):
    """A transport that counts requests and fails every one, as an unreachable Xero does."""

    def __init__(self) -> None:
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        raise httpx.ConnectError("Xero is unreachable", request=request)


def stored_record(tenant_id: str) -> SyncRecord:
    return SyncRecord(
        tenant_id=tenant_id,
        invoice_id="I-1",
        invoice_number="INV-00001",
        state=SyncState.PUSHED,
        xero_invoice_id="4f1d7a52-7d5a-4c1b-9a58-2ad3c1d1e001",
        xero_status="AUTHORISED",
        last_push_at=datetime(2026, 1, 5, 8, 58, tzinfo=UTC),
        view_url="https://go.xero.com/app/!Demo1/invoicing/view/4f1d7a52",
    )


def test_panel_on_first_use_sends_nothing() -> None:
    """A fresh engine whose Xero fails every request renders panels (and their views) at
    once, from the store alone: zero requests, no time spent."""
    transport = Counting()
    clock = FakeClock()
    client = XeroClient.from_client_credentials(
        "client-id",
        "client-secret",
        http_client=httpx.Client(transport=transport),
        tenant_id="T-1",
        clock=clock,
    )
    store = MemoryStore()
    store.put(stored_record("T-1"), expected_version=None)
    engine = SyncEngine(client=client, store=store, tax_map=TAX_MAP, clock=clock)
    jobs = MemoryJobStore()
    started = clock.monotonic()
    panel = engine.panel("I-1")
    never = engine.panel("I-2")
    view = panel_view(engine, "I-1", jobs=jobs, now=clock.now())
    assert (0, 0.0) == (transport.requests, clock.monotonic() - started)
    assert (True, "https://go.xero.com/app/!Demo1/invoicing/view/4f1d7a52", None) == (
        panel.linked,
        panel.view_url,
        never.state,
    )
    assert (PanelState.SYNCED, "Awaiting payment", Action.VIEW_IN_XERO) == (
        view.state,
        view.status_label,
        view.actions[0].action,
    )


def test_the_failing_transport_would_fail_a_request() -> None:
    """The transport of the test above really fails (so its zero proves something)."""
    transport = Counting()
    client = XeroClient.from_client_credentials(
        "client-id",
        "client-secret",
        http_client=httpx.Client(transport=transport),
        tenant_id="T-1",
        clock=FakeClock(),
        retry=RetryPolicy.none(),
    )
    with pytest.raises(TransportError):
        client.get_organisation()
    assert 1 == transport.requests


def test_panel_after_sync_outcome_is_fresh(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer
) -> None:
    """The outcome's panel is what panel() says right after the press, and the SyncOutcome
    round-trips its panel fields."""
    outcome = engine.sync(make_invoice(customer))
    assert isinstance(outcome, SyncOutcome)
    assert outcome.panel == engine.panel("I-1")
    assert outcome == SyncOutcome.of(engine.panel("I-1"), SyncOutcomeKind.SYNCED)


def test_sync_names_every_invoice(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer, jobs: MemoryJobStore
) -> None:
    """A queued press's error names its invoice, like every job error."""
    xero.inject("offline_503", times=None)
    invoice: Invoice = make_invoice(customer, 7)
    outcome = engine.sync(invoice, deadline=DEADLINE, jobs=jobs)
    assert str(outcome.error).startswith("invoice INV-00007: ")


def test_a_synced_press_takes_the_failed_push_job_off_the_failed_list(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer, jobs: MemoryJobStore
) -> None:
    """The worker's push failed (no contact yet); the customer is fixed and Sync is pressed:
    the invoice is in Xero and its old job is no longer listed as failed."""
    stranger = Customer(id="C-9", name="Hooli")
    broken = make_invoice(stranger)
    job = jobs.enqueue_push(engine.tenant_id, broken.id, now=xero.clock.now())
    Worker(engine, jobs, MemoryInvoiceSource([broken]), clock=xero.clock).run_pending()
    assert [job.id] == [j.id for j in jobs.list_jobs(statuses=[JobStatus.FAILED])]
    outcome = engine.sync(make_invoice(customer), deadline=DEADLINE, jobs=jobs)
    assert (SyncOutcomeKind.SYNCED, []) == (
        outcome.kind,
        jobs.list_jobs(statuses=[JobStatus.FAILED]),
    )
