"""The URLs of the app's test project (``app_settings.ROOT_URLCONF``), with a host's invoice
page that includes the panel."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

_PAGE = engines["django"].from_string(
    "{% load bms_xero %}<html><body><h1>Invoice {{ invoice_id }}</h1>"
    "<ul class='messages'>{% for m in messages %}<li class='{{ m.tags }}'>{{ m }}</li>"
    "{% endfor %}</ul>{% xero_panel invoice_id %}</body></html>"
)


def invoice_page(request: HttpRequest, invoice_id: str) -> HttpResponse:
    """A host's invoice page: the panel, as ``{% xero_panel invoice %}`` renders it."""
    return HttpResponse(_PAGE.render({"invoice_id": invoice_id}, request))


urlpatterns = [
    path("admin/", admin.site.urls),
    path("xero/", include("bms_xero.contrib.django.urls")),
    path("invoices/<str:invoice_id>/", invoice_page, name="invoice"),
]
