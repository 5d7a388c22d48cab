"""A day's sync against Xero's limits with real latency: how close to the rate-limit floor.

Run from the repository root::

    .venv/bin/python benchmarks/floor.py                     # 10,000 invoices, 1 s (~3.5 min)
    .venv/bin/python benchmarks/floor.py --invoices 2000 --per-minute 12   # ~3 min, same shape
    .venv/bin/python benchmarks/floor.py --quick             # a few seconds

One organisation in a FakeXero with Xero's limits (``--per-minute`` a minute, 5 in flight,
5,000 a day) and one fresh engine (``SyncEngine(max_in_flight=5)``, ``MemoryStore``), as a
newly started process would. The host pushes ``--invoices`` invoices (one ``push_many``);
meanwhile payments come into Xero for a share of them (``--paid``, all by default), each in
full, at a steady pace spread over the push's floor (each invoice paid as soon as it exists
once its turn came); then the host runs ``engine.pull()`` with a ``PaymentSink``. (Paid in
bursts, hundreds share one UpdatedDateUTC second and the pull's one-second overlap re-reads
them: more pages, see docs/performance.md.)

Time is real. The fake, the client's rate limiter and the engine share one clock that runs
with the wall clock (``--speed`` times faster: 1 by default), and every accounting request is
held in flight ``--latency`` seconds of that clock by the fake's in-flight hook, after the fake
counted it against the minute and the in-flight limit (as Xero counts a request when it
arrives) and before it answers. So the minute window and the latency both bite, on one
clock. Invoices are built before the clock starts; the clock stands still while the payer
pays what is left when the push returned (the last round's invoices: their CPU is not the
sync's).

The floor. ``C`` calls, at most ``P`` in a minute window and ``K`` in flight, each in flight
``L`` seconds. Xero's minute windows are fixed, not rolling (docs: "fixed, resetting at a
different time for each tenant"); FakeXero opens one with the first call after the previous
one closed and counts a call when it arrives. So ``W = ceil(C / P)`` windows are needed,
window ``j`` opens no earlier than ``60 (j - 1)`` seconds after the first call, and the
``r = C - P (W - 1)`` calls of the last one need ``ceil(r / K)`` rounds of ``L`` after it
opened. Independently, ``K`` in flight need ``ceil(C / K)`` rounds. So no client can have
every answer before::

    floor = max(60 (W - 1) + ceil(r / K) L,  ceil(C / K) L)

the minute windows needed plus the last requests' latency. The first term is reached when
each window's ``P`` calls fit in its minute (``ceil(P / K) L <= 60``: 12 s at 60 a minute,
5 in flight and 1 s) by sending ``K`` at once from the instant each window opens; otherwise
the second term (the in-flight limit) binds. E.g. 223 calls at 60 a minute, 5 in flight,
1 s: ``W = 4``, ``r = 43``, floor ``180 + ceil(43 / 5) = 189 s`` (3.15 min). 429s are not
counted in ``C`` (FakeXero does not charge them).

"engine floor" is the earliest finish for this engine's order of requests, simulated with
fixed windows, ``K`` in flight and exactly ``L`` a call (no CPU, no latency margin): the
push's reads side by side, then its writes (``K`` at a time), then the pull's pages one
after another (each page's ``If-Modified-Since`` comes from the page before: invoices, then
payments), then the pull's reads by id (``K`` at a time). What a perfect limiter would reach
with this engine.

Checks (exit 1 if one fails): every push succeeded, ``push_many``'s results are in input
order and name each invoice's Xero id, each invoice is in Xero exactly once, and what the
``PaymentSink`` was last told of each invoice (amount paid) equals the sum of its live
payments in Xero. Prints a table. ``--quick``: 120 invoices, 3 calls a minute, the clock 60
times faster than real time, 1 s (of that clock) a request: a smoke run of a few seconds
whose figures mean little (CPU counts 60 times over).
"""

from __future__ import annotations

