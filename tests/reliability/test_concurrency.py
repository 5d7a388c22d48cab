"""Several engines over one SQLite file: four threads, then two processes, pushing and pulling."""

from __future__ import annotations

import multiprocessing
import queue
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

from bms_xero.storage import SQLiteStore
from bms_xero.testing import FakeXero, serve
from tests.reliability import _processes
from tests.reliability.conftest import (
    SecretWatch,
    Tally,
    check_xero,
    engine_for,
    invoices_for,
    organisation,
)

JOIN_TIMEOUT = 120  # seconds; a hang fails the test instead of blocking CI


def _pay_half(xero: FakeXero[Any]) -> None:
    for n, stored in enumerate(xero.invoices()):
        if n % 2 == 0:
            xero.pay(stored["InvoiceID"], amount=Decimal(str(stored["AmountDue"])))


def _threads(target: Any, arguments: list[tuple[Any, ...]]) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(*args: Any) -> None:
        try:
            target(*args)
        except BaseException as e:  # surfaced by the test
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=args) for args in arguments]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=JOIN_TIMEOUT)
    return errors + [TimeoutError(t.name) for t in threads if t.is_alive()]


def test_four_threads_one_sqlite_file(tmp_path: Path, tally: Tally, watch: SecretWatch) -> None:
    """Four engines (one per thread, each its own SQLiteStore) push and pull without harm."""
    xero, customer = organisation(11)
    invoices = invoices_for(customer, 80)
    db = tmp_path / "shared.db"
    barrier = threading.Barrier(4)
    orders = [
        invoices,
        invoices[::-1],
        invoices[40:] + invoices[:40],
        invoices[::2] + invoices[1::2],
    ]

    def push(order: list[Any]) -> None:
        store = SQLiteStore(db, timeout=30)
        try:
            engine = engine_for(xero, store, watch)
            barrier.wait(timeout=JOIN_TIMEOUT)
            engine.push_many(order)
        finally:
            store.close()

    def pull_and_repush(order: list[Any]) -> None:
        store = SQLiteStore(db, timeout=30)
        try:
            engine = engine_for(xero, store, watch)
            barrier.wait(timeout=JOIN_TIMEOUT)
            engine.pull()
            engine.push_many(order)
            engine.pull()
        finally:
            store.close()

    pushed = _threads(push, [(order,) for order in orders])
    _pay_half(xero)
    xero.clock.advance(60)
    pulled = _threads(pull_and_repush, [(order,) for order in orders])
    store = SQLiteStore(db)
    try:
        final = engine_for(xero, store, watch)
        settled = final.push_many(invoices)
        final.pull()
        check = check_xero(xero, store, invoices)
    finally:
        store.close()
    tally.add(
        invoices=len(invoices),
        duplicates=check.duplicates,
        lost_invoices=check.lost_invoices,
        paid_invoices=check.paid,
        lost_payments=check.lost_payments,
    )

    assert ([], [], True, 40) == (pushed, pulled, all(o.ok for o in settled), check.paid)
    assert (0, 0, 0) == (check.duplicates, check.lost_invoices, check.lost_payments)


def test_two_processes_one_sqlite_file(tmp_path: Path, tally: Tally, watch: SecretWatch) -> None:
    """Two processes push the same invoices, then pull, over one SQLite file and a loopback fake."""
    xero, customer = organisation(12, minute_limit=100_000)
    watch.watch_fake(xero)
    assert customer.xero_contact_id is not None
    invoices = invoices_for(customer, 40)
    db = tmp_path / "shared.db"
    SQLiteStore(db).close()  # create the schema once, before the race
    context = multiprocessing.get_context("spawn")
    results: Any = context.Queue()

    with serve(xero) as server:
        details = {
            "api_url": server.api_url,
            "token_url": server.token_url,
            "client_id": xero.client_id,
            "client_secret": xero.client_secret,
            "tenant_id": xero.tenant_id,
        }

        def both(task: str) -> list[dict[str, Any]]:
            processes = [
                context.Process(
                    target=_processes.run,
                    args=(task,),
                    kwargs={
                        "db": str(db),
                        "server": details,
                        "contact_id": customer.xero_contact_id,
                        "count": len(invoices),
                        "reverse": reverse,
                        "results": results,
                    },
                )
                for reverse in (False, True)
            ]
            for p in processes:
                p.start()
            answers = []
            for _ in processes:
                try:
                    answers.append(results.get(timeout=JOIN_TIMEOUT))
                except queue.Empty:
                    answers.append({"crash": "no answer in time"})
            for p in processes:
                p.join(timeout=10)
                if p.is_alive():
                    p.terminate()
            return answers

        pushed = both("push")
        _pay_half(xero)
        xero.clock.advance(60)
        pulled = both("pull")

    store = SQLiteStore(db)
    try:
        final = engine_for(xero, store, watch)
        settled = final.push_many(invoices)
        final.pull()
        check = check_xero(xero, store, invoices)
    finally:
        store.close()
    tally.add(
        invoices=len(invoices),
        duplicates=check.duplicates,
        lost_invoices=check.lost_invoices,
        paid_invoices=check.paid,
        lost_payments=check.lost_payments,
    )

    assert ([], [], True, True) == (
        [a for a in pushed if "crash" in a],
        [a for a in pulled if "crash" in a],
        sum(a.get("ok", 0) for a in pushed) >= len(invoices),  # the children did the pushing
        sum(a.get("updates", 0) for a in pulled) >= 20,  # ... and brought the payments back
    )
    assert (True, 20) == (all(o.ok for o in settled), check.paid)
    assert (0, 0, 0) == (check.duplicates, check.lost_invoices, check.lost_payments)
