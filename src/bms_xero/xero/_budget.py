"""One rate budget per organisation, whatever the number of processes calling Xero for it.

Xero allows each organisation 5 requests in flight and 60 a minute, counted at Xero: four
worker processes that each pace themselves to 60 a minute send 240, and Xero answers 429.
So the facts the :class:`~bms_xero.xero.RateLimiter` paces by live in a
:class:`RateBudgetBackend` that every process shares, and the rules that read them are pure
functions here (:func:`seconds_to_wait`, :func:`minute_remaining`), the same for every
backend. What a backend keeps, per tenant:

- **in-flight slots**: at most ``concurrent`` live :class:`SlotLease` at once. A shared
  backend's lease expires unless the process that holds it renews it (:class:`LeaseKeeper`,
  every third of the lease), so a process killed mid-request frees its slot within one lease
  (5 s by default), never holds it forever;
- **the minute window**: one :class:`SentRequest` per request started, numbered per tenant
  (``seq``), with when it was sent and when its answer came; a request is counted in it
  only when fewer than ``limit`` were sent in the last ``window`` seconds (atomic: two
  processes never both take the 60th place);
- **Xero's readings** (:class:`XeroReading`): what the last answers said was left this minute
  (``X-MinLimit-Remaining``), today (``X-DayLimit-Remaining``) and for the app
  (``X-AppMinLimit-Remaining``), each tagged with the request it answered so a late answer
  never overrides a newer one;
- **hold and park**: a minute 429's ``Retry-After`` (every process waits it out) and a day
  limit's reset (every process refuses the tenant's calls at once with
  :class:`~bms_xero.errors.DailyLimitReached`, and nothing sleeps through it).

:class:`InProcessRateBudget` (the default) keeps them in memory, for one process;
``RedisRateBudget`` and ``PostgresRateBudget`` (``bms_xero.xero``, optional extras) share
them between processes and machines.

Time: the window, holds, parks and readings are on the limiter's clock, as epoch seconds
(``clock.now().timestamp()``), so tests drive them with a ``FakeClock`` and machines that
share a budget need synchronised clocks (NTP; a skew of ``s`` seconds lets a request out up
to ``s`` early). Slot leases measure whether a process is alive, so they run on the
backend's own real time (Redis' or PostgreSQL's clock) and never on the injected clock.
"""

from __future__ import annotations

import logging
import math
import os
import re
import socket
import threading
import uuid
from bisect import bisect_right
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

from bms_xero.errors import ConfigurationError, RateBudgetUnavailable

if TYPE_CHECKING:
    from bms_xero.xero._limits import RateLimits

__all__ = [
    "BudgetReadings",
    "InProcessRateBudget",
    "LeaseKeeper",
    "RateBudgetBackend",
    "RateBudgetUnavailable",
    "RequestStart",
    "SentRequest",
    "SlotLease",
    "XeroReading",
    "estimate",
    "minute_remaining",
    "minute_report",
    "opener_seq",
    "redact_url",
    "request_ends",
    "seconds_to_wait",
    "window_resets",
]

log = logging.getLogger("bms_xero.xero.limits")


