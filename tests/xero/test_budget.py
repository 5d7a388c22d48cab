"""The shared rate budget: its pure rules (literals in, literals out), the in-process backend's
contract, and the limiter and client over a backend (on a fake clock)."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from bms_xero import Customer
from bms_xero.clock import FakeClock
from bms_xero.errors import ConfigurationError, DailyLimitReached, StorageError
from bms_xero.jobs import Failure, classify
from bms_xero.testing import FakeXero
from bms_xero.transport import Headers
from bms_xero.xero import (
    BudgetReadings,
    InProcessRateBudget,
    RateBudgetBackend,
    RateBudgetUnavailable,
    RateLimiter,
    RateLimits,
    SentRequest,
    SlotLease,
    XeroClient,
    XeroReading,
)
from bms_xero.xero._budget import (
    LeaseKeeper,
    estimate,
    minute_remaining,
    minute_report,
    opener_seq,
    redact_url,
    request_ends,
    seconds_to_wait,
    window_resets,
)
from tests.xero._budget_contract import CHECKS

LIMITS = RateLimits()  # 5 in flight, 60 a minute, latency margin 1 s


def serial(count: int, *, latency: float, answered: int | None = None) -> list[SentRequest]:
    """Requests sent one after another, each answered `latency` later (the first `answered`)."""
    done = count if answered is None else answered
    return [
        SentRequest(i + 1, i * latency, i * latency + latency if i < done else None)
        for i in range(count)
    ]


# --- the rules ------------------------------------------------------------------------------


class TestRules:
    def test_estimate_counts_what_was_sent_since(self):
        """Xero's reading is reduced by the requests sent after the one it answered."""
        assert 3 == estimate(XeroReading(remaining=5, seq=3, at=0.0), 5)

    @pytest.mark.parametrize(
        ("remaining", "seq", "expected"),
        [(0, 60, 1), (58, 3, 2), (59, 1, 1), (0, 5, -54)],
    )
    def test_the_opener_of_a_window(self, remaining, seq, expected):
        """With `limit - remaining` requests counted up to `seq`, the window opened with
        request seq - (limit - remaining) + 1 (not one of ours when it is < 1)."""
        assert expected == opener_seq(XeroReading(remaining, seq, 0.0), 60)

    @pytest.mark.parametrize(
        ("sent", "expected"),
        [
            (SentRequest(1, 10.0, 10.0), 70.0),  # no latency: exactly a window after it left
            (SentRequest(1, 10.0, 10.5), 70.5),  # its round trip is added
            (SentRequest(1, 10.0, 14.0), 71.0),  # up to the margin
            (SentRequest(1, 10.0, None), 71.0),  # in flight: the whole margin
            (SentRequest(1, 10.0, 9.0), 70.0),  # an answer "before" it left adds nothing
        ],
    )
    def test_a_request_counts_until_a_window_after_it_reached_xero(self, sent, expected):
        """A request stops counting a window after it was sent plus its round trip, at most
        the margin."""
        assert expected == request_ends(sent, window=60.0, margin=1.0)

    def test_a_spent_window_resets_a_window_after_its_opener(self):
        """Xero said 0 left: its window ends when the request that opened it stops counting,
        or (when that request is not ours) a window after the answer."""
        reading = XeroReading(remaining=0, seq=60, at=30.0)
        opener = SentRequest(1, 0.0, 0.5)

        assert (60.5, 90.0) == (
            window_resets(reading, opener, window=60.0, margin=1.0),
            window_resets(reading, None, window=60.0, margin=1.0),
        )

    def test_issue_16_the_window_counts_from_the_first_send_not_the_60th_answer(self):
        """At 0.5 s a request, sent one after another, the 60th answer (30 s in) says 0 left.
        The 61st may go 60.5 s after the first was sent (its round trip included): a wait of
        30.5 s, where counting a window from that answer waited 60 s (61st at 90 s)."""
        sends = serial(60, latency=0.5)
        readings = BudgetReadings(
            tenant_id="t",
            seq=60,
            in_window=60,
            recent=60,
            blocking=sends[0],
            minute=XeroReading(remaining=0, seq=60, at=30.0),
            opener=sends[0],
        )
        old_rule = readings.minute.at + 60.0 - 30.0  # type: ignore[union-attr]

        assert (30.5, 60.0) == (seconds_to_wait(readings, now=30.0, limits=LIMITS), old_rule)

    def test_a_full_window_waits_for_its_blocking_request(self):
        """With 60 requests that may still count, the wait ends when the oldest of them does."""
        readings = BudgetReadings(
            tenant_id="t", seq=60, in_window=60, recent=60, blocking=SentRequest(1, 0.0, 0.25)
        )

        assert 50.25 == seconds_to_wait(readings, now=10.0, limits=LIMITS)

    def test_room_in_the_window_means_no_wait(self):
        """Fewer than 60 requests in the window, and nothing else said: go now."""
        readings = BudgetReadings(tenant_id="t", seq=59, in_window=59, recent=59)

        assert 0.0 == seconds_to_wait(readings, now=10.0, limits=LIMITS)

    def test_a_hold_is_waited_out(self):
        """A hold (a 429's Retry-After) is waited out."""
        readings = BudgetReadings(tenant_id="t", hold_until=25.0)

        assert 15.0 == seconds_to_wait(readings, now=10.0, limits=LIMITS)

    def test_a_spent_app_budget_waits_a_window_after_its_answer(self):
        """X-AppMinLimit-Remaining: 0 holds every tenant a window after that answer."""
        readings = BudgetReadings(tenant_id="t", app_seq=7, app=XeroReading(0, 7, 5.0))

        assert 55.0 == seconds_to_wait(readings, now=10.0, limits=LIMITS)

    def test_a_spent_reading_of_someone_elses_window_waits_a_window_after_the_answer(self):
        """Xero counts requests this budget never sent (0 left after our 3rd): the only safe
        bound is a window after the answer."""
        readings = BudgetReadings(
            tenant_id="t", seq=3, in_window=3, recent=3, minute=XeroReading(0, 3, 2.0)
        )

        assert 52.0 == seconds_to_wait(readings, now=10.0, limits=LIMITS)

    @pytest.mark.parametrize(
        ("minute", "hold_seq", "now", "expected"),
        [
            (XeroReading(0, 5, 0.0), 0, 10.0, XeroReading(0, 5, 0.0)),  # applies
            (XeroReading(0, 5, 0.0), 0, 60.0, None),  # a window old: stale
            (XeroReading(0, 5, 0.0), 5, 10.0, None),  # spent when a hold came: ends with it
            (XeroReading(3, 5, 0.0), 5, 10.0, XeroReading(3, 5, 0.0)),  # not spent then
            (XeroReading(0, 6, 0.0), 5, 10.0, XeroReading(0, 6, 0.0)),  # newer than the hold
        ],
    )
    def test_which_minute_reading_applies(self, minute, hold_seq, now, expected):
        """Xero's minute reading applies for a window, unless it was spent when a hold
        (Xero's own reset time) came."""
        readings = BudgetReadings(tenant_id="t", seq=6, minute=minute, hold_seq=hold_seq)

        assert expected == minute_report(readings, now=now, window=60.0)

    def test_minute_remaining_is_the_lower_of_ours_and_xeros(self):
        """Left this minute: our count, or Xero's reading less what was sent since."""
        ours = BudgetReadings(tenant_id="t", seq=10, in_window=10)
        xeros = BudgetReadings(tenant_id="t", seq=10, in_window=10, minute=XeroReading(20, 8, 1.0))

        assert (50, 18) == (
            minute_remaining(ours, now=5.0, limits=LIMITS),
            minute_remaining(xeros, now=5.0, limits=LIMITS),
        )

    @pytest.mark.parametrize(
        "bad",
        [
            {"seq": -1},
            {"in_flight": 1.5},
            {"hold_until": float("nan")},
            {"parked_until": datetime(2026, 1, 5)},  # noqa: DTZ001 (naive on purpose)
            {"tenant_id": ""},
        ],
    )
    def test_readings_are_checked_when_built(self, bad):
        """A backend can't hand the limiter impossible readings."""
        with pytest.raises(ConfigurationError):
            BudgetReadings(**{"tenant_id": "t", **bad})

    @pytest.mark.parametrize("bad", [-0.1, float("inf"), True, "1"])
    def test_a_bad_latency_margin_is_refused(self, bad):
        """The latency margin is a number of seconds >= 0."""
        with pytest.raises(ConfigurationError):
            RateLimits(latency_margin=bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "postgresql://bms:s3cr%40t@db:5432/bms",
            "postgresql://bms:***@db:5432/bms",
        ),
        ("redis://:hunter2@10.0.0.5:6379/0", "redis://:***@10.0.0.5:6379/0"),
        ("rediss://user:pw@host/1", "rediss://user:***@host/1"),
        ("host=db user=bms password=s3cret dbname=bms", "host=db user=bms password=*** dbname=bms"),
        ("host=db password='a b\\' c' dbname=x", "host=db password=*** dbname=x"),
        (
            "postgresql://db/bms?password=s3cret&sslmode=require",
            "postgresql://db/bms?password=***&sslmode=require",
        ),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ],
)
def test_passwords_are_redacted(text, expected):
    """Every form a password takes in a URL or libpq string is redacted."""
    assert expected == redact_url(text)


