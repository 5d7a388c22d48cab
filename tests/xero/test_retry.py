"""The retry policy and its decision, tested as pure functions with literal cases."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from bms_xero._backoff import Jitter, backoff_delay
from bms_xero.errors import (
    AuthError,
    ConfigurationError,
    DailyLimitReached,
    NotFound,
    RateLimited,
    TransportError,
    UnexpectedResponse,
    XeroUnavailable,
    XeroValidationError,
    XeroValidationMessage,
)
from bms_xero.xero import RetryPolicy
from bms_xero.xero._retry import (
    READ,
    WRITE,
    CallKind,
    Decision,
    NoAnswer,
    Raise,
    Refused,
    Retry,
    Throttled,
    TryFailure,
    Unavailable,
    Uncertain,
    failure_of,
)

#: Waits 1, 2, 4, 8 s; four tries; keys live 300 s.
EXACT = RetryPolicy(max_attempts=4, base_delay=1, max_delay=8, jitter=False, key_lifetime=300)
#: A write a try of which may have been carried out.
APPLIED = CallKind(write=True, maybe_applied=True)
TIMEOUT = NoAnswer(sent=True)  # a read timeout or a reset: it may have reached Xero
CONNECT = NoAnswer(sent=False)  # it never left (connect error, token endpoint down)
GAVE_UP = Raise("gave up after 4 tries")
NO_CHANGE = Raise("no resend would change this answer")
DAY = Raise("the day limit is used up; calls resume at Xero's reset")
EXPIRED = Uncertain("the idempotency key's lifetime would run out before the resend")


def decide(
    call: CallKind,
    failure: TryFailure,
    attempt: int,
    *,
    first_sent_at: float | None = 0.0,
    now: float = 10.0,
    policy: RetryPolicy = EXACT,
) -> Decision:
    return policy.decide(call, failure, attempt, first_sent_at, now, max_retry_after=60)


class TestReads:
    @pytest.mark.parametrize(
        ("failure", "attempt", "expected"),
        [
            (TIMEOUT, 1, Retry(1.0)),
            (TIMEOUT, 3, Retry(4.0)),
            (TIMEOUT, 4, GAVE_UP),
            (CONNECT, 1, Retry(1.0)),
            (CONNECT, 4, GAVE_UP),
            (Unavailable(503), 1, Retry(1.0)),
            (Unavailable(500), 2, Retry(2.0)),
            (Unavailable(502), 4, GAVE_UP),
        ],
        ids=str,
    )
    def test_passing_failures_are_retried_until_attempts_run_out(
        self, failure: TryFailure, attempt: int, expected: Decision
    ) -> None:
        """Timeouts, resets, connect errors and 5xx are retried after the backoff, then raised."""
        assert expected == decide(READ, failure, attempt)

    @pytest.mark.parametrize("status", [400, 401, 403, 404, None])
    def test_refusals_are_never_retried(self, status: int | None) -> None:
        """A 4xx (or a refusal with no status) is raised on the first try."""
        assert NO_CHANGE == decide(READ, Refused(status), 1)

    def test_a_read_has_no_key_lifetime(self) -> None:
        """A read is retried however long ago it was first sent."""
        assert Retry(1.0) == decide(READ, TIMEOUT, 1, first_sent_at=0.0, now=10_000.0)

    def test_no_retries_under_none(self) -> None:
        """RetryPolicy.none() raises after the first try."""
        assert Raise("gave up after 1 try") == decide(READ, TIMEOUT, 1, policy=RetryPolicy.none())


class TestRateLimits:
    def test_a_minute_429_waits_retry_after_holding_the_tenant(self) -> None:
        """A minute 429 waits Retry-After, holding the whole tenant."""
        assert Retry(20.0, hold_tenant=True) == decide(READ, Throttled("minute", 20.0), 1)

    def test_retry_after_replaces_the_backoff(self) -> None:
        """Xero's Retry-After is the wait, even when the backoff would be longer."""
        assert Retry(0.5, hold_tenant=True) == decide(READ, Throttled("minute", 0.5), 3)

    @pytest.mark.parametrize("problem", ["minute", "concurrent", None])
    def test_a_429_without_retry_after_waits_the_backoff(self, problem: str | None) -> None:
        """A minute, concurrent or unnamed 429 with no Retry-After waits the backoff."""
        assert Retry(2.0, hold_tenant=True) == decide(READ, Throttled(problem), 2)

    def test_a_long_retry_after_is_raised_not_slept(self) -> None:
        """A Retry-After above max_retry_after is raised at once."""
        expected = Raise("Xero asks to wait 600 s, more than 60 s")
        assert expected == decide(READ, Throttled("minute", 600.0), 1)

    def test_a_429_counts_against_the_attempts(self) -> None:
        """A 429 on the last try is raised."""
        assert GAVE_UP == decide(READ, Throttled("minute", 5.0), 4)

    @pytest.mark.parametrize("retry_after", [None, 5.0, 3600.0])
    def test_a_day_429_is_raised_at_once(self, retry_after: float | None) -> None:
        """The day limit is never waited out inside a call, however short its Retry-After."""
        assert DAY == decide(READ, Throttled("day", retry_after), 1)


