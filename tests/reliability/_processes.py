"""What each child process runs in the two-process test (importable, so ``spawn`` can start it)."""

from __future__ import annotations

import multiprocessing.queues
from typing import Any

import httpx

from bms_xero import Customer, SyncEngine
from bms_xero.clock import FakeClock
from bms_xero.storage import SQLiteStore
from bms_xero.transport import HttpxTransport
from bms_xero.xero import ClientCredentials, RetryPolicy, XeroClient
from tests.engine.conftest import TAX_MAP, make_invoice


def run(
    task: str,
    *,
    db: str,
    server: dict[str, str],
    contact_id: str,
    count: int,
    reverse: bool,
    results: multiprocessing.queues.Queue[Any],
) -> None:
    """Push ``count`` invoices (or pull) with an engine over the shared SQLite file."""
    store = SQLiteStore(db, timeout=30)
    http = httpx.Client(timeout=20)
    try:
        client = XeroClient(
            HttpxTransport(http),
            auth=ClientCredentials(
                server["client_id"], server["client_secret"], token_url=server["token_url"]
            ),
            tenant_id=server["tenant_id"],
            base_url=server["api_url"],
            clock=FakeClock(),
            retry=RetryPolicy.seeded(1),
        )
        engine = SyncEngine(client=client, store=store, tax_map=TAX_MAP, clock=FakeClock())
        if task == "push":
            customer = Customer(id="C-1", name="Acme", xero_contact_id=contact_id)
            invoices = [make_invoice(customer, n) for n in range(1, count + 1)]
            outcomes = engine.push_many(invoices[::-1] if reverse else invoices)
            results.put(
                {
                    "ok": sum(1 for o in outcomes if o.ok),
                    "errors": sorted({type(o.error).__name__ for o in outcomes if o.error}),
                }
            )
        else:
            results.put({"updates": len(engine.pull()), "errors": []})
    except BaseException as e:  # reported to the parent, which fails the test
        results.put({"crash": f"{type(e).__name__}: {e}"})
    finally:
        http.close()
        store.close()
