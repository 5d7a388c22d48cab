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
- :mod:`bms_xero.storage.contract`: checks a host's own implementation keeps the semantics.

Every key includes the Xero tenant id, so one store serves several organisations.
"""

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

__all__ = [
    "CreditNoteRecord",
    "CreditNoteState",
    "CreditNoteStore",
    "CursorStore",
    "CustomerLinkStore",
    "MemoryStore",
    "MemoryTokenStore",
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