import argparse
import heapq
import math
import os
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import _common as c

from bms_xero import PaymentUpdate, SyncEngine
from bms_xero.errors import NotFound
from bms_xero.storage import MemoryStore
from bms_xero.testing import FakeXero, RecordedRequest
from bms_xero.xero import RateLimits, RetryPolicy

WINDOW = 60.0  # FakeXero's (and Xero's) minute window, seconds of the clock


class RunClock:
    """The wall clock, ``speed`` times faster, that can be paused (a ``bms_xero`` Clock).

    At ``speed=1`` it moves with real time, except while :meth:`paused`. It starts at
    ``start`` (after the benchmark invoices' dates, so payments dated today are valid).
    """

    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        self.speed = speed
        self._start = start or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        self._origin = time.monotonic()
        self._paused_at: float | None = None
        self._paused_total = 0.0
        self._lock = threading.Lock()

    def _elapsed(self) -> float:
        with self._lock:
            real = self._paused_at if self._paused_at is not None else time.monotonic()
            return (real - self._origin - self._paused_total) * self.speed

    def now(self) -> datetime:
        """The clock's time (aware UTC)."""
        return self._start + timedelta(seconds=self._elapsed())

    def monotonic(self) -> float:
        """Clock seconds since the start."""
        return self._elapsed()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock."""
        if seconds > 0:
            time.sleep(seconds / self.speed)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The clock stands still inside the block."""
        with self._lock:
            self._paused_at = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                assert self._paused_at is not None
                self._paused_total += time.monotonic() - self._paused_at
                self._paused_at = None

    def __repr__(self) -> str:
        return f"RunClock(speed={self.speed})"


class Payer(threading.Thread):
    """Pays ``numbers`` in full in Xero, in order, one every ``spacing`` seconds of the clock
    (each as soon as it exists there, if it was not there yet when its turn came)."""

    def __init__(
        self, xero: FakeXero[Any], numbers: Sequence[str], clock: RunClock, spacing: float
    ) -> None:
        super().__init__(name="payer", daemon=True)
        self.xero, self.numbers, self.clock, self.spacing = xero, numbers, clock, spacing
        self.stop = threading.Event()  # give up (the push failed)
        self.hurry = threading.Event()  # the push is over: pay the rest now
        self.paid = 0

    def run(self) -> None:
        start = self.clock.monotonic()
        for k, number in enumerate(self.numbers):
            due = start + k * self.spacing
            while not self.hurry.is_set() and self.clock.monotonic() < due:
                self.clock.sleep(min(0.25, due - self.clock.monotonic()))
            while not self.stop.is_set():
                try:
                    invoice = self.xero.invoice(number)
                except NotFound:
                    self.clock.sleep(0.25)
                    continue
                self.xero.pay(invoice["InvoiceID"], amount=Decimal(str(invoice["AmountDue"])))
                self.paid += 1
                break


class Sink:
    """A host's PaymentSink: keeps the newest update per invoice number."""

    def __init__(self) -> None:
        self.latest: dict[str, PaymentUpdate] = {}
        self.told = 0
        self._lock = threading.Lock()

    def apply(self, update: PaymentUpdate) -> None:
        with self._lock:
            self.told += 1
            seen = self.latest.get(update.invoice_number)
            if seen is None or update.sequence >= seen.sequence:
                self.latest[update.invoice_number] = update


def rate_floor(calls: int, *, per_minute: int, concurrent: int, latency: float) -> float:
    """Seconds before which ``calls`` can't all be answered (see the module docstring)."""
    if calls <= 0:
        return 0.0
    windows = math.ceil(calls / per_minute)
    last = calls - per_minute * (windows - 1)
    by_window = WINDOW * (windows - 1) + math.ceil(last / concurrent) * latency
    by_flight = math.ceil(calls / concurrent) * latency
    return max(by_window, by_flight)


