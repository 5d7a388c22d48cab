"""The worker against FakeXero: batching, retries, parking, permanent failures, dead workers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from bms_xero.domain import Invoice
from bms_xero.engine import PaymentUpdate, PushFailure, PushOutcome, SyncEngine
from bms_xero.errors import (
    BmsXeroError,
    ConfigurationError,
    DailyLimitReached,
    RateLimited,
    TransportError,
)
from bms_xero.jobs import (
    Backoff,
    Job,
    JobStatus,
    JobStore,
    MemoryInvoiceSource,
    MemoryJobStore,
    Worker,
)
from bms_xero.storage import (
    MemoryStore,
    MemoryTokenStore,
    SyncRecord,
    SyncState,
    SyncStore,
    TokenSet,
)
from bms_xero.testing import FakeXero
from bms_xero.transport import HttpxTransport
from bms_xero.xero import RefreshTokenAuth, RetryPolicy, XeroClient, exchange_code
from tests.jobs.conftest import (
    EngineFactory,
    configure,
    contact_of,
    counter,
    invoice,
    numbers_in_xero,
)

EXACT = Backoff(base=60, factor=2, max_delay=3600, max_attempts=3, jitter=False)


class WorkerKilled(BaseException):
    """The process running the worker died here (nothing after it runs)."""


@pytest.fixture(name="worker")
def _worker(
    make_engine: EngineFactory, jobs: JobStore, source: MemoryInvoiceSource, xero: FakeXero
) -> Worker:
    """A worker for the fake's default tenant, with exact (unjittered) backoff."""
    return Worker(make_engine(), jobs, source, clock=xero.clock, worker_id="w1", backoff=EXACT)


def release(
    jobs: JobStore, source: MemoryInvoiceSource, xero: FakeXero, *invoices: Invoice
) -> list[Job]:
    """What a host does when the BMS releases invoices: store them, enqueue their pushes."""
    queued = []
    for inv in invoices:
        source.put(inv)
        queued.append(
            jobs.enqueue_push(
                xero.tenant_id, inv.id, invoice_number=inv.number, now=xero.clock.now()
            )
        )
    return queued


def statuses(jobs: JobStore, tenant_id: str) -> dict[str, JobStatus]:
    """Each job's invoice id (or kind) and status."""
    return {(j.invoice_id or j.kind.value): j.status for j in jobs.list_jobs(tenant_id=tenant_id)}


