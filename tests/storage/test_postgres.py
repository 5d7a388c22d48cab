"""PostgresStore and PostgresTokenStore on a real server: the public contract suites, schema
migrations, exact values, pools across threads, fork, and races between processes.

Each test runs in a schema of its own in the database ``bms_xero_pg_test`` (see
``tests/storage/_pg.py``). Without a PostgreSQL server these tests skip, saying how to run
them; in CI (``CI=true``) they fail instead.
"""

from __future__ import annotations

import functools
import importlib.util
import multiprocessing
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.services import require_psycopg

require_psycopg()  # before the stores import psycopg: skip (or, in CI, fail) without it
# ruff: noqa: E402  (the imports below need psycopg)

import tests.xero.test_tokens as token_tests
from bms_xero.errors import (
    ConfigurationError,
    SchemaVersionError,
    StorageError,
    StorageValueError,
    VersionConflict,
)
from bms_xero.jobs import PostgresJobStore
from bms_xero.storage import (
    CreditNoteStore,
    PostgresStore,
    PostgresTokenStore,
    RefreshLease,
    SyncRecord,
    SyncState,
    SyncStore,
    TokenSet,
    TokenStore,
)
from bms_xero.storage._postgres import PostgresDatabase, advisory_key, redact
from bms_xero.storage._postgres_tokens import lease_granted
from bms_xero.storage.contract import (
    CHECKS,
    CREDIT_NOTE_CHECKS,
    REFRESH_LEASE_CHECKS,
    ContractCheck,
)
from tests.processes import run_processes
from tests.services import missing
from tests.storage import _pg_race
from tests.storage._pg import database_url, drop_schema, fresh_schema, new_schema
from tests.xero._refresh_race import race

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(name="pg")
def _pg() -> Iterator[tuple[str, str]]:
    """``(url, schema)``: the test database and a schema of this test's own."""
    with fresh_schema() as where:
        yield where


@pytest.fixture(name="make_store")
def _make_store(pg: tuple[str, str]) -> Iterator[Callable[[], PostgresStore]]:
    """Fresh PostgresStores on the test's schema; each is closed afterwards."""
    made: list[PostgresStore] = []

    def make() -> PostgresStore:
        store = PostgresStore(pg[0], schema=pg[1])
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture(name="store")
def _store(make_store: Callable[[], PostgresStore]) -> PostgresStore:
    return make_store()


@pytest.fixture(name="tokens")
def _tokens(pg: tuple[str, str]) -> Iterator[PostgresTokenStore]:
    with PostgresTokenStore(pg[0], schema=pg[1]) as store:
        yield store


def _record(tenant: str, invoice_id: str, **changes: object) -> SyncRecord:
    values: dict[str, object] = {
        "tenant_id": tenant,
        "invoice_id": invoice_id,
        "invoice_number": f"INV-{invoice_id}",
        "state": SyncState.PENDING,
    }
    values.update(changes)
    return SyncRecord(**values)  # type: ignore[arg-type]


def _token(n: int = 1) -> TokenSet:
    return TokenSet(
        access_token=f"ACCESS-{n}",
        refresh_token=f"REFRESH-{n}",
        expires_at=T0 + timedelta(minutes=30),
        scopes=("offline_access", "accounting.invoices"),
    )


# --- the public contract suites ----------------------------------------------------------------


@pytest.mark.parametrize("check", CHECKS, ids=str)
def test_store_keeps_the_contract(check: ContractCheck, store: SyncStore) -> None:
    """Each storage contract check holds for PostgresStore."""
    check(store)


@pytest.mark.parametrize("check", CREDIT_NOTE_CHECKS, ids=str)
def test_store_keeps_the_credit_note_contract(check: ContractCheck, store: SyncStore) -> None:
    """Each credit note contract check holds for PostgresStore (it is a CreditNoteStore)."""
    assert isinstance(store, CreditNoteStore)
    check(store)


@pytest.mark.parametrize("check", REFRESH_LEASE_CHECKS, ids=str)
def test_token_store_keeps_the_refresh_lease_contract(
    check: ContractCheck, tokens: PostgresTokenStore
) -> None:
    """Each refresh lease contract check holds for PostgresTokenStore."""
    check(tokens)


class TestTokenStoreBehaviour(token_tests.TestBothStores):
    """The token store behaviours the built-in stores are held to (tests/xero/test_tokens.py),
    on PostgresTokenStore."""

    @pytest.fixture(name="store")
    def _store(self, tokens: PostgresTokenStore) -> PostgresTokenStore:
        return tokens


