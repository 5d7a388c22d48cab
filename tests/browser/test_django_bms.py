"""The example BMS (examples/django_bms) in headless Chromium, as a person uses it.

One story, because the servers are the expensive part: link two customers, release three
invoices (the third customer has no Xero contact), run the worker, see the panel (View Xero
Invoice, Last Push), pay one invoice in Xero, pull, see it Paid with a Last Pull, press
"Sync Invoice with Xero Invoice", find the failed invoice in Admin -> Background jobs with
what to fix, fix the customer, retry, and see the failure gone. Assertions are on what the
page shows (text, links), never on the database.

Set ``BMS_XERO_SCREENSHOTS=1`` to refresh docs/images/panel.png and docs/images/jobs.png.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import Site

pytestmark = pytest.mark.usefixtures("chromium_path")  # skip (or fail in CI) before any server

RELEASED = ("INV-0001", "INV-0002", "INV-0003")  # Acme Ltd, Globex Corporation, Initech
#: The worker, run as cron would: what is due, then exit. Its periodic pull is left out, so
#: that payments come back at the explicit pull below.
WORKER = ("bms_xero_worker", "--once", "--no-schedule")
#: What the panel says of a time seconds ago (a slow machine may take a minute or two).
RECENT = re.compile(r"^(just now|\d+ minutes? ago)$")


def _open_invoice(page: Any, number: str) -> Any:
    """Open the invoice from the list, as a person would; returns its Xero panel."""
    page.goto("/")
    page.get_by_role("link", name=number, exact=True).click()
    return page.locator(".bms-xero-panel")


def _customer_row(page: Any, name: str) -> Any:
    return page.locator("table.grid tbody tr", has_text=name)


def _link_customer(page: Any, name: str) -> None:
    from playwright.sync_api import expect

    page.goto("/customers/")
    page.get_by_role("button", name=f"Link {name} to Xero").click()
    expect(page.locator(".messages")).to_contain_text(f"{name} is queued to be linked to Xero.")


def _failed_jobs(page: Any) -> Any:
    """Admin -> Background jobs, filtered to the failed ones, reached through the admin's
    own links; returns the list's rows."""
    page.goto("/admin/")
    page.get_by_role("link", name="Background jobs").click()
    page.locator("#changelist-filter").get_by_role("link", name="Failed", exact=True).click()
    return page.locator("#result_list tbody tr")


def _jobs_screenshot(page: Any, screenshot: Any) -> None:
    """All of Background jobs (the failed push among the done ones), with the admin's menu
    folded away (as the admin remembers it), cropped to the list."""
    page.get_by_role("link", name="All", exact=True).first.click()
    if "shifted" in (page.locator("#main").get_attribute("class") or ""):
        page.locator("#toggle-nav-sidebar").click()
    box = page.locator("#content").bounding_box()
    assert box is not None
    width = page.viewport_size["width"]
    clip = {"x": 0, "y": 0, "width": width, "height": box["y"] + box["height"]}
    screenshot(page, "jobs.png", clip=clip, full_page=True)


def test_release_pay_pull_sync_and_fix_a_failed_push(
    page: Any, site: Site, screenshot: Any
) -> None:
    """Released invoices reach Xero through the worker and their panels show the deep link,
    Last Push and (after a payment in Xero and a pull) Paid and Last Pull; the invoice of an
    unlinked customer fails with "Link the customer to Xero first" in Background jobs until
    the customer is linked and the job retried."""
    from playwright.sync_api import expect

    messages = page.locator(".messages, .messagelist")

    # Two customers are linked to Xero (Acme Ltd's contact is there already, found by its
    # code C-1; Globex's is created), Initech is not. Then three invoices are released: each
    # waits for the worker, and its panel says so. The worker runs jobs oldest first, so the
    # links are made before the pushes.
    for name in ("Acme Ltd", "Globex Corporation"):
        _link_customer(page, name)
    for number in RELEASED:
        page.goto("/")
        page.get_by_role("button", name=f"Release {number}").click()
        expect(messages).to_contain_text(f"{number} released: it is queued for Xero.")
        expect(page.locator(".bms-xero-state")).to_have_text("Queued")
    site.manage(*WORKER)
    page.goto("/customers/")
    expect(_customer_row(page, "Acme Ltd")).to_contain_text("Linked")
    expect(_customer_row(page, "Globex Corporation")).to_contain_text("Linked")
    expect(_customer_row(page, "Initech")).to_contain_text("Not linked")

    # INV-0001 is in Xero: the deep link and Last Push; nothing pulled yet.
    panel = _open_invoice(page, "INV-0001")
    expect(panel.locator(".bms-xero-state")).to_have_text("In Xero")
    expect(panel.locator(".bms-xero-status")).to_have_text("Awaiting payment")
    view = panel.get_by_role("link", name="View Xero Invoice")
    href = view.get_attribute("href") or ""
    assert re.search(r"^https://go\.xero\.com/.*/AccountsReceivable/View\.aspx\?InvoiceID=", href)
    expect(panel.locator(".bms-xero-last-push")).to_have_text(RECENT)
    expect(panel.locator(".bms-xero-last-pull")).to_have_text("Never")

    # Acme pays in Xero; a pull brings it back: the BMS invoice is Paid.
    paid = site.manage("pay_in_fake_xero", "INV-0001")
    assert "Paid 1725.00 on INV-0001 in Xero" in paid
    site.manage("bms_xero_pull", "--now")
    page.reload()
    expect(page.locator(".invoice .badge")).to_have_text("Paid")
    expect(panel.locator(".bms-xero-status")).to_have_text("Paid")
    expect(panel.locator(".bms-xero-amount-due")).to_have_text("0.00")
    expect(panel.locator(".bms-xero-last-pull")).to_have_text(RECENT)
    screenshot(page.locator(".invoice-page"), "panel.png")

    # The Sync button pushes and refreshes INV-0002 at once, and says so.
    panel = _open_invoice(page, "INV-0002")
    panel.get_by_role("button", name="Sync Invoice with Xero Invoice").click()
    expect(messages).to_contain_text("Invoice INV-0002 is in sync with Xero (Awaiting payment).")
    expect(panel.locator(".bms-xero-last-pull")).to_have_text(RECENT)

    # INV-0003's customer has no Xero contact: its panel and Background jobs say what to do.
    panel = _open_invoice(page, "INV-0003")
    expect(panel.locator(".bms-xero-state")).to_have_text("Sync failed")
    expect(panel.locator(".bms-xero-error")).to_contain_text("Link the customer to Xero first")
    failed = _failed_jobs(page)
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("Push invoice INV-0003 to Xero")
    expect(failed).to_contain_text("Link the customer to Xero first")
    expect(failed).to_contain_text("Initech (C-3) has no contact in Xero yet")
    _jobs_screenshot(page, screenshot)

    # Fix the customer (link it), retry the job from the list, run the worker (the link
    # first, then the push): nothing has failed.
    _link_customer(page, "Initech")
    failed = _failed_jobs(page)
    failed.get_by_role("checkbox").check()
    page.select_option("select[name=action]", label="Retry the selected failed jobs")
    page.get_by_role("button", name="Go").click()
    expect(messages).to_contain_text("Retried 1 job: Push invoice INV-0003 to Xero.")
    site.manage(*WORKER)
    expect(_failed_jobs(page)).to_have_count(0)
    panel = _open_invoice(page, "INV-0003")
    expect(panel.locator(".bms-xero-state")).to_have_text("In Xero")
    expect(panel.get_by_role("link", name="View Xero Invoice")).to_be_visible()
    expect(panel.locator(".bms-xero-error")).to_have_count(0)
