"""The Sync button's POST view (CSRF, the three outcomes) and the panel as JSON, each only
for the people ``VIEW_PERMISSION`` lets in."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from bms_xero.contrib.django import wiring
from bms_xero.contrib.django.views import allowed
from bms_xero.jobs import JobKind, JobStatus
from tests.contrib.django.app_support import *  # noqa: F403
from tests.contrib.django.app_support import App, csrf_token

PAGE = "/invoices/I-1/"
SYNC = "/xero/invoices/I-1/sync/"


def press_sync(client: Client, **extra: Any) -> Any:
    """Press the panel's Sync button as a browser would: the form's CSRF token and ``next``."""
    token = csrf_token(client, PAGE)
    return client.post(SYNC, {"csrfmiddlewaretoken": token, "next": PAGE}, **extra)


def messages_on(client: Client, page: str = PAGE) -> list[str]:
    html = client.get(page).content.decode()
    start = html.index("<ul class='messages'>")
    return [
        part.split(">", 1)[1].split("</li>", 1)[0]
        for part in html[start : html.index("</ul>", start)].split("<li")[1:]
    ]


def test_sync_without_a_csrf_token_is_refused(app: App, client: Client) -> None:
    """A POST without the form's CSRF token is refused (403) and nothing is sent to Xero."""
    app.invoice(1)
    response = client.post(SYNC, {"next": PAGE})
    assert (403, []) == (response.status_code, app.xero.invoices())


def test_sync_is_post_only(app: App, client: Client) -> None:
    """A GET of the Sync URL does nothing (405)."""
    assert 405 == client.get(SYNC).status_code


def test_a_synced_press_says_so_and_returns_to_the_page(app: App, client: Client) -> None:
    """Pressing Sync pushes and reads the invoice back, then redirects to ``next`` with a
    message saying it is in sync."""
    app.invoice(1)
    response = press_sync(client)
    assert (302, PAGE) == (response.status_code, response["Location"])
    assert ["Invoice INV-0001 is in sync with Xero (Awaiting payment)."] == messages_on(client)
    assert ["INV-0001"] == [i["InvoiceNumber"] for i in app.xero.invoices()]


def test_a_busy_xero_queues_the_push(app: App, client: Client) -> None:
    """While Xero is not answering, the press queues the push for the worker and says so;
    the panel then shows "Queued"."""
    app.invoice(1)
    token = csrf_token(client, PAGE)
    app.xero.inject("offline_503", times=None)
    client.post(SYNC, {"csrfmiddlewaretoken": token, "next": PAGE})
    app.xero.clear_faults()
    [job] = wiring.get_jobs().list_jobs()
    [message] = messages_on(client)
    assert (JobKind.PUSH, JobStatus.PENDING, True, True) == (
        job.kind,
        job.status,
        message == "Xero is not answering right now: Invoice INV-0001 is queued and will sync with "
        "Xero as soon as the worker takes it.",
        '<span class="bms-xero-state">Queued</span>' in client.get(PAGE).content.decode(),
    )


def test_a_failed_press_says_what_to_fix(app: App, client: Client) -> None:
    """A press that can't succeed (the customer has no Xero contact) says why in the BMS's
    words and what fixes it; nothing is queued."""
    app.invoice(1, linked=False)
    press_sync(client)
    assert (
        [
            "Invoice INV-0001 was not synced: Link the customer to Xero first. Nobody Yet Ltd "
            "(C-2) has no contact in Xero yet: link the customer to its Xero contact (or create "
            "one), then sync the invoice again."
        ],
        [],
    ) == (messages_on(client), wiring.get_jobs().list_jobs())


def test_an_invoice_the_bms_does_not_have(app: App, client: Client) -> None:
    """Syncing an id the invoice source does not know says so and sends nothing."""
    token = csrf_token(client, PAGE)
    client.post(SYNC, {"csrfmiddlewaretoken": token, "next": PAGE})
    [message] = messages_on(client)
    assert (True, []) == (message.startswith("Not synced with Xero: "), app.xero.requests)


def test_missing_credentials_fail_the_press_not_the_page(
    app: App, client: Client, monkeypatch: Any
) -> None:
    """Without the client id in the environment the press fails, telling the person to ask
    their administrator, and the panel's details name the variable to set."""
    app.invoice(1)
    monkeypatch.delenv("BMS_XERO_TEST_CLIENT_ID")
    response = press_sync(client)
    [message] = messages_on(client)
    html = client.get(PAGE).content.decode()
    details = html.split('<details class="bms-xero-error-detail">')[1].split("</details>")[0]
    assert (302, True, True) == (
        response.status_code,
        message.endswith("Tell your administrator: the details say what to change."),
        "the environment variable BMS_XERO_TEST_CLIENT_ID" in details,
    )


def test_next_must_be_this_site(app: App, client: Client) -> None:
    """A ``next`` on another site is ignored: the redirect goes to the referring page."""
    app.invoice(1)
    token = csrf_token(client, PAGE)
    response = client.post(
        SYNC,
        {"csrfmiddlewaretoken": token, "next": "https://evil.example/"},
        HTTP_REFERER="http://testserver/invoices/I-1/",
    )
    assert "http://testserver/invoices/I-1/" == response["Location"]


def test_sync_answers_json_when_asked(app: App, client: Client) -> None:
    """A client asking for JSON gets the outcome, the message and the fresh panel."""
    app.invoice(1)
    token = csrf_token(client, PAGE)
    response = client.post(SYNC, {"csrfmiddlewaretoken": token}, HTTP_ACCEPT="application/json")
    body = response.json()
    assert ("synced", "synced", "In Xero", "Awaiting payment") == (
        body["outcome"],
        body["panel"]["state"],
        body["panel"]["state_label"],
        body["panel"]["status_label"],
    )