class TestPush:
    def test_released_invoices_are_pushed_in_one_request(
        self, worker: Worker, jobs: JobStore, source: MemoryInvoiceSource, xero: FakeXero
    ) -> None:
        """Three released invoices go to Xero as one PUT, and each job is done."""
        contact = contact_of(xero)
        release(jobs, source, xero, *(invoice(n, contact) for n in (1, 2, 3)))
        report = worker.run_pending()
        assert ["INV-0001", "INV-0002", "INV-0003"] == numbers_in_xero(xero)
        assert 1 == xero.count_requests("PUT", "/Invoices")
        assert 3 == len(report.done)
        assert {"I-1", "I-2", "I-3"} == {
            j.invoice_id for j in jobs.list_jobs(statuses=[JobStatus.DONE])
        }

    def test_batches_hold_at_most_fifty(
        self, worker: Worker, jobs: JobStore, source: MemoryInvoiceSource, xero: FakeXero
    ) -> None:
        """Fifty-one pushes of one tenant take two requests of 50 and 1."""
        contact = contact_of(xero)
        release(jobs, source, xero, *(invoice(n, contact) for n in range(1, 52)))
        report = worker.run_pending()
        assert 51 == len(report.done)
        assert 2 == xero.count_requests("PUT", "/Invoices")
        assert 51 == len(xero.invoices())

    def test_the_invoice_is_pushed_as_it_is_when_the_job_runs(
        self, worker: Worker, jobs: JobStore, source: MemoryInvoiceSource, xero: FakeXero
    ) -> None:
        """An invoice changed after release is pushed with its changes."""
        contact = contact_of(xero)
        release(jobs, source, xero, invoice(1, contact, amount="100.00"))
        source.put(invoice(1, contact, amount="200.00"))
        worker.run_pending()
        [pushed] = xero.invoices()
        assert Decimal("230.00") == pushed["Total"]

    def test_releasing_twice_pushes_once(
        self, worker: Worker, jobs: JobStore, source: MemoryInvoiceSource, xero: FakeXero
    ) -> None:
        """Enqueueing the same invoice twice leaves one pending job and one Xero invoice."""
        inv = invoice(1, contact_of(xero))
        first, second = release(jobs, source, xero, inv, inv)
        assert first.id == second.id
        assert 1 == len(jobs.list_jobs(tenant_id=xero.tenant_id, statuses=[JobStatus.PENDING]))
        worker.run_pending()
        assert ["INV-0001"] == numbers_in_xero(xero)

    def test_each_job_succeeds_or_fails_on_its_own(
        self, worker: Worker, jobs: JobStore, source: MemoryInvoiceSource, xero: FakeXero
    ) -> None:
        """One bad invoice in a batch fails alone; the others are pushed."""
        contact = contact_of(xero)
        release(
            jobs,
            source,
            xero,
            invoice(1, contact),
            invoice(2, contact, tax_code="NOPE"),
            invoice(3, contact),
        )
        worker.run_pending()
        assert {"I-1": JobStatus.DONE, "I-2": JobStatus.FAILED, "I-3": JobStatus.DONE} == statuses(
            jobs, xero.tenant_id
        )
        assert ["INV-0001", "INV-0003"] == numbers_in_xero(xero)

    def test_engine_run_pending_runs_this_tenants_jobs(
        self,
        make_engine: EngineFactory,
        jobs: JobStore,
        source: MemoryInvoiceSource,
        xero: FakeXero,
    ) -> None:
        """engine.run_pending(jobs=, source=) pushes the tenant's due jobs, up to max_jobs."""
        contact = contact_of(xero)
        release(jobs, source, xero, *(invoice(n, contact) for n in (1, 2, 3)))
        engine = make_engine()
        first = engine.run_pending(jobs=jobs, source=source, max_jobs=2)
        rest = engine.run_pending(jobs=jobs, source=source)
        assert (2, 1) == (len(first.done), len(rest.done))
        assert 3 == len(xero.invoices())