# --- the in-process backend -----------------------------------------------------------------


@pytest.mark.parametrize("check", CHECKS, ids=str)
def test_the_in_process_budget_keeps_the_contract(check):
    """Each backend contract check holds for the in-process budget."""
    check(InProcessRateBudget())


def test_the_built_in_budgets_are_backends():
    """InProcessRateBudget implements the protocol (structurally)."""
    assert isinstance(InProcessRateBudget(), RateBudgetBackend)


def test_the_in_process_window_stays_small():
    """Ten thousand requests later, only the ones that may still count are kept."""
    budget = InProcessRateBudget()
    for i in range(10_000):
        budget.record_start("t", now=float(i), window=60.0, keep=121.0, limit=60)

    readings = budget.readings("t", now=9_999.0, window=60.0, margin=1.0, limit=60)
    assert (10_000, 60, 61) == (readings.seq, readings.in_window, readings.recent)
    assert len(budget._books["t"].sent) < 2_000


# --- the limiter over a backend -------------------------------------------------------------


@pytest.fixture(name="clock")
def _clock() -> FakeClock:
    return FakeClock()


class TestSharedThroughTheBackend:
    """Two limiters on one backend behave like two processes sharing Redis."""

    def test_the_minute_window_is_shared(self, clock):
        """60 requests by one limiter make the other's 61st wait for the window; with a
        budget each, the other would send at once."""
        budget = InProcessRateBudget()
        one = RateLimiter(clock=clock, backend=budget)
        other = RateLimiter(clock=clock, backend=budget)
        alone = RateLimiter(clock=clock)
        for _ in range(60):
            with one.slot("t"):
                pass
        with alone.slot("t"):
            pass
        went_alone = clock.monotonic()
        with other.slot("t"):
            pass

        assert (0.0, 60.0) == (went_alone, clock.monotonic())

    def test_a_park_stops_every_limiter_at_once(self, clock):
        """A day-limit park set by one limiter makes the other raise DailyLimitReached at
        once, without waiting."""
        budget = InProcessRateBudget()
        one = RateLimiter(clock=clock, backend=budget)
        other = RateLimiter(clock=clock, backend=budget)
        resets_at = clock.now() + timedelta(hours=3)
        one.park("t", resets_at)

        with pytest.raises(DailyLimitReached) as caught:
            other.acquire("t")
        assert (resets_at, 10_800.0, 0.0) == (
            caught.value.resets_at,
            caught.value.retry_after,
            clock.monotonic(),
        )

    def test_a_hold_holds_every_limiter(self, clock):
        """A 429's hold set by one limiter delays the other."""
        budget = InProcessRateBudget()
        RateLimiter(clock=clock, backend=budget).hold("t", 7)

        with RateLimiter(clock=clock, backend=budget).slot("t"):
            pass

        assert 7.0 == clock.monotonic()

    def test_in_flight_counts_every_limiter(self, clock):
        """The state's in_flight counts the requests of everyone sharing the budget."""
        budget = InProcessRateBudget()
        one = RateLimiter(clock=clock, backend=budget)
        other = RateLimiter(clock=clock, backend=budget)
        tickets = [one.acquire("t"), other.acquire("t")]

        assert 2 == one.state("t").in_flight
        for ticket in tickets:
            one.release(ticket)


