"""Fault storms: whatever fails, and wherever the process dies, nothing is duplicated or lost.

Each storm schedules faults on FakeXero (timeouts before and after commit, 500s, 503 "offline",
connection resets, slow answers, minute and day 429s), pushes and pulls through the engine or
the job Worker while a wrapped store, job store or invoice source may "crash" at step k, then
lets Xero heal and a fresh process finish. Checked every time: each InvoiceNumber is held by
exactly one Xero invoice, every BMS invoice reached Xero, every payment made in Xero is on its
sync record, and every failed job's last error names its invoice.
"""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bms_xero.errors import BmsXeroError, DailyLimitReached
from bms_xero.jobs import Backoff, JobKind, JobStatus, MemoryInvoiceSource, MemoryJobStore, Worker
from bms_xero.jobs._sqlite import SQLiteJobStore
from bms_xero.storage import MemoryStore
from bms_xero.testing import FakeXero
from bms_xero.xero import RetryPolicy
from tests.reliability.conftest import (
    JOB_STEPS,
    SOURCE_STEPS,
    STORE_STEPS,
    Check,
    Crash,
    Crashing,
    SecretWatch,
    Steps,
    Tally,
    check_xero,
    engine_for,
    examples,
    faults_seen,
    invoices_for,
    organisation,
    watched_client,
)

KINDS = [
    "timeout_before_commit",
    "timeout_after_commit",
    "http_500",
    "offline_503",
    "connection_reset",
    "connect_timeout",
    "slow",
]
TARGETS = [
    ("PUT", "/Invoices"),
    ("POST", "/Invoices"),
    ("GET", "/Invoices"),
    ("GET", "/Payments"),
    (None, None),
]
SETTINGS = settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

storms = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**16),
        "count": st.integers(1, 30),
        "faults": st.lists(
            st.tuples(st.sampled_from(KINDS), st.sampled_from(TARGETS), st.integers(1, 3)),
            max_size=5,
        ),
        "random_rate": st.sampled_from([0.0, 0.0, 0.1, 0.3]),
        "crash_push": st.one_of(st.none(), st.integers(1, 10)),
        "crash_pull": st.one_of(st.none(), st.integers(1, 10)),
        "minute_limit": st.sampled_from([60, 60, 5]),
        "burn_minute": st.booleans(),
        "day_limit": st.sampled_from([5000, 5000, 8, 20]),
        "retries": st.booleans(),
        "paid_every": st.integers(1, 4),
    }
)


def _schedule(xero: FakeXero[Any], storm: dict[str, Any], watch: SecretWatch) -> None:
    for kind, (method, path), times in storm["faults"]:
        xero.inject(kind, method, path, times=times)
    if storm["random_rate"]:
        xero.inject_random(storm["random_rate"], kinds=KINDS, seed=storm["seed"])
    if storm["burn_minute"]:
        # Another process spends this minute's budget: our first call meets a minute 429.
        neighbour = watched_client(xero, watch, retry=RetryPolicy.none())
        for _ in range(storm["minute_limit"]):
            try:
                neighbour.get_organisation()
            except BmsXeroError as e:
                watch.saw(e)
                break


def _pay_some(xero: FakeXero[Any], every: int) -> None:
    """Pay in Xero (in full or in part) every ``every``-th invoice that got there."""
    for n, stored in enumerate(xero.invoices()):
        if n % every or stored["Status"] != "AUTHORISED":
            continue
        due = Decimal(str(stored["AmountDue"]))
        xero.pay(stored["InvoiceID"], amount=due if n % 2 else (due / 2).quantize(Decimal("0.01")))


def _heal(xero: FakeXero[Any]) -> None:
    """Faults stop and a day passes (the day limit and any lease run out)."""
    xero.clear_faults()
    xero.clock.advance(86_400 + 3_600)


def _finish(xero: FakeXero[Any], store: Any, invoices: list[Any], watch: SecretWatch) -> None:
    """A fresh, healthy process pushes everything and pulls; a small day limit may take days."""
    for _ in range(6):
        engine = engine_for(xero, store, watch)
        try:
            outcomes = engine.push_many(invoices)
            if all(o.ok for o in outcomes):
                engine.pull()
                return
            errors = [o.error for o in outcomes if o.error is not None]
            watch.saw(*errors)
            assert all(isinstance(e, DailyLimitReached) for e in errors), [str(e) for e in errors]
        except DailyLimitReached as e:
            watch.saw(e)
        xero.clock.advance(86_400)
    pytest.fail("the healthy process could not finish within six days")


def _record(
    tally: Tally, xero: FakeXero[Any], check: Check, *, invoices: int, crashes: int
) -> None:
    faults, throttled = faults_seen(xero)
    tally.add(
        schedules=1,
        faults_injected=faults,
        throttled=throttled,
        crashes=crashes,
        invoices=invoices,
        duplicates=check.duplicates,
        lost_invoices=check.lost_invoices,
        paid_invoices=check.paid,
        lost_payments=check.lost_payments,
    )


