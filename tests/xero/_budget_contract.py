"""What every RateBudgetBackend must do: checks run on the in-process, Redis and PostgreSQL ones.

Each check takes a backend, uses fresh random tenant ids (so backends on a shared server need
not be empty) and raises AssertionError saying what differed. Times are literals in epoch
seconds: a backend never reads the limiter's clock itself.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from bms_xero._contract import ContractCheck
from bms_xero.xero import (
    BudgetReadings,
    RateBudgetBackend,
    RequestStart,
    SentRequest,
    SlotLease,
    XeroReading,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC).timestamp()
W = 60.0


def _tenant() -> str:
    return f"contract-{uuid.uuid4().hex}"


def _expect(expected: object, actual: object, what: str) -> None:
    if expected != actual:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def _start(
    backend: RateBudgetBackend, tenant: str | None, at: float, limit: int = 60
) -> RequestStart:
    start = backend.record_start(tenant, now=T0 + at, window=W, keep=2 * W + 1, limit=limit)
    if start is None:
        raise AssertionError(f"a request at +{at} s was refused with room in the window")
    return start


def _read(
    backend: RateBudgetBackend, tenant: str | None, at: float, limit: int = 60, margin: float = 1.0
) -> BudgetReadings:
    return backend.readings(tenant, now=T0 + at, window=W, margin=margin, limit=limit)


def _slot(backend: RateBudgetBackend, tenant: str | None, concurrent: int = 5) -> SlotLease:
    lease = backend.take_slot(tenant, concurrent=concurrent, timeout=0)
    if lease is None:
        raise AssertionError("no slot though fewer than `concurrent` were held")
    return lease


def at_most_concurrent_slots(backend: RateBudgetBackend) -> None:
    """Five slots can be held at once; a sixth waits until one is given back."""
    tenant = _tenant()
    leases = [_slot(backend, tenant) for _ in range(5)]
    sixth = backend.take_slot(tenant, concurrent=5, timeout=0)
    in_flight = _read(backend, tenant, 0).in_flight
    backend.finish(leases[0], start=None, now=T0)
    after = backend.take_slot(tenant, concurrent=5, timeout=0)
    _expect((None, 5, True), (sixth, in_flight, after is not None), "sixth slot, in flight, after")
    for lease in [*leases[1:], after]:
        assert lease is not None
        backend.finish(lease, start=None, now=T0)
    _expect(0, _read(backend, tenant, 0).in_flight, "in flight after every slot came back")


def slots_are_per_tenant(backend: RateBudgetBackend) -> None:
    """One tenant's full slots don't stop another tenant (the no-tenant key included)."""
    full, other = _tenant(), _tenant()
    leases = [_slot(backend, full, concurrent=2) for _ in range(2)]
    elsewhere = [_slot(backend, other, concurrent=2), _slot(backend, None, concurrent=1000)]
    _expect(None, backend.take_slot(full, concurrent=2, timeout=0), "third slot of the full one")
    for lease in [*leases, *elsewhere]:
        backend.finish(lease, start=None, now=T0)


def giving_a_slot_back_twice_is_harmless(backend: RateBudgetBackend) -> None:
    """A slot given back twice frees one slot, not two."""
    tenant = _tenant()
    first, second = _slot(backend, tenant, concurrent=2), _slot(backend, tenant, concurrent=2)
    backend.finish(first, start=None, now=T0)
    backend.finish(first, start=None, now=T0)
    _expect(1, _read(backend, tenant, 0).in_flight, "in flight")
    backend.finish(second, start=None, now=T0)


def a_slot_is_waited_for(backend: RateBudgetBackend) -> None:
    """take_slot waits (up to its timeout) for a slot another thread gives back."""
    tenant = _tenant()
    held = _slot(backend, tenant, concurrent=1)
    timer = threading.Timer(0.1, lambda: backend.finish(held, start=None, now=T0))
    timer.start()
    try:
        lease = backend.take_slot(tenant, concurrent=1, timeout=10)
    finally:
        timer.join()
    _expect(True, lease is not None, "a slot after the other was given back")
    assert lease is not None
    backend.finish(lease, start=None, now=T0)


def the_window_holds_limit_requests(backend: RateBudgetBackend) -> None:
    """With `limit` requests sent in the last window, another is refused, and counted again
    once the first is a whole window old; request numbers go on from where they were."""
    tenant = _tenant()
    seqs = [_start(backend, tenant, at, limit=3).seq for at in (0.0, 1.0, 2.0)]
    refused = backend.record_start(tenant, now=T0 + 59.9, window=W, keep=2 * W, limit=3)
    later = backend.record_start(tenant, now=T0 + W, window=W, keep=2 * W, limit=3)
    _expect(
        ([1, 2, 3], None, 4),
        (seqs, refused, None if later is None else later.seq),
        "numbers, refused at +59.9 s, number at +60 s",
    )


def app_numbers_count_every_tenant(backend: RateBudgetBackend) -> None:
    """The app's request number grows with every tenant's requests."""
    first, second = _tenant(), _tenant()
    a = _start(backend, first, 0)
    b = _start(backend, second, 0)
    c = _start(backend, first, 0)
    _expect(
        ((1, 1, 2), (b.app_seq - a.app_seq >= 1, c.app_seq > b.app_seq)),
        ((a.seq, b.seq, c.seq), (True, True)),
        "tenant numbers, app numbers increasing",
    )


def readings_count_the_window(backend: RateBudgetBackend) -> None:
    """in_window counts requests sent in the last window, recent those in window + margin."""
    tenant = _tenant()
    for at in (0.0, 10.0, 50.0):
        _start(backend, tenant, at)
    readings = _read(backend, tenant, 60.5, margin=1.0)
    _expect((3, 2, 3), (readings.seq, readings.in_window, readings.recent), "seq, in, recent")


def the_blocking_request_is_the_limit_th_newest(backend: RateBudgetBackend) -> None:
    """With `limit` requests that may still count, the oldest of the newest `limit` is the
    one blocking the window, with its answer time; with fewer, none is."""
    tenant = _tenant()
    lease = _slot(backend, tenant)
    starts = [_start(backend, tenant, at) for at in (0.0, 1.0, 2.0)]
    backend.finish(lease, start=starts[1], now=T0 + 1.5)
    _expect(SentRequest(2, T0 + 1.0, T0 + 1.5), _read(backend, tenant, 3, limit=2).blocking, "2")
    _expect(SentRequest(1, T0, None), _read(backend, tenant, 3, limit=3).blocking, "3")
    _expect(None, _read(backend, tenant, 3, limit=4).blocking, "with room")


def the_newest_answer_wins(backend: RateBudgetBackend) -> None:
    """A reading from an older request's late answer never replaces a newer one."""
    tenant = _tenant()
    first, second = _start(backend, tenant, 0), _start(backend, tenant, 0)
    for start, left in ((second, 7), (first, 50)):
        lease = _slot(backend, tenant)
        backend.finish(lease, start=start, now=T0 + 1 + start.seq, minute=left, day=left, app=left)
    readings = _read(backend, tenant, 5)
    newest = XeroReading(7, 2, T0 + 3)
    _expect((newest, newest), (readings.minute, readings.day), "minute and day")
    _expect(XeroReading(7, second.app_seq, T0 + 3), readings.app, "app")


