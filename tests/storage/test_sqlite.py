"""SQLiteStore specifics: the file, its schema and migrations, exact storage, locking."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bms_xero.domain import Allocation, AllocationKind
from bms_xero.errors import (
    ConfigurationError,
    SchemaVersionError,
    StorageError,
    VersionConflict,
)
from bms_xero.storage import SQLiteStore, SyncRecord, SyncState
from bms_xero.storage._sqlite import _Pool
from bms_xero.storage._sqlite_schema import migrate, schema_version
from tests.storage.test_model import DATETIMES, MONEY, TEXT, records

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def new(invoice_id: str = "I-1", **changes: object) -> SyncRecord:
    return SyncRecord(
        tenant_id="t1", invoice_id=invoice_id, invoice_number=f"INV-{invoice_id}", state="pending"
    ).evolve(**changes)


def raw(path: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    """Rows straight from the file, bypassing the store."""
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, args).fetchall()


@pytest.fixture(name="path")
def _path(tmp_path: Path) -> Path:
    return tmp_path / "sync.db"


@pytest.fixture(name="store")
def _store(path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(path) as store:
        yield store


class TestFile:
    def test_reopen_keeps_everything(self, path: Path) -> None:
        """Records, cursors and links written by one store are read by the next one."""
        with SQLiteStore(path) as first:
            record = first.put(new(total=Decimal("115.00")), expected_version=None)
            first.set_cursor("t1", "payments", T0)
            first.set_contact_id("t1", "C-1", "contact-1")
        with SQLiteStore(path) as second:
            assert (record, T0, "contact-1") == (
                second.get("t1", "I-1"),
                second.get_cursor("t1", "payments"),
                second.get_contact_id("t1", "C-1"),
            )

    def test_wal_journal(self, store: SQLiteStore, path: Path) -> None:
        """The file is in WAL mode, so readers and the writer don't block each other."""
        assert [("wal",)] == raw(path, "PRAGMA journal_mode")

    def test_values_are_exact_text(self, store: SQLiteStore, path: Path) -> None:
        """Decimals, datetimes and dates are stored as exact, readable text (UTC ISO-8601)."""
        store.put(
            new(
                total=Decimal("10.50"),
                last_push_at=datetime(2026, 1, 5, 20, 0, tzinfo=timezone(timedelta(hours=10))),
                fully_paid_on=date(2026, 2, 1),
            ),
            expected_version=None,
        )
        assert [("10.50", "2026-01-05T10:00:00.000000+00:00", "2026-02-01", "pending", 1)] == raw(
            path,
            "SELECT total, last_push_at, fully_paid_on, state, version FROM bms_xero_sync_records",
        )

    @given(records(), st.data())
    def test_every_record_reads_back_from_its_row(
        self, base: SyncRecord, data: st.DataObject
    ) -> None:
        """The row written for any record (every field, set or not) reads back as it."""
        from bms_xero.storage._sqlite_store import _decode, _encode

        def optional(strategy: st.SearchStrategy[Any]) -> Any:
            return data.draw(st.none() | strategy)

        told = data.draw(st.integers(0, 5))
        record = base.evolve(
            paid_by_prepayments=optional(MONEY),
            paid_by_overpayments=optional(MONEY),
            allocations=tuple(
                data.draw(
                    st.lists(
                        st.builds(
                            Allocation,
                            kind=st.sampled_from(AllocationKind),
                            id=st.text(min_size=1, max_size=8),
                            amount=MONEY,
                            date=st.none() | st.dates(),
                            reference=st.none() | TEXT,
                        ),
                        max_size=3,
                    )
                )
            ),
            money_version=told + data.draw(st.integers(0, 3)),
            told_version=told,
            told_status=optional(TEXT),
            delivered=data.draw(st.booleans()),
            view_url=optional(TEXT),
            online_invoice_url=optional(TEXT),
            emailed_at=optional(DATETIMES),
            last_error_type=optional(TEXT),
        )

        assert record == _decode(_encode(record))

    def test_memory_path_is_refused(self) -> None:
        """':memory:' is refused (each connection would get its own database)."""
        with pytest.raises(ConfigurationError, match="MemoryStore"):
            SQLiteStore(":memory:")

    @pytest.mark.parametrize("timeout", [-1, "5", True])
    def test_bad_timeout_is_refused(self, path: Path, timeout: object) -> None:
        """timeout must be a number of seconds >= 0."""
        with pytest.raises(ConfigurationError, match="timeout"):
            SQLiteStore(path, timeout=timeout)  # type: ignore[arg-type]

    def test_bad_synchronous_is_refused(self, path: Path) -> None:
        """synchronous must be FULL or NORMAL."""
        with pytest.raises(ConfigurationError, match="synchronous"):
            SQLiteStore(path, synchronous="OFF")  # type: ignore[arg-type]

    def test_not_a_database(self, path: Path) -> None:
        """A file that is not SQLite gives a StorageError that says so."""
        path.write_bytes(b"this is not a database, just some text " * 100)
        with pytest.raises(StorageError, match="not a SQLite database"):
            SQLiteStore(path)

    def test_missing_directory(self, tmp_path: Path) -> None:
        """A path in a directory that does not exist gives a StorageError with the fix."""
        with pytest.raises(StorageError, match="directory exists"):
            SQLiteStore(tmp_path / "nowhere" / "sync.db")

    def test_lock_timeout_is_a_storage_error(self, path: Path) -> None:
        """A write that can't get the lock within timeout raises StorageError naming it."""
        with SQLiteStore(path, timeout=0) as store, closing(sqlite3.connect(path)) as other:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(StorageError, match="held the write lock"):
                store.put(new(), expected_version=None)
            other.rollback()
            assert 1 == store.put(new(), expected_version=None).version

    def test_every_connection_waits_the_timeout(self, path: Path) -> None:
        """Each pooled connection's busy timeout is the store's timeout, also after a write."""
        with SQLiteStore(path, timeout=2.5) as store:
            store.put(new(), expected_version=None)
            with store._db.connection() as conn:
                assert 2500 == conn.execute("PRAGMA busy_timeout").fetchone()[0]

    def test_a_waiting_writer_gets_a_short_opening(self, path: Path) -> None:
        """A writer waiting for the lock takes it when another writer lets go for a moment
        (15 ms between two transactions), not only if it happens to look then: SQLite's own
        busy handler looks every 100 ms, so a writer that commits and soon begins again
        would starve it into "database is locked"."""
        with (
            SQLiteStore(path, timeout=1.0) as store,
            closing(sqlite3.connect(path, isolation_level=None, timeout=0)) as greedy,
        ):
            store.put(new("I-0"), expected_version=None)  # the pool's connection is open
            outcome: list[object] = []

            def write() -> None:
                try:
                    outcome.append(store.put(new(), expected_version=None).version)
                except StorageError as e:
                    outcome.append(e)

            greedy.execute("BEGIN IMMEDIATE")
            waiter = threading.Thread(target=write)
            waiter.start()
            time.sleep(0.25)  # between SQLite's looks at 228 ms and 328 ms
            greedy.execute("COMMIT")
            time.sleep(0.015)
            with contextlib.suppress(sqlite3.OperationalError):  # the waiter has the lock
                greedy.execute("BEGIN IMMEDIATE")  # else hold on, past the waiter's timeout
            waiter.join(timeout=5)
            if greedy.in_transaction:
                greedy.rollback()

        assert [1] == outcome

    def test_reads_while_another_process_writes(self, store: SQLiteStore, path: Path) -> None:
        """A held write lock does not block reads (WAL)."""
        stored = store.put(new(), expected_version=None)
        with closing(sqlite3.connect(path)) as other:
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE bms_xero_sync_records SET version = 99")
            assert stored == store.get("t1", "I-1")
            other.rollback()

    def test_conflict_after_outside_change(self, store: SQLiteStore, path: Path) -> None:
        """A version bumped by another writer makes a stale put conflict."""
        stored = store.put(new(), expected_version=None)
        with closing(sqlite3.connect(path)) as other, other:
            other.execute("UPDATE bms_xero_sync_records SET version = 5")
        with pytest.raises(VersionConflict) as caught:
            store.put(stored.evolve(state=SyncState.PUSHED), expected_version=1)
        assert (1, 5) == (caught.value.expected_version, caught.value.actual_version)

    def test_unreadable_row_is_a_storage_error(self, store: SQLiteStore, path: Path) -> None:
        """A row changed outside bms_xero into something unreadable raises StorageError."""
        store.put(new(), expected_version=None)
        with closing(sqlite3.connect(path)) as other, other:
            other.execute("UPDATE bms_xero_sync_records SET total = 'lots'")
        with pytest.raises(StorageError, match="can't be read"):
            store.get("t1", "I-1")


