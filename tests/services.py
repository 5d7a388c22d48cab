"""Servers and programs some tests need from the machine, found in one place.

Each ``require_*`` returns what the test needs to reach the service. When the service is
missing, what happens depends on where the suite runs: in CI (``CI=true``) the test FAILS with
a message saying how to provide it, because a CI run that silently skipped the browser or the
database would prove nothing; on a developer's machine it SKIPS, with a reason that says how to
run it.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

__all__ = [
    "POSTGRES_URL",
    "REDIS_URL",
    "in_ci",
    "missing",
    "require_celery",
    "require_chromium",
    "require_django",
    "require_postgres",
    "require_redis",
]

#: Where Debian's ``chromium`` package puts the browser (``.ci/run`` installs it).
DEBIAN_CHROMIUM = "/usr/bin/chromium"


def in_ci() -> bool:
    """Whether the suite runs in CI, where every service must be there (``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing(what: str, how: str) -> NoReturn:
    """Fail (in CI) or skip (elsewhere) the calling test: ``what`` is missing, ``how`` fixes it."""
    if in_ci():
        pytest.fail(f"{what} is missing in CI: {how}", pytrace=False)
    pytest.skip(f"{what} is not available: {how} (with CI=true this test fails instead)")


def require_chromium() -> str:
    """The path of a headless-capable Chromium, with Playwright importable to drive it.

    ``BMS_XERO_CHROMIUM`` names another executable; otherwise Debian's ``/usr/bin/chromium``,
    else the first ``chromium`` on ``PATH``. Playwright is told to use it
    (``executable_path=``) and never downloads a browser of its own.
    """
    how = (
        "run `.ci/run` as root, or `apt-get install chromium chromium-driver` (or set "
        "BMS_XERO_CHROMIUM to a Chromium executable), and `pip install -e '.[test]'` for "
        "Playwright"
    )
    if importlib.util.find_spec("playwright") is None:
        missing("Playwright (the Python package that drives Chromium)", how)
    named = os.environ.get("BMS_XERO_CHROMIUM")
    if named:  # a path asked for by name must be there: never fall back to another silently
        if not _executable(named):
            missing(f"Chromium at BMS_XERO_CHROMIUM={named!r}", how)
        return named
    for candidate in (DEBIAN_CHROMIUM, shutil.which("chromium")):
        if candidate and _executable(candidate):
            return candidate
    missing("Chromium", how)


def _executable(path: str) -> bool:
    return Path(path).is_file() and os.access(path, os.X_OK)


#: The PostgreSQL server the suite uses unless ``BMS_XERO_TEST_POSTGRES`` names another (a
#: libpq URL of a database the tests may connect to and CREATE DATABASE from).
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
_POSTGRES_HOW = (
    "start PostgreSQL on 127.0.0.1:5432 (trust auth for user postgres) or set "
    "BMS_XERO_TEST_POSTGRES=postgresql://user:password@host:port/database"
)


def postgres_url() -> str:
    """The libpq URL of the test server (``BMS_XERO_TEST_POSTGRES``, else :data:`POSTGRES_URL`);
    nothing is checked."""
    return os.environ.get("BMS_XERO_TEST_POSTGRES", "").strip() or POSTGRES_URL


def require_postgres() -> str:
    """The libpq URL of a PostgreSQL server that answers, with psycopg importable.

    Tries one connection (2 s timeout), so a test never hangs on a server that is not there.
    """
    if importlib.util.find_spec("psycopg") is None:
        missing("psycopg (the PostgreSQL driver)", "pip install -e '.[test]'")
    url = postgres_url()
    problem = _postgres_problem(url)
    if problem is not None:
        where = "BMS_XERO_TEST_POSTGRES" if url != POSTGRES_URL else POSTGRES_URL
        missing(f"PostgreSQL at {where} ({problem})", _POSTGRES_HOW)
    return url


@functools.cache
def _postgres_problem(url: str) -> str | None:
    """Why the server at ``url`` can't be used (``None`` when it answered); asked once per
    session, so a missing server costs one timeout, not one per test."""
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=2, autocommit=True).close()
    except psycopg.Error as exc:
        text = str(exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__
    return None


def require_django() -> None:
    """Django importable (the ``django`` extra). Call it from a conftest or at a module's
    top: outside a test it skips (or, in CI, fails) the whole directory or module."""
    if importlib.util.find_spec("django") is None:
        how = "pip install -e '.[test]' (or pip install 'bms-xero[django]')"
        if in_ci():
            pytest.fail(f"Django is missing in CI: {how}", pytrace=False)
        pytest.skip(
            f"Django is not installed: {how} (with CI=true these tests fail instead)",
            allow_module_level=True,
        )


def require_celery() -> None:
    """Celery importable (the ``celery`` extra). Call it at a module's top: outside a test it
    skips (or, in CI, fails) the whole module."""
    if importlib.util.find_spec("celery") is None:
        how = "pip install -e '.[test]' (or pip install 'bms-xero[celery]')"
        if in_ci():
            pytest.fail(f"Celery is missing in CI: {how}", pytrace=False)
        pytest.skip(
            f"Celery is not installed: {how} (with CI=true these tests fail instead)",
            allow_module_level=True,
        )


#: The Redis server the suite uses unless ``BMS_XERO_TEST_REDIS`` names another. Tests give
#: every key they make a random prefix, so they share a server with anything else.
REDIS_URL = "redis://127.0.0.1:6379/0"
_REDIS_HOW = (
    "start Redis on 127.0.0.1:6379 (e.g. apt-get install redis-server) or set "
    "BMS_XERO_TEST_REDIS=redis://host:port/db"
)


def redis_url() -> str:
    """The URL of the test Redis (``BMS_XERO_TEST_REDIS``, else :data:`REDIS_URL`); nothing
    is checked."""
    return os.environ.get("BMS_XERO_TEST_REDIS", "").strip() or REDIS_URL


def require_redis() -> str:
    """The URL of a Redis server that answers PING, with the ``redis`` package importable.

    Tries one connection (2 s timeout), so a test never hangs on a server that is not there.
    """
    if importlib.util.find_spec("redis") is None:
        missing("redis (the Python client for Redis)", "pip install -e '.[test]'")
    url = redis_url()
    problem = _redis_problem(url)
    if problem is not None:
        where = "BMS_XERO_TEST_REDIS" if url != REDIS_URL else REDIS_URL
        missing(f"Redis at {where} ({problem})", _REDIS_HOW)
    return url


@functools.cache
def _redis_problem(url: str) -> str | None:
    """Why the server at ``url`` can't be used (``None`` when it answered PING); asked once
    per session."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        text = str(exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__
    finally:
        client.close()
    return None


def require_psycopg() -> None:
    """psycopg importable (the ``postgres`` extra). Call it at a module's top, before importing
    the PostgreSQL stores: outside a test it skips (or, in CI, fails) the whole module."""
    if importlib.util.find_spec("psycopg") is None:
        how = "pip install -e '.[test]' (or pip install 'bms-xero[postgres]')"
        if in_ci():
            pytest.fail(f"psycopg is missing in CI: {how}", pytrace=False)
        pytest.skip(
            f"psycopg is not installed: {how} (with CI=true these tests fail instead)",
            allow_module_level=True,
        )
