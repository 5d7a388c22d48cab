"""Storage: the ports the sync engine writes through, and two implementations.

- :mod:`~bms_xero.storage._records`: :class:`SyncRecord`, :class:`SyncState` (pure values),
  and :class:`CreditNoteRecord`, :class:`CreditNoteState` for credit notes.
- :mod:`~bms_xero.storage._protocols`: :class:`SyncRecordStore`, :class:`CursorStore`,
  :class:`CustomerLinkStore` and :class:`SyncStore` (all three), as ``typing.Protocol``\\ s,
  and :class:`CreditNoteStore` (its own role, which both built-in stores also implement).
- :class:`MemoryStore` (tests, scripts) and :class:`SQLiteStore` (one file, several
  processes) implement :class:`SyncStore`.
- :mod:`~bms_xero.storage._tokens`: :class:`TokenStore` for OAuth tokens (compare-and-swap),
  with :class:`MemoryTokenStore` and :class:`SQLiteTokenStore`, which are also
  :class:`RefreshLease`\\ s (one refresher per expiry across processes).
- :class:`PostgresStore` and :class:`PostgresTokenStore` (the ``postgres`` extra, psycopg 3)
  keep the same in PostgreSQL, for workers on several machines; they are imported on first
  use, so importing this package never imports psycopg.
- :mod:`bms_xero.storage.contract`: checks a host's own implementation keeps the semantics.

Every key includes the Xero tenant id, so one store serves several organisations.
"""

from typing import TYPE_CHECKING

from bms_xero.storage._credit_records import CreditNoteRecord, CreditNoteState
from bms_xero.storage._memory import MemoryStore
from bms_xero.storage._protocols import (
    CreditNoteStore,
    CursorStore,
    CustomerLinkStore,
    SyncRecordStore,
    SyncStore,
)
from bms_xero.storage._records import SyncRecord, SyncState
from bms_xero.storage._sqlite_store import SQLiteStore
from bms_xero.storage._tokens import (
    MemoryTokenStore,
    RefreshLease,
    SQLiteTokenStore,
    StoredToken,
    TokenSet,
    TokenStore,
)

if TYPE_CHECKING:
    from bms_xero.storage._postgres_store import PostgresStore
    from bms_xero.storage._postgres_tokens import PostgresTokenStore

#: The PostgreSQL stores, by the module that defines each: imported on first use.
_LAZY = {
    "PostgresStore": "bms_xero.storage._postgres_store",
    "PostgresTokenStore": "bms_xero.storage._postgres_tokens",
}


def __getattr__(name: str) -> object:
    """The PostgreSQL stores, imported when first asked for (they need psycopg; without it
    this raises ConfigurationError naming the extra to install)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CreditNoteRecord",
    "CreditNoteState",
    "CreditNoteStore",
    "CursorStore",
    "CustomerLinkStore",
    "MemoryStore",
    "MemoryTokenStore",
    "PostgresStore",
    "PostgresTokenStore",
    "RefreshLease",
    "SQLiteStore",
    "SQLiteTokenStore",
    "StoredToken",
    "SyncRecord",
    "SyncRecordStore",
    "SyncState",
    "SyncStore",
    "TokenSet",
    "TokenStore",
]
