"""bms_xero's Celery tasks: the pure decision, routing, and task bodies as a worker runs them.

Task bodies run the way a Celery worker runs them (a request pushed, then ``task.run``), on a
FakeXero with a fake clock and kombu's in-memory broker, so every reschedule can be read back
as the message it sent. The last class runs the tasks in a real Celery worker on Redis.
"""

from __future__ import annotations

import itertools
import json
import os
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.services import require_celery, require_redis

require_celery()

from celery import Celery  # noqa: E402  (after the module-level check)
from celery.exceptions import Retry  # noqa: E402

from bms_xero.clock import SystemClock  # noqa: E402
from bms_xero.domain import Customer, Invoice  # noqa: E402
from bms_xero.engine import PaymentUpdate, PushFailure, PushOutcome, SyncEngine  # noqa: E402
from bms_xero.errors import (  # noqa: E402
    BmsXeroError,
    ConfigurationError,
    DailyLimitReached,
    RateLimited,
    StorageValueError,
    XeroUnavailable,
)
from bms_xero.integrations.celery import (  # noqa: E402
    TASK_NAMES,
    CeleryTasks,
    Finished,
    Run,
    TaskOptions,
    Wait,
    default_queue,
    next_step,
    register_tasks,
)
from bms_xero.jobs import (  # noqa: E402
    Backoff,
    Job,
    JobKind,
    JobStatus,
    JobStore,
    MemoryInvoiceSource,
    MemoryJobStore,
)
from bms_xero.storage import MemoryStore  # noqa: E402
from bms_xero.testing import FakeXero  # noqa: E402
from bms_xero.xero import RetryPolicy  # noqa: E402
from tests.jobs.conftest import configure, contact_of, invoice, numbers_in_xero  # noqa: E402

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
EXACT = Backoff(base=30, factor=2, max_delay=3600, max_attempts=3, jitter=False)


def job(**changes: Any) -> Job:
    """A pending push job due at NOW, with ``changes``."""
    values: dict[str, Any] = {
        "id": "j1",
        "tenant_id": "t1",
        "kind": JobKind.PUSH,
        "invoice_id": "I-1",
        "run_after": NOW,
        "created_at": NOW,
        "updated_at": NOW,
        "queue": "celery",
    }
    return Job(**{**values, **changes})


# --- the decision --------------------------------------------------------------------------------


class TestNextStep:
    def test_no_such_job_is_finished(self) -> None:
        """A message for a job the store does not have (purged) ends its task."""
        assert Finished(None) == next_step(None, now=NOW, parked_until=None, recheck_seconds=5)

    @pytest.mark.parametrize(
        "status",
        [JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.SUPERSEDED],
        ids=str,
    )
    def test_a_finished_job_ends_the_task(self, status: JobStatus) -> None:
        """Done, failed, cancelled and superseded jobs never change on their own: the task
        ends (a failed job waits for a person, whose retry sends a new message)."""
        finished = job(status=status)
        assert Finished(finished) == next_step(
            finished, now=NOW, parked_until=None, recheck_seconds=5
        )

    def test_a_due_job_runs(self) -> None:
        """A pending job whose time has come runs now."""
        due = job(run_after=NOW - timedelta(seconds=1))
        assert Run(due) == next_step(due, now=NOW, parked_until=None, recheck_seconds=5)

    def test_a_retry_time_ahead_waits_exactly_until_then(self) -> None:
        """A job retrying at a later time (a backoff, a 429's Retry-After) reschedules its
        task to exactly then."""
        later = job(run_after=NOW + timedelta(seconds=300), error_type="RateLimited")
        step = next_step(later, now=NOW, parked_until=None, recheck_seconds=5)
        assert isinstance(step, Wait)
        assert (300.0, True) == (step.seconds, "RateLimited" in step.reason)

    def test_a_parked_tenant_waits_until_the_park_ends(self) -> None:
        """Even a due job waits while its tenant is parked for Xero's day limit."""
        step = next_step(job(), now=NOW, parked_until=NOW + timedelta(hours=2), recheck_seconds=5)
        assert isinstance(step, Wait)
        assert 7200.0 == step.seconds

    def test_a_park_that_ended_does_not_hold_the_job(self) -> None:
        """A park already over is no reason to wait."""
        due = job()
        assert Run(due) == next_step(
            due, now=NOW, parked_until=NOW - timedelta(seconds=1), recheck_seconds=5
        )

    def test_a_live_lease_is_looked_at_again_after_recheck_seconds(self) -> None:
        """A job another worker holds is looked at again after recheck_seconds, not only
        when the lease runs out: that worker usually finishes in seconds."""
        held = job(
            status=JobStatus.LEASED, leased_by="w2", lease_until=NOW + timedelta(seconds=600)
        )
        step = next_step(held, now=NOW, parked_until=None, recheck_seconds=5)
        assert isinstance(step, Wait)
        assert (5.0, True) == (step.seconds, "w2" in step.reason)

    def test_a_lease_ending_sooner_is_waited_out_exactly(self) -> None:
        """A lease that runs out before recheck_seconds is waited on only until then."""
        held = job(status=JobStatus.LEASED, leased_by="w2", lease_until=NOW + timedelta(seconds=2))
        step = next_step(held, now=NOW, parked_until=None, recheck_seconds=5)
        assert isinstance(step, Wait)
        assert 2.0 == step.seconds

    def test_a_lease_that_ran_out_is_taken_over(self) -> None:
        """A job whose worker died (its lease ran out) runs here now."""
        dead = job(status=JobStatus.LEASED, leased_by="w2", lease_until=NOW, attempts=1)
        assert Run(dead) == next_step(dead, now=NOW, parked_until=None, recheck_seconds=5)


