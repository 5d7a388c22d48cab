"""The rate limiter, on a fake clock (the retry policy is in test_retry.py)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from bms_xero.clock import FakeClock
from bms_xero.errors import ConfigurationError, DailyLimitReached
from bms_xero.transport import Headers
from bms_xero.xero import LimitState, RateLimiter, RateLimits
from bms_xero.xero._limits import nap


class _AnswersWhileSleeping(FakeClock):
    """A fake clock that, the first time something sleeps on it, runs the given answers."""

    def __init__(self, answers: list[object]) -> None:
        super().__init__()
        self._answers = answers

    def sleep(self, seconds: float) -> None:
        answers, self._answers = self._answers, []
        for answer in answers:
            answer()  # type: ignore[operator]
        super().sleep(seconds)


@pytest.mark.parametrize(
    ("wait", "expected"),
    [(0.25, 0.25), (1.0, 1.0), (59.5, 1.0), (1.5, 1.0)],
)
def test_a_long_wait_is_slept_a_second_at_a_time(wait, expected):
    """A wait of at most a second is slept whole; a longer one a second at a time."""
    assert expected == nap(wait)


@pytest.fixture(name="clock")
def _clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(name="limiter")
def _limiter(clock: FakeClock) -> RateLimiter:
    return RateLimiter(RateLimits(), clock=clock)


class TestRateLimiter:
    def test_sixty_a_minute_then_wait_for_the_window(self, limiter, clock):
        """The 61st request in a minute waits until the first one leaves the window."""
        for _ in range(60):
            with limiter.slot("t"):
                pass
        with limiter.slot("t"):
            pass

        assert 60.0 == clock.monotonic()

    def test_tenants_have_separate_budgets(self, limiter, clock):
        """One tenant's spent minute does not slow another tenant."""
        for _ in range(60):
            with limiter.slot("a"):
                pass
        with limiter.slot("b"):
            pass

        assert 0.0 == clock.monotonic()

    def test_reported_remaining_counts_requests_sent_since(self, limiter, clock):
        """Xero's remaining budget is reduced by what was sent after the reporting request."""
        reporting = limiter.acquire("t")
        later = limiter.acquire("t")
        limiter.release(reporting, Headers({"X-MinLimit-Remaining": "5"}))
        limiter.release(later)

        assert 4 == limiter.state("t").minute_remaining

    def test_a_stale_header_does_not_override_a_newer_one(self, limiter):
        """A late answer to an older request doesn't replace a newer report."""
        older, newer = limiter.acquire("t"), limiter.acquire("t")
        limiter.release(newer, Headers({"X-DayLimit-Remaining": "100"}))
        limiter.release(older, Headers({"X-DayLimit-Remaining": "900"}))

        assert 100 == limiter.state("t").day_remaining

    def test_app_budget_from_header(self, limiter, clock):
        """X-AppMinLimit-Remaining: 0 makes any tenant wait for the app window."""
        ticket = limiter.acquire("a")
        limiter.release(ticket, Headers({"X-AppMinLimit-Remaining": "0"}))
        clock.advance(10)

        with limiter.slot("b"):
            pass

        assert 60.0 == clock.monotonic()

    def test_unreadable_headers_are_ignored(self, limiter):
        """Header values that aren't whole numbers change nothing."""
        ticket = limiter.acquire("t")
        limiter.release(ticket, Headers({"X-MinLimit-Remaining": "lots"}))

        assert 59 == limiter.state("t").minute_remaining

    def test_park_refuses_until_reset(self, limiter, clock):
        """A parked tenant is refused without waiting, until resets_at."""
        resets_at = clock.now() + timedelta(hours=2)
        limiter.park("t", resets_at)

        with pytest.raises(DailyLimitReached) as caught:
            limiter.acquire("t")
        clock.advance(7200)
        limiter.release(limiter.acquire("t"))

        assert (resets_at, 7200.0) == (caught.value.resets_at, caught.value.retry_after)
        assert None is limiter.state("t").parked_until

    def test_hold_delays_the_next_request(self, limiter, clock):
        """After hold(), the next request waits out the hold."""
        limiter.hold("t", 12)

        with limiter.slot("t"):
            pass

        assert 12.0 == clock.monotonic()

    def test_at_most_five_in_flight(self, clock):
        """A sixth concurrent request waits until one of five in flight finishes."""
        limiter = RateLimiter(RateLimits(), clock=clock)
        tickets = [limiter.acquire("t") for _ in range(5)]
        started = threading.Event()
        done = threading.Event()

        def sixth() -> None:
            started.set()
            with limiter.slot("t"):
                done.set()

        worker = threading.Thread(target=sixth)
        worker.start()
        started.wait(timeout=10)
        blocked = not done.wait(timeout=0.05)
        limiter.release(tickets[0])
        worker.join(timeout=10)

        assert (True, True, 4) == (blocked, done.is_set(), limiter.state("t").in_flight)
        for ticket in tickets[1:]:
            limiter.release(ticket)

    def test_a_wait_ends_when_the_newest_reading_says(self):
        """A wait decided from an answer that a newer one replaces while the caller sleeps
        ends at the newer one's reset (60.5 s), not a window after the older answer (74 s).

        Request 1 went at 0 s (answered at 0.5 s), requests 2-60 at 1 s; at 14 s the
        answers to 2-56 say 0 left, counting 57-60 still in flight (no window of ours opens
        56 - 60 + 1 = -3), and the answers to 57-60 come while the 61st sleeps."""
        late: list[object] = []
        clock = _AnswersWhileSleeping(late)
        limiter = RateLimiter(RateLimits(concurrent=60), clock=clock)
        spent = Headers({"X-MinLimit-Remaining": "0"})
        first = limiter.acquire("t")
        clock.advance(0.5)
        limiter.release(first, Headers({"X-MinLimit-Remaining": "59"}))
        clock.advance(0.5)
        tickets = [limiter.acquire("t") for _ in range(59)]
        clock.advance(13.0)
        for ticket in tickets[:55]:
            limiter.release(ticket, spent)
        late.extend(lambda t=t: limiter.release(t, spent) for t in tickets[55:])

        limiter.release(limiter.acquire("t"))

        assert 60.5 == clock.monotonic()

    def test_state(self, limiter):
        """The state reports what the limiter knows."""
        assert LimitState(
            tenant_id="t",
            in_flight=0,
            minute_remaining=60,
            day_remaining=None,
            app_minute_remaining=None,
            parked_until=None,
        ) == limiter.state("t")

    def test_bad_limits_are_refused(self):
        """Limits below one are a configuration error."""
        with pytest.raises(ConfigurationError):
            RateLimits(concurrent=0)


