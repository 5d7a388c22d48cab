"""Run bms_xero's background jobs on the host's own Celery workers, routed per organisation.

A BMS that outgrows one machine already runs Celery; it should not need a second kind of
worker for Xero. :func:`register_tasks` adds bms_xero's tasks to the host's app (never a
global one) and returns a :class:`CeleryTasks` handle::

    app = Celery("mybms", broker="redis://127.0.0.1:6379/0")
    xero_tasks = register_tasks(
        app,
        engines=build_engine,          # tenant_id -> SyncEngine, built in each worker process
        jobs=lambda: PostgresJobStore(DATABASE_URL),
        source=BmsInvoices,            # the host's InvoiceSource (a factory or an instance)
        tenants=["<tenant id>", ...],  # for tick() and the worker's -Q list
    )
    xero_tasks.enqueue_push(tenant_id, invoice.id, invoice_number=invoice.number)

**The job store is the record; a Celery message is a wake-up call.** Every piece of work is a
:class:`~bms_xero.jobs.Job` in the host's :class:`~bms_xero.jobs.JobStore`, written before any
message is sent, so the Background Jobs page shows it (and its last error) whatever happens
to the broker. The ``run_job(tenant_id, job_id)`` task runs one job through the same
:class:`~bms_xero.jobs.Worker` rules as the built-in worker: it leases the tenant's due jobs
(its own among them, up to 50 pushes in one request), records each outcome, and keeps its
message alive until its own job is finished:

- a job waiting for a retry time (a minute 429's ``Retry-After``, a backoff) or a tenant parked
  for Xero's day limit reschedules the task with ``countdown``; no worker sleeps through it;
- a job leased by another worker is looked at again after ``recheck_seconds`` (or when its
  lease runs out, if sooner): if that worker died, this task takes the job over;
- transient failures follow :class:`~bms_xero.jobs.Backoff` up to ``max_attempts``, permanent
  ones fail at once with the typed error recorded (``Job.error_type``, ``Job.last_error``);
  the task then returns the job's outcome rather than raising, since the failure is the
  job's, recorded where the operator looks, and Celery delivered it correctly.

Tasks are ``acks_late`` with ``reject_on_worker_lost``: a worker killed mid-task leaves its
message to be delivered again, and the job's lease in the store makes that harmless.
Exactly-once in Xero comes from the stores (the engine's intents and its lookups by number),
so two workers taking the same invoice never create two Xero invoices.

The tasks (``<prefix>.<name>``, prefix ``bms_xero``):

==================  =====================================================================
``run_job``          run one stored job (what every other task hands over to)
``push``             enqueue a push of one invoice, then run it
``push_many``        enqueue pushes of several invoices (one request per 50), then run them
``pull``             enqueue a payments pull of the tenant, then run it
``pull_invoices``    enqueue refreshes of some invoices (one request), then run them
``link_customer``    enqueue linking a customer to its Xero contact, then run it
``drain``            run whatever of the tenant's work is due (a safety net)
``tick``             periodic (Celery beat): enqueue due pulls, ``drain`` every tenant
==================  =====================================================================

Each task whose first argument is a tenant id goes to that tenant's queue
(:func:`default_queue`: ``bms_xero.<tenant id>``, or the host's ``queue_for``), so one busy
organisation never holds another's work up; start workers with ``-Q`` set to
:meth:`CeleryTasks.queues`. See ``docs/scaling.md``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Generic, TypeVar

import attrs

from bms_xero.clock import Clock, SystemClock
from bms_xero.errors import ConfigurationError
from bms_xero.jobs import (
    Backoff,
    CustomerSource,
    Failure,
    InvoiceSource,
    Job,
    JobKind,
    JobStatus,
    JobStore,
    PullSchedule,
    TenantSync,
    Worker,
    classify,
)
from bms_xero.xero import MAX_BATCH

__all__ = [
    "TASK_NAMES",
    "CeleryTasks",
    "Finished",
    "Run",
    "Step",
    "TaskOptions",
    "Wait",
    "default_queue",
    "next_step",
    "register_tasks",
    "task_result",
]

log = logging.getLogger("bms_xero.integrations.celery")

T = TypeVar("T")

#: The tasks :func:`register_tasks` adds, without their prefix.
TASK_NAMES: tuple[str, ...] = (
    "run_job",
    "push",
    "push_many",
    "pull",
    "pull_invoices",
    "link_customer",
    "drain",
    "tick",
)

#: Jobs that never change again on their own: their task has nothing left to do.
_FINISHED = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.SUPERSEDED})


#: The prefixes registered on each app, so a second registration under one prefix is refused
#: (Celery would keep the first task of each name, bound to the first setup's stores).
_registered: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
_registering = threading.Lock()


def default_queue(tenant_id: str) -> str:
    """The Celery queue of a tenant's tasks: ``bms_xero.<tenant id>``.

    One queue per organisation, so a worker consuming several queues takes from each in turn
    and an organisation with a backlog never delays the others.
    """
    return f"bms_xero.{tenant_id}"


# --- what a task does next: a pure decision ---------------------------------------------------


@attrs.frozen
class Run:
    """The job is due: lease and run it now.

    Attributes:
        job: The job as read from the store.
    """

    job: Job


@attrs.frozen
class Wait:
    """Not yet: reschedule the task ``seconds`` from now (``countdown``), never sleep on it.

    Attributes:
        seconds: How long until the job may be due (0: back of the queue, now).
        reason: Why, for the worker's log.
    """

    seconds: float = attrs.field()
    reason: str

    @seconds.validator
    def _check(self, _attribute: attrs.Attribute[float], value: float) -> None:
        if not value >= 0:
            raise ConfigurationError(f"Wait.seconds must be >= 0, not {value!r}")


@attrs.frozen
class Finished:
    """The job will not change again on its own (done, failed, cancelled, superseded), or
    there is no such job (``None``): the task ends.

    Attributes:
        job: The job as stored, or ``None``.
    """

    job: Job | None


#: What :func:`next_step` decides.
Step = Run | Wait | Finished


def next_step(
    job: Job | None,
    *,
    now: datetime,
    parked_until: datetime | None,
    recheck_seconds: float,
) -> Step:
    """What the task holding ``job``'s message does now.

    Pure: the store's answers go in, a decision comes out, so every case is a literal test.

    - No such job, or a finished one: :class:`Finished` (a failed job waits for a person;
      retrying it sends a new message).
    - The tenant is parked for Xero's day limit: :class:`Wait` until the park ends.
    - Another worker holds a lease that has not run out: :class:`Wait` ``recheck_seconds``
      (or until the lease runs out, if sooner). That worker records the outcome; if it died,
      a later look finds the lease run out and takes the job over.
    - Pending with a retry time still ahead (a backoff, a minute 429's ``Retry-After``):
      :class:`Wait` until then.
    - Otherwise the job is due: :class:`Run`.

    Args:
        job: The job as the store has it now.
        now: The time (aware).
        parked_until: When the tenant's day-limit park ends, ``None`` when not parked.
        recheck_seconds: The longest wait on another worker's lease.
    """
    if job is None or job.status in _FINISHED:
        return Finished(job)
    if parked_until is not None and parked_until > now:
        return Wait(
            (parked_until - now).total_seconds(),
            f"tenant {job.tenant_id} is parked for Xero's day limit until "
            f"{parked_until.isoformat()}",
        )
    if job.is_leased(now):
        assert job.lease_until is not None
        left = (job.lease_until - now).total_seconds()
        return Wait(
            min(left, recheck_seconds),
            f"{job.leased_by} holds job {job.id} until {job.lease_until.isoformat()}",
        )
    if job.status is JobStatus.PENDING and job.run_after > now:
        return Wait(
            (job.run_after - now).total_seconds(),
            f"job {job.id} runs again at {job.run_after.isoformat()}"
            + (f" after {job.error_type}" if job.error_type else ""),
        )
    return Run(job)


def task_result(job_id: str, job: Job | None) -> dict[str, Any]:
    """What a task returns for a job: JSON-ready, and never more than the job list shows.

    ``status`` is the job's status, or ``"missing"`` when the store has no such job.
    """
    if job is None:
        return {"job_id": job_id, "status": "missing"}
    return {
        "job_id": job.id,
        "tenant_id": job.tenant_id,
        "kind": job.kind.value,
        "status": job.status.value,
        "attempts": job.attempts,
        "invoice_number": job.invoice_number,
        "error_type": job.error_type,
        "error": job.last_error,
    }


def _waiting(job: Job, wait: Wait) -> dict[str, Any]:
    return {**task_result(job.id, job), "status": "waiting", "wait_seconds": wait.seconds}


# --- settings ----------------------------------------------------------------------------------


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigurationError(f"TaskOptions.{attribute.name} must be > 0, not {value!r}")


def _whole(low: int, high: int) -> Callable[[object, attrs.Attribute[int], int], None]:
    def check(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigurationError(
                f"TaskOptions.{attribute.name} must be a whole number from {low} to {high}, "
                f"not {value!r}"
            )

    return check


def _name(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value or value != value.strip():
        raise ConfigurationError(
            f"TaskOptions.{attribute.name} must be a non-empty name without surrounding "
            f"spaces, not {value!r}"
        )


def _minutes(_instance: object, attribute: attrs.Attribute[float | None], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigurationError(
            f"TaskOptions.{attribute.name} must be None or minutes > 0, not {value!r}"
        )


def _backoff(_instance: object, attribute: attrs.Attribute[Backoff], value: object) -> None:
    if not isinstance(value, Backoff):
        raise ConfigurationError(f"TaskOptions.backoff must be a Backoff, not {value!r}")


@attrs.frozen(kw_only=True)
class TaskOptions:
    """How the tasks run jobs; every value is checked when built.

    Attributes:
        job_queue: The job store queue of Celery's jobs (``Job.queue``). A built-in
            ``Worker`` sharing the store on another queue never takes them, nor they its.
        lease_seconds: How long a task holds the jobs it leased; longer than the slowest job
            (a full pull of a large organisation at 60 calls a minute). A killed worker's
            jobs are taken over once it runs out.
        batch_size: Push jobs (and refreshes) sent per request, at most 50.
        recheck_seconds: The longest a task waits before looking again at a job another
            worker holds.
        max_rounds: Batches one task runs before it makes way for other tasks (its message
            goes to the back of the queue).
        backoff: Waits between attempts of transiently failing jobs; also the wait after a
            failure of the job store itself.
        pull_every_minutes: Enqueue a payments pull of every tenant this often from
            :meth:`CeleryTasks.tick` (``None``: ``tick`` enqueues none).
        prefix: The tasks' names are ``<prefix>.run_job`` and so on.
    """

    job_queue: str = attrs.field(default="celery", validator=_name)
    lease_seconds: float = attrs.field(default=600.0, validator=_positive)
    batch_size: int = attrs.field(default=MAX_BATCH, validator=_whole(1, MAX_BATCH))
    recheck_seconds: float = attrs.field(default=5.0, validator=_positive)
    max_rounds: int = attrs.field(default=4, validator=_whole(1, 1000))
    backoff: Backoff = attrs.field(factory=Backoff, validator=_backoff)
    pull_every_minutes: float | None = attrs.field(default=None, validator=_minutes)
    prefix: str = attrs.field(default="bms_xero", validator=_name)


# --- per-process wiring ----------------------------------------------------------------------


class _PerProcess(Generic[T]):
    """A value built on first use in each process.

    Celery's prefork pool forks its children after importing the host's module: a store or
    HTTP client built before the fork would share one socket between processes, so nothing
    is built until a task (or the host) first needs it, and a child builds its own.
    """

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._value: T | None = None

    def get(self) -> T:
        pid = os.getpid()
        with self._lock:
            if self._pid != pid or self._value is None:
                self._value = self._build()
                self._pid = pid
            return self._value


class _Engines:
    """One engine per tenant per process, built by the host's factory on first use."""

    def __init__(self, engines: Callable[[str], TenantSync] | Mapping[str, TenantSync]) -> None:
        self._given = engines
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._built: dict[str, TenantSync] = {}

    def get(self, tenant_id: str) -> TenantSync:
        pid = os.getpid()
        with self._lock:
            if self._pid != pid:
                self._built, self._pid = {}, pid
            engine = self._built.get(tenant_id)
            if engine is None:
                if isinstance(self._given, Mapping):
                    engine = self._given.get(tenant_id)
                    if engine is None:
                        raise ConfigurationError(
                            f"no engine for tenant {tenant_id}: add it to the engines given "
                            "to register_tasks, or give a function tenant_id -> SyncEngine"
                        )
                else:
                    engine = self._given(tenant_id)
                if engine.tenant_id != tenant_id:
                    raise ConfigurationError(
                        f"the engine built for tenant {tenant_id} syncs tenant "
                        f"{engine.tenant_id}; build each tenant's engine with its own tenant id"
                    )
                self._built[tenant_id] = engine
            return engine


def _factory(value: object, protocol: type[Any], name: str, how: str) -> Callable[[], Any]:
    """``value`` as a factory: an instance of ``protocol`` is used as is, a callable is
    called once per process."""
    if isinstance(value, protocol):
        return lambda: value
    if callable(value):
        return value
    raise ConfigurationError(
        f"{name} must be a {protocol.__name__} or a function returning one ({how}), "
        f"not {type(value).__name__}"
    )


def _tenant_list(
    tenants: Iterable[str] | Callable[[], Iterable[str]] | None,
) -> Callable[[], list[str]]:
    if tenants is None:
        return list
    if callable(tenants):
        given = tenants

        def listed() -> list[str]:
            return _checked_tenants(given())

        return listed
    fixed = _checked_tenants(tenants)
    return lambda: list(fixed)


def _checked_tenants(tenants: Iterable[str]) -> list[str]:
    if isinstance(tenants, str):
        raise ConfigurationError(
            f"tenants must be a list of tenant ids, not the string {tenants!r}"
        )
    found = list(dict.fromkeys(tenants))
    bad = [t for t in found if not isinstance(t, str) or not t.strip()]
    if bad:
        raise ConfigurationError(f"tenant ids must be non-empty strings, not {bad[0]!r}")
    return found


# --- the tasks ---------------------------------------------------------------------------------


class CeleryTasks:
    """bms_xero's tasks on one Celery app, and the calls a host makes to queue work.

    Build it with :func:`register_tasks`. The task objects are attributes (``run_job``,
    ``push``, ``push_many``, ``pull``, ``pull_invoices``, ``link_customer``, ``drain``,
    ``tick``), so a host may also call ``xero_tasks.push.delay(tenant_id, invoice_id)`` from
    code that has only the broker; the ``enqueue_*`` methods are preferred, as they write the
    job to the store before sending anything.

    Attributes:
        app: The Celery app the tasks are registered on.
        options: How the tasks run jobs.
    """

    def __init__(
        self,
        app: Any,
        *,
        engines: Callable[[str], TenantSync] | Mapping[str, TenantSync],
        jobs: JobStore | Callable[[], JobStore],
        source: InvoiceSource | Callable[[], InvoiceSource],
        customers: CustomerSource | Callable[[], CustomerSource] | None = None,
        tenants: Iterable[str] | Callable[[], Iterable[str]] | None = None,
        queue_for: Callable[[str], str] = default_queue,
        options: TaskOptions | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not callable(getattr(app, "task", None)) or getattr(app, "conf", None) is None:
            raise ConfigurationError(
                f"app must be a Celery app (celery.Celery(...)), not {type(app).__name__}"
            )
        if not isinstance(engines, Mapping) and not callable(engines):
            raise ConfigurationError(
                "engines must be a function tenant_id -> SyncEngine (called once per tenant "
                f"in each worker process) or a mapping tenant_id -> engine, not "
                f"{type(engines).__name__}"
            )
        if not callable(queue_for):
            raise ConfigurationError("queue_for must be a function tenant_id -> queue name")
        if options is not None and not isinstance(options, TaskOptions):
            raise ConfigurationError(f"options must be a TaskOptions, not {options!r}")
        if clock is not None and not isinstance(clock, Clock):
            raise ConfigurationError(f"clock must be a bms_xero.clock.Clock, not {clock!r}")
        self.app = app
        self.options = options or TaskOptions()
        self._engines = _Engines(engines)
        self._jobs: _PerProcess[JobStore] = _PerProcess(
            _factory(jobs, JobStore, "jobs", "e.g. lambda: SQLiteJobStore('sync.db')")
        )
        self._source: _PerProcess[InvoiceSource] = _PerProcess(
            _factory(source, InvoiceSource, "source", "get(tenant_id, invoice_id)")
        )
        self._customers: _PerProcess[CustomerSource] | None = (
            None
            if customers is None
            else _PerProcess(
                _factory(customers, CustomerSource, "customers", "get_customer(tenant, id)")
            )
        )
        self._tenants = _tenant_list(tenants)
        if self.options.pull_every_minutes is not None and tenants is None:
            raise ConfigurationError(
                "TaskOptions.pull_every_minutes needs the tenants to pull: pass tenants=[...] "
                "(or a function returning them) to register_tasks"
            )
        self._queue_for = queue_for
        self._clock: Clock = clock or SystemClock()
        self.names: dict[str, str] = {n: f"{self.options.prefix}.{n}" for n in TASK_NAMES}
        with _registering:
            taken = _registered.setdefault(app, set())
            if self.options.prefix in taken:
                raise ConfigurationError(
                    f"bms_xero's tasks are already registered on this app as "
                    f"{self.options.prefix}.*; register them once (keep the CeleryTasks "
                    "register_tasks returned), or give the second set its own "
                    "TaskOptions(prefix=...)"
                )
            taken.add(self.options.prefix)
        self._register()

    def __repr__(self) -> str:
        return f"CeleryTasks(prefix={self.options.prefix!r}, job_queue={self.options.job_queue!r})"

    # --- what a host calls -----------------------------------------------------------------

    def queue_for(self, tenant_id: str) -> str:
        """The Celery queue of this tenant's tasks."""
        queue = self._queue_for(tenant_id)
        if not isinstance(queue, str) or not queue.strip():
            raise ConfigurationError(
                f"queue_for({tenant_id!r}) returned {queue!r}; it must return a queue name"
            )
        return queue

    def queues(self, tenant_ids: Iterable[str] | None = None) -> list[str]:
        """The queues a worker must consume (``celery worker -Q ...``) to serve these tenants
        (default: the ``tenants`` given to :func:`register_tasks`), plus ``tick``'s queue."""
        chosen = self._tenants() if tenant_ids is None else _checked_tenants(tenant_ids)
        default = str(self.app.conf.task_default_queue or "celery")
        return list(dict.fromkeys([*(self.queue_for(t) for t in chosen), default]))

    def enqueue_push(
        self, tenant_id: str, invoice_id: str, *, invoice_number: str | None = None
    ) -> Job:
        """Store a push of this invoice (one live job per invoice), then wake a worker.

        The job is in the store before any message is sent: if the broker is down this
        raises, but the job is kept and the next :meth:`tick` runs it.
        """
        job = self._jobs.get().enqueue_push(
            tenant_id,
            invoice_id,
            now=self._clock.now(),
            invoice_number=invoice_number,
            queue=self.options.job_queue,
        )
        self.dispatch(job)
        return job

    def enqueue_pull(
        self,
        tenant_id: str,
        *,
        invoice_id: str | None = None,
        invoice_number: str | None = None,
    ) -> Job:
        """Store a payments pull (``invoice_id=None``) or a refresh of one invoice, then wake
        a worker; refreshes of one tenant due together share one request."""
        job = self._jobs.get().enqueue_pull(
            tenant_id,
            now=self._clock.now(),
            invoice_id=invoice_id,
            invoice_number=invoice_number,
            queue=self.options.job_queue,
        )
        self.dispatch(job)
        return job

    def enqueue_link_customer(self, tenant_id: str, customer_id: str) -> Job:
        """Store linking this customer to its Xero contact, then wake a worker.

        Raises:
            ConfigurationError: No ``customers`` source was given to :func:`register_tasks`
                (nothing is stored: no task could run the job).
        """
        self._need_customers()
        job = self._jobs.get().enqueue_link_customer(
            tenant_id, customer_id, now=self._clock.now(), queue=self.options.job_queue
        )
        self.dispatch(job)
        return job

    def retry_now(self, job_id: str) -> Job | None:
        """The operator's "retry": the store's :meth:`~bms_xero.jobs.JobStore.retry_now`,
        then a message, so the job runs now rather than at the next :meth:`tick`."""
        job = self._jobs.get().retry_now(job_id, now=self._clock.now())
        if job is not None:
            self.dispatch(job)
        return job

    def retry_failed(self, *, tenant_id: str | None = None) -> list[Job]:
        """:meth:`retry_now` for every failed job (of one tenant when given)."""
        revived = self._jobs.get().retry_failed(now=self._clock.now(), tenant_id=tenant_id)
        for job in revived:
            self.dispatch(job)
        return revived

    def dispatch(self, job: Job, *, countdown: float | None = None) -> None:
        """Send ``run_job`` for a stored job, to its tenant's queue (a second message for one
        job is harmless: the first to run finishes it, the other then finds it done)."""
        self.run_job.apply_async(
            (job.tenant_id, job.id), countdown=countdown, queue=self.queue_for(job.tenant_id)
        )

    # --- registration ----------------------------------------------------------------------

    def _register(self) -> None:
        common: dict[str, Any] = {
            "bind": True,
            # A killed worker's message is delivered again; the job's lease makes that safe.
            "acks_late": True,
            "reject_on_worker_lost": True,
            # The job store counts attempts (Backoff.max_attempts); Celery never gives up.
            "max_retries": None,
            # On this app only: a shared task would be added to every app the process
            # creates (Celery's default), each bound to this app's stores.
            "shared": False,
        }
        names = self.names

        def run_job(task: Any, tenant_id: str, job_id: str) -> dict[str, Any]:
            """Run one stored job (and whatever of its tenant's work is due with it)."""
            return self._run_job(task, tenant_id, job_id)

        def push(
            task: Any, tenant_id: str, invoice_id: str, invoice_number: str | None = None
        ) -> dict[str, Any]:
            """Enqueue a push of one invoice, then run it."""
            [result] = self._enqueue_and_run(
                task,
                tenant_id,
                lambda jobs, now: [
                    jobs.enqueue_push(
                        tenant_id,
                        invoice_id,
                        now=now,
                        invoice_number=invoice_number,
                        queue=self.options.job_queue,
                    )
                ],
            )
            return result

        def push_many(task: Any, tenant_id: str, invoice_ids: list[str]) -> list[dict[str, Any]]:
            """Enqueue pushes of several invoices, then run them (50 per request)."""
            return self._enqueue_and_run(
                task,
                tenant_id,
                lambda jobs, now: [
                    jobs.enqueue_push(tenant_id, i, now=now, queue=self.options.job_queue)
                    for i in _ids(invoice_ids, "invoice_ids")
                ],
            )

        def pull(task: Any, tenant_id: str) -> dict[str, Any]:
            """Enqueue a payments pull of the tenant, then run it."""
            [result] = self._enqueue_and_run(
                task,
                tenant_id,
                lambda jobs, now: [
                    jobs.enqueue_pull(tenant_id, now=now, queue=self.options.job_queue)
                ],
            )
            return result

        def pull_invoices(
            task: Any, tenant_id: str, invoice_ids: list[str]
        ) -> list[dict[str, Any]]:
            """Enqueue refreshes of these invoices, then run them (one request)."""
            return self._enqueue_and_run(
                task,
                tenant_id,
                lambda jobs, now: [
                    jobs.enqueue_pull(
                        tenant_id, now=now, invoice_id=i, queue=self.options.job_queue
                    )
                    for i in _ids(invoice_ids, "invoice_ids")
                ],
            )

        def link_customer(task: Any, tenant_id: str, customer_id: str) -> dict[str, Any]:
            """Enqueue linking a customer to its Xero contact, then run it."""
            self._need_customers()
            [result] = self._enqueue_and_run(
                task,
                tenant_id,
                lambda jobs, now: [
                    jobs.enqueue_link_customer(
                        tenant_id, customer_id, now=now, queue=self.options.job_queue
                    )
                ],
            )
            return result

        def drain(task: Any, tenant_id: str) -> dict[str, Any]:
            """Run the tenant's due work until none is left (the safety net ``tick`` sends)."""
            return self._drain(task, tenant_id)

        def tick(task: Any) -> dict[str, Any]:
            """Enqueue due periodic pulls and send ``drain`` for every tenant."""
            return self._tick(task)

        for fn in (run_job, push, push_many, pull, pull_invoices, link_customer, drain, tick):
            task = self.app.task(name=names[fn.__name__], **common)(fn)
            setattr(self, fn.__name__, task)
        self._install_router()

    def _install_router(self) -> None:
        """Route every task that names a tenant to that tenant's queue, after the host's own
        routes (which win), so ``push.delay(tenant, ...)`` lands where the workers listen."""
        ours = frozenset(self.names[n] for n in TASK_NAMES if n != "tick")

        def route(
            name: str,
            args: Sequence[Any] | None,
            kwargs: Mapping[str, Any] | None,
            options: Mapping[str, Any],
            task: Any = None,
            **_: Any,
        ) -> dict[str, str] | None:
            if name not in ours:
                return None
            tenant = args[0] if args else (kwargs or {}).get("tenant_id")
            if not isinstance(tenant, str) or not tenant:
                return None
            return {"queue": self.queue_for(tenant)}

        existing = self.app.conf.task_routes
        if existing is None:
            routes: tuple[Any, ...] = (route,)
        elif isinstance(existing, list | tuple):
            routes = (*existing, route)
        else:
            routes = (existing, route)
        self.app.conf.task_routes = routes

    # --- running ---------------------------------------------------------------------------

    def _need_customers(self) -> None:
        if self._customers is None:
            raise ConfigurationError(
                "linking customers needs the host's customers: pass customers= (a "
                "CustomerSource, with get_customer(tenant_id, customer_id)) to register_tasks"
            )

    def _worker(self, request: Any, tenant_id: str, queues: Collection[str]) -> Worker:
        host = getattr(request, "hostname", None) or socket.gethostname()
        task_id = getattr(request, "id", None) or uuid.uuid4().hex
        return Worker(
            {tenant_id: self._engines.get(tenant_id)},
            self._jobs.get(),
            self._source.get(),
            clock=self._clock,
            worker_id=f"celery:{host}:{os.getpid()}:{task_id}",
            lease_seconds=self.options.lease_seconds,
            backoff=self.options.backoff,
            batch_size=self.options.batch_size,
            customers=None if self._customers is None else self._customers.get(),
            queues=sorted(queues),
            parallel_tenants=1,
        )

    def _steps(self, tenant_id: str, job_ids: Sequence[str]) -> dict[str, Step]:
        jobs = self._jobs.get()
        now = self._clock.now()
        parked = jobs.parked_until(tenant_id, now=now)
        steps: dict[str, Step] = {}
        for job_id in job_ids:
            job = jobs.get(job_id)
            if job is not None and job.tenant_id != tenant_id:
                raise ConfigurationError(
                    f"job {job_id} belongs to tenant {job.tenant_id}, not {tenant_id}; send "
                    "run_job(job.tenant_id, job.id) (CeleryTasks.dispatch does)"
                )
            if (
                job is not None
                and job.kind is JobKind.LINK_CUSTOMER
                and self._customers is None
                and job.status not in _FINISHED
            ):
                raise ConfigurationError(
                    f"job {job_id} links a customer, and these tasks have no customers "
                    "source: pass customers= to register_tasks"
                )
            steps[job_id] = next_step(
                job, now=now, parked_until=parked, recheck_seconds=self.options.recheck_seconds
            )
        return steps

    def _drive(self, request: Any, tenant_id: str, job_ids: Sequence[str]) -> dict[str, Step]:
        """Run batches of the tenant's due work until these jobs are no longer due (or
        ``max_rounds`` ran); every job's step is then :class:`Finished` or :class:`Wait`."""
        steps = self._steps(tenant_id, job_ids)
        for _ in range(self.options.max_rounds):
            due = [s.job for s in steps.values() if isinstance(s, Run)]
            if not due:
                return steps
            worker = self._worker(request, tenant_id, {job.queue for job in due})
            report = worker.run_pending(max_jobs=self.options.batch_size)
            steps = self._steps(tenant_id, job_ids)
            if not report.ran:
                # Due, yet nothing could be leased: another worker took it between the look
                # and the lease, or a job for the same invoice is running. Look again soon.
                return {
                    job_id: Wait(self.options.recheck_seconds, "its work is running elsewhere")
                    if isinstance(step, Run)
                    else step
                    for job_id, step in steps.items()
                }
        return {
            job_id: Wait(0.0, f"still due after {self.options.max_rounds} batches; making way")
            if isinstance(step, Run)
            else step
            for job_id, step in steps.items()
        }

    @contextmanager
    def _store_calls(self, task: Any) -> Iterator[None]:
        """Around what calls the job store (or a host factory) rather than Xero.

        Such a failure is no job's: a permanent one (a configuration mistake, a value the
        store refuses) fails the task at once; anything else (the database restarting)
        retries the task after the Backoff's wait, so no outcome is invented and the
        message is not lost.
        """
        try:
            yield
        except Exception as e:
            if classify(e) is Failure.PERMANENT:
                raise
            delay = self.options.backoff.delay(int(getattr(task.request, "retries", 0) or 0) + 1)
            log.warning("bms_xero task %s: %s; retrying in %.0f s", task.name, e, delay)
            raise task.retry(exc=e, countdown=delay, throw=False) from e

    def _run_job(self, task: Any, tenant_id: str, job_id: str) -> dict[str, Any]:
        with self._store_calls(task):
            step = self._drive(task.request, tenant_id, [job_id])[job_id]
        if isinstance(step, Wait):
            log.info("bms_xero job %s: %s; again in %.1f s", job_id, step.reason, step.seconds)
            raise task.retry(countdown=step.seconds, queue=self.queue_for(tenant_id))
        assert isinstance(step, Finished)
        return task_result(job_id, step.job)

    def _enqueue_and_run(
        self,
        task: Any,
        tenant_id: str,
        enqueue: Callable[[JobStore, datetime], list[Job]],
    ) -> list[dict[str, Any]]:
        """Store the jobs (deduplicated by the store), run them here, and hand any that must
        wait to ``run_job`` with a countdown (retrying this task would enqueue again)."""
        with self._store_calls(task):
            created = enqueue(self._jobs.get(), self._clock.now())
            steps = self._drive(task.request, tenant_id, [job.id for job in created])
        results = []
        for job in created:
            step = steps[job.id]
            if isinstance(step, Wait):
                self.dispatch(job, countdown=step.seconds)
                results.append(_waiting(job, step))
            else:
                assert isinstance(step, Finished)
                results.append(task_result(job.id, step.job))
        return results

    def _drain(self, task: Any, tenant_id: str) -> dict[str, Any]:
        ran = 0
        with self._store_calls(task):
            for _ in range(self.options.max_rounds):
                worker = self._worker(task.request, tenant_id, [self.options.job_queue])
                report = worker.run_pending(max_jobs=self.options.batch_size)
                if not report.ran:
                    return {"tenant_id": tenant_id, "ran": ran}
                ran += report.ran
        raise task.retry(countdown=0.0, queue=self.queue_for(tenant_id))

    def _tick(self, task: Any) -> dict[str, Any]:
        with self._store_calls(task):
            tenants = self._tenants()
            pulls: list[Job] = []
            if tenants and self.options.pull_every_minutes is not None:
                schedule = PullSchedule(
                    self._jobs.get(),
                    tenants,
                    every_minutes=self.options.pull_every_minutes,
                    clock=self._clock,
                    queue=self.options.job_queue,
                )
                pulls = schedule.enqueue_due()
        for job in pulls:
            self.dispatch(job)
        for tenant in tenants:
            self.drain.apply_async((tenant,), queue=self.queue_for(tenant))
        return {"tenants": len(tenants), "pulls": [job.id for job in pulls]}

    # Set by _register (Celery task objects; Celery ships no types).
    run_job: Any
    push: Any
    push_many: Any
    pull: Any
    pull_invoices: Any
    link_customer: Any
    drain: Any
    tick: Any


def _ids(values: object, name: str) -> list[str]:
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise ConfigurationError(f"{name} must be a list of ids, not {values!r}")
    return list(values)


def register_tasks(
    app: Any,
    *,
    engines: Callable[[str], TenantSync] | Mapping[str, TenantSync],
    jobs: JobStore | Callable[[], JobStore],
    source: InvoiceSource | Callable[[], InvoiceSource],
    customers: CustomerSource | Callable[[], CustomerSource] | None = None,
    tenants: Iterable[str] | Callable[[], Iterable[str]] | None = None,
    queue_for: Callable[[str], str] = default_queue,
    options: TaskOptions | None = None,
    clock: Clock | None = None,
) -> CeleryTasks:
    """Register bms_xero's tasks on the host's Celery ``app``; returns the handle.

    Nothing is built and nothing is sent here: stores, sources and engines are built on first
    use in each worker process (Celery forks its pool after importing this module), so give
    factories for anything that holds a connection.

    Args:
        app: The host's ``celery.Celery`` app.
        engines: A function ``tenant_id -> SyncEngine`` (called once per tenant in each
            process), or a mapping ``tenant_id -> engine``. Build each engine's client on
            the shared rate budget, so every process keeps inside Xero's limits together.
        jobs: The job store (a factory, or an instance), e.g. ``PostgresJobStore``.
        source: The host's :class:`~bms_xero.jobs.InvoiceSource` (a factory or instance).
        customers: The host's :class:`~bms_xero.jobs.CustomerSource`, for
            ``link_customer``.
        tenants: The tenants served (a list, or a function returning it), for :meth:`tick`
            and :meth:`CeleryTasks.queues`.
        queue_for: The Celery queue of a tenant's tasks (default :func:`default_queue`).
        options: How the tasks run jobs (:class:`TaskOptions`).
        clock: The time (default: the system clock).

    Raises:
        ConfigurationError: An argument is unusable (before anything is registered).
    """
    return CeleryTasks(
        app,
        engines=engines,
        jobs=jobs,
        source=source,
        customers=customers,
        tenants=tenants,
        queue_for=queue_for,
        options=options,
        clock=clock,
    )