class TestPermanentFailures:
    def test_unmapped_tax_code_fails_at_once_naming_the_invoice(
        self, worker: Worker, jobs: JobStore, source: MemoryInvoiceSource, xero: FakeXero
    ) -> None:
        """A tax code with no Xero tax type fails the job for good, with a message that names
        the invoice and the fix, and sends nothing."""
        [job] = release(jobs, source, xero, invoice(1, contact_of(xero), tax_code="GST99"))
        worker.run_pending()
        failed = jobs.get(job.id)
        assert failed is not None
        assert (JobStatus.FAILED, "TaxCodeError", False, 1) == (
            failed.status,
            failed.error_type,
            failed.retryable,
            failed.attempts,
        )
        assert failed.last_error is not None
        assert failed.last_error.startswith("invoice INV-0001: tax code 'GST99'")
        assert "add it to the tax map" in failed.last_error
        assert 0 == xero.count_requests("PUT", "/Invoices")

    def test_missing_contact_id_says_to_sync_the_customer(
        self, worker: Worker, jobs: JobStore, source: MemoryInvoiceSource, xero: FakeXero
    ) -> None:
        """A customer without a Xero identifier fails the job, telling the operator to sync
        the customer first."""
        [job] = release(jobs, source, xero, invoice(1, None))
        worker.run_pending()
        failed = jobs.get(job.id)
        assert failed is not None
        assert ("MissingContactId", JobStatus.FAILED) == (failed.error_type, failed.status)
        assert "invoice INV-0001: customer C-1 (Acme Ltd) has no Xero identifier" in (
            failed.last_error or ""
        )

    def test_xero_validation_messages_are_kept(
        self, worker: Worker, jobs: JobStore, source: MemoryInvoiceSource, xero: FakeXero
    ) -> None:
        """Xero's own validation message is kept verbatim, and the job is not retried."""
        [job] = release(jobs, source, xero, invoice(1, "00000000-0000-0000-0000-000000000005"))
        worker.run_pending()
        xero.clock.advance(7 * 24 * 3600)
        assert 0 == worker.run_pending().ran
        failed = jobs.get(job.id)
        assert failed is not None
        assert (
            "invoice INV-0001: Xero rejected the data: The contact with ContactID "
            "'00000000-0000-0000-0000-000000000005' could not be found."
        ) == failed.last_error
        assert ("XeroValidationError", 1) == (failed.error_type, failed.attempts)

    def test_paid_invoice_needs_a_credit_note(
        self,
        worker: Worker,
        jobs: JobStore,
        source: MemoryInvoiceSource,
        xero: FakeXero,
        make_engine: EngineFactory,
    ) -> None:
        """Re-pushing an invoice that was paid in Xero fails for good, asking for a credit
        note."""
        contact = contact_of(xero)
        release(jobs, source, xero, invoice(1, contact))
        worker.run_pending()
        [pushed] = xero.invoices()
        xero.pay(str(pushed["InvoiceID"]), amount=Decimal("115.00"))
        make_engine().pull()
        source.put(invoice(1, contact, amount="150.00"))
        [job] = release(jobs, source, xero, invoice(1, contact, amount="150.00"))
        worker.run_pending()
        failed = jobs.get(job.id)
        assert failed is not None
        assert ("CreditNoteRequired", JobStatus.FAILED) == (failed.error_type, failed.status)
        assert "raise a credit note" in (failed.last_error or "")

    def test_an_invoice_deleted_in_the_bms_fails_clearly(
        self, worker: Worker, jobs: JobStore, source: MemoryInvoiceSource, xero: FakeXero
    ) -> None:
        """A push whose invoice no longer exists fails for good and says what to do."""
        [job] = release(jobs, source, xero, invoice(1, contact_of(xero)))
        source.delete("I-1")
        worker.run_pending()
        failed = jobs.get(job.id)
        assert failed is not None
        assert (
            "invoice INV-0001: no longer exists in the BMS, so nothing was pushed; cancel this "
            "job, or restore the invoice and retry it"
        ) == failed.last_error
        assert [] == xero.invoices()

    def test_a_source_returning_the_wrong_invoice_pushes_nothing(
        self,
        make_engine: EngineFactory,
        jobs: JobStore,
        source: MemoryInvoiceSource,
        xero: FakeXero,
    ) -> None:
        """If the host's source answers with another invoice, the job fails and nothing is
        pushed in that invoice's place."""
        [job] = release(jobs, source, xero, invoice(1, contact_of(xero)))
        source.put(invoice(2, contact_of(xero)))
        Worker(make_engine(), jobs, WrongSource(source), clock=xero.clock).run_pending()
        failed = jobs.get(job.id)
        assert failed is not None
        assert (JobStatus.FAILED, "ConfigurationError") == (failed.status, failed.error_type)
        assert [] == xero.invoices()


