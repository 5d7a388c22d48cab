"""Admin -> Background jobs (the failed invoice with what fixes it; Retry, Run now, Cancel
through the job store), Sync records (read-only) and Xero connections (never a token)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client

from bms_xero.contrib.django import wiring
from bms_xero.contrib.django.release import queue_push
from bms_xero.jobs import JobStatus
from bms_xero.storage import TokenSet
from tests.contrib.django.app_support import *  # noqa: F403
from tests.contrib.django.app_support import App, csrf_token

JOBS = "/admin/bms_xero/job/"


def a_failed_and_a_done_push(app: App) -> tuple[str, str]:
    """Invoices 1 (linked customer: done) and 2 (no Xero contact: failed), through the
    worker; returns their job ids."""
    app.invoice(1)
    app.invoice(2, linked=False)
    queue_push("I-1", invoice_number="INV-0001")
    queue_push("I-2", invoice_number="INV-0002")
    report = wiring.make_worker().run_pending()
    [done], [failed] = report.done, report.failed
    return done.id, failed.id


def act(client: Client, action: str, *ids: str, page: str = JOBS) -> Any:
    token = csrf_token(client, page)
    return client.post(
        page,
        {"csrfmiddlewaretoken": token, "action": action, "_selected_action": list(ids)},
        follow=True,
    )


def rows(html: str) -> list[str]:
    """The rows of the admin's result list (none when it lists nothing)."""
    if "<tbody>" not in html:
        return []
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [r.split("</tr>", 1)[0] for r in body.split("<tr")[1:]]


def test_the_jobs_list_names_the_failed_invoice_and_its_fix(app: App, client: Client) -> None:
    """The list shows each job, its status, the invoice, and for the failure the message in
    the BMS's words and what fixes it."""
    a_failed_and_a_done_push(app)
    response = client.get(JOBS)
    html = response.content.decode()
    failed = next(r for r in rows(html) if "INV-0002" in r)
    assert (200, True, True, True, True) == (
        response.status_code,
        "<title>Select background job to change | Django site admin</title>" in html,
        '<td class="field-status_label">Failed</td>' in failed,
        "<strong>Link the customer to Xero first</strong><br>Nobody Yet Ltd (C-2) has no "
        "contact in Xero yet" in failed,
        '<td class="field-subject">Invoice INV-0002</td>' in failed,
    )


def test_the_failed_filter_lists_only_failures(app: App, client: Client) -> None:
    """``?status__exact=failed`` lists the failed push alone."""
    a_failed_and_a_done_push(app)
    html = client.get(JOBS + "?status__exact=failed").content.decode()
    assert [True] == ["Push invoice INV-0002 to Xero" in r for r in rows(html)]


def test_retry_runs_a_failed_job_again_through_the_store(app: App, client: Client) -> None:
    """Retry makes the failed job pending, due now, with a fresh attempt budget; the done
    job is left as it was and the page says so."""
    done, failed = a_failed_and_a_done_push(app)
    response = act(client, "retry", done, failed)
    jobs = wiring.get_jobs()
    after = jobs.get(failed)
    html = response.content.decode()
    assert after is not None
    assert (JobStatus.PENDING, 0, JobStatus.DONE, True, True) == (
        after.status,
        after.attempts,
        jobs.get(done).status,  # type: ignore[union-attr]
        "Retried 1 job: Push invoice INV-0002 to Xero." in html,
        "Left 1 job unchanged: only failed or cancelled jobs can be retried." in html,
    )


def test_retry_then_the_fixed_invoice_clears(app: App, client: Client) -> None:
    """Once the customer is linked, a retried job succeeds and the list no longer shows the
    invoice as failed."""
    _, failed = a_failed_and_a_done_push(app)
    wiring.get_engine().link_customer(app.customer(linked=False))  # finds or creates it
    act(client, "retry", failed)
    wiring.make_worker().run_pending()
    html = client.get(JOBS + "?status__exact=failed").content.decode()
    assert ([], JobStatus.DONE) == (rows(html), wiring.get_jobs().get(failed).status)  # type: ignore[union-attr]


