"""Xero's rate limits, per tenant: pace requests so that Xero rarely has to say 429.

Xero allows each tenant 5 requests in flight, 60 per minute and a day budget that depends on
the app's plan (5,000; 1,000 on the "Starter" plan of March 2026), and each app 10,000 per
minute across tenants; every answer says how much is left in ``X-MinLimit-Remaining``,
``X-DayLimit-Remaining`` and ``X-AppMinLimit-Remaining``. The :class:`RateLimiter` counts what
this process sends, corrects its estimate from those headers, and waits (on the injected
clock) for the minute window instead of provoking a 429. When an organisation's day budget
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
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import attrs

from bms_xero.clock import Clock
from bms_xero.errors import ConfigurationError, DailyLimitReached
from bms_xero.transport import Headers

__all__ = ["LimitState", "RateLimiter", "RateLimits", "near_day_limit"]

log = logging.getLogger("bms_xero.xero.limits")


def _at_least_one(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"RateLimits.{attribute.name} must be a whole number >= 1")


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigurationError(f"RateLimits.{attribute.name} must be a number > 0")


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

    .. versionchanged:: Unreleased
        ``per_day`` and ``day_warning``.
    """

    concurrent: int = attrs.field(default=5, validator=_at_least_one)
    per_minute: int = attrs.field(default=60, validator=_at_least_one)
    window: float = attrs.field(default=60.0, validator=_positive)
    max_retry_after: float = attrs.field(default=60.0, validator=_positive)
    day_park: float = attrs.field(default=3600.0, validator=_positive)
    per_day: int = attrs.field(default=5000, validator=_at_least_one)
    day_warning: float = attrs.field(default=0.1, validator=_share)


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


@attrs.define
class _Budget:
    """A budget reported by Xero as ``remaining`` after the request numbered ``seq``."""

    remaining: int
    seq: int
    at: float

    def estimate(self, seq_now: int) -> int:
        # Everything sent after the reporting request may already count against it.
        return self.remaining - (seq_now - self.seq)


class _Tenant:
    def __init__(self, tenant_id: str | None, limits: RateLimits) -> None:
        self.tenant_id = tenant_id
        self.slots = threading.BoundedSemaphore(limits.concurrent)
        self.in_flight = 0
        self.sends: deque[float] = deque()
        self.seq = 0
        self.minute: _Budget | None = None
        self.day: _Budget | None = None
        self.blocked_until = 0.0
        self.parked_until: datetime | None = None
        self.warned = False  # near the day limit, and said so


@attrs.frozen
class Ticket:
    """One reserved request slot; hand it back to :meth:`RateLimiter.release`."""

    tenant_id: str | None
    seq: int
    app_seq: int