class TestTransientFailures:
    def test_a_5xx_is_retried_with_backoff_then_succeeds(
        self, worker: Worker, jobs: JobStore, source: MemoryInvoiceSource, xero: FakeXero
    ) -> None:
        """A push that keeps getting 500s goes back to pending after the backoff, and a later
        run pushes it once."""
        xero.inject("http_500", method="PUT", path="/Invoices", times=3)
        [job] = release(jobs, source, xero, invoice(1, contact_of(xero)))
        started = xero.clock.now()
        worker.run_pending()
        waiting = jobs.get(job.id)
        assert waiting is not None
        assert (JobStatus.PENDING, 1, True, "UncertainOutcome") == (
            waiting.status,
            waiting.attempts,
            waiting.retryable,
            waiting.error_type,
        )
        assert waiting.run_after - xero.clock.now() == timedelta(seconds=60)
        assert "invoice INV-0001:" in (waiting.last_error or "")
        assert 0 == worker.run_pending().ran  # not due yet
        xero.clock.advance(60)
        worker.run_pending()
        done = jobs.get(job.id)
        assert done is not None
        assert (JobStatus.DONE, 2) == (done.status, done.attempts)
        assert ["INV-0001"] == numbers_in_xero(xero)
        assert xero.clock.now() - started >= timedelta(seconds=60)

    def test_gives_up_after_max_attempts(
        self, worker: Worker, jobs: JobStore, source: MemoryInvoiceSource, xero: FakeXero
    ) -> None:
        """A job that fails transiently max_attempts times fails for good, saying so; the
        waits double (60 s, 120 s)."""
        xero.inject("offline_503", method="PUT", path="/Invoices", times=None)
        [job] = release(jobs, source, xero, invoice(1, contact_of(xero)))
        waits = []
        for _ in range(3):
            worker.run_pending()
            current = jobs.get(job.id)
            assert current is not None
            if current.status is JobStatus.PENDING:
                waits.append((current.run_after - xero.clock.now()).total_seconds())
                xero.clock.advance(waits[-1])
        failed = jobs.get(job.id)
        assert failed is not None
        assert [60.0, 120.0] == waits
        assert (JobStatus.FAILED, 3, True) == (failed.status, failed.attempts, failed.retryable)
        assert (failed.last_error or "").startswith("gave up after 3 attempts: invoice INV-0001:")
        assert [] == xero.invoices()

    def test_minute_limit_waits_at_least_retry_after(
        self, jobs: JobStore, source: MemoryInvoiceSource, xero: FakeXero
    ) -> None:
        """A minute 429 retries no sooner than Xero's Retry-After, even when the backoff is
        shorter."""
        source.put(invoice(1, contact_of(xero)))
        engine = ScriptedEngine(
            xero.tenant_id, RateLimited("slow down", problem="minute", retry_after=300)
        )
        worker = Worker(engine, jobs, source, clock=xero.clock, backoff=EXACT)
        [job] = release(jobs, source, xero, invoice(1, contact_of(xero)))
        worker.run_pending()
        waiting = jobs.get(job.id)
        assert waiting is not None
        assert timedelta(seconds=300) == waiting.run_after - xero.clock.now()


class TestConnection:
    @staticmethod
    def _engine(xero: FakeXero, tokens: MemoryTokenStore, store: SyncStore) -> SyncEngine:
        """An engine on an authorised app connection whose tokens live in ``tokens``."""
        client = XeroClient(
            HttpxTransport(httpx.Client(transport=xero.transport)),
            auth=RefreshTokenAuth(xero.client_id, xero.client_secret, tokens, connection_id="c"),
            tenant_id=xero.tenant_id,
            clock=xero.clock,
            retry=RetryPolicy.none(),
        )
        return SyncEngine(
            client=client, store=store, tax_map={"GST15": "OUTPUT2"}, clock=xero.clock
        )

    def test_a_connection_that_is_gone_fails_its_jobs_saying_reconnect(
        self, jobs: JobStore, source: MemoryInvoiceSource, xero: FakeXero, store: SyncStore
    ) -> None:
        """A refresh token Xero refuses fails the job at once (no backoff rounds), retryable
        and marked needs_reconnect, and the panel says reconnect too; after a person
        reconnects, retrying the failed jobs pushes them."""
        tokens = MemoryTokenStore()
        tokens.save(
            "c",
            TokenSet(access_token="old", refresh_token="revoked", expires_at=xero.clock.now()),
            expected_version=None,
        )
        engine = self._engine(xero, tokens, store)
        worker = Worker(engine, jobs, source, clock=xero.clock, backoff=EXACT)
        [job] = release(jobs, source, xero, invoice(1, contact_of(xero)))

        worker.run_pending()

        failed = jobs.get(job.id)
        assert failed is not None
        assert (JobStatus.FAILED, 1, True, "ReauthorizationRequired", True) == (
            failed.status,
            failed.attempts,
            failed.retryable,
            failed.error_type,
            failed.needs_reconnect,
        )
        assert "reconnect to Xero" in (failed.last_error or "")
        assert "reconnect to Xero" in (engine.panel("I-1").last_error or "")
        exchange_code(
            HttpxTransport(httpx.Client(transport=xero.transport)),
            client_id=xero.client_id,
            client_secret=xero.client_secret,
            code=xero.authorize(),
            redirect_uri="https://bms.example/xero/callback",
            clock=xero.clock,
            store=tokens,
            connection_id="c",
        )
        jobs.retry_failed(now=xero.clock.now())
        worker.run_pending()
        done = jobs.get(job.id)
        assert done is not None
        assert (JobStatus.DONE, False) == (done.status, done.needs_reconnect)
        assert ["INV-0001"] == numbers_in_xero(xero)

    def test_a_token_refresh_that_could_not_finish_yet_is_retried(
        self, jobs: JobStore, source: MemoryInvoiceSource, xero: FakeXero
    ) -> None:
        """A token refresh still held by another process (a retryable TransportError,
        nothing sent) is a passing failure: the job waits for its backoff, not for a
        person."""
        busy = TransportError(
            "could not get an access token (another process has been refreshing the tokens "
            "of connection 'c' for 60 s without saving; nothing was sent, try again later)",
            sent=False,
        )
        worker = Worker(ScriptedEngine(xero.tenant_id, busy), jobs, source, clock=xero.clock)
        [job] = release(jobs, source, xero, invoice(1, contact_of(xero)))

        worker.run_pending()

        waiting = jobs.get(job.id)
        assert waiting is not None
        assert (JobStatus.PENDING, True, False) == (
            waiting.status,
            waiting.retryable,
            waiting.needs_reconnect,
        )


