"""The Django app for bms_xero: sync state, jobs and Xero connections in the host's database.

Add ``"bms_xero.contrib.django"`` to ``INSTALLED_APPS`` and run ``migrate``; the ORM stores are
in :mod:`bms_xero.contrib.django.stores`. This module imports nothing from Django, so importing
the package is cheap and works before Django is configured.
"""