class TestOptions:
    @pytest.mark.parametrize(
        "kwargs",
        [
            {"batch_size": 51},
            {"batch_size": 0},
            {"lease_seconds": 0},
            {"lease_seconds": True},
            {"recheck_seconds": -1},
            {"max_rounds": 0},
            {"job_queue": ""},
            {"job_queue": " celery"},
            {"prefix": ""},
            {"pull_every_minutes": 0},
            {"backoff": 30},
        ],
        ids=str,
    )
    def test_bad_options_are_refused(self, kwargs: dict[str, Any]) -> None:
        """Every option is checked when TaskOptions is built, naming the option."""
        with pytest.raises(ConfigurationError) as refused:
            TaskOptions(**kwargs)
        assert f"TaskOptions.{next(iter(kwargs))}" in str(refused.value)

    def test_a_negative_wait_is_refused(self) -> None:
        """A Wait can't go back in time."""
        with pytest.raises(ConfigurationError):
            Wait(-1.0, "never")


# --- fixtures ------------------------------------------------------------------------------------


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

    def link_customer(self, customer: Customer) -> Customer:
        raise self.error


class FailsFirstPush:
    """An engine whose first push fails as if the organisation were offline (503)."""

    def __init__(self, engine: SyncEngine) -> None:
        self.engine = engine
        self.tenant_id = engine.tenant_id
        self.failed = False

    def push_many(self, invoices: Iterable[Invoice]) -> list[PushOutcome]:
        if self.failed:
            return self.engine.push_many(invoices)
        self.failed = True
        offline = XeroUnavailable("The Organisation is offline", status_code=503)
        return ScriptedEngine(self.tenant_id, offline).push_many(invoices)

    def pull(self) -> list[PaymentUpdate]:
        return self.engine.pull()

    def pull_invoices(self, invoice_ids: Iterable[str]) -> list[PaymentUpdate]:
        return self.engine.pull_invoices(invoice_ids)

    def link_customer(self, customer: Customer) -> Customer:
        return self.engine.link_customer(customer)


class Customers:
    """The host's customers, by id."""

    def __init__(self, *customers: Customer) -> None:
        self.by_id = {c.id: c for c in customers}

    def get_customer(self, tenant_id: str, customer_id: str) -> Customer | None:
        return self.by_id.get(customer_id)


@pytest.fixture(name="app")
def _app() -> Iterator[Celery]:
    """A Celery app on kombu's in-memory broker (messages stay in this process)."""
    app = Celery(f"bms-xero-test-{uuid.uuid4().hex[:8]}", broker="memory://", set_as_current=False)
    app.conf.broker_connection_retry_on_startup = True
    yield app
    app.close()


@pytest.fixture(name="xero")
def _xero() -> FakeXero:
    """A FakeXero (fake clock) with a revenue account, a tax rate and one contact."""
    xero = FakeXero(seed=11)
    configure(xero, xero.tenant_id)
    return xero


@pytest.fixture(name="jobs")
def _jobs() -> MemoryJobStore:
    """The job store the tasks and the test share."""
    numbers = itertools.count(1)
    return MemoryJobStore(new_id=lambda: f"job-{next(numbers)}")


@pytest.fixture(name="source")
def _source() -> MemoryInvoiceSource:
    """The BMS's invoices."""
    return MemoryInvoiceSource()


@pytest.fixture(name="prefix")
def _prefix() -> str:
    """A queue prefix of this test's own: the in-memory broker is shared by the process."""
    return f"q{uuid.uuid4().hex[:8]}"


TasksFactory = Callable[..., CeleryTasks]


