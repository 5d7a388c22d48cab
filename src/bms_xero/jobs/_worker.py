"""The worker: lease due jobs, run them through the sync engines, record each outcome.

One :class:`Worker` serves one or more tenants (one engine each). A run leases the oldest due
job; push jobs (and invoice refreshes) of that tenant are leased with it, up to 50, and sent
as one request. Each job then succeeds or fails on its own, by the typed error that stopped
it (see :func:`classify`):

- transient (timeouts, 5xx, a minute 429, an uncertain write): retried with exponential
  backoff and jitter, until :attr:`Backoff.max_attempts`, then failed ("gave up after ...");
- a day-limit 429: the tenant is parked until Xero's reset time and the job goes back
  without spending an attempt; nothing sleeps through it;
- the connection is gone (:class:`~bms_xero.errors.ReauthorizationRequired`: Xero refused
  the refresh token and no other process saved newer tokens): failed at once, marked
  retryable, saying "reconnect to Xero" (``Job.needs_reconnect``); retry the jobs once a
  person has connected again. A token refresh that merely could not finish yet (another
  process still refreshing, the token endpoint unreachable) is transient;
- permanent (validation, no Xero contact, unmapped tax code, a paid invoice): failed at
  once, keeping Xero's own words.

A worker that dies mid-job leaves its lease to run out; the next worker takes the job over,
and the engine's sync records make the re-run safe (it looks an uncertain create up in Xero
before creating anything).
"""

from __future__ import annotations

import enum
import logging
import os
import signal
import socket
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

import attrs

from bms_xero._backoff import Jitter, backoff_delay, default_random
from bms_xero.clock import Clock, SystemClock
from bms_xero.errors import (
    BmsXeroError,
    ConfigurationError,
    DailyLimitReached,
    LeaseLost,
    LocalError,
    RateLimited,
    ReauthorizationRequired,
    RemoteError,
    SchemaVersionError,
    StorageValueError,
    SyncError,
    UncertainOutcome,
)
from bms_xero.jobs._protocols import CustomerSource, InvoiceSource, JobStore, TenantSync
from bms_xero.jobs._records import DEFAULT_QUEUE, Job, JobKind, JobStatus
from bms_xero.xero import MAX_BATCH

if TYPE_CHECKING:
    from bms_xero.domain import Invoice
    from bms_xero.jobs._schedule import PullSchedule

__all__ = ["Backoff", "Failure", "RunReport", "Worker", "classify"]

log = logging.getLogger("bms_xero.jobs")

BATCH = MAX_BATCH  # Xero's batch size: one request, one call against the limits
_WAKE = 1.0  # longest single sleep while idle, so a stop request is seen within a second


