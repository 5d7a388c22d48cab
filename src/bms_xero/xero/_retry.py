"""When to try a request again, and how long to wait first: the client's retry decision.

The client's send loop is four steps: send, classify what went wrong into a small frozen
value (:func:`failure_of`), ask :meth:`RetryPolicy.decide`, act on the answer. Every rule
about retries lives in ``decide``, which is pure: plain values in, a frozen :class:`Retry`,
:class:`Raise` or :class:`Uncertain` out, so each rule is a literal test with no HTTP and no
clock (``tests/xero/test_retry.py``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import ClassVar

import attrs

from bms_xero._backoff import Jitter, backoff_delay, default_random
from bms_xero.errors import (
    BmsXeroError,
    ConfigurationError,
    RateLimited,
    RemoteError,
    TransportError,
    XeroUnavailable,
)

__all__ = [
    "READ",
    "WRITE",
    "CallKind",
    "Decision",
    "NoAnswer",
    "Raise",
    "Refused",
    "Retry",
    "RetryPolicy",
    "Throttled",
    "TryFailure",
    "Unavailable",
    "Uncertain",
    "failure_of",
]

# --- what a try's failure was -----------------------------------------------------------------


@attrs.frozen
class NoAnswer:
    """No usable answer came back: a connect error, a timeout, a reset connection.

    Attributes:
        sent: Whether the request may have reached Xero (``False`` only when it certainly
            never left, e.g. the connection could not be opened), which decides whether a
            write may have been carried out.
    """

    sent: bool

    @property
    def may_have_applied(self) -> bool:
        """Whether Xero may have carried the request out."""
        return self.sent


@attrs.frozen
class Unavailable:
    """Xero answered 5xx (503 "The Organisation is offline" included): try again later.

    Attributes:
        status: The status Xero answered.
    """

    status: int = 503
    #: A 5xx can come after Xero did the work, so a write's outcome is unknown.
    may_have_applied: ClassVar[bool] = True


@attrs.frozen
class Throttled:
    """A 429: Xero (or its token endpoint) refused the request for a rate limit.

    Attributes:
        problem: Xero's ``X-Rate-Limit-Problem`` (``minute``, ``day``, ``concurrent``, ...).
        retry_after: Seconds Xero asked us to wait, when it said.
    """

    problem: str | None = None
    retry_after: float | None = None
    #: Xero checks its limits before it does anything.
    may_have_applied: ClassVar[bool] = False

    @property
    def day(self) -> bool:
        """Whether the day limit is used up (no wait inside a call will end it)."""
        return self.problem == "day"


@attrs.frozen
class Refused:
    """An answer no resend would change: 4xx, an auth failure at the token endpoint, an
    answer that can't be read, a store that said no.

    Attributes:
        status: The HTTP status, when there was one.
    """

    status: int | None = None
    #: Xero carries nothing out when it refuses a request.
    may_have_applied: ClassVar[bool] = False


#: What went wrong with one try, as much of it as the decision needs.
TryFailure = NoAnswer | Unavailable | Throttled | Refused


def failure_of(error: BmsXeroError) -> TryFailure:
    """The failure value for the typed error a try ended with.

    Decided by the error's type, as the error tree promises: only transport errors, 429s and
    5xx (:class:`~bms_xero.errors.XeroUnavailable`) can pass; everything else is refused.
    """
    if isinstance(error, TransportError):
        return NoAnswer(sent=error.sent)
    if isinstance(error, RateLimited):  # DailyLimitReached too: its problem is "day"
        return Throttled(error.problem, error.retry_after)
    if isinstance(error, XeroUnavailable):
        return Unavailable(error.status_code if error.status_code is not None else 503)
    return Refused(error.status_code if isinstance(error, RemoteError) else None)


# --- what kind of call it is ------------------------------------------------------------------


@attrs.frozen
class CallKind:
    """What the decision needs to know about the call: a read or a write, and its history.

    Attributes:
        write: The call changes data in Xero (it carries the caller's ``Idempotency-Key``).
        maybe_applied: A try of this write may have been carried out already: from then on
            the write is resent only while Xero still remembers its key, and a failure that
            stops it is an :class:`~bms_xero.errors.UncertainOutcome`.
    """

    write: bool
    maybe_applied: bool = False

    def after(self, failure: TryFailure) -> CallKind:
        """The call after a try that ended in ``failure`` (a read never becomes applied)."""
        if self.maybe_applied or not (self.write and failure.may_have_applied):
            return self
        return CallKind(write=True, maybe_applied=True)


#: A read: always safe to repeat.
READ = CallKind(write=False)
#: A write no try of which has been carried out yet.
WRITE = CallKind(write=True)

# --- what to do -------------------------------------------------------------------------------


@attrs.frozen
class Retry:
    """Send again after ``delay`` seconds.

    Attributes:
        delay: Seconds to wait first.
        hold_tenant: Wait by holding the whole tenant in the rate limiter (a 429), so the
            client's other threads wait too instead of hitting the same limit; otherwise
            only this call sleeps.
    """

    delay: float
    hold_tenant: bool = False


@attrs.frozen
class Raise:
    """Stop and raise the try's own typed error: nothing was carried out, or it is a read.

    Attributes:
        reason: Why it isn't retried.
    """

    reason: str


@attrs.frozen
class Uncertain:
    """Stop and raise :class:`~bms_xero.errors.UncertainOutcome`: a try of this write may
    have been carried out and it can't be resent safely.

    Attributes:
        reason: Why it can't be resent.
    """

    reason: str


#: The answer to "what now?" after a failed try.
Decision = Retry | Raise | Uncertain

# --- the policy -------------------------------------------------------------------------------


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigurationError(
            f"RetryPolicy.{attribute.name} must be a number >= 0, not {value!r}"
        )


def _attempts(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(
            f"RetryPolicy.{attribute.name} must be a whole number >= 1 (1 means no retries), "
            f"not {value!r}"
        )


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How the client retries: exponential backoff with jitter, bounded in count and time.

    Reads are retried after connect errors, timeouts, resets, 5xx (including 503 "The
    Organisation is offline") and minute/concurrent 429s. Writes are retried only with the
    same ``Idempotency-Key``, and only while ``now - first send < key_lifetime``; past that,
    or when attempts run out, the client raises
    :class:`~bms_xero.errors.UncertainOutcome`. Waits go through the client's clock, so a
    ``FakeClock`` makes them instant and observable. :meth:`decide` holds every rule.

    Attributes:
        max_attempts: Tries per call, the first included (1 = never retry).
        base_delay: Seconds before the first retry (doubled each time).
        max_delay: Upper bound of one wait.
        jitter: Wait a random fraction of the backoff ("full jitter") so that many clients
            don't retry in step.
        key_lifetime: Seconds after a write's first send during which it may be resent with
            the same key; Xero keeps keys about 6 minutes, so the default 300 s stays clear
            of the edge.
        random: Returns floats in [0, 1) for the jitter; inject a seeded one in tests.
    """

    max_attempts: int = attrs.field(default=4, validator=_attempts)
    base_delay: float = attrs.field(default=0.5, validator=_positive)
    max_delay: float = attrs.field(default=30.0, validator=_positive)
    jitter: bool = True
    key_lifetime: float = attrs.field(default=300.0, validator=_positive)
    random: Callable[[], float] = attrs.field(factory=default_random, eq=False, repr=False)

    @classmethod
    def none(cls) -> RetryPolicy:
        """Never retry (each call is attempted once): for tests that count requests."""
        return cls(max_attempts=1, base_delay=0.0, max_delay=0.0, jitter=False)

    @classmethod
    def seeded(cls, seed: int, **kwargs: object) -> RetryPolicy:
        """A policy whose jitter is reproducible from ``seed``."""
        rng = random.Random(seed)  # noqa: S311 - jitter, not security
        return cls(random=rng.random, **kwargs)  # type: ignore[arg-type]

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry).

        Full jitter: a random point between 0 and the doubled, capped backoff. Waits inside
        a call are short, so spreading clients out matters more than a lower bound.
        """
        return backoff_delay(
            retry,
            base=self.base_delay,
            factor=2,
            max_delay=self.max_delay,
            jitter=Jitter.FULL if self.jitter else Jitter.NONE,
            random=self.random,
        )

    def key_expired(self, call: CallKind, first_sent_at: float | None, at: float) -> bool:
        """Whether sending ``call`` again at ``at`` (monotonic seconds) is no longer safe.

        The key-lifetime rule, stated once: a write that may have been carried out is
        resent only with the same ``Idempotency-Key`` and only while Xero still remembers
        it (``at - first_sent_at < key_lifetime``), so that Xero replays its first answer
        instead of doing the work twice. A read, or a write never carried out, has no such
        limit.
        """
        return (
            call.write
            and call.maybe_applied
            and first_sent_at is not None
            and at - first_sent_at >= self.key_lifetime
        )

    def decide(
        self,
        call: CallKind,
        failure: TryFailure,
        attempt: int,
        first_sent_at: float | None,
        now: float,
        *,
        max_retry_after: float = math.inf,
    ) -> Decision:
        """What to do after try number ``attempt`` (1 for the first) of ``call`` failed.

        Pure apart from drawing the jitter from :attr:`random` (once for each backoff it
        computes, as :meth:`backoff` does), so a seeded policy makes it reproducible.

        - A refusal (4xx, an auth failure, ...) is raised: resending can't change it.
        - A day-limit 429 is raised at once (the client parks the tenant; no wait inside a
          call would end it).
        - A minute or concurrent 429 is retried after its ``Retry-After`` (the backoff when
          it gave none), holding the whole tenant; a ``Retry-After`` longer than
          ``max_retry_after`` is raised rather than slept through.
        - No answer and 5xx are retried after the backoff.
        - Nothing is retried once ``attempt`` reaches :attr:`max_attempts`.
        - Once a try of a write may have been carried out (this one, or an earlier one in
          ``call``), every stop is :class:`Uncertain`, and a retry that would resend past
          the key's lifetime (:meth:`key_expired`) is too.

        Args:
            call: The call, with what its earlier tries did.
            failure: How this try failed.
            attempt: The number of this try.
            first_sent_at: When a try of this call first left (monotonic), if one did.
            now: The time now (monotonic).
            max_retry_after: The longest 429 wait worth sleeping through
                (:attr:`RateLimits.max_retry_after`).
        """
        call = call.after(failure)
        wait = self._wait(failure, attempt, max_retry_after)
        if isinstance(wait, Raise):
            return Uncertain(wait.reason) if call.maybe_applied else wait
        if self.key_expired(call, first_sent_at, now + wait):
            return Uncertain("the idempotency key's lifetime would run out before the resend")
        return Retry(wait, hold_tenant=isinstance(failure, Throttled))

    def _wait(self, failure: TryFailure, attempt: int, max_retry_after: float) -> float | Raise:
        """How long ``failure`` alone asks to wait before the next try, or why not to try."""
        if isinstance(failure, Refused):
            return Raise("no resend would change this answer")
        if isinstance(failure, Throttled):
            if failure.day:
                return Raise("the day limit is used up; calls resume at Xero's reset")
            wait = self.backoff(attempt) if failure.retry_after is None else failure.retry_after
            if attempt >= self.max_attempts:
                return self._spent(attempt)
            if wait > max_retry_after:
                return Raise(f"Xero asks to wait {wait:g} s, more than {max_retry_after:g} s")
            return wait
        wait = self.backoff(attempt)
        if attempt >= self.max_attempts:
            return self._spent(attempt)
        return wait

    @staticmethod
    def _spent(attempt: int) -> Raise:
        return Raise(f"gave up after {attempt} {'try' if attempt == 1 else 'tries'}")