@pytest.fixture(name="make_tasks")
def _make_tasks(
    app: Celery, xero: FakeXero, jobs: MemoryJobStore, source: MemoryInvoiceSource, prefix: str
) -> TasksFactory:
    """register_tasks on the test app: real engines on the fake unless told otherwise."""
    store = MemoryStore()

    def engine(tenant_id: str) -> SyncEngine:
        return SyncEngine(
            client=xero.client(tenant_id, retry=RetryPolicy.none()),
            store=store,
            tax_map={"GST15": "OUTPUT2"},
            clock=xero.clock,
        )

    def make(**kwargs: Any) -> CeleryTasks:
        settings: dict[str, Any] = {
            "engines": engine,
            "jobs": jobs,
            "source": source,
            "clock": xero.clock,
            "queue_for": lambda tenant: f"{prefix}.{tenant}",
            "options": TaskOptions(backoff=EXACT),
        }
        settings.update(kwargs)
        return register_tasks(app, **settings)

    return make


def run(task: Any, *args: Any, retries: int = 0) -> Any:
    """Run ``task`` as a worker does: with a request for this delivery, then its body."""
    task.push_request(
        id=f"task-{uuid.uuid4().hex[:8]}",
        args=list(args),
        kwargs={},
        retries=retries,
        hostname="test-worker",
        delivery_info={},
        called_directly=False,
    )
    try:
        return task.run(*args)
    finally:
        task.pop_request()


def taken(app: Celery, queue: str) -> list[tuple[str, list[Any], bool]]:
    """The messages waiting on ``queue`` as (task name, args, has an eta), taken off it."""
    found = []
    with app.connection_for_read() as connection:
        waiting = connection.SimpleQueue(queue)
        try:
            while True:
                try:
                    message = waiting.get(block=False)
                except waiting.Empty:
                    return found
                found.append(
                    (
                        message.headers["task"],
                        list(message.payload[0]),
                        bool(message.headers["eta"]),
                    )
                )
                message.ack()
        finally:
            waiting.close()


def statuses(jobs: JobStore, queued: Iterable[Job]) -> list[JobStatus | None]:
    """Each job's status in the store now (``None``: gone)."""
    return [None if (j := jobs.get(q.id)) is None else j.status for q in queued]


def drop_keys(url: str, prefix: str) -> None:
    """Delete the Redis keys a test made under its prefix."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            client.delete(key)
    finally:
        client.close()


def release(jobs: JobStore, xero: FakeXero, source: MemoryInvoiceSource, n: int) -> Job:
    """Put invoice ``n`` in the BMS and store its push job on Celery's job queue."""
    source.put(invoice(n, contact_of(xero)))
    return jobs.enqueue_push(xero.tenant_id, f"I-{n}", now=xero.clock.now(), queue="celery")


# --- registration and routing ----------------------------------------------------------------


class TestRegistration:
    def test_every_task_is_registered_acks_late_and_redelivered_when_its_worker_dies(
        self, app: Celery, make_tasks: TasksFactory
    ) -> None:
        """Each task is on the host's app, acknowledged only after it ran, requeued when its
        worker process is killed, and never given up by Celery (the store counts attempts)."""
        make_tasks()
        expected = [(f"bms_xero.{n}", True, True, None) for n in TASK_NAMES]
        actual = [
            (t.name, t.acks_late, t.reject_on_worker_lost, t.max_retries)
            for t in (app.tasks[f"bms_xero.{n}"] for n in TASK_NAMES)
        ]
        assert expected == actual

    def test_a_prefix_keeps_two_registrations_apart(
        self, app: Celery, make_tasks: TasksFactory
    ) -> None:
        """Two setups on one app (two BMS databases, say) get tasks of their own."""
        make_tasks()
        make_tasks(options=TaskOptions(prefix="other_bms"))
        assert {"bms_xero.push", "other_bms.push"} <= set(app.tasks)

    def test_registering_twice_under_one_prefix_is_refused(
        self, app: Celery, make_tasks: TasksFactory
    ) -> None:
        """A second registration under the same names would be ignored by Celery (its tasks
        bound to the first setup's stores), so it is refused, saying how to have two."""
        make_tasks()
        with pytest.raises(ConfigurationError, match=r"TaskOptions\(prefix=\.\.\.\)"):
            make_tasks()

    def test_not_a_celery_app_is_refused(self, source: MemoryInvoiceSource) -> None:
        """Passing something that is not a Celery app fails before anything is registered."""
        with pytest.raises(ConfigurationError, match="must be a Celery app"):
            register_tasks(object(), engines={}, jobs=MemoryJobStore(), source=source)

    @pytest.mark.parametrize(
        ("kwargs", "words"),
        [
            ({"engines": "engine"}, "engines must be a function"),
            ({"jobs": 42}, "jobs must be a JobStore or a function"),
            ({"queue_for": "bms_xero"}, "queue_for must be a function"),
            ({"options": {"batch_size": 10}}, "options must be a TaskOptions"),
            ({"clock": "now"}, "clock must be a bms_xero.clock.Clock"),
            ({"tenants": "t1"}, "a list of tenant ids"),
            ({"tenants": ["t1", ""]}, "non-empty strings"),
            (
                {"options": TaskOptions(pull_every_minutes=30)},
                "pull_every_minutes needs the tenants",
            ),
        ],
        ids=lambda v: v if isinstance(v, str) else None,
    )
    def test_unusable_arguments_are_refused(
        self, make_tasks: TasksFactory, kwargs: dict[str, Any], words: str
    ) -> None:
        """Each unusable argument is a ConfigurationError saying what to pass instead."""
        with pytest.raises(ConfigurationError, match=words):
            make_tasks(**kwargs)