def a_missing_header_keeps_the_reading(backend: RateBudgetBackend) -> None:
    """An answer without a header leaves the kept reading as it was."""
    tenant = _tenant()
    first, second = _start(backend, tenant, 0), _start(backend, tenant, 0)
    backend.finish(_slot(backend, tenant), start=first, now=T0 + 1, minute=9, day=99)
    backend.finish(_slot(backend, tenant), start=second, now=T0 + 2)
    readings = _read(backend, tenant, 3)
    _expect(
        (XeroReading(9, 1, T0 + 1), XeroReading(99, 1, T0 + 1)),
        (readings.minute, readings.day),
        "readings",
    )


def the_opener_is_found(backend: RateBudgetBackend) -> None:
    """The request a minute reading's window opened with (seq - (limit - remaining) + 1) is
    in the readings when the budget counted it, and absent when it did not."""
    tenant = _tenant()
    starts = [_start(backend, tenant, at) for at in (0.0, 0.5, 1.0)]
    backend.finish(_slot(backend, tenant), start=starts[2], now=T0 + 1.5, minute=58)
    opened = _read(backend, tenant, 2).opener
    backend.finish(_slot(backend, tenant), start=starts[2], now=T0 + 1.6, minute=0)
    unknown = _read(backend, tenant, 2).opener
    _expect((SentRequest(2, T0 + 0.5, None), None), (opened, unknown), "opener, unknown")