def test_the_panel_as_json(app: App, client: Client) -> None:
    """The JSON view returns PanelView.to_dict(): state, labels, times, actions."""
    wiring.get_engine().push(app.invoice(1))
    response = client.get("/xero/invoices/I-1/panel.json")
    body = json.loads(response.content)
    assert (
        200,
        "I-1",
        "INV-0001",
        "synced",
        "Last Push",
        "just now",
        ["view_in_xero", "sync"],
        "no-cache" in response["Cache-Control"],
    ) == (
        response.status_code,
        body["invoice_id"],
        body["invoice_number"],
        body["state"],
        body["labels"]["last_push"],
        body["last_push"]["relative"],
        [a["action"] for a in body["actions"]],
        True,
    )


def test_the_json_view_refuses_anonymous_and_non_staff(app: App) -> None:
    """Signed out: 401 JSON; signed in without staff: 403 JSON; never a login page."""
    anonymous = Client()
    plain = Client()
    plain.force_login(User.objects.create_user("clerk", password="pw"))
    answers = [c.get("/xero/invoices/I-1/panel.json") for c in (anonymous, plain)]
    assert [
        (401, "you must sign in to use the Xero integration"),
        (403, "you may not use the Xero integration"),
    ] == [(a.status_code, a.json()["error"]) for a in answers]


def test_the_sync_button_needs_a_signed_in_staff_user(app: App) -> None:
    """Signed out, the button leads to the login page; a non-staff user gets 403."""
    anonymous = Client()
    plain = Client()
    plain.force_login(User.objects.create_user("clerk", password="pw"))
    answers = [c.post(SYNC) for c in (anonymous, plain)]
    assert [(302, True), (403, False)] == [
        (a.status_code, a.get("Location", "").startswith("/admin/login/?next=")) for a in answers
    ]


def test_view_permission_can_open_the_views_to_every_signed_in_user(app: App) -> None:
    """``VIEW_PERMISSION = "authenticated"`` lets a non-staff user see the panel JSON."""
    plain = Client()
    plain.force_login(User.objects.create_user("clerk", password="pw"))
    with app.settings(VIEW_PERMISSION="authenticated"):
        assert 200 == plain.get("/xero/invoices/I-1/panel.json").status_code


def test_who_may_use_the_views() -> None:
    """The pure rule: staff, superuser, authenticated, or a permission; inactive never."""

    class U:
        def __init__(self, **kw: Any) -> None:
            self.is_authenticated = kw.get("auth", True)
            self.is_active = kw.get("active", True)
            self.is_staff = kw.get("staff", False)
            self.is_superuser = kw.get("superuser", False)
            self.perms = kw.get("perms", set())

        def has_perm(self, perm: str) -> bool:
            return perm in self.perms

    staff, clerk, boss = U(staff=True), U(), U(staff=True, superuser=True)
    assert [
        (True, False, True),
        (False, False, True),
        (True, True, True),
        (False, True, False),
    ] == [
        (allowed(staff, "staff"), allowed(clerk, "staff"), allowed(boss, "staff")),
        (allowed(staff, "superuser"), allowed(clerk, "superuser"), allowed(boss, "superuser")),
        (
            allowed(staff, "authenticated"),
            allowed(clerk, "authenticated"),
            allowed(boss, "authenticated"),
        ),
        (
            allowed(U(active=False, staff=True), "staff"),
            allowed(U(perms={"bms_xero.change_job"}), "bms_xero.change_job"),
            allowed(U(auth=False, staff=True), "staff"),
        ),
    ]


def test_the_three_messages_of_the_button() -> None:
    """outcome_message words each outcome (pure): synced with the status, queued with when
    it runs, failed with the message and the fix."""
    from datetime import UTC, datetime, timedelta

    from django.contrib import messages

    from bms_xero.contrib.django.views import outcome_message
    from bms_xero.engine import BmsStatus, Panel
    from bms_xero.engine._results import SyncOutcome, SyncOutcomeKind
    from bms_xero.errors import MissingContactId, RateLimited
    from bms_xero.jobs import MemoryJobStore
    from bms_xero.views import PanelView

    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    panel = Panel(invoice_id="I-1", invoice_number="INV-0001", status=BmsStatus.PAID)
    job = MemoryJobStore().enqueue_push("t", "I-1", now=now, invoice_number="INV-0001")
    later = now + timedelta(seconds=40)
    busy = RateLimited("minute limit", problem="minute", retry_after=40)
    outcomes = [
        SyncOutcome.of(panel, SyncOutcomeKind.SYNCED),
        SyncOutcome.of(panel, SyncOutcomeKind.QUEUED, error=busy, job=job, runs_at=later),
        SyncOutcome.of(
            Panel(invoice_id="I-1", invoice_number="INV-0001"),
            SyncOutcomeKind.FAILED,
            error=MissingContactId(customer_id="C-2", customer_name="Acme Ltd"),
        ),
    ]
    said = [outcome_message(o, PanelView.of(o, now=now)) for o in outcomes]
    assert [
        (messages.SUCCESS, "Invoice INV-0001 is in sync with Xero (Paid)."),
        (
            messages.INFO,
            "Xero is busy right now: Invoice INV-0001 is queued and will sync with Xero in less "
            "than a minute.",
        ),
        (messages.ERROR, "Invoice INV-0001 was not synced: Link the customer to Xero first. "),
    ] == [(level, text if level != messages.ERROR else text[:66]) for level, text in said]
