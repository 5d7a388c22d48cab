"""Xero's rate limits, per tenant: pace requests so that Xero rarely has to say 429.

Xero allows each tenant 5 requests in flight, 60 per minute and a day budget that depends on
the app's plan (5,000; 1,000 on the "Starter" plan of March 2026), and each app 10,000 per
minute across tenants; every answer says how much is left in ``X-MinLimit-Remaining``,
``X-DayLimit-Remaining`` and ``X-AppMinLimit-Remaining``. The :class:`RateLimiter` counts what
is sent (in this process, or in every process sharing a :class:`RateBudgetBackend`, see
``_budget``), corrects its estimate from those headers, and waits (on the injected clock) for
the minute window instead of provoking a 429. The window counts from when each request was
sent, as Xero's does from when it arrived. When an organisation's day budget
runs low (:attr:`RateLimits.day_warning` of :attr:`RateLimits.per_day` left, by Xero's header)
it logs a warning once and says so in :attr:`LimitState.near_day_limit`. A day-limit 429
parks the tenant until Xero's ``Retry-After``: later calls fail at once with
:class:`~bms_xero.errors.DailyLimitReached` without being sent, and nothing ever sleeps
through a day limit.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import attrs

from bms_xero.clock import Clock
from bms_xero.errors import ConfigurationError, DailyLimitReached
from bms_xero.transport import Headers
from bms_xero.xero._budget import (
    BudgetReadings,
    InProcessRateBudget,
    RateBudgetBackend,
    RateBudgetUnavailable,
    RequestStart,
    SlotLease,
    estimate,
    minute_remaining,
    seconds_to_wait,
)

__all__ = ["LimitState", "RateLimiter", "RateLimits", "near_day_limit"]

log = logging.getLogger("bms_xero.xero.limits")


def _at_least_one(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"RateLimits.{attribute.name} must be a whole number >= 1")


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigurationError(f"RateLimits.{attribute.name} must be a number > 0")


def _not_negative(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ConfigurationError(f"RateLimits.{attribute.name} must be a number of seconds >= 0")


def _share(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ConfigurationError(
            f"RateLimits.{attribute.name} must be a share of the day budget, 0 <= x < 1"
        )


@attrs.frozen(kw_only=True)
class RateLimits:
    """The limits the client paces itself to (Xero's published ones by default).

    Attributes:
        concurrent: Requests in flight per tenant.
        per_minute: Requests per tenant per minute window.
        window: The minute window's length in seconds.
        max_retry_after: The longest ``Retry-After`` the client waits out on a minute (or
            other short) 429; a longer one is raised as
            :class:`~bms_xero.errors.RateLimited` for the caller to schedule.
        day_park: Seconds to park a tenant after a day-limit 429 that gave no
            ``Retry-After`` (the next call after that probes Xero again).
        per_day: Calls per organisation per day that the app's Xero plan allows: 5,000, or
            1,000 on the Starter plan (``RateLimits(per_day=1000)``). Xero enforces it; the
            limiter uses it to warn before it runs out.
        day_warning: Warn when at most this share of ``per_day`` is left (0.1: at 100 calls
            left of 1,000).
        latency_margin: Xero's minute window starts when a request *reaches* Xero, some
            time after it was sent; a request counts until ``window`` after it was sent
            plus its own round trip, at most this many seconds (0 latency: exactly
            ``window``). Without it, a request sent the instant the window frees could reach
            Xero before its window did and get a 429.

    .. versionchanged:: Unreleased
        ``per_day``, ``day_warning`` and ``latency_margin``.
    """

    concurrent: int = attrs.field(default=5, validator=_at_least_one)
    per_minute: int = attrs.field(default=60, validator=_at_least_one)
    window: float = attrs.field(default=60.0, validator=_positive)
    max_retry_after: float = attrs.field(default=60.0, validator=_positive)
    day_park: float = attrs.field(default=3600.0, validator=_positive)
    per_day: int = attrs.field(default=5000, validator=_at_least_one)
    day_warning: float = attrs.field(default=0.1, validator=_share)
    latency_margin: float = attrs.field(default=1.0, validator=_not_negative)


@attrs.frozen(kw_only=True)
class LimitState:
    """What the limiter knows about one tenant right now (for tests and status panels).

    Attributes:
        tenant_id: The tenant (``None`` for a custom connection without a tenant id).
        in_flight: Requests being sent now.
        minute_remaining: Requests left in the current minute, by our best estimate.
        day_remaining: Requests left today per Xero's last header (minus those sent since),
            ``None`` before Xero said.
        app_minute_remaining: The app-wide minute budget per Xero's last header, if known.
        parked_until: When a day limit ends, while the tenant is parked.
        day_limit: The day budget the limiter was given (:attr:`RateLimits.per_day`).
        near_day_limit: At most :attr:`RateLimits.day_warning` of the day budget is left
            (see :func:`near_day_limit`): slow down, or expect
            :class:`~bms_xero.errors.DailyLimitReached` before the day ends.

    .. versionchanged:: Unreleased
        ``day_limit`` and ``near_day_limit``.
    """

    tenant_id: str | None
    in_flight: int
    minute_remaining: int
    day_remaining: int | None
    app_minute_remaining: int | None
    parked_until: datetime | None
    day_limit: int = 5000
    near_day_limit: bool = False


def near_day_limit(remaining: int | None, *, per_day: int, warning: float) -> bool:
    """Whether ``remaining`` calls (``None``: Xero hasn't said) is at most ``warning`` of the
    ``per_day`` budget (rounded up to whole calls), e.g. 100 or fewer of 1,000 at 0.1."""
    return remaining is not None and remaining <= math.ceil(per_day * warning)


def _header_int(headers: Headers, name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if number >= 0 else None


@attrs.frozen
class Ticket:
    """One reserved request slot; hand it back to :meth:`RateLimiter.release`.

    Attributes:
        tenant_id: The tenant it was reserved for.
        seq: The request's number in the tenant's window (shared by every process).
        app_seq: Its number among the app's requests.
        lease: The in-flight slot it holds.
    """

    tenant_id: str | None
    seq: int
    app_seq: int
    lease: SlotLease | None = None


#: Real seconds a caller waits for a free in-flight slot before it looks at the budget again
#: (a park or a hold set meanwhile by another process then stops it).
_SLOT_WAIT = 1.0

#: Clock seconds a caller waits for the minute budget before it reads the budget again.
_RECHECK = 1.0


def nap(wait: float, *, recheck: float = _RECHECK) -> float:
    """How long a caller that must wait ``wait`` seconds sleeps before it reads the budget
    again: all of it when that is at most ``recheck``, else ``recheck``.

    A wait is decided from the newest reading, and a reading can be replaced a moment later:
    the answers of requests in flight together come back one after another, and one that
    says the minute is spent before the newest one came can name no window of ours (the
    wait is then a whole window after that answer: at 1 s a request, about 13 s past the
    reset). Read again every ``recheck``, a caller waits at most that much longer than the
    newest reading says, at the cost of one budget read per ``recheck`` while it waits.
    """
    return wait if wait <= recheck else recheck


class RateLimiter:
    """Per-tenant pacing shared by every client of one connection. Thread-safe.

    What the pacing reads (slots, the minute window, Xero's readings, holds and parks) is in
    a :class:`~bms_xero.xero.RateBudgetBackend`: by default an
    :class:`~bms_xero.xero.InProcessRateBudget` (this process only); share a
    ``RedisRateBudget`` or ``PostgresRateBudget`` between processes and every one of them
    keeps to one budget per organisation. The decisions are the pure functions of
    ``bms_xero.xero._budget``.

    Args:
        limits: The limits to keep to.
        clock: Where time comes from and where waits happen.
        backend: Where the budget is kept (default: in this process).

    .. versionchanged:: Unreleased
        ``backend``; the minute window counts from when each request was sent; a wait
        for the minute budget reads the budget again every second.
    """

    def __init__(
        self,
        limits: RateLimits | None = None,
        *,
        clock: Clock,
        backend: RateBudgetBackend | None = None,
    ) -> None:
        if limits is not None and not isinstance(limits, RateLimits):
            raise ConfigurationError(f"limits must be RateLimits or None, not {limits!r}")
        if backend is not None and not isinstance(backend, RateBudgetBackend):
            raise ConfigurationError(
                f"backend must implement RateBudgetBackend, not {type(backend).__name__}; use "
                "InProcessRateBudget, RedisRateBudget or PostgresRateBudget"
            )
        self.limits = limits or RateLimits()
        self._clock = clock
        self._backend: RateBudgetBackend = backend if backend is not None else InProcessRateBudget()
        self._lock = threading.Lock()
        # Day-limit warnings are logged by each process once per crossing, newest answer first.
        self._day_seen: dict[str | None, int] = {}
        self._warned: dict[str | None, bool] = {}

    @property
    def backend(self) -> RateBudgetBackend:
        """Where the budget is kept."""
        return self._backend

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _readings(self, tenant_id: str | None, now: float) -> BudgetReadings:
        return self._backend.readings(
            tenant_id,
            now=now,
            window=self.limits.window,
            margin=self.limits.latency_margin,
            limit=self.limits.per_minute,
        )

    def _check_parked(self, readings: BudgetReadings) -> None:
        parked = readings.parked_until
        if parked is None:
            return
        now = self._clock.now()
        if now < parked:
            raise DailyLimitReached(
                resets_at=parked,
                retry_after=(parked - now).total_seconds(),
                tenant_id=readings.tenant_id,
            )

    def acquire(self, tenant_id: str | None) -> Ticket:
        """Reserve a slot for one request, waiting for the minute budget if needed (reading
        the budget again every second of a wait, see :func:`nap`).

        Raises:
            DailyLimitReached: The tenant is parked after a day-limit 429 (nothing is sent).
            RateBudgetUnavailable: A shared budget could not be reached (nothing is sent).
        """
        lease: SlotLease | None = None
        try:
            while True:
                now = self._now()
                readings = self._readings(tenant_id, now)
                self._check_parked(readings)
                wait = seconds_to_wait(readings, now=now, limits=self.limits)
                if wait > 0:
                    if lease is not None:  # never sit on a slot through a wait
                        self._give_back(lease)
                        lease = None
                    self._clock.sleep(nap(wait))
                    continue
                if lease is None:
                    lease = self._backend.take_slot(
                        tenant_id, concurrent=self.limits.concurrent, timeout=_SLOT_WAIT
                    )
                    if lease is None:
                        continue
                start = self._backend.record_start(
                    tenant_id,
                    now=self._now(),
                    window=self.limits.window,
                    keep=2 * self.limits.window + self.limits.latency_margin,
                    limit=self.limits.per_minute,
                )
                if start is not None:
                    return Ticket(tenant_id, start.seq, start.app_seq, lease)
                # Another process took the window's last place since the reading: read again.
        except BaseException:
            if lease is not None:
                self._give_back(lease)
            raise

    def _give_back(self, lease: SlotLease) -> None:
        """A slot taken for a request that was never counted, given back."""
        try:
            self._backend.finish(lease, start=None, now=self._now())
        except RateBudgetUnavailable as e:
            log.warning("could not give an in-flight slot back (it expires by itself): %s", e)

    def release(self, ticket: Ticket, headers: Headers | None = None) -> None:
        """Give the slot back, learning the remaining budgets from Xero's answer.

        Never raises for a shared budget that can't be reached: the answer already came, the
        slot's lease expires by itself and the next answer brings fresh readings.
        """
        minute = day = app = None
        if headers is not None:
            minute = _header_int(headers, "X-MinLimit-Remaining")
            day = _header_int(headers, "X-DayLimit-Remaining")
            app = _header_int(headers, "X-AppMinLimit-Remaining")
        if ticket.lease is not None:
            try:
                self._backend.finish(
                    ticket.lease,
                    start=RequestStart(ticket.seq, ticket.app_seq),
                    now=self._now(),
                    minute=minute,
                    day=day,
                    app=app,
                )
            except RateBudgetUnavailable as e:
                log.warning("could not record a request's end in the rate budget: %s", e)
        if day is not None:
            with self._lock:
                newest = ticket.seq >= self._day_seen.get(ticket.tenant_id, 0)
                if newest:
                    self._day_seen[ticket.tenant_id] = ticket.seq
                    self._warn_near_day_limit(ticket.tenant_id, day)

    def _warn_near_day_limit(self, tenant_id: str | None, remaining: int) -> None:
        """Log once when a tenant's day budget runs low; again after it was refilled."""
        near = near_day_limit(
            remaining, per_day=self.limits.per_day, warning=self.limits.day_warning
        )
        if near and not self._warned.get(tenant_id, False):
            log.warning(
                "tenant %s is near its Xero day limit: %d of %d calls left today; work may "
                "stop with DailyLimitReached until Xero's reset",
                tenant_id,
                remaining,
                self.limits.per_day,
            )
        self._warned[tenant_id] = near

    @contextmanager
    def slot(self, tenant_id: str | None) -> Iterator[Ticket]:
        """:meth:`acquire` and :meth:`release` around a block (without learning headers)."""
        ticket = self.acquire(tenant_id)
        try:
            yield ticket
        finally:
            self.release(ticket)

    def hold(self, tenant_id: str | None, seconds: float) -> None:
        """Send nothing more for this tenant for ``seconds`` (after a minute 429), in every
        process sharing the budget. Xero said when its window resets, so a budget it reported
        spent ends then, not a whole minute after the report."""
        self._backend.hold(tenant_id, until=self._now() + max(0.0, seconds))

    def park(self, tenant_id: str | None, resets_at: datetime) -> None:
        """Refuse calls for this tenant until ``resets_at`` (after a day-limit 429), in every
        process sharing the budget.

        A shared budget that can't be reached is logged, not raised: the caller is about to
        raise :class:`~bms_xero.errors.DailyLimitReached` anyway, and the worker parks the
        tenant's jobs from it.
        """
        try:
            self._backend.park(tenant_id, until=resets_at)
        except RateBudgetUnavailable as e:
            log.warning("could not share the day-limit park of tenant %s: %s", tenant_id, e)

    def wait_seconds(self, tenant_id: str | None) -> float:
        """Seconds until a request for ``tenant_id`` may be sent (0: now), without waiting.

        The longest of the minute window, a hold and, while the tenant is parked for the day
        limit, the time until the park ends. Waiting for a free in-flight slot is not
        counted: it lasts one request's round trip.

        Raises:
            RateBudgetUnavailable: A shared budget could not be reached.

        .. versionadded:: Unreleased
        """
        now = self._clock.now()
        readings = self._readings(tenant_id, now.timestamp())
        wait = seconds_to_wait(readings, now=now.timestamp(), limits=self.limits)
        if readings.parked_until is not None and readings.parked_until > now:
            wait = max(wait, (readings.parked_until - now).total_seconds())
        return wait

    def state(self, tenant_id: str | None) -> LimitState:
        """What the limiter knows about ``tenant_id`` now (with a shared budget: what every
        process sharing it knows, ``in_flight`` counting them all).

        Raises:
            RateBudgetUnavailable: A shared budget could not be reached.
        """
        now = self._clock.now()
        readings = self._readings(tenant_id, now.timestamp())
        parked = readings.parked_until
        if parked is not None and now >= parked:
            parked = None
        app = readings.app
        app_left = None
        if app is not None and now.timestamp() - app.at < self.limits.window:
            app_left = max(0, estimate(app, readings.app_seq))
        day = None if readings.day is None else max(0, estimate(readings.day, readings.seq))
        return LimitState(
            tenant_id=tenant_id,
            in_flight=readings.in_flight,
            minute_remaining=max(
                0, minute_remaining(readings, now=now.timestamp(), limits=self.limits)
            ),
            day_remaining=day,
            app_minute_remaining=app_left,
            parked_until=parked,
            day_limit=self.limits.per_day,
            near_day_limit=near_day_limit(
                day, per_day=self.limits.per_day, warning=self.limits.day_warning
            ),
        )

    def __repr__(self) -> str:
        return f"RateLimiter({self.limits!r}, backend={self._backend!r})"