def old_requests_are_forgotten(backend: RateBudgetBackend) -> None:
    """Requests sent more than `keep` ago leave the window; the numbers go on."""
    tenant = _tenant()
    _start(backend, tenant, 0)
    late = backend.record_start(tenant, now=T0 + 500, window=W, keep=100, limit=60)
    readings = _read(backend, tenant, 500, limit=1, margin=1000)
    _expect((2, 1), (None if late is None else late.seq, readings.recent), "seq, kept")


def the_latest_hold_wins(backend: RateBudgetBackend) -> None:
    """A shorter hold never shortens a longer one; each hold notes the number sent so far."""
    tenant = _tenant()
    backend.hold(tenant, until=T0 + 20)
    _start(backend, tenant, 0)
    backend.hold(tenant, until=T0 + 5)
    readings = _read(backend, tenant, 0)
    _expect((T0 + 20, 1), (readings.hold_until, readings.hold_seq), "hold until, hold seq")


def the_latest_park_wins(backend: RateBudgetBackend) -> None:
    """A park is kept to the microsecond, and an earlier one never shortens it."""
    tenant = _tenant()
    until = datetime(2026, 1, 6, 0, 0, 1, 123456, tzinfo=UTC)
    backend.park(tenant, until=until)
    backend.park(tenant, until=until - timedelta(hours=1))
    _expect(until, _read(backend, tenant, 0).parked_until, "parked until")


def a_fresh_tenant_reads_empty(backend: RateBudgetBackend) -> None:
    """A tenant nothing was sent for has nothing counted, held or parked."""
    readings = _read(backend, _tenant(), 0)
    _expect(
        (0, 0, 0, 0, None, None, None, None, None),
        (
            readings.seq,
            readings.in_flight,
            readings.in_window,
            readings.recent,
            readings.blocking,
            readings.minute,
            readings.day,
            readings.hold_until,
            readings.parked_until,
        ),
        "readings",
    )


def racing_threads_never_overfill_the_window(backend: RateBudgetBackend) -> None:
    """Eight threads counting requests at once get exactly `limit` of them, numbered once each."""
    tenant = _tenant()
    got: list[int] = []
    lock = threading.Lock()
    go = threading.Barrier(8)

    def send() -> None:
        go.wait()
        for _ in range(10):
            start = backend.record_start(tenant, now=T0, window=W, keep=2 * W, limit=25)
            if start is not None:
                with lock:
                    got.append(start.seq)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _expect(list(range(1, 26)), sorted(got), "numbers counted")


def racing_threads_never_overfill_the_slots(backend: RateBudgetBackend) -> None:
    """Eight threads taking and giving back slots never hold more than `concurrent` at once."""
    tenant = _tenant()
    held = peak = 0
    lock = threading.Lock()
    go = threading.Barrier(8)

    def work() -> None:
        nonlocal held, peak
        go.wait()
        for _ in range(5):
            lease = backend.take_slot(tenant, concurrent=3, timeout=10)
            assert lease is not None
            with lock:
                held += 1
                peak = max(peak, held)
            time.sleep(0.002)  # hold it a moment, so the threads overlap
            with lock:
                held -= 1  # still held: counted as held only while it surely is
            backend.finish(lease, start=None, now=T0)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _expect((True, 0), (peak <= 3, _read(backend, tenant, 0).in_flight), "peak <= 3, in flight")


CHECKS: tuple[ContractCheck[RateBudgetBackend], ...] = tuple(
    ContractCheck.of(check)
    for check in (
        at_most_concurrent_slots,
        slots_are_per_tenant,
        giving_a_slot_back_twice_is_harmless,
        a_slot_is_waited_for,
        the_window_holds_limit_requests,
        app_numbers_count_every_tenant,
        readings_count_the_window,
        the_blocking_request_is_the_limit_th_newest,
        the_newest_answer_wins,
        a_missing_header_keeps_the_reading,
        the_opener_is_found,
        old_requests_are_forgotten,
        the_latest_hold_wins,
        the_latest_park_wins,
        a_fresh_tenant_reads_empty,
        racing_threads_never_overfill_the_window,
        racing_threads_never_overfill_the_slots,
    )
)
