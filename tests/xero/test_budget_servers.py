"""The shared rate budgets on real servers: Redis and PostgreSQL.

In CI (CI=true) these fail when a server is missing; elsewhere they skip, saying how to run
them (start Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432, or point
BMS_XERO_TEST_REDIS / BMS_XERO_TEST_POSTGRES elsewhere). Every test uses its own key prefix
or budget name, so runs can overlap on one server.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from bms_xero.clock import FakeClock
from bms_xero.errors import DailyLimitReached
from bms_xero.xero import RateBudgetBackend, RateBudgetUnavailable, RateLimiter
from tests.services import require_postgres, require_redis
from tests.xero._budget_contract import CHECKS

#: The database the PostgreSQL budget tests create and use.
DATABASE = "bms_xero_budget_test"

Factory = Callable[..., RateBudgetBackend]


def _postgres_url() -> str:
    import psycopg
    from psycopg.conninfo import make_conninfo

    base = require_postgres()
    with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        if found.fetchone() is None:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # made meanwhile
                conn.execute(f"CREATE DATABASE {DATABASE}")
    return make_conninfo(base, dbname=DATABASE)


def _redis_factory() -> tuple[Factory, Callable[[], None]]:
    import redis

    from bms_xero.xero import RedisRateBudget

    url = require_redis()
    prefix = f"bms_xero_test_budget:{uuid.uuid4().hex}"

    def make(**kwargs: Any) -> RateBudgetBackend:
        return RedisRateBudget.from_url(url, prefix=prefix, **kwargs)

    def clean() -> None:
        client = redis.Redis.from_url(url)
        try:
            keys = list(client.scan_iter(match="{" + prefix + "}*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()

    return make, clean


def _postgres_factory() -> tuple[Factory, Callable[[], None]]:
    import psycopg

    from bms_xero.xero import PostgresRateBudget

    url = _postgres_url()
    name = f"test-{uuid.uuid4().hex}"

    def make(**kwargs: Any) -> RateBudgetBackend:
        return PostgresRateBudget(url, name=name, **kwargs)

    def clean() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            for table in ("slots", "sends", "tenants", "apps"):
                sql = f"DELETE FROM bms_xero_rate_{table} WHERE budget = %s"  # noqa: S608 (constant)
                conn.execute(sql, (name,))

    return make, clean


FACTORIES = {"redis": _redis_factory, "postgres": _postgres_factory}


@pytest.fixture(name="factory", params=sorted(FACTORIES))
def _factory(request: pytest.FixtureRequest) -> Iterator[Factory]:
    make, clean = FACTORIES[request.param]()
    made: list[RateBudgetBackend] = []

    def tracked(**kwargs: Any) -> RateBudgetBackend:
        backend = make(**kwargs)
        made.append(backend)
        return backend

    try:
        yield tracked
    finally:
        for backend in made:
            backend.close()
        clean()


@pytest.mark.parametrize("check", CHECKS, ids=str)
def test_the_shared_budget_keeps_the_contract(check, factory):
    """Each backend contract check holds on the real server."""
    check(factory())


class TestSharedBetweenProcesses:
    """Two budgets on one server stand for two processes (each has its own connections)."""

    def test_one_window_for_both(self, factory):
        """60 requests through one make the other's 61st wait the rest of the window."""
        clock = FakeClock()
        one = RateLimiter(clock=clock, backend=factory())
        other = RateLimiter(clock=clock, backend=factory())
        for _ in range(60):
            with one.slot("t"):
                pass
        clock.advance(20)
        with other.slot("t"):
            pass

        assert 60.0 == clock.monotonic()

    def test_a_park_stops_the_other_at_once(self, factory):
        """A day-limit park shared by one is raised by the other without waiting."""
        clock = FakeClock()
        resets_at = clock.now() + timedelta(hours=2, microseconds=7)
        RateLimiter(clock=clock, backend=factory()).park("t", resets_at)

        with pytest.raises(DailyLimitReached) as caught:
            RateLimiter(clock=clock, backend=factory()).acquire("t")
        assert (resets_at, 0.0) == (caught.value.resets_at, clock.monotonic())

    def test_a_hold_holds_the_other(self, factory):
        """A 429's hold shared by one delays the other's next request."""
        clock = FakeClock()
        RateLimiter(clock=clock, backend=factory()).hold("t", 9)

        with RateLimiter(clock=clock, backend=factory()).slot("t"):
            pass

        assert 9.0 == clock.monotonic()

    def test_a_live_holder_keeps_its_slot_past_the_lease(self, factory):
        """A slot held for three leases by a live process is renewed, not lost; once given
        back, the other process gets it."""
        holder, other = factory(lease=0.4), factory(lease=0.4)
        lease = holder.take_slot("t", concurrent=1, timeout=0)
        assert lease is not None
        time.sleep(1.2)
        while_held = other.take_slot("t", concurrent=1, timeout=0)
        holder.finish(lease, start=None, now=0.0)
        after = other.take_slot("t", concurrent=1, timeout=0)

        assert (None, True) == (while_held, after is not None)


