"""The app's URLs: ``path("xero/", include("bms_xero.contrib.django.urls"))``.

Named in the ``bms_xero`` namespace, so templates and hosts reverse them
(``{% url "bms_xero:sync" invoice_id %}``):

- ``sync`` (POST ``invoices/<id>/sync/``): the "Sync Invoice with Xero Invoice" button;
- ``panel`` (GET ``invoices/<id>/panel.json``): the panel as JSON;
- ``connect``, ``callback``, ``disconnect`` (POST): an app connection. Register the
  callback's absolute URL (``https://bms.example.com/xero/callback/``) as the app's redirect
  URI in the Xero developer portal, or set ``BMS_XERO['REDIRECT_URI']``.
"""

from __future__ import annotations

from django.urls import path

from bms_xero.contrib.django import views

__all__ = ["app_name", "urlpatterns"]

app_name = "bms_xero"

urlpatterns = [
    path("invoices/<str:invoice_id>/sync/", views.sync_invoice, name="sync"),
    path("invoices/<str:invoice_id>/panel.json", views.panel_json, name="panel"),
    path("connect/", views.connect, name="connect"),
    path("callback/", views.callback, name="callback"),
    path("disconnect/", views.disconnect, name="disconnect"),
]