class TestWrites:
    @pytest.mark.parametrize("failure", [CONNECT, Refused(400), Throttled("minute", 5.0)])
    def test_a_try_xero_never_carried_out_leaves_the_write_unapplied(
        self, failure: TryFailure
    ) -> None:
        """After a connect error, a refusal or a 429 the write is as good as unsent."""
        assert WRITE == WRITE.after(failure)

    @pytest.mark.parametrize("failure", [TIMEOUT, Unavailable(503)])
    def test_a_timeout_or_5xx_may_have_applied_the_write(self, failure: TryFailure) -> None:
        """After a timeout, a reset or a 5xx the write may have been carried out."""
        assert (APPLIED, READ, APPLIED) == (
            WRITE.after(failure),
            READ.after(failure),
            APPLIED.after(CONNECT),
        )

    def test_a_write_that_never_left_is_retried_without_a_key_lifetime(self) -> None:
        """A connect error (or the token endpoint failing) is retried like a read."""
        assert (Retry(1.0), Raise("gave up after 4 tries")) == (
            decide(WRITE, CONNECT, 1, now=10_000.0),
            decide(WRITE, CONNECT, 4),
        )

    @pytest.mark.parametrize("failure", [TIMEOUT, Unavailable(503)])
    def test_a_maybe_applied_write_is_resent_while_its_key_lives(self, failure: TryFailure) -> None:
        """A write that may have landed is resent (same key) while the key still lives."""
        assert Retry(2.0) == decide(WRITE, failure, 2, first_sent_at=0.0, now=297.0)

    @pytest.mark.parametrize(
        ("attempt", "now", "expected"),
        [
            (1, 298.5, Retry(1.0)),  # resent at 299.5 s: Xero still has the key
            (1, 299.0, EXPIRED),  # resent at exactly 300 s: the key may be gone
            (3, 298.0, EXPIRED),  # the 4 s backoff would carry it past
            (4, 10.0, Uncertain("gave up after 4 tries")),
        ],
    )
    def test_a_maybe_applied_write_is_uncertain_past_its_key_or_attempts(
        self, attempt: int, now: float, expected: Decision
    ) -> None:
        """Past the key's lifetime, or out of attempts, a maybe-applied write is uncertain."""
        assert expected == decide(WRITE, TIMEOUT, attempt, first_sent_at=0.0, now=now)

    @pytest.mark.parametrize(
        ("failure", "expected"),
        [
            (Refused(400), Uncertain("no resend would change this answer")),
            (Refused(401), Uncertain("no resend would change this answer")),
            (Throttled("day", 3600.0), Uncertain(DAY.reason)),
            (Throttled("minute", 600.0), Uncertain("Xero asks to wait 600 s, more than 60 s")),
        ],
        ids=str,
    )
    def test_any_stop_after_a_maybe_applied_try_is_uncertain(
        self, failure: TryFailure, expected: Decision
    ) -> None:
        """Once a try may have been applied, a refusal or a 429 that stops the resend is
        uncertain: the first try may still have done the work."""
        assert expected == decide(APPLIED, failure, 2)

    @pytest.mark.parametrize(
        ("failure", "now", "expected"),
        [
            (CONNECT, 10.0, Retry(2.0)),
            (Throttled("minute", 20.0), 10.0, Retry(20.0, hold_tenant=True)),
            (Throttled("minute", 20.0), 280.0, EXPIRED),
        ],
        ids=str,
    )
    def test_the_key_lifetime_bounds_every_resend(
        self, failure: TryFailure, now: float, expected: Decision
    ) -> None:
        """A connect error or a 429 on a resend is retried only while the key lives."""
        assert expected == decide(APPLIED, failure, 2, first_sent_at=0.0, now=now)


