"""What every part of the engine works with, handed over once."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from bms_xero.clock import Clock
from bms_xero.engine._ports import XeroApi
from bms_xero.storage._protocols import SyncStore

__all__ = ["Context"]


@attrs.frozen
class Context:
    """One organisation's client and store, the clock, and the Idempotency-Key factory.

    The push, the pull and the cancel share these (and nothing else): the facade builds one
    and hands it to each, so every dependency still arrives through a constructor.
    """

    tenant_id: str
    client: XeroApi
    store: SyncStore
    clock: Clock
    new_key: Callable[[], str]