class RateLimiter:
    """Per-tenant pacing shared by every client of one connection. Thread-safe.

    Args:
        limits: The limits to keep to.
        clock: Where time comes from and where waits happen.
    """

    def __init__(self, limits: RateLimits | None = None, *, clock: Clock) -> None:
        self.limits = limits or RateLimits()
        self._clock = clock
        self._lock = threading.Lock()
        self._tenants: dict[str | None, _Tenant] = {}
        self._app_seq = 0
        self._app: _Budget | None = None

    def _tenant(self, tenant_id: str | None) -> _Tenant:
        tenant = self._tenants.get(tenant_id)
        if tenant is None:
            tenant = self._tenants[tenant_id] = _Tenant(tenant_id, self.limits)
        return tenant

    def _prune(self, tenant: _Tenant, now: float) -> None:
        while tenant.sends and tenant.sends[0] <= now - self.limits.window:
            tenant.sends.popleft()

    def _fresh(self, budget: _Budget | None, now: float) -> _Budget | None:
        return budget if budget is not None and now - budget.at < self.limits.window else None

    def _minute_remaining(self, tenant: _Tenant, now: float) -> int:
        self._prune(tenant, now)
        local = self.limits.per_minute - len(tenant.sends)
        reported = self._fresh(tenant.minute, now)
        if reported is not None:
            local = min(local, reported.estimate(tenant.seq))
        return local

    def _wait(self, tenant: _Tenant, now: float) -> float:
        """Seconds until a request may go (0 when it may go now)."""
        waits = [tenant.blocked_until - now]
        self._prune(tenant, now)
        if len(tenant.sends) >= self.limits.per_minute:
            waits.append(tenant.sends[0] + self.limits.window - now)
        reported = self._fresh(tenant.minute, now)
        if reported is not None and reported.estimate(tenant.seq) <= 0:
            # Xero's fixed window started at or before that answer, so it has reset by then.
            waits.append(reported.at + self.limits.window - now)
        app = self._fresh(self._app, now)
        if app is not None and app.estimate(self._app_seq) <= 0:
            waits.append(app.at + self.limits.window - now)
        return max(0.0, *waits)

    def _check_parked(self, tenant: _Tenant) -> None:
        if tenant.parked_until is None:
            return
        now = self._clock.now()
        if now < tenant.parked_until:
            raise DailyLimitReached(
                resets_at=tenant.parked_until,
                retry_after=(tenant.parked_until - now).total_seconds(),
                tenant_id=tenant.tenant_id,
            )
        tenant.parked_until = None

    def acquire(self, tenant_id: str | None) -> Ticket:
        """Reserve a slot for one request, waiting for the minute budget if needed.

        Raises:
            DailyLimitReached: The tenant is parked after a day-limit 429 (nothing is sent).
        """
        while True:
            with self._lock:
                tenant = self._tenant(tenant_id)
                self._check_parked(tenant)
                now = self._clock.monotonic()
                wait = self._wait(tenant, now)
                if wait <= 0:
                    tenant.sends.append(now)
                    tenant.seq += 1
                    self._app_seq += 1
                    ticket = Ticket(tenant_id, tenant.seq, self._app_seq)
                    break
            self._clock.sleep(wait)
        tenant.slots.acquire()
        with self._lock:
            tenant.in_flight += 1
        return ticket

    def release(self, ticket: Ticket, headers: Headers | None = None) -> None:
        """Give the slot back, learning the remaining budgets from Xero's answer."""
        with self._lock:
            tenant = self._tenant(ticket.tenant_id)
            tenant.in_flight -= 1
            tenant.slots.release()
            if headers is None:
                return
            now = self._clock.monotonic()
            minute = _header_int(headers, "X-MinLimit-Remaining")
            if minute is not None and (tenant.minute is None or ticket.seq >= tenant.minute.seq):
                tenant.minute = _Budget(minute, ticket.seq, now)
            day = _header_int(headers, "X-DayLimit-Remaining")
            if day is not None and (tenant.day is None or ticket.seq >= tenant.day.seq):
                tenant.day = _Budget(day, ticket.seq, now)
                self._warn_near_day_limit(tenant, day)
            app = _header_int(headers, "X-AppMinLimit-Remaining")
            if app is not None and (self._app is None or ticket.app_seq >= self._app.seq):
                self._app = _Budget(app, ticket.app_seq, now)

    def _warn_near_day_limit(self, tenant: _Tenant, remaining: int) -> None:
        """Log once when a tenant's day budget runs low; again after it was refilled."""
        near = near_day_limit(
            remaining, per_day=self.limits.per_day, warning=self.limits.day_warning
        )
        if near and not tenant.warned:
            log.warning(
                "tenant %s is near its Xero day limit: %d of %d calls left today; work may "
                "stop with DailyLimitReached until Xero's reset",
                tenant.tenant_id,
                remaining,
                self.limits.per_day,
            )
        tenant.warned = near

    @contextmanager
    def slot(self, tenant_id: str | None) -> Iterator[Ticket]:
        """:meth:`acquire` and :meth:`release` around a block (without learning headers)."""
        ticket = self.acquire(tenant_id)
        try:
            yield ticket
        finally:
            self.release(ticket)

    def hold(self, tenant_id: str | None, seconds: float) -> None:
        """Send nothing more for this tenant for ``seconds`` (after a minute 429)."""
        with self._lock:
            tenant = self._tenant(tenant_id)
            until = self._clock.monotonic() + max(0.0, seconds)
            tenant.blocked_until = max(tenant.blocked_until, until)
            # Xero said when its window resets: a spent budget it reported ends then, not a
            # whole minute after the report.
            if tenant.minute is not None and tenant.minute.estimate(tenant.seq) <= 0:
                tenant.minute = None

    def park(self, tenant_id: str | None, resets_at: datetime) -> None:
        """Refuse calls for this tenant until ``resets_at`` (after a day-limit 429)."""
        with self._lock:
            tenant = self._tenant(tenant_id)
            if tenant.parked_until is None or resets_at > tenant.parked_until:
                tenant.parked_until = resets_at

    def state(self, tenant_id: str | None) -> LimitState:
        """What the limiter knows about ``tenant_id`` now."""
        with self._lock:
            tenant = self._tenant(tenant_id)
            now = self._clock.monotonic()
            parked = tenant.parked_until
            if parked is not None and self._clock.now() >= parked:
                parked = None
            app = self._fresh(self._app, now)
            day = None if tenant.day is None else max(0, tenant.day.estimate(tenant.seq))
            return LimitState(
                tenant_id=tenant_id,
                in_flight=tenant.in_flight,
                minute_remaining=max(0, self._minute_remaining(tenant, now)),
                day_remaining=day,
                app_minute_remaining=None if app is None else max(0, app.estimate(self._app_seq)),
                parked_until=parked,
                day_limit=self.limits.per_day,
                near_day_limit=near_day_limit(
                    day, per_day=self.limits.per_day, warning=self.limits.day_warning
                ),
            )

    def __repr__(self) -> str:
        return f"RateLimiter({self.limits!r})"
