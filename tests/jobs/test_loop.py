"""The long-running loop, periodic pulls and stopping cleanly, all on a fake clock."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest

from bms_xero.clock import FakeClock
from bms_xero.engine import SyncEngine
from bms_xero.errors import ConfigurationError, StorageError
from bms_xero.jobs import (
    Job,
    JobKind,
    JobStatus,
    JobStore,
    MemoryInvoiceSource,
    MemoryJobStore,
    PullSchedule,
    Worker,
)
from bms_xero.storage import MemoryStore
from bms_xero.testing import FakeXero
from bms_xero.xero import RetryPolicy
from tests.jobs.conftest import configure, counter, invoice, numbers_in_xero


class ScriptClock(FakeClock):
    """A fake clock that runs scripted actions once their time has come, and logs sleeps."""

    def __init__(self) -> None:
        super().__init__()
        self.script: list[tuple[float, Callable[[], None]]] = []
        self.sleeps: list[float] = []

    def at(self, seconds: float, action: Callable[[], None]) -> None:
        self.script.append((seconds, action))
        self.script.sort(key=lambda item: item[0])

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        super().sleep(seconds)
        while self.script and self.script[0][0] <= self.monotonic():
            _, action = self.script.pop(0)
            action()


@pytest.fixture(name="clock")
def _clock() -> ScriptClock:
    """A scripted fake clock."""
    return ScriptClock()


@pytest.fixture(name="xero")
def _xero(clock: ScriptClock) -> FakeXero:
    """A FakeXero on the scripted clock (overrides the package fixture)."""
    xero = FakeXero(clock=clock, seed=11)
    configure(xero, xero.tenant_id)
    return xero


@pytest.fixture(name="engine")
def _engine(xero: FakeXero) -> SyncEngine:
    """An engine on the fake, without client retries."""
    return SyncEngine(
        client=xero.client(retry=RetryPolicy.none()),
        store=MemoryStore(),
        tax_map={"GST15": "OUTPUT2"},
        clock=xero.clock,
    )


def test_loop_runs_jobs_as_they_come_and_pulls_on_schedule(
    clock: ScriptClock, xero: FakeXero, engine: SyncEngine, source: MemoryInvoiceSource
) -> None:
    """Over two hours the loop pushes an invoice released at minute 10 and pulls every 30
    minutes, sleeping in between and never spinning."""
    jobs = MemoryJobStore(new_id=counter("job"))
    [contact] = [str(c["ContactID"]) for c in xero.contacts()]
    stop = threading.Event()

    def release() -> None:
        source.put(invoice(1, contact))
        jobs.enqueue_push(xero.tenant_id, "I-1", now=clock.now())

    clock.at(600, release)
    clock.at(7190, stop.set)
    schedule = PullSchedule(jobs, [xero.tenant_id], every_minutes=30, clock=clock)
    worker = Worker(engine, jobs, source, clock=clock)
    worker.run_forever(stop, poll_interval=5, schedule=schedule)

    pulls = jobs.list_jobs(kinds=[JobKind.PULL])
    assert [0, 30, 60, 90] == sorted(
        int((j.created_at - FakeClock().now()).total_seconds() // 60) for j in pulls
    )
    assert {JobStatus.DONE} == {j.status for j in jobs.list_jobs()}
    assert ["INV-0001"] == numbers_in_xero(xero)
    assert [] == [s for s in clock.sleeps if s <= 0]
    assert clock.monotonic() == pytest.approx(sum(clock.sleeps))


def test_sigterm_stops_the_loop_and_restores_the_handler(
    clock: ScriptClock, engine: SyncEngine, source: MemoryInvoiceSource
) -> None:
    """With install_signal_handlers=True, SIGTERM ends run_forever, and the previous
    handler is back afterwards."""
    before = signal.getsignal(signal.SIGTERM)
    clock.at(12, lambda: os.kill(os.getpid(), signal.SIGTERM))
    worker = Worker(engine, MemoryJobStore(), source, clock=clock)
    worker.run_forever(poll_interval=5, install_signal_handlers=True)
    assert before == signal.getsignal(signal.SIGTERM)
    assert 12 <= clock.monotonic() < 20


def test_signal_handlers_need_the_main_thread(
    engine: SyncEngine, source: MemoryInvoiceSource
) -> None:
    """Asking for signal handlers outside the main thread is a configuration error."""
    worker = Worker(engine, MemoryJobStore(), source, clock=FakeClock())
    raised: list[BaseException] = []

    def run() -> None:
        try:
            worker.run_forever(threading.Event(), install_signal_handlers=True)
        except BaseException as e:
            raised.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=10)
    assert [ConfigurationError] == [type(e) for e in raised]


def test_loop_survives_a_job_store_outage(
    clock: ScriptClock, xero: FakeXero, engine: SyncEngine, source: MemoryInvoiceSource
) -> None:
    """A job store that fails for a while is retried at the next poll; jobs then run."""
    jobs = FlakyJobs(MemoryJobStore(), failures=2)
    [contact] = [str(c["ContactID"]) for c in xero.contacts()]
    source.put(invoice(1, contact))
    job = jobs.enqueue_push(xero.tenant_id, "I-1", now=clock.now())
    stop = threading.Event()
    clock.at(60, stop.set)
    Worker(engine, jobs, source, clock=clock).run_forever(stop, poll_interval=5)
    done = jobs.get(job.id)
    assert done is not None
    assert (JobStatus.DONE, 0) == (done.status, jobs.failures)
    assert timedelta(seconds=10) == done.updated_at - job.created_at  # two polls lost


def test_a_stop_set_before_the_loop_starts_runs_nothing(
    engine: SyncEngine, source: MemoryInvoiceSource, xero: FakeXero
) -> None:
    """run_forever with a stop already set returns without leasing anything."""
    jobs = MemoryJobStore()
    job = jobs.enqueue_pull(xero.tenant_id, now=xero.clock.now())
    stop = threading.Event()
    stop.set()
    Worker(engine, jobs, source, clock=xero.clock).run_forever(stop)
    assert jobs.get(job.id) == job


class TestPullSchedule:
    def test_a_tenant_never_pulled_is_due_at_once(self, clock: ScriptClock) -> None:
        """Tenants without a pull job are due now, and enqueueing makes one waiting pull."""
        jobs = MemoryJobStore()
        schedule = PullSchedule(jobs, ["t1", "t2"], every_minutes=15, clock=clock)
        assert (["t1", "t2"], 0.0) == (schedule.due(), schedule.seconds_until_due())
        queued = schedule.enqueue_due()
        assert ["t1", "t2"] == [j.tenant_id for j in queued]
        assert ([], []) == (schedule.due(), schedule.enqueue_due())

    def test_the_next_pull_falls_due_an_interval_after_the_last(self, clock: ScriptClock) -> None:
        """Once a pull ran, the tenant is due again `every` after that pull was enqueued."""
        jobs = MemoryJobStore()
        schedule = PullSchedule(jobs, ["t1"], every_minutes=15, clock=clock)
        [job] = schedule.enqueue_due()
        finish(jobs, job, clock)
        clock.advance(300)
        assert ([], 600.0) == (schedule.due(), schedule.seconds_until_due())
        clock.advance(600)
        assert ["t1"] == schedule.due()

    def test_a_waiting_pull_is_not_scheduled_again(self, clock: ScriptClock) -> None:
        """While a pull waits (e.g. its tenant is parked) the schedule adds none and lets a
        loop sleep a whole interval."""
        jobs = MemoryJobStore()
        schedule = PullSchedule(jobs, ["t1"], every_minutes=15, clock=clock)
        schedule.enqueue_due()
        clock.advance(3600)
        assert ([], 900.0) == (schedule.due(), schedule.seconds_until_due())

    @pytest.mark.parametrize(
        ("tenants", "minutes"), [([], 15), ([""], 15), (["t1"], 0), (["t1"], -5)], ids=str
    )
    def test_bad_settings_are_refused(self, tenants: list[str], minutes: float) -> None:
        """A schedule needs tenants and a positive interval."""
        with pytest.raises(ConfigurationError):
            PullSchedule(MemoryJobStore(), tenants, every_minutes=minutes)


def finish(jobs: JobStore, job: Job, clock: FakeClock) -> None:
    """Lease and complete ``job`` as a worker would."""
    [held] = jobs.lease(
        worker_id="w", now=clock.now(), lease_seconds=60, limit=1, tenant_ids=[job.tenant_id]
    )
    jobs.complete(held, now=clock.now())


class FlakyJobs:
    """A job store whose first ``failures`` leases fail as if the database were locked."""

    def __init__(self, inner: MemoryJobStore, failures: int) -> None:
        self.inner = inner
        self.failures = failures

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def lease(self, **kwargs: object) -> list[Job]:
        if self.failures:
            self.failures -= 1
            raise StorageError("jobs.db: could not lease jobs (database is locked)")
        return self.inner.lease(**kwargs)  # type: ignore[arg-type]


def test_scheduled_intervals_are_whole_minutes() -> None:
    """The schedule's interval is what it was given."""
    assert timedelta(minutes=45) == PullSchedule(MemoryJobStore(), ["t"], every_minutes=45).every