class TestWaitSeconds:
    def test_nothing_to_wait_for(self, limiter_pair):
        """A fresh tenant may send now."""
        limiter, _ = limiter_pair
        assert 0.0 == limiter.wait_seconds("t")

    def test_a_full_window(self, limiter_pair, clock):
        """After 60 requests, the wait is until the first one's window ends; asking never
        waits."""
        limiter, _ = limiter_pair
        for _ in range(60):
            with limiter.slot("t"):
                pass
        clock.advance(15)

        assert (45.0, 15.0) == (limiter.wait_seconds("t"), clock.monotonic())

    def test_a_park_is_the_time_to_the_reset(self, limiter_pair, clock):
        """While parked, the wait is the time until Xero's reset (no exception)."""
        limiter, _ = limiter_pair
        limiter.park("t", clock.now() + timedelta(minutes=90))

        assert 5400.0 == limiter.wait_seconds("t")

    def test_a_hold(self, limiter_pair):
        """After a hold, the wait is the hold."""
        limiter, _ = limiter_pair
        limiter.hold("t", 12.5)

        assert 12.5 == limiter.wait_seconds("t")


@pytest.fixture(name="limiter_pair")
def _limiter_pair(clock: FakeClock) -> tuple[RateLimiter, InProcessRateBudget]:
    budget = InProcessRateBudget()
    return RateLimiter(clock=clock, backend=budget), budget


