"""Settings of the example BMS: an ordinary small Django site plus one ``BMS_XERO`` setting.

Everything machine-specific comes from the environment, so the same file serves a developer
(``README.md`` in this folder) and the browser test (``tests/browser``):

- ``BMS_DB``: the SQLite file (default ``bms.db`` beside ``manage.py``, git-ignored);
- ``BMS_SECRET_KEY``: Django's secret key (a fixed development one otherwise);
- the Xero connection: see ``BMS_XERO`` below (``bms-xero fake-server`` by default).
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("BMS_SECRET_KEY", "django-insecure-example-bms-development-only")
DEBUG = os.environ.get("BMS_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "bms_xero.contrib.django",
    "invoicing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "bms_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BMS_DB", str(BASE_DIR / "bms.db")),
        # The web server and the worker are two processes on one file: wait for the write
        # lock instead of failing, and take it at the start of each transaction.
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;",
        },
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-nz"
TIME_ZONE = "Pacific/Auckland"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "invoice-list"

# --- Xero -------------------------------------------------------------------------------------
# By default the BMS talks to `bms-xero fake-server` on port 8700 (README.md). For real Xero,
# set BMS_FAKE_XERO_URL to an empty string and connect an app. The client id and secret are
# read from XERO_CLIENT_ID and XERO_CLIENT_SECRET when the first request needs them, never
# written here.
FAKE_XERO_URL = os.environ.get("BMS_FAKE_XERO_URL", "http://127.0.0.1:8700")
BMS_XERO = {
    "TENANT_ID": os.environ.get("XERO_TENANT_ID"),  # `bms-xero fake-server` prints it
    "TAX_MAP": {"GST15": "OUTPUT2"},
    "INVOICE_SOURCE": "invoicing.xero.Invoices",
    "PAYMENT_SINK": "invoicing.xero.Payments",
    "CUSTOMER_SOURCE": "invoicing.xero.Customers",
}
if FAKE_XERO_URL:
    BMS_XERO |= {
        "API_URL": f"{FAKE_XERO_URL}/api.xro/2.0",
        "TOKEN_URL": f"{FAKE_XERO_URL}/connect/token",
        "CONNECTIONS_URL": f"{FAKE_XERO_URL}/connections",
        "AUTHORIZE_URL": f"{FAKE_XERO_URL}/identity/connect/authorize",
        "REVOCATION_URL": f"{FAKE_XERO_URL}/connect/revocation",
    }