class TestKeyExpired:
    @pytest.mark.parametrize(
        ("call", "first_sent_at", "at", "expected"),
        [
            (APPLIED, 100.0, 399.9, False),
            (APPLIED, 100.0, 400.0, True),
            (APPLIED, None, 1_000.0, False),  # nothing has left yet
            (WRITE, 100.0, 1_000.0, False),  # never carried out: resending is always safe
            (READ, 100.0, 1_000.0, False),
        ],
    )
    def test_only_a_maybe_applied_write_expires(
        self, call: CallKind, first_sent_at: float | None, at: float, expected: bool
    ) -> None:
        """The key-lifetime rule binds only writes that may have been carried out."""
        assert expected == EXACT.key_expired(call, first_sent_at, at)


class TestJitter:
    def test_seeded_jitter_gives_todays_waits(self) -> None:
        """RetryPolicy.seeded(7) draws the same waits as before the decision was made pure."""
        policy = RetryPolicy.seeded(7)
        assert [
            Retry(0.16191638241658118),
            Retry(0.15084917392450192),
            Retry(1.3018689460797075),
        ] == [decide(READ, TIMEOUT, n, policy=policy) for n in (1, 2, 3)]

    def test_only_a_backoff_draws_jitter(self) -> None:
        """A Retry-After, a refusal or a day 429 draws nothing, so later waits don't shift."""
        policy = RetryPolicy.seeded(7)
        decide(READ, Throttled("minute", 20.0), 1, policy=policy)
        decide(READ, Refused(404), 1, policy=policy)
        decide(READ, Throttled("day"), 1, policy=policy)
        assert Retry(0.16191638241658118) == decide(READ, TIMEOUT, 1, policy=policy)

    def test_the_last_try_still_draws_its_jitter(self) -> None:
        """Running out of attempts draws the backoff first, as the client always has."""
        policy = RetryPolicy.seeded(7, max_attempts=1)
        rng = random.Random(7)
        rng.random()

        assert Raise("gave up after 1 try") == decide(READ, TIMEOUT, 1, policy=policy)
        assert 0.5 * rng.random() == policy.backoff(1)


class TestFailureOf:
    @pytest.mark.parametrize(
        ("error", "expected"),
        [
            (TransportError("timed out", sent=True), NoAnswer(sent=True)),
            (TransportError("refused", sent=False), NoAnswer(sent=False)),
            (
                RateLimited("slow down", problem="minute", retry_after=20.0),
                Throttled("minute", 20.0),
            ),
            (
                DailyLimitReached(resets_at=datetime(2026, 1, 6, tzinfo=UTC), retry_after=60.0),
                Throttled("day", 60.0),
            ),
            (XeroUnavailable("offline", status_code=503), Unavailable(503)),
            (XeroValidationError([XeroValidationMessage("Bad.")], status_code=400), Refused(400)),
            (AuthError("no", status_code=401), Refused(401)),
            (NotFound("gone", status_code=404), Refused(404)),
            # A 5xx whose body could not be read is not an outage the error tree names.
            (UnexpectedResponse("garbled", status_code=500), Refused(500)),
            (ConfigurationError("bad store"), Refused(None)),
        ],
        ids=lambda v: type(v).__name__,
    )
    def test_errors_are_classified_by_type(self, error: Exception, expected: TryFailure) -> None:
        """Each typed error becomes the failure value the decision reads."""
        assert expected == failure_of(error)  # type: ignore[arg-type]


