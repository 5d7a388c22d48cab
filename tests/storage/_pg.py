"""The PostgreSQL stores' tests: their database, and a fresh schema per test.

Every test of the PostgreSQL stores runs in the database ``bms_xero_pg_test`` on the server
:func:`tests.services.require_postgres` found (created when missing), in a schema of its own
with a random name that is dropped afterwards, so the tests can run twice at once, and beside
anyone else's tests on the same server. Without a server they skip (or, in CI, fail) with how
to provide one.

The test database commits without waiting for the disk (``synchronous_commit = off``): the
tests check behaviour, not what survives a power cut, and a flushed commit costs ~5 ms on a
shared disk, ten times the rest of a write.
"""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import Iterator

from tests.services import require_postgres

DATABASE = "bms_xero_pg_test"


@functools.cache
def _database_url(server_url: str) -> str:
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    with psycopg.connect(server_url, autocommit=True, connect_timeout=5) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        if found.fetchone() is None:
            # Two suites starting at once may both try: the loser finds it made.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(
                    sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(
                        sql.Identifier(DATABASE)
                    )
                )
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(
                sql.Identifier(DATABASE)
            )
        )
    return make_conninfo(server_url, dbname=DATABASE)


def database_url() -> str:
    """The libpq connection string of ``bms_xero_pg_test`` (skips or fails without a server)."""
    return _database_url(require_postgres())


def new_schema() -> str:
    """A schema name no other test uses."""
    return f"t_{uuid.uuid4().hex[:16]}"


def drop_schema(url: str, schema: str) -> None:
    """Drop ``schema`` and everything in it."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@contextlib.contextmanager
def fresh_schema() -> Iterator[tuple[str, str]]:
    """``(url, schema)``: a schema name for one test, dropped when it ends."""
    url = database_url()
    schema = new_schema()
    try:
        yield url, schema
    finally:
        drop_schema(url, schema)
