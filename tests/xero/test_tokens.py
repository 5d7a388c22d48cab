"""Token stores: compare-and-swap on a version and the refresh lease, in memory and in SQLite."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bms_xero.errors import SchemaVersionError, StorageValueError, VersionConflict
from bms_xero.storage._tokens import (
    MemoryTokenStore,
    RefreshLease,
    SQLiteTokenStore,
    StoredToken,
    TokenSet,
    TokenStore,
)
from bms_xero.storage.contract import (
    REFRESH_LEASE_CHECKS,
    ContractCheck,
    run_refresh_lease_contract,
)
from tests.processes import run_processes
from tests.xero._token_race import claim_lease, rotate, save_in_child

EXPIRES = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def _token(n: int = 1) -> TokenSet:
    return TokenSet(
        access_token=f"ACCESS-{n}",
        refresh_token=f"REFRESH-{n}",
        expires_at=EXPIRES,
        scopes=("offline_access", "accounting.invoices"),
    )


@pytest.fixture(name="make_store", params=["memory", "sqlite"])
def _make_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], TokenStore]]:
    made: list[SQLiteTokenStore] = []

    def make() -> TokenStore:
        if request.param == "memory":
            return MemoryTokenStore()
        store = SQLiteTokenStore(tmp_path / "tokens.db")
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture(name="store")
def _store(make_store: Callable[[], TokenStore]) -> TokenStore:
    return make_store()


class TestBothStores:
    def test_first_save_creates_version_one(self, store):
        """Saving with expected_version=None creates the record at version 1."""
        saved = store.save("conn", _token(), expected_version=None)

        assert StoredToken(_token(), 1) == saved == store.load("conn")

    def test_save_with_the_current_version_increments_it(self, store):
        """A save that read the current version succeeds and bumps it."""
        store.save("conn", _token(1), expected_version=None)

        saved = store.save("conn", _token(2), expected_version=1)

        assert (2, "REFRESH-2") == (saved.version, store.load("conn").token.refresh_token)

    def test_a_stale_version_conflicts_and_changes_nothing(self, store):
        """A save with a version that moved raises VersionConflict and keeps the winner."""
        store.save("conn", _token(1), expected_version=None)
        store.save("conn", _token(2), expected_version=1)

        with pytest.raises(VersionConflict) as caught:
            store.save("conn", _token(3), expected_version=1)

        assert (1, 2, "ACCESS-2") == (
            caught.value.expected_version,
            caught.value.actual_version,
            store.load("conn").token.access_token,
        )

    def test_creating_twice_conflicts(self, store):
        """Two first saves for one connection: the second conflicts."""
        store.save("conn", _token(1), expected_version=None)

        with pytest.raises(VersionConflict):
            store.save("conn", _token(2), expected_version=None)

    def test_missing_connection_loads_none(self, store):
        """An unknown connection has no tokens."""
        assert None is store.load("nobody")

    def test_delete(self, store):
        """delete forgets the tokens."""
        store.save("conn", _token(), expected_version=None)
        store.delete("conn")

        assert None is store.load("conn")

    def test_round_trip_keeps_the_instant_and_scopes(self, store):
        """Expiry (in any offset) and scopes read back equal; no refresh token stays None."""
        token = TokenSet(
            access_token="a",
            expires_at=datetime(2026, 1, 5, 11, 30, tzinfo=timezone(timedelta(hours=2))),
            scopes="openid accounting.invoices",
        )
        store.save("conn", token, expected_version=None)

        loaded = store.load("conn").token
        assert (token.expires_at, ("openid", "accounting.invoices"), None) == (
            loaded.expires_at,
            loaded.scopes,
            loaded.refresh_token,
        )

    def test_bad_keys_are_refused(self, store):
        """An empty connection id is refused before anything is written."""
        with pytest.raises(StorageValueError):
            store.save("", _token(), expected_version=None)

    def test_is_a_token_store(self, store):
        """Both stores satisfy the TokenStore protocol, and the RefreshLease one."""
        assert isinstance(store, TokenStore)
        assert isinstance(store, RefreshLease)

    @pytest.mark.parametrize("check", REFRESH_LEASE_CHECKS, ids=str)
    def test_keeps_the_refresh_lease_contract(self, check: ContractCheck, store):
        """Each refresh lease contract check holds for the built-in token stores."""
        check(store)

    def test_delete_also_ends_the_lease(self, store):
        """Forgetting a connection's tokens ends its refresh lease too."""
        store.save("conn", _token(), expected_version=None)
        store.acquire_refresh_lease("conn", holder="a", now=EXPIRES, seconds=30)

        store.delete("conn")

        assert store.acquire_refresh_lease("conn", holder="b", now=EXPIRES, seconds=30)

    @pytest.mark.parametrize(
        ("holder", "now", "seconds"),
        [
            ("", EXPIRES, 30),
            ("a", EXPIRES.replace(tzinfo=None), 30),  # naive
            ("a", EXPIRES, 0),
            ("a", EXPIRES, True),
        ],
    )
    def test_bad_lease_arguments_are_refused(self, store, holder, now, seconds):
        """An empty holder, a naive time or a lease of no length is refused."""
        with pytest.raises(StorageValueError):
            store.acquire_refresh_lease("conn", holder=holder, now=now, seconds=seconds)


