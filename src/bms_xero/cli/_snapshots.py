"""Invoices queued by ``bms-xero push --background``, kept for the worker in the SQLite file.

A background push job records only the invoice id; the worker loads the invoice through an
``InvoiceSource`` when the job runs. For invoices that came from a JSON file the CLI is that
source: it saves each invoice (its BMS JSON, see :mod:`bms_xero.mapping.bms_json`) in the
table ``bms_xero_cli_invoices`` of the same file, versioned under the component ``"cli"``.
Queuing an invoice again replaces its snapshot, so the job pushes the latest version.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime
from typing import Final

from bms_xero.domain import Invoice
from bms_xero.errors import StorageError
from bms_xero.mapping.bms_json import invoice_from_dict, invoice_to_dict
from bms_xero.storage._sqlite import SQLiteFile
from bms_xero.storage._sqlite_schema import Migration

__all__ = ["SQLiteInvoiceSnapshots"]

COMPONENT: Final = "cli"
TABLE: Final = "bms_xero_cli_invoices"


def _v1(conn: sqlite3.Connection) -> None:
    """One snapshot per tenant and BMS invoice."""
    conn.execute(
        f"CREATE TABLE {TABLE} (tenant_id TEXT NOT NULL, invoice_id TEXT NOT NULL, "
        "invoice_number TEXT NOT NULL, body TEXT NOT NULL, saved_at TEXT NOT NULL, "
        "PRIMARY KEY (tenant_id, invoice_id))"
    )


def _v2(conn: sqlite3.Connection) -> None:
    """The settings ``bms-xero connect`` saves (see :mod:`._saved`)."""
    conn.execute(
        "CREATE TABLE bms_xero_cli_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL, "
        "saved_at TEXT NOT NULL)"
    )


#: The cli component's migrations (its invoice snapshots and saved settings), oldest first;
#: append, never edit a released one.
MIGRATIONS: Final[tuple[Migration, ...]] = (_v1, _v2)


class SQLiteInvoiceSnapshots:
    """An ``InvoiceSource`` over invoices saved in a SQLite file (``bms_xero_cli_invoices``).

    Args:
        path: The database file (the same one the sync store and job store use).
        timeout: Seconds to wait for another process's write lock.

    Raises:
        SchemaVersionError: The file was written by a newer bms_xero.
        StorageError: The file can't be opened or isn't a database.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 5.0) -> None:
        # The same plumbing as the other stores: a pool, WAL, fair waits for the write lock.
        self._db = SQLiteFile(
            path,
            owner="SQLiteInvoiceSnapshots",
            component=COMPONENT,
            migrations=MIGRATIONS,
            timeout=timeout,
            synchronous="FULL",
            in_memory_hint="the worker in another process must read the same file",
        )
        self._path = self._db.path

    def close(self) -> None:
        """Close the connections. Idempotent."""
        self._db.close()

    def __repr__(self) -> str:
        return f"SQLiteInvoiceSnapshots({self._path!r})"

    def put(self, tenant_id: str, invoice: Invoice, *, now: datetime) -> None:
        """Save (or replace) the invoice the worker will push for this tenant."""
        body = json.dumps(invoice_to_dict(invoice), sort_keys=True)
        saved = now.astimezone(UTC).isoformat(timespec="microseconds")
        with self._db.transaction("save an invoice", write=True) as conn:
            conn.execute(
                f"INSERT INTO {TABLE} (tenant_id, invoice_id, invoice_number, body, saved_at) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, invoice_id) DO UPDATE SET "
                "invoice_number = excluded.invoice_number, body = excluded.body, "
                "saved_at = excluded.saved_at",
                (tenant_id, invoice.id, invoice.number, body, saved),
            )

    def get(self, tenant_id: str, invoice_id: str) -> Invoice | None:
        """The saved invoice, or ``None`` (see ``InvoiceSource.get``).

        Raises:
            InvoiceValidationError: The saved invoice no longer passes validation (a newer
                rule); queue it again from a corrected file.
        """
        with self._db.errors("read an invoice"), self._db.connection() as conn:
            row = conn.execute(
                f"SELECT body FROM {TABLE} WHERE tenant_id = ? AND invoice_id = ?",  # noqa: S608
                (tenant_id, invoice_id),
            ).fetchone()
        if row is None:
            return None
        try:
            data = json.loads(row[0])
        except ValueError as e:
            raise StorageError(
                f"{self._path}: the saved invoice {invoice_id} can't be read ({e}); it was "
                "changed outside bms_xero: queue it again with bms-xero push --background"
            ) from None
        return invoice_from_dict(data)