class TestDayLimit:
    def test_day_limit_parks_the_tenant_until_reset_and_resumes(
        self, jobs: JobStore, source: MemoryInvoiceSource, store: SyncStore
    ) -> None:
        """A day-limit 429 parks the tenant until Xero's reset without spending attempts;
        nothing runs before the reset, everything runs after it, once."""
        xero = FakeXero(seed=3, day_limit=9)
        contact = configure(xero, xero.tenant_id)
        engine = SyncEngine(
            client=xero.client(retry=RetryPolicy.none()),
            store=store,
            tax_map={"GST15": "OUTPUT2"},
            clock=xero.clock,
        )
        worker = Worker(engine, jobs, source, clock=xero.clock, backoff=EXACT, batch_size=1)
        queued = release(jobs, source, xero, *(invoice(n, contact) for n in range(1, 11)))
        report = worker.run_pending()
        [(tenant, until)] = report.parked.items()
        assert xero.tenant_id == tenant
        assert until > xero.clock.now() + timedelta(hours=1)
        assert until == jobs.parked_until(xero.tenant_id, now=xero.clock.now())
        waiting = [
            j for j in (jobs.get(q.id) for q in queued) if j and j.status is JobStatus.PENDING
        ]
        assert waiting, "some jobs must be left for tomorrow"
        assert {0} == {j.attempts for j in waiting}
        [stopped] = [j for j in waiting if j.error_type]  # the rest were never leased
        assert ("DailyLimitReached", until) == (stopped.error_type, stopped.run_after)
        assert (stopped.last_error or "").startswith(
            f"invoice {stopped.invoice_number}: Xero's daily call limit"
        )
        pushed_today = len(xero.invoices())

        xero.clock.advance((until - xero.clock.now()).total_seconds() - 1)
        assert 0 == worker.run_pending().ran
        assert pushed_today == len(xero.invoices())

        xero.clock.advance(1)
        worker.run_pending()
        assert [f"INV-{n:04d}" for n in range(1, 11)] == numbers_in_xero(xero)
        assert {JobStatus.DONE} == {j.status for j in jobs.list_jobs(tenant_id=xero.tenant_id)}

    def test_other_tenants_keep_running_while_one_is_parked(
        self,
        jobs: JobStore,
        source: MemoryInvoiceSource,
        xero: FakeXero,
        make_engine: EngineFactory,
    ) -> None:
        """A parked tenant's jobs wait while another tenant's jobs run."""
        other = xero.add_tenant(name="Second Ltd")
        other_contact = configure(xero, other)
        worker = Worker([make_engine(), make_engine(other)], jobs, source, clock=xero.clock)
        jobs.park_tenant(xero.tenant_id, xero.clock.now() + timedelta(hours=5))
        release(jobs, source, xero, invoice(1, contact_of(xero)))
        source.put(invoice(2, other_contact), tenant_id=other)
        jobs.enqueue_push(other, "I-2", now=xero.clock.now())
        report = worker.run_pending()
        assert [("I-2", other)] == [(j.invoice_id, j.tenant_id) for j in report.done]
        assert [] == xero.invoices()
        assert ["INV-0002"] == numbers_in_xero(xero, other)