class TestSQLite:
    def test_two_handles_on_one_file_see_each_others_versions(self, tmp_path):
        """Two stores on one file (as two processes would) compare-and-swap against each other."""
        path = tmp_path / "shared.db"
        with SQLiteTokenStore(path) as a, SQLiteTokenStore(path) as b:
            a.save("conn", _token(1), expected_version=None)
            read_by_b = b.load("conn")
            a.save("conn", _token(2), expected_version=1)

            with pytest.raises(VersionConflict):
                b.save("conn", _token(3), expected_version=read_by_b.version)
            assert "ACCESS-2" == b.load("conn").token.access_token

    def test_schema_is_recorded_under_tokens_in_the_shared_table(self, tmp_path):
        """The schema version lives in bms_xero_schema under 'tokens', beside other rows."""
        path = tmp_path / "shared.db"
        db = sqlite3.connect(path)
        db.execute(
            "CREATE TABLE bms_xero_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        db.execute("INSERT INTO bms_xero_schema VALUES ('sync', 3)")
        db.commit()
        db.close()

        SQLiteTokenStore(path).close()

        with closing(sqlite3.connect(path)) as db:
            rows = db.execute(
                "SELECT component, version FROM bms_xero_schema ORDER BY component"
            ).fetchall()
        assert [("sync", 3), ("tokens", 2)] == rows

    def test_a_newer_schema_is_refused(self, tmp_path):
        """A file written by a newer bms_xero is refused, naming both versions."""
        path = tmp_path / "new.db"
        SQLiteTokenStore(path).close()
        db = sqlite3.connect(path)
        db.execute("UPDATE bms_xero_schema SET version = 99 WHERE component = 'tokens'")
        db.commit()
        db.close()

        with pytest.raises(SchemaVersionError) as caught:
            SQLiteTokenStore(path)
        assert (99, 2) == (caught.value.found_version, caught.value.supported_version)

    def test_wal_mode(self, tmp_path):
        """The file is in WAL mode, so readers don't block the refresher."""
        path = tmp_path / "wal.db"
        SQLiteTokenStore(path).close()

        with closing(sqlite3.connect(path)) as db:
            assert "wal" == db.execute("PRAGMA journal_mode").fetchone()[0]

    def test_a_version_one_file_is_upgraded_keeping_its_tokens(self, tmp_path):
        """A file written before the refresh lease (schema 1) gains the lease table on open
        and keeps its tokens."""
        path = tmp_path / "v1.db"
        with closing(sqlite3.connect(path)) as db:
            db.execute(
                "CREATE TABLE bms_xero_schema (component TEXT PRIMARY KEY, version INTEGER "
                "NOT NULL)"
            )
            db.execute("INSERT INTO bms_xero_schema VALUES ('tokens', 1)")
            db.execute(
                "CREATE TABLE bms_xero_tokens (connection_id TEXT PRIMARY KEY, version INTEGER "
                "NOT NULL, access_token TEXT NOT NULL, refresh_token TEXT, expires_at TEXT NOT "
                "NULL, scopes TEXT NOT NULL, updated_at TEXT NOT NULL)"
            )
            db.execute(
                "INSERT INTO bms_xero_tokens VALUES ('conn', 4, 'A', 'R', ?, 'openid', ?)",
                (EXPIRES.isoformat(), EXPIRES.isoformat()),
            )
            db.commit()

        with SQLiteTokenStore(path) as store:
            stored = store.load("conn")
            leased = store.acquire_refresh_lease("conn", holder="a", now=EXPIRES, seconds=30)

        assert (4, "R", True) == (stored.version, stored.token.refresh_token, leased)

    def test_reopening_keeps_tokens(self, tmp_path):
        """Tokens survive closing and reopening the file."""
        path = tmp_path / "keep.db"
        with SQLiteTokenStore(path) as store:
            store.save("conn", _token(), expected_version=None)
        with SQLiteTokenStore(path) as store:
            assert StoredToken(_token(), 1) == store.load("conn")


def test_reprs_hide_tokens():
    """Neither a token set nor a stored token shows its tokens."""
    stored = StoredToken(_token(7), 1)

    assert "ACCESS-7" not in repr(stored)
    assert "REFRESH-7" not in repr(stored)
    assert "<redacted>" in repr(stored)


PROCESSES = 2
ROTATIONS = 15


def test_processes_racing_rotations_each_win_distinct_versions(tmp_path):
    """Two processes rotating one connection's tokens each win distinct versions; none is lost."""
    path = tmp_path / "race.db"
    with SQLiteTokenStore(path) as store:
        store.save("conn", _token(0), expected_version=None)
    reports, _ = run_processes(
        "spawn", rotate, [(str(path), f"p{n}", ROTATIONS) for n in range(PROCESSES)]
    )

    assert [] == [detail for status, detail in reports if status != "ok"]
    total = PROCESSES * ROTATIONS
    assert list(range(2, total + 2)) == sorted(v for _, won in reports for v in won)
    with SQLiteTokenStore(path) as store:
        assert total + 1 == store.load("conn").version


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform"
)
def test_a_store_opened_before_a_fork_works_in_the_child(tmp_path):
    """A token store opened before a fork (prefork servers) reopens its connection in the child."""
    with SQLiteTokenStore(tmp_path / "fork.db") as store:
        store.save("conn", _token(), expected_version=None)
        [report], _ = run_processes("fork", save_in_child, [(store,)], barrier=False, timeout=30)

        assert ("ok", 2) == report
        assert 2 == store.load("conn").version