class TestRouting:
    def test_a_tenants_tasks_go_to_its_queue(self, app: Celery, make_tasks: TasksFactory) -> None:
        """``push.delay(tenant, ...)`` and friends are routed by their tenant argument
        (positional or keyword) to the default bms_xero.<tenant> queue."""
        make_tasks(queue_for=default_queue)
        router = app.amqp.router
        queues = [
            router.route({}, "bms_xero.push", ("t1", "I-1"), {})["queue"].name,
            router.route({}, "bms_xero.run_job", (), {"tenant_id": "t2", "job_id": "j"})[
                "queue"
            ].name,
            router.route({}, "bms_xero.drain", ("t3",), {})["queue"].name,
        ]
        assert ["bms_xero.t1", "bms_xero.t2", "bms_xero.t3"] == queues

    def test_the_hosts_own_routes_win(self, app: Celery, make_tasks: TasksFactory) -> None:
        """A route the host configured for one of the tasks is kept and applies first."""
        app.conf.task_routes = {"bms_xero.pull": {"queue": "slow-pulls"}}
        make_tasks(queue_for=default_queue)
        router = app.amqp.router
        assert ("slow-pulls", "bms_xero.t1") == (
            router.route({}, "bms_xero.pull", ("t1",), {})["queue"].name,
            router.route({}, "bms_xero.push", ("t1", "I-1"), {})["queue"].name,
        )

    def test_tick_and_other_tasks_keep_the_default_queue(
        self, app: Celery, make_tasks: TasksFactory
    ) -> None:
        """``tick`` names no tenant, so it goes where the app's default queue is."""
        make_tasks()
        assert "celery" == app.amqp.router.route({}, "bms_xero.tick", (), {})["queue"].name

    def test_queues_lists_what_a_worker_must_consume(self, make_tasks: TasksFactory) -> None:
        """``queues()`` is the -Q list: every tenant's queue, then the default one."""
        tasks = make_tasks(queue_for=default_queue, tenants=["t1", "t2", "t1"])
        assert ["bms_xero.t1", "bms_xero.t2", "celery"] == tasks.queues()

    def test_a_queue_for_that_returns_no_name_is_refused(self, make_tasks: TasksFactory) -> None:
        """A host routing function returning nothing usable fails naming the tenant."""
        tasks = make_tasks(queue_for=lambda tenant: "")
        with pytest.raises(ConfigurationError, match=r"queue_for\('t1'\)"):
            tasks.queue_for("t1")


# --- running jobs ----------------------------------------------------------------------------