def staged_floor(
    stages: Sequence[tuple[int, int]], *, per_minute: int, concurrent: int, latency: float
) -> float:
    """The earliest finish of ``stages`` run in order, each ``(calls, at most in flight)``.

    A stage starts when the previous one's last answer came. Fixed minute windows (opened
    by the first call after the previous one closed), ``concurrent`` in flight, ``latency``
    per call, calls sent the first instant they are allowed.
    """
    now = 0.0
    opened: float | None = None
    used = 0
    for count, width in stages:
        width = max(1, min(width, concurrent))
        answers: list[float] = []  # when each call of this stage in flight is answered
        for _ in range(count):
            start = now
            if len(answers) >= width:
                start = max(start, heapq.heappop(answers))
            if opened is not None and start >= opened + WINDOW:
                opened, used = None, 0
            if opened is not None and used >= per_minute:
                start = opened + WINDOW
                opened, used = None, 0
            if opened is None:
                opened = start
            used += 1
            heapq.heappush(answers, start + latency)
            now = start
        now = max(answers) if answers else now
    return now


def _is_page(r: RecordedRequest) -> bool:
    """A changed-since page of the pull (each depends on the one before)."""
    return (
        r.method == "GET"
        and r.path.lower() in ("/invoices", "/payments")
        and "ids" not in {k.lower() for k in r.query}
    )


def engine_stages(requests: Sequence[RecordedRequest], pushed: int) -> list[tuple[int, int]]:
    """The engine's order of requests as stages: see the module docstring."""
    api = c.accounting(requests)
    push, pull = api[:pushed], api[pushed:]
    reference = sum(1 for r in push if r.method == "GET")
    stages = [(reference, 5), (len(push) - reference, 5)]
    pages = sum(1 for r in pull if _is_page(r))
    stages.extend([(1, 1)] * pages)
    stages.append((len(pull) - pages, 5))
    return [s for s in stages if s[0]]


def _paid_in_xero(xero: FakeXero[Any]) -> dict[str, Decimal]:
    """Sum of the live payments on each invoice, by InvoiceID."""
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for payment in xero.payments():
        if payment.get("Status") != "DELETED":
            paid[payment["Invoice"]["InvoiceID"]] += Decimal(str(payment["Amount"]))
    return paid