@attrs.frozen
class Storm:
    """How a storm ended, and how many steps each faulty phase took (places to die)."""

    check: Check
    push_steps: int
    pull_steps: int
    unnamed: int = 0

    @property
    def harmed(self) -> tuple[int, int, int, int]:
        """(duplicates, lost invoices, lost payments, failed jobs not naming their invoice)."""
        c = self.check
        return (c.duplicates, c.lost_invoices, c.lost_payments, self.unnamed)


def _engine_storm(storm: dict[str, Any], tally: Tally, watch: SecretWatch) -> Storm:
    xero, customer = organisation(
        storm["seed"], minute_limit=storm["minute_limit"], day_limit=storm["day_limit"]
    )
    invoices = invoices_for(customer, storm["count"])
    store = MemoryStore()
    _schedule(xero, storm, watch)
    retry = RetryPolicy.seeded(storm["seed"]) if storm["retries"] else RetryPolicy.none()
    crashes = 0

    push_steps = Steps(storm["crash_push"])
    engine = engine_for(xero, Crashing(store, push_steps, STORE_STEPS), watch, retry=retry)
    try:
        outcomes = engine.push_many(invoices)
    except Crash:
        crashes += 1
    else:
        for invoice, outcome in zip(invoices, outcomes, strict=True):
            if outcome.error is not None:
                watch.saw(outcome.error)
                assert isinstance(outcome.error, BmsXeroError)
                assert invoice.number in str(outcome.error)

    _pay_some(xero, storm["paid_every"])
    pull_steps = Steps(storm["crash_pull"])
    engine = engine_for(xero, Crashing(store, pull_steps, STORE_STEPS), watch, retry=retry)
    try:
        engine.pull()
    except Crash:
        crashes += 1
    except BmsXeroError as e:  # typed; the healthy pull below catches up
        watch.saw(e)

    _heal(xero)
    _finish(xero, store, invoices, watch)
    check = check_xero(xero, store, invoices)
    _record(tally, xero, check, invoices=len(invoices), crashes=crashes)
    return Storm(check, push_steps.count, pull_steps.count)


@settings(SETTINGS, max_examples=examples(40, 1000))
@given(storm=storms)
def test_engine_storm(storm: dict[str, Any], tally: Tally, watch: SecretWatch) -> None:
    """Pushes and pulls through a seeded storm and a crash end with no duplicate or loss."""
    result = _engine_storm(storm, tally, watch)

    assert (0, 0, 0, 0) == result.harmed


@settings(SETTINGS, max_examples=examples(12, 200))
@given(storm=storms, count=st.integers(51, 260))
def test_engine_storm_with_batches_side_by_side(
    storm: dict[str, Any], count: int, tally: Tally, watch: SecretWatch
) -> None:
    """The same storms over 2 to 6 create batches, which the engine sends up to 5 at once
    (``max_in_flight``); a crash in one request's thread stops the whole process."""
    result = _engine_storm(storm | {"count": count}, tally, watch)

    assert (0, 0, 0, 0) == result.harmed


# --- the job worker --------------------------------------------------------------------------


def _drain(worker: Worker, xero: FakeXero[Any], rounds: int, step: float) -> None:
    """Run due jobs, letting the clock move on between runs so retries fall due."""
    for _ in range(rounds):
        worker.run_pending()
        xero.clock.advance(step)


def _unnamed(jobs: Any) -> tuple[int, int]:
    """(push jobs with a last error, those whose error doesn't name their invoice)."""
    failed = unnamed = 0
    for job in jobs.list_jobs(kinds=[JobKind.PUSH], limit=10_000):
        if job.last_error is None:
            continue
        failed += 1
        if job.invoice_number is None or job.invoice_number not in job.last_error:
            unnamed += 1
    return failed, unnamed