def test_run_now_moves_a_waiting_job_to_now(app: App, client: Client) -> None:
    """A job waiting for a later retry runs now after "Run now"."""
    app.invoice(1)
    queue_push("I-1", invoice_number="INV-0001")
    jobs = wiring.get_jobs()
    now = app.xero.clock.now()
    [leased] = jobs.lease(worker_id="w", now=now, lease_seconds=60, limit=1)
    jobs.fail(
        leased,
        now=now,
        error="boom",
        error_type="XeroUnavailable",
        retry_at=now + timedelta(hours=1),
    )
    act(client, "run_now", leased.id)
    after = jobs.get(leased.id)
    assert after is not None
    assert (JobStatus.PENDING, now) == (after.status, after.run_after)


def test_cancel_cancels_through_the_store(app: App, client: Client) -> None:
    """Cancel cancels a waiting job; the worker then never runs it."""
    app.invoice(1)
    queue_push("I-1", invoice_number="INV-0001")
    [job] = wiring.get_jobs().list_jobs()
    response = act(client, "cancel", job.id)
    assert (JobStatus.CANCELLED, 0, True) == (
        wiring.get_jobs().get(job.id).status,  # type: ignore[union-attr]
        wiring.make_worker().run_pending().ran,
        "Cancelled 1 job: Push invoice INV-0001 to Xero." in response.content.decode(),
    )


def test_jobs_are_never_added_edited_or_deleted_in_the_admin(app: App, client: Client) -> None:
    """No add page, no delete action, and a job's page is read-only."""
    _, failed = a_failed_and_a_done_push(app)
    listing = client.get(JOBS).content.decode()
    detail = client.get(f"{JOBS}{failed}/change/")
    assert (False, False, 403, 200, False) == (
        'href="/admin/bms_xero/job/add/"' in listing,
        'value="delete_selected"' in listing,
        client.get(f"{JOBS}add/").status_code,
        detail.status_code,
        'name="_save"' in detail.content.decode(),
    )


def test_a_job_page_shows_what_to_fix(app: App, client: Client) -> None:
    """The job's own page shows the error for people and the raw text."""
    _, failed = a_failed_and_a_done_push(app)
    html = client.get(f"{JOBS}{failed}/change/").content.decode()
    assert (
        "<strong>Link the customer to Xero first</strong>" in html,
        "SyncEngine.link_customer" in html,
    ) == (True, True)


def test_sync_records_are_listed_read_only(app: App, client: Client) -> None:
    """Sync records: the invoice, its state, Xero's status and the deep link; nothing to add."""
    wiring.get_engine().push(app.invoice(1))
    html = client.get("/admin/bms_xero/syncrecord/").content.decode()
    [row] = rows(html)
    assert (True, True, True, False) == (
        "INV-0001" in row,
        '<td class="field-state">Pushed</td>' in row,
        ">View Xero Invoice</a>" in row,
        'href="/admin/bms_xero/syncrecord/add/"' in html,
    )


def store_tokens(connection_id: str = "default") -> TokenSet:
    token = TokenSet(
        access_token="access-token-value-never-shown",
        refresh_token="refresh-token-value-never-shown",
        expires_at=wiring.get_clock().now() + timedelta(minutes=30),
        scopes=("accounting.invoices", "offline_access"),
    )
    wiring.get_tokens().save(connection_id, token, expected_version=None)
    return token


def test_connections_never_show_a_token(app: App, client: Client) -> None:
    """The connections list and page show the connection, organisation, expiry and scopes,
    never a token value."""
    with app.settings(CONNECTION_ID="default"):
        store_tokens()
        listing = client.get("/admin/bms_xero/token/").content.decode()
        [row] = rows(listing)
        pk = wiring.get_tokens()._tokens().get().pk
        detail = client.get(f"/admin/bms_xero/token/{pk}/change/").content.decode()
    assert (True, True, True, False, False) == (
        app.tenant_id in row,
        "accounting.invoices, offline_access" in row,
        "Connect to Xero" in listing,
        "token-value-never-shown" in listing,
        "token-value-never-shown" in detail,
    )


def test_disconnect_revokes_and_deletes_the_tokens(app: App, client: Client) -> None:
    """The Disconnect action revokes the refresh token at Xero and deletes the tokens."""
    with app.settings(CONNECTION_ID="default"):
        store_tokens()
        response = act(
            client,
            "disconnect",
            str(wiring.get_tokens()._tokens().get().pk),
            page="/admin/bms_xero/token/",
        )
        assert (None, True, ["POST /connect/revocation"]) == (
            wiring.get_tokens().load("default"),
            "Disconnected from Xero: revoked its access at Xero and deleted the stored tokens."
            in response.content.decode(),
            [f"{r.method} {r.path}" for r in app.xero.requests],
        )