def test_the_stores_implement_their_protocols(store: PostgresStore, tokens: PostgresTokenStore):
    """PostgresStore is a SyncStore and a CreditNoteStore; PostgresTokenStore is a TokenStore
    and a RefreshLease."""
    assert (True, True, True, True) == (
        isinstance(store, SyncStore),
        isinstance(store, CreditNoteStore),
        isinstance(tokens, TokenStore),
        isinstance(tokens, RefreshLease),
    )


# --- values ------------------------------------------------------------------------------------


def test_money_is_numeric_and_keeps_its_digits(store: PostgresStore, pg: tuple[str, str]) -> None:
    """Money is stored as NUMERIC (the host can sum it in SQL) and reads back with every digit
    after the point; datetimes are timestamptz."""
    import psycopg

    record = _record(
        "t1",
        "I-1",
        total=Decimal("23.1000"),
        amount_paid=Decimal("-0.30"),
        intent_at=datetime(2026, 1, 5, 19, 0, 0, 1, tzinfo=timezone(timedelta(hours=10))),
    )
    store.put(record, expected_version=None)
    stored = store.get("t1", "I-1")
    with psycopg.connect(pg[0], autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_typeof(total)::text, pg_typeof(intent_at)::text, "  # noqa: S608
            f'total + amount_paid FROM "{pg[1]}".bms_xero_sync_records'
        ).fetchone()
    assert stored is not None
    assert ("23.1000", "-0.30", ("numeric", "timestamp with time zone", Decimal("22.8000"))) == (
        str(stored.total),
        str(stored.amount_paid),
        row,
    )
    assert (datetime(2026, 1, 5, 9, 0, 0, 1, tzinfo=UTC), UTC) == (
        stored.intent_at,
        stored.intent_at.tzinfo if stored.intent_at else None,
    )


def test_keys_sort_as_python_sorts_them(store: PostgresStore) -> None:
    """Key columns compare by code point (collation "C"), so "the smallest invoice id" and
    "invoice id order" agree with Python whatever the database's locale."""
    ids = ["b", "B", "_x", "a-1", "a1", "Ä", "z", "0"]
    for invoice_id in ids:
        store.put(
            _record("t1", invoice_id, invoice_number="N", xero_invoice_id="X", money_version=1),
            expected_version=None,
        )
    found = store.by_number("t1", "N")
    assert (sorted(ids), min(ids), min(ids)) == (
        [r.invoice_id for r in store.iter_undelivered("t1")],
        found.invoice_id if found else None,
        store.by_xero_ids("t1", ["X"])["X"].invoice_id,
    )


def test_iterators_page_through_every_record(store: PostgresStore) -> None:
    """iter_records and iter_undelivered read in pages and still yield each record once."""
    store.put_many([(_record("t1", f"I-{n:04d}", money_version=1), None) for n in range(1234)])
    assert ([f"I-{n:04d}" for n in range(1234)], 1234) == (
        [r.invoice_id for r in store.iter_undelivered("t1")],
        len(list(store.iter_records("t1", states=[SyncState.PENDING]))),
    )


def test_text_postgresql_cant_hold_is_refused_before_anything_is_sent(
    store: PostgresStore, tokens: PostgresTokenStore
) -> None:
    """A NUL character (which PostgreSQL text can't hold) is refused naming the field, and
    nothing of the batch is written."""
    with pytest.raises(StorageValueError) as caught:
        store.put_many(
            [
                (_record("t1", "I-1"), None),
                (_record("t1", "I-2", last_error="bad \x00 byte"), None),
            ]
        )
    with pytest.raises(StorageValueError):
        tokens.save("conn", TokenSet(access_token="a\x00", expires_at=T0), expected_version=None)
    assert (["last_error"], None, None) == (
        [p.path for p in caught.value.problems],
        store.get("t1", "I-1"),
        tokens.load("conn"),
    )


# --- schema migrations -------------------------------------------------------------------------


def test_each_store_records_its_schema_version(pg: tuple[str, str]) -> None:
    """The sync and token stores share one bms_xero_schema table, a row each."""
    import psycopg

    url, schema = pg
    PostgresStore(url, schema=schema).close()
    PostgresTokenStore(url, schema=schema).close()
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            f'SELECT component, version FROM "{schema}".bms_xero_schema ORDER BY component'  # noqa: S608
        ).fetchall()
    assert [("sync", PostgresStore.schema_version), ("tokens", 1)] == rows