class TestOverWaitFixed:
    def test_150_requests_at_half_a_second_take_the_floor(self, clock):
        """Against FakeXero with 0.5 s per request, 150 requests one after another take two
        windows of 60.5 s plus 30 requests (136 s, no 429); counting each window from its
        60th answer took 195 s."""
        xero = FakeXero(clock)
        xero.in_flight_hook = lambda _request: clock.advance(0.5)
        client = xero.client()
        for _ in range(150):
            client.get_organisation()

        refused = [r for r in xero.requests if r.status == 429]
        assert (136.0, []) == (clock.monotonic(), refused)


# --- failing closed -------------------------------------------------------------------------


class Unreachable(InProcessRateBudget):
    """A shared budget whose server went away: every operation raises as Redis' would."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def _fail(self, tenant_id: str | None, operation: str) -> None:
        if self.down:
            raise RateBudgetUnavailable(
                backend="Redis at redis://:***@10.0.0.5:6379/0",
                operation=operation,
                reason="ConnectionError: Error 111 connecting to 10.0.0.5:6379.",
                tenant_id=tenant_id,
            )

    def readings(self, tenant_id, *, now, window, margin, limit):  # type: ignore[no-untyped-def]
        self._fail(tenant_id, "read the rate budget")
        return super().readings(tenant_id, now=now, window=window, margin=margin, limit=limit)

    def finish(self, lease, *, start, now, minute=None, day=None, app=None):  # type: ignore[no-untyped-def]
        self._fail(lease.tenant_id, "give an in-flight slot back")
        super().finish(lease, start=start, now=now, minute=minute, day=day, app=app)

    def park(self, tenant_id, *, until):  # type: ignore[no-untyped-def]
        self._fail(tenant_id, "share a day-limit park")
        super().park(tenant_id, until=until)


class TestFailClosed:
    def test_nothing_is_sent_when_the_budget_is_unreachable(self, clock):
        """With the shared budget down, a call raises RateBudgetUnavailable before anything
        reaches Xero; it is retryable, a worker retries it, and no password is in it."""
        xero = FakeXero(clock)
        budget = Unreachable()
        client = xero.client(rate_budget=budget)
        client.get_organisation()
        xero.clear_requests()
        budget.down = True

        with pytest.raises(RateBudgetUnavailable) as caught:
            client.get_organisation()

        error = caught.value
        assert ([], True, Failure.TRANSIENT) == (xero.requests, error.retryable, classify(error))
        assert isinstance(error, StorageError)
        assert "redis://:***@10.0.0.5:6379/0" in str(error) and "nothing was sent" in str(error)

    def test_a_push_reports_the_outage_per_invoice_and_sends_nothing(self):
        """The engine's push with the budget down: each invoice fails with the retryable
        RateBudgetUnavailable (so the worker retries it), and no write reached Xero."""
        from bms_xero.storage import MemoryStore
        from tests.engine.conftest import make_engine, make_invoice, make_xero

        xero = make_xero()
        customer = Customer(id="C-1", name="Acme", xero_contact_id=xero.add_contact(name="Acme"))
        budget = Unreachable()
        engine = make_engine(xero, MemoryStore(), rate_budget=budget)
        budget.down = True

        outcomes = engine.push_many([make_invoice(customer, 1), make_invoice(customer, 2)])

        assert [("RateBudgetUnavailable", True, Failure.TRANSIENT)] * 2 == [
            (type(o.error).__name__, o.error.retryable, classify(o.error)) for o in outcomes
        ]
        assert 0 == xero.count_requests(method="PUT") + xero.count_requests(method="POST")

    def test_an_answer_is_never_lost_to_the_budget(self, clock, caplog):
        """The budget failing after the request went: the call still returns Xero's answer
        (the slot's lease expires by itself) and says so in the log."""
        budget = Unreachable()
        limiter = RateLimiter(clock=clock, backend=budget)
        ticket = limiter.acquire("t")
        budget.down = True
        caplog.set_level(logging.WARNING, logger="bms_xero.xero.limits")

        limiter.release(ticket, Headers({"X-MinLimit-Remaining": "5"}))

        assert ["could not record a request's end"] == [r.getMessage()[:32] for r in caplog.records]

    def test_a_day_limit_is_still_raised_when_the_park_cannot_be_shared(self, clock):
        """A day-limit 429 raises DailyLimitReached (so the worker parks the tenant) even
        when the park could not be written to the shared budget."""
        xero = FakeXero(clock, day_limit=1)
        budget = Unreachable()
        client = xero.client(rate_budget=budget)
        client.get_organisation()

        def park_fails(tenant_id, *, until):  # type: ignore[no-untyped-def]
            raise RateBudgetUnavailable(
                backend="Redis", operation="share a day-limit park", reason="down"
            )

        budget.park = park_fails  # type: ignore[method-assign]

        with pytest.raises(DailyLimitReached):
            client.get_organisation()


# --- the client -----------------------------------------------------------------------------


class TestClient:
    def test_the_client_keeps_its_budget_where_it_is_told(self, clock):
        """XeroClient(rate_budget=...) builds its limiter on that backend; with_tenant copies
        share it."""
        budget = InProcessRateBudget()
        client = FakeXero(clock).client(rate_budget=budget)

        assert (budget, budget) == (
            client.limiter.backend,
            client.with_tenant("other").limiter.backend,
        )

    def test_a_limiter_and_another_budget_are_refused(self, clock):
        """A RateLimiter in limits already has its budget: a different rate_budget is refused
        before anything is sent."""
        xero = FakeXero(clock)
        limiter = RateLimiter(clock=clock)

        with pytest.raises(ConfigurationError, match="not both"):
            xero.client(limits=limiter, rate_budget=InProcessRateBudget())

    def test_a_budget_that_is_not_a_backend_is_refused(self, clock):
        """Anything that does not implement RateBudgetBackend is refused by the limiter."""
        with pytest.raises(ConfigurationError, match="RateBudgetBackend"):
            RateLimiter(clock=clock, backend=object())  # type: ignore[arg-type]

    def test_the_default_is_this_process(self, clock):
        """Without rate_budget, the client's budget is in this process."""
        client = XeroClient.from_client_credentials("id", "secret", clock=clock)

        assert isinstance(client.limiter.backend, InProcessRateBudget)
        client.close()


# --- leases ---------------------------------------------------------------------------------


class TestLeaseKeeper:
    def test_held_leases_are_renewed_and_lost_ones_dropped(self, caplog):
        """The keeper renews what is held, and drops (and logs) a lease that had expired."""
        renewed: list[list[str]] = []
        gone = SlotLease("t", "b")

        def renew(leases: list[SlotLease]) -> list[SlotLease]:
            renewed.append(sorted(lease.lease_id for lease in leases))
            return [lease for lease in leases if lease == gone]

        keeper = LeaseKeeper(renew, every=3600, name="test")
        keeper.add(SlotLease("t", "a"))
        keeper.add(gone)
        caplog.set_level(logging.WARNING, logger="bms_xero.xero.limits")
        keeper.renew_now()
        keeper.renew_now()
        keeper.close()

        assert [["a", "b"], ["a"]] == renewed
        assert "had expired before it was renewed" in caplog.records[0].getMessage()

    def test_a_failed_renewal_keeps_the_leases(self, caplog):
        """The server being down during a renewal is logged; the leases stay held."""

        def renew(leases: list[SlotLease]) -> list[SlotLease]:
            raise RateBudgetUnavailable(backend="Redis", operation="renew", reason="down")

        keeper = LeaseKeeper(renew, every=3600, name="test")
        keeper.add(SlotLease("t", "a"))
        caplog.set_level(logging.WARNING, logger="bms_xero.xero.limits")
        keeper.renew_now()
        keeper.close()

        assert [SlotLease("t", "a")] == keeper.held()
        assert "could not renew 1 slot lease" in caplog.records[0].getMessage()


# --- imports --------------------------------------------------------------------------------


def test_importing_the_client_never_imports_the_drivers():
    """bms_xero.xero imports neither redis nor psycopg; a missing driver is a
    ConfigurationError naming the extra to install."""
    code = (
        "import sys\n"
        "import bms_xero.xero as x\n"
        "print('redis' in sys.modules, 'psycopg' in sys.modules)\n"
        "sys.modules['redis'] = None\n"
        "try:\n"
        "    x.RedisRateBudget\n"
        "except Exception as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()

    assert [
        "False False",
        "ConfigurationError RedisRateBudget needs the redis package, which is not installed; "
        'pip install "bms-xero[redis]"',
    ] == out


def test_the_ticket_carries_its_numbers(clock):
    """A ticket names its request's numbers and slot, so its answer is matched to it."""
    limiter = RateLimiter(clock=clock)
    ticket = limiter.acquire("t")

    assert (1, 1, "t") == (ticket.seq, ticket.app_seq, ticket.lease and ticket.lease.tenant_id)
    limiter.release(ticket)


def test_parked_until_survives_as_given(clock):
    """The park's end comes back exactly as it was set (microseconds and zone)."""
    limiter = RateLimiter(clock=clock)
    resets_at = datetime(2026, 1, 6, 0, 0, 0, 500_001, tzinfo=UTC)
    limiter.park("t", resets_at)

    assert resets_at == limiter.state("t").parked_until