class TestRunning:
    def test_run_job_pushes_the_invoice_and_returns_the_outcome(
        self, make_tasks: TasksFactory, jobs: JobStore, xero: FakeXero, source: MemoryInvoiceSource
    ) -> None:
        """run_job runs the stored job through the worker rules: done, in Xero once."""
        tasks = make_tasks()
        pending = release(jobs, xero, source, 1)
        result = run(tasks.run_job, xero.tenant_id, pending.id)
        assert ("done", "INV-0001", None) == (
            result["status"],
            result["invoice_number"],
            result["error_type"],
        )
        assert ["INV-0001"] == numbers_in_xero(xero)

    def test_a_second_message_for_a_finished_job_sends_nothing(
        self, make_tasks: TasksFactory, jobs: JobStore, xero: FakeXero, source: MemoryInvoiceSource
    ) -> None:
        """A message delivered twice (redelivery after a lost ack) finds the job done and
        sends nothing to Xero."""
        tasks = make_tasks()
        pending = release(jobs, xero, source, 1)
        run(tasks.run_job, xero.tenant_id, pending.id)
        before = len(xero.requests)
        again = run(tasks.run_job, xero.tenant_id, pending.id)
        assert ("done", before) == (again["status"], len(xero.requests))

    def test_one_message_runs_the_tenants_due_pushes_in_one_request(
        self, make_tasks: TasksFactory, jobs: JobStore, xero: FakeXero, source: MemoryInvoiceSource
    ) -> None:
        """The first message of a backlog leases its tenant's due pushes together (one PUT);
        the other jobs' messages then find them done."""
        tasks = make_tasks()
        first, *others = [release(jobs, xero, source, n) for n in (1, 2, 3)]
        run(tasks.run_job, xero.tenant_id, first.id)
        results = [run(tasks.run_job, xero.tenant_id, j.id)["status"] for j in others]
        assert (["done", "done"], 1) == (results, xero.count_requests("PUT", "/Invoices"))

    def test_push_stores_the_job_on_the_celery_queue_and_runs_it(
        self, make_tasks: TasksFactory, jobs: JobStore, xero: FakeXero, source: MemoryInvoiceSource
    ) -> None:
        """The push task enqueues (so the job is on the Background Jobs list) and runs it."""
        tasks = make_tasks()
        source.put(invoice(1, contact_of(xero)))
        result = run(tasks.push, xero.tenant_id, "I-1", "INV-0001")
        stored = jobs.get(result["job_id"])
        assert stored is not None
        assert ("done", "celery", ["INV-0001"]) == (
            stored.status.value,
            stored.queue,
            numbers_in_xero(xero),
        )

    def test_push_many_sends_one_request(
        self, make_tasks: TasksFactory, xero: FakeXero, source: MemoryInvoiceSource
    ) -> None:
        """push_many pushes several invoices in one PUT, one outcome each, in order."""
        tasks = make_tasks()
        for n in (1, 2, 3):
            source.put(invoice(n, contact_of(xero)))
        results = run(tasks.push_many, xero.tenant_id, ["I-1", "I-2", "I-3"])
        assert (["INV-0001", "INV-0002", "INV-0003"], ["done"] * 3, 1) == (
            [r["invoice_number"] for r in results],
            [r["status"] for r in results],
            xero.count_requests("PUT", "/Invoices"),
        )

    def test_pull_and_pull_invoices_run_their_jobs(
        self, make_tasks: TasksFactory, xero: FakeXero, source: MemoryInvoiceSource
    ) -> None:
        """The pull task pulls the tenant; pull_invoices refreshes the invoices it names."""
        tasks = make_tasks()
        source.put(invoice(1, contact_of(xero)))
        run(tasks.push, xero.tenant_id, "I-1")
        pulled = run(tasks.pull, xero.tenant_id)
        refreshed = run(tasks.pull_invoices, xero.tenant_id, ["I-1"])
        assert (("pull", "done"), [("pull_invoices", "done")]) == (
            (pulled["kind"], pulled["status"]),
            [(r["kind"], r["status"]) for r in refreshed],
        )

    def test_link_customer_links_the_hosts_customer(
        self, make_tasks: TasksFactory, xero: FakeXero
    ) -> None:
        """link_customer finds or creates the Xero contact of the host's customer."""
        tasks = make_tasks(customers=Customers(Customer(id="C-9", name="Beta Ltd")))
        result = run(tasks.link_customer, xero.tenant_id, "C-9")
        assert ("done", ["Acme Ltd", "Beta Ltd"]) == (
            result["status"],
            sorted(str(c["Name"]) for c in xero.contacts()),
        )

    def test_linking_without_a_customer_source_is_refused_before_anything_is_stored(
        self, make_tasks: TasksFactory, jobs: JobStore, xero: FakeXero
    ) -> None:
        """Without customers= no task could run a link job, so none is stored."""
        tasks = make_tasks()
        with pytest.raises(ConfigurationError, match="customers="):
            tasks.enqueue_link_customer(xero.tenant_id, "C-9")
        assert [] == jobs.list_jobs()

    def test_a_job_of_another_tenant_is_refused(
        self, make_tasks: TasksFactory, jobs: JobStore, xero: FakeXero, source: MemoryInvoiceSource
    ) -> None:
        """run_job(tenant, job) for a job of another tenant fails the task (a host bug),
        running nothing."""
        tasks = make_tasks()
        pending = release(jobs, xero, source, 1)
        with pytest.raises(ConfigurationError, match="belongs to tenant"):
            run(tasks.run_job, "another-tenant", pending.id)
        assert [] == numbers_in_xero(xero)