class TestDeadWorkers:
    def test_jobs_of_a_worker_killed_mid_lease_are_finished_by_another(
        self,
        jobs: JobStore,
        source: MemoryInvoiceSource,
        xero: FakeXero,
        make_engine: EngineFactory,
    ) -> None:
        """A worker that dies holding leases leaves the jobs leased; once the leases run out a
        second worker finishes them, and Xero has one invoice per BMS invoice."""
        contact = contact_of(xero)
        release(jobs, source, xero, *(invoice(n, contact) for n in (1, 2, 3)))
        dying = Worker(
            make_engine(),
            jobs,
            DyingSource(source),
            clock=xero.clock,
            worker_id="w-dies",
            lease_seconds=300,
        )
        with pytest.raises(WorkerKilled):
            dying.run_pending()
        assert {JobStatus.LEASED} == set(statuses(jobs, xero.tenant_id).values())

        rescuer = Worker(
            make_engine(), jobs, source, clock=xero.clock, worker_id="w-rescues", lease_seconds=300
        )
        assert 0 == rescuer.run_pending().ran  # the leases are still live
        xero.clock.advance(300)
        report = rescuer.run_pending()
        assert 3 == len(report.done)
        assert {2} == {j.attempts for j in report.done}
        assert ["INV-0001", "INV-0002", "INV-0003"] == numbers_in_xero(xero)

    def test_a_push_xero_committed_before_the_worker_died_is_not_duplicated(
        self,
        jobs: JobStore,
        source: MemoryInvoiceSource,
        xero: FakeXero,
        make_engine: EngineFactory,
    ) -> None:
        """Xero created the invoices but the worker died before recording it; the re-run
        adopts them instead of creating them again."""
        contact = contact_of(xero)
        release(jobs, source, xero, *(invoice(n, contact) for n in (1, 2)))
        shared = MemoryStore()
        dies_after_send = DiesAfterCreate(shared)
        dying = Worker(
            make_engine(sync_store=dies_after_send),
            jobs,
            source,
            clock=xero.clock,
            worker_id="w-dies",
            lease_seconds=300,
        )
        with pytest.raises(WorkerKilled):
            dying.run_pending()
        assert ["INV-0001", "INV-0002"] == numbers_in_xero(xero)  # Xero has them ...
        assert {SyncState.PENDING} == {  # ... but we never learnt their ids
            r.state for r in shared.iter_records(xero.tenant_id)
        }

        xero.clock.advance(301)
        rescuer = Worker(
            make_engine(sync_store=shared), jobs, source, clock=xero.clock, worker_id="w-rescues"
        )
        report = rescuer.run_pending()
        assert 2 == len(report.done)
        assert ["INV-0001", "INV-0002"] == numbers_in_xero(xero)
        assert 1 == xero.count_requests("PUT", "/Invoices")
        assert {SyncState.PUSHED} == {r.state for r in shared.iter_records(xero.tenant_id)}

    def test_a_worker_whose_lease_ran_out_does_not_overwrite_the_outcome(
        self,
        jobs: JobStore,
        source: MemoryInvoiceSource,
        xero: FakeXero,
        make_engine: EngineFactory,
    ) -> None:
        """A job that outlives its lease is reported lost, and left for the next worker."""
        release(jobs, source, xero, invoice(1, contact_of(xero)))
        slow = Worker(
            make_engine(),
            jobs,
            SlowSource(source, xero, seconds=120),
            clock=xero.clock,
            worker_id="w-slow",
            lease_seconds=60,
        )
        report = slow.run_pending()
        assert (0, 1) == (len(report.jobs), len(report.lost))
        assert JobStatus.LEASED == report.lost[0].status
        rescuer = Worker(make_engine(), jobs, source, clock=xero.clock, worker_id="w2")
        assert 1 == len(rescuer.run_pending().done)
        assert ["INV-0001"] == numbers_in_xero(xero)

    def test_a_job_that_keeps_killing_workers_is_given_up(
        self,
        jobs: JobStore,
        source: MemoryInvoiceSource,
        xero: FakeXero,
        make_engine: EngineFactory,
    ) -> None:
        """A job leased more than max_attempts times without an outcome fails for good."""
        [job] = release(jobs, source, xero, invoice(1, contact_of(xero)))
        for _ in range(EXACT.max_attempts):
            dying = Worker(
                make_engine(),
                jobs,
                DyingSource(source),
                clock=xero.clock,
                backoff=EXACT,
                lease_seconds=60,
            )
            with pytest.raises(WorkerKilled):
                dying.run_pending()
            xero.clock.advance(60)
        worker = Worker(make_engine(), jobs, source, clock=xero.clock, backoff=EXACT)
        report = worker.run_pending()
        failed = jobs.get(job.id)
        assert failed is not None
        assert [job.id] == [j.id for j in report.failed]
        assert (
            "gave up after 3 attempts: invoice INV-0001: RuntimeError: the worker running it "
            "stopped before it finished, every time"
        ) == failed.last_error
        assert [] == xero.invoices()


