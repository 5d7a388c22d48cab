"""The Django app's public surface is pinned, like every other public module's
(tests/test_public_api.py leaves these to this file, where Django is set up)."""

from __future__ import annotations

import importlib
import pkgutil

import bms_xero.contrib.django

#: Each public module of the app and its exported names.
PUBLIC: dict[str, list[str]] = {
    "bms_xero.contrib.django.admin": [
        "JobAdmin",
        "SyncRecordAdmin",
        "TokenAdmin",
        "job_of",
        "row_of",
    ],
    "bms_xero.contrib.django.conf": [
        "DEFAULT_CLIENT_ID_ENV",
        "DEFAULT_CLIENT_SECRET_ENV",
        "KEYS",
        "SettingsError",
        "XeroSettings",
        "check_settings",
        "forget_settings",
        "get_settings",
        "on_change",
        "parse_settings",
        "problems_of",
    ],
    "bms_xero.contrib.django.management.commands.bms_xero_pull": ["Command", "update_line"],
    "bms_xero.contrib.django.management.commands.bms_xero_worker": ["Command", "job_line"],
    "bms_xero.contrib.django.models": [
        "CreditNote",
        "Cursor",
        "CustomerLink",
        "ExactDecimalField",
        "Job",
        "KEY_LENGTH",
        "RefreshLease",
        "SyncRecord",
        "TenantPark",
        "Token",
    ],
    "bms_xero.contrib.django.release": ["invoice_released", "queue_link_customer", "queue_push"],
    "bms_xero.contrib.django.stores": ["DjangoJobStore", "DjangoSyncStore", "DjangoTokenStore"],
    "bms_xero.contrib.django.templatetags.bms_xero": ["panel_context", "register", "xero_panel"],
    "bms_xero.contrib.django.urls": ["app_name", "urlpatterns"],
    "bms_xero.contrib.django.views": [
        "DisconnectOutcome",
        "allowed",
        "callback",
        "chosen_tenant",
        "connect",
        "disconnect",
        "disconnect_connection",
        "guarded",
        "invoice_id_of",
        "load_panel",
        "outcome_message",
        "panel_json",
        "sync_invoice",
    ],
    "bms_xero.contrib.django.wiring": [
        "Credentials",
        "credentials",
        "get_clock",
        "get_customer_source",
        "get_engine",
        "get_invoice_source",
        "get_jobs",
        "get_payment_sink",
        "get_settings",
        "get_store",
        "get_tokens",
        "make_schedule",
        "make_worker",
        "new_transport",
        "reset",
    ],
}
#: Modules with nothing to export.
SILENT = {
    "bms_xero.contrib.django.apps",
    "bms_xero.contrib.django.management",
    "bms_xero.contrib.django.management.commands",
    "bms_xero.contrib.django.migrations",
    "bms_xero.contrib.django.migrations.0001_initial",
    "bms_xero.contrib.django.templatetags",
}


def test_the_apps_public_modules_are_pinned() -> None:
    """The app's modules are exactly these, and each exports exactly these names."""
    found = sorted(
        info.name
        for info in pkgutil.walk_packages(
            bms_xero.contrib.django.__path__, "bms_xero.contrib.django."
        )
        if not any(part.startswith("_") for part in info.name.split(".")[3:])
    )
    assert sorted({*PUBLIC, *SILENT}) == found
    exported = {m: sorted(getattr(importlib.import_module(m), "__all__", [])) for m in PUBLIC}
    assert PUBLIC == exported