def _hold_slots(kind: str, settings: dict[str, Any], ready: Any) -> None:
    """In a child process: take every slot of tenant 't', say so, and wait to be killed."""
    if kind == "redis":
        from bms_xero.xero import RedisRateBudget

        budget: RateBudgetBackend = RedisRateBudget.from_url(**settings)
    else:
        from bms_xero.xero import PostgresRateBudget

        budget = PostgresRateBudget(**settings)
    held = [budget.take_slot("t", concurrent=5, timeout=5) for _ in range(5)]
    ready.put(sum(lease is not None for lease in held))
    time.sleep(120)


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_a_killed_process_frees_its_slots_within_one_lease(kind):
    """A process SIGKILLed while it holds all five slots frees them within one lease (1 s
    here): nothing renews them any more."""
    lease = 1.0
    if kind == "redis":
        settings: dict[str, Any] = {
            "url": require_redis(),
            "prefix": f"bms_xero_test_budget:{uuid.uuid4().hex}",
            "lease": lease,
        }
        from bms_xero.xero import RedisRateBudget

        budget: RateBudgetBackend = RedisRateBudget.from_url(**settings)
    else:
        settings = {"database": _postgres_url(), "name": f"test-{uuid.uuid4().hex}", "lease": lease}
        from bms_xero.xero import PostgresRateBudget

        budget = PostgresRateBudget(**settings)
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    child = context.Process(target=_hold_slots, args=(kind, settings, ready), daemon=True)
    child.start()
    try:
        taken = ready.get(timeout=60)
        blocked = budget.take_slot("t", concurrent=5, timeout=0)
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        killed = time.monotonic()
        freed = budget.take_slot("t", concurrent=5, timeout=10)
        waited = time.monotonic() - killed
    finally:
        if child.is_alive():
            child.kill()
        child.join(timeout=10)
        ready.close()
        ready.join_thread()
    assert (5, None, True) == (taken, blocked, freed is not None)
    assert waited <= lease + 0.5, f"freed {waited:.2f} s after the kill (lease {lease} s)"
    assert freed is not None
    budget.finish(freed, start=None, now=0.0)
    budget.close()


class TestFailClosed:
    def test_redis_that_is_gone_is_a_typed_error_without_the_password(self):
        """A Redis that does not answer: the request is not sent, the error is
        RateBudgetUnavailable, quick, and neither it nor the repr shows the password."""
        require_redis()  # the driver; the server used here is deliberately absent
        from bms_xero.xero import RedisRateBudget

        budget = RedisRateBudget.from_url("redis://:hunter2@127.0.0.1:9/0", timeout=0.5)
        limiter = RateLimiter(clock=FakeClock(), backend=budget)
        started = time.monotonic()
        with pytest.raises(RateBudgetUnavailable) as caught:
            limiter.acquire("t")
        took = time.monotonic() - started
        budget.close()

        text = f"{caught.value} {caught.value!r} {budget!r}"
        assert ("hunter2" in text, "redis://:***@127.0.0.1:9/0" in str(caught.value)) == (
            False,
            True,
        )
        assert (True, True) == (caught.value.retryable, took < 5)

    def test_postgres_that_is_gone_is_a_typed_error_without_the_password(self):
        """A PostgreSQL that does not answer: RateBudgetUnavailable, and no password shown."""
        require_postgres()
        from bms_xero.xero import PostgresRateBudget

        budget = PostgresRateBudget("postgresql://bms:s3cret-pw@127.0.0.1:9/bms?connect_timeout=1")
        limiter = RateLimiter(clock=FakeClock(), backend=budget)
        with pytest.raises(RateBudgetUnavailable) as caught:
            limiter.acquire("t")
        budget.close()

        text = f"{caught.value} {caught.value!r} {budget!r} {caught.value.reason}"
        assert (False, True, True) == (
            "s3cret-pw" in text,
            "PostgreSQL at postgresql://bms:<redacted>@127.0.0.1:9/bms" in str(caught.value),
            caught.value.retryable,
        )