class TestPulls:
    def test_a_pull_job_brings_payments_back(
        self,
        worker: Worker,
        jobs: JobStore,
        source: MemoryInvoiceSource,
        xero: FakeXero,
        make_engine: EngineFactory,
    ) -> None:
        """A pull job applies payments made in Xero to the sync record."""
        release(jobs, source, xero, invoice(1, contact_of(xero)))
        worker.run_pending()
        [pushed] = xero.invoices()
        xero.pay(str(pushed["InvoiceID"]), amount=Decimal("115.00"))
        job = jobs.enqueue_pull(xero.tenant_id, now=xero.clock.now())
        worker.run_pending()
        done = jobs.get(job.id)
        assert done is not None
        assert JobStatus.DONE == done.status
        assert "paid" == str(make_engine().panel("I-1").status)

    def test_invoice_refreshes_of_one_tenant_share_a_request(
        self, worker: Worker, jobs: JobStore, source: MemoryInvoiceSource, xero: FakeXero
    ) -> None:
        """Refresh jobs for several invoices of one tenant are run as one lookup."""
        contact = contact_of(xero)
        release(jobs, source, xero, *(invoice(n, contact) for n in (1, 2, 3)))
        worker.run_pending()
        xero.clear_requests()
        for n in (1, 2, 3):
            jobs.enqueue_pull(xero.tenant_id, invoice_id=f"I-{n}", now=xero.clock.now())
        report = worker.run_pending()
        assert 3 == len(report.done)
        assert 1 == xero.count_requests("GET", "/Invoices")

    def test_a_failed_pull_names_the_pull(
        self, jobs: JobStore, source: MemoryInvoiceSource, xero: FakeXero
    ) -> None:
        """A pull that fails transiently is retried, its error naming the payments pull."""
        engine = ScriptedEngine(
            xero.tenant_id, DailyLimitReached(resets_at=xero.clock.now() + timedelta(hours=2))
        )
        worker = Worker(engine, jobs, source, clock=xero.clock, backoff=EXACT)
        job = jobs.enqueue_pull(xero.tenant_id, now=xero.clock.now())
        report = worker.run_pending()
        parked = jobs.get(job.id)
        assert parked is not None
        assert {xero.tenant_id: xero.clock.now() + timedelta(hours=2)} == dict(report.parked)
        assert (parked.last_error or "").startswith("payments pull: Xero's daily call limit")


