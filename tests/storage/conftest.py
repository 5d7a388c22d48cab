"""Fixtures: every storage test that should hold for both built-in stores gets each in turn."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bms_xero.storage import MemoryStore, SQLiteStore, SyncStore

StoreFactory = Callable[[], SyncStore]


@pytest.fixture(name="make_store", params=["memory", "sqlite"])
def _make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """A factory of fresh stores of one kind; every store it made is closed afterwards."""
    made: list[MemoryStore | SQLiteStore] = []

    def make() -> SyncStore:
        store: MemoryStore | SQLiteStore
        if request.param == "memory":
            store = MemoryStore()
        else:
            store = SQLiteStore(tmp_path / f"sync-{len(made)}.db")
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture(name="store")
def _store(make_store: StoreFactory) -> SyncStore:
    """One fresh store (memory, then SQLite in tmp_path)."""
    return make_store()