class TestRescheduling:
    def test_a_minute_429_reschedules_the_task_to_xeros_retry_after(
        self,
        app: Celery,
        make_tasks: TasksFactory,
        jobs: JobStore,
        xero: FakeXero,
        source: MemoryInvoiceSource,
        prefix: str,
    ) -> None:
        """A minute 429 records the attempt and retries the task with countdown =
        Retry-After, on the tenant's queue: no worker sleeps."""
        limited = ScriptedEngine(
            xero.tenant_id, RateLimited("slow down", problem="minute", retry_after=300)
        )
        tasks = make_tasks(engines={xero.tenant_id: limited})
        pending = release(jobs, xero, source, 1)
        with pytest.raises(Retry) as retry:
            run(tasks.run_job, xero.tenant_id, pending.id)
        waiting = jobs.get(pending.id)
        assert waiting is not None
        assert (300.0, JobStatus.PENDING, 1, "RateLimited") == (
            retry.value.when,
            waiting.status,
            waiting.attempts,
            waiting.error_type,
        )
        assert [("bms_xero.run_job", [xero.tenant_id, pending.id], True)] == taken(
            app, f"{prefix}.{xero.tenant_id}"
        )

    def test_a_day_limit_parks_the_tenant_and_waits_for_the_reset(
        self, make_tasks: TasksFactory, jobs: JobStore, xero: FakeXero, source: MemoryInvoiceSource
    ) -> None:
        """A day-limit 429 parks the tenant until Xero's reset, gives the attempt back and
        reschedules the task to the reset; another job of the tenant waits as long without
        anything being sent."""
        resets = xero.clock.now() + timedelta(hours=2)
        parked = ScriptedEngine(xero.tenant_id, DailyLimitReached(resets_at=resets))
        tasks = make_tasks(engines={xero.tenant_id: parked})
        first = release(jobs, xero, source, 1)
        with pytest.raises(Retry) as retry:
            run(tasks.run_job, xero.tenant_id, first.id)
        second = release(jobs, xero, source, 2)
        with pytest.raises(Retry) as later:
            run(tasks.run_job, xero.tenant_id, second.id)
        released = jobs.get(first.id)
        assert released is not None
        assert (7200.0, 7200.0, 0, resets) == (
            retry.value.when,
            later.value.when,
            released.attempts,
            jobs.parked_until(xero.tenant_id, now=xero.clock.now()),
        )

    def test_a_transient_failure_retries_with_backoff_then_gives_up(
        self, make_tasks: TasksFactory, jobs: JobStore, xero: FakeXero, source: MemoryInvoiceSource
    ) -> None:
        """A 503 to a create (an uncertain write: transient) retries after the Backoff's
        waits (30 s, 60 s); after max_attempts the job fails and the task returns that, with
        the typed error recorded."""
        tasks = make_tasks()
        xero.inject("offline_503", method="PUT", path="/Invoices", times=None)
        pending = release(jobs, xero, source, 1)
        waits = []
        for _ in range(2):
            with pytest.raises(Retry) as retry:
                run(tasks.run_job, xero.tenant_id, pending.id)
            waits.append(retry.value.when)
            xero.clock.advance(retry.value.when)
        result = run(tasks.run_job, xero.tenant_id, pending.id)
        assert ([30.0, 60.0], "failed", "UncertainOutcome", 3) == (
            waits,
            result["status"],
            result["error_type"],
            result["attempts"],
        )
        assert result["error"].startswith("gave up after 3 attempts: invoice INV-0001:")

    def test_a_permanent_failure_fails_the_job_at_once(
        self, make_tasks: TasksFactory, jobs: JobStore, xero: FakeXero, source: MemoryInvoiceSource
    ) -> None:
        """An unmapped tax code fails the job at once (no retry), keeping the typed error;
        nothing reaches Xero."""
        tasks = make_tasks()
        source.put(invoice(1, contact_of(xero), tax_code="GST99"))
        pending = jobs.enqueue_push(xero.tenant_id, "I-1", now=xero.clock.now(), queue="celery")
        result = run(tasks.run_job, xero.tenant_id, pending.id)
        assert ("failed", "TaxCodeError", 1, []) == (
            result["status"],
            result["error_type"],
            result["attempts"],
            numbers_in_xero(xero),
        )

    def test_a_job_another_worker_holds_is_looked_at_again_then_taken_over(
        self, make_tasks: TasksFactory, jobs: JobStore, xero: FakeXero, source: MemoryInvoiceSource
    ) -> None:
        """While another worker's lease is live the task comes back after recheck_seconds;
        once that worker is gone (its lease ran out) the task runs the job itself."""
        tasks = make_tasks()
        pending = release(jobs, xero, source, 1)
        jobs.lease(worker_id="dead-worker", now=xero.clock.now(), lease_seconds=8, limit=1)
        with pytest.raises(Retry) as first:
            run(tasks.run_job, xero.tenant_id, pending.id)
        xero.clock.advance(first.value.when)
        with pytest.raises(Retry) as second:
            run(tasks.run_job, xero.tenant_id, pending.id)
        xero.clock.advance(second.value.when)
        result = run(tasks.run_job, xero.tenant_id, pending.id)
        assert ([5.0, 3.0], "done", 2, ["INV-0001"]) == (
            [first.value.when, second.value.when],
            result["status"],
            result["attempts"],
            numbers_in_xero(xero),
        )

    def test_a_push_that_must_wait_is_handed_to_run_job(
        self,
        app: Celery,
        make_tasks: TasksFactory,
        xero: FakeXero,
        source: MemoryInvoiceSource,
        prefix: str,
    ) -> None:
        """The push task does not retry itself (that would enqueue again): a job that must
        wait goes to run_job with a countdown, on the tenant's queue."""
        limited = ScriptedEngine(
            xero.tenant_id, RateLimited("slow down", problem="minute", retry_after=120)
        )
        tasks = make_tasks(engines={xero.tenant_id: limited})
        source.put(invoice(1, contact_of(xero)))
        result = run(tasks.push, xero.tenant_id, "I-1")
        assert ("waiting", 120.0) == (result["status"], result["wait_seconds"])
        assert [("bms_xero.run_job", [xero.tenant_id, result["job_id"]], True)] == taken(
            app, f"{prefix}.{xero.tenant_id}"
        )

    def test_a_failing_job_store_retries_the_task_later(
        self, make_tasks: TasksFactory, xero: FakeXero
    ) -> None:
        """When the job store itself fails (a database restarting), the task is retried
        after the Backoff's wait; no job outcome is invented."""

        class Down(MemoryJobStore):
            def get(self, job_id: str) -> Job | None:
                raise OSError("connection refused")

        tasks = make_tasks(jobs=Down())
        with pytest.raises(Retry) as retry:
            run(tasks.run_job, xero.tenant_id, "job-1", retries=1)
        assert 60.0 == retry.value.when

    def test_a_value_the_store_refuses_fails_the_task(
        self, make_tasks: TasksFactory, xero: FakeXero
    ) -> None:
        """An argument the store refuses (an empty invoice id) fails the task at once:
        retrying it could never work."""
        tasks = make_tasks()
        with pytest.raises(StorageValueError):
            run(tasks.push, xero.tenant_id, "")