@pytest.mark.parametrize(
    ("opener", "component"),
    [(PostgresStore, "sync"), (PostgresTokenStore, "tokens")],
    ids=["sync", "tokens"],
)
def test_a_newer_schema_is_refused_and_left_alone(
    pg: tuple[str, str], opener: Callable[..., object], component: str
) -> None:
    """A schema migrated by a newer bms_xero raises SchemaVersionError naming both versions,
    and the database is left as it was."""
    import psycopg

    url, schema = pg
    opener(url, schema=schema).close()  # type: ignore[attr-defined]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f'UPDATE "{schema}".bms_xero_schema SET version = 99 WHERE component = %s',  # noqa: S608
            (component,),
        )
    with pytest.raises(SchemaVersionError) as caught:
        opener(url, schema=schema)
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            f'SELECT version FROM "{schema}".bms_xero_schema WHERE component = %s',  # noqa: S608
            (component,),
        ).fetchone()
    assert (component, 99, 1, (99,)) == (
        caught.value.component,
        caught.value.found_version,
        caught.value.supported_version,
        row,
    )
    assert schema in caught.value.location


def _counting(log: list[str], name: str) -> Callable[..., None]:
    def step(conn: object, tables: object) -> None:
        log.append(name)

    return step


def test_a_second_open_runs_no_migration(pg: tuple[str, str]) -> None:
    """Opening a migrated database again runs nothing; a release with one more step runs
    only that one."""
    url, schema = pg
    log: list[str] = []
    one = [_counting(log, "v1")]
    two = [*one, _counting(log, "v2")]
    for migrations in (one, one, two, two):
        PostgresDatabase(
            url, owner="Test", component="test", migrations=migrations, schema=schema,
            lock_timeout=5,
        ).close()
    assert ["v1", "v2"] == log


def test_a_failing_migration_changes_nothing(pg: tuple[str, str]) -> None:
    """A step that fails rolls back the whole upgrade, tables and version alike."""
    import psycopg

    url, schema = pg

    def create(conn: psycopg.Connection, tables: object) -> None:
        conn.execute(f'CREATE TABLE "{schema}".made_by_v1 (x int)')

    def boom(conn: object, tables: object) -> None:
        raise RuntimeError("step 2 failed")

    with pytest.raises(RuntimeError):
        PostgresDatabase(
            url, owner="Test", component="test", migrations=[create, boom], schema=schema,
            lock_timeout=5,
        )
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute("SELECT to_regclass(%s)", (f'"{schema}".made_by_v1',)).fetchone()
    assert (None,) == found


def test_stores_opened_at_once_migrate_once(pg: tuple[str, str]) -> None:
    """Eight threads opening one new schema at once: the advisory lock lets one migrate, and
    every open succeeds."""
    url, schema = pg
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def open_store() -> None:
        try:
            start.wait(timeout=10)
            PostgresStore(url, schema=schema).close()
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=open_store) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [] == errors


def test_without_a_schema_the_search_path_decides(pg: tuple[str, str]) -> None:
    """schema=None puts the tables where the connection's search_path says."""
    from psycopg.conninfo import make_conninfo

    url, schema = pg
    with PostgresStore(url, schema=schema):
        pass  # creates the schema
    in_path = make_conninfo(url, options=f"-c search_path={schema}")
    with PostgresStore(in_path) as store:
        store.put(_record("t1", "I-1"), expected_version=None)
    with PostgresStore(url, schema=schema) as qualified:
        assert 1 == (qualified.get("t1", "I-1") or _record("x", "x")).version


# --- connections, secrets, fork ----------------------------------------------------------------


def test_redact_hides_the_password_in_every_form() -> None:
    """URLs keep their shape with the password redacted (in the netloc or the query); a
    key=value string is rewritten; an unreadable one is never quoted."""
    assert [
        "postgresql://bms:<redacted>@db.example:5432/bms?sslmode=require",
        "postgresql://bms@db.example/bms?password=<redacted>",
        "postgresql://db.example/bms",
        "password=<redacted> dbname=bms host=db.example",  # libpq's order
        "<an unreadable PostgreSQL connection string>",
    ] == [
        redact("postgresql://bms:s3cret@db.example:5432/bms?sslmode=require"),
        redact("postgresql://bms@db.example/bms?password=s3cret"),
        redact("postgresql://db.example/bms"),
        redact("host=db.example password=s3cret dbname=bms"),
        redact("host=db.example password='s3cret"),
    ]