class TestConfiguration:
    @pytest.mark.parametrize(
        "kwargs",
        [{"batch_size": 51}, {"batch_size": 0}, {"lease_seconds": 0}, {"worker_id": ""}],
        ids=str,
    )
    def test_bad_settings_are_refused(
        self,
        kwargs: dict[str, object],
        make_engine: EngineFactory,
        jobs: JobStore,
        source: MemoryInvoiceSource,
    ) -> None:
        """A worker refuses settings that break Xero's rules or its own."""
        with pytest.raises(ConfigurationError):
            Worker(make_engine(), jobs, source, **kwargs)  # type: ignore[arg-type]

    def test_an_engine_mapped_to_another_tenant_is_refused(
        self, make_engine: EngineFactory, jobs: JobStore, source: MemoryInvoiceSource
    ) -> None:
        """A mapping whose key is not the engine's tenant would push to the wrong
        organisation, so it is refused."""
        with pytest.raises(ConfigurationError, match="map each tenant id to its own engine"):
            Worker({"some-other-tenant": make_engine()}, jobs, source)

    def test_two_engines_for_one_tenant_are_refused(
        self, make_engine: EngineFactory, jobs: JobStore, source: MemoryInvoiceSource
    ) -> None:
        """Each tenant has one engine."""
        with pytest.raises(ConfigurationError, match="two engines for tenant"):
            Worker([make_engine(), make_engine()], jobs, source)

    def test_repr_names_the_worker_and_its_tenants(
        self, make_engine: EngineFactory, source: MemoryInvoiceSource, xero: FakeXero
    ) -> None:
        """A worker's repr says who it is, whom it serves and which queues it takes."""
        worker = Worker(
            make_engine(), MemoryJobStore(new_id=counter("j")), source, worker_id="box:1"
        )
        expected = f"Worker(worker_id='box:1', tenants=['{xero.tenant_id}'], queues=['default'])"
        assert expected == repr(worker)


# --- test doubles ----------------------------------------------------------------------------


class DyingSource:
    """An InvoiceSource whose process dies when asked for an invoice."""

    def __init__(self, source: MemoryInvoiceSource) -> None:
        self.source = source

    def get(self, tenant_id: str, invoice_id: str) -> Invoice | None:
        raise WorkerKilled


class WrongSource:
    """A buggy InvoiceSource that always answers with invoice I-2."""

    def __init__(self, source: MemoryInvoiceSource) -> None:
        self.source = source

    def get(self, tenant_id: str, invoice_id: str) -> Invoice | None:
        return self.source.get(tenant_id, "I-2")


class SlowSource:
    """An InvoiceSource that takes ``seconds`` (of the fake clock) per invoice."""

    def __init__(self, source: MemoryInvoiceSource, xero: FakeXero, seconds: float) -> None:
        self.source, self.xero, self.seconds = source, xero, seconds

    def get(self, tenant_id: str, invoice_id: str) -> Invoice | None:
        self.xero.clock.sleep(self.seconds)
        return self.source.get(tenant_id, invoice_id)


class DiesAfterCreate:
    """A sync store whose process dies on the first write after Xero answered a create:
    the intents are stored, the answer never is (the first write of a linked record)."""

    def __init__(self, inner: MemoryStore) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def put(self, record: SyncRecord, *, expected_version: int | None) -> SyncRecord:
        raise WorkerKilled

    def put_many(self, records: list[tuple[SyncRecord, int | None]]) -> list[SyncRecord]:
        if any(record.xero_invoice_id is not None for record, _ in records):
            raise WorkerKilled
        return self.inner.put_many(records)


class ScriptedEngine:
    """A TenantSync whose every call fails with one error."""

    def __init__(self, tenant_id: str, error: BmsXeroError) -> None:
        self.tenant_id = tenant_id
        self.error = error

    def push_many(self, invoices: Iterable[Invoice]) -> list[PushOutcome]:
        return [
            PushFailure(
                invoice_id=i.id, invoice_number=i.number, error=self.error.for_invoice(i.number)
            )
            for i in invoices
        ]

    def pull(self) -> list[PaymentUpdate]:
        raise self.error

    def pull_invoices(self, invoice_ids: Iterable[str]) -> list[PaymentUpdate]:
        raise self.error
