"""The app's configuration: ``INSTALLED_APPS = [..., "bms_xero.contrib.django"]``."""

from __future__ import annotations

from django.apps import AppConfig


class BmsXeroConfig(AppConfig):  # type: ignore[misc]  # Django ships no types
    """bms_xero's Django app. The label ``bms_xero`` names its tables (``bms_xero_job``...)
    and its admin URLs; the primary key type is fixed here so a host's
    ``DEFAULT_AUTO_FIELD`` never asks for a migration of ours."""

    name = "bms_xero.contrib.django"
    label = "bms_xero"
    verbose_name = "Xero integration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the app's system check (``bms_xero.W001``: the ``BMS_XERO`` setting), so
        ``manage.py check`` reports a bad setting whether or not the admin is installed."""
        from bms_xero.contrib.django import conf  # noqa: F401 (registers the check)