def _worker_storm(storm: dict[str, Any], jobs: Any, tally: Tally, watch: SecretWatch) -> Storm:
    xero, customer = organisation(
        storm["seed"], minute_limit=storm["minute_limit"], day_limit=storm["day_limit"]
    )
    invoices = invoices_for(customer, storm["count"])
    source = MemoryInvoiceSource(invoices)
    store = MemoryStore()
    tenant = xero.tenant_id
    for invoice in invoices:
        jobs.enqueue_push(tenant, invoice.id, invoice_number=invoice.number, now=xero.clock.now())
    _schedule(xero, storm, watch)
    retry = RetryPolicy.seeded(storm["seed"]) if storm["retries"] else RetryPolicy.none()
    backoff = Backoff(base=5, max_attempts=3, jitter=False)
    crashes = 0
    counted: list[Steps] = []

    def dying_worker(crash_at: int | None, name: str) -> Worker:
        steps = Steps(crash_at)
        counted.append(steps)
        engine = engine_for(xero, Crashing(store, steps, STORE_STEPS), watch, retry=retry)
        return Worker(
            engine,
            Crashing(jobs, steps, JOB_STEPS),
            Crashing(source, steps, SOURCE_STEPS),
            clock=xero.clock,
            worker_id=name,
            lease_seconds=120,
            backoff=backoff,
        )

    try:
        _drain(dying_worker(storm["crash_push"], "w-push"), xero, rounds=3, step=30)
    except Crash:
        crashes += 1
    _pay_some(xero, storm["paid_every"])
    jobs.enqueue_pull(tenant, now=xero.clock.now())
    try:
        _drain(dying_worker(storm["crash_pull"], "w-pull"), xero, rounds=3, step=30)
    except Crash:
        crashes += 1
    failed, unnamed = _unnamed(jobs)

    # A second worker, once Xero is healthy; the operator retries what gave up.
    _heal(xero)
    healthy = Worker(
        engine_for(xero, store, watch),
        jobs,
        source,
        clock=xero.clock,
        worker_id="w-2",
        lease_seconds=120,
        backoff=backoff,
    )
    for _ in range(6):
        jobs.retry_failed(now=xero.clock.now())
        _drain(healthy, xero, rounds=4, step=600)
        jobs.enqueue_pull(tenant, now=xero.clock.now())
        _drain(healthy, xero, rounds=1, step=0)
        waiting = jobs.list_jobs(
            statuses=[JobStatus.PENDING, JobStatus.LEASED, JobStatus.FAILED], limit=10_000
        )
        if not waiting:
            break
        xero.clock.advance(86_400)  # a small day limit parks the tenant until tomorrow
    waiting = jobs.list_jobs(statuses=[JobStatus.PENDING, JobStatus.FAILED], limit=10_000)
    assert [] == [(j.kind.value, j.invoice_number, j.last_error) for j in waiting]
    check = check_xero(xero, store, invoices)
    _record(tally, xero, check, invoices=len(invoices), crashes=crashes)
    tally.add(failed_jobs=failed, unnamed_failed_jobs=unnamed)
    return Storm(check, counted[0].count, counted[1].count, unnamed)


@settings(SETTINGS, max_examples=examples(25, 600))
@given(storm=storms, sqlite=st.booleans())
def test_worker_storm(
    storm: dict[str, Any], sqlite: bool, tally: Tally, watch: SecretWatch
) -> None:
    """Workers dying mid-storm leave named job records, and a second worker finishes the work."""
    with tempfile.TemporaryDirectory() as folder:
        jobs: Any = SQLiteJobStore(Path(folder) / "jobs.db") if sqlite else MemoryJobStore()
        try:
            result = _worker_storm(storm, jobs, tally, watch)
        finally:
            jobs.close()

    assert (0, 0, 0, 0) == result.harmed


# --- a crash at every step -------------------------------------------------------------------

# Five invoices, every one paid: a pull writes a page's records in one transaction, so it
# takes this many for the push and the pull to have a dozen store writes between them.
QUIET: dict[str, Any] = {
    "seed": 3,
    "count": 5,
    "faults": [("timeout_after_commit", ("PUT", "/Invoices"), 1)],
    "random_rate": 0.0,
    "minute_limit": 60,
    "burn_minute": False,
    "day_limit": 5000,
    "retries": True,
    "paid_every": 1,
}


def _every_step(run: Any, tally: Tally, watch: SecretWatch) -> list[tuple[str, int, Storm]]:
    """Run the quiet storm once to count its steps, then once per step, dying there."""
    calm = run(QUIET | {"crash_push": None, "crash_pull": None}, tally, watch)
    results = [("none", 0, calm)]
    for phase, count in (("crash_push", calm.push_steps), ("crash_pull", calm.pull_steps)):
        for k in range(1, count + 1):
            storm = QUIET | {"crash_push": None, "crash_pull": None, phase: k}
            results.append((phase, k, run(storm, tally, watch)))
    return results


def test_engine_crash_at_every_step(tally: Tally, watch: SecretWatch) -> None:
    """Dying at each store write of a push, then of a pull, never duplicates or loses."""
    results = _every_step(_engine_storm, tally, watch)

    assert (True, []) == (
        len(results) > 10,
        [(phase, k, r.harmed) for phase, k, r in results if r.harmed != (0, 0, 0, 0)],
    )


def test_worker_crash_at_every_step(tally: Tally, watch: SecretWatch) -> None:
    """A worker dying at each step of its push and pull jobs leaves the second one to finish."""

    def run(storm: dict[str, Any], tally: Tally, watch: SecretWatch) -> Storm:
        return _worker_storm(storm, MemoryJobStore(), tally, watch)

    results = _every_step(run, tally, watch)

    assert (True, []) == (
        len(results) > 10,
        [(phase, k, r.harmed) for phase, k, r in results if r.harmed != (0, 0, 0, 0)],
    )
