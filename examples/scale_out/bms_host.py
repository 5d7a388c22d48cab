"""The host module of the scale-out example: what ``celery -A bms_host worker`` imports.

A small BMS whose invoices are generated (``I-00042`` is invoice ``INV-00042`` of 115.00 for
Acme Ltd), wired the way a real host wires bms_xero for several machines:

- sync records and jobs in PostgreSQL (``PostgresStore``, ``PostgresJobStore``), one database
  shared by every worker;
- one rate budget per organisation in Redis (``RedisRateBudget``), so all the workers
  together keep inside Xero's 5 in flight and 60 a minute;
- the tasks registered on this module's own Celery app, one queue per organisation.

Everything is read from the environment (see the README): ``BMS_XERO_ORGS`` (the file
``fake_orgs.py`` wrote), ``BMS_DATABASE_URL``, ``BMS_BROKER_URL``, ``BMS_BUDGET_URL`` (the
Redis of the rate budget; ``none`` gives each process a budget of its own, to see the 429s the
shared one prevents) and, for tests, ``BMS_KEY_PREFIX``, ``BMS_LEASE_SECONDS``,
``BMS_VISIBILITY_TIMEOUT``, ``BMS_BATCH_SIZE``.

It is also the host's command line::

    python bms_host.py enqueue --count 500     # release I-00001..I-00500 in every organisation
    python bms_host.py status                  # jobs by status, per organisation
    python bms_host.py queues                  # the -Q list for `celery worker`
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
from celery import Celery

from bms_xero import SyncEngine
from bms_xero.clock import SystemClock
from bms_xero.domain import Customer, Invoice, LineItem
from bms_xero.integrations.celery import TaskOptions, register_tasks
from bms_xero.jobs import Backoff, JobStatus, PostgresJobStore
from bms_xero.storage import PostgresStore
from bms_xero.xero import RedisRateBudget, XeroClient

T = TypeVar("T")


def _setting(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, "").strip() or default
    if value is None:
        sys.exit(f"bms_host: set {name} (see examples/scale_out/README.md)")
    return value


_ORGS_FILE = Path(_setting("BMS_XERO_ORGS", "orgs.json"))
if not _ORGS_FILE.is_file():
    sys.exit(f"bms_host: {_ORGS_FILE} not found; run `python fake_orgs.py --out orgs.json` first")
ORGS: dict[str, Any] = json.loads(_ORGS_FILE.read_text())
DATABASE_URL = _setting("BMS_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bms_scale")
BROKER_URL = _setting("BMS_BROKER_URL", "redis://127.0.0.1:6379/0")
BUDGET_URL = _setting("BMS_BUDGET_URL", BROKER_URL)
KEY_PREFIX = _setting("BMS_KEY_PREFIX", "bms_host:")
TENANTS: dict[str, str] = ORGS["tenants"]  # tenant id -> the contact of Acme Ltd there

app = Celery("bms_host", broker=BROKER_URL)
app.conf.update(
    broker_connection_retry_on_startup=True,
    broker_transport_options={
        "global_keyprefix": KEY_PREFIX,
        # A message a killed worker held comes back after this long (and a task running
        # longer is delivered twice: harmless, the job store decides who runs the job).
        "visibility_timeout": float(_setting("BMS_VISIBILITY_TIMEOUT", "3600")),
    },
    worker_prefetch_multiplier=1,  # a worker reserves one message at a time per process
    task_ignore_result=True,  # the job store is the record
    # `celery -A bms_host beat`: each minute, enqueue the payments pulls that are due and
    # drain every organisation (runs whatever's due whose message was lost).
    beat_schedule={"bms_xero": {"task": "bms_xero.tick", "schedule": 60.0}},
)


class _PerProcess:
    """One value per process: Celery's prefork children must not share connections."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[tuple[int, str], Any] = {}

    def get(self, key: str, build: Callable[[], T]) -> T:
        with self._lock:
            slot = (os.getpid(), key)
            if slot not in self._values:
                self._values[slot] = build()
            value: T = self._values[slot]
            return value


_built = _PerProcess()


class ToyBms:
    """The BMS's invoices (an InvoiceSource): generated from their ids."""

    def get(self, tenant_id: str, invoice_id: str) -> Invoice | None:
        contact = TENANTS.get(tenant_id)
        if contact is None or not invoice_id.startswith("I-"):
            return None
        n = int(invoice_id[2:])
        return Invoice(
            id=invoice_id,
            number=f"INV-{n:05d}",
            customer=Customer(id="C-1", name="Acme Ltd", xero_contact_id=contact),
            issue_date=date(2026, 1, 5),
            due_date=date(2026, 2, 5),
            lines=(
                LineItem(
                    description=f"Service {n}",
                    quantity=Decimal("1"),
                    unit_amount=Decimal("100.00"),
                    account_code="200",
                    tax_code="GST15",
                ),
            ),
        )


def engine_for(tenant_id: str) -> SyncEngine:
    """The engine of one organisation in this process, on the shared stores and budget."""
    clock = SystemClock()
    budget = (
        None  # "none": each process paces itself alone (to see the 429s this prevents)
        if BUDGET_URL == "none"
        else _built.get(
            "budget", lambda: RedisRateBudget.from_url(BUDGET_URL, prefix=f"{KEY_PREFIX}rate")
        )
    )
    client = XeroClient.from_client_credentials(
        ORGS["client_id"],
        ORGS["client_secret"],
        http_client=httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0)),
        tenant_id=tenant_id,
        clock=clock,
        token_url=ORGS["token_url"],
        api_url=ORGS["api_url"],
        connections_url=ORGS["connections_url"],
        rate_budget=budget,  # every process keeps to one budget per organisation
    )
    return SyncEngine(
        client=client,
        store=_built.get("store", lambda: PostgresStore(DATABASE_URL)),
        tax_map={"GST15": "OUTPUT2"},
        clock=clock,
    )


xero_tasks = register_tasks(
    app,
    engines=engine_for,
    jobs=lambda: PostgresJobStore(DATABASE_URL),
    source=ToyBms(),
    tenants=list(TENANTS),
    options=TaskOptions(
        lease_seconds=float(_setting("BMS_LEASE_SECONDS", "600")),
        batch_size=int(_setting("BMS_BATCH_SIZE", "50")),
        backoff=Backoff(base=5, max_delay=300),
        pull_every_minutes=30,  # from tick
    ),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the scale-out example's BMS")
    commands = parser.add_subparsers(dest="command", required=True)
    enqueue = commands.add_parser("enqueue", help="release invoices in every organisation")
    enqueue.add_argument("--count", type=int, default=500, help="invoices per organisation")
    commands.add_parser("status", help="jobs by status, per organisation")
    commands.add_parser("queues", help="the queues a worker consumes (for -Q)")
    args = parser.parse_args(argv)
    if args.command == "queues":
        print(",".join(xero_tasks.queues()))
        return 0
    if args.command == "enqueue":
        for tenant in TENANTS:
            for n in range(1, args.count + 1):
                xero_tasks.enqueue_push(tenant, f"I-{n:05d}", invoice_number=f"INV-{n:05d}")
        print(f"released {args.count} invoices in each of {len(TENANTS)} organisations")
        return 0
    with PostgresJobStore(DATABASE_URL) as jobs:
        for tenant in TENANTS:
            counts = Counter(j.status for j in jobs.list_jobs(tenant_id=tenant, limit=1_000_000))
            shown = ", ".join(f"{counts[s]} {s.value}" for s in JobStatus if counts[s])
            print(f"{tenant}: {shown or 'no jobs'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