def _chain(error: BaseException) -> str:
    texts = []
    seen: BaseException | None = error
    while seen is not None:
        texts.append(f"{seen!s} {seen!r}")
        seen = seen.__cause__ or seen.__context__
    return " ".join(texts)


def test_a_server_that_is_not_there_is_a_retryable_error_without_the_password() -> None:
    """An unreachable server is a retryable StorageError naming the database, its password
    redacted in the message, the repr and every chained error."""
    url = "postgresql://bms:s3cret-pw@127.0.0.1:1/bms?connect_timeout=2"
    with pytest.raises(StorageError) as caught:
        PostgresStore(url)
    assert (True, False, True) == (
        caught.value.retryable,
        "s3cret-pw" in _chain(caught.value),
        "bms:<redacted>@127.0.0.1:1" in str(caught.value),
    )


def test_bad_arguments_are_configuration_errors_without_the_password() -> None:
    """A URL libpq can't read, a bad schema name or no URL at all is a ConfigurationError
    before anything is sent; the URL's text (it may hold the password) is never quoted."""
    problems = []
    for call in (
        lambda: PostgresStore("postgresql://bms:s3cret pw@localhost/bms"),
        lambda: PostgresStore("host=x password='s3cret"),
        lambda: PostgresStore("postgresql://localhost/bms", schema="pg_catalog"),
        lambda: PostgresStore(""),
        lambda: PostgresJobStore(42),  # type: ignore[arg-type]
    ):
        with pytest.raises(ConfigurationError) as caught:
            call()
        problems.append("s3cret" in _chain(caught.value))
    assert [False] * 5 == problems


def test_reprs_name_the_database_and_schema_never_the_password(pg: tuple[str, str]) -> None:
    """The reprs show where the store is, with the password (when there is one) redacted."""
    from psycopg.conninfo import make_conninfo

    url, schema = pg
    with_password = make_conninfo(url, password="s3cret-pw")  # trust auth ignores it
    with (
        PostgresStore(with_password, schema=schema) as store,
        PostgresTokenStore(with_password, schema=schema) as tokens,
    ):
        shown = repr(store) + repr(tokens) + store.location
    assert (False, True, True) == ("s3cret-pw" in shown, "<redacted>" in shown, schema in shown)


def _psycopg_pool() -> Any:
    """The psycopg_pool module (in the test extra): a missing one skips, or fails in CI."""
    if importlib.util.find_spec("psycopg_pool") is None:
        missing("psycopg_pool (the host's connection pool)", "pip install -e '.[test]'")
    import psycopg_pool

    return psycopg_pool


def test_a_host_pool_is_shared_across_threads_and_left_open(pg: tuple[str, str]) -> None:
    """A psycopg_pool.ConnectionPool of 3 connections serves 8 threads racing on one record:
    every version is won once; closing the store leaves the host's pool open."""
    psycopg_pool = _psycopg_pool()
    url, schema = pg
    threads, increments = 8, 15
    with psycopg_pool.ConnectionPool(url, min_size=1, max_size=3, open=True) as pool:
        store = PostgresStore(pool, schema=schema)
        first = store.put(_record("t1", "I-1"), expected_version=None)
        won: list[int] = []
        failures: list[BaseException] = []
        lock = threading.Lock()
        start = threading.Barrier(threads)

        def work() -> None:
            try:
                start.wait(timeout=10)
                mine = 0
                while mine < increments:
                    current = store.get("t1", "I-1")
                    assert current is not None
                    try:
                        stored = store.put(current, expected_version=current.version)
                    except VersionConflict:
                        continue
                    mine += 1
                    with lock:
                        won.append(stored.version)
            except BaseException as exc:
                failures.append(exc)

        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        store.close()
        with pool.connection() as conn:
            still_open = conn.execute("SELECT 1").fetchone()
        with pytest.raises(StorageError, match="is closed"):
            store.get("t1", "I-1")
    total = threads * increments
    assert ([], list(range(2, total + 2)), (1,), first.version) == (
        failures,
        sorted(won),
        still_open,
        1,
    )