@pytest.mark.parametrize(
    ("remaining", "per_day", "warning", "expected"),
    [
        (None, 1000, 0.1, False),  # Xero hasn't said
        (101, 1000, 0.1, False),
        (100, 1000, 0.1, True),  # a tenth of the Starter plan's 1,000 left
        (0, 1000, 0.1, True),
        (499, 5000, 0.1, True),
        (1, 5, 0.1, True),  # rounded up to whole calls: 0.5 -> 1
        (0, 1000, 0.0, True),  # warning 0: only when nothing is left
        (1, 1000, 0.0, False),
    ],
)
def test_near_day_limit(remaining, per_day, warning, expected):
    """Near the day limit means at most `warning` of the day budget left, by Xero's header."""
    from bms_xero.xero._limits import near_day_limit

    assert expected == near_day_limit(remaining, per_day=per_day, warning=warning)


class TestDayBudget:
    def test_state_says_when_a_tenant_is_near_its_day_limit(self, clock):
        """With the Starter plan's 1,000 calls a day, 100 left is near the limit; the
        state carries the budget too."""
        limiter = RateLimiter(RateLimits(per_day=1000), clock=clock)
        limiter.release(limiter.acquire("t"), Headers({"X-DayLimit-Remaining": "101"}))
        before = limiter.state("t")
        limiter.release(limiter.acquire("t"), Headers({"X-DayLimit-Remaining": "100"}))

        assert (1000, False, True) == (
            before.day_limit,
            before.near_day_limit,
            limiter.state("t").near_day_limit,
        )

    def test_the_warning_is_logged_once_per_crossing(self, clock, caplog):
        """Running low is logged once (naming the tenant and the figures), not on every
        answer, and again after the budget was refilled and ran low again."""
        limiter = RateLimiter(RateLimits(per_day=1000), clock=clock)
        caplog.set_level("WARNING", logger="bms_xero.xero.limits")
        for remaining in ("150", "100", "99", "98", "1000", "90"):
            limiter.release(limiter.acquire("t"), Headers({"X-DayLimit-Remaining": remaining}))

        warnings = [r.getMessage() for r in caplog.records if r.name == "bms_xero.xero.limits"]
        assert 2 == len(warnings)
        assert "tenant t" in warnings[0] and "100 of 1000 calls left" in warnings[0]

    def test_a_client_on_a_small_plan_sees_it_in_limit_state(self):
        """Against FakeXero with a 20-call day, a client told per_day=20 reports
        near_day_limit once two calls are left."""
        from bms_xero.testing import FakeXero

        xero = FakeXero(seed=5, day_limit=20)
        client = xero.client(limits=RateLimits(per_day=20))
        states = []
        for _ in range(18):
            client.get_organisation()
            states.append(client.limit_state().near_day_limit)

        assert ([False] * 17 + [True], 2) == (states, client.limit_state().day_remaining)

    @pytest.mark.parametrize(
        "changes",
        [{"per_day": 0}, {"day_warning": 1}, {"day_warning": -0.1}, {"day_warning": True}],
    )
    def test_bad_day_budgets_are_refused(self, changes):
        """A day budget below one call, or a warning share outside [0, 1), is refused."""
        with pytest.raises(ConfigurationError):
            RateLimits(**changes)
