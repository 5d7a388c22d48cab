"""Django, configured once for these tests (no pytest-django), and the two databases.

Importing this conftest configures Django with ``tests.contrib.django.app_settings`` (the
stores' ``settings`` plus a host project's admin, sessions, templates and URLs; a
``DJANGO_SETTINGS_MODULE`` already set wins) and ``django.setup()``. Each database is
migrated the first time a test asks for it: ``sqlite`` at once (a file in a temporary
directory), ``postgres`` after :func:`tests.services.require_postgres` found a server (the
database ``bms_xero_django_test`` is created on it when missing). Without Django the whole
directory skips (or, in CI, fails); without PostgreSQL only its half does.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator

import pytest

from tests.services import require_django, require_postgres

require_django()

os.environ.setdefault("BMS_XERO_DJANGO_SQLITE_DIR", tempfile.mkdtemp(prefix="bms-xero-django-"))
# The app's screen tests need the project parts a host has (admin, sessions, templates, URLs);
# app_settings adds them to the stores' settings, which is all the stores' tests need.
_SETTING = "DJANGO_SETTINGS_MODULE"
_ours = _SETTING not in os.environ
os.environ.setdefault(_SETTING, "tests.contrib.django.app_settings")

import django  # noqa: E402 (after the check that Django is there)
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402

django.setup()
if _ours:
    # Django has read it; the rest of the session's subprocesses (Celery workers, the CLI)
    # must not inherit a settings module they can't import.
    del os.environ[_SETTING]

#: Test ids of the databases, and the DATABASES alias each is.
ALIASES = {"sqlite": "default", "postgres": "postgres"}
_migrated: set[str] = set()


def _create_postgres_database(server_url: str) -> None:
    """Create the tests' PostgreSQL database on the server unless it is there."""
    import psycopg
    from psycopg import sql

    from tests.contrib.django.settings import POSTGRES_DATABASE

    with psycopg.connect(server_url, autocommit=True, connect_timeout=2) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (POSTGRES_DATABASE,)
        ).fetchone()
        if exists is None:
            create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(POSTGRES_DATABASE))
            # Another test session may create it meanwhile.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(create)


def migrated(name: str) -> str:
    """The alias of database ``name`` (``"sqlite"`` or ``"postgres"``), migrated."""
    alias = ALIASES[name]
    if alias not in _migrated:
        if name == "postgres":
            _create_postgres_database(require_postgres())
        call_command("migrate", database=alias, interactive=False, verbosity=0)
        _migrated.add(alias)
    return alias


@pytest.fixture(name="alias", params=list(ALIASES))
def _alias(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each database in turn (its DATABASES alias), migrated; the test's connections to it
    are closed afterwards, so threads and processes never inherit an open one."""
    alias = migrated(request.param)
    yield alias
    connections[alias].close()


@pytest.fixture(autouse=True)
def _threads_close_their_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every thread a test starts closes its database connections when it ends, as Django
    asks of threads outside the request cycle (the contracts' racing threads would otherwise
    leave one open PostgreSQL connection each until garbage collection)."""
    run = threading.Thread.run

    def run_then_close(self: threading.Thread) -> None:
        try:
            run(self)
        finally:
            connections.close_all()  # this thread's connections only (they are thread-local)

    monkeypatch.setattr(threading.Thread, "run", run_then_close)