def test_a_host_pool_with_its_own_row_factory_works(pg: tuple[str, str]) -> None:
    """The stores read rows as tuples whatever row factory the host's pool gives its
    connections (here dicts), and open non-autocommit connections as the pool makes them."""
    psycopg_pool = _psycopg_pool()
    from psycopg.rows import dict_row

    url, schema = pg
    with psycopg_pool.ConnectionPool(
        url, min_size=1, max_size=2, open=True, kwargs={"row_factory": dict_row}
    ) as pool:
        with PostgresStore(pool, schema=schema) as store:
            stored = store.put(_record("t1", "I-1"), expected_version=None)
            store.set_cursor("t1", "payments", T0)
            read = (store.get("t1", "I-1"), store.get_cursor("t1", "payments"))
        with PostgresJobStore(pool, schema=schema) as jobs:
            job = jobs.enqueue_push("t1", "I-1", now=T0)
            leased = jobs.lease(worker_id="w", now=T0, lease_seconds=60, limit=1)
    assert ((stored, T0), [job.id]) == (read, [j.id for j in leased])


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform"
)
def test_a_store_used_before_a_fork_works_in_the_child_and_the_parent(
    pg: tuple[str, str],
) -> None:
    """A store whose connections were open at a fork (prefork servers, Celery): the child
    opens its own, and the parent's sessions survive the child (nothing it inherited is
    closed over the parent's socket)."""
    url, schema = pg
    with PostgresStore(url, schema=schema) as store:
        store.put(_record("t1", "I-1"), expected_version=None)  # a pooled connection is open
        [report], codes = run_processes(
            "fork", _pg_race.put_in_child, [(store,)], barrier=False, timeout=30
        )
        after = store.get("t1", "I-1")  # the parent's own pooled connection, still alive
        assert (("ok", 2), [0], 2) == (report, codes, after.version if after else None)


# --- races between processes -------------------------------------------------------------------


def test_processes_racing_on_one_record_win_each_version_once(pg: tuple[str, str]) -> None:
    """Three processes compare-and-swapping one record each win distinct versions."""
    url, schema = pg
    with PostgresStore(url, schema=schema) as store:
        store.put(_record("t1", "I-1"), expected_version=None)
    reports, _ = run_processes(
        "spawn", _pg_race.increment, [(url, schema, 20) for _ in range(3)], timeout=120
    )
    assert [] == [detail for status, detail in reports if status != "ok"]
    assert list(range(2, 62)) == sorted(v for _, won in reports for v in won)  # type: ignore[attr-defined]


def test_processes_racing_rotations_each_win_distinct_versions(pg: tuple[str, str]) -> None:
    """Two processes rotating one connection's tokens each win distinct versions."""
    url, schema = pg
    with PostgresTokenStore(url, schema=schema) as store:
        store.save("conn", _token(0), expected_version=None)
    reports, _ = run_processes(
        "spawn", _pg_race.rotate, [(url, schema, f"p{n}", 15) for n in range(2)], timeout=120
    )
    assert [] == [detail for status, detail in reports if status != "ok"]
    assert list(range(2, 32)) == sorted(v for _, won in reports for v in won)  # type: ignore[attr-defined]


def test_processes_claiming_one_lease_at_once_get_it_once(pg: tuple[str, str]) -> None:
    """Six processes claiming one connection's refresh lease at the same instant (the very
    first claim: no row to lock yet): exactly one gets it."""
    url, schema = pg
    PostgresTokenStore(url, schema=schema).close()
    reports, _ = run_processes(
        "spawn", _pg_race.claim_lease, [(url, schema, f"p{n}") for n in range(6)], timeout=120
    )
    assert [] == [detail for status, detail in reports if status != "ok"]
    assert 1 == sum(1 for _, granted in reports if granted)


def test_eight_processes_refresh_once_per_expiry(pg: tuple[str, str], tmp_path: Path) -> None:
    """Eight processes sharing one PostgreSQL token store call a loopback FakeXero round
    after round, each round past the access token's expiry; under strict rotation each round
    costs exactly one refresh, no invalid_grant, and every call succeeds."""
    url, schema = pg
    rounds = 4
    report = race(
        tmp_path,
        refresh_grace=0,
        processes=8,
        rounds=rounds,
        target=functools.partial(_pg_race.refresh_in_rounds, url, schema),
    )
    assert ([], [], [1] * rounds, 0, 8 * rounds) == (
        report.crashes,
        report.failed,
        report.refreshes,
        report.invalid_grant,
        report.calls,
    )


# --- pure parts and imports --------------------------------------------------------------------


def test_lease_granted_is_the_contract_as_a_function() -> None:
    """A claim is granted when there is none, when it ran out, or to its own holder."""
    assert [True, True, True, False] == [
        lease_granted(None, holder="a", now=T0),
        lease_granted(("b", T0), holder="a", now=T0),
        lease_granted(("a", T0 + timedelta(seconds=9)), holder="a", now=T0),
        lease_granted(("b", T0 + timedelta(seconds=9)), holder="a", now=T0),
    ]


