"""Django settings for the app's screens: the stores' test settings plus what a host's
project has (admin, sessions, messages, templates, URLs) and a ``BMS_XERO`` setting.

The conftest configures Django once per session with ``DJANGO_SETTINGS_MODULE`` (default
``tests.contrib.django.settings``); these tests need this module, a superset of that one, so
the stores' tests run under it unchanged.

``BMS_XERO`` here points the app at :data:`FAKE`, the :class:`~bms_xero.testing.FakeXero`
the running test installed (``HTTP_CLIENT`` and ``CLOCK`` are factories over it), so the
engine, the worker and the OAuth views talk to it in-process.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.contrib.django.settings import *  # noqa: F403
from tests.contrib.django.settings import INSTALLED_APPS as _STORE_APPS

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    *[app for app in _STORE_APPS if app not in ("django.contrib.admin",)],
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.contrib.django.app_urls"
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
            ]
        },
    }
]
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
LOGIN_URL = "/admin/login/"
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test logins


class _Fake:
    """What the running test installed: its FakeXero and the host's invoices."""

    xero: Any = None
    invoices: Any = None
    #: Requests refused for want of a FakeXero (the test expected none).
    refused: list[str] = []  # noqa: RUF012 - one list per process, emptied by the tests


FAKE = _Fake()


def fake_http() -> httpx.Client:
    """``BMS_XERO['HTTP_CLIENT']``: an httpx client over the test's FakeXero (in a process
    without one, a client whose every request fails: nothing may reach the network)."""
    if FAKE.xero is None:
        return httpx.Client(transport=httpx.MockTransport(_no_network))
    return httpx.Client(transport=FAKE.xero.transport)


def _no_network(request: httpx.Request) -> httpx.Response:
    FAKE.refused.append(f"{request.method} {request.url}")
    raise httpx.ConnectError("no FakeXero in this process", request=request)


def fake_clock() -> Any:
    """``BMS_XERO['CLOCK']``: the test's FakeXero's clock (the system's without one)."""
    from bms_xero.clock import SystemClock

    return SystemClock() if FAKE.xero is None else FAKE.xero.clock


def invoices() -> Any:
    """``BMS_XERO['INVOICE_SOURCE']``: the test's invoices (none without a test)."""
    from bms_xero.jobs import MemoryInvoiceSource

    if FAKE.invoices is None:
        FAKE.invoices = MemoryInvoiceSource()
    return FAKE.invoices


BMS_XERO = {
    "TENANT_ID": "set-by-each-test",
    "TAX_MAP": {"GST15": "OUTPUT2"},
    "CLIENT_ID_ENV": "BMS_XERO_TEST_CLIENT_ID",
    "CLIENT_SECRET_ENV": "BMS_XERO_TEST_CLIENT_SECRET",
    "HTTP_CLIENT": "tests.contrib.django.app_settings.fake_http",
    "CLOCK": "tests.contrib.django.app_settings.fake_clock",
    "INVOICE_SOURCE": "tests.contrib.django.app_settings.invoices",
}