def _non_negative(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ConfigurationError(f"Backoff.{attribute.name} must be a number >= 0, not {value!r}")


def _at_least_one(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 1:
        raise ConfigurationError(f"Backoff.{attribute.name} must be >= 1, not {value!r}")


@attrs.frozen(kw_only=True)
class Backoff:
    """When a job that failed for a passing reason runs again.

    The wait after attempt ``n`` is ``base * factor ** (n - 1)``, capped at ``max_delay``;
    with jitter it is a random point in the upper half of that, so workers that failed
    together don't retry together, yet no job runs much earlier than its backoff (a run too
    early spends a whole attempt). A minute 429's ``Retry-After`` is a floor. The formula is
    the one :class:`~bms_xero.xero.RetryPolicy` uses inside a call
    (:func:`bms_xero._backoff.backoff_delay`), at the scale of job runs.

    Attributes:
        base: Seconds before the first retry.
        factor: Growth per attempt.
        max_delay: Longest wait between attempts.
        max_attempts: Attempts before the job fails for good (the first run included).
        jitter: Randomise each wait (turn off for exact tests).
        random: Floats in [0, 1) for the jitter; inject a seeded one in tests.
    """

    base: float = attrs.field(default=30.0, validator=_non_negative)
    factor: float = attrs.field(default=2.0, validator=_at_least_one)
    max_delay: float = attrs.field(default=3600.0, validator=_non_negative)
    max_attempts: int = attrs.field(default=8, validator=_at_least_one)
    jitter: bool = True
    random: Callable[[], float] = attrs.field(factory=default_random, eq=False, repr=False)

    def delay(self, attempt: int, *, floor: float = 0.0) -> float:
        """Seconds to wait after attempt number ``attempt`` (1 for the first) failed."""
        wait = backoff_delay(
            attempt,
            base=self.base,
            factor=self.factor,
            max_delay=self.max_delay,
            jitter=Jitter.EQUAL if self.jitter else Jitter.NONE,
            random=self.random,
        )
        return max(wait, floor)


class Failure(enum.StrEnum):
    """How the worker treats an error."""

    #: Likely to pass: retry with backoff.
    TRANSIENT = "transient"
    #: Retrying unchanged would fail again: fail the job, keep the message.
    PERMANENT = "permanent"
    #: Xero's day limit: park the tenant until the reset, give the attempt back.
    DAY_LIMIT = "day_limit"
    #: The connection is gone: fail now, retryable once a person has reconnected.
    RECONNECT = "reconnect"


def classify(error: BaseException) -> Failure:
    """How a job that raised (or was handed) ``error`` is treated.

    Decided by the error's type: :class:`~bms_xero.errors.DailyLimitReached` parks;
    :class:`~bms_xero.errors.ReauthorizationRequired` means reconnect (retrying before a
    person reconnects only fails again); :class:`~bms_xero.errors.UncertainOutcome` and
    remote errors marked ``retryable``
    (timeouts, 5xx, minute 429s) are transient; other remote errors (validation, auth,
    not found), local errors (preflight, invalid invoices) and sync errors (credit note
    required, number conflicts) are permanent. A store that is busy or lost a race is
    transient; a value it refuses is not. Anything else (a bug, the host's database being
    down) is treated as transient, so max_attempts bounds it.
    """
    if isinstance(error, DailyLimitReached):
        return Failure.DAY_LIMIT
    if isinstance(error, ReauthorizationRequired):
        return Failure.RECONNECT
    if isinstance(error, UncertainOutcome):
        return Failure.TRANSIENT
    if isinstance(error, RemoteError):
        return Failure.TRANSIENT if error.retryable else Failure.PERMANENT
    if isinstance(error, BmsXeroError) and error.retryable:  # e.g. PushInProgress
        return Failure.TRANSIENT
    if isinstance(error, LocalError | SyncError | StorageValueError | SchemaVersionError):
        return Failure.PERMANENT
    return Failure.TRANSIENT


@attrs.frozen(kw_only=True)
class RunReport:
    """What one :meth:`Worker.run_pending` did.

    Attributes:
        jobs: Every job it ran, as stored afterwards, in the order run.
        lost: Jobs whose lease ran out (or that were cancelled) before the outcome could be
            recorded, as they were leased; they run again elsewhere.
        parked: Tenants parked for Xero's day limit, with when the park ends.
    """

    jobs: tuple[Job, ...] = ()
    lost: tuple[Job, ...] = ()
    parked: Mapping[str, datetime] = attrs.field(factory=dict)

    @property
    def ran(self) -> int:
        """How many jobs were run (lost ones included)."""
        return len(self.jobs) + len(self.lost)

    @property
    def done(self) -> tuple[Job, ...]:
        """The jobs that finished."""
        return tuple(j for j in self.jobs if j.status is JobStatus.DONE)

    @property
    def failed(self) -> tuple[Job, ...]:
        """The jobs that failed for good."""
        return tuple(j for j in self.jobs if j.status is JobStatus.FAILED)

    @property
    def waiting(self) -> tuple[Job, ...]:
        """The jobs that will run again (retrying, or parked with their tenant)."""
        return tuple(j for j in self.jobs if j.status is JobStatus.PENDING)


@attrs.define
class _Tally:
    """What a run did so far; appended to from one thread per tenant (appends are atomic)."""

    jobs: list[Job] = attrs.Factory(list)
    lost: list[Job] = attrs.Factory(list)
    parked: dict[str, datetime] = attrs.Factory(dict)

    def lost_any(self, tenant_ids: list[str] | None) -> bool:
        """Whether a job of these tenants (``None``: any) lost its lease in this run."""
        return any(tenant_ids is None or job.tenant_id in tenant_ids for job in self.lost)

    def report(self) -> RunReport:
        return RunReport(jobs=tuple(self.jobs), lost=tuple(self.lost), parked=dict(self.parked))


class _JobBudget:
    """How many more jobs a run may take (``max_jobs``), shared by the tenants' threads.

    A thread reserves room before it leases and settles it after: what it leased is spent,
    the rest comes back. A thread finding no room while others still hold reservations waits
    for them to settle rather than give up: the room they give back may be what it needs.
    """

    def __init__(self, limit: int | None) -> None:
        self._left = limit
        self._reserved = 0
        self._changed = threading.Condition()

    def take(self, wanted: int) -> int:
        """Up to ``wanted`` jobs' worth of room (0: the run's budget is spent)."""
        with self._changed:
            if self._left is None:
                return wanted
            while self._left == 0 and self._reserved > 0:
                self._changed.wait()
            granted = min(wanted, self._left)
            self._left -= granted
            self._reserved += granted
            return granted

    def settle(self, granted: int, used: int) -> None:
        """``used`` of the ``granted`` room was spent on leased jobs; the rest comes back."""
        with self._changed:
            if self._left is None:
                return
            self._reserved -= granted
            self._left += granted - used
            self._changed.notify_all()


def _default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _engines(
    engines: TenantSync | Mapping[str, TenantSync] | Iterable[TenantSync],
) -> dict[str, TenantSync]:
    if isinstance(engines, Mapping):
        found = dict(engines)
        for tenant, engine in found.items():
            if engine.tenant_id != tenant:
                raise ConfigurationError(
                    f"the engine given for tenant {tenant} syncs tenant {engine.tenant_id}; "
                    "map each tenant id to its own engine"
                )
    elif hasattr(engines, "push_many"):
        single: TenantSync = engines  # type: ignore[assignment]
        found = {single.tenant_id: single}
    else:
        found = {}
        for engine in engines:
            if engine.tenant_id in found:
                raise ConfigurationError(
                    f"two engines for tenant {engine.tenant_id}; give each tenant one engine"
                )
            found[engine.tenant_id] = engine
    if not found:
        raise ConfigurationError("Worker needs at least one engine (one per tenant)")
    return found


class Worker:
    """Runs background jobs for the tenants of its engines.

    Args:
        engines: One engine, several (one per tenant), or a mapping ``tenant_id -> engine``.
        jobs: Where the jobs are (``MemoryJobStore``, ``SQLiteJobStore``, your own).
        source: The host's invoices, loaded when each push runs.
        clock: Time and waiting (a ``FakeClock`` in tests); defaults to the system clock.
        worker_id: How leases name this worker (default ``host:pid:random``); unique per
            running worker.
        lease_seconds: How long a leased job stays this worker's. Longer than the slowest
            job (a full pull of a large organisation); a worker that dies holds its jobs
            this long before another takes them over.
        backoff: Waits between attempts of transiently failing jobs.
        batch_size: Push jobs (and refreshes) sent per request, at most 50.
        customers: The host's customers, for ``link_customer`` jobs; without it the worker
            leaves those jobs to a worker that has one.
        queues: The queues this worker takes jobs from (default ``("default",)``). Give each
            process that shares a job store with another its own queue when their sources
            differ (the CLI uses ``"cli"``): a worker only ever takes jobs it can run, and
            never fails another process's work.
        parallel_tenants: How many tenants run at once, each in its own thread (default 32;
            1 runs them one after another). Tenants never wait behind each other's requests:
            each has its own rate budget at Xero, so a slow or busy organisation costs the
            others nothing. The job store, the engines' stores and the host's sources are
            then called from several threads (the built-in ones are thread-safe).
    """

    def __init__(
        self,
        engines: TenantSync | Mapping[str, TenantSync] | Iterable[TenantSync],
        jobs: JobStore,
        source: InvoiceSource,
        *,
        clock: Clock | None = None,
        worker_id: str | None = None,
        lease_seconds: float = 600.0,
        backoff: Backoff | None = None,
        batch_size: int = BATCH,
        customers: CustomerSource | None = None,
        queues: Iterable[str] = (DEFAULT_QUEUE,),
        parallel_tenants: int = 32,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int):
            raise ConfigurationError(f"batch_size must be a whole number, not {batch_size!r}")
        if not 1 <= batch_size <= BATCH:
            raise ConfigurationError(
                f"batch_size must be between 1 and {BATCH} (Xero's batch size), not {batch_size}"
            )
        if (
            isinstance(lease_seconds, bool)
            or not isinstance(lease_seconds, int | float)
            or not lease_seconds > 0
        ):
            raise ConfigurationError(f"lease_seconds must be > 0, not {lease_seconds!r}")
        if worker_id is not None and (not isinstance(worker_id, str) or not worker_id):
            raise ConfigurationError("worker_id must be a non-empty string")
        wanted = [queues] if isinstance(queues, str) else list(queues)
        if not wanted or any(not isinstance(q, str) or not q for q in wanted):
            raise ConfigurationError(
                f"queues must name at least one queue, e.g. queues=['default'], not {queues!r}"
            )
        self.queues: tuple[str, ...] = tuple(dict.fromkeys(wanted))
        if (
            isinstance(parallel_tenants, bool)
            or not isinstance(parallel_tenants, int)
            or parallel_tenants < 1
        ):
            raise ConfigurationError(
                f"parallel_tenants must be a whole number >= 1, not {parallel_tenants!r}"
            )
        self._parallel = parallel_tenants
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._customers = customers
        #: The kinds this worker can run: a customer job needs a customer source.
        self.kinds: tuple[JobKind, ...] = tuple(
            k for k in JobKind if k is not JobKind.LINK_CUSTOMER or customers is not None
        )
        self._engines = _engines(engines)
        self._jobs = jobs
        self._source = source
        self._clock: Clock = clock or SystemClock()
        self.worker_id: str = worker_id or _default_worker_id()
        self._lease_seconds = float(lease_seconds)
        self._backoff = backoff or Backoff()
        self._batch_size = batch_size

    def __repr__(self) -> str:
        return (
            f"Worker(worker_id={self.worker_id!r}, tenants={sorted(self._engines)!r}, "
            f"queues={list(self.queues)!r})"
        )

    @property
    def tenant_ids(self) -> list[str]:
        """The tenants this worker runs jobs for."""
        return sorted(self._engines)

    # --- running -----------------------------------------------------------------------------

    def run_pending(
        self, max_jobs: int | None = None, *, stop: threading.Event | None = None
    ) -> RunReport:
        """Run due jobs until none is left (or ``max_jobs`` ran, or ``stop`` is set).

        Returns what ran. Never raises for a job's failure (that is recorded on the job);
        raises only when the job store itself fails. Stops early when a lease ran out before
        its job finished (raise ``lease_seconds``): that job is due again at once, and
        running it here again would only lose it again.
        """
        if max_jobs is not None and (
            isinstance(max_jobs, bool) or not isinstance(max_jobs, int) or max_jobs < 1
        ):
            raise ConfigurationError(f"max_jobs must be a whole number >= 1, not {max_jobs!r}")
        tally = _Tally()
        budget = _JobBudget(max_jobs)
        tenants = sorted(self._engines)
        if len(tenants) == 1 or self._parallel == 1:
            self._drain(None, tally, budget, stop)
        else:
            pool = self._tenant_pool(min(self._parallel, len(tenants)))
            runs = [pool.submit(self._drain, [t], tally, budget, stop) for t in tenants]
            # Every tenant's run ends before this one returns (or raises): the pool outlives
            # the call, and a drain still running would overlap the next call's.
            wait(runs)
            for run in runs:
                run.result()  # a job store failure reaches the caller, as when serial
        return tally.report()

    def _tenant_pool(self, size: int) -> ThreadPoolExecutor:
        """The tenants' threads, kept for the worker's life: the same few threads every run,
        so a host's per-thread resources (a Django database connection each) stay bounded."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=size, thread_name_prefix=f"bms-xero-worker-{self.worker_id}"
                )
                # Its idle threads end with the worker, not with the process.
                weakref.finalize(self, self._pool.shutdown, wait=False)
            return self._pool

    def _drain(
        self,
        tenant_ids: list[str] | None,
        tally: _Tally,
        budget: _JobBudget,
        stop: threading.Event | None,
    ) -> None:
        """Run due jobs of these tenants (``None``: all of them) until none is left."""
        while stop is None or not stop.is_set():
            room = budget.take(self._batch_size)
            if not room:
                break
            try:
                batch = self._lease_batch(room, tenant_ids)
            except BaseException:
                budget.settle(room, 0)
                raise
            budget.settle(room, len(batch))
            if not batch:
                break
            self._run_batch(batch, tally)
            if tally.lost_any(tenant_ids):
                # Jobs outlive their lease here; running more would only lose more. The lost
                # jobs are due again, for the next run or another worker.
                break

    def run_forever(
        self,
        stop: threading.Event | None = None,
        *,
        poll_interval: float = 5.0,
        schedule: PullSchedule | None = None,
        install_signal_handlers: bool = False,
    ) -> None:
        """Run jobs as they fall due until ``stop`` is set (or SIGTERM/SIGINT, when asked).

        Between runs it sleeps (through the clock) until the next poll or the next scheduled
        pull, whichever is sooner; it never spins. A stop request lets the batch in hand
        finish, so no lease is left to run out.

        Args:
            stop: Set it (from any thread) to stop.
            poll_interval: Seconds between looks for new jobs while idle.
            schedule: Periodic pulls to enqueue as they fall due.
            install_signal_handlers: Stop on SIGTERM and SIGINT (main thread only); the
                previous handlers are restored on return.
        """
        if (
            isinstance(poll_interval, bool)
            or not isinstance(poll_interval, int | float)
            or not poll_interval > 0
        ):
            raise ConfigurationError(f"poll_interval must be > 0 seconds, not {poll_interval!r}")
        stop = stop if stop is not None else threading.Event()
        with self._signals(stop, install_signal_handlers):
            log.info("worker %s started for %d tenant(s)", self.worker_id, len(self._engines))
            while not stop.is_set():
                wait = float(poll_interval)
                try:
                    if schedule is not None:
                        schedule.enqueue_due()
                    report = self.run_pending(
                        max_jobs=self._batch_size * len(self._engines), stop=stop
                    )
                    if report.ran:
                        continue  # more may be due right away
                    if schedule is not None:
                        wait = min(wait, schedule.seconds_until_due())
                except Exception:  # keep serving: the next poll may find the store back
                    log.exception("worker %s: job store failed; retrying later", self.worker_id)
                self._idle(stop, wait)
            log.info("worker %s stopped", self.worker_id)

    # --- one batch -----------------------------------------------------------------------------

    def _lease_batch(self, room: int, tenant_ids: list[str] | None = None) -> list[Job]:
        now = self._clock.now()
        first = self._jobs.lease(
            worker_id=self.worker_id,
            now=now,
            lease_seconds=self._lease_seconds,
            limit=1,
            tenant_ids=list(self._engines) if tenant_ids is None else tenant_ids,
            kinds=self.kinds,
            queues=self.queues,
        )
        if not first or first[0].kind is JobKind.PULL or room <= 1:
            return first
        job = first[0]
        more = self._jobs.lease(
            worker_id=self.worker_id,
            now=now,
            lease_seconds=self._lease_seconds,
            limit=room - 1,
            tenant_ids=[job.tenant_id],
            kinds=[job.kind],
            queues=self.queues,
        )
        return [job, *more]

    def _run_batch(self, batch: Sequence[Job], tally: _Tally) -> None:
        runnable: list[Job] = []
        for job in batch:
            if job.attempts > self._backoff.max_attempts:
                # Leased this often without an outcome: its runs keep dying (a poison job).
                self._record_failure(
                    job,
                    RuntimeError("the worker running it stopped before it finished, every time"),
                    tally,
                    give_up=True,
                )
            else:
                runnable.append(job)
        if not runnable:
            return
        engine = self._engines[runnable[0].tenant_id]
        kind = runnable[0].kind
        if kind is JobKind.PUSH:
            self._push(engine, runnable, tally)
        elif kind is JobKind.PULL_INVOICES:
            self._refresh(engine, runnable, tally)
        elif kind is JobKind.LINK_CUSTOMER:
            for job in runnable:
                self._link(engine, job, tally)
        else:
            for job in runnable:
                self._whole(job, engine.pull, tally)

    def _push(self, engine: TenantSync, batch: Sequence[Job], tally: _Tally) -> None:
        loaded: list[tuple[Job, Invoice]] = []
        for job in batch:
            assert job.invoice_id is not None
            try:
                invoice = self._source.get(job.tenant_id, job.invoice_id)
            except Exception as e:  # the host's source failed: this job only
                self._record_failure(job, e, tally)
                continue
            if invoice is None:
                self._record_failure(
                    job,
                    SyncError(
                        "no longer exists in the BMS, so nothing was pushed; cancel this job, "
                        "or restore the invoice and retry it"
                    ),
                    tally,
                )
                continue
            if invoice.id != job.invoice_id:
                self._record_failure(
                    job,
                    ConfigurationError(
                        f"the InvoiceSource returned invoice {invoice.id} ({invoice.number}) "
                        f"when asked for {job.invoice_id}; nothing was pushed. Fix the host's "
                        "InvoiceSource.get"
                    ),
                    tally,
                )
                continue
            loaded.append((job, invoice))
        if not loaded:
            return
        try:
            outcomes = engine.push_many([invoice for _, invoice in loaded])
        except Exception as e:  # the engine could not even start: every job shares it
            for job, invoice in loaded:
                self._record_failure(job, e, tally, invoice_number=invoice.number)
            return
        for (job, invoice), outcome in zip(loaded, outcomes, strict=True):
            if outcome.ok:
                self._record_done(job, tally, invoice_number=invoice.number)
            else:
                error: BaseException = outcome.error or SyncError("the push gave no result")
                self._record_failure(job, error, tally, invoice_number=invoice.number)

    def _refresh(self, engine: TenantSync, batch: Sequence[Job], tally: _Tally) -> None:
        try:
            engine.pull_invoices([job.invoice_id for job in batch if job.invoice_id])
        except Exception as e:
            for job in batch:
                self._record_failure(job, e, tally)
            return
        for job in batch:
            self._record_done(job, tally)

    def _link(self, engine: TenantSync, job: Job, tally: _Tally) -> None:
        assert job.customer_id is not None and self._customers is not None
        try:
            customer = self._customers.get_customer(job.tenant_id, job.customer_id)
        except Exception as e:  # the host's source failed: this job only
            self._record_failure(job, e, tally)
            return
        if customer is None:
            error = SyncError(
                "no longer exists in the BMS, so it was not linked; cancel this job, or "
                "restore the customer and retry it"
            )
            self._record_failure(job, error, tally)
            return
        self._whole(job, lambda: engine.link_customer(customer), tally)

    def _whole(self, job: Job, run: Callable[[], object], tally: _Tally) -> None:
        try:
            run()
        except Exception as e:
            self._record_failure(job, e, tally)
            return
        self._record_done(job, tally)

    # --- outcomes ------------------------------------------------------------------------------

    def _record_done(self, job: Job, tally: _Tally, *, invoice_number: str | None = None) -> None:
        with self._lease_kept(job, tally):
            done = self._jobs.complete(job, now=self._clock.now(), invoice_number=invoice_number)
            log.info("job %s done: %s", job.id, done.description)
            tally.jobs.append(done)

    def _record_failure(
        self,
        job: Job,
        error: BaseException,
        tally: _Tally,
        *,
        invoice_number: str | None = None,
        give_up: bool = False,
    ) -> None:
        named = job.evolve(invoice_number=invoice_number) if invoice_number else job
        text = _describe(error, named)
        error_type = type(error).__name__
        verdict = classify(error)
        now = self._clock.now()
        with self._lease_kept(job, tally):
            if verdict is Failure.DAY_LIMIT and not give_up:
                assert isinstance(error, DailyLimitReached)
                until = error.resets_at
                if until <= now:  # a reset already past: look again after a short wait
                    until = now + timedelta(seconds=self._backoff.delay(1))
                until = self._jobs.park_tenant(job.tenant_id, until)
                tally.parked[job.tenant_id] = until
                after = self._jobs.release(
                    job, now=now, run_after=until, error=text, error_type=error_type
                )
                log.warning("job %s parked until %s: %s", job.id, until.isoformat(), text)
            elif verdict is Failure.RECONNECT and not give_up:
                after = self._jobs.fail(
                    job,
                    now=now,
                    error=text,
                    error_type=error_type,
                    retry_at=None,
                    retryable=True,  # once a person has reconnected
                    invoice_number=invoice_number,
                )
                log.error("job %s failed, the Xero connection needs reconnecting: %s", job.id, text)
            elif verdict is not Failure.PERMANENT and not give_up:
                if job.attempts >= self._backoff.max_attempts:
                    text = f"gave up after {job.attempts} attempts: {text}"
                    after = self._jobs.fail(
                        job,
                        now=now,
                        error=text,
                        error_type=error_type,
                        retry_at=None,
                        retryable=True,
                        invoice_number=invoice_number,
                    )
                    log.error("job %s failed: %s", job.id, text)
                else:
                    floor = error.retry_after if isinstance(error, RateLimited) else None
                    wait = self._backoff.delay(job.attempts, floor=floor or 0.0)
                    after = self._jobs.fail(
                        job,
                        now=now,
                        error=text,
                        error_type=error_type,
                        retry_at=now + timedelta(seconds=wait),
                        invoice_number=invoice_number,
                    )
                    log.warning("job %s will retry in %.0f s: %s", job.id, wait, text)
            else:
                if give_up:
                    text = f"gave up after {job.attempts - 1} attempts: {text}"
                after = self._jobs.fail(
                    job,
                    now=now,
                    error=text,
                    error_type=error_type,
                    retry_at=None,
                    retryable=give_up or None,
                    invoice_number=invoice_number,
                )
                log.error("job %s failed: %s", job.id, text)
            tally.jobs.append(after)

    @contextmanager
    def _lease_kept(self, job: Job, tally: _Tally) -> Iterator[None]:
        try:
            yield
        except LeaseLost as lost:
            log.warning("%s", lost)
            tally.lost.append(job)

    # --- waiting and signals -------------------------------------------------------------------

    def _idle(self, stop: threading.Event, seconds: float) -> None:
        remaining = max(0.0, seconds)
        while remaining > 0 and not stop.is_set():
            step = min(remaining, _WAKE)
            self._clock.sleep(step)
            remaining -= step

    @contextmanager
    def _signals(self, stop: threading.Event, install: bool) -> Iterator[None]:
        if not install:
            yield
            return
        if threading.current_thread() is not threading.main_thread():
            raise ConfigurationError(
                "install_signal_handlers=True works only in the main thread; in another "
                "thread, pass stop=threading.Event() and set it from your own handler"
            )

        def handle(signum: int, _frame: FrameType | None) -> None:
            name = signal.Signals(signum).name
            log.info("worker %s: %s received, stopping", self.worker_id, name)
            stop.set()

        wanted = (signal.SIGTERM, signal.SIGINT)
        previous = {sig: signal.getsignal(sig) for sig in wanted}
        for sig in wanted:
            signal.signal(sig, handle)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _describe(error: BaseException, job: Job) -> str:
    """The error in words, naming the invoice (or the pull) it stopped."""
    if job.kind in (JobKind.PULL, JobKind.LINK_CUSTOMER):
        text = str(error) if isinstance(error, BmsXeroError) else f"{type(error).__name__}: {error}"
        return f"{'payments pull' if job.kind is JobKind.PULL else job.subject}: {text}"
    label = job.invoice_number or f"id {job.invoice_id}"
    if isinstance(error, BmsXeroError):
        return str(error.for_invoice(label))
    return f"invoice {label}: {type(error).__name__}: {error}"