# --- what a host calls ---------------------------------------------------------------------------


class TestHostCalls:
    def test_enqueue_push_stores_the_job_then_sends_run_job_to_the_tenants_queue(
        self, app: Celery, make_tasks: TasksFactory, jobs: JobStore, xero: FakeXero, prefix: str
    ) -> None:
        """The job is on the Background Jobs list as soon as enqueue_push returns, and one
        run_job message for it waits on the tenant's queue."""
        tasks = make_tasks()
        queued = tasks.enqueue_push(xero.tenant_id, "I-1", invoice_number="INV-0001")
        listed = [(j.id, j.description, j.queue) for j in jobs.list_jobs()]
        assert [(queued.id, "Push invoice INV-0001 to Xero", "celery")] == listed
        assert [("bms_xero.run_job", [xero.tenant_id, queued.id], False)] == taken(
            app, f"{prefix}.{xero.tenant_id}"
        )

    def test_an_operators_retry_sends_the_job_again(
        self,
        app: Celery,
        make_tasks: TasksFactory,
        jobs: JobStore,
        xero: FakeXero,
        source: MemoryInvoiceSource,
        prefix: str,
    ) -> None:
        """retry_now (the Background Jobs page's button) revives a failed job and wakes a
        worker for it; run, it succeeds once the cause is fixed."""
        tasks = make_tasks()
        source.put(invoice(1, contact_of(xero), tax_code="GST99"))
        failed = run(tasks.push, xero.tenant_id, "I-1")
        source.put(invoice(1, contact_of(xero)))
        revived = tasks.retry_now(failed["job_id"])
        assert revived is not None
        messages = taken(app, f"{prefix}.{xero.tenant_id}")
        result = run(tasks.run_job, *messages[0][1])
        assert (
            "failed",
            [("bms_xero.run_job", [xero.tenant_id, revived.id], False)],
            "done",
        ) == (failed["status"], messages, result["status"])


