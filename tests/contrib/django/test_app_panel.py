"""``{% xero_panel invoice %}``: the Xero Integration panel in a host's invoice page, read
from the database alone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.template import Context, Template
from django.test import Client, RequestFactory

from bms_xero.contrib.django import wiring
from bms_xero.contrib.django.release import queue_push
from bms_xero.contrib.django.views import invoice_id_of
from bms_xero.errors import ConfigurationError
from tests.contrib.django import app_settings
from tests.contrib.django.app_support import *  # noqa: F403
from tests.contrib.django.app_support import App


def page(client: Client, invoice_id: str = "I-1") -> str:
    response = client.get(f"/invoices/{invoice_id}/")
    assert 200 == response.status_code
    return str(response.content.decode())


def test_an_invoice_never_pushed(app: App, client: Client) -> None:
    """Before any push: the title, "Not in Xero yet", Never twice, and the Sync button as a
    POST form with the CSRF token and the way back."""
    app.invoice(1)
    html = page(client)
    for fragment in (
        "<h2>Xero Integration</h2>",
        '<span class="bms-xero-state">Not in Xero yet</span>',
        '<dt>Last Push</dt>\n    <dd class="bms-xero-last-push">Never</dd>',
        '<dt>Last Pull</dt>\n    <dd class="bms-xero-last-pull">Never</dd>',
        '<form class="bms-xero-sync" method="post" action="/xero/invoices/I-1/sync/">',
        '<input type="hidden" name="csrfmiddlewaretoken" value="',
        '<input type="hidden" name="next" value="/invoices/I-1/">',
        '<button type="submit">Sync Invoice with Xero Invoice</button>',
    ):
        assert fragment in html
    assert "View Xero Invoice" not in html


def test_a_pushed_invoice_shows_the_deep_link_and_last_push(app: App, client: Client) -> None:
    """After a push: "In Xero", "Awaiting payment", the View Xero Invoice deep link into the
    organisation, and Last Push "just now" with the absolute time in the host's zone."""
    invoice = app.invoice(1)
    wiring.get_engine().push(invoice)
    xero_id = app.xero.invoices()[0]["InvoiceID"]
    app.xero.clock.advance(120)
    html = page(client)
    for fragment in (
        '<span class="bms-xero-state">In Xero</span>',
        '<span class="bms-xero-status">Awaiting payment</span>',
        '<a href="https://go.xero.com/organisationlogin/default.aspx?shortcode=%21Demo1&amp;'
        f'redirecturl=/AccountsReceivable/View.aspx?InvoiceID={xero_id}" target="_blank" '
        'rel="noopener noreferrer">View Xero Invoice</a>',
        '<dd class="bms-xero-last-push"><time datetime="2026-01-05T20:00:00+11:00" '
        'title="5 Jan 2026, 20:00 AEDT">2 minutes ago</time></dd>',
        '<dd class="bms-xero-last-pull">Never</dd>',
        '<dd class="bms-xero-amount-due">115.00</dd>',
    ):
        assert fragment in html


def test_a_paid_invoice_after_a_pull(app: App, client: Client) -> None:
    """Paid in Xero and pulled: "Paid", Last Pull, nothing due."""
    invoice = app.invoice(1)
    engine = wiring.get_engine()
    engine.push(invoice)
    app.xero.pay(app.xero.invoices()[0]["InvoiceID"], amount="115.00")
    engine.pull()
    html = page(client)
    for fragment in (
        '<span class="bms-xero-status">Paid</span>',
        '<dd class="bms-xero-last-pull"><time datetime="2026-01-05T20:00:00+11:00"',
        '<dd class="bms-xero-amount-due">0.00</dd>',
    ):
        assert fragment in html


def test_a_released_invoice_is_queued(app: App, client: Client) -> None:
    """While its push waits for the worker, the panel says "Queued" and when it runs."""
    app.invoice(1)
    queue_push("I-1", invoice_number="INV-0001")
    html = page(client)
    assert '<span class="bms-xero-state">Queued</span>' in html
    assert '<dt>Next try</dt>\n    <dd class="bms-xero-next-run"><time' in html