def test_run_refresh_lease_contract_passes_the_built_in_stores(tmp_path):
    """run_refresh_lease_contract returns quietly for both built-in token stores."""
    run_refresh_lease_contract(MemoryTokenStore)
    run_refresh_lease_contract(lambda: SQLiteTokenStore(tmp_path / "contract.db"))


class NeverExpires(MemoryTokenStore):
    """A broken lease: once claimed it never runs out, and anyone may release it."""

    def acquire_refresh_lease(self, connection_id, *, holder, now, seconds):
        return super().acquire_refresh_lease(connection_id, holder=holder, now=now, seconds=10**9)

    def release_refresh_lease(self, connection_id, *, holder):
        self._leases.pop(connection_id, None)


def test_run_refresh_lease_contract_names_what_a_broken_lease_fails():
    """The contract names the checks a lease that never runs out (and that anyone may
    release) fails, and only those."""
    with pytest.raises(AssertionError) as caught:
        run_refresh_lease_contract(NeverExpires)
    failed = sorted(
        line.split(" ", 2)[1] for line in str(caught.value).splitlines() if line.startswith("- ")
    )
    assert ["lease_runs_out", "release_frees_only_its_holders_lease"] == failed


LEASE_PROCESSES = 8


def test_processes_claiming_one_lease_at_once_get_it_once(tmp_path):
    """Eight processes claiming one connection's refresh lease at the same instant: exactly
    one gets it."""
    path = tmp_path / "lease.db"
    SQLiteTokenStore(path).close()
    reports, _ = run_processes(
        "spawn", claim_lease, [(str(path), f"p{n}") for n in range(LEASE_PROCESSES)]
    )

    assert [] == [detail for status, detail in reports if status != "ok"]
    assert 1 == sum(1 for _, granted in reports if granted)