class TestTick:
    def test_tick_enqueues_due_pulls_and_drains_every_tenant(
        self,
        app: Celery,
        make_tasks: TasksFactory,
        jobs: JobStore,
        xero: FakeXero,
        source: MemoryInvoiceSource,
        prefix: str,
    ) -> None:
        """tick (Celery beat) enqueues each tenant's due pull and sends drain to each
        tenant's queue; drain then runs due work no message was sent for."""
        second = xero.add_tenant(name="Second Ltd")
        configure(xero, second)
        tasks = make_tasks(
            tenants=[xero.tenant_id, second],
            options=TaskOptions(backoff=EXACT, pull_every_minutes=30),
        )
        orphan = release(jobs, xero, source, 1)  # stored, but its message was lost
        ticked = run(tasks.tick)
        first_queue = taken(app, f"{prefix}.{xero.tenant_id}")
        taken(app, f"{prefix}.{second}")
        drained = run(tasks.drain, xero.tenant_id)
        done = jobs.get(orphan.id)
        assert done is not None
        assert (2, ["bms_xero.run_job", "bms_xero.drain"], JobStatus.DONE) == (
            len(ticked["pulls"]),
            [name for name, _, _ in first_queue],
            done.status,
        )
        assert (xero.tenant_id, 2) == (drained["tenant_id"], drained["ran"])


class TestPerProcess:
    @pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")
    def test_a_forked_child_builds_its_own_job_store(self, make_tasks: TasksFactory) -> None:
        """Celery's prefork children never use the parent's store (or its connections):
        the factory runs once in the parent and once more in a forked child."""
        built: list[int] = []

        def factory() -> JobStore:
            built.append(os.getpid())
            return MemoryJobStore()

        tasks = make_tasks(jobs=factory)
        tasks.retry_failed()
        tasks.retry_failed()  # built once per process, not per call
        read, write = os.pipe()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads
            child = os.fork()
        if child == 0:  # pragma: no cover - the child reports through the pipe
            tasks.retry_failed()
            os.write(write, json.dumps(built).encode())
            os._exit(0)
        os.close(write)
        answer = json.loads(os.read(read, 1024))
        os.close(read)
        os.waitpid(child, 0)
        assert [os.getpid(), child] == answer


# --- a real worker -------------------------------------------------------------------------------


class TestRealWorker:
    def test_a_worker_on_redis_runs_every_tenants_pushes_retries_included(
        self, jobs: MemoryJobStore, source: MemoryInvoiceSource
    ) -> None:
        """A Celery worker consuming only the tenants' queues runs 3 organisations' pushes;
        a 503 on one of them is retried with a countdown that comes back through that
        tenant's queue; every invoice reaches Xero once."""
        from celery.contrib.testing.worker import start_worker

        url = require_redis()
        xero = FakeXero(SystemClock(), seed=12)
        tenants = [xero.tenant_id, xero.add_tenant(name="Second"), xero.add_tenant(name="Third")]
        contacts = {t: configure(xero, t) if t != xero.tenant_id else "" for t in tenants}
        contacts[xero.tenant_id] = configure(xero, xero.tenant_id)
        store = MemoryStore()
        prefix = f"bmsx-test-{uuid.uuid4().hex}:"
        app = Celery("bms-xero-worker-test", broker=url, set_as_current=False)
        app.conf.update(
            broker_connection_retry_on_startup=True,
            broker_transport_options={"global_keyprefix": prefix},
            worker_hijack_root_logger=False,
            worker_prefetch_multiplier=1,
        )

        def engine(tenant: str) -> Any:
            real = SyncEngine(
                client=xero.client(tenant, retry=RetryPolicy.none()),
                store=store,
                tax_map={"GST15": "OUTPUT2"},
                clock=xero.clock,
            )
            # The second organisation is offline for its first push: those jobs come back
            # after the Backoff's 0.3 s, through the task's countdown.
            return FailsFirstPush(real) if tenant == tenants[1] else real

        tasks = register_tasks(
            app,
            engines=engine,
            jobs=jobs,
            source=source,
            tenants=tenants,
            clock=xero.clock,
            options=TaskOptions(
                backoff=Backoff(base=0.3, max_attempts=3, jitter=False), recheck_seconds=0.5
            ),
        )
        queued = []
        for t_index, tenant in enumerate(tenants):
            for n in range(1, 5):
                number = t_index * 10 + n
                source.put(invoice(number, contacts[tenant]), tenant_id=tenant)
                queued.append(tasks.enqueue_push(tenant, f"I-{number}"))
        try:
            with start_worker(
                app,
                pool="threads",
                concurrency=3,
                perform_ping_check=False,
                queues=[tasks.queue_for(t) for t in tenants],
                loglevel="WARNING",
            ):
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    if all(status is JobStatus.DONE for status in statuses(jobs, queued)):
                        break
                    time.sleep(0.1)
        finally:
            drop_keys(url, prefix)
        retried = [j for j in (jobs.get(q.id) for q in queued) if j and j.attempts > 1]
        assert [JobStatus.DONE] * 12 == statuses(jobs, queued)
        assert [[f"INV-{t * 10 + n:04d}" for n in range(1, 5)] for t in range(3)] == [
            numbers_in_xero(xero, t) for t in tenants
        ]
        assert {tenants[1]} == {j.tenant_id for j in retried}