class TestRetryPolicy:
    def test_backoff_doubles_up_to_the_bound(self):
        """Without jitter, waits double from base_delay and stop at max_delay."""
        policy = RetryPolicy(base_delay=1, max_delay=5, jitter=False)

        assert [1.0, 2.0, 4.0, 5.0, 5.0] == [policy.backoff(n) for n in range(1, 6)]

    def test_jitter_stays_within_the_backoff_and_is_reproducible(self):
        """Seeded jitter gives the same waits twice, each within its backoff."""
        first = [RetryPolicy.seeded(3, base_delay=1, max_delay=8).backoff(n) for n in (1, 2, 3)]
        again = [RetryPolicy.seeded(3, base_delay=1, max_delay=8).backoff(n) for n in (1, 2, 3)]

        assert first == again
        assert all(0 <= wait <= limit for wait, limit in zip(first, (1, 2, 4), strict=True))

    def test_none_never_retries(self):
        """RetryPolicy.none() allows one attempt and no wait."""
        policy = RetryPolicy.none()

        assert (1, 0.0) == (policy.max_attempts, policy.backoff(1))

    @pytest.mark.parametrize(
        "kwargs", [{"max_attempts": 0}, {"base_delay": -1}, {"jitter": True, "key_lifetime": -5}]
    )
    def test_bad_policies_are_refused(self, kwargs):
        """Nonsense settings are a configuration error."""
        with pytest.raises(ConfigurationError):
            RetryPolicy(**kwargs)


class TestBackoffDelay:
    """The one backoff computation that RetryPolicy and jobs.Backoff share."""

    @pytest.mark.parametrize(
        ("jitter", "fraction", "expected"),
        [(Jitter.NONE, 0.25, 40.0), (Jitter.FULL, 0.25, 10.0), (Jitter.EQUAL, 0.25, 25.0)],
        ids=str,
    )
    def test_jitter_picks_a_point_below_the_ceiling(
        self, jitter: Jitter, fraction: float, expected: float
    ) -> None:
        """None waits the ceiling, full jitter a fraction of it, equal jitter the upper half."""
        assert expected == backoff_delay(
            3, base=10, factor=2, max_delay=60, jitter=jitter, random=lambda: fraction
        )

    def test_the_ceiling_is_capped(self) -> None:
        """The exponential stops growing at max_delay."""
        assert [10.0, 30.0, 60.0, 60.0] == [
            backoff_delay(
                n, base=10, factor=3, max_delay=60, jitter=Jitter.NONE, random=random.random
            )
            for n in (1, 2, 3, 4)
        ]

    def test_a_random_source_out_of_range_is_clamped(self) -> None:
        """A random source answering outside [0, 1] can't stretch or invert a wait."""
        assert (0.0, 8.0) == (
            backoff_delay(1, base=8, factor=2, max_delay=8, jitter=Jitter.FULL, random=lambda: -1),
            backoff_delay(1, base=8, factor=2, max_delay=8, jitter=Jitter.FULL, random=lambda: 7),
        )

    def test_no_jitter_draws_nothing(self) -> None:
        """Without jitter the random source is never called."""

        def boom() -> float:
            raise AssertionError("drew jitter")

        assert 4.0 == backoff_delay(
            3, base=1, factor=2, max_delay=8, jitter=Jitter.NONE, random=boom
        )