_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/?#@\s]*:)(?P<secret>[^@/\s]*)@", re.I)
_KEYWORD_PASSWORD = re.compile(
    r"(?P<head>(?<![?&])\bpassword\s*=\s*)(?P<secret>'(?:[^'\\]|\\.)*'|\S+)", re.I
)
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&]password=)(?P<secret>[^&#\s]*)", re.I)


def redact_url(text: str) -> str:
    """``text`` with every password of a URL (``scheme://user:secret@host``), a libpq
    keyword string (``password=secret``) or a URL query (``?password=secret``) as ``***``."""
    text = _URL_PASSWORD.sub(r"\g<head>***@", text)
    text = _KEYWORD_PASSWORD.sub(r"\g<head>***", text)
    return _QUERY_PASSWORD.sub(r"\g<head>***", text)


def describe_failure(error: BaseException, *secrets: str | None) -> str:
    """A driver error as ``"Type: first line"``, with URLs redacted and ``secrets`` removed."""
    lines = str(error).strip().splitlines()
    text = redact_url(lines[0] if lines else "")
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# --- values ---------------------------------------------------------------------------------


def _whole(_instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"{attribute.name} must be a whole number >= 0, not {value!r}")


def _finite(_instance: object, attribute: attrs.Attribute[float], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigurationError(f"{attribute.name} must be a finite number, not {value!r}")


def _finite_or_none(
    instance: object, attribute: attrs.Attribute[float | None], value: object
) -> None:
    if value is not None:
        _finite(instance, attribute, value)  # type: ignore[arg-type]


def _aware_or_none(
    _instance: object, attribute: attrs.Attribute[datetime | None], value: object
) -> None:
    if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
        raise ConfigurationError(f"{attribute.name} must be a timezone-aware datetime or None")


def _tenant(_instance: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigurationError(f"{attribute.name} must be a non-empty string or None")


@attrs.frozen
class SentRequest:
    """One request counted in a tenant's minute window.

    Attributes:
        seq: Its number among the tenant's requests (1, 2, ...), shared by every process.
        sent_at: When it was started (epoch seconds, the limiter's clock).
        answered_at: When its answer (or its failure) came back; ``None`` while in flight.
    """

    seq: int = attrs.field(validator=_whole)
    sent_at: float = attrs.field(validator=_finite)
    answered_at: float | None = attrs.field(default=None, validator=_finite_or_none)


@attrs.frozen
class XeroReading:
    """A budget as one of Xero's answers reported it.

    Attributes:
        remaining: What the header said was left.
        seq: The request whose answer said it (the tenant's ``seq``; the app's own counter
            for ``X-AppMinLimit-Remaining``): everything sent after it may already count.
        at: When the answer came (epoch seconds).
    """

    remaining: int = attrs.field(validator=_whole)
    seq: int = attrs.field(validator=_whole)
    at: float = attrs.field(validator=_finite)


@attrs.frozen
class RequestStart:
    """A request counted in the window: its number for the tenant and for the app."""

    seq: int = attrs.field(validator=_whole)
    app_seq: int = attrs.field(validator=_whole)


@attrs.frozen
class SlotLease:
    """One in-flight slot, held until :meth:`RateBudgetBackend.finish` gives it back.

    Attributes:
        tenant_id: The tenant it is a slot of.
        lease_id: Unique per slot taken (for a shared backend: host, process and a random
            part, so an operator can tell whose it is).
    """

    tenant_id: str | None = attrs.field(validator=_tenant)
    lease_id: str


@attrs.frozen(kw_only=True)
class BudgetReadings:
    """What every process sharing the budget knows about one tenant now.

    Attributes:
        tenant_id: The tenant.
        seq: Requests started for it so far (the newest ``seq``).
        in_flight: Live slot leases.
        in_window: Requests sent in the last ``window`` seconds.
        recent: Requests sent in the last ``window + margin`` seconds: those that may still
            count at Xero (a request reaches Xero up to one round trip after it was sent).
        blocking: When ``recent`` holds at least ``limit`` requests, the ``limit``-th newest
            of them: while it counts, the window is full.
        minute: Xero's last word on this minute's budget.
        opener: The request that opened the window ``minute`` spoke of (see
            :func:`opener_seq`), when it is one this budget counted.
        day: Xero's last word on today's budget.
        app_seq: Requests started by the app, every tenant together.
        app: Xero's last word on the app's minute budget.
        hold_until: Nothing may be sent before this (a minute 429's ``Retry-After``).
        hold_seq: ``seq`` when the last hold was set (a budget Xero reported spent before
            it ends when the hold does, see :func:`minute_report`).
        parked_until: The tenant is parked for Xero's day limit until then.
    """

    tenant_id: str | None = attrs.field(validator=_tenant)
    seq: int = attrs.field(default=0, validator=_whole)
    in_flight: int = attrs.field(default=0, validator=_whole)
    in_window: int = attrs.field(default=0, validator=_whole)
    recent: int = attrs.field(default=0, validator=_whole)
    blocking: SentRequest | None = None
    minute: XeroReading | None = None
    opener: SentRequest | None = None
    day: XeroReading | None = None
    app_seq: int = attrs.field(default=0, validator=_whole)
    app: XeroReading | None = None
    hold_until: float | None = attrs.field(default=None, validator=_finite_or_none)
    hold_seq: int = attrs.field(default=0, validator=_whole)
    parked_until: datetime | None = attrs.field(default=None, validator=_aware_or_none)


# --- the port -------------------------------------------------------------------------------


@runtime_checkable
class RateBudgetBackend(Protocol):
    """Where a :class:`~bms_xero.xero.RateLimiter` keeps what every process must agree on.

    Each method is atomic on its own. Times (``now``) are epoch seconds on the limiter's
    clock; ``tenant_id`` may be ``None`` (a custom connection without a tenant id). A
    backend decides nothing: the rules are :func:`seconds_to_wait` and friends.
    """

    def take_slot(
        self, tenant_id: str | None, *, concurrent: int, timeout: float
    ) -> SlotLease | None:
        """An in-flight slot if fewer than ``concurrent`` are held, waiting up to
        ``timeout`` real seconds for one to be given back; ``None`` when none came."""
        ...

    def record_start(
        self, tenant_id: str | None, *, now: float, window: float, keep: float, limit: int
    ) -> RequestStart | None:
        """Count a request started ``now`` if fewer than ``limit`` were sent in the last
        ``window`` seconds (``None`` otherwise, and nothing changes). Requests sent more
        than ``keep`` seconds ago may be forgotten."""
        ...

    def finish(
        self,
        lease: SlotLease,
        *,
        start: RequestStart | None,
        now: float,
        minute: int | None = None,
        day: int | None = None,
        app: int | None = None,
    ) -> None:
        """The request ``start`` ended at ``now``: give its slot back and keep what Xero's
        answer said was left (``None``: the header was missing). A reading about an older
        request than the one already kept is ignored. ``start=None``: the slot is given
        back unused (no request was counted). Giving a slot back twice is harmless."""
        ...

    def hold(self, tenant_id: str | None, *, until: float) -> None:
        """Send nothing for the tenant before ``until`` (the latest hold wins), and note the
        tenant's ``seq`` now as ``hold_seq``."""
        ...

    def park(self, tenant_id: str | None, *, until: datetime) -> None:
        """Refuse the tenant's calls until ``until`` (the latest park wins)."""
        ...

    def readings(
        self, tenant_id: str | None, *, now: float, window: float, margin: float, limit: int
    ) -> BudgetReadings:
        """What is known about the tenant at ``now`` (see :class:`BudgetReadings`)."""
        ...

    def close(self) -> None:
        """Release connections and stop background renewals. Idempotent."""
        ...


# --- the rules (pure) -----------------------------------------------------------------------


def estimate(reading: XeroReading, seq_now: int) -> int:
    """What is left of a budget Xero reported, now that requests up to ``seq_now`` were
    sent: everything sent after the reporting request may already count against it."""
    return reading.remaining - (seq_now - reading.seq)


def opener_seq(reading: XeroReading, limit: int) -> int:
    """The request that opened the minute window a reading speaks of.

    Xero counted ``limit - remaining`` requests in that window, up to and including the
    reporting one, so it opened with request ``seq - (limit - remaining) + 1``. Correct when
    every request to the tenant goes through this budget; with other senders it names a
    request that is too old, and the limiter finds out from Xero's 429 and ``Retry-After``.
    """
    return reading.seq - (limit - reading.remaining) + 1


def request_ends(request: SentRequest, *, window: float, margin: float) -> float:
    """When a request stops counting in Xero's minute window, at the latest.

    Xero's window runs from when a request *reached* Xero: between when it was sent and when
    its answer came. So a request counts until ``window`` after it was sent, plus its own
    round trip capped at ``margin`` (``margin`` while it is still in flight). At 0 latency
    that is exactly ``window`` after it was sent.
    """
    if request.answered_at is None:
        late = margin
    else:
        late = min(max(0.0, request.answered_at - request.sent_at), margin)
    return request.sent_at + window + late


def window_resets(
    reading: XeroReading, opener: SentRequest | None, *, window: float, margin: float
) -> float:
    """When the minute window that Xero reported spent ends.

    It opened with :func:`opener_seq`'s request, so it ends when that request stops counting
    (:func:`request_ends`), not a whole window after the answer that said so: at 0.5 s a
    request, the 60th answer comes 30 s into the window, and counting from it waited 30 s
    too long (issue #16). When the opener is not one this budget counted (another program
    sends for the tenant too), only the answer's time is known: a window after it.
    """
    if opener is None:
        return reading.at + window
    return request_ends(opener, window=window, margin=margin)


def _fresh(reading: XeroReading | None, now: float, window: float) -> XeroReading | None:
    return reading if reading is not None and now - reading.at < window else None


def minute_report(readings: BudgetReadings, *, now: float, window: float) -> XeroReading | None:
    """Xero's word on the minute budget, if it still applies.

    It is stale after a window. And a budget that was already spent when a hold was set
    (a 429 whose ``Retry-After`` says when Xero's window resets) ends with that hold: Xero's
    own reset replaces the estimate.
    """
    reading = _fresh(readings.minute, now, window)
    if reading is None:
        return None
    if reading.seq <= readings.hold_seq and estimate(reading, readings.hold_seq) <= 0:
        return None
    return reading


def minute_remaining(readings: BudgetReadings, *, now: float, limits: RateLimits) -> int:
    """Requests left this minute, by this budget's count and Xero's last word (may be < 0)."""
    left = limits.per_minute - readings.in_window
    reading = minute_report(readings, now=now, window=limits.window)
    if reading is not None:
        left = min(left, estimate(reading, readings.seq))
    return left


def seconds_to_wait(readings: BudgetReadings, *, now: float, limits: RateLimits) -> float:
    """Seconds until a request may be sent for the tenant (0: now), the day park aside.

    The latest of: a hold; the window being full (``limit`` requests still counting, until
    the :attr:`~BudgetReadings.blocking` one stops, :func:`request_ends`); Xero saying the
    minute is spent (until its window resets, :func:`window_resets`); Xero saying the app's
    minute is spent (a window after that answer: the app's window is not ours to count).
    """
    waits = [0.0]
    if readings.hold_until is not None:
        waits.append(readings.hold_until - now)
    if readings.recent >= limits.per_minute and readings.blocking is not None:
        ends = request_ends(readings.blocking, window=limits.window, margin=limits.latency_margin)
        waits.append(ends - now)
    reading = minute_report(readings, now=now, window=limits.window)
    if reading is not None and estimate(reading, readings.seq) <= 0:
        resets = window_resets(
            reading, readings.opener, window=limits.window, margin=limits.latency_margin
        )
        waits.append(resets - now)
    app = _fresh(readings.app, now, limits.window)
    if app is not None and estimate(app, readings.app_seq) <= 0:
        waits.append(app.at + limits.window - now)
    return max(waits)


# --- renewing leases ------------------------------------------------------------------------


def new_lease_id() -> str:
    """A slot lease id an operator can trace: host, process id and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:16]}"


class LeaseKeeper:
    """Renews this process's slot leases in a background thread while they are held.

    A shared backend's lease is short (5 s by default) so that a killed process frees its
    slots quickly; a live one keeps them by renewing every third of the lease. The thread
    starts with the first lease, waits in real time (leases are about processes being alive,
    not about the injected clock), and starts again in a forked child (Celery's prefork
    pool), which holds none of its parent's leases.

    Args:
        renew: Renews the given leases; returns those that were already gone.
        every: Seconds between renewals.
        name: For log lines and the thread's name.
    """

    def __init__(
        self, renew: Callable[[list[SlotLease]], Iterable[SlotLease]], *, every: float, name: str
    ) -> None:
        self._renew = renew
        self._every = every
        self._name = name
        self._lock = threading.Lock()
        self._held: dict[str, SlotLease] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def _forked(self) -> None:
        if self._pid != os.getpid():  # a forked child: the parent's leases and thread are not ours
            self._pid = os.getpid()
            self._lock = threading.Lock()
            self._held = {}
            self._stop = threading.Event()
            self._thread = None

    def add(self, lease: SlotLease) -> None:
        """Keep ``lease`` renewed until :meth:`discard`."""
        self._forked()
        with self._lock:
            self._held[lease.lease_id] = lease
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._run, name=f"bms_xero-leases-{self._name}", daemon=True
                )
                self._thread.start()

    def discard(self, lease: SlotLease) -> None:
        """Stop renewing ``lease`` (given back, or lost)."""
        self._forked()
        with self._lock:
            self._held.pop(lease.lease_id, None)

    def held(self) -> list[SlotLease]:
        """The leases renewed now."""
        with self._lock:
            return list(self._held.values())

    def renew_now(self) -> None:
        """One renewal of every held lease (what the thread does each period)."""
        held = self.held()
        if not held:
            return
        try:
            lost = list(self._renew(held))
        except RateBudgetUnavailable as e:
            log.warning("%s: could not renew %d slot lease(s): %s", self._name, len(held), e)
            return
        for lease in lost:
            self.discard(lease)
            log.warning(
                "%s: the in-flight slot lease %s for tenant %s had expired before it was "
                "renewed (this process stalled for longer than the lease); another process "
                "may have taken the slot, so Xero may briefly see one more request in flight",
                self._name,
                lease.lease_id,
                lease.tenant_id,
            )

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self.renew_now()
            except Exception:  # never let the renewals die: a dead thread loses every slot
                log.exception("%s: renewing slot leases failed", self._name)

    def close(self) -> None:
        """Stop the thread (leases still held then expire on their own)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)


# --- in one process -------------------------------------------------------------------------


class _Book:
    """One tenant's facts, in memory."""

    def __init__(self) -> None:
        self.leases: set[str] = set()
        self.seq = 0
        # The requests in the window, oldest first, from index ``head``: when each was sent
        # and answered (two lists, so bisect runs on plain floats). Popping from the front of
        # a list is O(n), so the dead prefix is cut off in bulk.
        self.sent: list[float] = []
        self.answered: list[float | None] = []
        self.first_seq = 1  # seq of sent[head]
        self.head = 0
        self.minute: XeroReading | None = None
        self.day: XeroReading | None = None
        self.hold_until: float | None = None
        self.hold_seq = 0
        self.parked_until: datetime | None = None

    def prune(self, cutoff: float) -> None:
        # Requests are recorded in time order (record_start never records one earlier than
        # the last), so the ones sent at or before the cutoff form a prefix.
        cut = bisect_right(self.sent, cutoff, lo=self.head)
        self.first_seq += cut - self.head
        self.head = cut
        if self.head > 1024 and self.head * 2 > len(self.sent):
            del self.sent[: self.head]
            del self.answered[: self.head]
            self.head = 0

    def count_since(self, cutoff: float) -> int:
        return len(self.sent) - bisect_right(self.sent, cutoff, lo=self.head)

    def index(self, seq: int) -> int | None:
        index = self.head + seq - self.first_seq
        return index if seq >= self.first_seq and index < len(self.sent) else None

    def request(self, seq: int) -> SentRequest | None:
        index = self.index(seq)
        if index is None:
            return None
        return SentRequest(seq, self.sent[index], self.answered[index])


class InProcessRateBudget:
    """The budget of one process, in memory: the default, and right for one process.

    Several processes sending for one organisation each get its whole budget from this
    backend; share ``RedisRateBudget`` or ``PostgresRateBudget`` between them instead.
    Thread-safe: a client and its ``with_tenant`` copies share one. Slots need no lease here:
    a thread that dies gives its slot back in ``finally``, and the process takes its slots
    with it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._books: dict[str | None, _Book] = {}
        self._next_lease = 0
        self._app_seq = 0
        self._app: XeroReading | None = None

    def _book(self, tenant_id: str | None) -> _Book:
        book = self._books.get(tenant_id)
        if book is None:
            if tenant_id is not None and (not isinstance(tenant_id, str) or not tenant_id):
                raise ConfigurationError("tenant_id must be a non-empty string or None")
            book = self._books[tenant_id] = _Book()
        return book

    def take_slot(
        self, tenant_id: str | None, *, concurrent: int, timeout: float
    ) -> SlotLease | None:
        """A slot when fewer than ``concurrent`` are held, waiting for one up to ``timeout``."""
        with self._freed:
            book = self._book(tenant_id)
            if not self._freed.wait_for(lambda: len(book.leases) < concurrent, timeout=timeout):
                return None
            self._next_lease += 1
            lease = SlotLease(tenant_id, str(self._next_lease))
            book.leases.add(lease.lease_id)
            return lease

    def record_start(
        self, tenant_id: str | None, *, now: float, window: float, keep: float, limit: int
    ) -> RequestStart | None:
        """Count a request if the window has room."""
        with self._lock:
            book = self._book(tenant_id)
            book.prune(now - keep)
            if book.count_since(now - window) >= limit:
                return None
            last = book.sent[-1] if len(book.sent) > book.head else now
            book.sent.append(max(now, last))
            book.answered.append(None)
            book.seq += 1
            self._app_seq += 1
            return RequestStart(book.seq, self._app_seq)

    def finish(
        self,
        lease: SlotLease,
        *,
        start: RequestStart | None,
        now: float,
        minute: int | None = None,
        day: int | None = None,
        app: int | None = None,
    ) -> None:
        """Give the slot back and keep the answer's readings."""
        with self._freed:
            book = self._book(lease.tenant_id)
            book.leases.discard(lease.lease_id)
            self._freed.notify_all()
            if start is None:
                return
            index = book.index(start.seq)
            if index is not None:
                book.answered[index] = now
            if minute is not None and (book.minute is None or start.seq >= book.minute.seq):
                book.minute = XeroReading(minute, start.seq, now)
            if day is not None and (book.day is None or start.seq >= book.day.seq):
                book.day = XeroReading(day, start.seq, now)
            if app is not None and (self._app is None or start.app_seq >= self._app.seq):
                self._app = XeroReading(app, start.app_seq, now)

    def hold(self, tenant_id: str | None, *, until: float) -> None:
        """Hold the tenant until ``until``."""
        with self._lock:
            book = self._book(tenant_id)
            book.hold_until = until if book.hold_until is None else max(book.hold_until, until)
            book.hold_seq = book.seq

    def park(self, tenant_id: str | None, *, until: datetime) -> None:
        """Park the tenant until ``until``."""
        with self._lock:
            book = self._book(tenant_id)
            if book.parked_until is None or until > book.parked_until:
                book.parked_until = until

    def readings(
        self, tenant_id: str | None, *, now: float, window: float, margin: float, limit: int
    ) -> BudgetReadings:
        """What is known about the tenant now."""
        with self._lock:
            book = self._book(tenant_id)
            recent = book.count_since(now - window - margin)
            blocking = None
            if recent >= limit:
                blocking = book.request(book.first_seq + (len(book.sent) - book.head) - limit)
            opener = None
            if book.minute is not None:
                opener = book.request(opener_seq(book.minute, limit))
            return BudgetReadings(
                tenant_id=tenant_id,
                seq=book.seq,
                in_flight=len(book.leases),
                in_window=book.count_since(now - window),
                recent=recent,
                blocking=blocking,
                minute=book.minute,
                opener=opener,
                day=book.day,
                app_seq=self._app_seq,
                app=self._app,
                hold_until=book.hold_until,
                hold_seq=book.hold_seq,
                parked_until=book.parked_until,
            )

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return "InProcessRateBudget()"