class TestSchema:
    def test_new_file_gets_the_schema(self, path: Path) -> None:
        """Opening a missing file creates it at the current 'sync' schema version."""
        SQLiteStore(path).close()
        assert [("sync", SQLiteStore.schema_version)] == raw(
            path, "SELECT component, version FROM bms_xero_schema"
        )

    def test_empty_file_is_migrated(self, path: Path) -> None:
        """An existing empty file is migrated and then usable."""
        path.write_bytes(b"")
        with SQLiteStore(path) as store:
            assert 1 == store.put(new(), expected_version=None).version

    def test_other_components_are_kept(self, path: Path) -> None:
        """Another component's schema row and tables in the same file are left alone."""
        with closing(sqlite3.connect(path)) as conn, conn:
            conn.execute(
                "CREATE TABLE bms_xero_schema "
                "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            conn.execute("INSERT INTO bms_xero_schema VALUES ('tokens', 3)")
            conn.execute("CREATE TABLE bms_xero_tokens (tenant_id TEXT PRIMARY KEY)")
        SQLiteStore(path).close()
        assert [("sync", SQLiteStore.schema_version), ("tokens", 3)] == raw(
            path, "SELECT component, version FROM bms_xero_schema ORDER BY component"
        )
        assert [("bms_xero_tokens",)] == raw(
            path, "SELECT name FROM sqlite_master WHERE name = 'bms_xero_tokens'"
        )

    def test_newer_schema_is_refused(self, path: Path) -> None:
        """A file whose 'sync' schema is newer than the code is refused and left unchanged."""
        SQLiteStore(path).close()
        with closing(sqlite3.connect(path)) as conn, conn:
            conn.execute("UPDATE bms_xero_schema SET version = 99 WHERE component = 'sync'")
        with pytest.raises(SchemaVersionError) as caught:
            SQLiteStore(path)
        error = caught.value
        assert (str(path), "sync", 99, SQLiteStore.schema_version) == (
            error.location,
            error.component,
            error.found_version,
            error.supported_version,
        )
        assert "upgrade bms_xero" in str(error)
        assert [(99,)] == raw(path, "SELECT version FROM bms_xero_schema")

    def test_schema_error_is_a_storage_error(self) -> None:
        """SchemaVersionError is caught by ``except StorageError``."""
        assert issubclass(SchemaVersionError, StorageError)

    def test_indexes_lead_with_tenant(self, store: SQLiteStore, path: Path) -> None:
        """Lookups by Xero id and by number use (tenant_id, ...) indexes."""
        indexes = {
            name: [c[2] for c in raw(path, f"PRAGMA index_info({name})")]
            for (name,) in raw(
                path,
                "SELECT name FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = 'bms_xero_sync_records' AND sql IS NOT NULL",
            )
        }
        assert [
            ["tenant_id", "invoice_id"],  # the outbox (partial: only records due)
            ["tenant_id", "invoice_number"],
            ["tenant_id", "state"],
            ["tenant_id", "xero_invoice_id"],
        ] == sorted(indexes.values())

    def test_outbox_is_read_through_its_partial_index(self, store: SQLiteStore, path: Path) -> None:
        """Finding records due for delivery uses the partial index, not a table scan."""
        plan = raw(
            path,
            "EXPLAIN QUERY PLAN SELECT * FROM bms_xero_sync_records WHERE tenant_id = 't1' "
            "AND invoice_id > '' AND money_version > told_version ORDER BY invoice_id LIMIT 500",
        )
        assert any("bms_xero_sync_records_undelivered" in str(row[-1]) for row in plan)

    def test_upgrade_from_v1_marks_money_records_due(self, path: Path) -> None:
        """A file from before the outbox gets it, and every record with money on it is due
        once (the old pull could have lost its payment)."""
        with closing(sqlite3.connect(path)) as conn, conn:
            from bms_xero.storage._sqlite_store import MIGRATIONS

            conn.execute(
                "CREATE TABLE bms_xero_schema "
                "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            MIGRATIONS[0](conn)
            conn.execute("INSERT INTO bms_xero_schema VALUES ('sync', 1)")
            for invoice_id, paid, status in (
                ("I-1", "0.00", "AUTHORISED"),
                ("I-2", "10.00", "AUTHORISED"),
                ("I-3", "0", "VOIDED"),
            ):
                conn.execute(
                    "INSERT INTO bms_xero_sync_records (tenant_id, invoice_id, invoice_number, "
                    "state, version, xero_status, amount_paid, amount_credited) "
                    "VALUES ('t1', ?, ?, 'pushed', 1, ?, ?, '0')",
                    (invoice_id, invoice_id, status, paid),
                )
        with SQLiteStore(path) as store:
            assert ["I-2", "I-3"] == [r.invoice_id for r in store.iter_undelivered("t1")]
            first = store.get("t1", "I-1")
            assert first is not None and (0, 0, ()) == (
                first.money_version,
                first.told_version,
                first.allocations,
            )


def test_times_in_a_zone_with_a_fold_keep_their_own_text() -> None:
    """1:30 twice on the night New York leaves daylight time: two instants an hour apart that
    compare equal; each is written as its own UTC time (the text cache holds UTC times only)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from bms_xero.storage._sqlite_store import _datetime_text

    try:
        zone = ZoneInfo("America/New_York")
    except ZoneInfoNotFoundError:
        pytest.skip("no time zone database here: install tzdata (pip install tzdata)")
    first = datetime(2026, 11, 1, 1, 30, tzinfo=zone)
    second = first.replace(fold=1)
    assert ("2026-11-01T05:30:00.000000+00:00", "2026-11-01T06:30:00.000000+00:00") == (
        _datetime_text(first),
        _datetime_text(second),
    )


class TestPutMany:
    def test_many_keys_of_two_tenants_in_one_call(self, store: SQLiteStore) -> None:
        """More keys than one query reads (500), two tenants, inserts then compare-and-swaps
        in one call each; a stale version anywhere writes nothing of its call."""
        keys = [(tenant, f"I-{n:04}") for tenant in ("t1", "t2") for n in range(700)]

        def record(tenant: str, invoice_id: str, **changes: object) -> SyncRecord:
            return SyncRecord(
                tenant_id=tenant, invoice_id=invoice_id, invoice_number=invoice_id, state="pending"
            ).evolve(**changes)

        inserted = store.put_many([(record(t, i), None) for t, i in keys])
        assert {1} == {r.version for r in inserted}
        updated = store.put_many([(r.evolve(state="pushed"), 1) for r in inserted])
        assert {2} == {r.version for r in updated}
        stale = [(r.evolve(state="failed"), 2) for r in updated]
        stale[1_300] = (stale[1_300][0], 1)
        with pytest.raises(VersionConflict):
            store.put_many(stale)
        with pytest.raises(VersionConflict):  # an insert of a key that exists
            store.put_many([(record("t2", "I-0699"), None)])
        held = [*store.iter_records("t1"), *store.iter_records("t2")]
        assert (1_400, {SyncState.PUSHED}, {2}) == (
            len(held),
            {r.state for r in held},
            {r.version for r in held},
        )


class TestWriteTurn:
    """This process's writers to a file queue on one lock instead of polling SQLite's."""

    @pytest.fixture(name="waits")
    def _waits(self, monkeypatch: pytest.MonkeyPatch) -> list[float]:
        """Each time a writer found SQLite's lock taken and slept before trying again."""
        from bms_xero.storage import _sqlite_schema

        waits: list[float] = []
        real = _sqlite_schema._jitter

        class Counting:
            def uniform(self, low: float, high: float) -> float:
                waits.append(high)
                return real.uniform(low, high)

        monkeypatch.setattr(_sqlite_schema, "_jitter", Counting())
        return waits

    def test_threads_write_in_turn_without_polling(self, path: Path, waits: list[float]) -> None:
        """Eight threads, two stores on the same file (spelled two ways), 200 writes: each
        lands once, and no writer ever found SQLite's lock taken (a push with five requests
        in flight made thousands of such polls before)."""
        with SQLiteStore(path) as one, SQLiteStore(path.parent / "." / path.name) as two:
            errors: list[BaseException] = []

            def write(store: SQLiteStore, worker: int) -> None:
                try:
                    for n in range(25):
                        record = store.put(new(f"I-{worker}-{n}"), expected_version=None)
                        store.put(record.evolve(state="pushed"), expected_version=1)
                except BaseException as e:
                    errors.append(e)

            threads = [
                threading.Thread(target=write, args=(one if w % 2 else two, w)) for w in range(8)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            versions = {r.invoice_id: r.version for r in one.iter_records("t1")}

        assert ([], [], 200) == (errors, waits, len(versions))
        assert {2} == set(versions.values())

    def test_a_turn_held_past_the_timeout_is_a_storage_error(self, path: Path) -> None:
        """A thread holding the file's writes longer than another's timeout makes that write
        fail with the lock's StorageError, writing nothing; once it lets go, writes go on."""
        with SQLiteStore(path) as holder, SQLiteStore(path, timeout=0.1) as impatient:
            inside, leave = threading.Event(), threading.Event()

            def hold() -> None:
                with holder._db.transaction("hold the lock", write=True):
                    inside.set()
                    leave.wait(timeout=10)

            thread = threading.Thread(target=hold)
            thread.start()
            inside.wait(timeout=10)
            try:
                with pytest.raises(StorageError, match=r"held the write lock for more than 0\.1 s"):
                    impatient.put(new(), expected_version=None)
            finally:
                leave.set()
                thread.join(timeout=10)
            assert None is impatient.get("t1", "I-1")
            assert 1 == impatient.put(new(), expected_version=None).version

    def test_the_lock_waits_only_what_is_left_of_the_timeout(self, path: Path) -> None:
        """``begin_immediate(wait=)`` bounds the wait for SQLite's lock (the turn's wait is
        taken out of the store's timeout, so a write never waits twice the timeout)."""
        from bms_xero.storage._sqlite_schema import begin_immediate

        with (
            closing(sqlite3.connect(path, isolation_level=None, timeout=30)) as waiter,
            closing(sqlite3.connect(path, isolation_level=None)) as other,
        ):
            other.execute("BEGIN IMMEDIATE")
            started = time.monotonic()
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                begin_immediate(waiter, wait=0.05)
            assert time.monotonic() - started < 10  # not the connection's 30 s
            assert 30_000 == waiter.execute("PRAGMA busy_timeout").fetchone()[0]

    def test_a_forked_child_does_not_inherit_a_held_turn(self) -> None:
        """After a fork the child's turn is free, and a writer from before the fork still
        releases the lock it took, not the child's."""
        from bms_xero.storage._sqlite import _WriteTurn

        turn = _WriteTurn()
        parents = turn.acquire(0)  # held by a thread that a fork leaves behind
        assert parents is not None and turn.acquire(0) is None
        turn.forget_holders()  # what the fork hook does in the child
        childs = turn.acquire(0)
        assert childs is not None
        parents.release()
        assert turn.acquire(0) is None  # the child's writer still holds its turn
        childs.release()
        assert turn.acquire(0) is not None

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only: no fork on this system")
    def test_a_real_fork_frees_the_turn_in_the_child(self, path: Path) -> None:
        """A turn held in the parent when it forks does not block the child's writes."""
        with SQLiteStore(path, timeout=0.5) as store:
            held = store._db._turn.acquire(5)
            assert held is not None
            try:
                pid = os.fork()
                if pid == 0:  # the child: write, and say by the exit code how it went
                    code = 1
                    try:
                        code = 0 if store.put(new(), expected_version=None).version == 1 else 2
                    finally:
                        os._exit(code)
                _, status = os.waitpid(pid, 0)
            finally:
                held.release()
            assert 0 == os.waitstatus_to_exitcode(status)
            assert 1 == store.get("t1", "I-1").version  # type: ignore[union-attr]

    def test_a_timeout_too_long_for_a_lock_still_writes(self, path: Path) -> None:
        """A timeout beyond what a thread lock can wait (``float("inf")``) is capped."""
        with SQLiteStore(path, timeout=float("inf")) as store:
            assert 1 == store.put(new(), expected_version=None).version

    def test_the_turn_and_the_lock_share_one_timeout(self, path: Path) -> None:
        """A write that waited for the turn waits only what is left of its timeout for
        SQLite's lock: held 1.2 s of a 2 s timeout by a thread here and then by another
        process's lock, it fails at about 2 s, not at 3.2."""
        with (
            SQLiteStore(path, timeout=2.0) as store,
            closing(sqlite3.connect(path, isolation_level=None)) as other,
        ):
            store.put(new("I-0"), expected_version=None)
            other.execute("BEGIN IMMEDIATE")  # another process's lock, held throughout
            held = store._db._turn.acquire(5)
            assert held is not None
            threading.Timer(1.2, held.release).start()
            started = time.monotonic()
            with pytest.raises(StorageError, match="held the write lock"):
                store.put(new(), expected_version=None)
            waited = time.monotonic() - started
            other.rollback()
        assert 1.9 < waited < 2.8

    def test_a_file_no_store_holds_drops_its_turn(self, tmp_path: Path) -> None:
        """The turns are kept only while a store on the file is alive."""
        import gc

        from bms_xero.storage import _sqlite

        path = tmp_path / "brief.db"
        store = SQLiteStore(path)
        key = os.path.normcase(os.path.realpath(path))
        assert key in _sqlite._TURNS
        store.close()
        del store
        gc.collect()
        assert key not in _sqlite._TURNS


class TestMigrate:
    """The versioned-migration helper every bms_xero SQLite component uses."""

    @pytest.fixture(name="conn")
    def _conn(self, path: Path) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(path, isolation_level=None)) as conn:
            yield conn

    @staticmethod
    def step(n: int):  # type: ignore[no-untyped-def]
        def apply(conn: sqlite3.Connection) -> None:
            conn.execute(f"CREATE TABLE t{n} (x)")
            conn.execute("CREATE TABLE IF NOT EXISTS applied (n)")
            conn.execute("INSERT INTO applied VALUES (?)", (n,))

        return apply

    def test_applies_in_order_once(self, conn: sqlite3.Connection) -> None:
        """Migrations run in order, and only those not yet applied."""
        migrate(conn, component="demo", migrations=[self.step(1)], location="x")
        migrate(
            conn,
            component="demo",
            migrations=[self.step(1), self.step(2), self.step(3)],
            location="x",
        )
        migrate(
            conn,
            component="demo",
            migrations=[self.step(1), self.step(2), self.step(3)],
            location="x",
        )
        assert ([(1,), (2,), (3,)], 3) == (
            conn.execute("SELECT n FROM applied").fetchall(),
            schema_version(conn, "demo"),
        )

    def test_failure_rolls_back_every_step(self, conn: sqlite3.Connection) -> None:
        """A failing migration undoes the steps before it in the same upgrade."""

        def broken(conn: sqlite3.Connection) -> None:
            raise RuntimeError("broken migration")

        with pytest.raises(RuntimeError):
            migrate(conn, component="demo", migrations=[self.step(1), broken], location="x")
        assert (0, [], False) == (
            schema_version(conn, "demo"),
            conn.execute("SELECT name FROM sqlite_master WHERE name = 't1'").fetchall(),
            conn.in_transaction,
        )

    def test_unknown_component_is_version_zero(self, conn: sqlite3.Connection) -> None:
        """A component never migrated reads as version 0, even with no schema table."""
        assert 0 == schema_version(conn, "demo")


class TestPool:
    """The connection pool behind SQLiteStore."""

    @pytest.fixture(name="opened")
    def _opened(self, path: Path) -> Iterator[list[sqlite3.Connection]]:
        opened: list[sqlite3.Connection] = []
        yield opened
        for conn in opened:
            conn.close()

    def connect(self, path: Path, opened: list[sqlite3.Connection]):  # type: ignore[no-untyped-def]
        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            opened.append(conn)
            return conn

        return connect

    def test_reuses_an_idle_connection(self, path: Path, opened: list[sqlite3.Connection]) -> None:
        """A connection given back is handed out again instead of opening another."""
        pool = _Pool(self.connect(path, opened), "closed")
        with pool.connection() as first:
            pass
        with pool.connection() as second:
            pass
        assert (1, True) == (len(opened), first is second)

    def test_after_fork_opens_new_connections(
        self, path: Path, opened: list[sqlite3.Connection]
    ) -> None:
        """In a forked child the parent's idle connections are left alone and new ones opened."""
        pid = [100]
        pool = _Pool(self.connect(path, opened), "closed", getpid=lambda: pid[0])
        with pool.connection():
            pass
        pid[0] = 101
        with pool.connection() as child:
            child.execute("SELECT 1")
        assert (2, False) == (len(opened), child is opened[0])
        opened[0].execute("SELECT 1")  # the parent's connection was not closed

    def test_connection_left_in_a_transaction_is_dropped(
        self, path: Path, opened: list[sqlite3.Connection]
    ) -> None:
        """A connection given back inside a transaction is closed, never reused."""
        pool = _Pool(self.connect(path, opened), "closed")
        with pool.connection() as first:
            first.execute("BEGIN")
        with pool.connection() as second:
            pass
        assert (2, False) == (len(opened), first is second)
        with pytest.raises(sqlite3.ProgrammingError):
            first.execute("SELECT 1")

    def test_closed_pool_refuses(self, path: Path, opened: list[sqlite3.Connection]) -> None:
        """A closed pool raises StorageError with its message."""
        pool = _Pool(self.connect(path, opened), "the store is closed")
        pool.close()
        with pytest.raises(StorageError, match="the store is closed"), pool.connection():
            pass
