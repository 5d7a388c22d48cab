"""Background jobs: push invoices when the BMS releases them, pull payments on a schedule.

- :mod:`~bms_xero.jobs._records`: :class:`Job`, :class:`JobKind`, :class:`JobStatus` (values).
- :mod:`~bms_xero.jobs._protocols`: :class:`JobStore` (where jobs live),
  :class:`InvoiceSource` (the host's invoices), :class:`CustomerSource` (its customers, for
  ``link_customer`` jobs), :class:`TenantSync` (what a worker needs from a ``SyncEngine``).
- :class:`MemoryJobStore` and :class:`SQLiteJobStore` implement ``JobStore``, and so does
  :class:`PostgresJobStore` (the ``postgres`` extra; imported on first use, so importing
  this package never imports psycopg); :mod:`bms_xero.jobs.contract` checks a host's own
  implementation.
- :class:`Worker` leases due jobs and runs them (``run_pending``, ``run_forever``);
  :class:`PullSchedule` enqueues periodic pulls.

A host enqueues on release and lets a worker do the rest::

    jobs = SQLiteJobStore("sync.db")
    jobs.enqueue_push(engine.tenant_id, invoice.id, invoice_number=invoice.number, now=now)
    Worker(engine, jobs, source).run_pending()

See ``docs/jobs.md``.
"""

from typing import TYPE_CHECKING

from bms_xero.jobs._memory import MemoryInvoiceSource, MemoryJobStore
from bms_xero.jobs._protocols import CustomerSource, InvoiceSource, JobStore, TenantSync
from bms_xero.jobs._records import Job, JobKind, JobStatus
from bms_xero.jobs._schedule import PullSchedule
from bms_xero.jobs._sqlite import SQLiteJobStore
from bms_xero.jobs._worker import Backoff, Failure, RunReport, Worker, classify

if TYPE_CHECKING:
    from bms_xero.jobs._postgres import PostgresJobStore


def __getattr__(name: str) -> object:
    """:class:`PostgresJobStore`, imported when first asked for (it needs psycopg; without
    it this raises ConfigurationError naming the extra to install)."""
    if name == "PostgresJobStore":
        from bms_xero.jobs._postgres import PostgresJobStore

        return PostgresJobStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Backoff",
    "CustomerSource",
    "Failure",
    "InvoiceSource",
    "Job",
    "JobKind",
    "JobStatus",
    "JobStore",
    "MemoryInvoiceSource",
    "MemoryJobStore",
    "PostgresJobStore",
    "PullSchedule",
    "RunReport",
    "SQLiteJobStore",
    "TenantSync",
    "Worker",
    "classify",
]