def test_a_failed_push_shows_the_error_for_people_and_its_fix(app: App, client: Client) -> None:
    """A push stopped by a customer with no Xero contact shows "Sync failed", the message in
    the BMS's words and what to fix; the developer's hint is only in the folded details."""
    app.invoice(1, linked=False)
    queue_push("I-1", invoice_number="INV-0001")
    wiring.make_worker().run_pending()
    html = page(client)
    for fragment in (
        '<span class="bms-xero-state">Sync failed</span>',
        '<div class="bms-xero-error bms-xero-error-customer_not_linked" role="alert">',
        "<strong>Link the customer to Xero first</strong>",
        '<p class="bms-xero-error-fix">Nobody Yet Ltd (C-2) has no contact in Xero yet',
    ):
        assert fragment in html
    shown = html.split('<details class="bms-xero-error-detail">')[0]  # what is not folded
    assert ("SyncEngine" in shown, "SyncEngine.link_customer" in html) == (False, True)


def test_the_panel_never_touches_the_network(app: App, client: Client, monkeypatch: Any) -> None:
    """Rendering the panel, on the engine's first use too, sends no request at all: with a
    transport that refuses every request the page still renders."""
    invoice = app.invoice(1)
    wiring.get_engine().push(invoice)
    wiring.reset()  # the next page builds a new engine, as a fresh process would
    monkeypatch.setattr(app_settings.FAKE, "xero", None)  # HTTP_CLIENT now refuses all
    monkeypatch.setattr(app_settings.FAKE, "refused", [])
    html = page(client)
    assert (True, []) == (
        '<span class="bms-xero-state">In Xero</span>' in html,
        app_settings.FAKE.refused,
    )


def test_the_panel_renders_without_credentials(app: App, client: Client, monkeypatch: Any) -> None:
    """The panel needs no client id or secret: they are read when a request needs a token."""
    app.invoice(1)
    monkeypatch.delenv("BMS_XERO_TEST_CLIENT_ID")
    monkeypatch.delenv("BMS_XERO_TEST_CLIENT_SECRET")
    assert '<span class="bms-xero-state">Not in Xero yet</span>' in page(client)


def test_a_misconfigured_integration_says_so_in_the_panel(app: App, client: Client) -> None:
    """With settings the app can't use, the host's page still renders and the panel says
    what is wrong."""
    with app.settings(DATABASE="nowhere"):
        html = page(client)
    assert (
        '<p role="alert">The Xero integration is not available: BMS_XERO[&#x27;DATABASE&#x27;]: '
        "names no database in DATABASES"
    ) in html


def test_the_tag_takes_a_model_a_string_or_an_invoice(app: App) -> None:
    """The invoice is a model instance (its str(pk)), an id string, or a bms_xero Invoice."""

    class Row:
        pk = 7

    assert ["7", "I-3", "I-1", "12"] == [
        invoice_id_of(Row()),
        invoice_id_of("I-3"),
        invoice_id_of(app.invoice(1)),
        invoice_id_of(12),
    ]


def test_the_tag_refuses_no_invoice() -> None:
    """None (an unsaved model, a missing context variable) is refused, saying what is needed."""
    try:
        invoice_id_of(None)
    except ConfigurationError as e:
        assert str(e).startswith("the Xero panel needs an invoice: a saved model instance")
    else:
        raise AssertionError("invoice_id_of(None) was accepted")


def test_the_tag_in_a_template_of_the_host(app: App) -> None:
    """``{% load bms_xero %}{% xero_panel invoice %}`` renders in any template with a request."""
    app.invoice(1)
    request = RequestFactory().get("/somewhere/else/")
    html = Template("{% load bms_xero %}{% xero_panel invoice %}").render(
        Context({"invoice": "I-1", "request": request})
    )
    assert '<input type="hidden" name="next" value="/somewhere/else/">' in html


def test_relative_times_follow_the_clock(app: App, client: Client) -> None:
    """The relative time is counted from the app's clock (a FakeClock here)."""
    wiring.get_engine().push(app.invoice(1))
    app.xero.clock.advance(timedelta(hours=3).total_seconds())
    assert "3 hours ago</time>" in page(client)