def run(args: argparse.Namespace) -> tuple[list[list[object]], list[str]]:
    clock = RunClock(args.speed)
    hold = c.Latency(args.latency, clock.sleep)
    xero = FakeXero(
        clock,
        seed=1,
        short_code="!Bench",
        minute_limit=args.per_minute,
        in_flight_hook=hold,
    )
    xero.add_account(code="200", name="Sales", type="REVENUE")
    xero.add_account(code="260", name="Other Revenue", type="REVENUE")
    xero.add_tax_rate(tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"))
    xero.add_tax_rate(tax_type="ZERORATEDOUTPUT", name="Zero Rated", rate=Decimal("0"))
    invoices = c.make_invoices(c.make_customers(xero, 1), args.invoices)
    sink = Sink()
    engine = SyncEngine(
        client=xero.client(
            retry=RetryPolicy.seeded(7), limits=RateLimits(per_minute=args.per_minute)
        ),
        store=MemoryStore(),
        tax_map=c.TAX_MAP,
        clock=clock,
        payment_sink=sink,
        max_in_flight=5,
    )
    failures: list[str] = []
    share = [
        i.number for n, i in enumerate(invoices) if int((n + 1) * args.paid) > int(n * args.paid)
    ]
    # Spread over the push's own floor: payments come in steadily, never hundreds a second.
    push_floor = rate_floor(
        c.batches(args.invoices) + c.REFERENCE_READS + 1,
        per_minute=args.per_minute,
        concurrent=5,
        latency=args.latency,
    )
    payer = Payer(xero, share, clock, spacing=push_floor / max(1, len(share)))

    began = clock.monotonic()
    payer.start()
    outcomes = engine.push_many(invoices)
    pushed_at = clock.monotonic()
    pushed = len(c.accounting(xero.requests))
    with clock.paused():
        if not all(o.ok for o in outcomes):
            payer.stop.set()
        payer.hurry.set()
        payer.join()
    pull_began = clock.monotonic()
    engine.pull()
    ended = clock.monotonic()

    bad = [o for o in outcomes if not o.ok]
    if bad:
        failures.append(f"{len(bad)} pushes failed, e.g. {bad[0].error}")
    if [o.invoice_id for o in outcomes] != [i.id for i in invoices]:
        failures.append("push_many's results are not in input order")
    stored = xero.invoices()
    ids = {i["InvoiceNumber"]: i["InvoiceID"] for i in stored}
    linked = sum(1 for o in outcomes if o.ok and ids.get(o.invoice_number) == o.xero_invoice_id)
    if linked != len(invoices):
        failures.append(f"{len(invoices) - linked} results name no (or another) Xero invoice")
    copies = Counter(i["InvoiceNumber"] for i in stored)
    wanted = {i.number for i in invoices}
    if set(copies) != wanted or any(n != 1 for n in copies.values()):
        extra = sum(n - 1 for n in copies.values())
        failures.append(
            f"Xero holds {len(copies)} of {len(wanted)} invoices, {extra} more than once"
        )
    paid = _paid_in_xero(xero)
    told_wrong = 0
    for invoice in stored:
        update = sink.latest.get(invoice["InvoiceNumber"])
        told = update.amount_paid if update is not None else Decimal(0)
        if told != paid.get(invoice["InvoiceID"], Decimal(0)):
            told_wrong += 1
    if told_wrong:
        failures.append(f"the PaymentSink was told a wrong amount paid for {told_wrong} invoices")

    log = xero.requests
    api = c.accounting(log)
    calls = len(api)
    throttled = c.throttled(log)
    sync = ended - began
    limits = {"per_minute": args.per_minute, "concurrent": 5, "latency": args.latency}
    floor = rate_floor(calls - throttled, **limits)
    engine_floor = staged_floor(engine_stages(api, pushed), **limits)
    pages = sum(1 for r in api[pushed:] if _is_page(r))
    load = os.getloadavg()
    rows: list[list[object]] = [
        [
            f"{args.invoices:,} invoices, {len(share):,} paid",
            f"{sync / 60:.2f}",
            f"{(pushed_at - began) / 60:.2f}",
            f"{(ended - pull_began) / 60:.2f}",
            calls,
            f"{pushed} + {calls - pushed} ({pages} pages)",
            f"{floor / 60:.2f}",
            f"{sync / floor:.3f}" if floor else "n/a",
            f"{engine_floor / 60:.2f}",
            hold.most,
            throttled,
            "yes" if not failures else "NO",
        ]
    ]
    print(
        f"{args.per_minute} calls a minute, 5 in flight, {args.latency:g} s a request, "
        f"clock x{args.speed:g}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"sink told {sink.told:,} updates, {payer.paid:,} paid\n"
    )
    return rows, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds a request")
    parser.add_argument("--per-minute", type=int, default=60, help="calls a minute window")
    parser.add_argument("--paid", type=float, default=1.0, help="share paid in Xero")
    parser.add_argument("--speed", type=float, default=1.0, help="clock x real time")
    parser.add_argument("--quick", action="store_true", help="120 invoices, 3/min, x60 clock")
    args = parser.parse_args(argv)
    if args.quick:
        args.invoices, args.latency, args.per_minute, args.speed = 120, 1.0, 3, 60.0
    rows, failures = run(args)
    print(
        c.table(
            [
                "run",
                "sync min",
                "push min",
                "pull min",
                "calls",
                "push + pull",
                "floor min",
                "x floor",
                "engine floor min",
                "most in flight",
                "429s",
                "exactly once, sink = Xero",
            ],
            rows,
        )
    )
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