def test_advisory_keys_are_stable_signed_64_bit_integers() -> None:
    """The same parts give the same key in every process (not hash()), within bigint."""
    key = advisory_key("jobs:", "t1", "push", "I-1")
    assert (key, True, False) == (
        advisory_key("jobs:", "t1", "push", "I-1"),
        -(2**63) <= key < 2**63,
        key == advisory_key("jobs:", "t1", "push", "I-2"),
    )


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_importing_the_packages_never_imports_psycopg() -> None:
    """bms_xero.storage and bms_xero.jobs load the PostgreSQL stores only when asked."""
    done = _python(
        "import sys, bms_xero.storage, bms_xero.jobs, bms_xero.engine\n"
        "print('psycopg' in sys.modules)\n"
        "bms_xero.storage.PostgresStore\n"
        "print('psycopg' in sys.modules)"
    )
    assert ("False\nTrue\n", "") == (done.stdout, done.stderr)


def test_without_psycopg_the_stores_say_which_extra_to_install() -> None:
    """With psycopg missing, asking for a PostgreSQL store raises ConfigurationError saying
    pip install "bms-xero[postgres]"; the rest of the packages import as before."""
    done = _python(
        "import sys\n"
        "sys.modules['psycopg'] = None  # as if not installed\n"
        "import bms_xero.storage, bms_xero.jobs\n"
        "from bms_xero.errors import ConfigurationError\n"
        "for module, name in ((bms_xero.storage, 'PostgresStore'),\n"
        "        (bms_xero.storage, 'PostgresTokenStore'), (bms_xero.jobs, 'PostgresJobStore')):\n"
        "    try:\n"
        "        getattr(module, name)\n"
        "    except ConfigurationError as e:\n"
        "        print(name, e)\n"
    )
    line = 'the PostgreSQL stores need psycopg 3: pip install "bms-xero[postgres]"'
    assert (
        f"PostgresStore {line}\nPostgresTokenStore {line}\nPostgresJobStore {line}\n",
        "",
    ) == (done.stdout, done.stderr)


def test_unknown_names_are_still_attribute_errors() -> None:
    """The lazy exports leave every other missing name an AttributeError."""
    import bms_xero.jobs
    import bms_xero.storage

    assert (False, False) == (
        hasattr(bms_xero.storage, "PostgresNothing"),
        hasattr(bms_xero.jobs, "PostgresNothing"),
    )


def test_a_dropped_schema_is_a_storage_error_saying_to_reopen() -> None:
    """Tables dropped under an open store: a StorageError that says to open the store again."""
    url, schema = database_url(), new_schema()
    store = PostgresStore(url, schema=schema)
    try:
        drop_schema(url, schema)
        with pytest.raises(StorageError, match="open the store again"):
            store.get("t1", "I-1")
    finally:
        store.close()
        drop_schema(url, schema)


def test_batches_writing_the_same_records_in_opposite_orders_never_deadlock(
    pg: tuple[str, str],
) -> None:
    """Two threads putting the same 20 records, one batch in order and one in reverse, again
    and again: every batch either lands or loses a compare-and-swap, none deadlocks (each
    store writes in key order), and results come back in the order given."""
    url, schema = pg
    with PostgresStore(url, schema=schema) as store:
        store.put_many([(_record("t1", f"I-{n:02d}"), None) for n in range(20)])
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def batches(reverse: bool) -> None:
        with PostgresStore(url, schema=schema) as mine:
            start.wait(timeout=10)
            for _ in range(15):
                current = sorted(
                    mine.get_many("t1", [f"I-{n:02d}" for n in range(20)]).values(),
                    key=lambda r: r.invoice_id,
                    reverse=reverse,
                )
                try:
                    stored = mine.put_many([(r, r.version) for r in current])
                except VersionConflict:
                    outcomes.append("conflict")
                except StorageError as exc:
                    outcomes.append(f"error: {exc}")
                else:
                    in_order = [r.invoice_id for r in stored] == [r.invoice_id for r in current]
                    outcomes.append("ok" if in_order else "out of order")

    threads = [threading.Thread(target=batches, args=(flag,)) for flag in (False, True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert (30, set()) == (len(outcomes), set(outcomes) - {"ok", "conflict"})
