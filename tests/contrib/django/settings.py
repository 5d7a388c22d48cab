"""Django settings for the bms_xero.contrib.django tests: the app on two databases.

``default`` is a SQLite file (its directory comes from ``BMS_XERO_DJANGO_SQLITE_DIR``, set by
the conftest to a fresh temporary directory) in IMMEDIATE transaction mode, as the stores ask;
``deferred`` is a SQLite file in Django's default (deferred) mode, which the job store must
refuse to lease from; ``postgres`` is the database ``bms_xero_django_test`` on the server of
``tests.services.postgres_url()`` (the conftest creates it when a test first needs it).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tests.services import postgres_url

_server = urlsplit(postgres_url())
_sqlite_dir = Path(os.environ.get("BMS_XERO_DJANGO_SQLITE_DIR", "."))

#: The PostgreSQL database the tests own (created and migrated on first use).
POSTGRES_DATABASE = "bms_xero_django_test"

SECRET_KEY = "tests-only-not-a-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "Australia/Sydney"  # not UTC, so a store that leaned on the local zone would show
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "bms_xero.contrib.django",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(_sqlite_dir / "bms_xero.sqlite3"),
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 30},
        "TEST": {"NAME": str(_sqlite_dir / "bms_xero.sqlite3")},
    },
    # Never migrated: for the refusal to lease on SQLite without IMMEDIATE transactions.
    "deferred": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(_sqlite_dir / "deferred.sqlite3"),
    },
    "postgres": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": POSTGRES_DATABASE,
        "USER": unquote(_server.username or "postgres"),
        "PASSWORD": unquote(_server.password or ""),
        "HOST": _server.hostname or "127.0.0.1",
        "PORT": str(_server.port or 5432),
        "OPTIONS": {"connect_timeout": 2},
    },
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"  # the app must not depend on the host's
