"""``{% load bms_xero %}``: the Xero Integration panel in a host's invoice page.

::

    {% load bms_xero %}
    {% xero_panel invoice %}

``invoice`` is the host's invoice (a model instance: its ``str(pk)`` is the id, as given to
``queue_push``), its id as a string, or a bms_xero ``Invoice``. The panel is rendered from a
:class:`~bms_xero.views.PanelView` read from the database only, so the page renders while
Xero is down: View Xero Invoice, Last Push, Last Pull, the status, "Queued" while a push
waits for the worker, the last error in the BMS's words with what fixes it, and the "Sync
Invoice with Xero Invoice" button (a POST form with the CSRF token, back to this page).

The markup is ``bms_xero/panel.html``: override it in the host's templates to restyle it
(the context has ``panel``, ``sync_url``, ``next``, ``reconnect_url``).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse

from bms_xero.contrib.django import wiring
from bms_xero.contrib.django.views import invoice_id_of, load_panel
from bms_xero.errors import BmsXeroError

__all__ = ["panel_context", "register", "xero_panel"]

register = template.Library()
log = logging.getLogger("bms_xero.django")


def panel_context(context: Any, invoice: object) -> dict[str, Any]:
    """The panel template's context for ``invoice`` (the tag's work, callable from a view)."""
    request = context.get("request")
    here = request.get_full_path() if request is not None else ""
    try:
        invoice_id = invoice_id_of(invoice)
        panel = load_panel(invoice_id)
        reconnect = None
        if wiring.get_settings().app_connection:
            query = f"?{urlencode({'next': here})}" if here else ""
            reconnect = reverse("bms_xero:connect") + query
    except BmsXeroError as e:
        # The invoice page must render even when the integration is misconfigured (or its
        # tables are not migrated): the panel says what is wrong instead.
        log.warning("the Xero panel could not be read: %s", e)
        return {"problem": str(e)}
    return {
        "panel": panel,
        "sync_url": reverse("bms_xero:sync", args=[invoice_id]),
        "next": here,
        "reconnect_url": reconnect,
    }


@register.inclusion_tag("bms_xero/panel.html", takes_context=True)  # type: ignore[untyped-decorator]
def xero_panel(context: Any, invoice: object) -> dict[str, Any]:
    """The Xero Integration panel for ``invoice``."""
    return panel_context(context, invoice)
